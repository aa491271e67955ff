"""Run a check in a child process so a crash is a finding, and remember its verdict per machine.

Some checks can kill the process that runs them: a llama.cpp build or a bf16 kernel that uses an
instruction the CPU reports but the kernel does not allow dies with SIGILL, and a model too large
for memory is killed by the OOM killer. So the check runs in a child (`run_child`), where such a
death is just a `ChildRun` that names the signal, and a verdict worth keeping goes into a small
JSON record in the model cache (`read_record`, `remember`) under a key for the machine (built from
`cpuinfo_lines`, `cpu_model`, `cpu_flags` plus what else could change the answer).

Used by rag.llm.probe (can the embedded LLM run here?) and rag.models.precision (is bf16 faster here?).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ChildRun:
    """How a child ended: its exit code (None: no result within the time limit) and its output."""

    returncode: int | None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def killed_by(self) -> int | None:
        """The number of the signal that killed the child, None when it exited (or timed out)."""
        return -self.returncode if self.returncode is not None and self.returncode < 0 else None


def signal_name(signum: int) -> str:
    """SIGILL, SIGKILL, ...; "signal N" for a number without a name (a real-time signal)."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def run_child(argv: list[str], timeout_s: float, *, env: dict[str, str] | None = None) -> ChildRun:
    """Run `argv` to its end with its output captured; a signal or the time limit is a result, not an error.

    Raises:
        OSError: the command cannot be started.
    """
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return ChildRun(None, seconds=time.perf_counter() - started)
    return ChildRun(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)


# -- the record of verdicts, one entry per machine key ----------------------------------------------


def read_record(path: Path) -> dict:
    """The record's entries by key; {} when the file is missing, unreadable or not a JSON object."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remember(path: Path, key: str, entry: dict) -> None:
    """Store `entry` under `key`, keeping the record's other entries.

    The file is read again just before writing and replaced through a per-process temporary file,
    so two processes checking at once cannot leave half a file or drop each other's machine.

    Raises:
        OSError: the record cannot be written (a read-only cache only costs a new check next time).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    record = read_record(path)
    record[key] = entry
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True))
    os.replace(tmp, path)


# -- what identifies the machine ------------------------------------------------------------------


def cpuinfo_lines() -> list[str] | None:
    """The lines of /proc/cpuinfo; None where there is none (not Linux)."""
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
    except OSError:
        return None


def _cpuinfo_fields() -> list[tuple[str, str]]:
    fields = []
    for line in cpuinfo_lines() or []:
        key, sep, value = line.partition(":")
        if sep:
            fields.append((key.strip(), value.strip()))
    return fields


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what the platform module knows."""
    for key, value in _cpuinfo_fields():
        if key in ("model name", "Model", "cpu model"):
            return value
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_flags() -> set[str]:
    """Feature flags from /proc/cpuinfo (`flags` on x86, `Features` on arm); empty elsewhere."""
    for key, value in _cpuinfo_fields():
        if key in ("flags", "Features"):
            return set(value.split())
    return set()
