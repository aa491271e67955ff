"""BM25 keyword index of a collection's chunks, kept in step with ingestion (SQLite FTS5).

Written ourselves on SQLite FTS5 rather than bm25s: FTS5 updates incrementally and persists on
disk, while bm25s rebuilds its whole index on every change.

Layout, in `settings.lexical_path` (a sibling of the manifest's state file), per collection id:
  lex_<id>_docs  (n INTEGER PRIMARY KEY, id, path, text)  - the rows; indexed by chunk id and path
  lex_<id>       FTS5 external-content index over docs.text, tokenize='porter unicode61'
A table pair per collection (not one table with a collection column) keeps BM25's document
statistics per collection and makes dropping one a DROP TABLE. Ordering against the manifest's
write-ahead protocol (add before `done`, delete after `pending`) is what keeps it crash-safe, so it
needs no shared transaction with the manifest.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

# Unicode61's token characters are letters and digits; everything else separates tokens.
_TOKEN = re.compile(r"[^\W_]+")
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
MAX_TERMS = 32
# FTS5 floors the IDF of a word found in over half of the rows at 1e-6, so rows matched only by
# such words score ~1e-6: no evidence, and ranking them would feed arbitrary order into fusion.
MIN_SCORE = 1e-3

# FTS5 scores every row that matches any query word, so a query OR-ing common words ranks half
# the collection: measured 170 ms at 100k SciFact chunks. The most common words are dropped (not a
# stopword list: this adapts to each corpus and language) until the words kept match at most this
# many rows. Cost measured on SciFact test queries pruned at the same 10% of its 9.7k chunks:
# BM25 recall@10 0.808 -> 0.789, hybrid recall@10 0.843 -> 0.838 (dense alone: 0.817).
MAX_SCORED_ROWS = 10_000
# Chunk metadata key of a contextual header (ingest/headers.py): indexed before the chunk's text.
HEADER_KEY = "header"


def _alternatives(word: str) -> list[str]:
    """FTS5 strings for one whitespace-separated query word.

    "ZX-4471" and "ZX4471" both search `"zx 4471"` and `"zx4471"`: documents write identifiers
    either way, and unicode61 splits the first into two adjacent tokens (a phrase).
    """
    tokens = [t.lower() for t in _TOKEN.findall(word)]
    if not tokens:
        return []
    if len(tokens) == 1:
        parts = [p for p in _LETTER_DIGIT.split(tokens[0]) if p]
        return [tokens[0]] + ([" ".join(parts)] if len(parts) > 1 else [])
    return [" ".join(tokens), "".join(tokens)]


def query_terms(query: str) -> list[str]:
    """One FTS5 expression per query word: its forms quoted (no FTS syntax leaks through), OR-ed."""
    terms: list[str] = []
    seen: set[str] = set()
    for word in query.split():
        alts = [a for a in _alternatives(word) if a not in seen]
        seen.update(alts)
        if alts:
            terms.append(" OR ".join(f'"{a}"' for a in alts))
    return terms[:MAX_TERMS]


class LexicalIndex:
    """The BM25 index of one collection (by Chroma collection id)."""

    def __init__(self, db_path: Path, collection_id: str) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self.collection_id = collection_id
        key = table_key(collection_id)
        self.fts, self.docs = f"lex_{key}", f"lex_{key}_docs"
        # check_same_thread=False + a lock: the UI may search from worker threads.
        self.db = sqlite3.connect(str(db_path), timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.RLock()
        self._paths: tuple[int, list[str]] | None = None  # (PRAGMA data_version, paths)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._create()

    def _create(self) -> None:
        with self._lock:
            self.db.executescript(
                f"""
                CREATE TABLE IF NOT EXISTS {self.docs} (
                    n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, path TEXT NOT NULL, text TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS {self.docs}_path ON {self.docs}(path);
                CREATE VIRTUAL TABLE IF NOT EXISTS {self.fts} USING fts5(
                    text, content='{self.docs}', content_rowid='n', tokenize='porter unicode61');
                """
            )

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> LexicalIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes -----------------------------------------------------------------------------

    def _delete_where(self, condition: str, params: tuple) -> None:
        self._paths = None  # PRAGMA data_version does not see this connection's own writes
        # External content: FTS5 must be told the exact text it indexed to remove a row.
        self.db.execute(
            f"INSERT INTO {self.fts}({self.fts}, rowid, text) "
            f"SELECT 'delete', n, text FROM {self.docs} WHERE {condition}",
            params,
        )
        self.db.execute(f"DELETE FROM {self.docs} WHERE {condition}", params)

    def add(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Add or replace chunks, given as (chunk id, path, text), in one transaction."""
        rows = list(rows)
        if not rows:
            return
        ids = (json.dumps([r[0] for r in rows]),)
        by_id = "id IN (SELECT value FROM json_each(?))"
        with self._lock, self.db:
            self.db.execute("BEGIN")
            self._delete_where(by_id, ids)  # idempotent, like Chroma's upsert
            self.db.executemany(f"INSERT INTO {self.docs} (id, path, text) VALUES (?, ?, ?)", rows)
            self.db.execute(f"INSERT INTO {self.fts}(rowid, text) SELECT n, text FROM {self.docs} WHERE {by_id}", ids)

    def delete_path(self, path: str) -> None:
        """Remove every chunk of `path`."""
        with self._lock, self.db:
            self.db.execute("BEGIN")
            self._delete_where("path = ?", (path,))

    def delete_ids(self, ids: list[str]) -> None:
        """Remove these chunks (ids it does not hold are ignored)."""
        if ids:
            with self._lock, self.db:
                self.db.execute("BEGIN")
                self._delete_where("id IN (SELECT value FROM json_each(?))", (json.dumps(list(ids)),))

    def delete_path_except(self, path: str, keep: set[str]) -> None:
        """Remove the chunks of `path` whose id is not in `keep`."""
        with self._lock, self.db:
            self.db.execute("BEGIN")
            condition = "path = ? AND id NOT IN (SELECT value FROM json_each(?))"
            self._delete_where(condition, (path, json.dumps(sorted(keep))))

    def drop(self) -> None:
        """Delete this collection's index entirely (tables included; close this object afterwards)."""
        with self._lock:
            self._paths = None
            self.db.execute(f"DROP TABLE IF EXISTS {self.fts}")
            self.db.execute(f"DROP TABLE IF EXISTS {self.docs}")

    def rebuild(self, col, page: int = 5000) -> int:
        """Refill from a Chroma collection's stored documents; returns the chunk count.

        One transaction: a crash leaves the previous index, and the count check redoes it.
        """
        with self._lock, self.db:
            self.db.execute("BEGIN")
            self._paths = None
            self.db.execute(f"DELETE FROM {self.docs}")
            offset = 0
            while True:
                got = col.get(include=["documents", "metadatas"], limit=page, offset=offset)
                self.db.executemany(
                    f"INSERT OR REPLACE INTO {self.docs} (id, path, text) VALUES (?, ?, ?)",
                    [
                        (i, str((m or {}).get("path", "")), _indexed_text(m, d))
                        for i, m, d in zip(got["ids"], got["metadatas"], got["documents"])
                    ],
                )
                if len(got["ids"]) < page:
                    break
                offset += page
            # 'rebuild' re-reads the whole content table, which also clears what was indexed before.
            self.db.execute(f"INSERT INTO {self.fts}({self.fts}) VALUES ('rebuild')")
        return self.count()

    # -- reads ------------------------------------------------------------------------------

    def count(self) -> int:
        with self._lock:
            return int(self.db.execute(f"SELECT COUNT(*) FROM {self.docs}").fetchone()[0])

    def ids(self) -> set[str]:
        """Every indexed chunk id (to check the index against Chroma)."""
        with self._lock:
            return {r[0] for r in self.db.execute(f"SELECT id FROM {self.docs}")}

    def paths(self) -> list[str]:
        """Every indexed path, once; cached until the index changes (any connection's write)."""
        with self._lock:
            version = self.db.execute("PRAGMA data_version").fetchone()[0]
            if self._paths is None or self._paths[0] != version:
                rows = self.db.execute(f"SELECT DISTINCT path FROM {self.docs}")
                self._paths = (version, [r[0] for r in rows])
            return self._paths[1]

    def shares(self, words: list[str]) -> dict[str, float]:
        """The share of rows each word occurs in (porter-stemmed, as `search` matches it)."""
        out: dict[str, float] = {}
        with self._lock:
            total = int(self.db.execute(f"SELECT COUNT(*) FROM {self.docs}").fetchone()[0])
            for word in dict.fromkeys(words):
                alts = _alternatives(word)
                if alts and total:
                    out[word] = self._matching(f'"{alts[0]}"') / total
        return out

    def _matching(self, term: str) -> int:
        sql = f"SELECT COUNT(*) FROM {self.fts} WHERE {self.fts} MATCH ?"
        return int(self.db.execute(sql, (term,)).fetchone()[0])

    def _rarest(self, terms: list[str]) -> list[str]:
        """The rarest terms whose matches add up to at most MAX_SCORED_ROWS (at least one term)."""
        if len(terms) < 2:
            return terms
        df = {t: self._matching(t) for t in terms}
        kept: list[str] = []
        rows = 0
        for t in sorted(terms, key=df.__getitem__):
            if kept and rows + df[t] > MAX_SCORED_ROWS:
                break
            kept.append(t)
            rows += df[t]
        return kept

    def search(self, query: str, k: int, paths: list[str] | None = None) -> list[tuple[str, float]]:
        """The best `k` chunks by BM25 as (chunk id, score), higher is better; only real matches.

        Args:
            query: free text: each word is searched as typed (quoted, porter-stemmed), identifiers
                like "ZX-4471" as a phrase or run together; words are OR-ed, the most common
                dropped when scoring them all would be slow (see MAX_SCORED_ROWS).
            k: how many to return.
            paths: when given, only chunks of these paths.
        """
        terms = query_terms(query)
        if not terms or k <= 0:
            return []
        with self._lock:
            where, params = f"{self.fts} MATCH ?", [" OR ".join(self._rarest(terms))]
            if paths is not None:
                where += " AND d.path IN (SELECT value FROM json_each(?))"
                params.append(json.dumps(paths))
            sql = (
                f"SELECT d.id, -bm25({self.fts}) FROM {self.fts} "
                f"JOIN {self.docs} d ON d.n = {self.fts}.rowid "
                f"WHERE {where} ORDER BY bm25({self.fts}) LIMIT ?"
            )
            rows = self.db.execute(sql, (*params, k)).fetchall()
        return [(i, float(score)) for i, score in rows if score >= MIN_SCORE]


def _indexed_text(meta: dict | None, document: str | None) -> str:
    """A stored chunk's keyword text as ingestion wrote it: its header (if any), then its text."""
    header = (meta or {}).get(HEADER_KEY)
    return f"{header}\n{document or ''}" if header else document or ""


def table_key(collection_id: str) -> str:
    return re.sub(r"\W", "_", collection_id)


def table_keys(db_path: Path) -> set[str]:
    """The table keys (collection ids, see `table_key`) that have a keyword index in `db_path`."""
    if not db_path.exists():
        return set()
    db = sqlite3.connect(str(db_path), timeout=30)
    try:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'lex_%_docs'")
        return {r[0][len("lex_") : -len("_docs")] for r in rows}
    finally:
        db.close()


def drop_tables(db_path: Path, keys: set[str]) -> None:
    """Drop the keyword index of these table keys (a rebuild that crashed after its swap leaves some)."""
    db = sqlite3.connect(str(db_path), timeout=30, isolation_level=None)
    try:
        for key in sorted(keys):
            db.execute(f"DROP TABLE IF EXISTS lex_{key}")
            db.execute(f"DROP TABLE IF EXISTS lex_{key}_docs")
    finally:
        db.close()
