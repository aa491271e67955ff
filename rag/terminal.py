"""Printing through rich without letting text that is not ours act as markup.

Document text, paths, model names and error details may contain `[bold]` or `[/etc/hosts]`;
rich parses `[...]` in plain strings as markup (a closing tag that was never opened raises
MarkupError). Everything that is not a literal of ours goes through `plain` as a `Text`, which
rich prints as it is (no markup, no emoji codes).
"""

from __future__ import annotations

from rich.text import Text


def plain(value: object, style: str = "") -> Text:
    """`value` as literal text (None as ""), optionally styled."""
    return Text("" if value is None else str(value), style=style)


def line(*parts: str | Text | tuple[str, str]) -> Text:
    """One line from literal pieces: a str is literal text, (text, style) a styled piece."""
    return Text.assemble(*parts)
