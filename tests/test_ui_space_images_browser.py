"""The Space tab's images in a real Chromium: the map shows the "images" legend entry, a marker and a
thumbnail per image, and a typed question rings its nearest images (tiny random-weight CLIP).
"""

from __future__ import annotations

import json

import pytest

from tests.test_images_ingest import COLORS, write_image
from tests.test_ui_browser import CHROMIUM, browser, page, present, wait_for  # noqa: F401 - shared fixtures
from tests.test_ui_space_browser import MAP, open_space, wait_for_trace
from tests.ui_server import running_app

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
)


def trace_points(pg, name: str) -> int:
    """SVG points drawn by the trace called `name`, found by its uid: with the images' own panel the
    DOM holds one scatter layer per panel, so a trace's position in `data` is not its place in the DOM."""
    return pg.evaluate(
        """([sel, name]) => {
            const gd = document.querySelector(sel);
            const t = gd._fullData.find((d) => d.name === name);
            return t ? gd.querySelectorAll('.trace' + t.uid + ' .point').length : 0;
        }""",
        [MAP, name],
    )


@pytest.fixture(scope="module")
def app(tmp_path_factory, embedder, image_embedder, tiny_clip):
    """The app with `image_model` set and four pictures beside the sample documents (collection `samples`)."""
    from ui.documents import sync_paths

    home = tmp_path_factory.mktemp("ui-space-img")
    pics = home / "pics"
    pics.mkdir()
    for name, color in COLORS.items():
        write_image(pics / name, color)
    with running_app(home, embedder, image_model=str(tiny_clip)) as running:
        report = sync_paths(running.settings, embedder, running.store, "samples", [pics], image_embedder=image_embedder)
        assert report.totals.images_added == len(COLORS)
        yield running


def test_the_map_shows_the_images_and_rings_a_questions_nearest(page, app, tmp_path):  # noqa: F811
    open_space(page, app)
    wait_for_trace(page, app, "images")
    assert "images" in page.locator("#rag-space-map .legend").text_content()
    assert trace_points(page, "images") == len(COLORS)
    # the thumbnails are drawn by plotly as <image> elements from data: URLs (nothing fetched)
    thumbs = page.locator("#rag-space-map .layer-above image")
    assert thumbs.count() == len(COLORS)
    assert all(thumbs.nth(i).get_attribute("href").startswith("data:image/png") for i in range(thumbs.count()))
    assert "own panel" in page.inner_text("#rag-space-status")

    page.fill("#rag-space-text textarea", "a bright yellow sun")
    page.click("#rag-space-show")
    wait_for_trace(page, app, "image matches")
    assert trace_points(page, "image matches") == 3 and trace_points(page, "question (image space)") == 1
    ringed = page.evaluate(
        f"document.querySelector({json.dumps(MAP)}).data.find((t) => t.name === 'image matches').ids"
    )
    wait_for(page, app, present("#rag-space-shown .rag-space-image"), "the nearest images' list")
    listed = page.inner_text("#rag-space-shown")
    assert len(ringed) == 3 and sum(name in listed for name in COLORS) == 3
    page.screenshot(path=tmp_path / "space-images.png")
