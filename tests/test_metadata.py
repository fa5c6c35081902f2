"""`sohoa ocr` reads each document's metadata into dossier.json: checked field by field
against the ground truth of the committed samples (the shared OCR run of conftest.py)."""
import json
import unicodedata

import pytest
from PIL import Image, ImageDraw

from conftest import CASES

FIELDS = ("doc_type", "number", "symbol", "issued_date", "issued_place", "agency", "subject",
          "signer_name", "signer_title", "dossier_codes", "citizen_ids")
LISTS = ("dossier_codes", "citizen_ids")

pytestmark = pytest.mark.slow


def _normal(value):
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return None if value is None else " ".join(unicodedata.normalize("NFC", value).split())


@pytest.fixture(scope="module")
def pairs(dossiers_out):
    """(case, document name, kind, expected metadata, dossier.json document) per document."""
    out, result = dossiers_out
    assert result.returncode == 0, result.stderr
    found = []
    for case in CASES:
        truth = json.loads((case / "ground_truth.json").read_text(encoding="utf-8"))
        dossier = json.loads((out / case.name / "dossier.json").read_text(encoding="utf-8"))
        documents = {d["file"][:-4]: d for d in dossier["documents"]}
        for doc in truth["documents"]:
            found.append((case.name, doc["name"], doc["kind"], doc["metadata"], documents[doc["name"]]))
    return found


def test_every_field_of_every_sample_document(pairs):
    right, misses = 0, []
    for case, name, kind, expected, document in pairs:
        assert list(document["metadata"]) == list(FIELDS)
        for field in FIELDS:
            if _normal(document["metadata"][field]) == _normal(expected[field]):
                right += 1
            else:
                misses.append(f"{case}/{name} {field}: {expected[field]!r} → {document['metadata'][field]!r}")
    total = len(pairs) * len(FIELDS)
    assert right / total >= 0.95, "\n".join(misses)
    by_field = {f: sum(_normal(d["metadata"][f]) == _normal(e[f]) for *_, e, d in pairs) / len(pairs)
                for f in FIELDS}
    assert min(by_field.values()) >= 0.85, by_field


def test_every_kind_of_document_is_read(pairs):
    kinds = {kind for _, _, kind, _, _ in pairs}
    assert {"receipt", "don", "to_khai", "quyet_dinh", "cong_van", "thong_bao", "giay_xac_nhan"} <= kinds
    for case, name, kind, expected, document in pairs:
        got = document["metadata"]
        assert got["doc_type"] == expected["doc_type"], (case, name)
        assert got["signer_title"] == expected["signer_title"], (case, name)


def test_no_absent_field_is_guessed(pairs):
    for case, name, _, expected, document in pairs:
        for field in FIELDS:
            if expected[field] in (None, []):
                assert document["metadata"][field] == ([] if field in LISTS else None), (case, name, field)


def test_each_field_found_has_a_confidence(pairs):
    for case, name, _, _, document in pairs:
        found = {f for f, v in document["metadata"].items() if v not in (None, [])}
        assert set(document["confidence"]) == found, (case, name)
        assert all(0 < c <= 1 for c in document["confidence"].values())


def test_values_are_nfc_and_in_the_contract_forms(pairs):
    import datetime as dt
    import re

    for case, name, kind, _, document in pairs:
        meta = document["metadata"]
        for value in meta.values():
            for text in (value if isinstance(value, list) else [value]):
                assert text is None or unicodedata.is_normalized("NFC", text)
        if meta["issued_date"]:
            dt.date.fromisoformat(meta["issued_date"])
        assert all(re.fullmatch(r"\d{12}", i) for i in meta["citizen_ids"])
        if kind == "cong_van":
            assert meta["subject"].startswith("V/v ")


def test_the_dossier_code_comes_from_the_receipt(dossiers_out):
    out, _ = dossiers_out
    for case in CASES:
        truth = json.loads((case / "ground_truth.json").read_text(encoding="utf-8"))
        dossier = json.loads((out / case.name / "dossier.json").read_text(encoding="utf-8"))
        assert dossier["dossier_code"] == truth["dossier_code"]


# ---------------------------------------------------------------- 1-D barcodes

CODE39 = {  # bars and spaces, narrow (n) or wide (w), of Code 39 (ISO/IEC 16388)
    "0": "nnnwwnwnn", "1": "wnnwnnnnw", "2": "nnwwnnnnw", "3": "wnwwnnnnn", "4": "nnnwwnnnw",
    "5": "wnnwwnnnn", "6": "nnwwwnnnn", "7": "nnnwnnwnw", "8": "wnnwnnwnn", "9": "nnwwnnwnn",
    "H": "wnnnnwwnn", "-": "nwnnnnwnw", ".": "wwnnnnwnn", "*": "nwnnwnwnn"}


def code39(text: str, narrow: int = 4) -> Image.Image:
    modules = []
    for ch in f"*{text}*":
        modules += [(i % 2 == 0, 3 * narrow if e == "w" else narrow) for i, e in enumerate(CODE39[ch])]
        modules.append((False, narrow))
    width = sum(w for _, w in modules) + 40 * narrow
    image = Image.new("L", (width, 40 * narrow), 255)
    draw, x = ImageDraw.Draw(image), 20 * narrow
    for bar, w in modules:
        if bar:
            draw.rectangle([x, 0, x + w - 1, image.height - 1], fill=0)
        x += w
    return image


def test_a_barcode_on_the_page_gives_its_dossier_code():
    from sohoa.ocr.analyse import decode_codes
    from sohoa.ocr.metadata import extract
    from sohoa.ocr.textpage import make_page

    code = "000.05.12.H27-190807-0001"
    page = Image.new("L", (2480, 3508), 255)
    page.paste(code39(code), (300, 300))
    qr, bars = decode_codes(page, 300)
    assert (qr, bars) == ((), (code,))
    meta = extract([make_page([], 2480, 3508, 0, bars)])
    assert meta.dossier_codes == [code]
