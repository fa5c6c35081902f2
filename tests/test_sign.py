"""`sohoa sign`, driven like a user (the installed CLI in a subprocess), checked independently:
pyHanko's validator against the TEST-ONLY root, pdftoppm pixels for the Decree 30 placement,
pdftotext and pdf.js for the stamp text.

The inputs are Decree 30-like decisions written as `sohoa ocr` writes its output (page image
+ invisible text layer, ocr.pdfpage.write_searchable_pdf) with word boxes we drew ourselves,
so the signer block's position is known. `decision_pdf()` is reused by bench/sign_vs_pyhanko.py.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import unicodedata
from functools import lru_cache
from pathlib import Path

import pytest

from sohoa.samples import testpki

DPI = 100
MM = DPI / 25.4  # pixels per mm
PT = DPI / 72  # pixels per point
W, H = round(210 * MM), round(297 * MM)
REPO = Path(__file__).resolve().parent.parent
PDFJS = Path(os.environ.get("SOHOA_PDFJS_DIR") or REPO / ".venv" / "node" / "node_modules" / "pdfjs-dist")
BODY = ("Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; xét đề nghị của "
        "công chức Địa chính - Xây dựng, Ủy ban nhân dân xã quyết định cấp giấy chứng nhận quyền "
        "sử dụng đất cho hộ ông Nguyễn Văn Bình tại thôn Đông.")


# ------------------------------------------------------------------ test documents


@lru_cache(maxsize=None)
def _font(style: str, size_pt: float):
    from PIL import ImageFont

    from sohoa.cli.fonts import vietnamese_font

    return ImageFont.truetype(str(vietnamese_font(style)), round(size_pt * PT))


def _line(draw, text, x, y, style="regular", size=13, centre=False):
    from sohoa.ocr.pdfpage import Line, Word

    font = _font(style, size)
    if centre:
        x -= draw.textlength(text, font=font) / 2
    words = []
    for word in text.split(" "):
        box = draw.textbbox((x, y), word, font=font)
        draw.text((x, y), word, font=font, fill=(20, 20, 20))
        words.append(Word(word, tuple(int(v) for v in box), 95.0))
        x += draw.textlength(word + " ", font=font)
    return Line((words[0].box[0], min(w.box[1] for w in words), words[-1].box[2],
                 max(w.box[3] for w in words)), None, tuple(words))


@lru_cache(maxsize=None)
def _pages(pages: int, number: str):
    """(JPEG bytes, lines) per page and the signer block's pixel rows: (position line bottom,
    name line top, column centre x)."""
    from PIL import Image, ImageDraw

    out = []
    block = None
    for p in range(pages):
        img = Image.new("RGB", (W, H), "white")
        d = ImageDraw.Draw(img)
        lines = []
        y = 20 * MM
        if p == 0:
            lines += [_line(d, "ỦY BAN NHÂN DÂN", 60 * MM, y, centre=True),
                      _line(d, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 140 * MM, y, "bold", centre=True)]
            y += 6 * MM
            lines += [_line(d, "XÃ DIÊN LẠC", 60 * MM, y, "bold", centre=True),
                      _line(d, "Độc lập - Tự do - Hạnh phúc", 140 * MM, y, "bold", 14, centre=True)]
            y += 10 * MM
            lines += [_line(d, f"Số: {number}", 60 * MM, y, centre=True),
                      _line(d, "Diên Lạc, ngày 14 tháng 6 năm 2025", 140 * MM, y, "italic", 14, centre=True)]
            y += 14 * MM
            lines.append(_line(d, "QUYẾT ĐỊNH", 112 * MM, y, "bold", 14, centre=True))
            y += 12 * MM
        else:
            lines.append(_line(d, str(p + 1), 112 * MM, 10 * MM, centre=True))
        words = BODY.split()
        for _ in range(6 if p < pages - 1 else 3):
            for start in range(0, len(words), 14):
                lines.append(_line(d, " ".join(words[start:start + 14]), 30 * MM, y))
                y += 7 * MM
        if p == pages - 1:
            y += 8 * MM
            lines += [_line(d, "Nơi nhận:", 30 * MM, y, "bolditalic", 12),
                      _line(d, "TM. ỦY BAN NHÂN DÂN", 150 * MM, y, "bold", centre=True)]
            y += 6 * MM
            lines += [_line(d, "- Như Điều 3;", 30 * MM, y, size=11),
                      _line(d, "CHỦ TỊCH", 150 * MM, y, "bold", centre=True)]
            position_bottom = lines[-1].box[3]
            y += 5 * MM
            lines.append(_line(d, "- Lưu: VT.", 30 * MM, y, size=11))
            y += 30 * MM
            lines.append(_line(d, "Trần Đình Bẩy", 150 * MM, y, "bold", centre=True))
            block = (position_bottom, lines[-1].box[1], 150 * MM)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=60, dpi=(DPI, DPI))
        out.append((buf.getvalue(), tuple(lines)))
    return tuple(out), block


def decision_pdf(path: Path, pages: int = 1, number: str = "15/QĐ-UBND") -> Path:
    """A searchable Decree 30 decision (page images + OCR-like text layer) at `path`."""
    from sohoa.ocr.pdfpage import PageImage, PageLayout, write_searchable_pdf

    rendered, _ = _pages(pages, number)
    layouts = [PageLayout(PageImage(data=jpeg, width=W, height=H, dpi=(DPI, DPI)), 0, 0.0, lines)
               for jpeg, lines in rendered]
    write_searchable_pdf(layouts, Path(path))
    return Path(path)


def signer_block_pt(pages: int = 1):
    """(position line bottom, name line top, column centre x) in PDF points (y up)."""
    _, (pos_bottom, name_top, cx) = _pages(pages, "15/QĐ-UBND")
    height_pt = H / PT
    return height_pt - pos_bottom / PT, height_pt - name_top / PT, cx / PT


# ------------------------------------------------------------------ helpers

P12 = {name: testpki.p12_path(name) for name in ("agency", "leader", "revoked", "expired", "nokeyusage")}
ROOT = testpki.CERTS_DIR / "root.pem"
TIME_RE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00"


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("docs")
    return {"d1": decision_pdf(folder / "qd1.pdf", 1), "d3": decision_pdf(folder / "qd3.pdf", 3)}


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    sig, seal = REPO / "samples" / "images" / "signature.png", REPO / "samples" / "images" / "seal.png"
    if not (sig.is_file() and seal.is_file()):
        from sohoa.samples import stamps

        sig, seal = stamps.write_committed(tmp_path_factory.mktemp("images"))
    return {"signature": sig, "seal": seal}


@pytest.fixture(scope="module")
def pwfile(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "password.txt"
    path.write_text(testpki.P12_PASSWORD + "\n", encoding="utf-8")
    return path


@pytest.fixture
def server(pki_server):
    if pki_server.port != testpki.DEFAULT_PORT:
        pytest.skip(f"the committed certificates point at port {testpki.DEFAULT_PORT}")
    return pki_server


def p12_args(pwfile, name="agency"):
    return ["--p12", P12[name], "--password-file", pwfile]


def run_json(sohoa, *args, code=0, **kwargs):
    proc = sohoa("sign", *map(str, args), "--json", **kwargs)
    assert proc.returncode == code, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else None, proc


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def validate(path: Path, context=None):
    """pyHanko's own validator, trusting only the TEST-ONLY root; revocation hard-fail."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    def vc():
        return context or ValidationContext(trust_roots=[testpki.certificate("root")], allow_fetching=True,
                                            revocation_mode="hard-fail")

    with open(path, "rb") as f:
        reader = PdfFileReader(f)
        out = []
        for sig in reader.embedded_regular_signatures:
            status = validate_pdf_signature(sig, signer_validation_context=vc(), ts_validation_context=vc())
            out.append((sig, status))
        return out


def assert_valid(path: Path, fields_expected: list[str]):
    from pyhanko.sign.validation import SignatureCoverageLevel
    from pyhanko.sign.diff_analysis import ModificationLevel

    results = validate(path)
    assert [sig.field_name for sig, _ in results] == fields_expected
    for i, (sig, status) in enumerate(results):
        assert status.bottom_line, status.pretty_print_details()
        assert status.intact and status.valid and status.trusted and not status.revoked
        if i == len(results) - 1:
            assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        else:  # earlier signatures: only allowed incremental updates after them
            assert status.modification_level <= ModificationLevel.FORM_FILLING, status.pretty_print_details()
            assert status.docmdp_ok
    return results


def render(pdf: Path, page: int, tmp: Path, scale: int = 1):
    """The page rendered by poppler at 72 dpi x scale (1 pixel = 1/scale point), as RGB."""
    import numpy as np
    from PIL import Image

    prefix = tmp / f"render-{pdf.stem}-{page}-{scale}"
    subprocess.run(["pdftoppm", "-r", str(72 * scale), "-f", str(page), "-l", str(page), "-png",
                    "-singlefile", str(pdf), str(prefix)], check=True)
    return np.asarray(Image.open(f"{prefix}.png").convert("RGB")).astype(int)


def blue(px):
    return (px[..., 2] > 110) & (px[..., 2] - px[..., 0] > 50) & (px[..., 2] - px[..., 1] > 40)


def red(px):
    return (px[..., 0] > 140) & (px[..., 0] - px[..., 1] > 60) & (px[..., 0] - px[..., 2] > 50)


def bbox(mask):
    import numpy as np

    ys, xs = np.nonzero(mask)
    return xs.min(), ys.min(), xs.max(), ys.max()  # image coordinates, y down


# ------------------------------------------------------------------ tests


@pytest.mark.slow
def test_invisible_batch_signs_validates_and_keeps_inputs(sohoa, docs, pwfile, tmp_path, server):
    before = {k: sha256(p) for k, p in docs.items()}
    out = tmp_path / "out"
    data, proc = run_json(sohoa, docs["d1"], docs["d3"], "-o", out, *p12_args(pwfile))
    assert data["signed"] == 2 and data["failed"] == 0 and data["level"] == "B-B"
    assert data["signer"] == "ỦY BAN NHÂN DÂN XÃ DIÊN LẠC"
    assert [Path(f["output"]).name for f in data["files"]] == ["qd1.pdf", "qd3.pdf"]
    assert "2 signed, 0 failed" in proc.stderr
    for f in data["files"]:
        assert f["status"] == "signed" and f["field"] == "ChuKy"
        [(sig, _)] = assert_valid(Path(f["output"]), ["ChuKy"])
        embedded = {c.chosen.dump() for c in sig.signed_data["certificates"]}
        for name in ("agency", "intermediate", "root"):  # the whole chain is embedded
            assert testpki.certificate(name).dump() in embedded
    assert {k: sha256(p) for k, p in docs.items()} == before
    # an existing output is never replaced without --force
    data, proc = run_json(sohoa, docs["d1"], "-o", out, *p12_args(pwfile), code=1)
    assert "exists" in data["files"][0]["message"] and "--force" in data["files"][0]["message"]
    data, _ = run_json(sohoa, docs["d1"], "-o", out, *p12_args(pwfile), "--force")
    assert data["signed"] == 1
    assert not list(out.glob(".*.part"))


def test_bad_files_fail_alone_and_the_batch_goes_on(sohoa, docs, pwfile, tmp_path):
    import pikepdf

    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.7\n this is not a PDF at all")
    encrypted = tmp_path / "encrypted.pdf"
    with pikepdf.open(docs["d1"]) as pdf:
        pdf.save(encrypted, encryption=pikepdf.Encryption(owner="owner", user=""))
    text = tmp_path / "letter.pdf"
    text.write_text("not a pdf", encoding="utf-8")
    inputs = [garbage, encrypted, tmp_path / "missing.pdf", text, docs["d1"]]
    data, proc = run_json(sohoa, *inputs, "-o", tmp_path / "out", *p12_args(pwfile), "--offline", code=1)
    by_name = {Path(f["file"]).name: f for f in data["files"]}
    assert data["signed"] == 1 and by_name["qd1.pdf"]["status"] == "signed"
    assert "unreadable PDF" in by_name["garbage.pdf"]["message"]
    assert "encrypted" in by_name["encrypted.pdf"]["message"]
    assert by_name["missing.pdf"]["message"] == "not found"
    assert "not a PDF" in by_name["letter.pdf"]["message"]
    for name in ("garbage.pdf", "encrypted.pdf", "missing.pdf", "letter.pdf"):
        line = next(l for l in proc.stderr.splitlines() if name in l)
        assert line.startswith("✗") and "Traceback" not in proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["qd1.pdf"]


@pytest.mark.slow
def test_copy_stamp_text_is_right_in_poppler_and_pdfjs(sohoa, docs, pwfile, tmp_path, server):
    data, _ = run_json(sohoa, docs["d3"], "-o", tmp_path, *p12_args(pwfile), "--role", "copy")
    [f] = data["files"]
    out = Path(f["output"])
    assert re.fullmatch(TIME_RE, f["signing_time"])
    expected = f"SAO Y\nỦY BAN NHÂN DÂN XÃ DIÊN LẠC\n{f['signing_time']}"
    assert_valid(out, ["BanSao"])
    # poppler: the text in the top right corner of page 1 (A4: 595 x 842 pt)
    proc = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-x", "298", "-y", "0", "-W", "298",
                           "-H", "70", "-enc", "UTF-8", str(out), "-"], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == expected
    assert unicodedata.is_normalized("NFC", proc.stdout)
    x0, y0, x1, y1 = f["box"]
    assert f["page"] == 1 and x1 <= 595 - 40 and x0 > 595 / 2 and y1 >= 842 - 25
    assert_glyph_spacing(out, f["box"], tmp_path)
    # pdf.js, the engine of browser viewers
    node = shutil.which("node")
    if node is None or not PDFJS.is_dir():
        pytest.skip("node or pdfjs-dist missing (make setup installs them)")
    proc = subprocess.run([node, str(REPO / "tests" / "pdfjs_extract.mjs"), str(out)],
                          capture_output=True, text=True, check=True)
    items = json.loads(proc.stdout)["pages"][0]["items"]
    corner = [i["str"] for i in items if i["str"].strip() and i["x"] > 595 / 2 and i["y"] > 842 - 70]
    assert "\n".join(corner) == expected
    assert unicodedata.is_normalized("NFC", "".join(corner))


def assert_glyph_spacing(pdf: Path, box, tmp: Path, font: Path | None = None) -> None:
    """The rendered stamp is as wide as the font says: its first line "SAO Y" measures what
    Pillow measures with the same font, and the ink spans the stamp's box. (A 2048-unit font
    scaled wrongly comes out with about double letter spacing.)"""
    from PIL import ImageFont

    from sohoa.cli.fonts import vietnamese_font

    k = 4
    px = render(pdf, 1, tmp, scale=k)
    x0, y0, x1, y1 = box
    top, bottom = px.shape[0] - int(y1 * k) - 8, px.shape[0] - int(y0 * k) + 8
    ink = px[top:bottom].sum(axis=2) < 600
    ink[:, : int(x0 * k) - 8] = False
    ix0, _, ix1, _ = bbox(ink)
    assert abs(ix0 / k - x0) < 1.5 and abs(ix1 / k - x1) < 1.5, (ix0 / k, ix1 / k, box)
    first = ink[: 8 + 10 * k]  # the first line: the top 10 pt of the box
    fx0, _, fx1, _ = bbox(first)
    pil = ImageFont.truetype(str(font or vietnamese_font("regular")), 1000)
    left, _, right, _ = pil.getbbox("SAO Y")
    assert abs((fx1 - fx0) / k - (right - left) / 100) < 1.5, ((fx1 - fx0) / k, (right - left) / 100)


def test_spacing_right_with_a_2048_unit_font(docs, pwfile, tmp_path):
    """pyHanko writes widths in font units; our accumulator rescales them (Liberation Serif 2
    has 2048 units per em)."""
    font = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")
    if not font.is_file():
        pytest.skip("fonts-liberation2 is not installed")
    from sohoa.signing import keys, sign

    key = keys.Pkcs12Key(P12["agency"], lambda: testpki.P12_PASSWORD)
    request = sign.SignRequest(role=sign.Role.copy, font=font, check_revocation=False, jobs=1)
    [result] = sign.sign_files([docs["d1"]], tmp_path, request, key)
    assert result.ok, result.message
    assert_glyph_spacing(Path(result.output), result.box, tmp_path, font)
    proc = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-x", "298", "-y", "0", "-W", "298", "-H", "70",
                           result.output, "-"], capture_output=True, text=True)
    assert proc.stdout.split("\n")[:2] == ["SAO Y", "ỦY BAN NHÂN DÂN XÃ DIÊN LẠC"]


def test_attachment_stamp(sohoa, docs, pwfile, tmp_path):
    data, _ = run_json(sohoa, docs["d1"], "-o", tmp_path, *p12_args(pwfile), "--offline",
                       "--role", "attachment", "--main-doc", "15/QĐ-UBND")
    [f] = data["files"]
    proc = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-x", "298", "-y", "0", "-W", "298",
                           "-H", "70", "-enc", "UTF-8", f["output"], "-"], capture_output=True, text=True)
    assert proc.stdout.strip() == f"15/QĐ-UBND\n{f['signing_time']}"
    # without the main document's number: a usage problem of every file
    data, _ = run_json(sohoa, docs["d1"], "-o", tmp_path / "x", *p12_args(pwfile), "--offline",
                       "--role", "attachment", code=1)
    assert "--main-doc" in data["files"][0]["message"]


@pytest.mark.slow
def test_leader_then_agency_where_decree_30_puts_them(sohoa, docs, pwfile, images, tmp_path, server):
    import numpy as np

    lead = tmp_path / "leader"
    data, _ = run_json(sohoa, docs["d3"], "-o", lead, *p12_args(pwfile, "leader"), "--role", "leader",
                       "--signature-image", images["signature"])
    [f] = data["files"]
    assert f["page"] == 3 and data["signer"] == "Trần Đình Bẩy"
    assert_valid(lead / "qd3.pdf", ["LanhDao"])
    # the agency refuses a document the leader has not signed...
    data, _ = run_json(sohoa, docs["d3"], "-o", tmp_path / "refused", *p12_args(pwfile), "--role", "agency",
                       "--seal-image", images["seal"], code=1)
    assert "no leader signature" in data["files"][0]["message"]
    # ...and seals the signed one, keeping the leader's signature valid
    data, _ = run_json(sohoa, lead / "qd3.pdf", "-o", tmp_path / "agency", *p12_args(pwfile), "--role", "agency",
                       "--seal-image", images["seal"])
    sealed = tmp_path / "agency" / "qd3.pdf"
    assert_valid(sealed, ["LanhDao", "CoQuan"])
    assert sha256(lead / "qd3.pdf") == sha256(Path(data["files"][0]["file"]))

    # pixels: blue signature between the position line and the name line, centred on them
    pos_bottom, name_top, cx = signer_block_pt(3)
    px = render(lead / "qd3.pdf", 3, tmp_path)
    height = px.shape[0]
    sig = blue(px)
    assert sig.sum() > 300
    bx0, by0, bx1, by1 = bbox(sig)
    assert height - pos_bottom <= by0 and by1 <= height - name_top  # (image y grows downwards)
    assert abs((bx0 + bx1) / 2 - cx) < 30
    assert not blue(render(docs["d3"], 3, tmp_path)).any()
    # red seal, 36 mm across, overlapping the left third of the signature
    px = render(sealed, 3, tmp_path)
    seal = red(px)
    rx0, ry0, rx1, ry1 = bbox(seal)
    assert abs((rx1 - rx0) - 36 / 25.4 * 72) < 6
    third = bx0 + (bx1 - bx0) / 3
    assert abs(rx1 - third) < 8 and rx0 < bx0
    assert seal[by0:by1, bx0:int(third)].sum() > 50
    assert not seal[:, int(third) + 10:].any()
    assert np.abs((ry0 + ry1) / 2 - (by0 + by1) / 2) < 8
    # a copy stamp on the signed document: in the widget, the leader's signature stays valid
    data, _ = run_json(sohoa, lead / "qd3.pdf", "-o", tmp_path / "copy", *p12_args(pwfile), "--role", "copy")
    assert_valid(tmp_path / "copy" / "qd3.pdf", ["LanhDao", "BanSao"])
    proc = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-x", "298", "-y", "0", "-W", "298", "-H", "70",
                           str(tmp_path / "copy" / "qd3.pdf"), "-"], capture_output=True, text=True)
    assert proc.stdout.strip() == f"SAO Y\nỦY BAN NHÂN DÂN XÃ DIÊN LẠC\n{data['files'][0]['signing_time']}"


def test_agency_without_leader_check_uses_the_signer_block(sohoa, docs, pwfile, images, tmp_path):
    data, _ = run_json(sohoa, docs["d1"], "-o", tmp_path, *p12_args(pwfile), "--offline", "--role", "agency",
                       "--seal-image", images["seal"], "--no-leader-check")
    [f] = data["files"]
    pos_bottom, name_top, cx = signer_block_pt(1)
    x0, y0, x1, y1 = f["box"]
    assert f["page"] == 1 and name_top < (y0 + y1) / 2 < pos_bottom and x1 < cx


def test_explicit_box_and_no_text_layer(sohoa, pwfile, images, tmp_path):
    import pikepdf

    blank = tmp_path / "blank.pdf"
    with pikepdf.new() as pdf:
        pdf.add_blank_page(page_size=(595, 842))
        pdf.add_blank_page(page_size=(595, 842))
        pdf.save(blank)
    common = [*p12_args(pwfile, "leader"), "--offline", "--role", "leader", "--signature-image", images["signature"]]
    data, _ = run_json(sohoa, blank, "-o", tmp_path / "a", *common, code=1)
    assert "no signer block" in data["files"][0]["message"] and "--box" in data["files"][0]["message"]
    data, _ = run_json(sohoa, blank, "-o", tmp_path / "b", *common, "--at-page", "1", "--box", "350,300,520,380")
    [f] = data["files"]
    x0, y0, x1, y1 = f["box"]
    assert f["page"] == 1 and 350 <= x0 < x1 <= 520 and 300 <= y0 < y1 <= 380
    assert blue(render(Path(f["output"]), 1, tmp_path)).sum() > 300
    proc = sohoa("sign", blank, "-o", tmp_path / "c", *common, "--box", "1,2,3")
    assert proc.returncode == 2 and "--box" in proc.stderr


@pytest.mark.parametrize("name, words", [("expired", "expired on 2022-05-31"),
                                         ("nokeyusage", "not for signing"),
                                         ("revoked", "revoked")])
@pytest.mark.slow
def test_unusable_certificate_is_refused_before_signing(sohoa, docs, pwfile, tmp_path, server, name, words):
    proc = sohoa("sign", docs["d1"], "-o", tmp_path, *p12_args(pwfile, name))
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and "nothing was signed" in proc.stderr
    assert not list(tmp_path.iterdir())


def test_secrets_wrong_password_env_and_prompt(sohoa, docs, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("wrong\n", encoding="utf-8")
    data, proc = run_json(sohoa, docs["d1"], docs["d3"], "-o", tmp_path / "a", "--p12", P12["agency"],
                          "--password-file", bad, code=1)
    assert all("wrong password" in f["message"] for f in data["files"]) and data["failed"] == 2
    assert sum("wrong password" in l for l in proc.stderr.splitlines()) == 2
    assert "wrong\n" not in proc.stderr + proc.stdout
    env = {"SOHOA_P12_PASSWORD": testpki.P12_PASSWORD}
    data, _ = run_json(sohoa, docs["d1"], "-o", tmp_path / "b", "--p12", P12["agency"], "--offline", env=env)
    assert data["signed"] == 1
    # hidden prompt: asked once for the whole batch (here from a pipe)
    data, proc = run_json(sohoa, docs["d1"], docs["d3"], "-o", tmp_path / "c", "--p12", P12["agency"],
                          "--offline", input=testpki.P12_PASSWORD + "\n", env={"SOHOA_P12_PASSWORD": ""})
    assert data["signed"] == 2 and proc.stderr.count("Password:") == 1
    assert testpki.P12_PASSWORD not in proc.stderr + proc.stdout


def test_missing_image_fails_every_file(sohoa, docs, pwfile, tmp_path):
    data, proc = run_json(sohoa, docs["d1"], docs["d3"], "-o", tmp_path, *p12_args(pwfile, "leader"), "--offline",
                          "--role", "leader", "--signature-image", tmp_path / "nope.png", code=1)
    assert all("image not found" in f["message"] for f in data["files"])
    data, _ = run_json(sohoa, docs["d1"], "-o", tmp_path, *p12_args(pwfile, "leader"), "--offline",
                       "--role", "leader", code=1)
    assert "--signature-image" in data["files"][0]["message"]


@pytest.mark.slow
def test_pades_levels_and_certification(sohoa, docs, pwfile, tmp_path, server):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import MDPPerm
    from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature, validate_pdf_timestamp

    proc = sohoa("sign", docs["d1"], "-o", tmp_path / "x", *p12_args(pwfile), "--level", "B-LT")
    assert proc.returncode == 2 and "--tsa" in proc.stderr
    root = testpki.certificate("root")
    for level in ("B-T", "B-LT", "B-LTA"):
        args = ["--level", level] if level != "B-T" else []  # --tsa alone means B-T
        data, _ = run_json(sohoa, docs["d1"], "-o", tmp_path / level, *p12_args(pwfile), "--tsa",
                           server.tsa_url, *args, *(["--certify"] if level == "B-T" else []))
        assert data["level"] == level
        out = tmp_path / level / "qd1.pdf"
        [(sig, status)] = validate(out)
        assert status.bottom_line and status.timestamp_validity is not None
        assert status.timestamp_validity.valid and status.timestamp_validity.trusted
        with open(out, "rb") as f:
            reader = PdfFileReader(f)
            if level == "B-T":
                assert "/DSS" not in reader.root
                assert reader.embedded_signatures[0].docmdp_level == MDPPerm.FILL_FORMS
                continue
            # B-LT: the DSS alone proves the chain, offline
            dss = DocumentSecurityStore.read_dss(reader)
            offline = dss.as_validation_context({"trust_roots": [root], "allow_fetching": False,
                                                 "revocation_mode": "hard-fail"})
            assert validate_pdf_signature(reader.embedded_regular_signatures[0], offline).bottom_line
            stamps = reader.embedded_timestamp_signatures
            if level == "B-LTA":
                from pyhanko_certvalidator import ValidationContext

                vc = ValidationContext(trust_roots=[root], allow_fetching=True)
                assert len(stamps) == 1 and validate_pdf_timestamp(stamps[0], vc).valid
            else:
                assert not stamps


def test_usage_errors(sohoa, docs, tmp_path):
    proc = sohoa("sign", docs["d1"], "-o", tmp_path)
    assert proc.returncode == 2 and "no key" in proc.stderr
    proc = sohoa("sign", docs["d1"], "-o", tmp_path, "--p12", tmp_path / "none.p12")
    assert proc.returncode == 2 and "no such PKCS#12 file" in proc.stderr
    proc = sohoa("sign", docs["d1"], "-o", tmp_path, "--p12", P12["agency"], "--role", "boss")
    assert proc.returncode == 2


def test_ocr_layer_words_match_poppler(docs, tmp_path):
    """pdfwords reads sohoa's own OCR layer in-process; poppler must see the same words."""
    import pikepdf
    from pyhanko.pdf_utils.reader import PdfFileReader

    from sohoa.signing import pdfwords

    for path, page in ((docs["d1"], 1), (docs["d3"], 3)):
        with open(path, "rb") as f:
            reader = PdfFileReader(f)
            fast = pdfwords.ocr_layer_words(reader, page - 1, (0, 0, 595.44, 841.68))
        slow = pdfwords.page_words(path, page)
        assert fast is not None and len(fast.words) == len(slow.words) > 100
        for a, b in zip(fast.words, slow.words):
            assert a.text == b.text
            assert max(abs(a.x0 - b.x0), abs(a.y0 - b.y0), abs(a.x1 - b.x1), abs(a.y1 - b.y1)) < 0.2
    other = tmp_path / "other.pdf"
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.save(other)
    with open(other, "rb") as f:
        assert pdfwords.ocr_layer_words(PdfFileReader(f), 0, (0, 0, 612, 792)) is None
