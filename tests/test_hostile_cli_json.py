"""`--json` promises one JSON object on stdout, errors included (issue 26: a bad option printed nothing there)."""

from __future__ import annotations

import json

import pytest

from tests.test_cli import rag


@pytest.mark.parametrize(
    ("args", "kind", "says"),
    [
        (["ask", "q", "--json", "--top-k", "abc"], "usage", "--top-k"),
        (["ask", "q", "--json", "--bogus"], "usage", "No such option: --bogus"),
        (["ask", "--json"], "usage", "Missing argument"),
        (["ask", "q", "--json", "--mode", "nonsense"], "error", "answer_mode"),  # a settings error, ours: exit 2
        (["status", "--json", "--chroma-url"], "usage", "--chroma-url"),  # an option missing its value
    ],
)
def test_a_bad_option_under_json_gives_a_json_error_on_stdout(args, kind, says):
    out = rag(*args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    error = json.loads(out.stdout)["error"]  # exactly one JSON object: json.loads refuses anything more
    assert error["kind"] == kind and says in error["message"] and error["exit_code"] == 2, error
    assert says in out.stderr  # people still read the message where they did


def test_without_json_stdout_stays_empty_on_a_usage_error():
    out = rag("ask", "q", "--top-k", "abc")
    assert out.returncode == 2 and out.stdout == "" and "--top-k" in out.stderr


def test_json_success_and_help_are_unchanged(tmp_path):
    assert rag("ask", "--json", "--help").returncode == 0
    out = rag("status", "--json")
    assert out.returncode == 0 and "collections" in json.loads(out.stdout)
