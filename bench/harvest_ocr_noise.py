"""Collect real OCR noise for the metadata parsers' unit tests (tests/data/ocr_noise.json).

    .venv/bin/python bench/harvest_ocr_noise.py [--dossiers 12] [--seed 5] [--work DIR]

Generates degraded scans (a seed of its own: not the tests' 2026, not the accuracy
benchmark's 41), runs `sohoa ocr` on them and on the committed samples, and pairs each
line of the ground truth that carries a metadata field ("Số: …/…", "<place>, ngày …",
the document's title, "V/v …", the signer's position, lines with dossier codes or
citizen IDs) with the line Tesseract actually read for it. Only lines read differently
from the printed text are kept: these are the noise variants the parsers must survive.

The agency, trích yếu and signer's name are not parsed but respelt from what the
document and its dossier say elsewhere (ocr/metadata.py `Witnesses`): their cases also
carry Tesseract's words with its confidences, and the dossier's other lines that share
a word with them (the witnesses), all from the same OCR run.
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


SPELT = (("agency", "agency"), ("subject", "text"), ("signer_name", "name"))


def tokens(segment) -> list:
    return [[t.text, round(t.confidence, 3)] for t in segment.tokens]


def words_of(text: str) -> set[str]:
    from sohoa.ocr.lexicon import key

    return {k for k in (key([w]) for w in text.split()) if len(k) >= 3}


def printed_parts(value: str, page_text: str) -> list[str]:
    """The printed lines that make up a field's value (an agency or trích yếu may take
    two or three lines)."""
    flat = " ".join(value.split())
    lines = [nfc(" ".join(x.split())) for x in page_text.splitlines()]
    return [x for x in lines if len(x) >= 4 and x in flat and len(x.split()) >= 2]


def read_dossiers(scans: Path, out: Path):
    """(ground truth, {document name: its segments}) of each dossier `sohoa ocr` read,
    from its page cache."""
    from sohoa.ocr.cache import PageCache
    from sohoa.ocr.pipeline import CACHE_DIR, OcrOptions, plan
    from sohoa.ocr.readmeta import document_pages

    cache = PageCache(out / CACHE_DIR)
    work = plan(sorted(scans.glob("case*")), out, Engine.probe_version(), OcrOptions())
    for dossier in work.dossiers:
        truth_file = scans / dossier.name / "ground_truth.json"
        if not truth_file.is_file():
            continue
        segments = {}
        for doc in dossier.documents:
            for page in doc.pages:
                page.analysis = cache.get(page.key)
            if doc.kept_pdf is None and all(p.analysis for p in doc.pages):
                pages, _ = document_pages(doc)
                segments[doc.name] = [s for p in pages for s in p.segments]
        yield json.loads(truth_file.read_text(encoding="utf-8")), segments


def spelling_cases(scans: Path, out: Path, origin: str) -> list[dict]:
    cases = []
    for truth, segments in read_dossiers(scans, out):
        for doc in truth.get("documents", []):
            own = segments.get(doc["name"], [])
            for field, kind, clean, seg, read in noisy_parts(doc, own):
                shared = words_of(clean) | words_of(read)
                witnesses = [{"same_document": name == doc["name"], "tokens": tokens(s)}
                             for name, segs in segments.items() for s in segs
                             if s is not seg and words_of(s.text) & shared]
                cases.append({"field": field, "kind": kind, "ocr": read, "tokens": tokens(seg),
                              "printed": clean, "expected": clean, "witnesses": witnesses,
                              "from": f"{origin}/{truth['dossier']}/{doc['name']}"})
    return cases


def noisy_parts(doc: dict, own: list):
    """(field, kind, printed, segment, what was read) for each part of a respelt field
    that Tesseract misread: the lines of an agency, trích yếu or signer's name, and the
    place before ", ngày" of the date line."""
    from sohoa.ocr.layout import trim

    meta = doc["metadata"]
    for page in (p["text"] for p in doc["pages"] if not p.get("blank")):
        for field, kind in SPELT:
            for clean in printed_parts(meta.get(field) or "", page):
                read = best_match(clean, [s.text for s in own])
                seg = next((s for s in own if read and read in s.text), None)
                if seg is not None and read != clean and len(read.split()) == len(seg.tokens):
                    yield field, kind, clean, seg, read  # (a whole line: a part is no clean case)
        place = meta.get("issued_place")
        line = next((x for x in map(nfc, page.splitlines()) if place and x.startswith(place + ",")), None)
        seg = next((s for s in own if line and s.text == best_match(line, [s.text])), None)
        read = trim(vp.date_line_place(seg.text) or "") if seg is not None else ""
        if read and read != place:
            yield "issued_place", "name", place, seg, read


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
        cases += spelling_cases(committed, work / "committed-out", "samples/dossiers")
        generated = work / "scans"
        if not generated.exists():
            from sohoa.samples.generate import generate

            generate(generated, dossiers=args.dossiers, seed=args.seed, stacked_batch=False)
        ocr(sorted(generated.glob("case*")), work / "generated-out")
        cases += harvest(generated, work / "generated-out", f"generated seed {args.seed}")
        cases += spelling_cases(generated, work / "generated-out", f"generated seed {args.seed}")
    unique = list({(c["field"], c["ocr"]): c for c in cases}.values())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    head = json.dumps({
        "about": "Lines as Tesseract read them from degraded scans, with what was printed and "
                 "what the parsers must find (one case a line). Made by: " + " ".join(
                     ["bench/harvest_ocr_noise.py", *sys.argv[1:]]),
        "tesseract": Engine.probe_version()}, ensure_ascii=False, indent=1)
    lines = ",\n".join(json.dumps(c, ensure_ascii=False) for c in unique)
    OUT.write_text(head[:-2] + ',\n "cases": [\n' + lines + "\n ]\n}\n", encoding="utf-8")
    counts = {}
    for c in unique:
        counts[c["field"]] = counts.get(c["field"], 0) + 1
    print(f"{len(unique)} noisy lines → {OUT}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
