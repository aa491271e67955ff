"""The Space tab's handlers without a browser: real embedder, real Chroma, real map (space/), no LLM.

One collection (tests/data/docs: Mars, sourdough, TCP, plus a file with markup in it) is indexed once
for the module; each test works on its own `SpaceView`, as each browser session does.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from rag.index.store import Store

from rag.app import build_engine
from rag.errors import EmptyCollection
from rag.settings import Settings
from rag.types import Answer
from tests.conftest import DATA, free_port
from ui import documents as docs
from ui import handlers
from ui import space as sp
from ui.space_tab import SpaceEvents

MARS_Q = "What is the tallest volcano on Mars?"


@pytest.fixture(scope="module")
def world(tmp_path_factory, embedder):
    """(settings, store, retriever, events) over collection `docs`, in a home of the module's own."""
    home = tmp_path_factory.mktemp("space-ui")
    s = Settings(
        home=home,
        collection="docs",
        llm="embedded",
        top_k=3,
        ollama_host=f"http://127.0.0.1:{free_port()}",
    )
    store = Store(s)
    folder = shutil.copytree(DATA / "docs", home / "docs")
    shutil.copy(DATA / "ui" / "markup.txt", folder / "markup.txt")
    docs.sync_paths(s, embedder, store, "docs", [folder])
    pool = handlers.EnginePool(s, lambda cfg: build_engine(cfg, embedder, store))
    return s, store, pool, SpaceEvents(s, embedder, store, pool)


def session(s: Settings) -> handlers.Session:
    return handlers.Session.new(s)


def traces(fig) -> dict[str, list[str]]:
    """Trace name -> the chunk ids (customdata) it draws: of a plotly figure, its JSON dict or a gr.Plot value."""
    if hasattr(fig, "plot"):
        fig = json.loads(fig.plot)
    elif hasattr(fig, "to_json"):
        fig = json.loads(fig.to_json())
    return {t["name"]: list(t.get("customdata") or []) for t in fig["data"]}


def all_chunk_ids(store: Store) -> set[str]:
    return set(store.get("docs").get(include=[])["ids"])


def test_the_map_has_every_chunk_once_and_the_second_load_is_the_cached_map(world):
    s, store, _, _ = world
    view = sp.load_view(s, store, "docs", sp.SpaceView())
    ids = all_chunk_ids(store)
    assert set(view.space_map.ids) == ids and len(view.space_map.ids) == len(ids) >= 6
    fig = sp.figure(view)
    drawn = [cid for name, cids in traces(fig).items() for cid in cids]
    assert sorted(drawn) == sorted(ids)  # no sources or question yet: each chunk is one point
    assert any("mars.md" in name for name in traces(fig))
    assert list((s.home / "space").glob("docs-pca-*.npz"))  # cached on disk
    again = sp.load_view(s, store, "docs", sp.SpaceView())
    assert again.space_map.ids == view.space_map.ids and np.array_equal(again.space_map.xy, view.space_map.xy)
    summary = sp.map_summary(again, 0.01)
    assert f"{len(ids)} chunks" in summary and "PCA" in summary


def test_a_question_typed_in_the_tab_is_drawn_with_its_retrieved_sources(world, embedder):
    s, store, pool, _ = world
    view = sp.load_view(s, store, "docs", sp.SpaceView())
    retriever = pool.get("docs", "embedded").retriever
    view = sp.show_text(view, MARS_Q, retriever, embedder, session(s))
    assert view.shown.origin == "space" and len(view.shown.sources) == 3
    assert view.shown.sources[0].path.endswith("mars.md")
    fig = sp.figure(view)
    drawn = traces(fig)
    assert drawn["sources"] == [src.id for src in view.shown.sources]  # ringed, in rank order
    q = next(t for t in fig.data if t.name == "question")
    expected = view.space_map.project(embedder.embed_query(MARS_Q)[None])[0]
    assert (q.x[0], q.y[0]) == pytest.approx((float(expected[0]), float(expected[1])), abs=1e-5)
    # the question lands nearer the Mars chunks than the sourdough ones
    m = view.space_map
    xy = {
        p: m.xy[[i for i, path in enumerate(m.paths) if path.endswith(p)]].mean(0) for p in ("mars.md", "sourdough.txt")
    }
    assert np.linalg.norm(expected - xy["mars.md"]) < np.linalg.norm(expected - xy["sourdough.txt"])
    html = sp.shown_html(view)
    assert "mars.md" in html and "similarity" in html and "not in the sampled map" not in html
    assert [cid for _, cid in sp.source_choices(view)] == drawn["sources"]


def test_the_last_chat_answer_is_drawn_once_and_a_typed_text_is_not_overwritten(world, embedder):
    s, store, pool, _ = world
    sources = pool.get("docs", "embedded").retriever.search("sourdough starter feeding", top_k=2, threshold=-1.0)
    sess = session(s)
    sess.turns.append(handlers.Turn("How often is it fed?"))
    sess.turns[-1].answer = Answer("Once a day [1].", sources, rewritten_query="how often is the sourdough starter fed")
    sess.turns.append(handlers.Turn("still typing"))  # a turn still being answered is skipped
    view = sp.follow_chat(sp.load_view(s, store, "docs", sp.SpaceView()), sess, embedder)
    assert view.shown.origin == "chat" and view.shown.text == "how often is the sourdough starter fed"
    assert [x.id for x in view.shown.sources] == [x.id for x in sources]
    assert traces(sp.figure(view))["sources"] == [x.id for x in sources]
    assert "last chat question" in sp.shown_html(view)
    typed = sp.show_text(view, MARS_Q, pool.get("docs", "embedded").retriever, embedder, sess)
    assert sp.follow_chat(typed, sess, embedder).shown.text == MARS_Q  # no new chat turn: typed text stays
    sess.turns.append(handlers.Turn("TCP?", answer=Answer("x", sources[:1])))
    latest = sp.follow_chat(typed, sess, embedder)
    assert latest.shown.text == "TCP?"  # a new answer replaces it
    assert sp.follow_chat(latest, handlers.clear(sess), embedder).shown is None  # Clear chat: it goes


def test_a_point_opens_its_full_passage_as_text(world):
    s, store, _, ev = world
    got = store.get("docs").get(include=["documents", "metadatas"])
    i = next(k for k, d in enumerate(got["documents"]) if "<script>" in d)
    passage = sp.open_passage(store, "docs", got["ids"][i])
    assert passage.text == got["documents"][i] and passage.path.endswith("markup.txt")
    html = ev.on_open(got["ids"][i], session(s))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x" in html
    assert "<script" not in html and "<img" not in html and "markup.txt" in html
    assert ev.on_pick(got["ids"][i], session(s)) == (got["ids"][i], html)  # the source picker does the same


def test_an_unknown_point_or_collection_says_what_to_do(world):
    s, store, _, ev = world
    with pytest.raises(sp.PassageNotFound, match="click a point on the map"):
        sp.open_passage(store, "docs", "no-such-id")
    assert "rag-warn" in ev.on_open("", session(s))
    with pytest.raises(EmptyCollection, match="Documents tab"):
        sp.load_view(s, store, "nothing-here", sp.SpaceView())


def test_topics_list_sizes_that_add_up_and_colour_the_map(world):
    s, store, _, ev = world
    view = sp.load_view(s, store, "docs", sp.SpaceView())
    rows = sp.topic_rows(view.space_map)
    assert len(rows) >= 2 and all(r[1] for r in rows)  # each topic has terms
    assert sum(r[2] for r in rows) == len(view.space_map.ids)
    assert [r[2] for r in rows] == sorted((r[2] for r in rows), reverse=True)
    view, fig = ev.on_color("topic", view)
    assert view.color_by == "topic" and len(traces(fig)) == len(rows)
    assert ev.on_color("nonsense", view)[0].color_by == "file"


def test_a_sampled_map_marks_sources_that_are_not_on_it(world, embedder):
    from space.map import load_map

    s, store, pool, _ = world
    small = sp.SpaceView(space_map=load_map(s, store, max_points=3))
    assert small.space_map.total > len(small.space_map.ids) == 3
    view = sp.show_text(small, MARS_Q, pool.get("docs", "embedded").retriever, embedder, session(s))
    missing = [x for x in view.shown.sources if x.id not in small.space_map.ids]
    assert missing and "not in the sampled map" in sp.shown_html(view)
    assert set(traces(sp.figure(view)).get("sources", [])) <= set(small.space_map.ids)
    assert "a sample of" in sp.map_summary(view)


def test_tab_events_load_then_draw_and_report_errors(world):
    s, _, _, ev = world
    steps = list(ev.on_select(session(s), sp.SpaceView()))
    assert "Loading the map" in steps[0][2]
    view, fig, status, shown, _, topics = steps[-1]
    assert view.space_map is not None and len(traces(fig)) >= 3 and "chunks" in status and topics
    view, fig, _, shown, picker, _ = ev.on_show(MARS_Q, session(s), view)
    assert "sources" in traces(fig) and "mars.md" in shown and len(picker["choices"]) == 3
    empty = handlers.Session("nothing-here", handlers.ChatOptions())
    *_, last = ev.on_select(empty, sp.SpaceView())
    assert last[1] is None and "Documents tab" in last[2]


def test_similar_passages_are_the_nearest_by_cosine_and_drawn(world, embedder):
    s, store, _, ev = world
    got = store.get("docs").get(include=["documents", "embeddings"])
    view = sp.similar_text(sp.load_view(s, store, "docs", sp.SpaceView()), "sourdough starter", store, "docs", embedder)
    q = embedder.embed_query("sourdough starter")
    cos = np.asarray(got["embeddings"]) @ q
    best = [got["ids"][i] for i in np.argsort(-cos)[: sp.SIMILAR_K]]
    assert [x.id for x in view.shown.sources] == best  # exactly the top-k by cosine, best first
    assert [x.score for x in view.shown.sources] == pytest.approx(sorted(cos, reverse=True)[: sp.SIMILAR_K], abs=1e-4)
    assert view.shown.sources[0].path.endswith("sourdough.txt")
    assert "nearest by cosine" in sp.shown_html(view)
    drawn = ev.on_similar("sourdough starter", session(s), sp.SpaceView())
    assert traces(drawn[1])["sources"] == best


def test_health_lists_each_measure_with_advice_and_checks_the_chat_questions(world):
    s, _, _, ev = world
    sess = session(s)
    html = ev.on_health(sess)
    assert "topic silhouette" in html and "hubness" in html and "what to do" in html
    assert "domain" not in html.lower()  # no questions asked yet: no domain-mismatch row
    sess.turns.append(handlers.Turn("How do I bake sourdough?", answer=Answer("x", [])))
    assert "domain" in ev.on_health(sess).lower()
    assert "Documents tab" in ev.on_health(handlers.Session("nothing-here", handlers.ChatOptions()))


def test_the_cached_map_with_the_question_drawn_over_it_equals_the_whole_figure(world, embedder):
    s, store, pool, _ = world
    figures = sp.BaseFigures(size=1)
    view = sp.load_view(s, store, "docs", sp.SpaceView())
    base = figures.get(view.space_map, "file")
    assert sp.figure_dict(view, figures) is base  # nothing shown: the cached map itself
    view = sp.show_text(view, MARS_Q, pool.get("docs", "embedded").retriever, embedder, session(s))
    whole, fast = sp.figure(view), sp.figure_dict(view, figures)
    assert traces(fast) == traces(whole) and list(traces(fast))[-2:] == ["sources", "question"]
    question = json.loads(whole.to_json())["data"][-1]
    assert fast["data"][-1] == question and fast["layout"] == json.loads(whole.to_json())["layout"]
    assert figures.get(view.space_map, "file") is base  # drawing a question did not redraw the map
    figures.get(view.space_map, "topic")
    assert figures.get(view.space_map, "file") is not base  # size 1: the topic map pushed it out


def test_on_a_webgl_map_the_question_and_sources_are_webgl_too(world, embedder, monkeypatch):
    import space.plot

    s, store, pool, _ = world
    monkeypatch.setattr(space.plot, "WEBGL_FROM", 1)  # this small map drawn as a big one is (WebGL)
    view = sp.load_view(s, store, "docs", sp.SpaceView())
    view = sp.show_text(view, MARS_Q, pool.get("docs", "embedded").retriever, embedder, session(s))
    fig = sp.figure_dict(view, sp.BaseFigures())
    types = {t["name"]: t["type"] for t in fig["data"]}
    # WebGL is painted above SVG: SVG rings would hide behind the points they mark
    assert set(types.values()) == {"scattergl"} and {"sources", "question"} <= set(types)
