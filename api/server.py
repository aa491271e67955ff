"""`rag serve`: the OpenAI-compatible routes and the MCP endpoint in one FastAPI app; `rag mcp` over stdio.

Routes: GET /health, GET /v1/models[/{id}], POST /v1/chat/completions, POST /v1/embeddings,
POST /v1/retrieve, and MCP's streamable HTTP at /mcp. Route functions are plain `def`: FastAPI
runs them in worker threads, so a slow answer never blocks the others.
"""

from __future__ import annotations

import base64
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

from api.auth import BearerAuth, check_api_bind
from api.errors import error_status
from api.limits import BodyLimit, check_count, check_text
from api.openai_format import ChatRequest, EmbeddingsRequest, RetrieveRequest, error_body, models_list, source_dict
from api.service import RagService
from rag.errors import ConfigError
from rag.settings import Settings


def build_app(
    service: RagService, host: str = "127.0.0.1", api_key: str | None = None, allowed_hosts: list[str] | None = None
):
    """The FastAPI app over `service`; with `api_key`, every route but /health needs it.

    Every route answers only the Host names of `rag.serving.hosts.allowed_hosts(host, allowed_hosts)` (421 otherwise).
    """
    from fastapi import FastAPI

    from api.mcp_tools import build_mcp
    from rag.serving.hosts import HostGuard
    from rag.serving.hosts import allowed_hosts as hosts_for

    extra = list(allowed_hosts or [])
    mcp = build_mcp(service)
    # stateless: each MCP request stands alone, like our HTTP routes (no session to lose on restart)
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, **_mcp_security(host, extra))

    @asynccontextmanager
    async def lifespan(app):
        async with mcp.session_manager.run():  # MCP's task group lives as long as the server
            yield

    app = FastAPI(title="ragspace", lifespan=lifespan, docs_url="/docs", redoc_url=None)
    _add_error_handlers(app)
    _add_routes(app, service)
    app.router.routes.extend(mcp_app.routes)  # POST/GET/DELETE /mcp, beside our routes
    if api_key:
        app.add_middleware(BearerAuth, api_key=api_key)
    app.add_middleware(BodyLimit, max_bytes=int(service.settings.api_max_body_mb * 2**20))
    app.add_middleware(HostGuard, allowed=hosts_for(host, extra))  # added last: outermost, before the key check
    return app


def _mcp_security(host: str, extra: list[str]) -> dict:
    """MCP's own DNS-rebinding guard, given the same hosts as `HostGuard` (which runs first); it also
    checks Origin. Off loopback with no list, the API key guards and hosts are unknown."""
    from mcp.server.transport_security import TransportSecuritySettings

    from rag.serving.hosts import mcp_host_patterns

    patterns = mcp_host_patterns(host, extra)
    if patterns:
        return {"transport_security": TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=patterns,
            allowed_origins=[f"{scheme}://{p}" for p in patterns for scheme in ("http", "https")],
        )}
    return {"transport_security": TransportSecuritySettings(enable_dns_rebinding_protection=False)}


def _add_error_handlers(app) -> None:
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    from rag.errors import RagError

    @app.exception_handler(RagError)
    def rag_error(request, exc: RagError):
        status, kind, code = error_status(exc)
        return JSONResponse(error_body(str(exc), kind, code), status_code=status)

    @app.exception_handler(RequestValidationError)
    def bad_request(request, exc: RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}" for e in exc.errors()
        )
        return JSONResponse(
            error_body(f"Malformed request ({problems}).", "invalid_request_error", "invalid_request"), 400
        )

    @app.exception_handler(HTTPException)
    def http_error(request, exc: HTTPException):
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return JSONResponse(error_body(str(exc.detail), kind, None), exc.status_code)


def _add_routes(app, service: RagService) -> None:
    from fastapi.responses import JSONResponse
    from sse_starlette import EventSourceResponse

    from api import chat

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/v1/models")
    def list_models():
        return JSONResponse(models_list([c.name for c in service.collections()]))

    @app.get("/v1/models/{model}")
    def get_model(model: str):
        return JSONResponse(models_list([service.collection_name(model)])["data"][0])

    @app.post("/v1/chat/completions")
    def chat_completions(req: ChatRequest):
        if not req.stream:
            return JSONResponse(chat.answer_once(service, req))
        frames = chat.start_stream(service, req)
        # sse-starlette adds keep-alive comments (every 15 s) while a slow model thinks, and the SSE headers
        return EventSourceResponse(chat.in_thread(frames), headers={"Cache-Control": "no-cache"}, sep=chat.SEP)

    @app.post("/v1/embeddings")
    def embeddings(req: EmbeddingsRequest):
        model = service.embedding_model_for(req.model)
        texts = req.texts()
        limits = service.settings
        check_count("inputs", len(texts), limits.api_max_embedding_inputs, "api_max_embedding_inputs")
        for text in texts:
            check_text("input", text, limits)
        vectors = service.embedder.embed(texts)
        data = [
            {"object": "embedding", "index": i, "embedding": _encode(v, req.encoding_format)}
            for i, v in enumerate(vectors)
        ]
        tokens = sum(service.embedder.count_tokens(texts))
        return JSONResponse(
            {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        )

    @app.post("/v1/retrieve")
    def retrieve(req: RetrieveRequest):
        started = time.perf_counter()
        found = service.search(
            req.query,
            req.collection,
            top_k=req.top_k,
            hybrid=req.hybrid,
            path_glob=req.path_glob,
            threshold=req.threshold,
        )
        return JSONResponse(
            {
                "object": "list",
                "collection": service.collection_name(req.collection),
                "query": req.query,
                "sources": [source_dict(s) for s in found],
                "relevance_threshold": service.settings.relevance_threshold,
                "timings": {"retrieve_s": round(time.perf_counter() - started, 6)},
            }
        )


def _encode(vector, encoding: str):
    import numpy as np

    if encoding == "base64":  # what the openai client asks for by default: little-endian float32
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]


# -- commands --------------------------------------------------------------------------------


def _service(settings: Settings) -> RagService:
    from rag.app import build_embedder, build_store

    return RagService(settings, build_embedder(settings), build_store(settings))


def serve_command(
    host: str | None = None,
    port: int | None = None,
    collection: str | None = None,
    llm: str | None = None,
    chroma_url: str | None = None,
    allowed_hosts: list[str] | None = None,
) -> None:
    """Serve the HTTP API (what `rag serve` runs). None means "not given": settings decide.

    Raises:
        ConfigError: bad settings, or a non-loopback host without an API key (checked before loading).
    """
    import uvicorn

    from rag.settings import load_settings

    settings = load_settings(
        api_host=host, api_port=port, collection=collection, llm=llm, chroma_url=chroma_url,
        allowed_hosts=allowed_hosts or None,
    )  # fmt: skip
    check_api_bind(settings.api_host, settings.api_key)
    service = _service(settings)
    service.open()
    app = build_app(service, settings.api_host, settings.api_key, settings.allowed_hosts)
    shown = f"[{settings.api_host}]" if ":" in settings.api_host else settings.api_host
    print(
        f"ragspace API on http://{shown}:{settings.api_port}/v1 (collection {settings.collection!r}; "
        f"MCP at /mcp{'; API key required' if settings.api_key else ''}); Ctrl-C to stop.",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_level="warning")


def mcp_command(
    collection: str | None = None, llm: str | None = None, chroma_url: str | None = None, home: Path | None = None
) -> None:
    """Serve the MCP tools over stdin/stdout (what `rag mcp` runs); `home` overrides RAG_HOME.

    Raises:
        ConfigError: `home` exists and is not a folder (an MCP client would only see the server exit).
    """
    from api.mcp_tools import build_mcp
    from rag.settings import load_settings

    if home is not None and home.exists() and not home.is_dir():
        raise ConfigError(f"--home {home} is not a folder - pass the data folder that holds `chroma/`.")
    settings = load_settings(collection=collection, llm=llm, chroma_url=chroma_url, home=home)
    # stdout carries the protocol: the SDK's stdio transport points fd 1 at stderr while it serves,
    # so stray output (a library's print, llama.cpp's logging) cannot corrupt it
    import anyio

    from api.mcp_stdio import serve_stdio

    service = _service(settings)
    service.open()
    anyio.run(serve_stdio, build_mcp(service))  # the SDK's stdio, answering malformed lines (see the module)
