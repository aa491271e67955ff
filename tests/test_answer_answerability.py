"""Answer or refuse (rag/answer/answerability.py): the evidence that a key term the sources lack by spelling
is said in other words, and the type checks that keep identifiers and years from answering.

Real parts: the bundled embedding model (session fixture), the samples engine `make run` builds.
"""

from __future__ import annotations

from rag.answer.answerability import CLOSER, CLOSER_SURE, WORD_NEAR, WordVectors, closer_without, unmatched
from rag.answer.answered import has_type
from rag.types import Source


def _source(text: str) -> Source:
    return Source(n=1, id="c1", path="a.md", page=None, text=text, score=0.5)


def test_a_term_said_in_other_words_moves_the_question_away_from_the_quote(embedder):
    """Measured: "wildcards" against a quote on glob patterns -0.27; "alexa" against one on the
    router's browser set-up +0.15. Both far from the edges (CLOSER -0.02, CLOSER_SURE 0.05)."""
    glob = "Use --include and --exclude with glob patterns, for example --exclude drafts/* or --include *.md. [1]"
    [said] = closer_without("can I use wildcards to pick files", glob, ["wildcards"], embedder.embed)
    browser = "If you set up the router in a browser instead, no account is needed. [2]"
    [lacking] = closer_without("can I control the router with alexa", browser, ["alexa"], embedder.embed)
    assert said < CLOSER - 0.1, said
    assert lacking > CLOSER_SURE + 0.04, lacking


def test_closer_without_needs_no_model_call_for_no_terms():
    def embed(texts):
        raise AssertionError("no terms: nothing to embed")

    assert closer_without("Does it work offline?", "works with no network at all", [], embed) == []


def test_a_term_with_a_digit_is_found_only_by_its_spelling(embedder):
    """Error "VS-30" is near "VS-22" as words (another error code); it stays unmatched. "price" ~
    "cost" still matches by meaning."""
    words = WordVectors(embedder.embed)
    source = _source("Error VS-22 means the destination is read-only; the cost is nothing.")
    near = words.nearest(["vs-30"], ["vs-22"])
    assert near[0] >= WORD_NEAR, near  # what the rule has to overrule
    assert unmatched(["VS-30", "price"], [source], words) == ["VS-30"]


def test_identifiers_are_not_names_and_years_are_not_amounts():
    who = "Who wrote the vaultsync tool?"
    assert not has_type("To restore, run `vaultsync pull DEST SOURCE`.", "person", who)
    assert has_type("The tool was written by Margaret Ellison.", "person", who)
    paid = "How much were the lighthouse keepers paid?"
    assert not has_type("Since 1989 the light has been fully automatic.", "number", paid)
    assert has_type("In 1871 a keeper was paid 40 pounds a year.", "number", paid)
    # a year still answers how old something is
    assert has_type("It was first lit in 1871.", "number", "How old is the lighthouse?")


def test_everyday_wording_the_quote_answers_in_other_words_is_answered(samples_engine):
    """'offline' is in no sample; the FAQ says ragspace "works with no network at all"."""
    answer = samples_engine.ask("Does it work offline?")
    assert not answer.abstained and "no network" in answer.text, answer.text


def test_a_question_about_what_the_quote_lacks_is_still_refused(samples_engine):
    answer = samples_engine.ask("what license is ragspace released under")
    assert answer.abstained, answer.text
