"""Question -> grounded, cited answer: the answer pipeline's stages, wired in the order they run.

    1. rewrite the follow-up       rag/retrieval/condense.py      standalone_query
    2. retrieve                    rag/retrieval/retriever.py     Retriever.search (+ rag/answer/sources.py)
    3. pick sentences              rag/answer/extract.py          pick_sentences
    4. decide answerability        rag/answer/answerability.py    judge (asks 3 for the quote it weighs)
    5. compose (quote or generate) rag/answer/compose.py          Composer.compose
    6. check                       rag/verify/check.py            (called by the composer on each answer)

The same engine serves the CLI, the UI, the API and the evaluation. `stream()` yields text pieces
as they are written and, last, the full `Answer`. The engine holds the heavy parts and the caches
shared by the stages (sentence and word vectors, the collection's null); the stages hold the logic.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from rag.answer.compose import FOCUS_BATCH, Composer, Event, Question, far_refusal, fit_context
from rag.answer.sources import arrange
from rag.errors import EmptyCollection, QuestionError
from rag.llm import LLMBackend
from rag.retrieval.condense import standalone_query
from rag.settings import Settings
from rag.types import Answer, Source, Timings

if TYPE_CHECKING:
    from rag.answer.answerability import CollectionNull, Verdict, WordVectors
    from rag.answer.extract import Extract
    from rag.answer.sentence_vectors import SentenceVectors
    from rag.protocols import TextEmbedder

__all__ = ["Engine", "Event"]

WORD_BATCH = 64  # single words pad to a few word pieces: one large batch is one call to the model


class Engine:
    """Answers questions over one collection. Heavy parts are passed in (see rag.app)."""

    def __init__(self, settings: Settings, retriever, llm: LLMBackend | Callable[[], LLMBackend], embedder=None):
        self.settings = settings
        self.retriever = retriever
        self._llm = llm
        self.embedder = embedder or getattr(retriever, "embedder", None)
        self._null: tuple[str | None, CollectionNull] | None = None

    def _embedder(self) -> TextEmbedder:
        """The embedder the meaning-based stages need (callers check `self.embedder` first)."""
        if self.embedder is None:
            raise RuntimeError("this engine was built without an embedder")
        return self.embedder

    @property
    def llm(self) -> LLMBackend:
        if not isinstance(self._llm, LLMBackend):
            self._llm = self._llm()  # resolved on first use: abstentions never load a model
        return self._llm

    def ask(self, question: str, history: list[dict] | None = None, **options) -> Answer:
        """Like `stream`, returning only the final Answer."""
        for event in self.stream(question, history, **options):
            if isinstance(event, Answer):
                return event
        raise AssertionError("stream() always ends with an Answer")

    def stream(
        self,
        question: str,
        history: list[dict] | None = None,
        *,
        top_k: int | None = None,
        hybrid: bool | None = None,
        mmr: bool | None = None,
        threshold: float | None = None,
        path_glob: str | None = None,
        temperature: float | None = None,
        mode: str | None = None,
    ) -> Iterator[Event]:
        """Yield answer text pieces as they are generated, then the final `Answer`.

        `mode` (default `settings.answer_mode`): `extract` quotes the sources, `generate` lets the
        LLM write, `both` quotes first then streams the LLM's answer below, `auto` quotes for the
        bundled tiny model and generates otherwise (see rag/answer/mode.py).
        """
        question = (question or "").strip()
        if not question:
            raise QuestionError("The question is empty - type a question about your documents.")
        started = time.perf_counter()
        threshold = self.settings.relevance_threshold if threshold is None else threshold
        timings = Timings(load_s=self.load())  # a cold start's model loading is not retrieval's time
        searching = time.perf_counter()
        query, rewritten = self.standalone_query(question, history or [])
        listed, far = self._retrieve(query, top_k=top_k, hybrid=hybrid, mmr=mmr, path_glob=path_glob)
        timings.retrieve_s = time.perf_counter() - searching
        asked = question if rewritten is None else query
        relevant, extract, floor = self._decide(asked, listed, threshold)
        if not relevant:
            timings.total_s = time.perf_counter() - started
            answer = far_refusal(listed + far, rewritten, threshold, timings)
            answer.searched_query = query
            yield answer
            return
        timings.extract_s = time.perf_counter() - searching - timings.retrieve_s
        # "also near": what would have been listed with the sources but for its distance from the best
        near = [s for s in far if s.score >= (threshold if relevant[-1].score >= threshold else floor)]
        q = Question(asked, history or [], rewritten, temperature, timings, started)
        yield from self._labelled(self._composer().compose(q, relevant, extract, mode), query, near)

    @staticmethod
    def _labelled(events: Generator[Event, None, None], query: str, near: list[Source]) -> Iterator[Event]:
        """The composed events, the final Answer told what retrieval searched and what was also near."""
        try:
            for event in events:
                if isinstance(event, Answer):
                    event.searched_query = query  # what retrieval saw, shown next to the sources
                    event.also_near = near  # retrieved but far below the best: named, not cited
                yield event
        finally:
            events.close()  # a stream stopped by its reader stops the model at once, as `yield from` did

    # -- the stages, each one call into its module ---------------------------------------------

    def load(self) -> float:
        """Open the collection (CollectionNotFound before any model loads), then load the embedding
        model, if not yet; returns the seconds it took."""
        began = time.perf_counter()
        getattr(self.retriever, "open", lambda: None)()  # stand-in retrievers in tests have none
        getattr(self.embedder, "model", None)
        return time.perf_counter() - began

    def standalone_query(self, question: str, history: list[dict]) -> tuple[str, str | None]:
        """Stage 1 (rag/retrieval/condense.py): the search query; the second value is set when rewritten."""
        return standalone_query(question, history, self.settings.condense, lambda: self.llm)

    def _retrieve(self, query: str, *, path_glob: str | None, **options) -> tuple[list[Source], list[Source]]:
        """Stage 2: every candidate, by score, numbered 1..n before anything quotes or cites them, and
        the ones far below the best set aside (rag/answer/sources.py): those judged are a gapless prefix."""
        candidates = self.retriever.search(query, threshold=-1.0, path_glob=path_glob, **options)
        if not candidates:
            matching = f" matching {path_glob}" if path_glob else ""
            raise EmptyCollection(
                f"Collection {self.settings.collection!r} has no documents{matching}"
                f" - add some with `rag ingest PATH --collection {self.settings.collection}`."
            )
        return arrange(candidates)

    def extract(self, question: str, sources: list[Source]) -> Extract | None:
        """Stage 3 (rag/answer/extract.py): the sources' sentences that answer `question`, quoted and cited."""
        from rag.answer.extract import pick_sentences

        share, words_of = self.settings.common_word_share, getattr(self.retriever, "common_words", None)
        cache = self.sentences if self.embedder is not None else None
        return pick_sentences(question, sources, self.embedder, cache, words_of, share, self.settings.extract_words)

    def _decide(self, question: str, listed: list[Source], threshold: float):
        """Stage 4: (the sources that answer, their quote, the score floor of "also near")."""
        if self.embedder is None:  # nothing to quote or match words with: the score alone decides
            return [s for s in listed if s.score >= threshold], None, threshold
        verdict, extract = self.judge(question, listed, threshold)
        return verdict.sources, extract, verdict.floor

    def judge(self, question: str, candidates: list[Source], threshold: float) -> tuple[Verdict, Extract | None]:
        """Which candidates answer `question`, on the evidence (rag/answer/answerability.py), and their quote."""
        from rag.answer.answerability import judge

        def sentences(sources: list[Source]) -> np.ndarray | None:  # what quoting embedded, reused
            known = self.sentences.known(sources)
            return np.stack(list(known.values())) if known else None

        band = self.settings.relevance_band
        return judge(question, candidates, threshold, band, self.collection_null(), self.extract, self.words, sentences)

    def _composer(self) -> Composer:
        """Stage 5 and 6 (rag/answer/compose.py): quote or generate, then check."""
        return Composer(self.settings, lambda: self.llm, self.embedder, lambda: self.sentences)

    # -- what the stages share: caches over this collection and its models ---------------------

    def collection_null(self) -> CollectionNull:
        """What unrelated questions score in this collection, measured once per version of it."""
        from rag.answer.answerability import CollectionNull
        from rag.index import generation

        version = generation.current(self.settings.home, getattr(self.retriever, "name", self.settings.collection))
        if self._null is None or self._null[0] != version:
            # a stand-in retriever without vector search has no null: the threshold and band decide
            known = hasattr(self.retriever, "search_vector")
            self._null = (version, CollectionNull.measure(self._best_cosines) if known else CollectionNull(0.0, 0.0))
        return self._null[1]

    def _best_cosines(self, questions: list[str]) -> list[float]:
        """Each question's best cosine in the collection (dense search, one batch of embeddings)."""
        search = self.retriever.search_vector
        vectors = self._embedder().embed(questions)
        hits = [search(q, v, top_k=1, hybrid=False, threshold=-1.0) for q, v in zip(questions, vectors)]
        return [h[0].score if h else 0.0 for h in hits]

    @cached_property
    def words(self) -> WordVectors:
        """Single-word vectors for matching a question's key terms by meaning (each word embedded once)."""
        from rag.answer.answerability import WordVectors

        return WordVectors(lambda words: self._embedder().embed(words, batch_size=WORD_BATCH))

    @cached_property
    def sentences(self) -> SentenceVectors:
        """Sentence vectors per chunk, shared by quoting, focusing and checking (each chunk embedded once)."""
        from rag.answer.sentence_vectors import SentenceVectors

        return SentenceVectors(lambda sentences: self._embedder().embed(sentences, batch_size=FOCUS_BATCH))

    # -- kept for callers that tune or test one step -------------------------------------------

    def focus(self, question: str, sources: list[Source], llm: LLMBackend) -> list[str] | None:
        """Source texts cut to the model's `source_tokens` around the question (None = use them whole)."""
        return self._composer().focus(question, sources, llm)

    def fit_context(
        self, question: str, sources: list[Source], llm: LLMBackend, texts: list[str] | None = None
    ) -> tuple[list[str], list[Source], bool]:
        """Source blocks that fit the context window, lowest-ranked dropped first."""
        return fit_context(question, sources, llm, self.settings.max_answer_tokens, texts)
