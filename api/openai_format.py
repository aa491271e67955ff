"""OpenAI's request and response shapes, plus ragspace's extra fields (sources, checks, abstention).

Requests are pydantic models that ignore fields we do not use (clients send many: `stream_options`,
`max_tokens`, `user`...). Responses are plain dicts built here, so every edge formats them once.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag.errors import QuestionError
from rag.types import Answer, Source

OWNER = "ragspace"


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    content: str | list[dict[str, Any]] | None = None

    @field_validator("content")
    @classmethod
    def _text_parts_hold_text(cls, v):
        # a part {"type": "text", "text": 5} (or a list, an object) was once turned into "5" by str()
        for part in v if isinstance(v, list) else []:
            if part.get("type") == "text" and not isinstance(part.get("text"), str):
                raise ValueError("a content part of type 'text' needs `text` as a string")
        return v

    def text(self) -> str:
        """The message's text; a list of parts (OpenAI's multi-part content) keeps its text parts."""
        if isinstance(self.content, list):
            return "\n".join(p["text"] for p in self.content if p.get("type") == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False  # OpenAI's: a last chunk, `choices` empty, carries `usage`


class ChatRequest(BaseModel):
    """POST /v1/chat/completions; the extra fields arrive through the openai client's `extra_body`."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None  # a collection name; None = the server's collection
    messages: list[Message]
    stream: bool = False
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_k: int | None = Field(default=None, ge=1, le=100)
    hybrid: bool | None = None
    path_glob: str | None = None
    threshold: float | None = Field(default=None, ge=-1.0, le=1.0)
    mode: Literal["auto", "extract", "generate", "both"] | None = None  # None = the settings' `answer_mode`
    footnotes: bool | None = None  # end `content` with a "Sources" list; None = the settings' `api_footnotes`
    stream_options: StreamOptions | None = None

    def question_and_history(self) -> tuple[str, list[dict]]:
        """The last user message and the conversation before it (system and tool turns left out:
        the engine writes its own instructions).

        Raises:
            QuestionError: no messages, or the last one is not a user message with text.
        """
        if not self.messages:
            raise QuestionError("`messages` is empty - send at least one user message with the question.")
        last = self.messages[-1]
        if last.role != "user" or not last.text().strip():
            raise QuestionError(
                f"The last message must be the user's question with text (got role {last.role!r}"
                f"{' and no text' if not last.text().strip() else ''})."
            )
        history = [
            {"role": m.role, "content": m.text()} for m in self.messages[:-1] if m.role in ("user", "assistant")
        ]
        return last.text().strip(), history

    def engine_options(self) -> dict[str, Any]:
        return {
            "top_k": self.top_k,
            "hybrid": self.hybrid,
            "path_glob": self.path_glob,
            "threshold": self.threshold,
            "temperature": self.temperature,
            "mode": self.mode,
        }


class EmbeddingsRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str | None = None  # a collection (embedded with its model) or the embedding model's name
    input: str | list[str]
    encoding_format: Literal["float", "base64"] = "float"

    def texts(self) -> list[str]:
        texts = [self.input] if isinstance(self.input, str) else list(self.input)
        if not texts or any(not t for t in texts):
            raise QuestionError("`input` must be a non-empty string or a list of non-empty strings.")
        return texts


class RetrieveRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    query: str
    collection: str | None = None
    top_k: int | None = Field(default=None, ge=1, le=100)
    hybrid: bool | None = None
    path_glob: str | None = None
    threshold: float | None = Field(default=None, ge=-1.0, le=1.0)


# -- responses -------------------------------------------------------------------------------


def source_dict(s: Source) -> dict[str, Any]:
    return {
        "n": s.n,
        "chunk_id": s.id,
        "path": s.path,
        "page": s.page,
        "score": round(s.score, 4),
        # set when hybrid search ranked it (reciprocal rank fusion of keyword and dense ranks)
        "fused_score": None if s.fused_score is None else round(s.fused_score, 6),
        "text": s.text,
        "start": s.start_char,
        "end": s.end_char,
    }


def answer_fields(answer: Answer) -> dict[str, Any]:
    """ragspace's top-level additions to a chat completion."""
    return {
        "answer": answer.text,  # the checked answer: `content` without the Sources list
        "mode": answer.mode,  # extract (quoted), generate, both; None for an abstention
        "note": answer.note,
        "sources": [source_dict(s) for s in answer.sources],
        "also_near": [s.near_dict() for s in answer.also_near],
        "abstained": answer.abstained,
        "unsupported": [asdict(u) for u in answer.unsupported],
        "invalid_citations": answer.invalid_citations,
        "citations_added": answer.citations_added,
        "rewritten_query": answer.rewritten_query,
        "searched_query": answer.searched_query,  # what retrieval saw (the question, or its rewrite)
        "backend": answer.backend,
        "llm_model": answer.model,
    }


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def usage(answer: Answer) -> dict[str, int]:
    """OpenAI's `usage`: the tokens the LLM read and wrote (0 and 0 when no model ran: a quote, an abstention)."""
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    }


def chat_completion(model: str, answer: Answer, footnotes: str = "") -> dict[str, Any]:
    """The whole completion; `content` is the checked answer followed by `footnotes` (rag.answer.footnotes)."""
    message = {"role": "assistant", "content": answer.text + footnotes}
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": usage(answer),
        **answer_fields(answer),
    }


def chunk(cid: str, model: str, delta: dict | None = None, finish: str | None = None, **extra) -> dict[str, Any]:
    """One `chat.completion.chunk`; `delta=None` gives an empty choices list (an event-only chunk)."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        **extra,
    }


def webui_source_event(s: Source) -> dict[str, Any]:
    """Open WebUI's source (citation) event for one source: it shows these under the answer."""
    name = f"[{s.n}] {s.path.rsplit('/', 1)[-1]}" + (f" p.{s.page}" if s.page else "")
    return {
        "type": "source",
        "data": {
            "source": {"name": name, "id": s.id},
            "document": [s.text],
            "metadata": [{"source": s.path, "name": name, "page": s.page, "start": s.start_char, "end": s.end_char}],
            "similarities": [round(s.score, 4)],  # cosine to the question: higher is closer
            # Open WebUI reads `distances` (Citations.svelte) and shows it as the relevance, a
            # percentage when every value is in [-1, 1]; its own Chroma search stores similarities
            # there too ((2 - distance) / 2), so the same number keeps its display working.
            "distances": [round(s.score, 4)],
        },
    }


def models_list(names: list[str]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": n, "object": "model", "created": 0, "owned_by": OWNER} for n in names],
    }


def error_body(message: str, kind: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
