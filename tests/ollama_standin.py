"""A stand-in for a real Ollama server, used by the Ollama backend tests.

No Ollama server can be installed on the machines these tests run on, so this small HTTP
server (stdlib `http.server` on 127.0.0.1, a free port, in a thread) speaks the few endpoints
ragspace uses, with Ollama's JSON shapes and streaming format (chunked NDJSON):
`GET /api/version`, `GET /api/tags`, `POST /api/show`, `POST /api/chat`.

It does NOT run a model: /api/chat replies with scripted text, "Stand-in answer to: <last
user message>", split into word-sized pieces. It answers 404 `{"error": "model 'x' not
found"}` for models it was not given, can wait `delay_s` before answering a chat (to trigger
client timeouts), and records every request so tests can check what the client sent
(options.num_ctx, keep_alive, ...).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CREATED_AT = "2025-01-01T00:00:00.000000Z"


@dataclass
class Recorded:
    """One request the stand-in received."""

    method: str
    path: str
    body: dict[str, Any]


@dataclass
class StandinConfig:
    """What the stand-in serves: model name -> trained context length, and an answer delay."""

    models: dict[str, int] = field(default_factory=lambda: {"llama3.2:latest": 131072})
    delay_s: float = 0.0
    model_info: bool = True  # False: /api/show omits model_info, as older servers do
    replies: list[str] = field(default_factory=list)  # scripted chat replies, used in order before the echo
    requests: list[Recorded] = field(default_factory=list)

    def find(self, name: str) -> str | None:
        """The installed name `name` refers to (a bare name means ':latest', as in Ollama)."""
        for candidate in (name, f"{name}:latest"):
            if candidate in self.models:
                return candidate
        return None


def scripted_answer(messages: list[dict[str, Any]]) -> str:
    """The text /api/chat replies with: it echoes the last user message, no model involved."""
    last = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    return f"Stand-in answer to: {last}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked streaming and keep-alive, like Ollama
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        pass  # keep pytest output clean

    def do_GET(self) -> None:  # stdlib naming
        self._record({})
        if self.path == "/api/version":
            self._send_json(200, {"version": "0.0.0-standin"})
        elif self.path == "/api/tags":
            self._send_json(200, {"models": [_tag(name) for name in self.server.config.models]})
        else:
            self._send_json(404, {"error": "404 page not found"})

    def do_POST(self) -> None:  # stdlib naming
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self._record(body)
        config = self.server.config
        name = config.find(str(body.get("model", "")))
        if self.path not in ("/api/show", "/api/chat"):
            self._send_json(404, {"error": "404 page not found"})
        elif name is None:
            self._send_json(404, {"error": f"model '{body.get('model')}' not found"})
        elif self.path == "/api/show":
            self._send_json(200, _show(name, config.models[name], config.model_info))
        else:
            time.sleep(config.delay_s)  # a slow model load / prompt evaluation
            self._chat(name, body)

    def _chat(self, name: str, body: dict[str, Any]) -> None:
        config: StandinConfig = self.server.config  # type: ignore[attr-defined]
        answer = config.replies.pop(0) if config.replies else scripted_answer(body.get("messages") or [])
        if body.get("stream", True) is False:
            self._send_json(200, _chat_part(name, answer, done=True))
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        words = answer.split(" ")
        pieces = [w if i == 0 else f" {w}" for i, w in enumerate(words)]
        for piece in pieces:
            self._send_chunk(_chat_part(name, piece, done=False))
        self._send_chunk(_chat_part(name, "", done=True))
        self.wfile.write(b"0\r\n\r\n")

    def _send_chunk(self, obj: dict[str, Any]) -> None:
        data = json.dumps(obj).encode() + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_json(self, status: int, obj: dict[str, Any]) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, body: dict[str, Any]) -> None:
        self.server.config.requests.append(Recorded(self.command, self.path, body))

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its timeout fired)


def _tag(name: str) -> dict[str, Any]:
    details = {"format": "gguf", "family": "llama", "parameter_size": "1B"}
    return {
        "name": name, "model": name, "modified_at": CREATED_AT, "size": 1,
        "digest": "0" * 64, "details": details,
    }  # fmt: skip


def _show(name: str, context_length: int, with_model_info: bool) -> dict[str, Any]:
    show: dict[str, Any] = {
        "modelfile": f"FROM {name}",
        "parameters": "",
        "template": "{{ .Prompt }}",
        "details": {"format": "gguf", "family": "llama"},
        "capabilities": ["completion"],
    }
    if with_model_info:
        show["model_info"] = {
            "general.architecture": "llama",
            "llama.context_length": context_length,
        }
    return show


def _chat_part(name: str, content: str, *, done: bool) -> dict[str, Any]:
    part: dict[str, Any] = {
        "model": name,
        "created_at": CREATED_AT,
        "message": {"role": "assistant", "content": content},
        "done": done,
    }
    if done:
        part.update(done_reason="stop", total_duration=1, eval_count=len(content.split()))
    return part


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # do not wait for handlers still sleeping in `delay_s`

    def __init__(self, config: StandinConfig) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.config = config


class OllamaStandin:
    """Run the stand-in in a background thread; use as a context manager.

    Attributes:
        config: Models, delay and the recorded requests (mutable while running).
        host: Its base URL, e.g. http://127.0.0.1:54321.
    """

    def __init__(self, config: StandinConfig | None = None) -> None:
        self.config = config or StandinConfig()
        self._server = _Server(self.config)
        self.host = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> OllamaStandin:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def requests_to(self, path: str) -> list[Recorded]:
        """The recorded requests for one endpoint, oldest first."""
        return [r for r in self.config.requests if r.path == path]
