"""`make demo`'s command and the sample generator, run as a new user runs them."""
import json

import pytest

pytestmark = pytest.mark.slow


def test_demo_runs_the_pipeline_on_the_samples_and_says_where_to_look(sohoa, tmp_path):
    out = tmp_path / "sohoa-demo"
    result = sohoa("demo", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "Where to look" in result.stderr and str(out / "ocr") in result.stderr
    dossiers = sorted((out / "ocr").glob("*/dossier.json"))
    assert len(dossiers) == 5
    for path in dossiers:
        assert all((path.parent / d["file"]).exists()
                   for d in json.loads(path.read_text())["documents"])
    split = [p for p in (out / "ocr-batch").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(split) == 3
    assert (out / "pki" / "agency.p12").exists()
    again = sohoa("demo", "--out", out)
    assert again.returncode == 0 and "already in" in again.stderr


def test_samples_generate_writes_scans_with_ground_truth(sohoa, tmp_path):
    result = sohoa("samples", "generate", tmp_path / "scans", "--dossiers", "1", "--no-batch",
                   "--seed", "3")
    assert result.returncode == 0, result.stderr
    truth = json.loads((tmp_path / "scans" / "case01" / "ground_truth.json").read_text())
    for document in truth["documents"]:
        for source in document["sources"]:
            assert (tmp_path / "scans" / "case01" / source).stat().st_size > 0
    assert not (tmp_path / "scans" / "batch").exists()
