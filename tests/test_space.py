"""The embedding space explorer on a collection whose structure we know.

tests/data/space holds three distinct subjects (astronomy, baking, football; three files each, three
sections per file = one chunk each) and misc/kitchen-notes.md, a planted copy of one baking section.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from rag.index.store import Store
from rag.settings import Settings
from space.errors import SpaceError

SPACE_DOCS = Path(__file__).resolve().parent / "data" / "space"
SUBJECTS = ("astronomy", "baking", "football")
COPY = "misc/kitchen-notes.md"
ORIGINAL = "baking/sourdough.md"


def subject(path: str) -> str:
    """The known subject of a chunk: its folder; the planted copy is a baking text."""
    rel = Path(path).relative_to(SPACE_DOCS).as_posix()
    return "baking" if rel == COPY else rel.split("/")[0]


@pytest.fixture(scope="module")
def space_home(tmp_path_factory, embedder) -> Settings:
    """One real collection of the fixture docs (real model, real Chroma), shared by the module."""
    from tests.helpers import sync

    home = tmp_path_factory.mktemp("space-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAG_CONFIG", str(home / "no-rag.toml"))
        settings = Settings(home=home, collection="space")
        report = sync(settings, embedder, [SPACE_DOCS])
    assert report.ok
    return settings


@pytest.fixture(scope="module")
def vecs(space_home):
    from space.vectors import read_vectors

    return read_vectors(Store(space_home), "space")


def test_vectors_are_the_stored_ones_not_re_embedded(vecs, space_home):
    assert len(vecs) == 28 and vecs.total == 28
    assert vecs.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs.vectors, axis=1), 1.0, atol=1e-4)
    col = Store(space_home).get("space")
    one = col.get(ids=[vecs.ids[5]], include=["embeddings"])
    assert np.allclose(one["embeddings"][0], vecs.vectors[5])


def test_topics_recover_the_three_subjects(vecs):
    from space.topics import find_topics

    found = find_topics(vecs.vectors, vecs.texts)  # default k range 2-12, chosen by silhouette
    assert found.k == 3
    members = {t.id: {subject(vecs.paths[i]) for i in np.flatnonzero(found.assignments == t.id)} for t in found.topics}
    assert sorted(len(s) for s in members.values()) == [1, 1, 1]  # every topic is exactly one subject
    assert {next(iter(s)) for s in members.values()} == set(SUBJECTS)
    label_of = {next(iter(members[t.id])): set(t.terms) for t in found.topics}
    assert label_of["baking"] & {"flour", "butter", "dough", "pastry", "bake"}
    assert label_of["football"] & {"team", "ball", "football", "players", "goal"}
    assert label_of["astronomy"] & {"star", "stars", "planet", "planets", "sun", "telescopes"}
    assert sum(t.size for t in found.topics) == 28
    assert found.silhouette > 0.2


def test_topics_with_a_given_k_and_bad_ranges(vecs):
    from space.topics import find_topics, parse_k_range

    assert find_topics(vecs.vectors, vecs.texts, k=4).k == 4
    assert parse_k_range("3-7") == (3, 7)
    for bad in ("7", "1-5", "6-3", "a-b"):
        with pytest.raises(SpaceError, match="2-12"):
            parse_k_range(bad)
    with pytest.raises(SpaceError, match="smaller --k"):
        find_topics(vecs.vectors, vecs.texts, k=40)


def test_duplicates_find_the_planted_copy_and_nothing_else(vecs):
    from space.duplicates import find_duplicates

    pairs = find_duplicates(vecs, threshold=0.95)
    assert len(pairs) == 1
    (pair,) = pairs
    assert {
        Path(pair.file_a).relative_to(SPACE_DOCS).as_posix(),
        Path(pair.file_b).relative_to(SPACE_DOCS).as_posix(),
    } == {
        ORIGINAL,
        COPY,
    }
    assert len(pair.pairs) == 1 and pair.best > 0.99
    assert pair.to_dict()["chunks_a"].endswith("/1") or pair.to_dict()["chunks_b"].endswith(
        "/1"
    )  # the copy's one chunk
    with pytest.raises(SpaceError, match=r"-1\.\.1"):
        find_duplicates(vecs, threshold=1.5)


def test_map_keeps_neighbours_together_and_is_cached_until_the_collection_changes(space_home, vecs, embedder):
    from sklearn.manifold import trustworthiness

    from space.map import load_map
    from tests.helpers import sync

    store = Store(space_home)
    m = load_map(space_home, store)
    assert m.method == "pca" and m.total == 28 and m.xy.shape == (28, 2)
    order = [vecs.ids.index(i) for i in m.ids]
    # measured 0.964 (PCA, 5 neighbours, cosine) on this fixture; SciFact (real abstracts) measured 0.76
    assert trustworthiness(vecs.vectors[order], m.xy, n_neighbors=5, metric="cosine") > 0.9
    assert {label for label in m.topic_labels.values()} and set(m.topics.tolist()) == {0, 1, 2}
    # a stored chunk projected again lands on its own point (PCA is linear)
    assert np.allclose(m.project(vecs.vectors[order[:3]]), m.xy[:3], atol=1e-4)

    cached = sorted(p.name for p in (space_home.home / "space").iterdir())
    with pytest.MonkeyPatch.context() as mp:  # nothing was written: the second view must not even list the ids
        mp.setattr("space.map.all_ids", lambda col: pytest.fail("listed every id for an unchanged store"))
        again = load_map(space_home, Store(space_home))
    assert np.array_equal(again.xy, m.xy) and again.ids == m.ids
    assert sorted(p.name for p in (space_home.home / "space").iterdir()) == cached

    extra = space_home.home / "extra" / "volcano.md"
    extra.parent.mkdir(parents=True)
    extra.write_text("## Volcanoes\nMagma rises through the crust and erupts as lava and ash from volcanoes.\n")
    try:
        sync(space_home, embedder, [SPACE_DOCS, extra.parent])
        changed = load_map(space_home, store)
        assert changed.total == 29 and str(extra) in changed.paths
    finally:
        from ingest.pipeline import remove_paths

        remove_paths([extra.parent], space_home, store)
    assert load_map(space_home, store).total == 28


def test_map_samples_large_collections(space_home):
    from space.map import load_map

    m = load_map(space_home, Store(space_home), max_points=10, topics=False)
    assert len(m.ids) == 10 and m.total == 28 and set(m.topics.tolist()) == {-1}


def test_map_figure_traces_hover_and_exports(space_home, tmp_path):
    from space.map import SpaceMap, load_map
    from space.plot import map_figure, write_map

    m = load_map(space_home, Store(space_home))
    fig = map_figure(m, color_by="file", highlight_ids=m.ids[:2], question=("why <b>?", np.array([0.1, 0.2])))
    names = [t.name for t in fig.data]
    assert names[-2:] == ["sources", "question"] and len(names) == 10 + 2  # ten files
    assert sum(len(t.customdata) for t in fig.data[:-2]) == 28
    assert set(fig.data[-2].customdata) == set(m.ids[:2])
    assert fig.data[-1].text[0] == "why &lt;b&gt;?"
    by_topic = map_figure(m, color_by="topic")
    assert len(by_topic.data) == 3

    evil = SpaceMap("c", ["x"], ["<img src=x onerror=alert(1)>.md"], ["<script>alert(1)</script> & more"],
                    np.zeros((1, 2), np.float32), np.array([-1]), {}, "pca", 1)  # fmt: skip
    hover = map_figure(evil).data[0].text[0]
    assert "<script>" not in hover and "&lt;script&gt;" in hover and "<img" not in hover

    html_out = write_map(m, tmp_path / "map.html")
    text = html_out.read_text(encoding="utf-8")
    # plotly.js is inlined, no <script src=...> to fetch: the file works offline
    assert not re.search(r"<script[^>]*\bsrc=", text) and len(text) > 1_000_000
    png = write_map(m, tmp_path / "map.png", color_by="topic")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SpaceError, match=r"\.html"):
        write_map(m, tmp_path / "map.svg")


def test_similar_and_compare(space_home, embedder):
    from space.similarity import compare, similar

    hits = similar(Store(space_home), "space", embedder.embed(["how often do I feed my sourdough starter"])[0], 3)
    assert Path(hits[0].path).name == "sourdough.md" and "starter" in hits[0].preview
    assert hits[0].score > 0.5 and [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    a, b, c = embedder.embed(["the goalkeeper saved the penalty", "a penalty kick was stopped", "flour and water"])
    close, far = compare(a, b), compare(a, c)
    assert close.cosine > far.cosine
    assert close.euclidean == pytest.approx(np.sqrt(2 - 2 * close.cosine), abs=1e-4)
    assert "sqrt(2 - 2 x cosine)" in close.meaning


class PlantedEmbedder:
    """A fake embedder: fixed, hand-planted vectors per term, so arithmetic can be checked by hand."""

    VECTORS: ClassVar[dict[str, list[float]]] = {
        "king": [1, 1, 0, 0],  # royal + male
        "man": [0, 1, 0, 0],
        "woman": [0, 0, 1, 0],
        "queen": [1, 0, 1, 0],  # royal + female
        "prince": [1, 1, 0, 1],
        "apple": [0, 0, 0, 1],
        "new york": [0, 0.6, 0, 0.8],
    }

    def __call__(self, texts):
        out = np.asarray([self.VECTORS[t] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_arithmetic_on_planted_vectors_matches_the_hand_computation():
    from space.similarity import arithmetic, combine, parse_expression

    embed = PlantedEmbedder()
    s2 = 1 / np.sqrt(2)
    # king/|king| - man + woman = (s2, s2 - 1, 1, 0) -> normalised
    by_hand = np.array([s2, s2 - 1, 1, 0])
    by_hand /= np.linalg.norm(by_hand)
    terms = parse_expression("king - man + woman")
    assert np.allclose(combine(terms, embed), by_hand, atol=1e-6)
    result, _ = arithmetic("king - man + woman", embed, ["queen", "prince", "apple"], top=3)
    assert result.nearest_terms[0][0] == "queen"
    queen = np.array([1, 0, 1, 0]) / np.sqrt(2)
    assert result.nearest_terms[0][1] == pytest.approx(float(by_hand @ queen), abs=1e-6)
    assert [t for t, _, _ in result.nearest_terms] == ["queen", "woman", "king"]  # given terms are candidates
    assert [g for _, _, g in result.nearest_terms] == [False, True, True]
    assert parse_expression('"new york" - man') == [(1, "new york"), (-1, "man")]
    with pytest.raises(SpaceError, match="cancel out"):
        combine(parse_expression("king - king"), embed)


@pytest.mark.parametrize(
    "expr,want",
    [
        ("a + b - c", [(1, "a"), (1, "b"), (-1, "c")]),
        ("-a +b", [(-1, "a"), (1, "b")]),
        ("well-known - x", [(1, "well-known"), (-1, "x")]),
        ("big red dog - dog", [(1, "big red dog"), (-1, "dog")]),
    ],
)
def test_parse_expression(expr, want):
    from space.similarity import parse_expression

    assert parse_expression(expr) == want


@pytest.mark.parametrize("bad", ["", "a - - b", "a +", '"open quote - b'])
def test_parse_expression_refuses_broken_input(bad):
    from space.similarity import parse_expression

    with pytest.raises(SpaceError, match=r"king - man|close every quote"):
        parse_expression(bad)


def test_compression_recall_is_exact_for_float32_and_falls_with_bits(vecs):
    from space.compress import recall_at_k, study

    # 28 chunks are too few to rank 10 neighbours meaningfully: grow them into 1120 by noisy copies
    # (as benchmarks/query.py does), so each neighbourhood is decided by fine differences
    rng = np.random.default_rng(0)
    grown = np.repeat(vecs.vectors, 40, axis=0) + rng.normal(0, 0.03, (len(vecs) * 40, 384)).astype(np.float32)
    grown /= np.linalg.norm(grown, axis=1, keepdims=True)
    q = rng.choice(len(grown), 200, replace=False)
    rows = {r.name: r for r in study(grown, grown[q], k=10, exclude=q, dims=(128, 32, 8))}
    assert rows["float32"].recall == 1.0 and rows["float32"].memory_saving == 1.0
    assert rows["int8"].memory_saving == 4.0 and rows["binary"].memory_saving == 32.0
    # measured: float16 1.0, int8 0.99, binary 0.43 (0.98 rescored), PCA 128/32/8: 0.70/0.39/0.29
    assert rows["float16"].recall >= rows["int8"].recall > 0.95
    assert rows["binary"].recall < 0.6
    assert rows["int8 + float32 rescore"].recall == 1.0
    assert rows["binary + float32 rescore"].recall > rows["binary"].recall + 0.3
    for scheme in ("PCA to", "truncate to"):
        r128, r32, r8 = (rows[f"{scheme} {d} dims"].recall for d in (128, 32, 8))
        assert 1.0 > r128 > r32 > r8
    assert rows["PCA to 128 dims"].recall > rows["truncate to 128 dims"].recall
    assert recall_at_k(np.array([[1, 2, 3]]), np.array([[3, 4, 1]]), 3) == pytest.approx(2 / 3)


def test_health_measures_mean_what_they_say(vecs, embedder):
    from space.health import check_health

    inside = embedder.embed(["How do I bake a cake?", "What is the offside rule?"])
    outside = embedder.embed(["What is the tax rate on capital gains?", "How do I reset my router password?"])
    ok = check_health(vecs, chunk_limit=256, questions=inside)
    off = check_health(vecs, chunk_limit=256, questions=outside)
    n = len(vecs)
    brute = (vecs.vectors @ vecs.vectors.T).sum() - n
    assert ok.get("anisotropy").value == pytest.approx(brute / (n * (n - 1)), abs=1e-5)
    assert ok.get("topic silhouette").details["k"] == 3
    assert ok.get("near length limit").value == 0.0  # every section is far below 256 tokens
    assert ok.get("hubness").details["k"] == 10
    assert ok.get("domain mismatch").value > off.get("domain mismatch").value + 0.2
    assert off.get("domain mismatch").details["share_below_threshold"] == 1.0
    assert ok.get("domain mismatch").details["share_below_threshold"] == 0.0
    assert all(m.meaning and m.advice for m in ok.measures)


def test_questions_files(tmp_path):
    from space.questions import load_beir_queries, load_questions

    (tmp_path / "q.txt").write_text("one?\n\n two? \n")
    (tmp_path / "q.jsonl").write_text('{"id": 1, "question": "a?"}\n{"text": "b?"}\n')
    assert load_questions(tmp_path / "q.txt") == ["one?", "two?"]
    assert load_questions(tmp_path / "q.jsonl") == ["a?", "b?"]
    (tmp_path / "bad.jsonl").write_text('{"id": 1}\n')
    with pytest.raises(SpaceError, match=r"bad\.jsonl:1"):
        load_questions(tmp_path / "bad.jsonl")
    with pytest.raises(SpaceError, match="does not exist"):
        load_questions(tmp_path / "missing.txt")
    beir = Path(__file__).parent / "data" / "beir-tiny"
    if beir.is_dir():
        assert load_beir_queries(beir)


def rag_space(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAG_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "cli", "space", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_cli_topics_duplicates_and_map(space_home, tmp_path):
    topics = rag_space("topics", "--collection", "space", "--json", home=space_home.home)
    assert topics.returncode == 0, topics.stderr
    got = json.loads(topics.stdout)
    assert got["k"] == 3 and sum(t["size"] for t in got["topics"]) == 28
    dups = rag_space("duplicates", "-c", "space", "--json", home=space_home.home)
    assert [Path(p["file_a"]).name for p in json.loads(dups.stdout)["file_pairs"]] == ["sourdough.md"]
    out = tmp_path / "m.html"
    shown = rag_space("map", "-c", "space", "--out", str(out), "--color", "topic", home=space_home.home)
    assert shown.returncode == 0 and out.stat().st_size > 1_000_000  # plotly.js is inlined


def test_cli_names_rag_ingest_for_missing_and_empty_collections(tmp_path):
    missing = rag_space("topics", "-c", "nothing-here", home=tmp_path / "home")
    assert missing.returncode == 2 and "rag ingest" in missing.stderr and "nothing-here" in missing.stderr
    Store(Settings(home=tmp_path / "home")).client.create_collection("empty-one")
    empty = rag_space("map", "-c", "empty-one", home=tmp_path / "home")
    assert empty.returncode == 2 and "no chunks" in empty.stderr and "rag ingest" in empty.stderr


def test_big_maps_draw_sources_and_question_in_webgl_over_grey_other_files():
    """WebGL traces are painted above SVG ones: on a big map the rings and star must be WebGL too."""
    from space.map import SpaceMap
    from space.plot import OTHER, WEBGL_FROM, map_figure

    n = WEBGL_FROM + 100
    paths = [f"file{i % 30}.md" for i in range(n)]  # 30 files: the 10 smallest share the "other files" trace
    xy = np.random.default_rng(0).normal(size=(n, 2)).astype(np.float32)
    m = SpaceMap("big", [f"c{i}" for i in range(n)], paths, ["text"] * n, xy, np.full(n, -1), {}, "pca", n)
    fig = map_figure(m, highlight_ids=["c1", "c2"], question=("why?", np.zeros(2)))
    assert {t.type for t in fig.data} == {"scattergl"}
    names = [t.name for t in fig.data]
    assert names[0] == OTHER and fig.data[0].marker.color == "lightgrey"  # drawn first, under the coloured files
    assert names[-2:] == ["sources", "question"]
