"""The UI's handlers and rendering without a browser: real embedder, real Chroma, real embedded LLM
where an answer is needed, and the Ollama stand-in where a server must answer."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from rag.app import build_engine
from rag.errors import ConfigError
from rag.index.store import Store
from rag.serving.hosts import is_loopback
from rag.serving.pool import EnginePool
from rag.settings import Settings
from rag.types import Answer, Source, Unsupported
from tests.conftest import DATA, free_port
from tests.ollama_standin import OllamaStandin, StandinConfig
from ui import documents as docs
from ui import handlers, render
from ui.config import check_bind, parse_auth
from ui.uploads import UploadLimits, safe_name, safe_relative, save_uploads, upload_dir

UI_DATA = DATA / "ui"
OFF_TOPIC = "How many legs does a spider have?"


def settings(**kw) -> Settings:
    base = {
        "collection": "docs",
        "llm": "embedded",
        "max_answer_tokens": 32,
        "top_k": 2,
        "temperature": 0.0,
        "answer_mode": "generate",  # these tests watch the model stream; quotes are tested below
        "ollama_host": f"http://127.0.0.1:{free_port()}",
    }  # nothing listens there: Ollama is "down"
    return Settings(**{**base, **kw})


@pytest.fixture
def indexed(embedder, tmp_path):
    """Settings, store and pool over a collection holding tests/data/docs."""
    s = settings()
    store = Store(s)
    folder = shutil.copytree(DATA / "docs", tmp_path / "docs")
    docs.sync_paths(s, embedder, store, "docs", [folder])
    pool = EnginePool(s, lambda cfg: build_engine(cfg, embedder, store))
    return s, store, pool


def run(question: str, session: handlers.Session, pool) -> handlers.Session:
    for step in handlers.respond(question, session, pool):
        session = step
    return session


# -- chat ---------------------------------------------------------------------------------


def test_off_topic_question_abstains_naming_the_closest(indexed):
    s, _, pool = indexed
    session = run(OFF_TOPIC, handlers.Session.new(s), pool)
    turn = session.turns[-1]
    assert turn.answer.abstained and turn.answer.backend is None  # no model was asked
    html = render.chat_messages(session)[-1]["content"]
    assert "closest" in html and "no model was asked" in html
    assert "closest passages, no answer" in render.sources_html(session)


def test_answer_streams_then_ends_with_sources_and_backend(indexed):
    s, _, pool = indexed
    steps = [
        (t.text, t.answer)
        for t in (
            sess.turns[-1]
            for sess in handlers.respond("What is the tallest volcano on Mars?", handlers.Session.new(s), pool)
        )
    ]
    partial = [text for text, answer in steps if answer is None and text]
    assert len(partial) >= 2 and partial[0] != partial[-1]  # the text grew piece by piece
    answer = steps[-1][1]
    assert answer.backend == "embedded" and answer.sources[0].path.endswith("mars.md")
    html = render.turn_html(handlers.Turn("q", answer=answer), 1)
    assert "answered by embedded" in html and answer.model in html


def test_extract_mode_shows_the_quote_at_once_and_highlights_its_exact_spans(indexed):
    s, _, pool = indexed
    session = handlers.set_options(handlers.Session.new(s), 2, True, 0.3, 0.0, "embedded", "extract")
    assert session.options.mode == "extract"
    session = run("How tall is Olympus Mons?", session, pool)
    answer = session.turns[-1].answer
    assert answer.mode == "extract" and answer.backend is None and "22 kilometres" in answer.text
    html = render.sources_html(session)
    assert '<mark class="rag-cited">It rises about 22 kilometres' in " ".join(html.split())
    assert "quoted from the sources" in render.turn_html(session.turns[-1], 1)


def test_a_model_that_cannot_load_still_shows_the_sources_and_one_clear_line(indexed, tmp_path):
    """Issue 10: no silent death in the UI. The server's own configured GGUF is not a model."""
    s, _, pool = indexed
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF, but nothing after it")
    session = handlers.set_options(handlers.Session.new(s), 2, True, 0.3, 0.0, f"embedded:{broken}", "generate")
    session = run("How tall is Olympus Mons?", session, pool)
    answer = session.turns[-1].answer
    assert answer.llm_error and "broken.gguf" in answer.llm_error and "GGUF" in answer.llm_error
    assert answer.sources and answer.sources[0].path.endswith("mars.md")  # retrieval needs no LLM
    assert "22 kilometres" in answer.text  # the quotes answer instead
    html = render.turn_html(session.turns[-1], 1)
    assert "broken.gguf" in html and "Traceback" not in html and "rag-error" not in html
    assert "mars.md" in render.sources_html(session)


def test_follow_up_shows_the_rewritten_query(indexed):
    s, _, pool = indexed
    # a threshold no passage reaches: both turns abstain at once, and the rewrite happens before that
    session = handlers.set_options(handlers.Session.new(s), 2, False, 0.99, 0.0, "embedded")
    session = run("How long does sourdough need to rise?", session, pool)
    session = run("and at what temperature?", session, pool)
    answer = session.turns[-1].answer
    assert answer.rewritten_query and "sourdough" in answer.rewritten_query.lower()
    assert "follow-up searched as" in render.chat_messages(session)[-1]["content"]


def test_sessions_do_not_share_history_or_options(indexed):
    s, _, pool = indexed
    a, b = handlers.Session.new(s), handlers.Session.new(s)
    b = handlers.set_options(b, 3, True, 0.9, 0.5, "embedded")
    a = run(OFF_TOPIC, a, pool)
    b = run("What is the capital of Peru?", b, pool)
    assert [t.question for t in a.turns] == [OFF_TOPIC] and a.options.threshold == s.relevance_threshold
    assert [t.question for t in b.turns] == ["What is the capital of Peru?"] and b.options.top_k == 3


def test_stop_closes_the_stream_and_frees_the_model(indexed):
    s, _, pool = indexed
    session = handlers.Session.new(s)
    stream = handlers.respond("What is the tallest volcano on Mars?", session, pool)
    for session in stream:
        if session.turns[-1].text:
            break
    stream.close()  # what gradio does to a cancelled event's generator
    handlers.stop(session)
    turn = session.turns[-1]
    assert turn.stopped and turn.text and turn.answer is None
    model = pool.get("docs", "embedded").llm.loaded()
    assert model.lock.acquire(timeout=1), "the model stayed locked after stop"
    model.lock.release()
    assert "stopped" in render.chat_messages(session)[-1]["content"]
    assert handlers.engine_history(session.turns)[-1]["content"] == turn.text


def test_missing_collection_and_empty_question(indexed):
    _, _, pool = indexed
    session = run("anything?", handlers.Session("nothing-here", handlers.ChatOptions(llm="embedded")), pool)
    assert "Documents tab" in session.turns[-1].error
    assert run("   ", session, pool).turns == session.turns  # an empty question adds no turn
    assert handlers.clear(session).turns == [] and session.collection == "nothing-here"


def test_per_session_backend_choice_with_ollama_standin(indexed):
    s, _, pool = indexed
    config = StandinConfig(models={"llama3.2:latest": 8192})
    with OllamaStandin(config) as server:
        s2 = s.model_copy(update={"ollama_host": server.host})
        pool2 = EnginePool(s2, pool.factory)
        assert handlers.llm_choices(s2) == ["auto", "embedded", "ollama:llama3.2:latest"]
        session = handlers.set_options(handlers.Session.new(s2), 2, False, 0.3, 0.0, "ollama:llama3.2:latest")
        answer = run("What is the tallest volcano on Mars?", session, pool2).turns[-1].answer
    assert answer.backend == "ollama" and answer.text.startswith("Stand-in answer")


def test_set_collection_validates_the_name():
    session = handlers.Session.new(settings())
    assert handlers.set_collection(session, "new-project").collection == "new-project"
    with pytest.raises(ConfigError, match="not a valid collection name"):
        handlers.set_collection(session, "../etc")


# -- status -------------------------------------------------------------------------------


def test_status_banners_for_empty_collection_and_ollama_down():
    s = settings(llm="ollama")
    st = handlers.status(s, Store(s), handlers.Session.new(s))
    assert st.chunks == 0 and "no documents yet" in st.warnings[0]
    assert any("Ollama is not answering" in w and "ollama serve" in w for w in st.warnings)
    auto = handlers.status(s, Store(s), handlers.set_options(handlers.Session.new(s), 5, False, 0.3, 0.1, "auto"))
    assert "embedded" in auto.llm and any("Ollama is not running" in n for n in auto.notes)
    html = render.status_html(st)
    assert "rag-warn" in html and "Collection <b>docs</b>" in html


def test_status_counts_the_index(indexed):
    s, store, _ = indexed
    st = handlers.status(s, store, handlers.Session.new(s))
    assert st.files >= 4 and st.chunks >= st.files and not st.warnings
    assert st.llm.startswith("embedded (") and st.embed_model.endswith("all-MiniLM-L6-v2")


# -- rendering: document and answer text stay text ------------------------------------------


def source(n: int, text: str, path: str = "/docs/notes.md", score: float = 0.61, page: int | None = None) -> Source:
    return Source(n=n, id=f"c{n}", path=path, page=page, text=text, score=score)


SCRIPT = '<script>alert(1)</script> and <b>bold</b> <img src=x onerror="alert(2)"> ![x](http://evil/x.png)'


def test_text_escapes_markup_and_markdown():
    out = render.text(SCRIPT + "\n`code` [link](javascript:alert(3))")
    assert "<" not in out.replace("<br>", "") and ">" not in out.replace("<br>", "")
    assert "&lt;script&gt;" in out and "](" not in out and "`" not in out and "![" not in out


def test_sources_panel_escapes_passages_and_names():
    src = source(1, SCRIPT, path="/docs/<img src=x>.md", page=3)
    answer = Answer(text="It is bold [1].", sources=[src])
    html = render.sources_html(handlers.Session("c", handlers.ChatOptions(), [handlers.Turn("q?", answer=answer)]))
    assert "<script" not in html and "<img" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "page 3" in html and "similarity 0.61" in html


def test_citations_link_to_their_source_and_flags_are_marked():
    sources = [source(1, "Olympus Mons is the tallest volcano. It is on Mars."), source(2, "Phobos is a moon.")]
    answer = Answer(
        text="Olympus Mons is the tallest volcano [1]. It erupted in 1990 [2]. Bad cite [7].",
        sources=sources,
        unsupported=[Unsupported("It erupted in 1990 [2].", [2], "number 1990 appears in no source", 0.2)],
        backend="embedded",
        model="m.gguf",
    )
    session = handlers.Session("c", handlers.ChatOptions(), [handlers.Turn("Which volcano?", answer=answer)])
    chat = render.chat_messages(session)[-1]["content"]
    panel = render.sources_html(session)
    assert 'href="#src-1-1"' in chat and 'id="src-1-1"' in panel and 'id="src-1-2"' in panel
    assert 'class="rag-flagged"' in chat and "number 1990 appears in no source" in chat
    assert "rag-cite-missing" in chat  # [7] names no source: shown struck through, not linked
    assert '<mark class="rag-cited">Olympus Mons is the tallest volcano.</mark>' in panel


def test_cited_span_is_the_sentence_the_answer_drew_on():
    src = source(1, "Bread needs flour. Sourdough rises for 12 hours at room temperature. Ovens are hot.")
    answer = Answer(text="Sourdough rises for about 12 hours [1].", sources=[src])
    ((a, b),) = render.cited_spans(answer, src)
    assert src.text[a:b] == "Sourdough rises for 12 hours at room temperature."
    assert render.cited_spans(Answer(text="x", sources=[src], abstained=True), src) == []


def test_streaming_error_and_abstention_rendering():
    assert "Searching" in render.turn_html(handlers.Turn("q"), 1)
    assert "rag-typing" in render.turn_html(handlers.Turn("q", text="Partial <b>"), 1)
    assert "&lt;b&gt;" in render.turn_html(handlers.Turn("q", text="Partial <b>"), 1)
    assert "rag-error" in render.turn_html(handlers.Turn("q", error="Ollama is <down>"), 1)
    user = render.chat_messages(handlers.Session("c", handlers.ChatOptions(), [handlers.Turn("<script>x</script>")]))[0]
    assert "<script" not in user["content"]


# -- uploads --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("C:\\Users\\me\\notes.md", "notes.md"),
        (".bashrc", "bashrc"),
        ("a<b>|c;rm -rf.txt", "a_b_c_rm -rf.txt"),
        ("..", "upload"),
        ("x" * 300 + ".md", "x" * 117 + ".md"),
    ],
)
def test_safe_name(name, expected):
    assert safe_name(name) == expected


def test_safe_relative_keeps_zip_members_inside():
    assert safe_relative("../../a/./b/../c.md") == Path("a/b/c.md")
    assert safe_relative("/abs/x.md") == Path("abs/x.md")
    assert safe_relative("folder/") is None


def make_zip(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            z.writestr(info, "/etc/passwd")
    return path


def test_zip_is_extracted_inside_the_upload_folder(tmp_path):
    z = make_zip(
        tmp_path / "bundle.zip", {"../../escape.md": b"# hi", "sub/ok.txt": b"ok", "run.exe": b"MZ"}, symlink="link.md"
    )
    dest = tmp_path / "uploads"
    out = save_uploads([z], dest, UploadLimits())
    assert sorted(p.relative_to(dest).as_posix() for p in out.saved) == ["bundle/escape.md", "bundle/sub/ok.txt"]
    reasons = dict(out.rejected)
    assert "unsupported file type" in reasons["bundle.zip/run.exe"]
    assert "symbolic links" in reasons["bundle.zip/link.md"]
    assert not (tmp_path / "escape.md").exists()


def test_zip_bomb_and_limits_write_nothing(tmp_path):
    bomb = make_zip(tmp_path / "bomb.zip", {"zeros.txt": b"0" * (3 * 1024 * 1024)})
    assert bomb.stat().st_size < 100_000
    big = tmp_path / "big.md"
    big.write_bytes(b"a" * (2 * 1024 * 1024))
    odd = tmp_path / "x.exe"
    odd.write_bytes(b"MZ")
    dest = tmp_path / "uploads"
    out = save_uploads([bomb, big, odd], dest, UploadLimits(max_mb=1, zip_max_mb=1))
    assert out.saved == [] and not any(dest.rglob("*.*"))
    reasons = dict(out.rejected)
    assert "expands to 3 MB" in reasons["bomb.zip"] and "too large" in reasons["big.md"]
    assert "unsupported file type (.exe)" in reasons["x.exe"]


def test_bad_zip_is_refused(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    assert "not a readable zip" in dict(save_uploads([bad], tmp_path / "u", UploadLimits()).rejected)["bad.zip"]


# -- documents tab ----------------------------------------------------------------------------


def test_upload_ingest_list_remove(embedder, tmp_path):
    s = settings()
    store = Store(s)
    upload = shutil.copy(UI_DATA / "zorblax.md", tmp_path / "field notes.md")
    seen: list[float] = []
    report, saved = docs.ingest_uploads(
        s, embedder, store, "new-coll", [upload], UploadLimits(), lambda f, d: seen.append(f)
    )
    copy = upload_dir(s.home, "new-coll") / "field notes.md"
    assert saved.saved == [copy] and copy.is_file() and str(copy).startswith(str(s.home))
    assert report.totals.ingested == 1 and seen and seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
    rows = render.report_rows(report, saved)
    assert rows[0][:3] == [str(copy), "ingested", report.files[0].chunks]
    listed = docs.list_documents(s, store, "new-coll")
    assert [d.path for d in listed] == [str(copy)] and listed[0].chunks >= 1
    assert "new-coll" in docs.collections(store)
    removed = docs.remove_document(s, store, "new-coll", str(copy))
    assert removed.totals.removed == 1 and not copy.exists()  # our own copy goes with it
    assert docs.list_documents(s, store, "new-coll") == []


def test_resync_folder_and_bad_folder(embedder, tmp_path):
    s = settings(ui_folders=[tmp_path])  # a folder new to the collection must be allowed by the operator
    store = Store(s)
    folder = shutil.copytree(DATA / "docs", tmp_path / "docs")
    first = docs.resync(s, embedder, store, "docs", str(folder))
    assert first.totals.ingested >= 4 and docs.roots(s, store, "docs") == [str(folder)]
    (folder / "mars.md").unlink()
    again = docs.resync(s, embedder, store, "docs", str(folder))
    assert again.totals.removed == 1 and again.totals.ingested == 0
    with pytest.raises(ConfigError, match="does not exist"):
        docs.resync(s, embedder, store, "docs", str(tmp_path / "nope"))
    assert docs.list_documents(s, store, "missing") == [] and docs.roots(s, store, "missing") == []


def test_refused_upload_reports_why(embedder, tmp_path):
    s = settings()
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    report, saved = docs.ingest_uploads(s, embedder, Store(s), "docs", [exe], UploadLimits())
    assert report is None and render.report_rows(report, saved)[0][1] == "refused"
    assert "refused" in render.report_summary(report, saved)


# -- binding safety ---------------------------------------------------------------------------


def test_non_loopback_without_auth_is_refused():
    with pytest.raises(ConfigError, match=r"Refusing to serve.*--auth"):
        check_bind("0.0.0.0", None)
    assert check_bind("0.0.0.0", "ann:s3cret") == ("ann", "s3cret")
    assert check_bind("127.0.0.1", None) is None and check_bind("localhost", None) is None
    assert is_loopback("::1") and is_loopback("127.0.0.2") and not is_loopback("192.168.1.5")
    assert not is_loopback("myhost.example")
    with pytest.raises(ConfigError, match="user:password"):
        parse_auth("no-colon")
