"""One stored passage by chunk id, with the chunks around it in its file (what `get_passage` returns).

Search results carry chunk ids; a reader (a person or an agent) who wants more context than one
chunk asks for its neighbours here instead of opening the file, which may not be reachable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.errors import RagError


class PassageNotFound(RagError):
    """No chunk with that id is stored in the collection."""


@dataclass
class Passage:
    """A stored chunk and where it sits in its file."""

    id: str
    path: str
    page: int | None
    chunk_index: int
    text: str
    start: int
    end: int

    def to_dict(self) -> dict:
        return {
            "chunk_id": self.id,
            "path": self.path,
            "page": self.page,
            "chunk_index": self.chunk_index,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


@dataclass
class PassageWithContext:
    passage: Passage
    before: list[Passage] = field(default_factory=list)  # nearest last
    after: list[Passage] = field(default_factory=list)  # nearest first
    n_chunks: int | None = None  # chunks of the whole file

    @property
    def context(self) -> str:
        """The passage and its neighbours as one text; overlapping chunk ends are not repeated."""
        parts = [*self.before, self.passage, *self.after]
        text, prev = parts[0].text, parts[0]
        for p in parts[1:]:
            overlap = prev.end - p.start
            same_span = p.page == prev.page and len(p.text) == p.end - p.start and 0 < overlap < len(p.text)
            text += p.text[overlap:] if same_span else "\n\n" + p.text
            prev = p
        return text

    def to_dict(self) -> dict:
        return {
            **self.passage.to_dict(),
            "n_chunks": self.n_chunks,
            "before": [p.to_dict() for p in self.before],
            "after": [p.to_dict() for p in self.after],
            "context": self.context,
        }


def _passage(chunk_id: str, text: str | None, meta: dict | None) -> Passage:
    m = meta or {}
    return Passage(
        id=chunk_id,
        path=str(m.get("path", "")),
        page=int(m.get("page") or 0) or None,
        chunk_index=int(m.get("chunk_index", 0)),
        text=text or "",
        start=int(m.get("start_char", 0)),
        end=int(m.get("end_char", 0)),
    )


def get_passage(collection, chunk_id: str, neighbours: int = 1) -> PassageWithContext:
    """The chunk `chunk_id` of a Chroma `collection` with up to `neighbours` chunks on each side.

    Raises:
        PassageNotFound: no such chunk (a stale id from before a re-ingest, or another collection).
    """
    got = collection.get(ids=[chunk_id], include=["documents", "metadatas"])
    if not got["ids"]:
        raise PassageNotFound(
            f"No passage with chunk id {chunk_id!r} in collection {collection.name!r} - chunk ids come "
            "from search results of the same collection, and change when a file is re-ingested."
        )
    meta = got["metadatas"][0] or {}
    main = _passage(chunk_id, got["documents"][0], meta)
    result = PassageWithContext(main, n_chunks=int(meta["n_chunks"]) if meta.get("n_chunks") else None)
    wanted = [i for i in range(main.chunk_index - neighbours, main.chunk_index + neighbours + 1) if i >= 0]
    wanted.remove(main.chunk_index)
    if not wanted or neighbours <= 0:
        return result
    near = collection.get(
        where={"$and": [{"path": main.path}, {"chunk_index": {"$in": wanted}}]},
        include=["documents", "metadatas"],
    )
    others = sorted(
        (_passage(i, d, m) for i, d, m in zip(near["ids"], near["documents"], near["metadatas"])),
        key=lambda p: p.chunk_index,
    )
    result.before = [p for p in others if p.chunk_index < main.chunk_index]
    result.after = [p for p in others if p.chunk_index > main.chunk_index]
    return result
