"""Serving the chat UI: credentials never on the command line, and https when asked."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest

from rag.errors import ConfigError
from tests.test_cli import rag
from ui.config import check_tls, read_auth_file


def test_auth_on_the_command_line_is_refused_naming_the_safe_ways():
    out = rag("chat", "--auth", "ann:s3cret", "--host", "0.0.0.0")
    assert out.returncode == 2 and "--auth-file" in out.stderr and "RAG_AUTH" in out.stderr and "ps" in out.stderr
    assert "Traceback" not in out.stderr


def test_auth_file_is_read_and_checked(tmp_path, capsys):
    good = tmp_path / "auth"
    good.write_text("ann:s3cret\n")
    good.chmod(0o600)
    assert read_auth_file(good) == "ann:s3cret" and capsys.readouterr().err == ""
    good.chmod(0o644)
    assert read_auth_file(good) == "ann:s3cret" and "chmod 600" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.write_text("no-colon\n")
    with pytest.raises(ConfigError, match="user:password"):
        read_auth_file(bad)
    with pytest.raises(ConfigError, match="Cannot read the --auth-file"):
        read_auth_file(tmp_path / "missing")


def test_public_bind_with_an_auth_file_passes_the_bind_check(tmp_path, monkeypatch):
    from ui import launch

    auth = tmp_path / "auth"
    auth.write_text("ann:s3cret")
    auth.chmod(0o600)
    seen = {}

    def stop_here(host, certfile, keyfile):  # right after the bind check: building the app is not tested here
        seen["host"] = host
        raise SystemExit

    monkeypatch.setattr(launch, "check_tls", stop_here)
    with pytest.raises(SystemExit):
        launch.chat_command(host="0.0.0.0", auth_file=auth, block=False)
    assert seen == {"host": "0.0.0.0"}


def _self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_options_are_checked(tmp_path, capsys):
    cert, key = _self_signed(tmp_path)
    with pytest.raises(ConfigError, match="both --ssl-certfile and --ssl-keyfile"):
        check_tls("0.0.0.0", cert, None)
    with pytest.raises(ConfigError, match="does not exist"):
        check_tls("0.0.0.0", cert, tmp_path / "nope.pem")
    assert check_tls("0.0.0.0", cert, key) is True and capsys.readouterr().err == ""
    assert check_tls("0.0.0.0", None, None) is False and "unencrypted" in capsys.readouterr().err
    assert check_tls("127.0.0.1", None, None) is False and capsys.readouterr().err == ""


def test_the_ui_serves_https_with_a_certificate(tmp_path, embedder):
    import httpx

    from rag.index.store import Store
    from rag.settings import Settings
    from tests.conftest import free_port
    from ui.app import build_ui, serve

    cert, key = _self_signed(tmp_path)
    s = Settings(collection="docs", ssl_certfile=cert, ssl_keyfile=key)
    demo = build_ui(s, embedder, Store(s))
    port = free_port()
    try:
        url = serve(demo, "127.0.0.1", port, None, s, block=False)
        assert url.startswith("https://")
        trust = ssl.create_default_context(cafile=str(cert))
        page = httpx.get(f"https://127.0.0.1:{port}/", verify=trust, timeout=60)
        assert page.status_code == 200 and "ragspace" in page.text
    finally:
        demo.close()


def test_rag_chat_refuses_public_bind_before_loading_anything(monkeypatch):
    from rag.settings import Settings
    from ui.launch import chat_command

    monkeypatch.setenv("RAG_UI_HOST", "0.0.0.0")
    with pytest.raises(ConfigError, match=r"Refusing to serve the chat UI on 0\.0\.0\.0"):
        chat_command(block=False)
    with pytest.raises(ConfigError, match=r"on 10\.1\.2\.3 without authentication"):
        chat_command(host="10.1.2.3", block=False)
    assert not (Path(Settings().home) / "chroma").exists()  # nothing was created
