"""Every question of the sample FAQ, asked through the default path `make run` builds, gets its key fact.

Real parts throughout: the samples collection as ui.launch.ensure_samples indexes it, the bundled
embedding model, default Settings (answer_mode auto, llm auto: no Ollama here, so the bundled model,
for which auto quotes the sources).
"""

from __future__ import annotations

import re

import pytest

from rag.app import build_engine, build_store
from rag.settings import Settings
from ui.launch import SAMPLES_COLLECTION, SAMPLES_DIR, ensure_samples

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
def engine(tmp_path_factory, embedder):
    settings = Settings(home=tmp_path_factory.mktemp("samples") / "home", collection=SAMPLES_COLLECTION)
    store = build_store(settings)
    ensure_samples(settings, embedder, store)
    return build_engine(settings, embedder=embedder, store=store)


def test_every_faq_question_has_a_key_fact():
    assert set(QUESTIONS) == set(KEYS)


@pytest.mark.parametrize("question", QUESTIONS)
def test_default_path_answers_the_faq(engine, question):
    answer = engine.ask(question)
    assert answer.mode == "extract" and not answer.abstained
    assert KEYS[question].lower() in answer.text.lower(), answer.text
    assert not answer.unsupported
