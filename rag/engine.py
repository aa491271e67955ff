"""Question -> grounded, cited answer: condense -> retrieve -> (abstain | prompt -> LLM) -> verify.

The same engine serves the CLI, the UI and the evaluation. `stream()` yields text pieces as the
model writes them and, last, the full `Answer`.
"""

from __future__ import annotations

import re
import time
from functools import cached_property
from typing import TYPE_CHECKING, Callable, Generator, Iterator, Union

import numpy as np

from rag.answer.mode import (
    BOTH_HEADER,
    invented,
    llm_failure,
    mostly_unsupported,
    replaced_note,
    resolve_mode,
    should_replace,
)
from rag.answer.sources import arrange
from rag.errors import EmptyCollection, QuestionError
from rag.llm import LLMBackend, LLMError, prompts
from rag.retrieval.condense import depends_on_history, heuristic_condense
from rag.settings import Settings
from rag.text.words import ABSTAINS
from rag.types import Answer, Source, Timings

if TYPE_CHECKING:
    from rag.answer.answerability import CollectionNull, Verdict, WordVectors
    from rag.answer.extract import Extract
    from rag.answer.sentence_vectors import SentenceVectors

Event = Union[str, Answer]

REPEAT_TAIL = 50  # characters; a tail seen earlier in the answer means the model is looping
# Sentences embedded per batch when focusing: each batch is padded to its longest sentence, so small
# batches waste less on a few dozen sentences of mixed length (measured 25% faster than 64).
FOCUS_BATCH = 8
WORD_BATCH = 64  # single words pad to a few word pieces: one large batch is one call to the model


class Engine:
    """Answers questions over one collection. Heavy parts are passed in (see rag.app)."""

    def __init__(self, settings: Settings, retriever, llm: LLMBackend | Callable[[], LLMBackend], embedder=None):
        self.settings = settings
        self.retriever = retriever
        self._llm = llm
        self.embedder = embedder or getattr(retriever, "embedder", None)
        self._null: tuple[str | None, CollectionNull] | None = None

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
        bundled tiny model and generates otherwise (see rag.answer.mode).
        """
        question = (question or "").strip()
        if not question:
            raise QuestionError("The question is empty - type a question about your documents.")
        started = time.perf_counter()
        threshold = self.settings.relevance_threshold if threshold is None else threshold
        query, rewritten = self.standalone_query(question, history or [])
        candidates = self.retriever.search(
            query, top_k=top_k, hybrid=hybrid, mmr=mmr, threshold=-1.0, path_glob=path_glob
        )
        timings = Timings(retrieve_s=time.perf_counter() - started)
        if not candidates:
            matching = f" matching {path_glob}" if path_glob else ""
            raise EmptyCollection(
                f"Collection {self.settings.collection!r} has no documents{matching}"
                f" - add some with `rag ingest PATH --collection {self.settings.collection}`."
            )
        asked = question if rewritten is None else query
        # by score, numbered 1..n, before anything quotes or cites them; the ones far below the best
        # are set aside (rag.answer.sources): the sources judged below are always a gapless prefix of `listed`
        listed, far = arrange(candidates)
        if self.embedder is None:  # nothing to quote or match words with: the score alone decides
            relevant, extract, floor = [s for s in listed if s.score >= threshold], None, threshold
        else:
            verdict, extract = self.judge(asked, listed, threshold)
            relevant, floor = verdict.sources, verdict.floor
        if not relevant:
            timings.total_s = time.perf_counter() - started
            answer = self._abstain(listed + far, rewritten, threshold, timings)
            answer.searched_query = query
            yield answer
            return
        timings.extract_s = time.perf_counter() - started - timings.retrieve_s
        # "also near": what would have been listed with the sources but for its distance from the best
        near = [s for s in far if s.score >= (threshold if relevant[-1].score >= threshold else floor)]
        events = self._answer(asked, relevant, extract, history or [], rewritten, temperature, timings, started, mode)
        try:
            for event in events:
                if isinstance(event, Answer):
                    event.searched_query = query  # what retrieval saw, shown next to the sources
                    event.also_near = near  # retrieved but far below the best: named, not cited
                yield event
        finally:
            events.close()  # a stream stopped by its reader stops the model at once, as `yield from` did

    # -- steps ------------------------------------------------------------------------------

    def standalone_query(self, question: str, history: list[dict]) -> tuple[str, str | None]:
        """The search query for `question`; the second value is set when it was rewritten.

        Only a question that depends on the conversation is rewritten (rag.retrieval.condense); a standalone
        one is searched as written, by the LLM path too.
        """
        if not history or not depends_on_history(question):
            return question, None
        mode = self.settings.condense
        if mode == "llm" or (mode == "auto" and self.llm.name != "embedded"):
            try:
                out = self.llm.chat(prompts.condense_messages(history, question), temperature=0.0, max_tokens=64)
                out = out.strip().strip('"').splitlines()[0].strip() if out.strip() else ""
                if 3 <= len(out) <= 3 * len(question) + 200 and not ABSTAINS.search(out):
                    return out, out
            except LLMError:
                pass  # the cheap fallback below still gives a usable query
        rewritten = heuristic_condense(history, question)
        return rewritten, (rewritten if rewritten != question else None)

    def judge(self, question: str, candidates: list[Source], threshold: float) -> tuple[Verdict, Extract | None]:
        """Which candidates answer `question`, on the evidence (rag/answer/answerability.py), and their quote."""
        from rag.answer.answerability import judge

        def sentences(sources: list[Source]) -> np.ndarray | None:  # what quoting embedded, reused
            known = self.sentences.known(sources)
            return np.stack(list(known.values())) if known else None

        band = self.settings.relevance_band
        return judge(question, candidates, threshold, band, self.collection_null(), self.extract, self.words, sentences)

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
        vectors = self.embedder.embed(questions)
        hits = [search(q, v, top_k=1, hybrid=False, threshold=-1.0) for q, v in zip(questions, vectors)]
        return [h[0].score if h else 0.0 for h in hits]

    @cached_property
    def words(self) -> WordVectors:
        """Single-word vectors for matching a question's key terms by meaning (each word embedded once)."""
        from rag.answer.answerability import WordVectors

        return WordVectors(lambda words: self.embedder.embed(words, batch_size=WORD_BATCH))

    def _abstain(self, closest: list[Source], rewritten: str | None, threshold: float, timings: Timings) -> Answer:
        shown = closest[:3]
        names = ", ".join(f"{prompts.source_label(s)} ({s.score:.2f})" for s in shown)
        text = (
            "The documents do not contain an answer to this question: no passage is similar enough "
            f"(best {max(s.score for s in closest):.2f}, needed {threshold:.2f}). The closest were: {names}."
        )
        return Answer(text=text, sources=shown, abstained=True, rewritten_query=rewritten, timings=timings)

    @cached_property
    def sentences(self) -> SentenceVectors:
        """Sentence vectors per chunk, shared by quoting and focusing (each chunk embedded once)."""
        from rag.answer.sentence_vectors import SentenceVectors

        return SentenceVectors(lambda sentences: self.embedder.embed(sentences, batch_size=FOCUS_BATCH))

    def extract(self, question: str, sources: list[Source]) -> Extract | None:
        """The sources' sentences that answer `question`, quoted and cited (None without an embedder)."""
        if self.embedder is None:
            return None
        from rag.answer.extract import extract_answer, topic_words

        focused = self.without_common_words(question)
        qvec = self.embedder.embed_query(focused)  # remembered from retrieval when nothing was dropped
        extract = extract_answer(focused, qvec, sources, self.sentences, self.settings.extract_words)
        if focused != question:  # "The documents discuss ragspace, but ...": the words the user used
            extract.topic = topic_words(question, sources)
        return extract

    def without_common_words(self, question: str) -> str:
        """The question without the words most of the collection contains (see Retriever.common_words):
        choosing among the retrieved sentences, "where does ragspace keep its data?" is about "data"."""
        share, words_of = self.settings.common_word_share, getattr(self.retriever, "common_words", None)
        common = words_of(question, share) if share < 1 and words_of is not None else []
        if not common:
            return question
        pattern = r"\b(?:" + "|".join(re.escape(w) for w in common) + r")\b"
        return " ".join(re.sub(pattern, " ", question).split())

    def focus(self, question: str, sources: list[Source], llm: LLMBackend) -> list[str] | None:
        """Source texts cut to the model's `source_tokens` around the question (None = use them whole)."""
        limit = self.settings.source_tokens if self.settings.source_tokens is not None else llm.source_tokens
        if not limit or self.embedder is None:
            return None
        from rag.answer.focus import focus_texts

        known = {
            s.text[a:b]: v
            for s, (segs, vecs) in zip(sources, self.sentences.get(sources))
            for (a, b, _), v in zip(segs, vecs)
        }

        def embed(sentences: list[str]):  # the quoting step already embedded these sentences
            missing = [x for x in dict.fromkeys(sentences) if x not in known]
            if missing:
                known.update(zip(missing, self.embedder.embed(missing, batch_size=FOCUS_BATCH)))
            return np.stack([known[x] for x in sentences])

        texts = focus_texts(
            self.embedder.embed_query(question), [s.text for s in sources], limit, llm.count_tokens, embed
        )
        return None if texts == [s.text for s in sources] else texts

    def fit_context(
        self, question: str, sources: list[Source], llm: LLMBackend, texts: list[str] | None = None
    ) -> tuple[list[str], list[Source], bool]:
        """Source blocks that fit the context window, lowest-ranked dropped first."""
        budget = llm.context_window - self.settings.max_answer_tokens
        budget -= llm.count_tokens(prompts.SYSTEM) + llm.count_tokens(prompts.user_message(question, [])) + 16
        blocks: list[str] = []
        for i, s in enumerate(sources):
            text = texts[i] if texts else s.text
            block = prompts.format_source(s, text)
            cost = llm.count_tokens(block) + 2
            if cost > budget:
                if not blocks and budget > 32:  # even the best source is too long: keep its head
                    keep = max(1, int(len(text) * (budget - 16) / cost))
                    blocks.append(prompts.format_source(s, text[:keep]))
                return blocks, sources[: len(blocks)], True
            blocks.append(block)
            budget -= cost
        return blocks, sources, False

    def _answer(
        self,
        question: str,
        relevant: list[Source],
        extract: Extract | None,
        history: list[dict],
        rewritten: str | None,
        temperature: float | None,
        timings: Timings,
        started: float,
        mode: str | None,
    ) -> Iterator[Event]:
        requested = mode or self.settings.answer_mode
        llm, error = None, None
        if requested != "extract" or extract is None:
            try:
                llm = self.llm
            except Exception as exc:  # noqa: BLE001 - any backend failure still leaves the quotes to show
                error = llm_failure(exc, self.settings.llm)
        mode = "generate" if extract is None else "extract" if error else resolve_mode(requested, llm)
        if mode == "extract":
            yield from self._quote(question, relevant, extract, rewritten, timings, started, error)
            return
        prefix = self.quote_text(question, extract) + BOTH_HEADER if mode == "both" and extract else ""
        if prefix:
            timings.first_token_s = time.perf_counter() - started
            yield prefix
        try:
            answer = yield from self._generate(
                question, relevant, history, rewritten, temperature, timings, started, llm, prefix
            )
        except Exception as exc:  # noqa: BLE001 - the model crashed mid-answer: the quotes still answer
            if extract is None:
                raise
            yield from self._quote(question, relevant, extract, rewritten, timings, started, llm_failure(exc, llm.name))
            return
        answer.mode, answer.spans = mode, (extract.spans if prefix else [])
        if requested == "auto" and extract and extract.text and not answer.abstained:
            if should_replace(answer.per_sentence):
                rows = answer.per_sentence
                generated, note = answer.text, replaced_note(*mostly_unsupported(rows), invented(rows))
                answer = self._quote_answer(question, relevant, extract, rewritten, timings, None)
                answer.generated, answer.note = generated, note
                answer.backend, answer.model = llm.name, llm.model
        timings.total_s = time.perf_counter() - started
        yield answer

    def quote_text(self, question: str, extract: Extract) -> str:
        """The quotes, or, when they do not answer what is asked, a plain statement of that."""
        from rag.answer.compose import unanswered_text

        return extract.text if extract.answered else unanswered_text(question, extract)

    def _quote_answer(self, question, relevant, extract, rewritten, timings, error) -> Answer:
        answer = Answer(
            text=self.quote_text(question, extract),
            sources=relevant,
            abstained=not extract.answered,
            rewritten_query=rewritten,
            timings=timings,
            mode="extract",
            spans=extract.spans,
            llm_error=error,
        )
        self._verify(answer)  # quotes are grounded by construction; the check still runs and is shown
        return answer

    def _quote(self, question, relevant, extract, rewritten, timings, started, error) -> Iterator[Event]:
        # The quote is shown at once; the citation check on it follows in the final Answer, as it
        # does after a generated answer has streamed (it cannot change a quote's text: every [n]
        # exists and points at the sentence it was cut from).
        text = self.quote_text(question, extract)
        if timings.first_token_s is None:
            timings.first_token_s = time.perf_counter() - started
        yield text
        answer = self._quote_answer(question, relevant, extract, rewritten, timings, error)
        timings.total_s = time.perf_counter() - started
        yield answer

    def _generate(
        self,
        question: str,
        relevant: list[Source],
        history: list[dict],
        rewritten: str | None,
        temperature: float | None,
        timings: Timings,
        started: float,
        llm: LLMBackend,
        prefix: str = "",
    ) -> Generator[Event, None, Answer]:
        focused = self.focus(question, relevant, llm)
        blocks, used, cut = self.fit_context(question, relevant, llm, focused)
        messages = [
            {"role": "system", "content": prompts.SYSTEM},
            {"role": "user", "content": prompts.user_message(question, blocks)},
        ]
        text = ""
        for piece in llm.stream_chat(
            messages,
            temperature=temperature if temperature is not None else self.settings.temperature,
            max_tokens=self.settings.max_answer_tokens,
        ):
            if timings.first_token_s is None:
                timings.first_token_s = time.perf_counter() - started
            text += piece
            yield piece
            if len(text) > 2 * REPEAT_TAIL and text[-REPEAT_TAIL:] in text[:-REPEAT_TAIL]:
                break  # the model is repeating itself; what it had to say is already there
        answer = Answer(
            text=prefix + text.strip(),
            sources=relevant if prefix else used,
            rewritten_query=rewritten,
            backend=llm.name,
            model=llm.model,
            context_cut=cut,
            context_focused=focused is not None,
            timings=timings,
        )
        answer.abstained = not prefix and bool(ABSTAINS.search(answer.text)) and len(answer.text) < 200
        if self.embedder is not None and answer.text:
            self._verify(answer)
        return answer

    def _verify(self, answer: Answer) -> None:
        from rag.verify.check import attach_citations, check_answer

        # the sentences quoting and focusing embedded are not embedded again
        result = check_answer(answer.text, answer.sources, self.embedder, known=self.sentences.known(answer.sources))
        answer.text = result.text
        answer.per_sentence = result.per_sentence
        answer.invalid_citations = result.invalid_citations
        answer.unsupported = [] if answer.abstained else result.unsupported
        if not answer.abstained and not re.search(r"\[\d", answer.text):
            # small models often write no citation at all: add the ones the checker found, marked as such
            cited = attach_citations(answer.text, result)
            answer.text, answer.citations_added = cited, cited != answer.text
