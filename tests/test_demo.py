"""`make demo`'s command and the sample generator, run as a new user runs them."""
import json
import re

import pytest

pytestmark = pytest.mark.slow

DEMO_PORT = {"SOHOA_TEST_PKI_PORT": "18791"}  # the suite's own test PKI holds the default port


def test_demo_runs_the_whole_chain_into_a_verified_archive(sohoa, tmp_path):
    out = tmp_path / "sohoa-demo"
    result = sohoa("demo", "--out", out, env=DEMO_PORT)
    text = result.stderr
    assert result.returncode == 0, text
    assert "Traceback" not in text and "✗" not in text
    for command in ("$ sohoa init", "$ sohoa run scans/dossiers", "$ sohoa run scans/batch --split qr",
                    "$ sohoa archive search", "$ sohoa archive stats", "$ sohoa verify archive",
                    "$ sohoa archive check"):
        assert command in text, command
    assert "Where to look" in text and str(out / "archive") in text
    dossiers = sorted((out / "work" / "ocr").glob("*/dossier.json"))
    assert len(dossiers) == 5 + 3  # five scanned folder by folder, three cut from the batch
    assert len(re.findall(r"^✓ TOTAL_PASSED .*/data/signed/", text, re.M)) == sum(
        len([d for d in json.loads(p.read_text())["documents"] if d["file"]]) for p in dossiers)
    assert "0 problems" in text  # archive check
    stats = json.loads(sohoa("archive", "stats", "--json", cwd=out).stdout)
    assert stats["total"]["dossiers"] == 8 and stats["total"]["signed_share"] == 1.0

    again = sohoa("demo", "--out", out, env=DEMO_PORT)
    assert again.returncode == 0, again.stderr
    assert "5 already in the archive" in again.stderr and "3 already in the archive" in again.stderr
    assert "0 signed now" in again.stderr


def test_samples_generate_writes_scans_with_ground_truth(sohoa, tmp_path):
    result = sohoa("samples", "generate", tmp_path / "scans", "--dossiers", "1", "--no-batch",
                   "--seed", "3")
    assert result.returncode == 0, result.stderr
    truth = json.loads((tmp_path / "scans" / "case01" / "ground_truth.json").read_text())
    for document in truth["documents"]:
        for source in document["sources"]:
            assert (tmp_path / "scans" / "case01" / source).stat().st_size > 0
    assert not (tmp_path / "scans" / "batch").exists()
