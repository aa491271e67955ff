"""The command line with text that looks like rich markup, and with errors that are not ours."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from rag.types import Answer, FileResult, FileStatus, IngestReport, Source, Timings, Unsupported
from tests.test_cli import rag

MARKUP = Path(__file__).resolve().parent / "data" / "markup"
NASTY = "[/etc/hosts] [bold] [/bold] [red]x[/red] :smile:"


def _render(fn, *args, **kwargs) -> str:
    out = io.StringIO()
    fn(*args, console=Console(file=out, width=400, color_system=None), **kwargs)
    return out.getvalue()


def test_answer_report_prints_document_and_model_text_as_it_is():
    from cli.report import print_answer

    answer = Answer(
        text=f"The tide table is in {NASTY} [1].",
        sources=[Source(n=1, id="a", path=f"/docs/{NASTY}.md", page=None, text=f"passage {NASTY}", score=0.5)],
        unsupported=[Unsupported(sentence=f"claim {NASTY}", cited=[1], reason="no support", support=0.1)],
        rewritten_query=f"query {NASTY}",
        backend="embedded",
        model=f"model {NASTY}.gguf",
        timings=Timings(retrieve_s=0.01, first_token_s=0.1, total_s=0.2),
    )
    for streamed in (None, "something else"):
        text = _render(print_answer, answer, streamed=streamed)
        assert text.count("[/etc/hosts]") >= 5 and text.count(":smile:") >= 5 and "[red]x[/red]" in text


def test_ingest_report_prints_paths_and_reasons_as_they_are():
    from cli.report import print_report

    report = IngestReport("c")
    report.add(FileResult(f"/docs/{NASTY}.txt", FileStatus.FAILED, f"not valid JSON ({NASTY})"))
    text = _render(print_report, report)
    assert text.count("[/etc/hosts]") == 2 and text.count("[red]x[/red]") == 2


def test_space_tables_print_document_text_as_it_is():
    from space.render import print_hits
    from space.similarity import Hit

    hits = [Hit(id="a", path=f"/docs/{NASTY}.md", score=0.9, preview=f"passage {NASTY}")]
    text = _render(print_hits, hits, f"nearest chunks to {NASTY!r}")
    assert text.count("[/etc/hosts]") == 3


def test_ask_similar_and_ingest_with_markup_in_documents_end_to_end(tmp_path):
    docs = shutil.copytree(MARKUP, tmp_path / "docs")
    wide = {"COLUMNS": "400"}  # rich folds table cells at the terminal's width: keep each passage on one line
    ingested = rag("ingest", str(docs), env=wide)
    assert ingested.returncode == 0, ingested.stderr
    assert "notes [bold].md" in ingested.stdout and "MarkupError" not in ingested.stderr
    # abstaining (threshold 0.99) needs no model, and still prints the closest passages
    asked = rag("ask", "Where is the tide table kept?", "--threshold", "0.99", env=wide)
    assert asked.returncode == 0, asked.stderr
    assert "[/etc/hosts]" in asked.stdout and "Traceback" not in asked.stderr
    similar = rag("space", "similar", "tide table [/bold]", env=wide)
    assert similar.returncode == 0, similar.stderr
    assert "[/etc/hosts]" in similar.stdout and "[/bold]" in similar.stdout


CRASH = (
    "import sys, ingest.status as s\n"
    "def boom(*a, **k):\n"
    "    raise RuntimeError('a bug [/etc/hosts]')\n"
    "s.collection_status = boom\n"
    "sys.argv = ['rag', *sys.argv[1:]]\n"
    "import cli.main\n"
    "cli.main.main()\n"
)


def _crash(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CRASH, *args], capture_output=True, text=True, timeout=300)


def test_unexpected_errors_exit_3_with_one_line_and_a_log_file(isolated_home):
    out = _crash("status")
    assert out.returncode == 3, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert "RuntimeError: a bug [/etc/hosts]" in lines[0] and "--debug" in lines[0]
    log = Path(lines[0].split("the traceback is in ", 1)[1].split(";", 1)[0])
    assert log.is_file() and log.is_relative_to(isolated_home) and (log.stat().st_mode & 0o077) == 0
    assert "Traceback" in log.read_text() and "boom" in log.read_text()


def test_debug_prints_the_traceback_wherever_the_flag_is():
    for args in (("status", "--debug"), ("--debug", "status")):
        out = _crash(*args)
        assert out.returncode == 3 and "Traceback" in out.stderr and "boom" in out.stderr, args


def test_our_errors_keep_exit_2_and_failed_files_exit_1(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "bad.json").write_text("{not json")
    (folder / "good.md").write_text("The ferry leaves at noon.")
    failed = rag("ingest", str(folder), "--json")
    assert failed.returncode == 1 and json.loads(failed.stdout)["totals"]["failed"] == 1
    assert rag("ask", "x?", "--collection", "nope").returncode == 2
