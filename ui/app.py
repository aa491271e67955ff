"""The Gradio app: `build_ui(...)` lays out components and wires them to `Events`, whose methods
call the plain functions of ui.handlers and ui.documents; `launch(...)` checks the bind address,
builds the heavy objects and serves.

gradio is imported inside functions only, so importing this module (and `rag --help`) stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rag.serving.pool import EnginePool
from rag.settings import Settings
from ui import handlers, render, space_tab
from ui.config import check_bind
from ui.events import Events
from ui.uploads import ZIP_SUFFIX

if TYPE_CHECKING:
    import gradio as gr


def build_ui(
    settings: Settings,
    embedder,
    store,
    engine_factory: Callable[[Settings], object] | None = None,
    ui: Settings | None = None,
) -> gr.Blocks:
    """The chat app; each browser session gets its own `handlers.Session` in a gr.State.

    Args:
        settings: defaults for every session (collection, top-k, LLM...).
        embedder: the shared embedder (see rag.app).
        store: the shared Chroma store.
        engine_factory: Settings -> Engine; default `rag.app.build_engine` with these objects.
        ui: settings with the upload limits and chat concurrency (default: `settings`).
    """
    import gradio as gr

    from rag.app import build_engine

    ui = ui or settings
    factory = engine_factory or (lambda s: build_engine(s, embedder, store))
    ev = Events(settings, embedder, store, EnginePool(settings, factory), ui)
    with gr.Blocks(title="ragspace", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        session = gr.State(handlers.Session.new(settings))
        status = gr.HTML(elem_id="rag-status-box")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat = _chat_tab(gr, ev, session)
            with gr.Tab("Documents", id="documents"):
                dt = _documents_tab(gr, ev, session, status)
            with gr.Tab("Space", id="space") as tab:
                space_tab.build_space_tab(gr, space_tab.SpaceEvents(settings, embedder, store, ev.pool), session, tab)
            with gr.Tab("Settings", id="settings"):
                llm = _settings_tab(gr, ev, session, status)
        demo.load(
            _with_user(ev.on_load),
            inputs=[session, chat["current"]],
            api_name=False,
            outputs=[status, llm, dt["collection"], dt["docs"], dt["doc_pick"], dt["folder"], *chat["view"]],
        )
    # light events (status, lists) run side by side; chat and ingestion have their own groups
    demo.queue(default_concurrency_limit=8, max_size=256)
    return demo


def _chat_tab(gr, ev: Events, session) -> dict:
    """The chat: saved conversations, the conversation, its sources. Returns what `demo.load` fills."""
    with gr.Row(elem_id="rag-chat-row"):
        with gr.Column(scale=1, min_width=200, elem_id="rag-conv-column"):
            panel = _conversation_panel(gr)
        with gr.Column(scale=3, min_width=320):
            chatbot = gr.Chatbot(
                label="Chat",
                elem_id="rag-chat",
                height=520,
                feedback_options=None,
                latex_delimiters=[],
                buttons=["copy"],
                placeholder="Ask a question about your documents.",
            )
            with gr.Row():
                box = gr.Textbox(
                    placeholder="Ask about your documents…",
                    show_label=False,
                    scale=6,
                    elem_id="rag-question",
                    max_lines=6,
                )
                send = gr.Button("Send", variant="primary", scale=1, elem_id="rag-send", min_width=80)
            stop = gr.Button("Stop", elem_id="rag-stop", size="sm")
        with gr.Column(scale=2, min_width=280, elem_id="rag-sources-column"):
            gr.Markdown("### Sources")
            sources = gr.HTML(render.sources_html(handlers.Session("", handlers.ChatOptions())), elem_id="rag-sources")
    view = [session, chatbot, sources, *panel["outputs"]]
    # one group for chat: up to chat_concurrency at once; the embedded model's lock makes
    # generations take turns while the others retrieve, abstain or wait for it
    asking = gr.on(
        [box.submit, send.click],
        fn=ev.ask,
        inputs=[box, session],
        outputs=[chatbot, sources, session, box, *panel["outputs"]],
        concurrency_id="chat",
        concurrency_limit=ev.ui.chat_concurrency,
        api_name="ask",
    )
    c = ev.conv
    stop.click(c.on_stop, inputs=session, outputs=view, cancels=[asking], api_name=False)
    gr.on([panel["new"].click, chatbot.clear], c.on_new, session, view, cancels=[asking], api_name="new_chat")
    panel["list"].input(c.on_open, [panel["list"], session], view, cancels=[asking], api_name=False)
    rename = [panel["title"].submit, panel["rename"].click]
    gr.on(rename, c.on_rename, [panel["title"], session], view, api_name=False)
    panel["delete"].click(c.on_delete, [panel["list"], session], view, cancels=[asking], api_name=False)
    return {"view": view, "current": panel["current"]}


def _conversation_panel(gr) -> dict:
    """The saved conversations: new chat, the list (newest first), rename, delete, export."""
    from ui.conversation_events import BROWSER_KEY, BROWSER_SECRET

    new = gr.Button("+ New chat", variant="secondary", size="sm", elem_id="rag-new-chat")
    listed = gr.Radio([], label="Conversations", elem_id="rag-conversations", interactive=True)
    note = gr.HTML(elem_id="rag-conv-note")
    with gr.Accordion("Rename, delete, export", open=False, elem_id="rag-conv-tools"):
        title = gr.Textbox(label="Title", elem_id="rag-conv-title", max_lines=1)
        with gr.Row():
            rename = gr.Button("Rename", size="sm", elem_id="rag-conv-rename", min_width=60)
            delete = gr.Button("Delete", size="sm", variant="stop", elem_id="rag-conv-delete", min_width=60)
        md = gr.DownloadButton("Export Markdown", size="sm", interactive=False, elem_id="rag-export-md")
        js = gr.DownloadButton("Export JSON", size="sm", interactive=False, elem_id="rag-export-json")
    # which conversation this browser shows, so a reload (or a restart of the server) reopens it
    current = gr.BrowserState("", storage_key=BROWSER_KEY, secret=BROWSER_SECRET)
    return {
        "new": new, "list": listed, "title": title, "rename": rename, "delete": delete, "current": current,
        "outputs": [listed, md, js, current, note, title],
    }  # fmt: skip


def _with_user(fn):
    """`fn(session, current, user)` as a gradio handler that gets the signed-in user's name (None
    without auth) from the request: the name comes from the server's login, never from the page."""
    import gradio as gr

    def handler(session, current, request):
        return fn(session, current, getattr(request, "username", None))

    handler.__annotations__ = {"request": gr.Request}  # gradio injects the request by this hint
    return handler


def _documents_tab(gr, ev: Events, session, status) -> dict:
    from ingest.loaders import SUPPORTED_SUFFIXES
    from rag.models.image_decode import IMAGE_SUFFIXES

    collection = gr.Dropdown(
        label="Collection (type a new name and press Enter to create one)",
        allow_custom_value=True,
        elem_id="rag-collection",
    )
    files = gr.File(
        label=f"Upload files or a .zip (up to {ev.ui.upload_max_mb:g} MB each)",
        file_count="multiple",
        type="filepath",
        # images always pickable: with `image_model` empty the upload says how to turn them on
        file_types=sorted(SUPPORTED_SUFFIXES | {ZIP_SUFFIX} | set(IMAGE_SUFFIXES)),
        elem_id="rag-upload",
    )
    ingest_btn = gr.Button("Ingest uploaded files", variant="primary", elem_id="rag-ingest")
    summary = gr.Markdown(elem_id="rag-ingest-summary")
    report = gr.Dataframe(
        headers=["file", "status", "chunks", "reason"],
        label="Per-file report",
        interactive=False,
        wrap=True,
        elem_id="rag-report",
    )
    table = gr.Dataframe(
        headers=["file", "chunks", "indexed"],
        label="Indexed documents",
        interactive=False,
        wrap=True,
        elem_id="rag-docs",
    )
    with gr.Row():
        doc_pick = gr.Dropdown(label="Document", scale=4, elem_id="rag-doc-pick")
        remove_btn = gr.Button("Remove from index", variant="stop", scale=1, elem_id="rag-remove")
    with gr.Row():
        folder = gr.Dropdown(
            label="Folder to re-sync (or type a path on this machine)",
            allow_custom_value=True,
            scale=4,
            elem_id="rag-folder",
        )
        resync_btn = gr.Button("Re-sync folder", scale=1, elem_id="rag-resync")
    lists = [table, doc_pick, folder]
    outputs = [summary, report, *lists, status, collection]
    # ingestion and removal take turns in their own group: a long ingestion never holds up chat
    busy = {"concurrency_id": "ingest", "concurrency_limit": 1}
    # gradio hands a progress bar to a handler whose parameter defaults to gr.Progress()
    ingest_btn.click(
        lambda paths, s, progress=gr.Progress(): ev.on_ingest(paths, s, progress),  # noqa: B008
        [files, session],
        [*outputs, files],
        api_name="ingest",
        **busy,
    )
    resync_btn.click(
        lambda path, s, progress=gr.Progress(): ev.on_resync(path, s, progress),  # noqa: B008
        [folder, session],
        outputs,
        api_name="resync",
        **busy,
    )
    remove_btn.click(ev.on_remove, [doc_pick, session], outputs, api_name="remove", **busy)
    collection.input(
        ev.on_collection, [collection, session], [session, collection, *lists, status], api_name="collection"
    )
    return {"collection": collection, "docs": table, "doc_pick": doc_pick, "folder": folder}


def _settings_tab(gr, ev: Events, session, status):
    s = ev.settings
    top_k = gr.Slider(1, 20, value=s.top_k, step=1, label="Sources per question (top-k)", elem_id="rag-topk")
    hybrid = gr.Checkbox(value=s.hybrid, label="Hybrid search (keywords + meaning)", elem_id="rag-hybrid")
    threshold = gr.Slider(
        -0.2,
        1.0,
        value=s.relevance_threshold,
        step=0.05,
        elem_id="rag-threshold",
        label="Relevance threshold (below it, the answer says what was closest instead)",
    )
    temperature = gr.Slider(0.0, 1.5, value=s.temperature, step=0.05, label="Temperature", elem_id="rag-temp")
    with gr.Row():
        llm = gr.Dropdown(
            label="LLM backend / model (Ollama models are listed when its server answers)",
            allow_custom_value=True,
            scale=4,
            elem_id="rag-llm",
        )
        refresh = gr.Button("Refresh models", scale=1, elem_id="rag-refresh")
    mode = gr.Radio(
        ["auto", "extract", "generate", "both"],
        value=s.answer_mode,
        label="Answer: quotes from the sources (extract), the model's words (generate), both, or auto "
        "(quotes for the small bundled model)",
        elem_id="rag-mode",
    )
    controls = [top_k, hybrid, threshold, temperature, llm, mode]
    gr.on(
        [c.change for c in controls],
        ev.on_options,
        inputs=[*controls, session],
        outputs=[session, status],
        api_name=False,
    )
    refresh.click(ev.on_refresh_models, inputs=session, outputs=llm, api_name=False)
    return llm


def _assets() -> dict:
    """CSS, the citation-click script and a theme that loads no web fonts (we are offline)."""
    import gradio as gr

    from ui.style import CSS, JS

    theme = gr.themes.Soft(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    return {"theme": theme, "css": CSS, "head": f"<script>{JS}</script>"}


def serve(
    demo: gr.Blocks,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    ui: Settings | None = None,
    block: bool = True,
) -> str:
    """Start serving `demo`; returns its local URL. Refuses a non-loopback host without auth.

    Nothing is fetched from the network: no share link (so no frpc download), no analytics,
    no run history (it can sync to a Hugging Face bucket), no server-side rendering (Node).

    Raises:
        ConfigError: a non-loopback `host` without `auth`, or a malformed `auth`.
    """
    credentials = check_bind(host, auth)
    from rag.settings import load_settings

    ui = ui or load_settings()
    tls = {}
    if ui.ssl_certfile and ui.ssl_keyfile:
        # ssl_verify only concerns gradio's own start-up probe of this server (often a self-signed cert)
        tls = {"ssl_certfile": str(ui.ssl_certfile), "ssl_keyfile": str(ui.ssl_keyfile), "ssl_verify": False}
    _, url, _ = demo.launch(
        server_name=host,
        server_port=port,
        auth=credentials,
        share=False,
        prevent_thread_lock=not block,
        max_file_size=f"{ui.upload_max_mb:g}mb",
        show_error=True,
        quiet=True,
        ssr_mode=False,
        run_history=False,
        footer_links=["api"],
        mcp_server=False,
        app_kwargs={"middleware": [_host_guard(host, ui.allowed_hosts)]},
        **tls,
        **_assets(),
    )
    return url


def _host_guard(host: str, extra: list[str]):
    """The same Host check as `rag serve` (rag/serving/hosts.py) on every Gradio route: 421 for other names."""
    from starlette.middleware import Middleware

    from rag.serving.hosts import HostGuard, allowed_hosts

    return Middleware(HostGuard, allowed=allowed_hosts(host, extra))


def launch(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    ui: Settings | None = None,
    block: bool = True,
) -> gr.Blocks:
    """Check the bind address, build the embedder and store, and serve the UI.

    Raises:
        ConfigError: a non-loopback `host` without `auth` (before anything is loaded).
    """
    from rag.app import build_embedder, build_store

    check_bind(host, auth)  # before loading anything: a refused start should be instant
    demo = build_ui(settings, build_embedder(settings), build_store(settings), ui=ui)
    serve(demo, host, port, auth, ui, block)
    return demo
