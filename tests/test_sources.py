"""The sources an answer lists (rag/answer/sources.py): numbered 1..n by score, far weaker ones "also near".

Pure cases on hand-made Sources, then the engine over a real collection (tests/data/extract/docs,
the bundled embedding model, real Chroma) with hybrid ranking, whose fused order is not the
cosine order.
"""

from __future__ import annotations

import json

import pytest
from rag.answer.sources import arrange, floor_of
from rich.console import Console

from rag.app import build_engine
from rag.report import print_answer
from rag.settings import Settings
from rag.types import Source
from tests.conftest import DATA
from tests.helpers import sync


def src(n: int, score: float, name: str | None = None) -> Source:
    return Source(n=n, id=f"c{n}", path=f"{name or f'doc{n}'}.md", page=None, text=f"text {n}", score=score)


def test_renumbered_without_gaps_in_descending_score():
    # what hybrid ranking left after the threshold: fused order, gaps, scores up and down
    listed, near = arrange([src(1, 0.52), src(2, 0.61), src(4, 0.47), src(5, 0.55)])
    assert [s.n for s in listed] == [1, 2, 3, 4]
    assert [s.score for s in listed] == [0.61, 0.55, 0.52, 0.47]
    assert [s.id for s in listed] == ["c2", "c5", "c1", "c4"]  # the chunks travel with their new numbers
    assert near == []


def test_far_below_the_best_is_also_near_not_a_source():
    listed, near = arrange([src(1, 0.61), src(2, 0.14), src(3, 0.58), src(4, 0.11)])
    assert [(s.n, s.score) for s in listed] == [(1, 0.61), (2, 0.58)]
    assert [s.score for s in near] == [0.14, 0.11]
    assert [s.n for s in near] == [3, 4]  # numbered on: no number is used twice


def test_both_rules_absolute_for_high_scores_ratio_for_low_ones():
    assert floor_of(0.8) == pytest.approx(0.55)  # 0.25 under the best
    assert floor_of(0.3) == pytest.approx(0.15)  # half the best
    listed, near = arrange([src(1, 0.78), src(2, 0.56), src(3, 0.5)])
    assert [s.score for s in listed] == [0.78, 0.56] and [s.score for s in near] == [0.5]
    listed, near = arrange([src(1, 0.27), src(2, 0.14), src(3, 0.11)])
    assert [s.score for s in listed] == [0.27, 0.14] and [s.score for s in near] == [0.11]


def test_pure_ties_keep_retrieval_order_and_nothing_is_changed_in_place():
    given = [src(3, 0.4, "a"), src(1, 0.4, "b"), src(2, 0.5, "c")]
    listed, _ = arrange(given)
    assert [s.path for s in listed] == ["c.md", "a.md", "b.md"]
    assert [s.n for s in given] == [3, 1, 2]  # the caller's objects keep their numbers
    assert arrange([]) == ([], [])


def test_negative_best_keeps_a_close_spread():
    listed, near = arrange([src(1, -0.05), src(2, -0.1), src(3, -0.4)])
    assert [s.score for s in listed] == [-0.05, -0.1] and [s.score for s in near] == [-0.4]


# -- the engine ------------------------------------------------------------------------------

QA = [json.loads(line) for line in (DATA / "extract" / "qa.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("sources")
    settings = Settings(home=root / "home", collection="sources", answer_mode="extract", hybrid=True)
    sync(settings, embedder, [DATA / "extract" / "docs"])
    return build_engine(settings, embedder=embedder)


def test_engine_lists_sources_by_score_and_quotes_cite_the_renumbered_ones(engine):
    reordered = 0
    for item in QA:
        found = engine.retriever.search(item["question"], threshold=engine.settings.relevance_threshold)
        fused = [s.score for s in found]  # cosines in retrieval's (fused) order
        reordered += fused != sorted(fused, reverse=True)
        answer = engine.ask(item["question"])
        scores = [s.score for s in answer.sources]
        assert [s.n for s in answer.sources] == list(range(1, len(answer.sources) + 1)), item["id"]
        assert scores == sorted(scores, reverse=True), item["id"]
        for sp in answer.spans:  # [n] of the quote is sources[n - 1]
            piece = " ".join(answer.sources[sp.n - 1].text[sp.start : sp.end].split())
            assert f"{piece} [{sp.n}]" in answer.text, item["id"]
        if answer.sources and not answer.abstained:
            best = answer.sources[0].score
            assert all(s.score < floor_of(best) for s in answer.also_near), item["id"]
    assert reordered >= 3  # hybrid's fused order differs from the cosine order on these questions


def test_also_near_reaches_the_json_and_the_cli_table(engine):
    answer = engine.ask("Who designed the Skerry Point lighthouse?")
    assert answer.also_near and "Margaret Ellison" in answer.text
    data = answer.to_dict()
    assert data["also_near"] and set(data["also_near"][0]) == {"path", "page", "score"}
    assert {s["n"] for s in data["sources"]} == set(range(1, len(data["sources"]) + 1))
    console = Console(record=True, width=200)
    print_answer(answer, console=console)
    shown = console.export_text()
    near = answer.also_near[0]
    assert f"Also near: {near.path} ({near.score:.2f})" in shown


def test_ui_names_the_also_near_passages_as_text():
    from ui.render import also_near_html

    assert also_near_html([]) == ""
    shown = also_near_html([src(4, 0.14, "notes/<b>x"), src(5, 0.11, "far"), src(6, 0.1, "far")])
    assert shown.startswith('<div class="rag-also-near">Also near: ')
    assert "&lt;b&gt;x.md (0.14)" in shown and "far.md (0.11)" in shown and "<b>" not in shown
    assert "(0.10)" not in shown  # one entry per file: its closest chunk
