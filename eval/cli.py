"""`rag eval ...`: offline evaluation of retrieval and answers (thin edge over eval/)."""

from __future__ import annotations

import typer

eval_app = typer.Typer(help="Measure retrieval and answers offline, and compare runs.", no_args_is_help=True)
