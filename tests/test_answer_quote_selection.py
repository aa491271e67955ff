"""Which sentence the quote picks (rag/answer/extract.py, rag/answer/quote_signals.py): the one that
answers, not the one that restates the question.

Real parts: the bundled embedding model (the `embedder` fixture), and for the samples a real Chroma
collection built the way `make run` builds it.
"""

from __future__ import annotations

import pytest

from rag.answer.extract import SentenceVectors, extract_answer
from rag.answer.quote_signals import asks_kinds, is_aim, is_background, is_list, is_question_line, number_strength, term
from rag.types import Source

FORMATS = "plain text, markdown, restructuredtext, html, pdf"


@pytest.fixture(scope="module")
def samples(samples_engine):
    return samples_engine


@pytest.mark.parametrize(
    "question", ["Can it read PDFs?", "Which file types can it read?", "What formats are supported?"]
)
def test_the_list_of_formats_answers_what_it_can_read(samples, question):
    answer = samples.ask(question)
    assert not answer.abstained
    assert FORMATS in answer.text.lower(), answer.text  # not the OCR line about scanned PDFs


def _quote(embedder, question: str, text: str, n: int = 1):
    src = Source(n=n, id="doc", path="doc.md", page=None, text=text, score=0.5)
    return extract_answer(question, embedder.embed_query(question), [src], SentenceVectors(embedder.embed))


def test_a_studys_aim_does_not_answer_the_question_it_restates(embedder):
    text = (
        "To measure how long the ferry crossing to Tresk takes in winter storms. "
        "Crossings were timed on 40 stormy days between 2019 and 2021. "
        "The mean crossing took 94 minutes, against 61 minutes in calm weather. "
        "Passengers were asked about seasickness on every crossing."
    )
    ex = _quote(embedder, "How long does the ferry crossing to Tresk take in winter storms?", text)
    assert "94 minutes" in ex.text, ex.text
    assert "To measure" not in ex.text


def test_a_bold_faq_question_is_a_heading_and_the_line_under_it_answers(embedder):
    text = (
        "## FAQ\n\n**Where should I put the router?**\n\nIn a central spot, at least 1 m above the floor, and "
        "away from microwave ovens.\n\n**Can I hide my network name?**\n\nYes, under **Wi-Fi > Advanced**."
    )
    ex = _quote(embedder, "best spot to put the router?", text)
    assert "central spot" in ex.text and "**Where" not in ex.text, ex.text


def test_signals():
    assert is_list("Plain text, Markdown, reStructuredText, HTML, PDF, Word (.docx), CSV, TSV, JSON and source code.")
    assert not is_list("Scanned PDFs have no text layer: run OCR first, and index the result.")
    assert is_aim("To evaluate renal damage after partial nephrectomy.")
    assert is_aim("We investigated whether the ferry is late in winter.")
    assert not is_aim("The ferry was late on 12 of 40 days.")
    assert is_question_line("**Where should I put the router?**") and is_question_line("**The app shows my ride.**")
    assert not is_question_line("Yes, under **Wi-Fi > Advanced**.")
    assert term("PDFs") == term("PDF") and term("formats") == term("format") and term("class") == "class"
    assert asks_kinds("Which file types can it read?") and not asks_kinds("Which port does the cable use?")
    assert is_background("Nasal polyposis is defined as a chronic disease of the sinuses.")
    share, how_long = "What share of riders wear helmets?", "How long does the crossing take?"
    assert number_strength("Of 63 riders, 27% wear helmets.", share) == 1.0
    assert number_strength("A questionnaire went to 63 riders on four teams.", share) == 0.5
    assert number_strength("It takes 94 minutes.", how_long) > number_strength("It ran 40 times.", how_long) > 0


def test_a_word_most_of_the_collection_has_does_not_choose_the_quote(samples):
    """"ragspace" is in 60% of the samples' chunks: it picks the one-line "ragspace is a RAG system"
    over the FAQ answer (cosine 0.72 vs 0.29 with it, 0.18 vs 0.83 for the FAQ heading without it)."""
    from rag.engine import Engine

    question = "where does ragspace keep its data?"
    assert samples.retriever.common_words(question, 0.5) == ["ragspace"]
    assert samples.retriever.common_words("Is my data private?", 0.5) == []
    answer = samples.ask(question)
    assert "RAG_HOME" in answer.text and not answer.abstained, answer.text
    keep_all = Engine(samples.settings.model_copy(update={"common_word_share": 1.0}), samples.retriever, samples._llm)
    assert "RAG_HOME" not in keep_all.ask(question).text


def test_the_rarest_word_always_stays(samples):
    """With every content word over the share, all but the rarest go: the question never empties."""
    lex = samples.retriever._open()[1]
    shares = lex.shares(["ragspace", "index", "chunks"])
    assert all(v > 0 for v in shares.values()), shares
    rarest = min(shares, key=shares.get)
    common = samples.retriever.common_words("ragspace index chunks", 0.0)
    assert sorted(common) == sorted(set(shares) - {rarest})


def test_the_refusal_names_the_users_own_words_even_the_common_ones(samples):
    answer = samples.ask("How much does ragspace cost?")
    assert answer.abstained and 'discuss ragspace, but they say nothing about "cost"' in answer.text, answer.text


def test_type_signals_ignore_the_questions_own_figures_and_count_the_asked_noun():
    from rag.answer.quote_signals import date_strength, superlative

    q = "How many casualties did the trauma group receive during the February 2007 bombings?"
    assert number_strength("Fourteen casualties were received.", q) == 1.0  # the counted noun, spelled out
    assert number_strength("We report the group's work during the bombings in February 2007.", q) == 0.0
    assert number_strength("Nineteen were sent on.", q) == 0.5  # a number, but not of the asked noun
    years = "Over which years were first presentations of melanoma reviewed?"
    assert date_strength("It looked at first presentations from 2003 to 2011.", years) == 1.0
    assert date_strength("The last 20 years have seen more campaigns.", years) == 0.75
    assert date_strength("Most were seen after the campaign.", years) == 0.5
    assert date_strength("Melanoma is a skin cancer.", years) == 0.0
    assert date_strength("Reviewed in 2007.", "What changed after the 2007 review?") < 1.0
    assert superlative("What topic did studies most often address?", "The most common topic was sports science.")
    assert not superlative("What topic did studies address?", "The most common topic was sports science.")
    assert term("sub-group") == term("subgroup") and term("conceptualize") == term("conceptualized")
    assert term("average") == term("averaged") and term("free") == "free"
    assert is_aim("First, to establish whether a gradient exists.") and is_aim("The intent of this study was to ...")


def test_the_sentence_with_the_counted_noun_beats_the_one_restating_the_question(embedder):
    text = (
        "We report the work of the Tresk harbour rescue team during the storm of February 2019. "
        "Nine boats were brought in. "
        "The team had trained for such storms since 2015."
    )
    question = "How many boats did the Tresk harbour rescue team bring in during the February 2019 storm?"
    ex = _quote(embedder, question, text)
    assert "Nine boats" in ex.text, ex.text
    assert "We report" not in ex.text
