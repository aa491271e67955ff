"""The chat UI's server answers only loopback names and `allowed_hosts` (DNS rebinding, issue 26): Gradio's
own routes (the page, /gradio_api/info, /config) get 421 for any other Host, as `rag serve` does."""

from __future__ import annotations

import httpx

from rag.settings import Settings
from tests.conftest import free_port


def test_gradio_routes_refuse_another_host(isolated_home, monkeypatch):
    import gradio as gr

    from ui.app import serve

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(isolated_home / "gradio-tmp"))
    with gr.Blocks() as demo:
        gr.Markdown("ragspace")
    settings = Settings(home=isolated_home, allowed_hosts=["chat.internal"])
    url = serve(demo, "127.0.0.1", free_port(), None, settings, block=False).rstrip("/")
    try:
        port = url.rsplit(":", 1)[1]
        for path in ("/", "/gradio_api/info", "/config"):
            refused = httpx.get(url + path, headers={"Host": "evil.example"}, timeout=60)
            assert refused.status_code == 421, (path, refused.status_code)
            for host in (f"127.0.0.1:{port}", f"localhost:{port}", "chat.internal"):
                ok = httpx.get(url + path, headers={"Host": host}, timeout=60)
                assert ok.status_code == 200, (path, host, ok.status_code)
    finally:
        demo.close()
