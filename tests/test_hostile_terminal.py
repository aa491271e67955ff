"""Terminal injection: escape sequences in documents (text, .md headings, file names) never reach the terminal raw.

Found by hand (issue 26): `\\e[2J` in a .txt file cleared the screen of `rag ask` and `\\e]0;...` retitled it.
"""

from __future__ import annotations

import logging
import re

from rag.text.terminal import SafeLogRecord, line, plain, safe

from tests.test_cli import rag

# every control a terminal acts on: C0 except newline and tab, DEL, and the C1 range (0x9b is a one-byte CSI)
LIVE = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
HOSTILE = "\x1b[31mred\x1b[0m \x1b]0;PWNED\x07 clear \x1b[2J \x9b2J \rover"


def test_safe_makes_every_control_visible_and_keeps_layout():
    out = safe("a\x1b[2Jb\tc\nd\x9be\x00\x7f")
    assert not LIVE.search(out)
    assert out == "a\u241b[2Jb\tc\nd\ufffde\u2400\u2421"
    assert not LIVE.search(plain(HOSTILE).plain) and not LIVE.search(line(HOSTILE, (HOSTILE, "red")).plain)


def test_report_renderers_make_controls_inert_and_keep_markup_literal():
    import io

    from rich.console import Console

    from rag.doctor import Check, Diagnosis
    from rag.report import print_answer, print_diagnosis
    from rag.types import Answer, Source, Timings

    def render(fn, *args) -> str:
        out = io.StringIO()
        fn(*args, console=Console(file=out, width=300, color_system=None))
        return out.getvalue()

    doctor = render(print_diagnosis, Diagnosis([Check("store", "problem", f"[/x] {HOSTILE}", fix=f"fix {HOSTILE}")]))
    answer = Answer(
        text=f"text {HOSTILE}", note=f"note {HOSTILE}", llm_error=f"down {HOSTILE}",
        sources=[Source(n=1, id="a", path=f"/d/{HOSTILE}.md", page=None, text=HOSTILE, score=0.5)],
        timings=Timings(retrieve_s=0.0, first_token_s=None, total_s=0.0),
    )  # fmt: skip
    for text in (doctor, render(print_answer, answer)):
        assert not LIVE.search(text) and "PWNED" in text, repr(text)
    assert "[/x]" in doctor and "fix " in doctor


def test_log_messages_are_made_safe(caplog):
    record = SafeLogRecord("rag", logging.INFO, __file__, 1, "reading %s", (HOSTILE,), None)
    assert not LIVE.search(record.getMessage()) and "PWNED" in record.getMessage()


def test_ask_and_ingest_print_no_raw_escape_from_text_headings_or_names(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "ansi.txt").write_text(f"Aardvark protocol {HOSTILE}\n")
    (folder / "zebra.md").write_text("# Zebra \x1b[31mheading\x1b[0m \x1b]0;PWNED\x07\n\nZebra crossing rules apply.\n")
    (folder / "name\x1b[2Jx.txt").write_text("Quokka habitat notes.\n")
    ingested = rag("ingest", str(folder))
    assert ingested.returncode == 0, ingested.stderr
    assert not LIVE.search(ingested.stdout + ingested.stderr), repr(ingested.stdout)
    assert "name\u241b[2Jx.txt" in ingested.stdout.replace("\n", "")  # the name is shown, made inert
    for question, expected in [("aardvark protocol", "PWNED"), ("zebra heading", "\u241b[31mheading")]:
        out = rag("ask", question, "--mode", "extract")
        assert out.returncode == 0, out.stderr
        assert expected in out.stdout, out.stdout  # the text is shown, its escapes made visible
        assert not LIVE.search(out.stdout + out.stderr), repr(out.stdout)


def test_eval_reports_carry_no_live_controls(tmp_path):
    from eval.report import write_reports
    from tests.test_eval_report import answers_results

    results = answers_results()
    results["items"][0]["question"] = f"question {HOSTILE}?"
    results["items"][0]["answer"] = f"answer {HOSTILE}"
    for path in write_reports(tmp_path, results):
        text = path.read_text()
        assert "PWNED" in text and not LIVE.search(text), path.name
