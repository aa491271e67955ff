"""Prompt texts, kept in one place so they can be read and tuned together."""

from __future__ import annotations

from rag.types import Source

SYSTEM = (
    "You answer questions using only the numbered sources you are given. "
    "After each sentence, cite the source it comes from, like [1] or [2]. "
    "If the sources do not contain the answer, say: I don't know, the documents do not say. "
    "Do not use outside knowledge and do not invent facts."
)

CONDENSE = (
    "Rewrite the last user question as one standalone search question, using the conversation "
    "to fill in what words like 'it', 'they' or 'that' refer to. Reply with the question only."
)


def source_label(source: Source) -> str:
    name = source.path.rsplit("/", 1)[-1]
    return f"{name}, page {source.page}" if source.page else name


def format_source(source: Source, text: str | None = None) -> str:
    return f"[{source.n}] ({source_label(source)})\n{text if text is not None else source.text}"


def user_message(question: str, blocks: list[str]) -> str:
    return "Sources:\n\n" + "\n\n".join(blocks) + f"\n\nQuestion: {question}"


def condense_messages(history: list[dict], question: str) -> list[dict]:
    convo = "\n".join(f"{m['role']}: {m['content'][:500]}" for m in history[-6:])
    return [
        {"role": "system", "content": CONDENSE},
        {"role": "user", "content": f"Conversation:\n{convo}\n\nLast user question: {question}"},
    ]
