"""docs/cli.md is what the `rag` command says of itself (scripts/cli_reference.py writes it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_docs_cli_md_is_current():
    made = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_reference.py")], cwd=ROOT, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    assert (ROOT / "docs" / "cli.md").read_text() == made.stdout, (
        "docs/cli.md is out of date: run `.venv/bin/python scripts/cli_reference.py > docs/cli.md`"
    )
