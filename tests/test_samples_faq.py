"""Every question of the sample FAQ, asked through the default path `make run` builds, gets its key fact.

Real parts throughout: the samples collection as ui.launch.ensure_samples indexes it, the bundled
embedding model, default Settings (answer_mode auto, llm auto: no Ollama here, so the bundled model,
for which auto quotes the sources).
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import DATA
from ui.launch import SAMPLES_DIR

# FAQ question -> what a right answer must contain (the FAQ's own command or fact)
KEYS = {
    "How do I add my own folder of documents?": "rag ingest",
    "Does ragspace send my documents anywhere?": "runs on your machine",
    "Can I use a bigger language model?": "ollama",
    "Why did ragspace say the documents do not contain the answer?": "similar enough",
    "What does a flagged sentence mean?": "no source supports",
    "I changed the chunk size and ragspace refuses to open my collection. Why?": "--rebuild",
    "What happens if ingestion is interrupted?": "same command again",
    "Where is my data stored?": "RAG_HOME",
}
QUESTIONS = re.findall(r"^## (.+)$", (SAMPLES_DIR / "faq.md").read_text(), re.MULTILINE)


@pytest.fixture(scope="module")
def engine(samples_engine):
    return samples_engine


def test_every_faq_question_has_a_key_fact():
    assert set(QUESTIONS) == set(KEYS)


@pytest.mark.parametrize("question", QUESTIONS)
def test_default_path_answers_the_faq(engine, question):
    answer = engine.ask(question)
    assert answer.mode == "extract" and not answer.abstained
    assert KEYS[question].lower() in answer.text.lower(), answer.text
    assert not answer.unsupported


# Questions a new user types, in their own words (not the FAQ's headings), with what a right answer
# must contain. Written before tuning rag/answer/extract.py's "is it answered" rules on them, so the count
# below is what that tuning reached on this set (12 of 28 before it), not a held-out score.
PARAPHRASES = {
    "Which file types can ragspace read?": "pdf",
    "What formats are supported?": "pdf",
    "How do I use Ollama instead of the bundled model?": "ollama",
    "How can I index my notes?": "rag ingest",
    "How do I keep the index up to date while I edit files?": "--watch",
    "How do I remove a file from the index?": "rag remove",
    "How can I see what is indexed?": "rag status",
    "Is my data private?": "machine",
    "Does it need an internet connection?": "network",
    "What embedding model does ragspace use?": "minilm",
    "How many dimensions do the vectors have?": "384",
    "What is the maximum chunk size?": "254",
    "How big can a file be?": "50 mb",
    "How do I index a scanned PDF?": "ocr",
    "What is the default language model?": "smollm2",
    "Why use hybrid search?": "identifier",
    "How do I skip drafts?": "--exclude",
    "How do I start over from scratch?": "delete",
    "What exit code does ingest return when a file fails?": "1",
    "How do I keep separate projects apart?": "--collection",
    "What vector database does ragspace use?": "chroma",
    "Can I run a GGUF model?": "gguf",
    "What happens to files I delete?": "removed",
    "Where does ragspace keep its data on Linux?": "local/share",
    "How are answers checked?": "flagged",
    "Does ragspace keep page numbers for PDFs?": "page",
    "What does ragspace do when the documents do not answer my question?": "abstain",
    "How do I upload a zip file?": "documents tab",
}

# Everyday questions on the samples written blind by another session (tests/data/samples_questions,
# README there): the tune half only - the holdout half is measured once, by benchmarks/answerability.py.
TUNE = [json.loads(line) for line in (DATA / "samples_questions" / "tune.jsonl").read_text().splitlines() if line]
EVERYDAY = {**PARAPHRASES, **{q["question"]: q["key"].lower() for q in TUNE if q["answerable"]}}
UNANSWERABLE = [q["question"] for q in TUNE if not q["answerable"]]
# What the suite measured (fp32; OMP_NUM_THREADS 1 and 2 and bf16 forced gave the same): ANSWERED of len(EVERYDAY) not
# refused, RIGHT of them with the key fact, REFUSED of len(UNANSWERABLE) refused. Each assertion leaves
# ROOM questions of slack, so a question or two whose decision sits near its edge on another CPU kind
# (or a better quote from rag/answer/extract.py) cannot fail the suite.
ANSWERED, RIGHT, REFUSED, ROOM = 59, 44, 12, 4


def test_questions_in_a_users_own_words(engine):
    answers = {q: engine.ask(q) for q in EVERYDAY}
    refused = [q for q, a in answers.items() if a.abstained]
    wrong = [q for q, a in answers.items() if a.abstained or EVERYDAY[q] not in a.text.lower()]
    print(f"{len(EVERYDAY) - len(refused)} of {len(EVERYDAY)} answered, {len(EVERYDAY) - len(wrong)} right; "
          f"refused: {refused}; wrong: {[q for q in wrong if q not in refused]}")  # fmt: skip
    assert len(EVERYDAY) >= 40 + len(PARAPHRASES)
    assert len(EVERYDAY) - len(refused) >= ANSWERED - ROOM, refused
    assert len(EVERYDAY) - len(wrong) >= RIGHT - ROOM, wrong


def test_questions_the_samples_do_not_answer_are_refused(engine):
    answered = [q for q in UNANSWERABLE if not engine.ask(q).abstained]
    print(f"{len(UNANSWERABLE) - len(answered)} of {len(UNANSWERABLE)} refused; answered: {answered}")
    assert len(UNANSWERABLE) - len(answered) >= REFUSED - ROOM, answered


def test_a_low_scoring_passage_in_the_questions_own_words_still_answers(engine):
    """MiniLM scores "How do I upload a zip file?" 0.26 against the FAQ that answers it (threshold 0.3).

    Every word of the question is in that passage and the quote answers it, so it counts; without
    the band under the threshold (relevance_band 0) the same question abstains.
    """
    from rag.engine import Engine

    question = "How do I upload a zip file?"
    answer = engine.ask(question)
    assert not answer.abstained and "documents tab" in answer.text.lower(), answer.text
    assert max(s.score for s in answer.sources) < engine.settings.relevance_threshold
    no_band = Engine(engine.settings.model_copy(update={"relevance_band": 0.0}), engine.retriever, engine._llm)
    assert no_band.ask(question).abstained


def test_key_terms_match_the_documents_words_by_meaning(embedder):
    """A question word no source spells is there when a source word means it (MiniLM, words alone).

    Measured: "price" ~ "cost" 0.74, "directory" ~ "folder" 0.80, both clear of WORD_NEAR 0.65;
    "banana" is nowhere near any of them (< 0.4).
    """
    from rag.answer.answerability import WORD_NEAR, WordVectors, unmatched
    from rag.types import Source

    words = WordVectors(embedder.embed)
    source = Source(n=1, id="c1", path="a.md", page=None, text="What does it cost to keep a folder?", score=0.5)
    assert unmatched(["price", "directory", "banana"], [source], words) == ["banana"]
    near = words.nearest(["price", "directory", "banana"], ["cost", "folder"])
    assert near[0] >= WORD_NEAR + 0.05 and near[1] >= WORD_NEAR + 0.05 and near[2] < WORD_NEAR - 0.2, near


def test_an_off_topic_question_is_refused_at_once(engine):
    """Words from another field, and scores near what unrelated questions get here: no quote at all."""
    answer = engine.ask("Bariatric surgery reduces colorectal cancer.")
    assert answer.abstained and "similar enough" in answer.text, answer.text
