"""Collect real OCR noise for the metadata parsers' unit tests (tests/data/ocr_noise.json).

    .venv/bin/python bench/harvest_ocr_noise.py [--dossiers 12] [--seed 5] [--work DIR]

Generates degraded scans (a seed of its own: not the tests' 2026, not the accuracy
benchmark's 41), runs `sohoa ocr` on them and on the committed samples, and pairs each
line of the ground truth that carries a metadata field ("Số: …/…", "<place>, ngày …",
the document's title, "V/v …", the signer's position, lines with dossier codes or
citizen IDs) with the line Tesseract actually read for it. Only lines read differently
from the printed text are kept: these are the noise variants the parsers must survive.
"""
from __future__ import annotations

import argparse
import difflib
import json
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

from sohoa.ocr import vnparse as vp
from sohoa.ocr.engine import Engine

REPO = Path(__file__).resolve().parent.parent
SOHOA = Path(sys.executable).parent / "sohoa"
OUT = REPO / "tests" / "data" / "ocr_noise.json"
MIN_SIMILARITY = 0.6


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def best_match(clean: str, ocr_lines: list[str]) -> str | None:
    """The OCR line (or the part of a merged two-column line) most like `clean`."""
    best, score = None, MIN_SIMILARITY
    for line in ocr_lines:
        words = line.split()
        n = len(clean.split())
        for size in {n - 1, n, n + 1} - {0}:
            for start in range(0, max(1, len(words) - size + 1)):
                part = " ".join(words[start:start + size])
                if abs(len(part) - len(clean)) > 0.2 * len(clean):
                    continue  # another line (e.g. a lost word's neighbour), not this one misread
                ratio = difflib.SequenceMatcher(None, clean, part).ratio()
                if ratio > score:
                    best, score = part, ratio
    return best


def field_lines(page_text: str, meta: dict) -> list[tuple[str, str, object]]:
    """(field, clean line, expected value) for the lines of a page that carry a field."""
    found = []
    for line in (nfc(x.strip()) for x in page_text.splitlines()):
        if not line:
            continue
        parsed = vp.parse_number_symbol(line)
        if parsed and meta.get("number") == parsed.number:
            found.append(("number_symbol", line, [meta["number"], meta["symbol"]]))
        date = vp.parse_date(line) if vp.is_date_line(line) else None
        if date and meta.get("issued_date") == date.date.isoformat():
            found.append(("issued_date_place", line, [meta["issued_date"], meta.get("issued_place")]))
        if meta.get("doc_type") and line == meta["doc_type"].upper():
            found.append(("doc_type", line, meta["doc_type"]))
        if line.startswith("V/v") and meta.get("subject"):
            found.append(("subject_vv", line, line))
        if meta.get("signer_title") and vp.split_authority(line)[1] == meta["signer_title"]:
            found.append(("signer_title", line, meta["signer_title"]))
        codes = [c for c in meta.get("dossier_codes", []) if c in line]
        if codes:
            found.append(("dossier_codes", line, codes))
        ids = [i for i in meta.get("citizen_ids", []) if i in line]
        if ids:
            found.append(("citizen_ids", line, ids))
    return found


def harvest(scans: Path, out: Path, origin: str) -> list[dict]:
    cases = []
    for truth_file in sorted(scans.glob("*/ground_truth.json")):
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
        if "documents" not in truth or "dossier" not in truth:
            continue
        for doc in truth["documents"]:
            txt = out / truth["dossier"] / f"{doc['name']}.txt"
            if not txt.is_file():
                continue
            read_pages = txt.read_text(encoding="utf-8").split("\f")
            printed = [p for p in doc["pages"] if not p.get("blank")]
            for page, read in zip(printed, read_pages):
                ocr_lines = [nfc(x.strip()) for x in read.splitlines() if x.strip()]
                for field, clean, expected in field_lines(page["text"], doc["metadata"]):
                    if field == "subject_vv":
                        expected = vp.parse_vv(clean)
                    noisy = best_match(clean, ocr_lines)
                    printed_lines = {nfc(x.strip()) for x in page["text"].splitlines()}
                    if noisy and noisy != clean and noisy not in printed_lines:  # not a neighbour
                        cases.append({"field": field, "ocr": noisy, "printed": clean,
                                      "expected": expected,
                                      "from": f"{origin}/{truth['dossier']}/{doc['name']}"})
    return cases


def ocr(scans: list[Path], out: Path) -> None:
    subprocess.run([str(SOHOA), "ocr", *map(str, scans), "-o", str(out)], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=12)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sohoa-noise-") as tmp:
        work = args.work or Path(tmp)
        committed = REPO / "samples" / "dossiers"
        ocr(sorted(committed.glob("case*")), work / "committed-out")
        cases = harvest(committed, work / "committed-out", "samples/dossiers")
        generated = work / "scans"
        if not generated.exists():
            from sohoa.samples.generate import generate

            generate(generated, dossiers=args.dossiers, seed=args.seed, stacked_batch=False)
        ocr(sorted(generated.glob("case*")), work / "generated-out")
        cases += harvest(generated, work / "generated-out", f"generated seed {args.seed}")
    unique = list({(c["field"], c["ocr"]): c for c in cases}.values())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "about": "Lines as Tesseract read them from degraded scans, with what was printed and "
                 "what the parsers must find. Made by: " + " ".join(
                     ["bench/harvest_ocr_noise.py", *sys.argv[1:]]),
        "tesseract": Engine.probe_version(), "cases": unique}, ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8")
    counts = {}
    for c in unique:
        counts[c["field"]] = counts.get(c["field"], 0) + 1
    print(f"{len(unique)} noisy lines → {OUT}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
