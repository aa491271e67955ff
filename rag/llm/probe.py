"""Run a GGUF model once in a child process, so a crash is a finding instead of a dead process.

A llama.cpp build can die with SIGILL on a CPU that reports an instruction set it does not allow
(a virtual machine that shows AMX, say), or be killed for memory. In-process that takes the UI,
`rag ask` or pytest down with it and says nothing useful. So the first use of a model on a machine
loads it in a child that writes one token; the verdict is remembered in the model cache, keyed by
everything that could change it (the model file, the llama.cpp library, the Python, the CPU).

`python -m rag.llm.probe MODEL THREADS` is the child; `probe_model` is the parent. Running the child
and keeping the record is rag.models.child_check's job, shared with rag.models.precision.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
import signal
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.models.child_check import cpuinfo_lines, read_record, remember, run_child, signal_name

# Loading on a loaded 2-core machine can take a while; the limit is for a child that hangs, not a slow one.
PROBE_TIMEOUT_S = 600
PORTABLE_FIX = (
    "this llama-cpp-python was built for another CPU - reinstall the portable build with "
    "`make install` (scripts/install_llama_cpp.sh), or use Ollama (`--llm ollama`)"
)
_memo: dict[str, ProbeResult] = {}
_memo_lock = threading.Lock()


@dataclass(frozen=True)
class ProbeResult:
    """What the child reported: ok, or what went wrong and what to do about it."""

    ok: bool
    detail: str
    fix: str = ""
    seconds: float = 0.0
    system_info: str = ""

    def message(self) -> str:
        return self.detail + (f" - {self.fix}" if self.fix else "")


def library_path() -> Path | None:
    """The llama.cpp shared library llama-cpp-python loads (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    lib = Path(next(iter(spec.submodule_search_locations))) / "lib"
    for name in ("libggml-cpu.so", "libllama.so", "libggml-cpu.dylib", "libllama.dylib"):
        if (lib / name).is_file():
            return lib / name
    return None


def _cpu_id() -> str:
    lines = cpuinfo_lines()
    if lines is None:
        return platform.processor()
    keep = [line for line in lines if line.startswith(("model name", "flags"))][:2]
    return "\n".join(keep)


def probe_key(model: Path, threads: int) -> str:
    """Changes whenever the answer could: the model file, the library, the Python, the CPU."""
    parts = [str(model.resolve()), str(threads), sys.executable, platform.python_version(), _cpu_id()]
    for path in (model, library_path()):
        if path is not None and path.exists():
            st = path.stat()
            parts += [str(path), str(st.st_size), str(st.st_mtime_ns)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def probe_model(model: Path, threads: int, cache_dir: Path | None, *, argv: list[str] | None = None) -> ProbeResult:
    """Load `model` in a child that writes one token; remembered in `cache_dir` when it worked.

    Only a success is remembered: a failure is checked again next time (the user may have fixed it).
    `argv` replaces the child's command (tests use it to make a child that dies with a signal).
    """
    if argv is not None:  # an explicit command is never remembered nor answered from memory
        return _run_child(argv)
    key = probe_key(model, threads)
    with _memo_lock:
        if key in _memo:
            return _memo[key]
        cached = _read_cache(cache_dir, key)
        if cached is not None:
            _memo[key] = cached
            return cached
        result = _run_child([sys.executable, "-m", "rag.llm.probe", str(model), str(threads)])
        if result.ok:
            _memo[key] = result
            _write_cache(cache_dir, key, result)
        return result


def _run_child(argv: list[str]) -> ProbeResult:
    run = run_child(argv, PROBE_TIMEOUT_S)
    if run.timed_out:
        return ProbeResult(False, f"the model did not write a token within {PROBE_TIMEOUT_S} s", "check `rag doctor`")
    seconds = run.seconds
    if run.killed_by is not None:
        return _killed(run.killed_by, seconds)
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode == 0 and lines:
        data = json.loads(lines[-1])
        return ProbeResult(True, "loads and writes a token", seconds=seconds, system_info=data.get("system_info", ""))
    tail = (run.stderr.strip().splitlines() or ["no output"])[-1]
    if lines:
        data = json.loads(lines[-1])
        return ProbeResult(False, data.get("error", tail), data.get("fix", ""), seconds)
    reason = f"the model process exited with code {run.returncode}: {tail}"
    return ProbeResult(False, reason, "see `rag doctor`", seconds)


def _killed(signum: int, seconds: float) -> ProbeResult:
    name = signal_name(signum)
    if signum == signal.SIGILL:
        reason = f"the embedded model crashed with {name} (an illegal CPU instruction)"
        return ProbeResult(False, reason, PORTABLE_FIX, seconds)
    if signum == signal.SIGKILL:
        return ProbeResult(
            False,
            f"the embedded model was killed ({name}), most likely for lack of memory",
            "free memory, lower `num_ctx`, or use a smaller GGUF",
            seconds,
        )
    return ProbeResult(False, f"the embedded model crashed with {name}", PORTABLE_FIX, seconds)


def _cache_file(cache_dir: Path | None) -> Path | None:
    return None if cache_dir is None else Path(cache_dir) / "llm-probe.json"


def _read_cache(cache_dir: Path | None, key: str) -> ProbeResult | None:
    path = _cache_file(cache_dir)
    entry = read_record(path).get(key) if path else None
    return ProbeResult(**entry) if isinstance(entry, dict) and entry.get("ok") else None


def _write_cache(cache_dir: Path | None, key: str, result: ProbeResult) -> None:
    path = _cache_file(cache_dir)
    if path is None:
        return
    with contextlib.suppress(OSError):  # a read-only cache only costs a probe next time
        remember(path, key, asdict(result))


def _child(model: str, threads: int) -> int:
    """In the child: load, write one token, print one JSON line."""
    from rag.models.threads import configure_openmp

    configure_openmp()
    try:
        import llama_cpp
        from llama_cpp import Llama
    except ImportError as exc:
        print(json.dumps({"error": f"llama-cpp-python is not installed ({exc})", "fix": "run `make install`"}))
        return 1
    try:
        llama = Llama(model_path=model, n_ctx=256, n_threads=threads, n_threads_batch=threads, verbose=False)
    except (ValueError, RuntimeError) as exc:
        error = f"cannot load {model} as a GGUF model ({exc})"
        print(json.dumps({"error": error, "fix": "check the file is a complete GGUF"}))
        return 1
    llama.create_completion("Hello", max_tokens=1, temperature=0.0)
    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    llama.close()
    print(json.dumps({"ok": True, "system_info": info}))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], int(sys.argv[2])))
