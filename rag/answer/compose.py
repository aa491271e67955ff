"""Compose the answer from the relevant sources: quote them, let the LLM write, or both; then check it.

The answer pipeline's fifth stage (rag/engine.py wires them): the question has been rewritten,
retrieved, its sentences picked (rag/answer/extract.py) and judged answerable
(rag/answer/answerability.py). Which composition a question gets is rag/answer/mode.py's call;
each composed answer goes through the citation check (rag/verify/check.py) before it is returned.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rag.answer.answered import join_words
from rag.answer.mode import (
    BOTH_HEADER,
    invented,
    llm_failure,
    mostly_unsupported,
    replaced_note,
    resolve_mode,
    should_replace,
)
from rag.llm import LLMBackend, prompts
from rag.settings import Settings
from rag.text.words import ABSTAINS
from rag.types import Answer, Source, Timings

if TYPE_CHECKING:
    from rag.answer.extract import Extract
    from rag.answer.sentence_vectors import SentenceVectors
    from rag.protocols import TextEmbedder

Event = str | Answer

REPEAT_TAIL = 50  # characters; a tail seen earlier in the answer means the model is looping
# Sentences embedded per batch when focusing: each batch is padded to its longest sentence, so small
# batches waste less on a few dozen sentences of mixed length (measured 25% faster than 64).
FOCUS_BATCH = 8


def unanswered_text(question: str, extract: Extract) -> str:
    """Say the documents are on topic but do not answer, and quote the closest passage."""
    about = join_words(extract.topic[:4]) or "this topic"
    why = extract.why_unanswered or "do not say"
    asked = question.strip().rstrip("?").strip()
    return (
        f'The documents discuss {about}, but they {why}, so they do not answer "{asked}?". '
        f"The closest passages: {extract.text}"
    )


def quote_text(question: str, extract: Extract) -> str:
    """The quotes, or, when they do not answer what is asked, a plain statement of that."""
    return extract.text if extract.answered else unanswered_text(question, extract)


def far_refusal(closest: list[Source], rewritten: str | None, threshold: float, timings: Timings) -> Answer:
    """The refusal when no source is near enough to the question to be judged at all."""
    shown = closest[:3]
    names = ", ".join(f"{prompts.source_label(s)} ({s.score:.2f})" for s in shown)
    text = (
        "The documents do not contain an answer to this question: no passage is similar enough "
        f"(best {max(s.score for s in closest):.2f}, needed {threshold:.2f}). The closest were: {names}."
    )
    return Answer(text=text, sources=shown, abstained=True, rewritten_query=rewritten, timings=timings)


def fit_context(
    question: str, sources: list[Source], llm: LLMBackend, max_answer_tokens: int, texts: list[str] | None = None
) -> tuple[list[str], list[Source], bool]:
    """Source blocks that fit the context window, lowest-ranked dropped first."""
    budget = llm.context_window - max_answer_tokens
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


@dataclass
class Question:
    """What composing needs to know about the question, beyond the sources and their quote."""

    text: str  # the standalone question (the rewritten one for a follow-up)
    history: list[dict]
    rewritten: str | None
    temperature: float | None
    timings: Timings
    started: float  # time.perf_counter() when it was asked


@dataclass
class Composer:
    """The composing stage over one engine's parts; `compose` is its entry point.

    `llm` and `sentences` are callables: the model loads only when an answer is written, and the
    sentence cache is the engine's (quoting already embedded most of what focusing and checking use).
    """

    settings: Settings
    llm: Callable[[], LLMBackend]
    embedder: TextEmbedder | None
    sentences: Callable[[], SentenceVectors]

    def compose(
        self, q: Question, relevant: list[Source], extract: Extract | None, mode: str | None
    ) -> Generator[Event, None, None]:
        """Yield the answer's text pieces, then the checked `Answer` (see rag/answer/mode.py for `mode`)."""
        requested = mode or self.settings.answer_mode
        llm, error = None, None
        if requested != "extract" or extract is None:
            try:
                llm = self.llm()
            except Exception as exc:
                if extract is None:  # nothing to fall back on: the model's own error is the answer
                    raise
                error = llm_failure(exc, self.settings.llm)
        mode = "generate" if extract is None else "extract" if error else resolve_mode(requested, llm)
        if mode == "extract":
            assert extract is not None  # "extract" is chosen only with a quote
            yield from self._quote(q, relevant, extract, error)
            return
        prefix = quote_text(q.text, extract) + BOTH_HEADER if mode == "both" and extract else ""
        if prefix:
            q.timings.first_token_s = time.perf_counter() - q.started
            yield prefix
        assert llm is not None  # generating: the model loaded (a failure above raised or chose the quote)
        try:
            answer = yield from self._generate(q, relevant, llm, prefix)
        except Exception as exc:
            if extract is None:
                raise
            yield from self._quote(q, relevant, extract, llm_failure(exc, llm.name))
            return
        answer.mode, answer.spans = mode, (extract.spans if prefix and extract else [])
        if requested == "auto" and extract and extract.text and not answer.abstained:
            answer = self._replaced(q, relevant, extract, answer, llm)
        q.timings.total_s = time.perf_counter() - q.started
        yield answer

    def _replaced(self, q: Question, relevant: list[Source], extract: Extract, answer: Answer, llm) -> Answer:
        """The written answer, or the quotes instead when its check says it mostly does not hold."""
        if not should_replace(answer.per_sentence):
            return answer
        rows = answer.per_sentence
        generated, note = answer.text, replaced_note(*mostly_unsupported(rows), invented(rows))
        tokens = answer.prompt_tokens, answer.completion_tokens  # the model did run
        answer = self._quote_answer(q, relevant, extract, None)
        answer.generated, answer.note = generated, note
        answer.prompt_tokens, answer.completion_tokens = tokens
        answer.backend, answer.model = llm.name, llm.model
        return answer

    def _quote_answer(self, q: Question, relevant: list[Source], extract: Extract, error: str | None) -> Answer:
        answer = Answer(
            text=quote_text(q.text, extract),
            sources=relevant,
            abstained=not extract.answered,
            rewritten_query=q.rewritten,
            timings=q.timings,
            mode="extract",
            spans=extract.spans,
            llm_error=error,
        )
        self.check(answer)  # quotes are grounded by construction; the check still runs and is shown
        return answer

    def _quote(self, q: Question, relevant: list[Source], extract: Extract, error: str | None) -> Iterator[Event]:
        # The quote is shown at once; the citation check on it follows in the final Answer, as it
        # does after a generated answer has streamed (it cannot change a quote's text: every [n]
        # exists and points at the sentence it was cut from).
        text = quote_text(q.text, extract)
        if q.timings.first_token_s is None:
            q.timings.first_token_s = time.perf_counter() - q.started
        yield text
        answer = self._quote_answer(q, relevant, extract, error)
        q.timings.total_s = time.perf_counter() - q.started
        yield answer

    def _generate(
        self, q: Question, relevant: list[Source], llm: LLMBackend, prefix: str = ""
    ) -> Generator[Event, None, Answer]:
        loading = time.perf_counter()
        llm.load()  # reported as loading, not as the wait for the model's first token
        q.timings.load_s += time.perf_counter() - loading
        focused = self.focus(q.text, relevant, llm)
        blocks, used, cut = fit_context(q.text, relevant, llm, self.settings.max_answer_tokens, focused)
        messages = [
            {"role": "system", "content": prompts.SYSTEM},
            {"role": "user", "content": prompts.user_message(q.text, blocks)},
        ]
        text, prompt_tokens = "", sum(llm.count_tokens(m["content"]) for m in messages)
        temperature = q.temperature if q.temperature is not None else self.settings.temperature
        for piece in llm.stream_chat(messages, temperature=temperature, max_tokens=self.settings.max_answer_tokens):
            if q.timings.first_token_s is None:
                q.timings.first_token_s = time.perf_counter() - q.started
            text += piece
            yield piece
            if len(text) > 2 * REPEAT_TAIL and text[-REPEAT_TAIL:] in text[:-REPEAT_TAIL]:
                break  # the model is repeating itself; what it had to say is already there
        answer = Answer(
            text=prefix + text.strip(),
            sources=relevant if prefix else used,
            rewritten_query=q.rewritten,
            backend=llm.name,
            model=llm.model,
            context_cut=cut,
            context_focused=focused is not None,
            timings=q.timings,
            prompt_tokens=prompt_tokens,
            completion_tokens=llm.count_tokens(text) if text else 0,
        )
        answer.abstained = not prefix and bool(ABSTAINS.search(answer.text)) and len(answer.text) < 200
        if self.embedder is not None and answer.text:
            self.check(answer)
        return answer

    def focus(self, question: str, sources: list[Source], llm: LLMBackend) -> list[str] | None:
        """Source texts cut to the model's `source_tokens` around the question (None = use them whole)."""
        limit = self.settings.source_tokens if self.settings.source_tokens is not None else llm.source_tokens
        embedder = self.embedder
        if not limit or embedder is None:
            return None
        from rag.answer.focus import focus_texts

        known = {
            s.text[a:b]: v
            for s, (segs, vecs) in zip(sources, self.sentences().get(sources))
            for (a, b, _), v in zip(segs, vecs)
        }

        def embed(sentences: list[str]):  # the quoting step already embedded these sentences
            missing = [x for x in dict.fromkeys(sentences) if x not in known]
            if missing:
                known.update(zip(missing, embedder.embed(missing, batch_size=FOCUS_BATCH)))
            return np.stack([known[x] for x in sentences])

        texts = focus_texts(
            embedder.embed_query(question), [s.text for s in sources], limit, llm.count_tokens, embed
        )
        return None if texts == [s.text for s in sources] else texts

    def check(self, answer: Answer) -> None:
        """The last stage: the citation check (rag/verify/check.py), its findings written into `answer`."""
        from rag.verify.check import attach_citations, check_answer

        # the sentences quoting and focusing embedded are not embedded again
        known = self.sentences().known(answer.sources)
        if self.embedder is None:  # the check compares meanings: an engine without an embedder cannot run it
            raise RuntimeError("the citation check needs the engine's embedder")
        result = check_answer(answer.text, answer.sources, self.embedder, known=known)
        answer.text = result.text
        answer.per_sentence = result.per_sentence
        answer.invalid_citations = result.invalid_citations
        answer.unsupported = [] if answer.abstained else result.unsupported
        if not answer.abstained and not re.search(r"\[\d", answer.text):
            # small models often write no citation at all: add the ones the checker found, marked as such
            cited = attach_citations(answer.text, result)
            answer.text, answer.citations_added = cited, cited != answer.text
