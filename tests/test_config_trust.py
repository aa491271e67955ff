"""Which rag.toml is read, and a ./rag.toml that would send data to another machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def rag_in(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`rag ARGS` run in `folder`, with no RAG_CONFIG: ./rag.toml is the one read."""
    clean = {k: v for k, v in os.environ.items() if k not in ("RAG_CONFIG", "OLLAMA_HOST")}
    clean["PYTHONPATH"] = os.pathsep.join([str(REPO), clean.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "cli", *args]
    return subprocess.run(cmd, cwd=folder, env={**clean, **env}, capture_output=True, text=True, timeout=300)


def test_a_remote_address_in_the_current_folders_rag_toml_needs_trust(tmp_path):
    (tmp_path / "rag.toml").write_text('ollama_host = "http://10.9.8.7:11434"\n')
    refused = rag_in(tmp_path, "status", "--json")
    assert refused.returncode == 2 and "--trust-config" in refused.stderr and "10.9.8.7" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert json.loads(refused.stdout)["error"]["exit_code"] == 2  # --json: the error as JSON, nothing else
    for trusted in (rag_in(tmp_path, "status", "--json", "--trust-config"),
                    rag_in(tmp_path, "--trust-config", "status", "--json"),
                    rag_in(tmp_path, "status", "--json", RAG_TRUST_CONFIG="1"),
                    rag_in(tmp_path, "status", "--json", RAG_OLLAMA_HOST="http://10.9.8.7:11434")):  # fmt: skip
        assert trusted.returncode == 0, trusted.stderr
        assert f"settings: read {(tmp_path / 'rag.toml').resolve()}" in trusted.stderr


def test_a_chroma_url_elsewhere_is_refused_before_anything_connects(tmp_path):
    (tmp_path / "rag.toml").write_text('chroma_url = "http://192.0.2.1:8000"\n')  # TEST-NET: nothing answers
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("Secret plans.")
    out = rag_in(tmp_path, "ingest", str(docs))
    assert out.returncode == 2 and "chroma_url" in out.stderr and "--trust-config" in out.stderr


def test_loopback_addresses_and_named_config_files_are_read_without_asking(tmp_path):
    (tmp_path / "rag.toml").write_text('ollama_host = "127.0.0.1:11434"\nchroma_url = "http://localhost:9"\n')
    local = rag_in(tmp_path, "status", "--json")
    assert "--trust-config" not in local.stderr and "settings: read" in local.stderr
    named = tmp_path / "elsewhere" / "my.toml"
    named.parent.mkdir()
    named.write_text('ollama_host = "http://10.9.8.7:11434"\n')
    chosen = rag_in(tmp_path / "elsewhere", "status", "--json", RAG_CONFIG=str(named))
    assert chosen.returncode == 0, chosen.stderr
    assert f"settings: read {named.resolve()}" in chosen.stderr
