"""`rag ask` (one question, in the terminal) and `rag chat` (the browser UI)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from cli.options import AllowedHostOpt, ChromaOpt, CollectionOpt, JsonOpt, LlmOpt, load_settings


def ask(
    question: str = typer.Argument(..., help="Your question, in quotes."),
    collection: str | None = CollectionOpt,
    chroma_url: str | None = ChromaOpt,
    top_k: int | None = typer.Option(None, "--top-k", "-k", help="Sources to retrieve."),
    hybrid: bool | None = typer.Option(None, "--hybrid/--dense", help="Fuse keyword (BM25) and dense search."),
    mmr: bool | None = typer.Option(None, "--mmr/--no-mmr", help="Diversify sources (maximal marginal relevance)."),
    threshold: float | None = typer.Option(None, "--threshold", help="Minimum cosine similarity of a source."),
    path_glob: str | None = typer.Option(None, "--only", help="Only sources whose path matches this glob."),
    llm: str | None = LlmOpt,
    mode: str | None = typer.Option(
        None, "--mode", help="auto | extract (quote the sources) | generate (the LLM writes) | both"
    ),
    as_json: bool = JsonOpt,
    conversation: str | None = typer.Option(
        None, "--conversation", help="Continue this saved conversation (new: start one)."
    ),
) -> None:
    """Answer a question from your documents, with numbered citations."""
    from cli.conversations import Continued
    from cli.report import print_answer, print_images, read_stream
    from rag.app import build_engine, build_image_embedder, build_store
    from rag.retrieval.image_search import images_for_answer

    s = load_settings(
        collection=collection,
        chroma_url=chroma_url,
        top_k=top_k,
        hybrid=hybrid,
        mmr=mmr,
        relevance_threshold=threshold,
        llm=llm,
        answer_mode=mode,
    )
    store = build_store(s)
    engine = build_engine(s, store=store)
    convo = Continued(s, conversation) if conversation else None
    live = sys.stdout.isatty() and not as_json
    answer, streamed = read_stream(engine.stream(question, convo.history if convo else None, path_glob=path_glob), live)
    # images are shown to the user, never sent to the LLM
    images = images_for_answer(s, store, question, answer.rewritten_query, embedder=build_image_embedder(s))
    if convo:
        convo.save(question, answer)
    if as_json:
        print(json.dumps({**answer.to_dict(), "images": [h.to_dict() for h in images]}))
    else:
        print_answer(answer, streamed=streamed if live else None)
        print_images(images)


def chat(
    collection: str | None = CollectionOpt,
    chroma_url: str | None = ChromaOpt,
    host: str | None = typer.Option(
        None, "--host", help="Address to serve on (default 127.0.0.1; any other needs --auth-file or RAG_AUTH)."
    ),
    port: int | None = typer.Option(None, "--port", help="Port (default 7860, or RAG_UI_PORT)."),
    auth_file: Path | None = typer.Option(
        None, "--auth-file", help="A file holding user:password needed to open the UI (or set RAG_AUTH)."
    ),
    auth: str | None = typer.Option(None, "--auth", hidden=True, help="Refused: visible in `ps`."),
    ssl_certfile: Path | None = typer.Option(None, "--ssl-certfile", help="TLS certificate (PEM): serve https."),
    ssl_keyfile: Path | None = typer.Option(None, "--ssl-keyfile", help="TLS private key (PEM) of --ssl-certfile."),
    llm: str | None = LlmOpt,
    allowed_host: list[str] | None = AllowedHostOpt,
    in_terminal: bool = typer.Option(False, "--cli", help="Chat in this terminal instead (answers are saved)."),
    conversation: str | None = typer.Option(
        None, "--conversation", help="With --cli: continue this saved conversation."
    ),
) -> None:
    """Chat with your documents in the browser (`--collection samples` indexes the sample documents on first run)."""
    if in_terminal:
        from cli.conversations import chat_loop

        return chat_loop(load_settings(collection=collection, chroma_url=chroma_url, llm=llm), conversation)
    from ui.config import refuse_auth_flag
    from ui.launch import chat_command

    if auth is not None:
        refuse_auth_flag()
    chat_command(
        collection=collection, host=host, port=port, auth_file=auth_file, llm=llm, chroma_url=chroma_url,
        ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, allowed_hosts=allowed_host,
    )  # fmt: skip
