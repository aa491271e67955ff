"""Retrieval against a real embedded Chroma, the real bundled model and the real keyword index."""

from __future__ import annotations

from pathlib import Path

import pytest
from rag.index.lexical import LexicalIndex, match_expression
from rag.index.store import Store
from rag.retrieval.retriever import NO_THRESHOLD, Retriever, glob_matches

from ingest.pipeline import remove_paths
from rag.errors import CollectionNotFound
from rag.settings import Settings
from tests.helpers import stored, sync

# Measured with all-MiniLM-L6-v2 on tests/data/docs: on-topic best cosines 0.47-0.73, the best
# off-topic one 0.24 ("capital of Peru" vs mars.md). Assertions keep a margin around both.
ON_TOPIC_MIN = 0.4
OFF_TOPIC_MAX = 0.28

PROBLEMS = [
    "the backup catalogue is locked by another process",
    "the source folder was moved or renamed",
    "the encryption key does not match the archive",
    "the schedule file is corrupt",
    "the destination disk is read-only",
    "the network share timed out",
    "the archive is larger than the destination allows",
    "the licence has expired",
    "a file changed while it was being copied",
    "the snapshot service is not running",
    "the backup index needs repair",
    "the destination path is too long",
    "the verification step found a checksum mismatch",
    "the previous backup is still running",
    "the compression library failed to load",
    "the cloud token is no longer valid",
    "the clock on this machine is wrong",
    "the retention policy removed the only copy",
    "the disk quota for your account is used up",
    "the temporary folder is full",
]
CODES = [
    "ZX-4470",
    "ZX-4472",
    "ZX-4473",
    "ZX-4474",
    "ZX-4475",
    "ZX-4476",
    "ZX-4477",
    "ZX-4478",
    "ZX-4479",
    "ZX-4481",
    "QV-1181",
    "QV-1182",
    "QV-1183",
    "QV-1184",
    "QV-1185",
    "KP-2210",
    "KP-2211",
    "KP-2212",
    "ZX-4417",
    "ZX-4714",
]
RED_SPOT = "Jupiter's Great Red Spot is a giant storm, wider than the Earth, that has raged for centuries."


@pytest.fixture
def retriever(settings, embedder, docs) -> Retriever:
    sync(settings, embedder, [docs])
    r = Retriever(settings, embedder, Store(settings))
    yield r
    r.close()


def names(sources) -> list[str]:
    return [Path(s.path).name for s in sources]


def lexical_ids(settings: Settings) -> set[str]:
    col = Store(settings).get(settings.collection)
    with LexicalIndex(settings.lexical_path, str(col.id)) as lex:
        return lex.ids()


def test_the_right_file_ranks_first_with_sorted_cosines(retriever, docs):
    sources = retriever.search("How tall is Olympus Mons?", top_k=4, threshold=NO_THRESHOLD, hybrid=False)
    assert names(sources)[0] == "mars.md"
    assert [s.n for s in sources] == [1, 2, 3, 4]
    scores = [s.score for s in sources]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= x <= 1.0 for x in scores)
    assert scores[0] > ON_TOPIC_MIN
    top = sources[0]
    assert top.page is None and top.fused_score is None and top.bm25_score is None
    assert (docs / "mars.md").read_text()[top.start_char : top.end_char] == top.text


def test_the_threshold_drops_off_topic_matches(retriever):
    assert retriever.search("What is the capital of Peru?") == []  # default threshold 0.3
    closest = retriever.search("What is the capital of Peru?", threshold=NO_THRESHOLD)
    assert len(closest) == 5 and max(s.score for s in closest) < OFF_TOPIC_MAX
    kept = retriever.search("How do I bake sourdough bread?", threshold=0.3)
    assert names(kept) == ["sourdough.txt"]


@pytest.mark.parametrize(
    ("glob", "expected"),
    [
        ("*.md", {"mars.md", "troubleshooting.md"}),
        ("notes/*", {"troubleshooting.md", "planets.csv", "settings.json", "hello.py"}),
        ("sourdough.txt", {"sourdough.txt"}),
        ("docs/*.html", {"tcp.html"}),
    ],
)
@pytest.mark.parametrize("in_chroma", [False, True], ids=["post-filter", "chroma-filter"])
def test_path_glob_restricts_results(retriever, glob, expected, in_chroma, monkeypatch):
    if in_chroma:  # as for a selective glob over a large collection
        monkeypatch.setattr("rag.retrieval.retriever.MAX_POST_FILTER", 0)
    for hybrid in (False, True):
        got = retriever.search("volcano error bread", top_k=10, threshold=NO_THRESHOLD, path_glob=glob, hybrid=hybrid)
        assert set(names(got)) == expected
        assert [s.n for s in got] == list(range(1, len(got) + 1))


def test_path_glob_matching_nothing_returns_nothing(retriever):
    assert retriever.search("volcano", threshold=NO_THRESHOLD, path_glob="*.pdf") == []


def test_glob_semantics():
    path = "/home/me/docs/notes/todo.md"
    for pattern in ("*.md", "todo.md", "notes/*", "docs/notes/*.md", "/home/me/*", "*/notes/*"):
        assert glob_matches(path, pattern), pattern
    for pattern in ("*.txt", "other/*", "otes/*", "/docs/*"):
        assert not glob_matches(path, pattern), pattern


def test_mmr_returns_fewer_near_duplicates(settings, embedder, docs):
    folder = docs / "jupiter"
    folder.mkdir()
    variants = [
        RED_SPOT,
        RED_SPOT.replace("giant", "huge"),
        RED_SPOT.replace("raged", "lasted"),
        RED_SPOT.replace("wider than the Earth", "larger than Earth"),
        RED_SPOT + " It is still there.",
    ]
    for i, text in enumerate(variants):
        (folder / f"copy_{i}.txt").write_text(text)
    (folder / "moons.txt").write_text("Jupiter has 95 known moons; the four largest were found by Galileo.")
    (folder / "ovals.txt").write_text(
        "Besides the Red Spot, Jupiter's clouds carry smaller white ovals, storms that come and go within years."
    )
    sync(settings, embedder, [docs])
    r = Retriever(settings, embedder, Store(settings))
    question = "What is Jupiter's Great Red Spot?"
    plain = r.search(question, top_k=4, mmr=False)
    diverse = r.search(question, top_k=4, mmr=True)
    copies = [sum(n.startswith("copy_") for n in names(x)) for x in (plain, diverse)]
    assert copies[0] == 4 and copies[1] <= 2, copies
    assert diverse[0].id == plain[0].id  # the most relevant chunk still comes first
    assert [s.n for s in diverse] == [1, 2, 3, 4]


def plant_error_notes(folder: Path) -> None:
    folder.mkdir()
    for i, (code, problem) in enumerate(zip(CODES, PROBLEMS)):
        (folder / f"note_{i:02d}.md").write_text(
            f"# Backup error {code}\n\nWhat does error {code} mean? The backup tool stops with error {code} "
            f"when {problem}. Fix the cause and run the backup again.\n"
        )


def test_hybrid_finds_an_exact_identifier_that_dense_misses(settings, embedder, docs):
    plant_error_notes(docs / "kb")
    sync(settings, embedder, [docs])
    r = Retriever(settings, embedder, Store(settings))
    question = "What does error ZX-4471 mean?"
    dense = r.search(question, top_k=5, hybrid=False, threshold=NO_THRESHOLD)
    assert "troubleshooting.md" not in names(dense)  # twenty look-alike notes outrank it
    hybrid = r.search(question, top_k=5, hybrid=True, threshold=NO_THRESHOLD)
    top = hybrid[0]
    assert Path(top.path).name == "troubleshooting.md" and "ZX-4471" in top.text
    assert top.bm25_score and top.bm25_score > 0 and top.fused_score and top.fused_score > 0
    # its score is still its true cosine, the same number a dense search reports for it
    everything = r.search(question, top_k=100, hybrid=False, threshold=NO_THRESHOLD)
    assert top.score == pytest.approx(next(s.score for s in everything if s.id == top.id), abs=1e-4)
    assert [s.fused_score for s in hybrid] == sorted((s.fused_score for s in hybrid), reverse=True)


def test_identifiers_are_found_however_they_are_written(settings, embedder, tmp_path):
    folder = tmp_path / "ids"
    folder.mkdir()
    (folder / "a.txt").write_text("The pump reports fault AB-1234 when it overheats.")
    (folder / "b.txt").write_text("Firmware build XY9000 fixes the display flicker.")
    (folder / "c.txt").write_text("Nothing to see here, only plain words about gardening.")
    sync(settings, embedder, [folder])
    col = Store(settings).get("test")
    with LexicalIndex(settings.lexical_path, str(col.id)) as lex:
        by_id = {i: Path(p).name for i, p in lex.db.execute(f"SELECT id, path FROM {lex.docs}")}
        cases = [("AB-1234", "a.txt"), ("ab1234", "a.txt"), ("XY-9000", "b.txt"), ("xy9000", "b.txt")]
        for query, expected in cases:
            hits = lex.search(query, 5)
            assert [by_id[i] for i, _ in hits] == [expected], query


def test_match_expression_is_safe_and_keeps_identifiers():
    assert match_expression("What does error ZX-4471 mean?") == (
        '"what" OR "does" OR "error" OR "zx 4471" OR "zx4471" OR "mean"'
    )
    assert match_expression("ZX4471") == '"zx4471" OR "zx 4471"'
    assert match_expression('fix "quotes" AND (NOT col:x*) ^y') == (
        '"fix" OR "quotes" OR "and" OR "not" OR "col x" OR "colx" OR "y"'
    )
    assert match_expression("it's it") == '"it s" OR "its" OR "it"'
    assert match_expression("?!* --") == ""


def test_queries_with_fts_syntax_do_not_fail(retriever):
    for q in ['"unbalanced', "AND OR NOT", "col:olympus*", "NEAR(a b)", "-", "^start"]:
        retriever.search(q, hybrid=True, threshold=NO_THRESHOLD)


def test_lexical_index_stays_in_step_with_edits_deletes_and_removes(settings, embedder, docs):
    sync(settings, embedder, [docs])
    assert lexical_ids(settings) == stored(settings).keys()
    r = Retriever(settings, embedder, Store(settings))
    find = lambda text: r.search(text, hybrid=True, threshold=NO_THRESHOLD, top_k=10)  # noqa: E731

    mars = docs / "mars.md"
    mars.write_text(mars.read_text().replace("Olympus Mons", "Tharsis Montes"))
    sync(settings, embedder, [docs])
    assert lexical_ids(settings) == stored(settings).keys()
    assert not any("Olympus" in s.text and s.bm25_score for s in find("Olympus"))
    assert any(s.bm25_score for s in find("Tharsis"))

    (docs / "tcp.html").unlink()
    sync(settings, embedder, [docs])
    assert lexical_ids(settings) == stored(settings).keys()
    assert not any(s.bm25_score for s in find("SYN-ACK handshake"))

    remove_paths([docs / "notes"], settings, Store(settings))
    assert lexical_ids(settings) == stored(settings).keys()
    assert not any(s.bm25_score for s in find("ZX-4471"))


def test_lost_lexical_rows_are_rebuilt_on_the_next_sync(settings, embedder, docs):
    sync(settings, embedder, [docs])
    col = Store(settings).get("test")
    with LexicalIndex(settings.lexical_path, str(col.id)) as lex:
        lex.drop()  # as if the collection predates the keyword index
    stale = Retriever(settings, embedder, Store(settings))  # still answers, from the dense side
    assert set(names(stale.search("volcano", hybrid=True, path_glob="*.md", threshold=NO_THRESHOLD))) == {
        "mars.md",
        "troubleshooting.md",
    }
    assert sync(settings, embedder, [docs]).totals.chunks_added == 0  # nothing re-embedded
    assert lexical_ids(settings) == stored(settings).keys()
    r = Retriever(settings, embedder, Store(settings))
    assert Path(r.search("ZX-4471", hybrid=True, threshold=NO_THRESHOLD)[0].path).name == "troubleshooting.md"


def test_rebuild_keeps_the_lexical_index_with_the_swapped_collection(settings, embedder, docs):
    sync(settings, embedder, [docs])
    old_id = str(Store(settings).get("test").id)
    small = settings.model_copy(update={"chunk_size": 32, "chunk_overlap": 4})
    r = Retriever(small, embedder, Store(small))
    r.search("warm up", hybrid=True)  # holds the old collection open across the swap
    sync(small, embedder, [], rebuild=True)
    assert lexical_ids(small) == stored(small).keys()
    with LexicalIndex(small.lexical_path, old_id) as old:
        assert old.count() == 0  # the replaced collection's rows are gone
    top = r.search("What does error ZX-4471 mean?", hybrid=True)[0]
    assert "ZX-4471" in top.text


def test_empty_and_missing_collections(settings, embedder, tmp_path):
    with pytest.raises(CollectionNotFound, match="rag ingest"):
        Retriever(settings, embedder, Store(settings)).search("anything")
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "blank.txt").write_text("   \n")
    sync(settings, embedder, [folder])
    assert Retriever(settings, embedder, Store(settings)).search("anything", hybrid=True) == []
