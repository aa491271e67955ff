"""Saved conversations and the sources panel in a real Chromium (see tests/test_ui_browser.py).

Real parts: the bundled embedder, Chroma, the sample documents, answers quoted from the sources
(the bundled model's default mode, so no generation is waited for). Screenshots go to tmp_path;
the test prints where.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import free_port
from tests.test_ui_browser import ACTION_TIMEOUT_MS, ARGS, CHROMIUM, ask, more_than, present, shows, wait_for
from tests.ui_server import running_app

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")

FIRST = "Does ragspace send my documents anywhere?"
SECOND = "Which file types are supported?"
LIST = "#rag-conversations"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


def open_page(context, app, width: int = 1280, height: int = 720):
    pg = context.new_page()
    pg.set_viewport_size({"width": width, "height": height})
    pg.set_default_timeout(ACTION_TIMEOUT_MS)
    pg.goto(app.url)
    wait_for(pg, app, present("#rag-status-box .rag-status"), "the status line (the load event ran)")
    return pg


def listed(pg) -> list[str]:
    return [t.strip() for t in pg.locator(f"{LIST} label").all_inner_texts()]


def download(pg, button: str) -> str:
    with pg.expect_download() as got:
        pg.click(button)
    return open(got.value.path(), encoding="utf-8").read()


def test_conversations_survive_reload_and_restart_and_export_their_citations(
    browser, embedder, tmp_path_factory, tmp_path
):
    home, port = tmp_path_factory.mktemp("conversations-ui"), free_port()
    context = browser.new_context()
    print(f"screenshots in {tmp_path}")
    with running_app(home, embedder, port=port, answer_mode="extract") as app:
        pg = open_page(context, app)
        ask(pg, app, FIRST)
        ask(pg, app, SECOND)
        wait_for(pg, app, shows(LIST, f"{FIRST} (2)"), "the conversation saved with both answers")
        assert listed(pg)[0].startswith(FIRST)  # titled from the first question
        pg.reload()
        wait_for(pg, app, more_than("#rag-chat .rag-meta", 1), "both answers after the reload")
        assert FIRST in pg.inner_text("#rag-chat") and SECOND in pg.inner_text("#rag-chat")
        assert pg.locator("#rag-sources .rag-source").count() >= 1 and "[1]" in pg.inner_text("#rag-chat")
        pg.click("#rag-conv-tools")  # the accordion with rename, delete and export
        md = download(pg, "#rag-export-md")
        doc = json.loads(download(pg, "#rag-export-json"))
        assert md.startswith(f"# {FIRST}") and "### Sources" in md and "**[1]**" in md and ".md`, line" in md
        cites = [c for t in doc["turns"] for c in t["citations"]]
        assert [t["question"] for t in doc["turns"]] == [FIRST, SECOND] and cites
        assert all(c["path"] and c["passage"] and c["where"] for c in cites)
        assert all(t["mode"] == "extract" for t in doc["turns"] if t["citations"])

        pg.click("#rag-new-chat")  # one click: an empty chat, the saved one still listed
        wait_for(pg, app, "!document.querySelector('#rag-chat .rag-meta')", "the new, empty chat")
        ask(pg, app, "How do I keep the index in sync while I edit files?")
        wait_for(pg, app, shows(LIST, "edit files? (1)"), "the second conversation in the list")
        assert listed(pg)[0].startswith("How do I keep the index") and listed(pg)[1].startswith(FIRST)
        pg.fill("#rag-conv-title textarea, #rag-conv-title input", "Keeping in sync")
        pg.click("#rag-conv-rename")
        wait_for(pg, app, f"document.querySelector('{LIST}').innerText.includes('Keeping in sync')", "the rename")
        pg.screenshot(path=tmp_path / "conversation-list.png", full_page=True)
        pg.click("#rag-conv-delete")
        wait_for(pg, app, f"document.querySelectorAll('{LIST} label').length === 1", "the deletion")
        pg.locator(f"{LIST} label").first.click()  # open the first conversation again
        wait_for(pg, app, more_than("#rag-chat .rag-meta", 1), "the reopened conversation")
        pg.screenshot(path=tmp_path / "conversation-reopened.png", full_page=True)
    with running_app(home, embedder, port=port, answer_mode="extract") as app:  # `rag chat` restarted
        pg = open_page(context, app)
        wait_for(pg, app, more_than("#rag-chat .rag-meta", 1), "the conversation after a restart")
        assert listed(pg) and listed(pg)[0].startswith(FIRST) and len(listed(pg)) == 1
        assert pg.locator("#rag-sources .rag-source").count() >= 1
        pg.screenshot(path=tmp_path / "conversation-after-restart.png", full_page=True)
    context.close()


PANEL_CHECK = """() => {
  const panel = document.querySelector('#rag-sources');
  panel.scrollIntoView({block: 'nearest'});
  const r = panel.getBoundingClientRect();
  const footer = document.querySelector('footer');
  const f = footer.getBoundingClientRect();
  footer.scrollIntoView({block: 'nearest'});
  const g = footer.getBoundingClientRect();
  const hit = document.elementFromPoint(g.left + g.width / 2, g.top + g.height / 2);
  panel.scrollIntoView({block: 'nearest'});
  return {top: r.top, bottom: r.bottom, viewport: innerHeight, scroll: panel.scrollHeight, client: panel.clientHeight,
          overflow: getComputedStyle(panel).overflowY, footerTop: f.top, footerHitsFooter: footer.contains(hit)};
}"""


@pytest.mark.parametrize("width,height", [(1280, 720), (390, 844)])
def test_sources_scroll_inside_their_panel_which_fits_the_window(
    browser, embedder, tmp_path_factory, tmp_path, width, height
):
    with running_app(tmp_path_factory.mktemp("panel"), embedder, answer_mode="extract") as app:
        context = browser.new_context()
        pg = open_page(context, app, width, height)
        for q in (FIRST, SECOND, "How does ragspace check an answer?"):
            ask(pg, app, q)
        closed = pg.locator("#rag-sources details:not([open]) > summary")
        for _ in range(100):  # open every answer's sources (a turn before its sources): far taller than any window
            if not closed.count():
                break
            closed.first.click()
        m = pg.evaluate(PANEL_CHECK)
        assert m["scroll"] > m["client"] and m["overflow"] in ("auto", "scroll"), m
        assert m["top"] >= -1 and m["bottom"] <= m["viewport"] + 1, m  # the whole panel fits the window (to a pixel)
        assert m["footerHitsFooter"] and m["footerTop"] >= m["bottom"], m  # "Use via API" is not covered
        box = pg.locator("#rag-sources").bounding_box()
        pg.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        pg.mouse.wheel(0, 400)
        wait_for(pg, app, "document.querySelector('#rag-sources').scrollTop > 0", "the panel scrolled by the wheel")
        path = tmp_path / f"sources-{width}x{height}.png"
        pg.screenshot(path=path)
        print(f"screenshot {path}")
        context.close()


def test_with_a_login_conversations_are_the_signed_in_users(browser, embedder, tmp_path_factory):
    from rag.conversations import ConversationStore

    home = tmp_path_factory.mktemp("login")
    with running_app(home, embedder, auth="ann:s3cret-pass", answer_mode="extract") as app:
        context = browser.new_context()
        pg = context.new_page()
        pg.set_default_timeout(ACTION_TIMEOUT_MS)
        pg.goto(app.url)
        pg.locator("input[type=password]").wait_for()
        pg.locator("input:not([type=password])").first.fill("ann")
        pg.locator("input[type=password]").fill("s3cret-pass")
        pg.locator("input[type=password]").press("Enter")
        wait_for(pg, app, present("#rag-status-box .rag-status"), "the chat page after signing in")
        ask(pg, app, FIRST)
        wait_for(pg, app, shows(LIST, f"{FIRST} (1)"), "the saved conversation in the list")
        context.close()
    store = ConversationStore.for_home(home)
    assert [c.title for c in store.list("ann")] == [FIRST] and store.list("") == []
