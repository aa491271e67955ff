"""Follow-up questions: only a question that depends on the conversation is rewritten (rag/retrieval/condense.py).

The rules are tested alone (no models), then through the real engine over the real samples
collection: a standalone question after unrelated history retrieves exactly what it retrieves
alone, and a true follow-up is searched with the earlier subject and finds the file that answers.
The questions live in tests/condense_questions.py (written before the rules were tuned).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.engine import Engine
from rag.llm import resolve_llm
from rag.retrieval.condense import depends_on_history, follow_up_kind, heuristic_condense, subject
from rag.settings import Settings
from tests.condense_questions import FOLLOW_UPS, FOLLOW_UPS_HELD_OUT, STANDALONE, STANDALONE_HELD_OUT
from tests.ollama_standin import OllamaStandin, StandinConfig
from ui import handlers, render


def turn(question: str, answer: str = "It is explained in the guide [1].") -> list[dict]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


# -- the decision, no models ------------------------------------------------------------------


@pytest.mark.parametrize(("earlier", "question"), STANDALONE)
def test_a_standalone_question_is_kept_as_written(earlier, question):
    assert follow_up_kind(question) is None
    assert heuristic_condense(turn(earlier), question) == question


@pytest.mark.parametrize(("earlier", "question", "word", "_path"), FOLLOW_UPS)
def test_a_follow_up_is_searched_with_the_earlier_subject(earlier, question, word, _path):
    assert depends_on_history(question)
    rewritten = heuristic_condense(turn(earlier), question)
    assert word.lower() in rewritten.lower() and rewritten != question
    # the new question's own words come first: they are what is asked now
    own = next(w for w in question.lower().strip("?").split() if w not in ("and", "what", "about"))
    assert rewritten.lower().index(own) < rewritten.lower().index(word.lower())


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("does it support that?", "pronoun"),
        ("How long does that take?", "pronoun"),
        ("How do I fix it?", "pronoun"),
        ("Are they encrypted?", "pronoun"),
        ("What is its size?", "pronoun"),
        ("and for images?", "ellipsis"),
        ("What about PDFs?", "ellipsis"),
        ("On Windows?", "ellipsis"),
        ("PDFs too?", "ellipsis"),
        ("why?", "fragment"),
        ("How?", "fragment"),
        ("Which one?", "pronoun"),
        ("Which is faster?", "fragment"),
        ("Is it fast?", "fragment"),
        ("I indexed a folder of notes, how do I remove it?", None),  # "it" has its referent here
        ("What happens to files that I delete?", None),  # a relative "that" points at "files"
        ("Is there a limit on file size?", None),  # an existential "there"
        ("What is RAG?", None),
        ("What if ingestion is interrupted?", None),
        ("Supported formats?", None),  # a keyword query names its own topic
        ("By what method are answers checked?", None),  # a whole question that starts with a preposition
    ],
)
def test_kinds_of_dependence(question, kind):
    assert follow_up_kind(question) == kind


def test_a_pronoun_is_replaced_by_the_subject_and_a_named_thing_wins():
    history = turn("What does error code ZX-4471 mean?", "The destination disk is full [1].")
    assert subject("What does error code ZX-4471 mean?") == "error code ZX-4471"
    assert heuristic_condense(history, "How do I fix it?") == "How do I fix error code ZX-4471?"
    assert subject("How do I add a folder?") == "folder"  # "add" is the verb after "I"
    assert heuristic_condense(turn("How do I add a folder?"), "and how do I remove one?") == "How do I remove folder?"


def test_an_ellipsis_keeps_its_words_first_and_adds_the_earlier_ones():
    rewritten = heuristic_condense(turn("What is the maximum chunk size?"), "and the overlap?")
    assert rewritten == "The overlap? (maximum chunk size)"
    # a prepositional phrase narrows the whole earlier question
    assert heuristic_condense(turn("Where is my data stored?"), "and on Linux?") == "On Linux, where is my data stored?"


def test_a_chain_of_follow_ups_keeps_the_first_subject():
    history = turn("How do I add a folder?") + turn("and how do I remove one?")
    assert "folder" in heuristic_condense(history, "why?")


def test_no_history_or_no_earlier_question_changes_nothing():
    assert heuristic_condense([], "How do I fix it?") == "How do I fix it?"
    assert heuristic_condense([{"role": "assistant", "content": "Hello."}], "why?") == "why?"


def test_the_llm_rewrites_only_questions_that_depend_on_the_history(tmp_path):
    """The LLM path (a non-bundled model) is asked to condense a follow-up, never a standalone question."""
    with OllamaStandin(StandinConfig(replies=["How do I start Ollama?"])) as server:
        s = Settings(home=tmp_path / "home", llm="ollama:llama3.2", ollama_host=server.host, condense="auto")
        engine = Engine(s, retriever=None, llm=lambda: resolve_llm(s))
        history = turn("Can I use Ollama?")
        assert engine.standalone_query("Is my data private?", history) == ("Is my data private?", None)
        assert not [r for r in server.config.requests if r.path == "/api/chat"]
        assert engine.standalone_query("how do I start it?", history) == ("How do I start Ollama?",) * 2
        assert len([r for r in server.config.requests if r.path == "/api/chat"]) == 1


# -- through the engine, over the samples ---------------------------------------------------------


@pytest.fixture(scope="module")
def engine(samples_engine):
    return samples_engine


def same_sources(engine, earlier: str, question: str) -> bool:
    alone = engine.ask(question)
    after = engine.ask(question, turn(earlier, engine.ask(earlier).text))
    assert after.searched_query == question == alone.searched_query
    return [s.id for s in after.sources] == [s.id for s in alone.sources]


def resolves(engine, earlier: str, question: str, word: str, path: str) -> bool:
    answer = engine.ask(question, turn(earlier, engine.ask(earlier).text))
    searched = answer.searched_query or ""
    # the file retrieval ranked first: sources are listed by cosine (rag.answer.sources), hybrid ranks by fusion
    first = max(answer.sources, key=lambda s: s.score if s.fused_score is None else s.fused_score)
    return answer.rewritten_query == searched and word.lower() in searched.lower() and Path(first.path).name == path


@pytest.mark.parametrize(("earlier", "question"), STANDALONE)
def test_standalone_after_unrelated_history_retrieves_the_same_sources(engine, earlier, question):
    assert same_sources(engine, earlier, question)


RETRIEVAL_MISSES = {  # the query is right, retrieval is not (yet): strict, so a fix shows up here
    "how many dimensions does it have?": "'embedding model' finds the FAQ's packaging sentence; the architecture "
    "page says '384-dimensional', which 'dimensions' does not match (the follow-up alone finds it)",
}


@pytest.mark.parametrize(
    ("earlier", "question", "word", "path"),
    [
        pytest.param(*case, marks=pytest.mark.xfail(strict=True, reason=RETRIEVAL_MISSES[case[1]]))
        if case[1] in RETRIEVAL_MISSES
        else case
        for case in FOLLOW_UPS
    ],
)
def test_follow_up_finds_the_file_that_answers(engine, earlier, question, word, path):
    assert resolves(engine, earlier, question, word, path)


def test_the_sources_panel_and_the_json_say_what_was_searched(engine):
    session = handlers.Session.new(engine.settings)
    for question in ("Can I use Ollama?", "how do I start it?", "Is my data private?"):
        history = [m for t in session.turns for m in turn(t.question, t.text)]
        answer = engine.ask(question, history)
        session.turns.append(handlers.Turn(question, text=answer.text, answer=answer))
    _, follow_up, standalone = (t.answer for t in session.turns)
    assert follow_up.to_dict()["searched_query"] == "How do I start Ollama?" == follow_up.rewritten_query
    assert standalone.to_dict()["searched_query"] == "Is my data private?" and standalone.rewritten_query is None
    html = render.sources_html(session)
    assert html.count("Searched for:") == 1 and "Searched for: <i>How do I start Ollama?</i>" in html


def test_held_out_questions(engine, capsys):
    """The held-out lists, not run while tuning: reported, and asserted with room.

    Measured when first run: 10 of 10 standalone unchanged; 10 of 10 follow-ups searched with the
    earlier subject, 7 of 10 with the expected file first ("and if a file fails?" keeps the earlier
    "ingestion interrupted" and finds the FAQ on that; "how?" and "and stop watching it?" find
    the other page that also names the subject).
    """
    kept = [q for e, q in STANDALONE_HELD_OUT if same_sources(engine, e, q)]
    found = [q for e, q, w, p in FOLLOW_UPS_HELD_OUT if resolves(engine, e, q, w, p)]
    with capsys.disabled():
        print(f"\nheld out: {len(kept)}/10 standalone unchanged, {len(found)}/10 follow-ups resolved")
    assert len(kept) >= 8 and len(found) >= 5
