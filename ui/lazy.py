"""gradio, imported when first needed: importing ui modules (and `rag --help`) must stay fast."""

from __future__ import annotations

from types import ModuleType


def gradio() -> ModuleType:
    """The gradio module (imported on the first call)."""
    import gradio as gr

    return gr
