"""Domain errors -> HTTP status and OpenAI's error `type`/`code`, in one table for every route."""

from __future__ import annotations

from rag.errors import (
    CollectionNotFound,
    ConfigError,
    EmptyCollection,
    FingerprintMismatch,
    ModelError,
    QuestionError,
    StoreError,
)
from rag.llm import LLMError

# Checked in order: the first class the error is an instance of decides. Subclasses come first.
STATUS: list[tuple[type[Exception], int, str, str]] = [
    (CollectionNotFound, 404, "invalid_request_error", "model_not_found"),
    (EmptyCollection, 404, "invalid_request_error", "collection_empty"),
    (QuestionError, 400, "invalid_request_error", "invalid_request"),
    (ConfigError, 400, "invalid_request_error", "invalid_request"),
    (LLMError, 503, "service_unavailable", "llm_unavailable"),
    (FingerprintMismatch, 409, "invalid_request_error", "collection_mismatch"),
    (StoreError, 503, "service_unavailable", "store_unavailable"),
    (ModelError, 500, "server_error", "embedding_model_error"),
]


def error_status(exc: Exception) -> tuple[int, str, str]:
    """(HTTP status, OpenAI error type, code) for an exception."""
    from rag.index.passages import PassageNotFound

    from api.service import UnsupportedOption

    if isinstance(exc, PassageNotFound):
        return 404, "invalid_request_error", "passage_not_found"
    if isinstance(exc, UnsupportedOption):
        return 400, "invalid_request_error", "unsupported_option"
    for cls, status, kind, code in STATUS:
        if isinstance(exc, cls):
            return status, kind, code
    return 500, "server_error", "internal_error"
