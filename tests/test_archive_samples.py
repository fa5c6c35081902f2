"""`sohoa archive` on the real output of `sohoa ocr` for the committed sample dossiers
(the session's one OCR run, `dossiers_out` in conftest.py), and on the stacked batch when
a session fixture `batch_out` is available."""
from __future__ import annotations

import json
from pathlib import Path

import pikepdf
import pytest

from conftest import bag_dir
from test_archive import AGENCY, run_json, sha256, validate_all_bags

pytestmark = pytest.mark.slow


def test_sample_dossiers_are_archived_as_valid_bags_and_found(sohoa, isolated_config, dossiers_out, tmp_path):
    out, ocr = dossiers_out
    assert ocr.returncode == 0, ocr.stderr
    arch = tmp_path / "arch"
    result = sohoa("archive", "add", out, "--archive", arch, "--agency-code", AGENCY, "--json")
    assert result.returncode == 0, result.stderr
    report = run_json(result)
    assert report["added"] == 5 and report["failed"] == 0
    bags = validate_all_bags(arch)
    assert len(bags) == 5
    for bag in map(lambda v: bag_dir(arch, v), bags):
        record = json.loads((bag / "data/metadata/archive.json").read_text(encoding="utf-8"))
        dossier = json.loads((bag / "data/metadata/dossier.json").read_text(encoding="utf-8"))
        root = dossier["source_root"]
        for f in record["files"]:
            if f["role"] == "original":  # masters exactly as scanned
                assert f["sha256"] == sha256(Path(root) / f["original_name"])
        assert len(record["documents"]) == len(dossier["documents"])
    # the OCR text is searchable without marks
    hits = run_json(sohoa("archive", "search", "cong hoa xa hoi chu nghia", "--archive", arch, "--json"))["results"]
    assert hits, "every sample result carries the national motto"
    assert run_json(sohoa("archive", "check", "--archive", arch, "--json"))["problems"] == []
    assert run_json(sohoa("archive", "add", out, "--archive", arch, "--agency-code", AGENCY, "--json"))["unchanged"] == 5


def test_split_batch_dossiers_keep_only_their_pages(sohoa, isolated_config, request, tmp_path):
    try:
        out, ocr = request.getfixturevalue("batch_out")
    except pytest.FixtureLookupError:
        pytest.skip("no session fixture batch_out (sohoa ocr --split qr of samples/dossiers/batch)")
    assert ocr.returncode == 0, ocr.stderr
    arch = tmp_path / "arch"
    report = run_json(sohoa("archive", "add", out, "--archive", arch, "--agency-code", AGENCY, "--json"))
    assert report["failed"] == 0 and report["added"] >= 3
    for bag in map(lambda v: bag_dir(arch, v), validate_all_bags(arch)):
        record = json.loads((bag / "data/metadata/archive.json").read_text(encoding="utf-8"))
        [master] = [f for f in record["files"] if f["role"] == "original"]
        assert master["original_name"] == "batch.pdf"
        with pikepdf.open(bag / master["path"]) as pdf:
            assert len(pdf.pages) == len(master["extracted_from"]["pages"])
