"""Which precision the embedder computes in: bf16 where the CPU runs it natively, fp32 elsewhere.

bf16 (`torch.autocast("cpu", dtype=torch.bfloat16)`) embeds ~2.2x faster on CPUs with native
bfloat16 instructions (AVX512-BF16, AMX) and costs nothing measurable in quality (cosine 0.99998 to
the fp32 vector). Elsewhere (AVX2-only CPUs) it is emulated and slower. So `auto` picks bf16 only when
both hold:

1. the CPU reports native bf16 (torch's own CPU check, or the avx512_bf16 / amx_bf16 / bf16 flags in
   /proc/cpuinfo), and
2. a quick timed check - the real model on a small batch, fp32 then bf16 - shows bf16 faster.

The timed check runs in a child process (rag.models.child_check): a CPU can report a feature the kernel does
not allow (AMX without the permission to use it kills the process with SIGILL), and such a death must
become "fp32", not a crash. The verdict is remembered per machine in `model_cache/embed_precision.json`,
keyed by CPU model and torch version, so the check costs its few seconds once; delete the file to
measure again.

    python -m rag.models.precision MODEL_DIR     # the child: prints one JSON line of timings
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.errors import ConfigError, ModelError
from rag.models.child_check import cpu_flags, cpu_model, read_record, remember, run_child, signal_name

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16")
RECORD_FILE = "embed_precision.json"
NATIVE_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")  # x86 flags; `bf16` is the aarch64 feature
# bf16 must beat fp32 by this factor: on a shared machine a few percent is timing noise.
MIN_SPEEDUP = 1.1
PROBE_TIMEOUT_S = 300.0
PROBE_TEXTS = 8  # one small batch of ~80-word-piece texts: a few seconds on an idle 2-core CPU
PROBE_REPEATS = 3
# After one timed round, bf16 this much slower than fp32 cannot win: stop (emulated bf16 costs ~4x).
CLEARLY_SLOWER = 1.5


@dataclass
class Verdict:
    """The precision chosen, and the evidence it was chosen on (what the record file keeps)."""

    choice: str  # "fp32" | "bf16"
    reason: str
    native: bool = False  # the CPU reports native bf16
    reported: str = ""  # what torch and /proc/cpuinfo said
    bf16_runs: bool | None = None  # None = not checked (fp32 set explicitly)
    fp32_ms: float | None = None  # best time of the probe batch
    bf16_ms: float | None = None
    cosine: float | None = None  # mean cosine of the probe's bf16 vectors to its fp32 ones
    measured_at: str = ""


# -- what the machine reports ---------------------------------------------------------------------


def torch_report() -> tuple[str, bool]:
    """(torch's CPU capability, whether torch sees AVX512-BF16 or AMX). Only reads cpuid."""
    import torch

    capability = str(torch.backends.cpu.get_cpu_capability())
    checks = [getattr(torch.cpu, n, None) for n in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return capability, any(bool(check()) for check in checks if check is not None)


def native_bf16(flags: set[str], torch_says: bool) -> bool:
    """Either source claiming native bf16 is enough here: the timed child check guards the rest."""
    return torch_says or any(f in flags for f in NATIVE_FLAGS)


def machine_key() -> str:
    import torch

    return f"{cpu_model()} | torch {torch.__version__}"


# -- the decision ---------------------------------------------------------------------------------


def decide(native: bool, probe: dict) -> tuple[str, str]:
    """(choice, reason) from the CPU's report and the child's result (see `run_probe`)."""
    if not probe.get("bf16_runs"):
        return "fp32", f"the bf16 check failed in its child process ({probe.get('error', 'no result')})"
    speedup = probe["fp32_ms"] / probe["bf16_ms"]
    timing = f"fp32 {probe['fp32_ms']:.0f} ms, bf16 {probe['bf16_ms']:.0f} ms per probe batch"
    if not native:
        return "fp32", f"no native bf16 on this CPU (bf16 is emulated; {timing})"
    if speedup < MIN_SPEEDUP:
        return "fp32", f"bf16 is not faster here ({timing}, needs {MIN_SPEEDUP}x)"
    return "bf16", f"native bf16, {speedup:.2f}x faster ({timing})"


def resolve(setting: str, location: str, cache_dir: Path, probe_cmd: list[str] | None = None) -> Verdict:
    """The precision to embed in for `setting` (auto | fp32 | bf16).

    Raises:
        ConfigError: an unknown setting.
        ModelError: `bf16` was asked for but bf16 crashes or fails on this machine.
    """
    if setting not in PRECISIONS:
        raise ConfigError(f"embed_precision must be one of {', '.join(PRECISIONS)}, not {setting!r}.")
    if setting == "fp32":
        return Verdict("fp32", "set by embed_precision = fp32")
    verdict = measured(location, cache_dir, probe_cmd, probe_always=setting == "bf16")
    if setting == "auto":
        return verdict
    if not verdict.bf16_runs:
        raise ModelError(
            f"embed_precision = bf16, but bf16 does not run on this machine: {verdict.reason}. "
            "Set embed_precision to auto or fp32."
        )
    return Verdict("bf16", "set by embed_precision = bf16", **_evidence(verdict))


def _evidence(v: Verdict) -> dict:
    d = asdict(v)
    return {k: d[k] for k in d if k not in ("choice", "reason")}


def measured(
    location: str, cache_dir: Path, probe_cmd: list[str] | None = None, *, probe_always: bool = False
) -> Verdict:
    """The remembered verdict for this machine, or a new one.

    Where neither torch nor the CPU flags claim native bf16, bf16 could only be emulated (slower), so
    `auto` runs no timed check: a first start on such a machine costs nothing. `probe_always`
    (embed_precision = bf16) runs it anyway, to know that bf16 runs at all.
    """
    path = cache_dir / RECORD_FILE
    key = machine_key()
    record = read_record(path)
    if key in record:
        try:
            known = Verdict(**record[key])
            if known.native or known.fp32_ms is not None or not probe_always:  # native: probed already
                return known
        except TypeError:
            pass  # written by another version: measure again
    capability, torch_says = torch_report()
    flags = cpu_flags()
    native = native_bf16(flags, torch_says)
    reported = (
        f"torch capability {capability}, torch sees AVX512-BF16/AMX: {torch_says}, "
        f"cpu flags: {', '.join(f for f in NATIVE_FLAGS if f in flags) or 'none of ' + '/'.join(NATIVE_FLAGS)}"
    )
    if not native and not probe_always:
        probe = {"remember": True}
        choice, reason = "fp32", "no native bf16 on this CPU (bf16 would be emulated, so it was not measured)"
    else:
        probe = run_probe(location, probe_cmd)
        choice, reason = decide(native, probe)
    verdict = Verdict(
        choice,
        reason,
        native=native,
        reported=reported,
        bf16_runs=bool(probe.get("bf16_runs")),
        fp32_ms=probe.get("fp32_ms"),
        bf16_ms=probe.get("bf16_ms"),
        cosine=probe.get("cosine"),
        measured_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    log.info("embedding precision %s: %s", choice, reason)
    if probe.get("remember", True):
        _remember(path, key, verdict)
    return verdict


def _remember(path: Path, key: str, verdict: Verdict) -> None:
    try:
        remember(path, key, asdict(verdict))
    except OSError as exc:  # a read-only cache only costs a new check next time
        log.warning("cannot remember the embedding precision in %s: %s", path, exc)


# -- the child ------------------------------------------------------------------------------------


def run_probe(location: str, cmd: list[str] | None = None, timeout: float = PROBE_TIMEOUT_S) -> dict:
    """Run the timed check in a child process; a crash or a signal there becomes a failed result.

    `cmd` replaces the child's command line (tests use it to stand in for a CPU that kills bf16).
    """
    cmd = cmd or [sys.executable, "-m", "rag.models.precision", location]
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)  # the child imports this same rag package
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    try:
        run = run_child(cmd, timeout, env=env)
    except OSError as exc:
        return {"bf16_runs": False, "error": f"cannot start: {exc}", "remember": False}
    if run.timed_out:
        return {"bf16_runs": False, "error": f"no result within {timeout:g} s"}
    if run.killed_by is not None:
        return {"bf16_runs": False, "error": f"killed by {signal_name(run.killed_by)}"}
    lines = run.stdout.strip().splitlines()
    try:
        return {**json.loads(lines[-1]), "bf16_runs": True}
    except (IndexError, ValueError, TypeError):
        tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no output"]
        # an ordinary failure (cannot load the model, ...) says nothing about the CPU: not remembered
        return {"bf16_runs": False, "error": f"exit code {run.returncode}: {tail[0]}", "remember": False}


def probe_texts(n: int = PROBE_TEXTS) -> list[str]:
    words = "protein cell gene receptor binding pathway mouse tumour immune response dose trial".split()
    return [" ".join(f"{words[(i * 7 + j) % len(words)]}{j % 9}" for j in range(32)) for i in range(n)]


def _child(location: str) -> dict:
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(location, device="cpu", local_files_only=True)
    texts = probe_texts()

    def encode(bf16: bool) -> tuple[float, np.ndarray]:
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model.encode(texts, batch_size=len(texts), convert_to_tensor=True, show_progress_bar=False)
        vecs = torch.nn.functional.normalize(out.float(), dim=1).numpy()
        return (time.perf_counter() - started) * 1000, vecs

    encode(False), encode(True)  # warm-up: the first bf16 call also builds oneDNN kernels
    fp32, bf16 = [], []
    for _ in range(PROBE_REPEATS):  # interleaved, so a burst of load elsewhere hits both alike
        fp32.append(encode(False))
        bf16.append(encode(True))
        if bf16[-1][0] > CLEARLY_SLOWER * fp32[-1][0]:
            break
    cosine = float(np.mean(np.sum(fp32[0][1] * bf16[0][1], axis=1)))
    return {"fp32_ms": min(t for t, _ in fp32), "bf16_ms": min(t for t, _ in bf16), "cosine": cosine}


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1])), flush=True)
