"""Commands, paths and flags in answer and source text, for the citation check (rag.verify.text).

A small model answering "how do I ...?" writes fluent commands that no source has (`rag sync
--all`, `~/.ragspace/config`): the words around them match the sources, so support by embedding and
word overlap stays high, while the one thing a user would copy is invented. Here they become terms
that must appear exactly in the sources:

- cmd: the head of a command (program and subcommand: "rag sync") in a code span, or after a
  program the sources use, in prose ("run rag sync"); each other plain word of it (`pip install
  ragtools`) is a cmd piece of its own, and so is a code span of one plain word (`rake`);
- flag: --foo, -x (the part before "=");
- path: ~/..., /etc/..., ./..., C:\\..., and URLs.

Source text is read with `source=True`: every word and pair of neighbouring words counts as a
command head it contains (a README may say "run rag ingest" in prose), and a path also vouches
for each directory above it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from rag.text.words import FUNCTION_WORDS

CODE_KINDS = ("cmd", "flag", "path")

_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_URL = re.compile(r"\bhttps?://[^\s`'\"<>()\[\]]+")
# not after "<": a closing HTML tag ("</u>") in text is markup, not a path
_PATH = re.compile(
    r"(?<![\w/\\~.:<-])(?:(?:~|\.{1,2})?/[\w.~+@%-]*\w[\w.~+@%-]*(?:/[\w.~+@%-]*)*|[A-Za-z]:\\[^\s`'\"<>|]*)"
)
_FLAG = re.compile(r"(?<![\w.\\-])(?:--[A-Za-z][\w-]*|-[A-Za-z]{1,2}(?![\w-]))")
_ARG = re.compile(r"\"[^\"]*\"|'[^']*'|\S+")
_PROGRAM = re.compile(r"[a-z][\w.+-]*")
_SUB = re.compile(r"[a-z][\w-]*")
_WORD = r"[A-Za-z](?:[\w.+-]*[\w+])?"
_SINGLE = re.compile(r"(?<![\w.+/-])" + _WORD)
_PAIR = re.compile(r"(?<![\w.+/-])(" + _WORD + r")(?=[ \t]+(" + _WORD + r"))")
# in prose, "rag sync" is a command only when it reads like one: after a verb of running it, or
# followed by a flag or a path ("make sure ..." is not `make` run with "sure")
_RUN = r"(?i:\b(?:run|running|type|execute|enter|use|using|try|call|invoke|with|command)\s+(?:the\s+)?(?:command\s+)?)"
_THEN = r"[ \t]+(?:--?[A-Za-z]|~/|\.{0,2}/\w)"


class Piece(NamedTuple):
    kind: str  # cmd | flag | path
    key: str  # as matched: exact, case kept
    shown: str  # as written
    where: str  # the command it belongs to ("" outside one), shown in reasons


def _clean_path(raw: str) -> str:
    raw = raw.rstrip(".,;:!?")
    return raw.rstrip("/\\") or raw


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def programs(texts: Iterable[str]) -> set[str]:
    """Programs the texts run: the first word of code spans of two or more words, code lines, `$ ` lines."""
    found = set()
    for text in texts:
        lines = [m.group(1) for m in _CODE_SPAN.finditer(text)]
        lines += [ln.strip()[2:] for ln in text.splitlines() if ln.strip().startswith("$ ")]
        lines += [ln for block in re.findall(r"```[^\n]*\n(.*?)```", text, re.S) for ln in block.splitlines()]
        for line in lines:
            words = line.split()
            if len(words) >= 2 and _PROGRAM.fullmatch(words[0]):
                found.add(words[0])
    return found


def _command(body: str, alone: bool = False) -> list[Piece]:
    """The pieces of one command line (a code span's text or a line of a code block).

    `alone`: a code span of one plain word (`rake`, `gfgufei`) is a command or value too.
    """
    body = re.sub(r"^\$\s+|\s+#.*$", "", body.strip())
    args = _ARG.findall(body)
    if alone and len(args) == 1 and _SUB.fullmatch(body) and body not in FUNCTION_WORDS:
        return [Piece("cmd", body, body, body)]
    if len(args) < 2 or not _PROGRAM.fullmatch(args[0]):
        return []
    head = args[:2] if _SUB.fullmatch(args[1]) else args[:1]
    out = [Piece("cmd", " ".join(head), " ".join(head), body)]
    for arg in args[len(head) :]:
        if arg[0] in "\"'<" or arg.isupper():  # a quoted value or a placeholder (PATH, <folder>)
            continue
        if _FLAG.fullmatch(arg.split("=", 1)[0]):
            out.append(Piece("flag", arg.split("=", 1)[0], arg, body))
        elif _PATH.fullmatch(arg) or _URL.fullmatch(arg):
            out.append(Piece("path", _clean_path(arg), arg, body))
        elif re.fullmatch(r"[A-Za-z][\w.+-]*", arg) and arg.lower() not in FUNCTION_WORDS:
            out.append(Piece("cmd", arg, arg, body))
    return out


def _prose_commands(text: str, known: set[str]) -> list[Piece]:
    if not known:
        return []
    progs = "|".join(re.escape(p) for p in sorted(known, key=len, reverse=True))
    pattern = re.compile(rf"({_RUN})?(?<![\w./-])({progs})[ \t]+([a-z][\w-]*)(?![\w/-]|\.\w)")
    out = []
    for m in pattern.finditer(text):
        then = re.match(_THEN, text[m.end() :]) is not None
        if (m.group(1) or then) and m.group(3) not in FUNCTION_WORDS:
            head = f"{m.group(2)} {m.group(3)}"
            out.append(Piece("cmd", head, head, head))
    return out


def code_pieces(text: str, known: set[str] | None = None, source: bool = False) -> tuple[list[Piece], str]:
    """Commands, flags and paths in `text`, and the text with them blanked out.

    Answer text (`source=False`) comes back with what was taken out replaced by spaces, so its
    words are not counted twice. Source text comes back unchanged: its words still index as before.
    `known` are the programs the sources run (see `programs`), for commands written in prose.
    """
    pieces: list[Piece] = []
    rest = text
    if source:
        pieces += [Piece("cmd", m.group(), m.group(), "") for m in _SINGLE.finditer(text)]
        pieces += [Piece("cmd", f"{m.group(1)} {m.group(2)}", m.group(1), "") for m in _PAIR.finditer(text)]
    else:
        for m in _CODE_SPAN.finditer(text):
            found = _command(m.group(1), alone=True)
            if found:
                pieces += found
                rest = _blank(rest, m.start(), m.end())
        pieces += _prose_commands(rest, known or set())
    for rx, kind in ((_URL, "path"), (_PATH, "path"), (_FLAG, "flag")):
        for m in rx.finditer(rest):
            key = _clean_path(m.group()) if kind == "path" else m.group()
            pieces.append(Piece(kind, key, key if kind == "path" else m.group(), ""))
            pieces += _above(key) if source and kind == "path" else []
            if not source:
                rest = _blank(rest, m.start(), m.start() + len(key))
    return pieces, rest


def _above(path: str) -> list[Piece]:
    """The directories a source's path lies in: "~/a/b.md" vouches for "~/a" too."""
    seps = [i for i, ch in enumerate(path) if ch in "/\\"]
    cuts = [i for i in seps[1:] if path[i - 1] not in ":/\\"]  # not "~", "https:" or "https:/"
    return [Piece("path", path[:i], path[:i], "") for i in cuts]


def block_pieces(block: str) -> list[Piece]:
    """Commands, flags and paths of a fenced code block, line by line (other code is not checked)."""
    out: list[Piece] = []
    for line in block.splitlines():
        if line.strip() and not re.match(r"\s*(?:```|~~~)", line):
            out += _command(line) or [p for p in code_pieces(line)[0] if p.kind in CODE_KINDS]
    return out
