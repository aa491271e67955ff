"""Printing text that is not ours without letting it act on the terminal or as markup.

Document text, paths, model names and error details may hold two kinds of active content:
- rich markup such as `[bold]` or `[/etc/hosts]`: rich parses `[...]` in plain strings as markup
  (a closing tag that was never opened raises MarkupError);
- terminal control: ESC sequences (`\\x1b[2J` clears the screen, `\\x1b]0;...` retitles the window,
  OSC 8 makes links), CR that overwrites a line, and the C1 controls (`\\x9b` is a one-byte CSI).
  Rich drops BEL and a few others but passes ESC through, leaving the sequence live.

`safe` is the one sanitiser: every print site (CLI tables, streamed answers, error lines, logs via
`SafeLogRecord`, installed by cli/logs.py) shows foreign text through it or through `plain`/`line`, which use it.
C0 controls and DEL become their visible Unicode "control pictures" (ESC -> U+241B), C1 controls
become U+FFFD; newline and tab stay, as they only lay text out.
"""

from __future__ import annotations

import logging

from rich.text import Text

_KEEP = {"\n", "\t"}
_TABLE = {c: 0x2400 + c for c in range(0x20) if chr(c) not in _KEEP}
_TABLE[0x7F] = 0x2421  # DEL
_TABLE.update({c: 0xFFFD for c in range(0x80, 0xA0)})  # C1: no pictures exist; the replacement mark shows them


def safe(value: object) -> str:
    """`value` as text with every terminal control except newline and tab made visible and inert."""
    return ("" if value is None else str(value)).translate(_TABLE)


def plain(value: object, style: str = "") -> Text:
    """`value` as literal, terminal-safe text (None as ""), optionally styled."""
    return Text(safe(value), style=style)


def line(*parts: str | Text | tuple[str, str]) -> Text:
    """One line from literal pieces: a str is literal text, (text, style) a styled piece, both made safe;
    a Text is taken as it is (make it with `plain`)."""
    cleaned = [(safe(p[0]), p[1]) if isinstance(p, tuple) else p if isinstance(p, Text) else safe(p) for p in parts]
    return Text.assemble(*cleaned)


class SafeLogRecord(logging.LogRecord):
    """A log record whose message is terminal-safe: log lines name files and quote their errors."""

    def getMessage(self) -> str:  # the logging API's name
        return safe(super().getMessage())
