"""PDFs the one-stop desk receives: with a good or a garbage text layer, signed, encrypted."""
import hashlib
import json
import subprocess
import unicodedata

import pikepdf
import pytest

from conftest import REPO, SOHOA, need

SCAN_PDF = REPO / "samples" / "dossiers" / "case03" / "tiep_nhan.pdf"  # image-only, one page

pytestmark = pytest.mark.slow


def ocr(*args):
    need("tesseract")
    return subprocess.run([str(SOHOA), "ocr", *map(str, args), "--json"], capture_output=True,
                          text=True, timeout=300)


def only_document(out, folder: str) -> dict:
    return json.loads((out / folder / "dossier.json").read_text())["documents"][0]


def text_of(pdf) -> str:
    return unicodedata.normalize("NFC", subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout)


def test_good_text_layer_is_kept_as_it_is(tmp_path):
    first = tmp_path / "first"
    assert ocr(SCAN_PDF, "-o", first).returncode == 0
    searchable = tmp_path / "in" / "searchable.pdf"
    searchable.parent.mkdir()
    searchable.write_bytes((first / "case03" / "tiep_nhan.pdf").read_bytes())
    out = tmp_path / "out"
    result = ocr(searchable, "-o", out)
    assert result.returncode == 0, result.stderr
    assert (out / "in" / "searchable.pdf").read_bytes() == searchable.read_bytes()
    doc = only_document(out, "in")
    assert doc["ocr"]["text_layer"] == "kept"
    assert "kept" in json.loads(result.stdout)["files"][0]["message"]


def test_garbage_text_layer_is_read_again(tmp_path):
    from sohoa.ocr.pdfpage import Line, PageImage, PageLayout, Word, write_searchable_pdf

    with pikepdf.open(SCAN_PDF) as pdf:
        image = next(iter(pdf.pages[0].get_images().values()))
        width, height = int(image.Width), int(image.Height)
    # What scanners with an English engine write over a Vietnamese page: no marks at all.
    garbage = [Line((200, 200 + 80 * i, 1800, 250 + 80 * i), None,
                    tuple(Word(w, (200 + 300 * j, 200 + 80 * i, 480 + 300 * j, 250 + 80 * i), 50)
                          for j, w in enumerate("CONG HOA XA HOI CHU NGHIA".split())))
               for i in range(10)]
    scan = tmp_path / "in" / "wrong-layer.pdf"
    write_searchable_pdf([PageLayout(PageImage(pdf_path=SCAN_PDF, width=width, height=height,
                                               dpi=(200.0, 200.0)), 0, 0.0, tuple(garbage))], scan)
    assert "CONG HOA XA HOI" in text_of(scan)
    out = tmp_path / "out"
    result = ocr(scan, "-o", out)
    assert result.returncode == 0, result.stderr
    text = text_of(out / "in" / "wrong-layer.pdf")
    assert "CONG HOA XA HOI" not in text
    assert "HÒA" in text and "NGHĨA" in text
    assert only_document(out, "in")["ocr"]["mean_confidence"] > 60


def test_signed_scan_stays_signed_and_gets_a_separate_searchable_copy(tmp_path):
    from pyhanko.sign import signers
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    from sohoa.samples.testpki import P12_PASSWORD, p12_path

    signed = tmp_path / "in" / "signed.pdf"
    signed.parent.mkdir()
    signer = signers.SimpleSigner.load_pkcs12(str(p12_path("agency")), passphrase=P12_PASSWORD.encode())
    with open(SCAN_PDF, "rb") as inp, open(signed, "wb") as outp:
        writer = IncrementalPdfFileWriter(inp, strict=False)
        signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name="Sig1"),
                         signer=signer, output=outp)
    digest = hashlib.sha256(signed.read_bytes()).hexdigest()
    out = tmp_path / "out"
    result = ocr(signed, "-o", out)
    assert result.returncode == 0, result.stderr
    assert hashlib.sha256(signed.read_bytes()).hexdigest() == digest
    row = json.loads(result.stdout)["files"][0]
    assert row["status"] == "warning" and "signed" in row["message"]
    assert "derivative" in " ".join(only_document(out, "in")["warnings"])
    copy = out / "in" / "signed.pdf"
    assert "HÒA" in text_of(copy)
    with pikepdf.open(copy) as pdf:
        assert "/AcroForm" not in pdf.Root, "the derivative claims no signature"


def test_owner_password_pdf_is_opened(tmp_path):
    locked = tmp_path / "in" / "locked.pdf"
    locked.parent.mkdir()
    with pikepdf.open(SCAN_PDF) as pdf:
        pdf.save(locked, encryption=pikepdf.Encryption(owner="chu-so-huu", user=""))
    out = tmp_path / "out"
    result = ocr(locked, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "HÒA" in text_of(out / "in" / "locked.pdf")
