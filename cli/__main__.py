"""`python -m cli ...` is `rag ...`."""

from __future__ import annotations

from cli.main import main

main()
