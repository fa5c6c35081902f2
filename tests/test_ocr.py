"""`sohoa ocr` on the committed sample scans, driven like a clerk drives it."""
import collections
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
import unicodedata
from pathlib import Path

import pikepdf
import pytest

from conftest import REPO, SOHOA, tree_hashes

SAMPLES = REPO / "samples" / "dossiers"
CASES = sorted(SAMPLES.glob("case*"))

pytestmark = pytest.mark.slow


def truth(folder: Path) -> dict:
    return json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))


def word_f1(expected: str, found: str) -> float:
    a = collections.Counter(unicodedata.normalize("NFC", expected).split())
    b = collections.Counter(unicodedata.normalize("NFC", found).split())
    hit = sum((a & b).values())
    return 2 * hit / (sum(a.values()) + sum(b.values())) if hit else 0.0


def pdftotext(pdf: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


# `dossiers_out` (one `sohoa ocr` run on the committed samples) is in conftest.py: the
# metadata tests read the same run.


def test_every_sample_dossier_gets_the_contract_layout(dossiers_out):
    out, result = dossiers_out
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads((out / "report.json").read_text())
    sources = {Path(row["file"]).name for row in report}
    for case in CASES:
        expected = truth(case)
        dossier = json.loads((out / case.name / "dossier.json").read_text())
        assert dossier["dossier"] == case.name
        names = [d["file"] for d in dossier["documents"]]
        assert sorted(names) == sorted(f"{d['name']}.pdf" for d in expected["documents"])
        for doc in dossier["documents"]:
            stem = doc["file"][:-4]
            assert (out / case.name / doc["file"]).stat().st_size > 0
            text = (out / case.name / f"{stem}.txt").read_text(encoding="utf-8")
            assert text == unicodedata.normalize("NFC", text)
            for name, digest in doc["sha256_sources"].items():
                assert hashlib.sha256((case / name).read_bytes()).hexdigest() == digest
                assert name in sources
            assert doc["ocr"]["lang"] == "vie" and doc["ocr"]["engine"].startswith("tesseract")
            assert set(doc["metadata"]) >= {"doc_type", "number", "symbol", "issued_date",
                                            "agency", "subject", "dossier_codes", "citizen_ids"}
    assert all(row["status"] == "ok" for row in report), report


def test_searchable_text_matches_the_ground_truth(dossiers_out):
    out, _ = dossiers_out
    expected, found = [], []
    for case in CASES:
        for doc in truth(case)["documents"]:
            words = "\n".join(p["text"] for p in doc["pages"])
            text = pdftotext(out / case.name / f"{doc['name']}.pdf")
            assert word_f1(words, text) >= 0.9, (case.name, doc["name"])
            expected.append(words)
            found.append(text)
    assert word_f1("\n".join(expected), "\n".join(found)) >= 0.95


def test_blank_backs_are_dropped_but_every_master_page_is_counted(dossiers_out):
    out, _ = dossiers_out
    seen_blank = 0
    for case in CASES:
        produced = {d["file"]: d for d in json.loads((out / case.name / "dossier.json").read_text())["documents"]}
        for doc in truth(case)["documents"]:
            result = produced[f"{doc['name']}.pdf"]
            assert result["pages"] == len(doc["pages"]), "one master per input page"
            blanks = [{"source": p["source"], "page": p["index"] + 1, "reason": "blank"}
                      for p in doc["pages"] if p["blank"]]
            assert result["dropped_pages"] == blanks
            with pikepdf.open(out / case.name / result["file"]) as pdf:
                assert len(pdf.pages) == len(doc["pages"]) - len(blanks)
            seen_blank += len(blanks)
    assert seen_blank, "the samples have blank backs"


def test_turned_pages_come_out_upright(dossiers_out):
    out, _ = dossiers_out
    turned = 0
    for case in CASES:
        for doc in truth(case)["documents"]:
            kept = [p for p in doc["pages"] if not p["blank"]]
            with pikepdf.open(out / case.name / f"{doc['name']}.pdf") as pdf:
                for number, page in enumerate(kept):
                    if page["rotation"] == 0:
                        continue
                    turned += 1
                    box = [float(v) for v in pdf.pages[number].MediaBox]
                    assert box[3] > box[2], "an A4 page turned upright is portrait"
                    text = pdftotext(out / case.name / f"{doc['name']}.pdf",
                                     "-f", str(number + 1), "-l", str(number + 1))
                    assert word_f1(page["text"], text) >= 0.9
    assert turned >= 2, "the samples have turned pages"


def test_text_copies_out_the_same_in_pdfjs(dossiers_out):
    node = shutil.which("node")
    pdfjs = Path(os.environ.get("SOHOA_PDFJS_DIR", REPO / ".venv/node/node_modules/pdfjs-dist"))
    if not node or not pdfjs.is_dir():
        pytest.skip("node or pdfjs-dist missing (make setup installs pdfjs-dist)")
    out, _ = dossiers_out
    pdf = out / CASES[0].name / "cong_van.pdf"
    result = subprocess.run([node, str(REPO / "tests" / "pdfjs_extract.mjs"), str(pdf)],
                            capture_output=True, text=True, check=True,
                            env={**os.environ, "SOHOA_PDFJS_DIR": str(pdfjs)})
    seen = " ".join(page["text"] for page in json.loads(result.stdout)["pages"])
    assert seen == unicodedata.normalize("NFC", seen)
    assert word_f1(pdftotext(pdf), seen) >= 0.98
    assert {"NHÂN", "DÂN", "HÒA", "ỦY"} <= set(seen.split())


def test_pages_scanned_sideways_come_out_upright(tmp_path):
    """Portrait pages fed sideways (each way) into the scanner: every one is turned back."""
    from PIL import Image

    scans = tmp_path / "sideways"
    scans.mkdir()
    pages = {}
    for case, name in ((CASES[0], "tiep_nhan.jpg"), (CASES[1], "tiep_nhan.png"), (CASES[2], "to_khai.jpg")):
        text = next(p["text"] for d in truth(case)["documents"] for p in d["pages"]
                    if p["source"] == name)
        with Image.open(case / name) as image:
            for turn in (90, 270):
                stem = f"quay{turn}-{case.name}-{Path(name).stem}"  # no running number: one document each
                image.rotate(turn, expand=True).save(scans / f"{stem}.png", dpi=image.info.get("dpi", (300, 300)))
                pages[stem] = text
    result = subprocess.run([str(SOHOA), "ocr", str(scans), "-o", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for stem, expected in pages.items():
        pdf_path = tmp_path / "out" / "sideways" / f"{stem}.pdf"
        with pikepdf.open(pdf_path) as pdf:
            box = [float(v) for v in pdf.pages[0].MediaBox]
        assert box[3] > box[2], f"{stem}: still sideways"
        assert word_f1(expected, pdftotext(pdf_path)) >= 0.9, stem


def test_stacked_batch_is_split_at_qr_sheets(batch_out):
    out, result = batch_out
    assert result.returncode == 0, result.stderr
    expected = collections.defaultdict(lambda: collections.defaultdict(list))
    for page in truth(SAMPLES / "batch")["pages"]:
        if page["kind"] != "separator":
            expected[page["dossier_code"]][page["document"]].append(page["index"] + 1)
    for code, documents in expected.items():
        dossier = json.loads((out / code / "dossier.json").read_text())
        assert dossier["dossier_code"] == code
        got = [[p["page"] for p in d["source_pages"]] for d in dossier["documents"]]
        assert got == list(documents.values())
    assert sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        == sorted(expected)


def test_a_rerun_only_does_what_is_missing(dossiers_out):
    out, first = dossiers_out
    pdfs = sorted(out.glob("*/*.pdf"))
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in pdfs}
    again = subprocess.run([str(SOHOA), "ocr", *map(str, CASES), "-o", str(out), "--json"],
                           capture_output=True, text=True, timeout=300)
    summary = json.loads(again.stdout)
    assert summary["cached_pages"] == summary["pages"] == json.loads(first.stdout)["pages"]
    assert "already done" in again.stderr
    # the same PDFs, untouched: a signature made over them stays a signature of these files
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in pdfs} == before


def test_bad_inputs_get_one_line_each_and_the_batch_goes_on(tmp_path):
    from badfiles import make_bad_inputs

    scans = tmp_path / "scans"
    bad = make_bad_inputs(scans / "bad")
    for case in CASES[:2]:
        shutil.copytree(case, scans / case.name)
    before = tree_hashes(scans)
    out = tmp_path / "out"
    result = subprocess.run([str(SOHOA), "ocr", str(scans), "-o", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert tree_hashes(scans) == before
    for case in CASES[:2]:
        assert (out / case.name / "dossier.json").exists()
    rows = json.loads((out / "report.json").read_text())
    errors = [r for r in rows if r["status"] == "error"]
    assert len(errors) == len(bad)
    for row in errors:
        assert "\n" not in row["message"] and len(row["message"]) < 400
        assert row["message"].split(":")[0].strip() != ""
        assert row["message"] in result.stderr.replace("\n", "") or \
            Path(row["file"]).name.split("\n")[0][:20] in result.stderr


def test_ctrl_c_leaves_no_partial_output_and_the_rerun_finishes(tmp_path):
    scans = tmp_path / "scans"
    for case in CASES[:3]:
        shutil.copytree(case, scans / case.name)
    out = tmp_path / "out"
    process = subprocess.Popen([str(SOHOA), "ocr", str(scans), "-o", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((out / ".sohoa-cache").rglob("*.json")):
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    for pdf in out.rglob("*.pdf"):
        subprocess.run(["qpdf", "--check", str(pdf)], check=True, capture_output=True)
    rerun = subprocess.run([str(SOHOA), "ocr", str(scans), "-o", str(out), "--json"],
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert 0 < summary["cached_pages"] < summary["pages"]
    assert len(summary["dossiers"]) == 3


def test_pdfa_output_declares_pdfa_2b(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([str(SOHOA), "ocr", str(CASES[1] / "tiep_nhan.png"), "-o", str(out),
                             "--pdfa"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with pikepdf.open(out / CASES[1].name / "tiep_nhan.pdf") as pdf:
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
        assert pdf.Root.OutputIntents[0].S == "/GTS_PDFA1"
