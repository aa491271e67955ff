"""One huge file is not all-or-nothing (issue 26 item 5): its chunks are built, embedded and committed
in bounded batches, a crash keeps the batches already in, and the next run embeds only the rest and
ends with exactly the index a clean run builds."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ingest.chunking import Chunker, PageText
from ingest.manifest import Manifest
from ingest.pipeline import Sync
from rag.index.lexical import LexicalIndex
from rag.index.store import Store
from rag.settings import Settings
from tests.helpers import stored, sync

WORDS = "harbour ferry noon island tide lighthouse keeper ship log rope anchor gull".split()


def one_line(path: Path, n_words: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    path.write_text(" ".join(rng.choice(WORDS) for _ in range(n_words)))  # no newline, no full stop


class Counting:
    """The real embedder, recording how many texts each embed call got."""

    def __init__(self, embedder, fail_on_call: int | None = None) -> None:
        self.inner, self.calls, self.fail_on_call = embedder, [], fail_on_call

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed(self, texts, *args, **kwargs):
        if self.fail_on_call is not None and len(self.calls) + 1 == self.fail_on_call:
            raise KeyboardInterrupt("killed mid-file")  # not an Exception: nothing in the pipeline catches it
        self.calls.append(len(texts))
        return self.inner.embed(texts, *args, **kwargs)


@pytest.fixture
def big(tmp_path) -> Path:
    folder = tmp_path / "big"
    folder.mkdir()
    one_line(folder / "line.txt", 10_000)  # ~65k characters, ~50 chunks on one line
    (folder / "small.md").write_text("# Ferry\n\nThe ferry leaves at noon from the harbour.\n")
    return folder


def small_batches(tmp_path, name: str) -> Settings:
    return Settings(home=tmp_path / name, collection="big", embed_batch_size=1)  # flush every 8 chunks


def test_a_big_file_is_embedded_in_bounded_batches_with_progress_inside_it(tmp_path, embedder, big):
    settings = small_batches(tmp_path, "home")
    counting = Counting(embedder)

    class Seen:
        def __init__(self):
            self.done: list[int] = []

        def __getattr__(self, name):
            return lambda *a: None

        def chunks_done(self, n):
            self.done.append(n)

    progress = Seen()
    report = Sync(settings, counting, Store(settings), progress).run([big])
    total = report.totals.chunks_added
    assert total > 40
    assert max(counting.calls) <= 8 and sum(counting.calls) == total  # bounded, and each chunk once
    assert len(progress.done) >= total // 8  # the chunk bar moves within the one big file


def test_a_crash_mid_file_keeps_its_batches_and_the_rerun_embeds_only_the_rest(tmp_path, embedder, big):
    settings = small_batches(tmp_path, "killed")
    crashing = Counting(embedder, fail_on_call=4)
    with pytest.raises(KeyboardInterrupt):
        Sync(settings, crashing, Store(settings)).run([big])
    kept = sum(crashing.calls)
    assert kept >= 16 and len(stored(settings)) == kept  # three batches were committed before the "kill"

    resumed = Counting(embedder)
    report = Sync(settings, resumed, Store(settings)).run([big])
    assert report.totals.failed == 0
    clean_settings = small_batches(tmp_path, "clean")
    sync(clean_settings, embedder, [big])
    clean, after = stored(clean_settings), stored(settings)
    assert sum(resumed.calls) == len(clean) - kept  # only what the crash had not written
    assert after == clean  # same ids, texts and metadata (n_chunks, offsets, hash) as a clean run
    col = Store(settings).get("big")
    with LexicalIndex(settings.lexical_path, str(col.id)) as lex:
        assert lex.ids() == set(after)
    with Manifest(settings.state_path, str(col.id)) as m:
        assert all(e.state == "done" and e.partial == 0 and not e.next_hash for e in m.entries().values())
    assert sync(settings, embedder, [big]).totals.chunks_added == 0


def test_an_update_killed_mid_file_keeps_the_old_version_whole_until_the_new_one_is_in(tmp_path, embedder, big):
    settings = small_batches(tmp_path, "home")
    sync(settings, embedder, [big])
    old = {k for k, v in stored(settings).items() if v["path"].endswith("line.txt")}
    one_line(big / "line.txt", 10_000, seed=6)
    with pytest.raises(KeyboardInterrupt):
        Sync(settings, Counting(embedder, fail_on_call=3), Store(settings)).run([big])
    # a reader between the runs still finds the whole old version (the new part waits beside it)
    mid = stored(settings)
    assert old <= set(mid)
    sync(settings, embedder, [big])
    clean_settings = small_batches(tmp_path, "clean")
    sync(clean_settings, embedder, [big])
    assert stored(settings) == stored(clean_settings)


def test_reverting_to_the_indexed_version_after_a_crash_drops_the_half_written_one(tmp_path, embedder, big):
    settings = small_batches(tmp_path, "home")
    sync(settings, embedder, [big])
    before = stored(settings)
    original = (big / "line.txt").read_text()
    one_line(big / "line.txt", 10_000, seed=6)
    with pytest.raises(KeyboardInterrupt):
        Sync(settings, Counting(embedder, fail_on_call=3), Store(settings)).run([big])
    (big / "line.txt").write_text(original)
    report = sync(settings, embedder, [big])
    assert report.totals.chunks_added == 0
    assert stored(settings) == before


def test_the_splitter_reads_a_run_on_line_in_one_pass(embedder):
    """Work linear in the line: the tokenizer sees each character a bounded number of times (a run-on
    line cost the sentence splitter one tokenizer call per word: 0.3 MB, 50k calls, 21 s)."""
    seen = {"calls": 0, "chars": 0}

    def tokenizer(text, **kwargs):
        seen["calls"] += 1
        seen["chars"] += len(text) if isinstance(text, str) else sum(map(len, text))
        return embedder.tokenizer(text, **kwargs)

    chunker = Chunker(tokenizer, 254, 32, 254)
    rng = random.Random(1)
    costs = []
    for n_words in (20_000, 80_000):
        text = " ".join(rng.choice(WORDS) for _ in range(n_words))
        seen.update(calls=0, chars=0)
        spans = chunker.plan([PageText(text, None)])
        assert spans[0].start == 0 and spans[-1].end == len(text)
        costs.append((seen["calls"], seen["chars"] / len(text)))
    (calls_small, reads_small), (calls_big, reads_big) = costs
    assert calls_big < 2 * 4 * calls_small and calls_big < 3000  # not one call per word (80k words)
    assert reads_big < 6 and reads_small < 6  # each character tokenized a few times, whatever the length
