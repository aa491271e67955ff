"""`rag space ...`: look inside a collection's embedding space (thin edge over space/)."""

from __future__ import annotations

import typer

space_app = typer.Typer(help="Look inside a collection's embedding space: map, topics, similar, duplicates, health.",
                        no_args_is_help=True)
