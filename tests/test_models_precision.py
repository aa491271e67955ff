"""Embedding precision: bf16 only where the CPU runs it natively, decided safely and remembered per machine."""

from __future__ import annotations

import json
import logging
import sys

import numpy as np
import pytest

from rag.errors import ModelError
from rag.index.store import Store, merged_precision, read_fingerprint
from rag.models import precision
from rag.models.embedder import Embedder
from rag.models.precision import RECORD_FILE, Verdict, decide, machine_key, native_bf16, resolve
from tests.helpers import sync

# Stand-in for a CPU that reports AMX but kills any process using it: a child that dies of SIGILL.
SIGILL_CHILD = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"]
# A child that must never run: proves a verdict came from the record file.
NEVER = [sys.executable, "-c", "raise SystemExit('the probe ran again')"]


def test_native_bf16_is_read_from_cpu_flags_or_torch():
    assert native_bf16({"avx2", "avx512_bf16"}, torch_says=False)
    assert native_bf16({"avx2", "amx_bf16"}, torch_says=False)
    assert native_bf16({"fp", "asimd", "bf16"}, torch_says=False)  # aarch64 Features line
    assert native_bf16(set(), torch_says=True)
    assert not native_bf16({"avx", "avx2", "fma", "f16c"}, torch_says=False)  # this EPYC: emulated


@pytest.mark.parametrize(
    ("native", "probe", "choice"),
    [
        (True, {"bf16_runs": True, "fp32_ms": 100.0, "bf16_ms": 45.0}, "bf16"),
        (True, {"bf16_runs": True, "fp32_ms": 100.0, "bf16_ms": 95.0}, "fp32"),  # within noise: not worth it
        (False, {"bf16_runs": True, "fp32_ms": 100.0, "bf16_ms": 45.0}, "fp32"),  # emulated: never chosen
        (True, {"bf16_runs": False, "error": "killed by SIGILL"}, "fp32"),
    ],
)
def test_decide_needs_native_support_and_a_faster_timed_check(native, probe, choice):
    got, reason = decide(native, probe)
    assert got == choice, reason


def test_a_probe_killed_by_sigill_means_fp32_and_the_parent_lives_on(tmp_path, monkeypatch):
    monkeypatch.setattr(precision, "torch_report", lambda: ("AVX512", True))  # the CPU claims AMX
    v = resolve("auto", "unused", tmp_path, probe_cmd=SIGILL_CHILD)
    assert v.choice == "fp32" and v.native and v.bf16_runs is False
    assert "SIGILL" in v.reason
    # remembered (a crash is a property of the machine), and bf16 asked for explicitly is refused clearly
    record = json.loads((tmp_path / RECORD_FILE).read_text())
    assert record[machine_key()]["choice"] == "fp32"
    with pytest.raises(ModelError, match=r"SIGILL.*embed_precision to auto or fp32"):
        resolve("bf16", "unused", tmp_path, probe_cmd=NEVER)


def test_a_probe_that_cannot_start_its_model_is_not_remembered(tmp_path, monkeypatch):
    monkeypatch.setattr(precision, "torch_report", lambda: ("AVX512", True))  # a CPU that would be probed
    fails = [sys.executable, "-c", "raise SystemExit('OSError: no model at that path')"]
    v = resolve("auto", str(tmp_path / "no-such-model"), tmp_path, probe_cmd=fails)
    assert "no model at that path" in v.reason
    assert v.choice == "fp32" and v.bf16_runs is False
    assert not (tmp_path / RECORD_FILE).exists()


def test_fp32_setting_runs_no_check(tmp_path):
    v = resolve("fp32", "unused", tmp_path, probe_cmd=NEVER)
    assert v.choice == "fp32" and v.bf16_runs is None
    assert not (tmp_path / RECORD_FILE).exists()


def test_auto_on_this_machine_is_measured_in_a_child_and_remembered(embedder, tmp_path):
    """The real check with the bundled model. On an AVX2-only CPU (this build machine) it must say fp32,
    without a timed child (bf16 could only be emulated); asking for bf16 runs the real child check."""
    from rag.models.child_check import cpu_flags
    from rag.models.precision import native_bf16, torch_report

    native = native_bf16(cpu_flags(), torch_report()[1])
    v = resolve("auto", embedder._location, tmp_path, probe_cmd=None if native else NEVER)
    assert v.reported.startswith("torch capability")
    if not native:
        assert v.choice == "fp32" and v.fp32_ms is None and "not measured" in v.reason, v
        forced = resolve("bf16", embedder._location, tmp_path)  # the real timed child
        assert forced.choice == "bf16" and forced.bf16_runs is True
        assert forced.fp32_ms > 0 and forced.bf16_ms > 0 and forced.cosine > 0.999, forced
        v = resolve("auto", embedder._location, tmp_path, probe_cmd=NEVER)
        assert v.choice == "fp32" and v.fp32_ms > 0  # the measured record is kept, and still says fp32
    else:
        assert v.bf16_runs is True and v.cosine > 0.999, v
    again = resolve("auto", embedder._location, tmp_path, probe_cmd=NEVER)
    assert again == v


def sharing(embedder: Embedder, precision: str, cache_dir=None) -> Embedder:
    """An Embedder with its own precision over the session's already loaded model (loading is slow here)."""
    emb = Embedder(precision=precision, cache_dir=cache_dir)
    emb.__dict__["model"] = embedder.model
    return emb


def test_bf16_vectors_are_float32_unit_vectors_close_to_fp32(embedder, model_cache):
    bf16 = sharing(embedder, "bf16", model_cache)
    texts = ["Mitochondria produce ATP.", "TCP opens with a three-way handshake of SYN, SYN-ACK and ACK."]
    got, ref = bf16.embed(texts), sharing(embedder, "fp32").embed(texts)
    assert bf16.precision == "bf16"
    assert got.dtype == np.float32 and np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    assert np.min(np.sum(got * ref, axis=1)) > 0.999
    # questions take the same path: a bf16 vector, not the fp32 one
    query = bf16.embed_query(texts[0])
    assert np.allclose(query, bf16.embed([texts[0]])[0], atol=1e-6)
    assert not np.allclose(query, ref[0], atol=1e-6) and float(query @ ref[0]) > 0.999


def test_precision_is_in_the_fingerprint_and_a_mix_is_recorded_not_refused(
    settings, embedder, model_cache, tmp_path, caplog
):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("Sourdough needs a lively starter and a long, cool proof.")
    fp32 = sharing(embedder, "fp32")
    sync(settings, fp32, [folder])
    meta = read_fingerprint(Store(settings).get(settings.collection).metadata)
    assert meta["embed_precision"] == "fp32"

    (folder / "b.txt").write_text("Mars has two small moons, Phobos and Deimos.")
    bf16 = sharing(embedder, "bf16", model_cache)
    with caplog.at_level(logging.WARNING, logger="rag.index.store"):
        report = sync(settings, bf16, [folder])  # no FingerprintMismatch: no rebuild is forced
    assert [f.status.value for f in report.files] == ["unchanged", "ingested"]
    assert read_fingerprint(Store(settings).get(settings.collection).metadata)["embed_precision"] == "bf16+fp32"
    assert "bf16+fp32" in caplog.text and "--rebuild" in caplog.text

    sync(settings, bf16, [folder], rebuild=True)  # a rebuild makes it uniform again
    assert read_fingerprint(Store(settings).get(settings.collection).metadata)["embed_precision"] == "bf16"


def test_merged_precision_treats_an_unrecorded_collection_as_fp32():
    assert merged_precision(None, "fp32") == "fp32"
    assert merged_precision(None, "bf16") == "bf16+fp32"
    assert merged_precision("bf16+fp32", "fp32") == "bf16+fp32"


def test_verdict_round_trips_through_the_record():
    v = Verdict("fp32", "why", native=False, reported="r", bf16_runs=True, fp32_ms=1.0, bf16_ms=2.0, cosine=0.9)
    assert Verdict(**json.loads(json.dumps(v.__dict__))) == v
