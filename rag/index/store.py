"""The Chroma store: embedded PersistentClient or a Chroma server, with fingerprinted collections.

A collection's metadata records how it was built (embedding model, dimension, chunker). Opening
it with other settings is refused: mixing vectors from two models silently ruins retrieval.
Rebuilds go into a side collection that is swapped in only when complete.

Only writers (holding the writer lock, ingest/lock.py) finish an interrupted swap; a reader that
finds the swap half-done reads the complete side collection instead, so it never races a writer's
delete or rename. A side collection records the pid and host of the process filling it, so a
rebuild never deletes another live process's rebuild.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from rag.errors import CollectionNotFound, FingerprintMismatch, StoreError
from rag.settings import Settings

log = logging.getLogger(__name__)

REBUILD_SUFFIX = "__rebuild"
IMAGES_SUFFIX = "__images"  # rag/retrieval/image_search.py: a collection's images live in `<name>__images`
FP_PREFIX = "rag:"
# Keys whose change makes stored vectors or chunk boundaries incompatible.
FP_KEYS = ("embed_model", "dim", "normalized", "chunker", "chunk_size", "chunk_overlap")
# `chunk_headers` is recorded but not refused: a writer follows what the collection recorded
# (ingest/headers.py::built_with_headers), so an index never mixes the two and old ones need no rebuild.
OWNER_PID, OWNER_HOST = "rebuild:pid", "rebuild:host"  # who fills a side collection


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, run by another user
    return True

# Recorded but not refused: bf16 and fp32 vectors of one text agree to cosine ~0.99998, far closer
# than any two different chunks, so a mix ranks like a uniform index and a forced re-embed would
# buy nothing. A mix is recorded (e.g. `bf16+fp32`), shown by `rag status`, and logged.
PRECISION_KEY = "embed_precision"


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    id: str
    count: int
    fingerprint: dict[str, Any]


def fingerprint_metadata(fp: dict[str, Any], *, complete: bool) -> dict[str, Any]:
    meta = {FP_PREFIX + k: v for k, v in fp.items()}
    meta[FP_PREFIX + "complete"] = complete
    return meta


def read_fingerprint(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    meta: Mapping[str, Any] = metadata or {}
    return {k[len(FP_PREFIX) :]: v for k, v in meta.items() if k.startswith(FP_PREFIX)}


def merged_precision(stored: str | None, used: str) -> str:
    """The precisions a collection's vectors were computed in once `used` ones are added.

    A collection recorded without a precision holds fp32 vectors (ragspace computed only in fp32 then).
    """
    return "+".join(sorted(set((stored or "fp32").split("+")) | {used}))


def describe(fp: dict[str, Any]) -> str:
    return ", ".join(f"{k}={fp.get(k)!r}" for k in FP_KEYS)


class Store:
    """Opens Chroma as the settings say and hands out checked collections."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client = None
        self._connected_ns = 0  # when the client was opened: it sees every write made before
        self._fresh_as_of: dict[str, str | None] = {}  # collection -> generation the client has seen

    @property
    def location(self) -> str:
        return self.settings.chroma_url or str(self.settings.chroma_path)

    @property
    def client(self):
        if self._client is None:
            self._connected_ns = time.time_ns()
            self._client = self._connect()
        return self._client

    def refresh(self, name: str, token: str | None) -> None:
        """Make the client see what another process wrote to `name` up to generation `token`.

        The embedded client keeps serving the vector index it loaded (see rag/index/generation.py), so a
        write by another process needs a new client; a Chroma server, or a write by this process
        (the same client), needs nothing. Called by every reader sharing this Store: the first one
        reconnects, the others find it done.
        """
        from rag.index import generation

        if self._fresh_as_of.get(name, "unset") == token:
            return
        self._fresh_as_of[name] = token
        if self._client is None or self.settings.chroma_url or generation.written_here(token):
            return
        if generation.written_before(token, self._connected_ns):
            # the client was opened after that write, so it sees it; reconnecting would only race the
            # threads already using this client (concurrent first requests: "Could not connect to tenant")
            return
        from chromadb.api.shared_system_client import SharedSystemClient

        # chromadb caches one System per path for the whole process: forget it (private, no public
        # way to drop one path's) so the next client loads the index afresh. Not stopped: readers
        # still holding the old one keep answering until they reopen too.
        identifier = getattr(self._client, "_identifier", str(self.settings.chroma_path))
        SharedSystemClient._identifier_to_system.pop(identifier, None)
        self._client = None

    def _connect(self):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        url = self.settings.chroma_url
        if not url:
            self.settings.chroma_path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.settings.chroma_path), settings=chroma_settings)
        parsed = urlparse(url if "://" in url else f"http://{url}")
        try:
            client = chromadb.HttpClient(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreError(
                f"Chroma is not reachable at {url} ({type(exc).__name__}). Start it with "
                "`chroma run --path DIR --port N`, fix `chroma_url`, or unset RAG_CHROMA_URL to use "
                "the embedded store."
            ) from None
        return client

    # -- collections ------------------------------------------------------------------------

    def find(self, name: str):
        """The collection `name`, or None when it does not exist (no swap is finished here)."""
        try:
            return self.client.get_collection(name=name, embedding_function=None)
        except Exception as exc:  # chroma raises NotFoundError / ValueError depending on version
            if "not exist" in str(exc).lower() or "not found" in str(exc).lower():
                return None
            raise StoreError(f"Cannot open collection {name!r} in {self.location}: {exc}") from None

    def _create(self, name: str, fp: dict[str, Any], *, complete: bool):
        return self.client.create_collection(
            name=name,
            metadata=fingerprint_metadata(fp, complete=complete),
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,  # we always pass our own vectors; chroma's default downloads a model
        )

    def get(self, name: str):
        """The existing collection `name` for reading, or CollectionNotFound naming how to create it.

        A rebuild interrupted between deleting the old collection and renaming the new one leaves
        only the complete side collection: that one is returned, and left for a writer to rename.
        """
        col = self.find(name)
        if col is None:
            side = self.find(name + REBUILD_SUFFIX)
            if side is not None and read_fingerprint(side.metadata).get("complete") is True:
                return side
        if col is None:
            raise CollectionNotFound(self.missing_message(name))
        return col

    def missing_message(self, name: str) -> str:
        """Why `name` cannot be read and what to do: the collections there are, and the flags."""
        have = [c.name for c in self.list()]
        there = (
            f" (it has {', '.join(repr(h) for h in have)}: ask one with `--collection {have[0]}`"
            " or set RAG_COLLECTION)"
            if have
            else " (it has no collections yet)"
        )
        return (
            f"Collection {name!r} does not exist in {self.location}{there} - "
            f"create it with `rag ingest PATH --collection {name}`."
        )

    def get_for_write(self, name: str):
        """`get` for a writer (holding the writer lock): an interrupted swap is finished first."""
        self.finish_interrupted_swap(name)
        return self.get(name)

    def open(self, name: str, fp: dict[str, Any]):
        """Get or create `name` for a writer, refusing it when it was built with other settings."""
        self.finish_interrupted_swap(name)
        col = self.find(name)
        if col is None:
            return self._create(name, fp, complete=True)
        self.check(name, read_fingerprint(col.metadata), fp)
        return col

    @staticmethod
    def check(name: str, stored: dict[str, Any], wanted: dict[str, Any], keys: tuple[str, ...] = FP_KEYS) -> None:
        """Refuse a collection whose recorded `keys` differ from `wanted` (a missing record is refused too)."""
        diffs = [k for k in keys if stored.get(k) != wanted.get(k)]
        if diffs:
            changes = "; ".join(f"{k}: index has {stored.get(k)!r}, settings ask {wanted.get(k)!r}" for k in diffs)
            raise FingerprintMismatch(
                f"Collection {name!r} was built with other settings ({changes}). Rebuild it with "
                f"`rag ingest PATH --collection {name} --rebuild`, or go back to the settings it was built with."
            )

    @staticmethod
    def record_precision(col, used: str) -> str:
        """Record that vectors computed in `used` precision go into `col`; returns what is recorded."""
        stored = read_fingerprint(col.metadata).get(PRECISION_KEY)
        merged = merged_precision(stored, used)
        if merged != stored:
            meta = dict(col.metadata or {})
            meta[FP_PREFIX + PRECISION_KEY] = merged
            col.modify(metadata=meta)
            if "+" in merged:
                log.warning(
                    "collection %r now holds %s vectors (they agree to cosine ~0.99998, so retrieval is "
                    "unaffected); `rag ingest PATH --collection %s --rebuild` makes it uniform",
                    col.name,
                    merged,
                    col.name,
                )
        return merged

    def begin_rebuild(self, name: str, fp: dict[str, Any]):
        """A fresh, empty side collection to rebuild `name` into."""
        side = name + REBUILD_SUFFIX
        leftover = self.find(side)
        if leftover is not None:
            self._refuse_live_rebuild(name, leftover.metadata or {})
            self.client.delete_collection(side)  # a leftover of a rebuild that did not finish
        col = self._create(side, fp, complete=False)
        col.modify(metadata={**(col.metadata or {}), OWNER_PID: os.getpid(), OWNER_HOST: socket.gethostname()})
        return col

    @staticmethod
    def _refuse_live_rebuild(name: str, meta: dict[str, Any]) -> None:
        pid, host = int(meta.get(OWNER_PID) or 0), meta.get(OWNER_HOST)
        if not pid or (pid == os.getpid() and host == socket.gethostname()):
            return
        if host == socket.gethostname() and not pid_alive(pid):
            return
        where = "this machine" if host == socket.gethostname() else f"host {host}"
        raise StoreError(
            f"Collection {name!r} is being rebuilt by pid {pid} on {where} - wait for it to finish; if that "
            f"process is gone, delete the collection {name + REBUILD_SUFFIX!r} from the Chroma server."
        )

    def finish_rebuild(self, name: str) -> None:
        """Mark the side collection complete and swap it in place of `name`."""
        side = self.find(name + REBUILD_SUFFIX)
        meta = dict(side.metadata or {})
        meta[FP_PREFIX + "complete"] = True
        side.modify(metadata=meta)
        self._swap(name, side)

    def _swap(self, name: str, side) -> None:
        # delete-then-rename: a crash in between leaves a *complete* side collection, which
        # finish_interrupted_swap renames on the next writer's open, so the index is never lost.
        if self.find(name) is not None:
            self.client.delete_collection(name)
        side.modify(name=name)

    def finish_interrupted_swap(self, name: str) -> None:
        """Rename a complete side collection left by a crash mid-swap (writers only, under the lock)."""
        side = self.find(name + REBUILD_SUFFIX)
        if side is not None and read_fingerprint(side.metadata).get("complete") is True:
            log.info("finishing an interrupted rebuild of %s", name)
            self._swap(name, side)

    def delete(self, name: str) -> None:
        for n in (name, name + REBUILD_SUFFIX, name + IMAGES_SUFFIX, name + IMAGES_SUFFIX + REBUILD_SUFFIX):
            if self.find(n) is not None:
                self.client.delete_collection(n)

    def list(self) -> list[CollectionInfo]:
        infos = []
        for col in self.client.list_collections():
            if isinstance(col, str):  # older chromadb lists names only
                col = self.find(col)
            if col is None or col.name.endswith(REBUILD_SUFFIX) or col.name.endswith(IMAGES_SUFFIX):
                continue  # a collection's images are counted with it (ingest/status.py), not listed apart
            infos.append(CollectionInfo(col.name, str(col.id), col.count(), read_fingerprint(col.metadata)))
        return sorted(infos, key=lambda c: c.name)
