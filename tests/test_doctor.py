"""`rag doctor` and the child-process probe of the embedded LLM.

The real bundled model is probed in a real child process. Ollama is played by
tests/ollama_standin.py (no Ollama server can be installed here; see that file), which answers
/api/tags like a server that has the model pulled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cli.doctor import diagnose, enabled_features
from rag.llm.probe import ProbeResult, probe_model
from rag.settings import Settings
from tests.conftest import free_port
from tests.ollama_standin import OllamaStandin, StandinConfig

# A child that dies the way a native llama.cpp build dies on a CPU that reports AMX without allowing it.
SIGILL_CHILD = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"]


def run_doctor(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "doctor", "--json", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=900,
    )
    assert proc.stdout.strip(), proc.stderr
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])


def by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


def test_healthy_install_every_part_ok() -> None:
    with OllamaStandin(StandinConfig(models={"llama3.2:latest": 8192})) as ollama:
        code, report = run_doctor(env={"RAG_OLLAMA_HOST": ollama.host})
    checks = by_name(report)
    assert code == 0 and report["ok"] is True
    assert set(checks) == {"python", "embedding model", "embedded LLM", "store", "ollama", "RAG_HOME"}
    assert {c["status"] for c in checks.values()} == {"ok"}, checks
    assert "sha256 checked" in checks["embedding model"]["detail"]
    assert "writes a token" in checks["embedded LLM"]["detail"]


def test_ollama_missing_is_only_a_warning() -> None:
    code, report = run_doctor(env={"RAG_OLLAMA_HOST": f"http://127.0.0.1:{free_port()}"})
    ollama = by_name(report)["ollama"]
    assert code == 0 and ollama["status"] == "warning" and "ollama serve" in ollama["fix"]


def test_a_file_that_is_not_a_model_is_a_finding(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"this is not a GGUF model\n" * 100)
    code, report = run_doctor("--llm", f"embedded:{fake}")
    llm = by_name(report)["embedded LLM"]
    assert code == 2 and report["ok"] is False
    assert llm["status"] == "problem" and "cannot load" in llm["detail"] and "GGUF" in llm["detail"]


def test_a_child_killed_by_a_signal_is_a_finding_with_the_fix(settings: Settings) -> None:
    diagnosis = diagnose(settings, probe_argv=SIGILL_CHILD)
    llm = next(c for c in diagnosis.checks if c.name == "embedded LLM")
    assert not diagnosis.ok
    assert llm.status == "problem" and "SIGILL" in llm.detail
    assert "portable build" in llm.fix and "make install" in llm.fix


def test_a_chroma_url_nobody_answers() -> None:
    code, report = run_doctor("--chroma-url", f"http://127.0.0.1:{free_port()}")
    store = by_name(report)["store"]
    assert code == 2 and store["status"] == "problem"
    assert "not reachable" in store["detail"] and "chroma run" in store["detail"]


def test_a_real_chroma_server_answers(chroma_server: str) -> None:
    from cli.doctor import check_store

    check = check_store(Settings(chroma_url=chroma_server))
    assert check.status == "ok" and "Chroma server" in check.detail


def test_unwritable_home_is_a_problem(tmp_path: Path) -> None:
    from cli.doctor import check_home

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    check = check_home(Settings(home=blocker / "home"))
    assert check.status == "problem" and "RAG_HOME" in check.fix


def test_human_output_names_each_part_and_fix(tmp_path: Path) -> None:
    fake = tmp_path / "broken.gguf"
    fake.write_bytes(b"GGUF but truncated")
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "doctor", "--llm", f"embedded:{fake}"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "problem" in proc.stdout and "embedded LLM" in proc.stdout and "fix:" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_probe_remembers_success_only(tmp_path: Path, model_cache: Path, monkeypatch) -> None:
    import rag.llm.probe as probe
    from rag.llm.embedded_backend import EmbeddedBackend

    path = EmbeddedBackend(cache_dir=model_cache).run_path()
    monkeypatch.setattr(probe, "_memo", {})
    real_child = probe._run_child
    monkeypatch.setattr(probe, "_run_child", lambda argv: probe._killed(signal.SIGILL, 0.1))
    assert not probe_model(path, 1, tmp_path).ok
    assert not (tmp_path / "llm-probe.json").exists()  # a failure is checked again next time
    monkeypatch.setattr(probe, "_run_child", real_child)
    assert probe_model(path, 1, tmp_path).ok  # the real model in a real child
    assert (tmp_path / "llm-probe.json").is_file()
    monkeypatch.setattr(probe, "_memo", {})
    monkeypatch.setattr(probe, "_run_child", lambda argv: pytest.fail("a remembered success must not run the child"))
    assert probe_model(path, 1, tmp_path).ok


def test_embedded_backend_turns_a_crashing_build_into_an_error(monkeypatch, model_cache: Path) -> None:
    """In-process use probes first: a SIGILL in the child is an LLMError here, not a dead process."""
    import rag.llm.probe as probe
    from rag.llm.embedded_backend import EmbeddedBackend
    from rag.llm.errors import LLMError

    monkeypatch.setattr(probe, "_memo", {})
    monkeypatch.setattr(probe, "_read_cache", lambda cache_dir, key: None)
    monkeypatch.setattr(probe, "_run_child", lambda argv: probe._killed(signal.SIGILL, 0.1))
    backend = EmbeddedBackend(cache_dir=model_cache)
    with pytest.raises(LLMError, match=r"cannot run here.*SIGILL.*portable build"):
        backend.loaded()


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (
            "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | OPENMP = 1 |",
            {"SSE3", "AVX", "AVX2", "F16C", "FMA", "OPENMP"},
        ),
        ("CPU : AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | LLAMAFILE = 0 |", {"AVX2", "AVX512", "AMX_INT8"}),
    ],
)  # fmt: skip
def test_enabled_features_parse(info: str, expected: set[str]) -> None:
    assert enabled_features(info) == expected


def test_this_build_is_portable(model_cache: Path) -> None:
    """The venv's llama.cpp was built without AVX-512 or AMX (scripts/install_llama_cpp.sh)."""
    from rag.llm.embedded_backend import EmbeddedBackend

    backend = EmbeddedBackend(cache_dir=model_cache)
    result: ProbeResult = probe_model(backend.run_path(), backend.threads, model_cache)
    assert result.ok, result.message()
    features = enabled_features(result.system_info)
    assert "AVX2" in features
    assert not [f for f in features if f.startswith(("AVX512", "AMX"))], result.system_info

