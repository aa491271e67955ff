"""A long sentence is quoted as its clause that holds the asked-for answer (rag/answer/quote_clause.py), and
only where the cut leaves a clause a reader can take in; the citation check still supports it."""

from __future__ import annotations

import pytest

from rag.answer.extract import SentenceVectors, _type_strength, extract_answer
from rag.answer.quote_clause import answering_clause
from rag.types import Source

RESULTS = (
    "The mean tumor size was 8.3 cm (range 7-13 cm), the mean operative time was 137 min, the mean blood loss "
    "was 182 mL (range 100-550 mL), the rate of intraoperative complications was 16%, and in three cases we "
    "switched from laparoscopic procedure to open surgery."
)


def _clause(text: str, question: str, qtype: str) -> str | None:
    span = answering_clause(text, question, lambda t: _type_strength(t, qtype, question))
    return None if span is None else text[span[0] : span[1]]


def test_the_clause_with_the_asked_figure_is_kept_and_the_other_figures_go():
    piece = _clause(RESULTS, "What was the rate of intraoperative complications in tumor surgery?", "number")
    assert piece is not None and "16%" in piece and "182 mL" not in piece, piece
    assert len(piece.split()) < len(RESULTS.split()) / 2
    assert piece.startswith("the rate of") and not piece.endswith(","), piece  # starts where a clause starts


@pytest.mark.parametrize(
    "text,question",
    [
        # a list is not cut: "96.5% of ThinPrep" is an item, not a clause
        (
            'Concordance to the category "positive" was seen in 92% of classic preparations, 96.5% of ThinPrep, '
            "and 94.6% of SurePath challenges in the whole of the program (P<.001).",
            "What share of ThinPrep preparations reached concordance to the positive category?",
        ),
        # nor adjectives: "large, busy, urban fire-based agency"
        (
            "We enrolled 50 providers from a large, busy, urban fire-based EMS agency with 14.96 (SD = 9.92) "
            "mean years of experience in the field.",
            "How many years of experience did the EMS providers have?",
        ),
        # and a sentence of 20 words or fewer stays whole
        (
            "Within this family, 19.7% of those older than 17 years were affected, against 2.1% nationally.",
            "What share of the family had the disease?",
        ),
    ],
)
def test_no_cut_inside_a_list_or_a_short_sentence(text, question):
    piece = _clause(text, question, "number")
    assert piece is None or piece.split()[0].lower() in {"concordance", "we", "within"}, piece


def test_the_cut_quote_is_still_supported_by_the_citation_check(embedder):
    from rag.verify.check import check_answer

    src = Source(n=1, id="a", path="study.md", page=None, text="Laparoscopic adrenalectomy. " + RESULTS, score=0.6)
    question = "What was the rate of intraoperative complications?"
    ex = extract_answer(question, embedder.embed_query(question), [src], SentenceVectors(embedder.embed))
    assert "16%" in ex.text and "182 mL" not in ex.text, ex.text
    (sp,) = ex.spans
    assert src.text[sp.start : sp.end] in ex.text  # exact offsets into the source
    result = check_answer(ex.text, [src], embedder)
    assert not result.unsupported, result.per_sentence
