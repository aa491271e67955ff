"""The citation check's out-of-sample calibration set (tests/data/calibration, eval/calibration.py).

Real answers of the bundled SmolLM2-135M, every unit labelled by reading the sources; the labels
were committed before the checker was run on them. These tests check that the set is whole
(every unit the checker judges has a label, the PubMedQA sources rebuild from the dataset) and
that the precision / recall in results.json - and the README - are what the checker gives today.
"""

from __future__ import annotations

import json

import pytest

from eval.calibration import CAL_DIR, PUBMEDQA, CalibrationDataMissing, load_answers, load_labels, score, units

needs_pubmedqa = pytest.mark.skipif(not PUBMEDQA.is_file(), reason=f"{PUBMEDQA} not on this machine")


@pytest.fixture(scope="module")
def answers():
    try:
        return load_answers()
    except CalibrationDataMissing as exc:
        pytest.skip(str(exc))


@needs_pubmedqa
def test_every_unit_of_every_real_answer_is_labelled(answers) -> None:
    labels = load_labels()
    seen = set()
    for rec in answers:
        for i, unit in enumerate(units(rec["answer"])):
            label = labels[(rec["id"], i)]
            assert label["text"] == unit and label["label"] in ("supported", "unsupported")
            seen.add((rec["id"], i))
        assert all(s.text.strip() for s in rec["source_objs"])  # the spans rebuilt from the dataset
    assert seen == set(labels)  # no stale label either
    assert len(seen) >= 200
    assert {rec["origin"] for rec in answers} == {"fixtures", "pubmedqa"}


@needs_pubmedqa
def test_checker_precision_and_recall_are_the_ones_reported(answers, embedder) -> None:
    reported = json.loads((CAL_DIR / "results.json").read_text())
    got = score(answers, load_labels(), embedder)
    for reading in ("unsupported", "flagged"):
        assert {k: got[reading][k] for k in ("tp", "fp", "fn")} == {k: reported[reading][k] for k in ("tp", "fp", "fn")}
    assert got["units"] == reported["units"]
