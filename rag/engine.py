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

from rag import prompts
from rag.answer_mode import (
    BOTH_HEADER,
    invented,
    llm_failure,
    mostly_unsupported,
    replaced_note,
    resolve_mode,
    should_replace,
)
from rag.errors import EmptyCollection, QuestionError
from rag.llm import LLMBackend, LLMError
from rag.settings import Settings
from rag.sources import arrange
from rag.types import Answer, Source, Timings
from rag.words import ABSTAINS, STOPWORDS

if TYPE_CHECKING:
    from rag.extract import Extract
    from rag.sentence_vectors import SentenceVectors

Event = Union[str, Answer]

ANAPHORA = frozenset("it its it's they them their theirs this that these those he she his her there such".split())
REPEAT_TAIL = 50  # characters; a tail seen earlier in the answer means the model is looping
# Sentences embedded per batch when focusing: each batch is padded to its longest sentence, so small
# batches waste less on a few dozen sentences of mixed length (measured 25% faster than 64).
FOCUS_BATCH = 8


def key_words(text: str) -> list[str]:
    """Content words of a question, in order, without duplicates (for the cheap condense)."""
    seen: list[str] = []
    for word in re.findall(r"[\w][\w.-]*[\w]|\w", text):
        if word.lower() not in STOPWORDS and word not in seen:
            seen.append(word)
    return seen


def heuristic_condense(history: list[dict], question: str) -> str:
    """Make a follow-up searchable without an LLM: add the previous question's key words."""
    words = {w.lower().strip("?.!,") for w in question.split()}
    previous = next((m["content"] for m in reversed(history) if m.get("role") == "user"), "")
    if not previous or (len(words) >= 6 and not words & ANAPHORA):
        return question
    extra = [w for w in key_words(previous) if w.lower() not in words]
    return f"{question} ({' '.join(extra)})" if extra else question


class Engine:
    """Answers questions over one collection. Heavy parts are passed in (see rag.app)."""

    def __init__(self, settings: Settings, retriever, llm: LLMBackend | Callable[[], LLMBackend], embedder=None):
        self.settings = settings
        self.retriever = retriever
        self._llm = llm
        self.embedder = embedder or getattr(retriever, "embedder", None)

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
        bundled tiny model and generates otherwise (see rag.answer_mode).
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
        # numbered 1..n by score before anything quotes or cites them (rag.sources)
        relevant, near = arrange([s for s in candidates if s.score >= threshold])
        extract = self.extract(asked, relevant) if relevant else None
        if extract is None or not extract.answered:  # lower-scoring sources may still answer it
            worded = self.worded(asked, candidates, threshold, len(relevant))
            relevant, extract, near = worded or (relevant, extract, near)
        if not relevant:
            timings.total_s = time.perf_counter() - started
            yield self._abstain(candidates, rewritten, threshold, timings)
            return
        timings.extract_s = time.perf_counter() - started - timings.retrieve_s
        events = self._answer(asked, relevant, extract, history or [], rewritten, temperature, timings, started, mode)
        try:
            for event in events:
                if isinstance(event, Answer):
                    event.also_near = near  # retrieved but far below the best: named, not cited
                yield event
        finally:
            events.close()  # a stream stopped by its reader stops the model at once, as `yield from` did

    # -- steps ------------------------------------------------------------------------------

    def standalone_query(self, question: str, history: list[dict]) -> tuple[str, str | None]:
        """The search query for `question`; the second value is set when it was rewritten."""
        if not history:
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

    def worded(
        self, question: str, candidates: list[Source], threshold: float, tried: int = 0
    ) -> tuple[list[Source], Extract | None, list[Source]] | None:
        """Sources scoring under the threshold that answer in the documents' own words (None: none do).

        MiniLM gives short questions low cosines even against the passage that answers them ("How do
        I upload a zip file?" scores 0.26 against the FAQ that says how). Up to `relevance_band` under
        the threshold a source counts only with stronger evidence than its score: every content word
        of the question appears in the sources, and the quote finds what the question asks for. Also
        tried when the `tried` sources above the threshold do not answer ("How big can a file be?":
        the 50 MB limit scores 0.27, a passage about file counts 0.32). Returns the band as listed
        (rag.sources.arrange), its quote, and the sources set aside as "also near".
        """
        from rag.answered import missing_terms

        floor = threshold - self.settings.relevance_band
        band, near = arrange([s for s in candidates if s.score >= floor])
        if len(band) <= tried or missing_terms(question, band, strict=True):  # nothing new to quote from
            return None
        extract = self.extract(question, band)
        return (band, extract, near) if extract is not None and extract.answered else None

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
        from rag.sentence_vectors import SentenceVectors

        return SentenceVectors(lambda sentences: self.embedder.embed(sentences, batch_size=FOCUS_BATCH))

    def extract(self, question: str, sources: list[Source]) -> Extract | None:
        """The sources' sentences that answer `question`, quoted and cited (None without an embedder)."""
        if self.embedder is None:
            return None
        from rag.extract import extract_answer

        qvec = self.embedder.embed_query(question)  # remembered from retrieval
        return extract_answer(question, qvec, sources, self.sentences, self.settings.extract_words)

    def focus(self, question: str, sources: list[Source], llm: LLMBackend) -> list[str] | None:
        """Source texts cut to the model's `source_tokens` around the question (None = use them whole)."""
        limit = self.settings.source_tokens if self.settings.source_tokens is not None else llm.source_tokens
        if not limit or self.embedder is None:
            return None
        from rag.focus import focus_texts

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
        from rag.answered import unanswered_text

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
        from rag.verify import attach_citations, check_answer

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
