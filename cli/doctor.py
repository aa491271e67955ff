"""`rag doctor`: check every part a user needs, and for each say ok, or what is wrong and the fix.

The embedded LLM is checked in a child process (rag.llm.probe), so a build that dies with SIGILL
or a model that runs out of memory is a finding here, not a crash. Parts the default path needs
are "problem" when broken (exit 2); optional parts (Ollama) are only a "warning".
"""

from __future__ import annotations

import json
import platform
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.options import ChromaOpt, JsonOpt, LlmOpt, load_settings
from rag.errors import RagError

if TYPE_CHECKING:  # rag.settings (pydantic-settings) takes half a second to import: not for `rag --help`
    from rag.settings import Settings

# Free space below which ingestion is likely to fail part-way (Chroma and the keyword index grow with it).
LOW_DISK_BYTES = 1 << 30
NO_DISK_BYTES = 100 << 20
# Compiled instruction sets that not every x86-64 CPU allows: a portable build has none of them.
NON_PORTABLE_FEATURES = ("AVX512", "AMX")


@dataclass(frozen=True)
class Check:
    """One part's verdict: `ok`, `warning` (optional part, or works with a caveat) or `problem`."""

    name: str
    status: str
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Diagnosis:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.status != "problem" for c in self.checks)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks]}


def doctor(
    chroma_url: str | None = ChromaOpt,
    llm: str | None = LlmOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Check every part ragspace needs (models, store, LLM, disk); exit 2 when the default path cannot work."""
    from cli.report import print_diagnosis

    diagnosis = diagnose(load_settings(chroma_url=chroma_url, llm=llm))
    if as_json:
        print(json.dumps(diagnosis.to_dict()))
    else:
        print_diagnosis(diagnosis)
    raise typer.Exit(0 if diagnosis.ok else 2)


def diagnose(settings: Settings, *, probe_argv: list[str] | None = None) -> Diagnosis:
    """Run every check; never raises for a broken part (that is what the checks report)."""
    steps: list[Callable[[], Check]] = [
        check_python,
        lambda: check_embedder(settings),
        lambda: check_llm(settings, probe_argv),
        lambda: check_store(settings),
        lambda: check_ollama(settings),
        lambda: check_home(settings),
    ]
    return Diagnosis([step() for step in steps])


def check_python() -> Check:
    version = platform.python_version()
    where = f"Python {version} on {platform.system()} {platform.machine()}"
    return Check("python", "ok", where)  # pyproject's requires-python refuses older ones at install


def check_embedder(settings: Settings) -> Check:
    from rag.settings import BUNDLED_EMBED_MODEL

    if settings.embed_model != BUNDLED_EMBED_MODEL:
        path = Path(settings.embed_model).expanduser()
        if path.exists():
            return Check("embedding model", "ok", f"{path} (a local model; not checksummed)")
        return Check(
            "embedding model",
            "warning",
            f"{settings.embed_model} is not a local path: it loads only if already in the Hugging Face cache",
            "set `embed_model` to a local folder, or back to the bundled model",
        )
    from rag.models.embedder import bundled_model_path

    try:
        path = bundled_model_path()  # checks the sha256 of model.safetensors
    except RagError as exc:
        return Check("embedding model", "problem", str(exc))
    return Check("embedding model", "ok", f"{BUNDLED_EMBED_MODEL} at {path} (sha256 checked)")


def check_llm(settings: Settings, probe_argv: list[str] | None = None) -> Check:
    """The embedded model loads and writes a token, in a child process."""
    from rag.llm import parse_llm_spec
    from rag.llm.embedded_backend import EmbeddedBackend
    from rag.llm.probe import probe_model

    try:
        spec = parse_llm_spec(settings.llm)
        if spec.backend == "ollama":
            return Check("embedded LLM", "ok", "not used (`llm` is Ollama)")
        backend = EmbeddedBackend.from_spec(settings, spec.arg)
        path = backend.run_path()  # the bundled file's sha256, and its Q8_0 copy
    except RagError as exc:
        return Check("embedded LLM", "problem", str(exc))
    result = probe_model(path, backend.threads, settings.model_cache, argv=probe_argv)
    if not result.ok:
        return Check("embedded LLM", "problem", f"{path.name}: {result.detail}", result.fix)
    features = sorted(f for f in enabled_features(result.system_info) if f.startswith(NON_PORTABLE_FEATURES))
    detail = f"{path.name} loads and writes a token ({backend.threads} threads)"
    if features:
        return Check(
            "embedded LLM",
            "warning",
            f"{detail}, but llama.cpp was built with {', '.join(features)}: it will crash on CPUs without them",
            "reinstall the portable build with `make install` before copying this environment to another machine",
        )
    return Check("embedded LLM", "ok", detail)


def enabled_features(system_info: str) -> set[str]:
    """Names llama.cpp's system info marks `= 1` (e.g. "CPU : SSE3 = 1 | AVX2 = 1 | AMX_INT8 = 1 |")."""
    found = set()
    for part in system_info.replace(":", "|").split("|"):
        name, _, value = part.partition("=")
        if value.strip() == "1":
            found.add(name.strip())
    return found


def check_store(settings: Settings) -> Check:
    from rag.index.store import Store

    store = Store(settings)
    try:
        client = store.client  # embedded: opens the database; server: answers its heartbeat
        names = [c.name for c in client.list_collections()]
    except RagError as exc:
        return Check("store", "problem", str(exc))
    except Exception as exc:
        return Check(
            "store",
            "problem",
            f"Chroma at {store.location} cannot be opened ({type(exc).__name__}: {exc})",
            "check the folder's permissions, or move RAG_HOME",
        )
    kind = "Chroma server" if settings.chroma_url else "embedded Chroma"
    return Check("store", "ok", f"{kind} at {store.location} ({len(names)} collections)")


def check_ollama(settings: Settings) -> Check:
    from rag.llm import parse_llm_spec
    from rag.llm.ollama_backend import has_model, list_models

    try:
        spec = parse_llm_spec(settings.llm)
    except RagError:  # reported by check_llm
        spec = parse_llm_spec("auto")
    required = spec.backend == "ollama"
    model = spec.ollama_model(settings) or settings.ollama_model
    level = "problem" if required else "warning"
    try:
        installed = list_models(settings.ollama_host, 2.0)
    except Exception:
        return Check(
            "ollama",
            level,
            f"not reachable at {settings.ollama_host} (optional: the embedded model answers without it)",
            "start it with `ollama serve` for better answers from a larger model",
        )
    if not has_model(model, installed):
        return Check("ollama", level, f"reachable, but has no model '{model}'", f"run `ollama pull {model}`")
    return Check("ollama", "ok", f"{settings.ollama_host} has {model}")


def check_home(settings: Settings) -> Check:
    home = settings.home
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / ".doctor-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        reason = f"{home} is not writable ({exc.strerror})"
        return Check("RAG_HOME", "problem", reason, "set RAG_HOME to a writable folder")
    free = shutil.disk_usage(home).free
    detail = f"{home} is writable, {free / (1 << 30):.1f} GiB free"
    if free < NO_DISK_BYTES:
        return Check("RAG_HOME", "problem", detail, "free some disk space or set RAG_HOME on another disk")
    if free < LOW_DISK_BYTES:
        return Check("RAG_HOME", "warning", detail, "free some disk space before indexing large folders")
    return Check("RAG_HOME", "ok", detail)
