"""sohoa.samples: synthetic scanned dossiers whose ground truth matches what is on the pages."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import time
import unicodedata
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image
from pyzbar.pyzbar import decode as zbar_decode

from sohoa.samples import stamps
from sohoa.samples.generate import generate

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "samples" / "dossiers"
CODE_RE = re.compile(r"[A-Z0-9.]+-\d{6}-\d{4,}")
TESSERACT = shutil.which("tesseract")
ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}


def _has_vie() -> bool:
    if not TESSERACT:
        return False
    out = subprocess.run([TESSERACT, "--list-langs"], capture_output=True, text=True).stdout
    return "vie" in out.split() and "osd" in out.split()


needs_tesseract = pytest.mark.skipif(not _has_vie(), reason="tesseract with the vie and osd models is not installed")


# --------------------------------------------------------------------------- helpers


def dossier_truths(root: Path) -> list[tuple[Path, dict]]:
    return [(p.parent, json.loads(p.read_text("utf-8"))) for p in sorted(root.glob("case*/ground_truth.json"))]


def all_pages(truth: dict):
    for doc in truth["documents"]:
        for page in doc["pages"]:
            yield doc, page


def load_page(folder: Path, source: str, index: int) -> Image.Image:
    """The page image as stored: a frame of a TIFF, the image of a PDF page, or the file."""
    path = folder / source
    if path.suffix == ".pdf":
        with pikepdf.open(path) as pdf:
            (_, raw), = pdf.pages[index].get_images().items()
            return pikepdf.PdfImage(raw).as_pil_image()
    img = Image.open(path)
    img.seek(index)
    img.load()
    return img


def page_count(path: Path) -> int:
    if path.suffix == ".pdf":
        with pikepdf.open(path) as pdf:
            return len(pdf.pages)
    with Image.open(path) as img:
        return getattr(img, "n_frames", 1)


def norm(s: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", s)).strip()


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def best_substring_distance(needle: str, hay: str) -> int:
    """Fewest edits turning `needle` into some substring of `hay` (Sellers)."""
    prev = [0] * (len(hay) + 1)
    for i, c in enumerate(needle, 1):
        cur = [i]
        for j, h in enumerate(hay, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (c != h)))
        prev = cur
    return min(prev)


def ocr_in_truth_order(image_path: Path, boxes: list[list[int]], dpi: int = 300) -> str:
    """Tesseract's words, put back on the ground-truth lines they fall in (reading order aside).

    Tesseract reads the two header columns line by line across the page; assigning each
    recognised word to the drawn line whose box holds it measures recognition, not layout.
    Words outside every line (the seal, the signature) are kept, at the end, as errors.
    Boxes are in clean 300-dpi pixels; `dpi` scales them to an unrotated, unskewed page.
    """
    boxes = [[v * dpi / 300 for v in box] for box in boxes]
    tsv = subprocess.run([TESSERACT, str(image_path), "-", "-l", "vie", "tsv"], capture_output=True,
                         text=True, env=ENV, check=True).stdout
    per_line: list[list[tuple[int, str]]] = [[] for _ in boxes]
    stray = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row["text"] or "").strip()
        if row["level"] != "5" or not text:
            continue
        x, y, w, h = (int(row[k]) for k in ("left", "top", "width", "height"))
        cx, cy = x + w / 2, y + h / 2
        hits = [(abs(cy - (y0 + y1) / 2), i) for i, (x0, y0, x1, y1) in enumerate(boxes)
                if x0 - 15 <= cx <= x1 + 15 and y0 - 15 <= cy <= y1 + 15]
        (per_line[min(hits)[1]] if hits else stray).append((x, text))
    lines = [" ".join(t for _, t in sorted(words)) for words in per_line]
    return "\n".join(lines + [t for _, t in stray])


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("samples") / "set"
    result = generate(out, dossiers=4, seed=11, batch_dossiers=2, batch_format="tif")
    assert result.formats == ["jpg", "pdf", "png", "tif"]
    return out


@pytest.fixture(scope="module")
def clean_set(tmp_path_factory) -> Path:
    """One dossier without any scanning defect (seed 0: its result is a quyết định)."""
    out = tmp_path_factory.mktemp("clean") / "set"
    generate(out, dossiers=1, seed=0, clean=True, stacked_batch=False)
    return out


# --------------------------------------------------------------------------- files and formats


def test_every_advertised_format_is_written_and_opens(small_set):
    modes = {"rgb": "RGB", "gray": "L", "bilevel": "1"}
    seen = set()
    for folder, truth in dossier_truths(small_set):
        assert CODE_RE.fullmatch(truth["dossier_code"])
        listed = {s for doc in truth["documents"] for s in doc["sources"]}
        on_disk = {p.name for p in folder.iterdir() if p.name != "ground_truth.json"}
        assert listed == on_disk
        for source in listed:
            pages = [p for _, p in all_pages(truth) if p["source"] == source]
            path = folder / source
            assert page_count(path) == len(pages), source
            seen.add(path.suffix)
            for page in pages:
                img = load_page(folder, source, page["index"])
                assert img.size == (page["width"], page["height"])
                assert img.mode == modes[page["mode"]]
                assert page["bilevel"] == (img.mode == "1")
                a4 = (210, 297) if page["rotation"] in (0, 180) else (297, 210)
                assert abs(img.width / page["dpi"] * 25.4 - a4[0]) < 1.5  # pixels match the dpi
                if path.suffix == ".pdf":
                    with pikepdf.open(path) as pdf:
                        box = [float(v) for v in pdf.pages[page["index"]].MediaBox]
                    assert box[2] == pytest.approx(img.width * 72 / page["dpi"], abs=0.01)
                    assert box[3] == pytest.approx(img.height * 72 / page["dpi"], abs=0.01)
                    assert np.asarray(img.convert("L")).mean() > 200  # paper is white, not inverted
                else:
                    with Image.open(path) as f:
                        f.seek(page["index"])
                        assert round(f.info["dpi"][0]) == page["dpi"]
                        if path.suffix == ".tif" and f.mode == "1":
                            assert f.info["compression"] == "group4"
    assert seen == {".jpg", ".png", ".tif", ".pdf"}


def test_pdfs_are_image_only_and_strictly_readable(small_set):
    from pyhanko.pdf_utils.reader import PdfFileReader

    pdfs = sorted(small_set.glob("case*/*.pdf"))
    assert pdfs
    for pdf in pdfs:
        if shutil.which("pdftotext"):
            text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
            assert text.strip() == "", f"{pdf.name} has a text layer"
        with open(pdf, "rb") as f:  # pyHanko refuses Pillow's xref quirk; ours must open strictly
            PdfFileReader(f, strict=True).root["/Pages"]


def test_batch_ground_truth_lists_each_dossiers_pages(small_set):
    truth = json.loads((small_set / "batch" / "ground_truth.json").read_text("utf-8"))
    path = small_set / "batch" / truth["file"]
    assert page_count(path) == len(truth["pages"])
    assert [p["index"] for p in truth["pages"]] == list(range(len(truth["pages"])))
    covered = []
    for d in truth["dossiers"]:
        assert CODE_RE.fullmatch(d["dossier_code"])
        sep = truth["pages"][d["separator"]]
        assert sep["kind"] == "separator" and sep["qr"] == [d["dossier_code"]]
        assert d["pages"] == list(range(d["separator"] + 1, d["separator"] + 1 + len(d["pages"])))
        assert sorted(i for doc in d["documents"] for i in doc["pages"]) == d["pages"]
        covered += [d["separator"], *d["pages"]]
    assert covered == list(range(len(truth["pages"])))


def test_every_ground_truth_string_is_nfc(small_set, clean_set):
    def strings(obj):
        if isinstance(obj, str):
            yield obj
        elif isinstance(obj, dict):
            for k, v in obj.items():
                yield k
                yield from strings(v)
        elif isinstance(obj, list):
            for v in obj:
                yield from strings(v)

    files = [*small_set.glob("*/ground_truth.json"), *clean_set.glob("*/ground_truth.json"),
             *COMMITTED.glob("*/ground_truth.json")]
    assert len(files) >= 6
    count = 0
    for f in files:
        for s in strings(json.loads(f.read_text("utf-8"))):
            assert unicodedata.is_normalized("NFC", s), (f, s)
            count += 1
    assert count > 1000


def test_metadata_has_the_contract_fields(small_set):
    fields = {"doc_type", "number", "symbol", "issued_date", "issued_place", "agency", "subject",
              "signer_name", "signer_title", "dossier_codes", "citizen_ids"}
    kinds = set()
    for _, truth in dossier_truths(small_set):
        for doc in truth["documents"]:
            m = doc["metadata"]
            kinds.add(doc["kind"])
            assert set(m) == fields
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", m["issued_date"])
            assert all(re.fullmatch(r"\d{12}", c) for c in m["citizen_ids"])
            assert all(CODE_RE.fullmatch(c) for c in m["dossier_codes"])
            page_text = "\n".join(p["text"] for p in doc["pages"])
            for value in (m["signer_name"], m["issued_place"], m["number"], m["symbol"], *m["citizen_ids"]):
                if value:
                    assert value in page_text
            if m["agency"]:  # header lines joined by one space
                assert m["agency"] in " ".join(page_text.split("\n"))
            assert not m["signer_title"].startswith(("TM.", "KT.", "Q.", "TL.", "TUQ."))
            if doc["kind"] == "receipt":
                assert m["dossier_codes"] == [truth["dossier_code"]]
            if doc["kind"] == "cong_van":
                assert m["subject"].startswith("V/v ") and m["doc_type"] == "Công văn"
    assert {"receipt"} < kinds and kinds & {"don", "to_khai"}


# --------------------------------------------------------------------------- what is drawn


@needs_tesseract
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["quyet_dinh", "receipt"])
def test_clean_page_ocr_matches_ground_truth(clean_set, tmp_path, kind):
    (folder, truth), = dossier_truths(clean_set)
    doc = next(d for d in truth["documents"] if d["kind"] == kind)
    got_pages = []
    for k, page in enumerate(doc["pages"]):
        assert page["rotation"] == 0 and page["skew_deg"] == 0 and page["dpi"] == 300
        assert not page["defects"]["noise"] and not page["blank"]
        image = tmp_path / f"page{k}.png"
        load_page(folder, page["source"], page["index"]).save(image)
        ocr = ocr_in_truth_order(image, page["line_boxes"], page["dpi"])
        want, got = norm(page["text"]), norm(ocr)
        accuracy = 1 - levenshtein(want, got) / len(want)
        assert accuracy >= 0.95, f"page {k + 1}: character accuracy {accuracy:.3f}\n{ocr}"
        got_pages.append(got)
    got = " ".join(got_pages)
    m = doc["metadata"]
    if m["number"]:  # these must come out exactly
        assert f"{m['number']}/{m['symbol']}" in got
    for code in m["dossier_codes"]:
        assert code in got
    # names and headings: at most one OCR slip per ten letters
    for value in (doc["date_line"], m["agency"], m["signer_name"], m["signer_title"], m["subject"]):
        if value:
            assert best_substring_distance(norm(value), got) <= len(value) // 10, (value, got)


def test_qr_codes_decode_to_the_dossier_code(small_set):
    for folder, truth in dossier_truths(small_set):
        receipt = next(d for d in truth["documents"] if d["kind"] == "receipt")
        page = receipt["pages"][0]
        payloads = [r.data.decode("utf-8") for r in zbar_decode(load_page(folder, page["source"], 0).convert("L"))]
        assert payloads == page["qr"]
        code = truth["dossier_code"]
        assert CODE_RE.fullmatch(code)
        assert f"MaHS:{code};" in payloads[0] and receipt["metadata"]["citizen_ids"][0] in payloads[0]
    batch = json.loads((small_set / "batch" / "ground_truth.json").read_text("utf-8"))
    for d in batch["dossiers"]:
        sheet = load_page(small_set / "batch", batch["file"], d["separator"]).convert("L")
        assert [r.data.decode("utf-8") for r in zbar_decode(sheet)] == [d["dossier_code"]]


@needs_tesseract
@pytest.mark.slow
def test_upside_down_page_is_upside_down(small_set, tmp_path):
    turned = [(folder, p) for folder, truth in dossier_truths(small_set)
              for _, p in all_pages(truth) if p["rotation"] == 180]
    assert turned, "the set should hold an upside-down page"
    folder, page = turned[0]
    image = tmp_path / "turned.png"
    load_page(folder, page["source"], page["index"]).save(image)
    osd = subprocess.run([TESSERACT, str(image), "-", "--psm", "0"], capture_output=True, text=True, env=ENV).stdout
    assert re.search(r"^Rotate: 180$", osd, re.M), osd


def test_blank_backs_have_almost_no_ink(small_set):
    blanks = [(folder, p) for folder, truth in dossier_truths(small_set) for _, p in all_pages(truth) if p["blank"]]
    assert len(blanks) >= 2
    for folder, page in blanks:
        assert page["text"] == "" and page["kind"] == "blank"
        ink = np.asarray(load_page(folder, page["source"], page["index"]).convert("L")) < 128
        assert ink.mean() < 0.001, (page["source"], ink.mean())
    # while a page with text has plenty
    folder, truth = dossier_truths(small_set)[0]
    _, page = next((d, p) for d, p in all_pages(truth) if not p["blank"])
    assert (np.asarray(load_page(folder, page["source"], page["index"]).convert("L")) < 128).mean() > 0.01


def test_page_ninety_degrees_is_landscape(small_set):
    sideways = [p for _, truth in dossier_truths(small_set) for _, p in all_pages(truth) if p["rotation"] == 90]
    assert sideways
    assert all(p["width"] > p["height"] for p in sideways)


# --------------------------------------------------------------------------- the committed set


def test_committed_set_matches_its_ground_truth():
    truths = dossier_truths(COMMITTED)
    assert len(truths) >= 4
    total = sum(p.stat().st_size for p in COMMITTED.rglob("*") if p.is_file())
    assert total <= 6 * 1024 * 1024, f"{total / 1e6:.1f} MB"
    for folder, truth in truths:
        listed = {s for doc in truth["documents"] for s in doc["sources"]}
        assert listed == {p.name for p in folder.iterdir() if p.name != "ground_truth.json"}
        for source in listed:
            assert page_count(folder / source) == sum(1 for _, p in all_pages(truth) if p["source"] == source)
    batch = json.loads((COMMITTED / "batch" / "ground_truth.json").read_text("utf-8"))
    assert page_count(COMMITTED / "batch" / batch["file"]) == len(batch["pages"])


def test_committed_set_is_regenerated_identically(tmp_path):
    """The call in samples/dossiers/README.md (recorded in set.json) gives the same bytes."""
    recorded = json.loads((COMMITTED / "set.json").read_text("utf-8"))
    call = recorded["call"]
    readme = (COMMITTED / "README.md").read_text("utf-8")
    for key in ("dossiers", "seed", "compact"):
        assert f"{key}={call[key]}" in readme
    out = tmp_path / "again"
    generate(out, **call)
    theirs = sorted(p.relative_to(COMMITTED) for p in COMMITTED.rglob("*") if p.is_file() and p.name != "README.md")
    ours = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert ours == theirs
    for rel in ours:
        assert (out / rel).read_bytes() == (COMMITTED / rel).read_bytes(), rel


# --------------------------------------------------------------------------- stamps and speed


def test_committed_signature_and_seal_images():
    sig = Image.open(ROOT / "samples" / "images" / "signature.png")
    seal = Image.open(ROOT / "samples" / "images" / "seal.png")
    for img in (sig, seal):
        assert img.mode == "RGBA" and round(img.info["dpi"][0]) == 300
        alpha = np.asarray(img)[..., 3]
        assert alpha.min() == 0 and alpha.max() > 200 and (alpha == 0).mean() > 0.5  # transparent ground
    ink = np.asarray(sig)[np.asarray(sig)[..., 3] > 128][:, :3].mean(0)
    assert ink[2] > ink[0] + 80  # blue
    ink = np.asarray(seal)[np.asarray(seal)[..., 3] > 128][:, :3].mean(0)
    assert ink[0] > ink[1] + 100  # red
    assert abs(seal.width / 300 * 25.4 - 36) < 0.3  # real size at 300 dpi
    assert (ROOT / "samples" / "images" / "seal.png").read_bytes() == stamps.png_bytes(stamps.make_seal())
    assert (ROOT / "samples" / "images" / "signature.png").read_bytes() == stamps.png_bytes(stamps.make_signature())


def test_rendering_a_page_is_fast():
    import random

    from sohoa.samples import degrade, documents, render, results

    case = documents.new_case(random.Random(5), "tro_cap", 1)
    doc = results.result(case)
    render.render(doc)  # warm the font and stamp caches
    started = time.perf_counter()
    pages = render.render(doc)
    degrade.scan(pages[0].image, degrade.random_defects(random.Random(1), mode="gray"), 1)
    assert time.perf_counter() - started < 2.0
