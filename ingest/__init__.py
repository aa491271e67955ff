"""Folder -> chunks -> vectors: loaders, chunking, the manifest and the sync pipeline."""

from __future__ import annotations
