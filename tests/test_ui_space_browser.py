"""The Space tab driven in a real Chromium: the map renders its points, a question rings its sources,
a clicked point opens its passage (as text). Same real parts and browser set-up as test_ui_browser.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import DATA
from tests.test_ui_browser import CHROMIUM, ask, browser, page, present, wait_for  # noqa: F401 - shared fixtures
from tests.ui_server import running_app
from ui import space as sp

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
)

MAP = "#rag-space-map .js-plotly-plot"


@pytest.fixture(scope="module")
def app(tmp_path_factory, embedder):
    """The app over the sample documents plus a file with markup in it (collection `samples`)."""
    from ui.documents import sync_paths

    with running_app(tmp_path_factory.mktemp("ui-space"), embedder) as running:
        sync_paths(running.settings, embedder, running.store, "samples", [DATA / "ui" / "markup.txt"])
        yield running


def stored(app) -> dict[str, str]:
    got = app.store.get("samples").get(include=["documents"])
    return dict(zip(got["ids"], got["documents"]))


def trace_points(pg, name: str) -> int:
    """SVG points drawn by the trace called `name` (0 when there is none)."""
    return pg.evaluate(
        """([sel, name]) => {
            const gd = document.querySelector(sel);
            const i = gd.data.findIndex((t) => t.name === name);
            if (i < 0) { return 0; }
            return gd.querySelectorAll('.scatterlayer .trace')[i].querySelectorAll('.point').length;
        }""",
        [MAP, name],
    )


def wait_for_trace(pg, app, name: str) -> None:
    gd = f"document.querySelector({json.dumps(MAP)})"
    wait_for(pg, app, f"!!({gd}?.data?.some((t) => t.name === {json.dumps(name)}))", f"the map's {name!r} trace")


def click_a_ring(pg, app) -> None:
    """Click the centre of the best source's ring (clear of the star, which has no passage), once our
    plotly_click listener is on the current plot (the tab re-attaches it on a timer after each redraw);
    a click that lands while the plot redraws is retried, at most three times."""
    gd = f"document.querySelector({json.dumps(MAP)})"
    wait_for(pg, app, f"!!({gd}?._ev?.listeners('plotly_click').some((f) => f.__rag))", "the map's click listener")
    traces = pg.locator("#rag-space-map .scatterlayer .trace")
    names = pg.evaluate(f"document.querySelector('{MAP}').data.map((t) => t.name)")
    star = traces.nth(names.index("question")).locator(".point").first.bounding_box()
    sx, sy = star["x"] + star["width"] / 2, star["y"] + star["height"] / 2
    best = traces.nth(names.index("sources")).locator(".point").first.bounding_box()
    x, y = best["x"] + best["width"] / 2, best["y"] + best["height"] / 2  # 23 px from the star, measured
    assert (x - sx) ** 2 + (y - sy) ** 2 >= 12**2, "the best source's ring sits under the question's star"
    for attempt in range(3):
        pg.mouse.move(x, y)
        pg.mouse.click(x, y)
        if attempt == 2:
            wait_for(pg, app, present("#rag-space-passage .rag-passage"), "the clicked point's passage")
            return
        try:  # a click lost in a redraw shows nothing at all: retry once the page had time to react
            pg.wait_for_selector("#rag-space-passage .rag-passage", timeout=20_000)
            return
        except PlaywrightTimeout:
            continue


def open_space(pg, app) -> None:
    pg.get_by_role("tab", name="Space").click()
    wait_for(pg, app, present("#rag-space-map .scatterlayer .point"), "the map's points")


def test_the_map_renders_a_point_per_chunk_and_a_question_rings_its_sources(page, app, tmp_path):  # noqa: F811
    open_space(page, app)
    chunks = stored(app)
    assert page.locator("#rag-space-map .scatterlayer .point").count() == len(chunks)
    legend = page.locator("#rag-space-map .legend").text_content()
    assert "faq.md" in legend and "markup.txt" in legend
    assert f"{len(chunks)} chunks" in page.inner_text("#rag-space-status")
    # the topic list: each topic's terms and size, as the (cached) map has them
    rows = sp.topic_rows(sp.load_view(app.settings, app.store, "samples", sp.SpaceView()).space_map)
    topics = page.inner_text("#rag-space-topics")
    assert len(rows) >= 2 and sum(r[2] for r in rows) == len(chunks)
    assert all(r[1] in topics and f"\n{r[2]}" in topics for r in rows)

    page.fill("#rag-space-text textarea", "Quillon lighthouse lamp")
    page.click("#rag-space-show")
    wait_for_trace(page, app, "sources")
    assert trace_points(page, "sources") == app.settings.top_k  # every retrieved source is ringed
    assert trace_points(page, "question") == 1
    shown = page.inner_text("#rag-space-shown")
    assert "Quillon lighthouse lamp" in shown and "markup.txt" in shown.splitlines()[1]
    page.screenshot(path=tmp_path / "space-question.png")

    # click a source's ring (one clear of the question's star, which has no passage): its passage opens,
    # the document's markup shown as text
    click_a_ring(page, app)
    chunk_id = page.locator("#rag-space-pick textarea, #rag-space-pick input").first.input_value()
    passage = page.locator("#rag-space-passage .rag-passage")
    assert " ".join(passage.inner_text().split()) == " ".join(chunks[chunk_id].split())
    assert "<script>alert(1)</script>" in passage.inner_text()
    assert passage.locator("script, b, img").count() == 0
    assert page.evaluate("window.__xss") is None
    page.screenshot(path=tmp_path / "space-passage.png")


def test_the_last_chat_answer_and_its_sources_are_drawn_on_the_map(page, app, tmp_path):  # noqa: F811
    ask(page, app, "What is ragspace?")
    chat_files = {
        line.split("·")[0].split("]")[-1].strip()
        for line in page.locator("#rag-sources .rag-source summary").all_inner_texts()
    }
    open_space(page, app)
    wait_for_trace(page, app, "question")
    shown = page.inner_text("#rag-space-shown")
    assert "last chat question" in shown and "What is ragspace?" in shown
    assert trace_points(page, "sources") == page.locator("#rag-sources .rag-source").count() >= 1
    assert {f for f in chat_files if f} <= {f for f in ("faq.md", "user-guide.md", "architecture.md") if f in shown}
    # the non-JS path: pick a source from the list and read its passage
    page.locator("#rag-space-source input").click()
    page.locator("#rag-space-source [role=option]").first.click()
    wait_for(page, app, present("#rag-space-passage .rag-passage"), "the picked source's passage")
    assert page.inner_text("#rag-space-passage .rag-passage").strip()
    page.screenshot(path=tmp_path / "space-chat.png")
