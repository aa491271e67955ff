"""rag.models.child_check: a child's death is a result, and the per-machine records the LLM probe and the
precision check keep are read back, including files written before this module existed."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest
from rag.models import precision
from rag.models.child_check import read_record, remember, run_child, signal_name

from rag.llm import probe
from rag.llm.probe import ProbeResult, probe_key, probe_model

# A real-time signal: a valid signal number that has no name in `signal.Signals`.
NAMELESS = signal.SIGRTMIN + 1


def kills_itself(signum: int) -> list[str]:
    return [sys.executable, "-c", f"import os; os.kill(os.getpid(), {int(signum)})"]


def test_a_child_killed_by_a_signal_is_a_result() -> None:
    run = run_child(kills_itself(signal.SIGILL), 300)
    assert run.killed_by == signal.SIGILL and not run.timed_out
    assert signal_name(run.killed_by) == "SIGILL"


def test_a_child_that_exits_gives_its_code_and_output() -> None:
    run = run_child([sys.executable, "-c", "import sys; print('{}'); sys.exit(3)"], 300)
    assert (run.returncode, run.stdout.strip(), run.killed_by) == (3, "{}", None)


def test_a_child_past_its_time_limit_is_timed_out() -> None:
    run = run_child([sys.executable, "-c", "import time; time.sleep(120)"], 1)
    assert run.timed_out and run.killed_by is None


def test_a_command_that_cannot_start_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        run_child([str(tmp_path / "no-such-program")], 300)


def test_precision_names_a_signal_without_a_name() -> None:
    """Before, a real-time signal made `signal.Signals(n)` raise ValueError in the parent."""
    assert signal_name(NAMELESS) == f"signal {NAMELESS}"
    result = precision.run_probe("unused", kills_itself(NAMELESS))
    assert result == {"bf16_runs": False, "error": f"killed by signal {NAMELESS}"}


def test_remember_keeps_the_other_machines_and_read_record_tolerates_junk(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "record.json"
    assert read_record(path) == {}
    remember(path, "machine A", {"ok": True})
    remember(path, "machine B", {"ok": False})
    assert read_record(path) == {"machine A": {"ok": True}, "machine B": {"ok": False}}
    for junk in ("not json", "[1, 2]"):
        path.write_text(junk)
        assert read_record(path) == {}


def test_an_old_llm_probe_record_is_still_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF stand-in: only its size and mtime enter the key")
    entry = {"ok": True, "detail": "loads and writes a token", "fix": "", "seconds": 2.5, "system_info": "AVX2 = 1"}
    # the format rag.llm.probe wrote before rag.models.child_check: indent 1, fields in dataclass order
    (tmp_path / "llm-probe.json").write_text(json.dumps({probe_key(model, 1): entry}, indent=1))
    monkeypatch.setattr(probe, "_memo", {})
    monkeypatch.setattr(probe, "_run_child", lambda argv: pytest.fail("a remembered success must not run the child"))
    assert probe_model(model, 1, tmp_path) == ProbeResult(**entry)


def test_an_unreadable_llm_probe_record_means_probing_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before, a record holding a JSON list raised AttributeError out of probe_model."""
    (tmp_path / "llm-probe.json").write_text("[]")
    monkeypatch.setattr(probe, "_memo", {})
    # stand-in for the child's success (the real child is tested in test_doctor.py)
    monkeypatch.setattr(probe, "_run_child", lambda argv: ProbeResult(True, "stand-in child: ok"))
    assert probe_model(tmp_path / "model.gguf", 1, tmp_path).ok
    assert list(read_record(tmp_path / "llm-probe.json").values()) == [
        {"ok": True, "detail": "stand-in child: ok", "fix": "", "seconds": 0.0, "system_info": ""}
    ]


def test_an_old_precision_record_is_still_read(tmp_path: Path) -> None:
    entry = {
        "choice": "fp32",
        "reason": "no native bf16 on this CPU (bf16 would be emulated, so it was not measured)",
        "native": False,
        "reported": "torch capability AVX2",
        "bf16_runs": False,
        "fp32_ms": None,
        "bf16_ms": None,
        "cosine": None,
        "measured_at": "2026-11-30T10:00:00Z",
    }
    record = {precision.machine_key(): entry, "another CPU | torch 2.0": {**entry, "choice": "bf16"}}
    (tmp_path / precision.RECORD_FILE).write_text(json.dumps(record, indent=2, sort_keys=True))
    never = [sys.executable, "-c", "raise SystemExit('the probe ran again')"]
    assert precision.resolve("auto", "unused", tmp_path, probe_cmd=never) == precision.Verdict(**entry)
