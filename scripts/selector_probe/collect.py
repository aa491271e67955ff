"""Record the heuristic's ranked candidate sentences per question (for offline selector variants)."""
import json, sys
from pathlib import Path
from eval.answers import docs_collection
from eval.qa import load_qa
from rag.app import build_engine
from rag.settings import Settings

def collect(docs, qa_path, out):
    settings = Settings(collection=docs_collection(Path(docs)), answer_mode="extract", llm="embedded")
    engine = build_engine(settings)
    rows = []
    for item in load_qa(Path(qa_path)):
        sources = engine.retriever.search(item.question, threshold=-1.0)
        relevant = [s for s in sources if s.score >= settings.relevance_threshold]
        if not relevant:
            rows.append({"id": item.id, "question": item.question, "abstained_retrieval": True, "answerable": item.answerable})
            continue
        seen = {}
        def rec(q, texts):
            seen["texts"] = texts[:8]
            return None
        ex = engine.extract(item.question, relevant) if False else None
        from rag.extract import extract_answer
        qvec = engine.embedder.embed_query(item.question)
        ex = extract_answer(item.question, qvec, relevant, engine.sentences, settings.extract_words, rec)
        rows.append({"id": item.id, "question": item.question, "texts": seen.get("texts", []), "answerable": item.answerable,
                     "key": (item.extra or {}).get("key"), "reference": item.reference_answer, "answered": ex.answered, "extract": ex.text})
    Path(out).write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    print(out, len(rows))

collect(*sys.argv[1:4])
