"""The Gradio chat UI (built on rag/ and ingest/; see the UI issue)."""

from __future__ import annotations
