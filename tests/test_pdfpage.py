"""Searchable PDFs from page images + OCR words, checked with poppler, qpdf and pdf.js.

Pages are drawn with PIL in a Vietnamese font, so every word's box is known without OCR.
"""
import io
import json
import os
import re
import shutil
import subprocess
import time
import unicodedata
from html import unescape
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageCms, ImageDraw, ImageFont

from sohoa.cli.errors import BadInput
from sohoa.cli.fonts import vietnamese_font
from sohoa.ocr import textlayer
from sohoa.ocr.pdfpage import Line, PageImage, PageLayout, Word, write_searchable_pdf
from conftest import REPO, need

TEXT = ["Ủy ban nhân dân", "Phường Tân Định", "Quyết định số 123/QĐ-UBND",
        "về việc cấp phép cho bà Nguyễn Thị Hường", "Đường Hai Bà Trưng, Quận 1"]
PDFJS = Path(os.environ.get("SOHOA_PDFJS_DIR") or REPO / ".venv/node/node_modules/pdfjs-dist")


# -- making pages -------------------------------------------------------------------------

def draw_page(size=(827, 1169), text=TEXT, font_px=30, left=110, top=170, gap=2.0,
              baseline=True, mode="L"):
    """A white page with `text` lines; returns (image, Lines in its pixels)."""
    im = Image.new(mode, size, "white")
    draw = ImageDraw.Draw(im)
    font = ImageFont.truetype(str(vietnamese_font()), font_px)
    space = draw.textlength(" ", font=font)
    lines, y = [], top
    for n, line_text in enumerate(text):
        words, x = [], left
        for t in line_text.split(" "):
            draw.text((x, y), t, font=font, fill="black", anchor="ls")
            box = draw.textbbox((x, y), t, font=font, anchor="ls")
            words.append(Word(t, box, 96.0))
            x = box[2] + space
        lb = (min(w.box[0] for w in words), min(w.box[1] for w in words),
              max(w.box[2] for w in words), max(w.box[3] for w in words))
        # every other line without a baseline, as when Tesseract gives none
        bl = (0.0, float(y - lb[3])) if baseline and n % 2 == 0 else None
        lines.append(Line(lb, bl, tuple(words)))
        y += round(font_px * gap)
    return im, tuple(lines)


def encode(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def expected(lines):
    return [" ".join(w.text for w in line.words) for line in lines]


# -- reading PDFs as users' tools do ---------------------------------------------------------

def pdftotext(pdf, *args, page=None):
    need("pdftotext")
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", *args, *pages, str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


def text_lines(pdf, *args, page=None):
    return [ln.strip() for ln in pdftotext(pdf, *args, page=page).splitlines()
            if ln.strip() and ln.strip() != "\f"]


def bbox_words(pdf, page=1):
    html = pdftotext(pdf, "-bbox", page=page)
    return [(unescape(m[5]), *map(float, m.groups()[:4])) for m in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
        html)]


def pdfjs(pdf):
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not installed: pdf.js text is not checked")
    if not (PDFJS / "legacy/build/pdf.mjs").is_file():
        pytest.skip(f"pdfjs-dist is not at {PDFJS} (set SOHOA_PDFJS_DIR or run make setup)")
    run = subprocess.run([node, str(REPO / "tests/pdfjs_extract.mjs"), str(pdf)],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "SOHOA_PDFJS_DIR": str(PDFJS)})
    assert run.returncode == 0, run.stderr
    return [p["text"] for p in json.loads(run.stdout)["pages"]]


def assert_text(pdf, lines, page=1, layout_too=True):
    want = expected(lines)
    for args in ([], ["-layout"]) if layout_too else ([],):
        got = text_lines(pdf, *args, page=page)
        if args:  # -layout keeps the gaps it sees; words must not split or merge
            got = [" ".join(g.split()) for g in got]
        assert got == want, args
        assert all(unicodedata.is_normalized("NFC", g) for g in got)


def assert_boxes(pdf, lines, scale, page=1, tol=3.0):
    """Each word's box in poppler lands on the drawn word: x within `tol` points,
    its vertical middle within the drawn line (sizes are per line, not per word)."""
    found = bbox_words(pdf, page)
    words = [(w, line) for line in lines for w in line.words]
    assert [f[0] for f in found] == [w.text for w, _ in words]
    for (text, x0, y0, x1, y1), (w, line) in zip(found, words):
        bx0, by0, bx1, by1 = (v * s for v, s in zip(w.box, scale + scale))
        ly0, ly1 = line.box[1] * scale[1], line.box[3] * scale[1]
        assert abs(x0 - bx0) < tol and abs(x1 - bx1) < tol, (text, (x0, x1), (bx0, bx1))
        assert ly0 - tol < (y0 + y1) / 2 < ly1 + tol, (text, (y0, y1), (ly0, ly1))
        assert abs((y1 - y0) - (ly1 - ly0)) < tol, (text, y1 - y0, ly1 - ly0)


def page_images(page):
    """The page's image XObjects (pikepdf 10 renamed Page.images)."""
    found = page.get_images() if hasattr(page, "get_images") else page.images
    return list(found.values())


def render(pdf, dpi, page=1):
    need("pdftoppm")
    png = subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), "-f", str(page), "-l",
                          str(page), "-png", str(pdf)], check=True, capture_output=True).stdout
    return Image.open(io.BytesIO(png)).convert("L")


def layout(data=None, im=None, lines=(), dpi=200.0, turn=0, skew=0.0, **kw):
    return PageLayout(PageImage(data=data, width=im.width, height=im.height,
                                dpi=(dpi, dpi), **kw), turn, skew, lines)


# -- the tests ----------------------------------------------------------------------------------

def test_jpeg_page_keeps_the_bytes_and_reads_back_in_poppler_and_pdfjs(tmp_path):
    im, lines = draw_page((1654, 2339), font_px=52, left=200, top=330)  # A4 at 200 dpi
    jpeg = encode(im, "JPEG", quality=85)
    out = tmp_path / "quyet-dinh.pdf"
    write_searchable_pdf([layout(jpeg, im, lines)], out, title="Quyết định 123")

    with pikepdf.open(out) as pdf:
        assert pdf.pdf_version >= "1.4"
        page = pdf.pages[0]
        assert [float(v) for v in page.MediaBox] == pytest.approx([0, 0, 595.44, 842.04])
        (xobj,) = page_images(page)
        assert xobj.Filter == pikepdf.Name.DCTDecode
        assert xobj.read_raw_bytes() == jpeg
        assert str(pdf.docinfo.Title) == "Quyết định 123"
        assert pdf.Root.Lang == "vi-VN"
    need("pdfimages")
    subprocess.run(["pdfimages", "-all", str(out), str(tmp_path / "img")], check=True)
    assert (tmp_path / "img-000.jpg").read_bytes() == jpeg

    assert_text(out, lines)
    text = pdftotext(out)
    for phrase in ("Quyết định", "Ủy ban", "Đường", "Nguyễn Thị Hường", "Phường Tân Định"):
        assert phrase in text
    assert unicodedata.normalize("NFD", "Quyết") not in text
    assert_boxes(out, lines, (72 / 200, 72 / 200))
    assert pdfjs(out) == ["\n".join(expected(lines))]


def test_png_gray_16bit_palette_and_alpha_are_pixel_identical(tmp_path):
    im, lines = draw_page(text=TEXT[:3])
    px = np.array(im.convert("RGBA"))
    px[:40, :40, 3] = 0  # a transparent corner: it must come out white
    rgba = Image.fromarray(px, "RGBA")
    deep = Image.fromarray((np.array(im, dtype=np.uint16) * 257 - 3).clip(0, 65535)
                           .astype(np.uint16))  # 16-bit gray, values no 8-bit image has
    palette = im.convert("RGB").quantize(16)
    sources = {"gray": (im, np.array(im)), "rgba": (rgba, None), "16bit": (deep, np.array(deep)),
               "palette": (palette, np.array(palette.convert("RGB")))}
    pages = [layout(encode(src, "PNG"), src, lines, dpi=100) for src, _ in sources.values()]
    out = tmp_path / "png.pdf"
    write_searchable_pdf(pages, out)

    with pikepdf.open(out) as pdf:
        images = [next(iter(page_images(p))) for p in pdf.pages]
        for xobj in images:
            assert "/SMask" not in xobj and "/Mask" not in xobj
        assert images[0].Filter == pikepdf.Name.FlateDecode  # the PNG's own IDAT data
        assert int(images[2].BitsPerComponent) == 16
        got = [pikepdf.PdfImage(x) for x in images]
        assert np.array_equal(np.array(got[0].as_pil_image()), sources["gray"][1])
        flat = np.array(got[1].as_pil_image().convert("RGB"))
        assert (flat[:40, :40] == 255).all()
        assert np.array_equal(flat[40:], np.array(im.convert("RGB"))[40:])
        raw16 = np.frombuffer(got[2].read_bytes(), dtype=">u2").reshape(deep.height, deep.width)
        assert np.array_equal(raw16, sources["16bit"][1])
        assert images[3].ColorSpace[0] == pikepdf.Name.Indexed
        assert np.array_equal(np.array(got[3].as_pil_image().convert("RGB")),
                              sources["palette"][1])
    for n in (1, 2, 3, 4):
        assert_text(out, lines, page=n, layout_too=False)


@pytest.mark.parametrize("strips", ["one strip", "many strips"])
def test_multipage_g4_tiff_stays_ccitt_and_pixel_identical(tmp_path, strips):
    """A frame in one G4 strip (as scanners write) goes in byte for byte; one in several
    strips (as PIL writes by default) img2pdf re-encodes as one G4 stream, losslessly."""
    frames, layouts = [], []
    for n in range(3):
        text = [f"Trang {n + 1}: Hồ sơ số {n + 41}", *TEXT[n:n + 2]]
        im, lines = draw_page((1654, 2339), text=text, font_px=50, mode="1")
        frames.append(im)
        layouts.append((im, lines))
    strip_size = {"one strip": 1 << 30, "many strips": 1 << 16}[strips]
    tiff = encode(frames[0], "TIFF", compression="group4", save_all=True,
                  append_images=frames[1:], dpi=(200, 200), strip_size=strip_size)
    out = tmp_path / "g4.pdf"
    write_searchable_pdf([layout(tiff, im, lines, frame=n)
                          for n, (im, lines) in enumerate(layouts)], out)

    with Image.open(io.BytesIO(tiff)) as t, pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 3
        for n, page in enumerate(pdf.pages):
            (xobj,) = page_images(page)
            assert xobj.Filter in (pikepdf.Name.CCITTFaxDecode,
                                   pikepdf.Array([pikepdf.Name.CCITTFaxDecode]))
            t.seek(n)
            offsets, lengths = t.tag_v2[273], t.tag_v2[279]
            assert (len(offsets) == 1) == (strips == "one strip")
            if len(offsets) == 1:  # the G4 strip itself
                assert xobj.read_raw_bytes() == tiff[offsets[0]:offsets[0] + lengths[0]]
            got = pikepdf.PdfImage(xobj).as_pil_image().convert("L")
            assert np.array_equal(np.array(got), np.array(frames[n].convert("L")))
    for n, (im, lines) in enumerate(layouts, 1):
        assert_text(out, lines, page=n, layout_too=False)
        assert_boxes(out, lines, (72 / 200, 72 / 200), page=n)
    if strips == "one strip":
        assert pdfjs(out) == ["\n".join(expected(lines)) for _, lines in layouts]


def test_image_from_an_image_only_pdf_is_copied_undecoded(tmp_path):
    im, lines = draw_page(text=TEXT[1:4])
    jpeg = encode(im, "JPEG", quality=75)
    scan = tmp_path / "scan.pdf"
    with pikepdf.new() as src:  # a scanner's PDF: a cover page, then the page with a logo too
        src.add_blank_page(page_size=(595, 842))
        page = src.add_blank_page(page_size=(595.44, 841.68))
        big = src.make_stream(jpeg, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                              Width=im.width, Height=im.height, BitsPerComponent=8,
                              ColorSpace=pikepdf.Name.DeviceGray, Filter=pikepdf.Name.DCTDecode)
        logo = encode(Image.new("L", (40, 30), 128), "JPEG")
        small = src.make_stream(logo, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                                Width=40, Height=30, BitsPerComponent=8,
                                ColorSpace=pikepdf.Name.DeviceGray, Filter=pikepdf.Name.DCTDecode)
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Logo=small, Scan=big))
        page.Contents = src.make_stream(b"q 595.44 0 0 841.68 0 0 cm /Scan Do Q "
                                        b"q 40 0 0 30 10 10 cm /Logo Do Q")
        src.save(scan)
    out = tmp_path / "ocr.pdf"
    lay = PageLayout(PageImage(pdf_path=scan, pdf_page=1, width=im.width, height=im.height,
                               dpi=(100.0, 100.0)), 0, 0.0, lines)
    write_searchable_pdf([lay], out)
    with pikepdf.open(out) as pdf:
        (xobj,) = page_images(pdf.pages[0])
        assert xobj.read_raw_bytes() == jpeg and int(xobj.Width) == im.width
    assert_text(out, lines)
    assert_boxes(out, lines, (0.72, 0.72))


def upright_and_master(turn, skew):
    """A drawn upright page P, and a master that the OCR would turn and deskew into ~P."""
    page, lines = draw_page(font_px=30)
    tilted = page.rotate(-skew, resample=Image.BICUBIC, fillcolor="white")
    return page, lines, tilted.rotate(turn, expand=True)


def frame_d(master, turn, skew):
    """The deskewed frame D, exactly as the OCR pipeline's convention defines it."""
    upright = master.rotate(-turn, expand=True)
    return upright.rotate(skew, resample=Image.BICUBIC, expand=False, fillcolor="white")


@pytest.mark.parametrize("turn,skew", [(180, 0.0), (90, 1.5), (270, -2.0)])
def test_turned_and_skewed_page_shows_the_deskewed_frame(tmp_path, turn, skew):
    page, lines, master = upright_and_master(turn, skew)
    out = tmp_path / f"turn{turn}.pdf"
    # 100 dpi: pdftoppm -r 100 renders one page pixel per master pixel
    write_searchable_pdf([layout(encode(master, "PNG"), master, lines, dpi=100,
                                 turn=turn, skew=skew)], out)
    d = frame_d(master, turn, skew)
    shown = render(out, 100)
    assert abs(shown.width - d.width) <= 1 and abs(shown.height - d.height) <= 1
    shown = np.asarray(shown.crop((0, 0, d.width, d.height)), dtype=float)

    def match(other):
        a = np.asarray(other, dtype=float)
        return np.corrcoef(a.ravel(), shown.ravel())[0, 1], np.abs(a - shown).mean()

    corr, diff = match(d)
    assert corr > 0.95 and diff < 3, (corr, diff)
    # aligned to the pixel: D moved by one pixel any way matches worse ...
    for dx, dy in [(1, 0), (-1, 0), (0, 1), (0, -1)]:
        assert match(np.roll(np.asarray(d), (dy, dx), (0, 1)))[0] < corr - 0.05
    # ... and so does a frame turned or deskewed the wrong way
    wrong = [frame_d(master, (turn + 90) % 360, skew).resize(d.size),
             frame_d(master, (turn + 180) % 360, skew)]
    if skew:
        wrong.append(frame_d(master, turn, -skew))
    assert all(match(w)[0] < corr - 0.1 for w in wrong)
    # at 72 dpi too, as a thumbnail: poppler's and PIL's downscaling differ more
    small = np.asarray(render(out, 72), dtype=float)

    def match_small(other):
        a = np.asarray(other.resize((small.shape[1], small.shape[0]), Image.BOX), dtype=float)
        return np.corrcoef(a.ravel(), small.ravel())[0, 1]

    assert match_small(d) > 0.8 and match_small(wrong[1]) < match_small(d) - 0.3
    assert_text(out, lines, layout_too=False)
    assert_boxes(out, lines, (0.72, 0.72))


def test_pdfa_2b_structures(tmp_path):
    need("qpdf")
    im, lines = draw_page(text=TEXT[:2])
    out = tmp_path / "luu-tru.pdf"
    write_searchable_pdf([layout(encode(im, "JPEG"), im, lines, dpi=100)], out, pdfa=True,
                         title="Hồ sơ lưu trữ")
    check = subprocess.run(["qpdf", "--check", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    raw = out.read_bytes()
    assert re.match(rb"%PDF-1\.[4-7]\n%[\x80-\xff]{4}", raw)  # header with a binary marker
    with pikepdf.open(out) as pdf:
        assert not pdf.is_encrypted and "/Encrypt" not in pdf.trailer
        ids = pdf.trailer.ID
        assert len(ids) == 2 and len(bytes(ids[0])) == 16
        assert pdf.Root.Lang == "vi-VN"
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
        assert meta["dc:title"] == "Hồ sơ lưu trữ" == str(pdf.docinfo.Title)
        assert str(pdf.docinfo.Producer) == meta["pdf:Producer"]
        created = meta["xmp:CreateDate"]
        d = str(pdf.docinfo.CreationDate)  # D:YYYYMMDDHHmmSS+HH'mm'
        assert d[2:16] == re.sub(r"\D", "", created)[:14]
        assert "/Filter" not in pdf.Root.Metadata  # PDF/A: metadata stream not compressed
        (intent,) = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1" and intent.OutputConditionIdentifier
        icc = intent.DestOutputProfile
        assert int(icc.N) == 3
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc.read_bytes()))
        assert profile.profile.xcolor_space.strip() == "RGB"
        assert profile.profile.device_class == "mntr"
        for page in pdf.pages:
            assert "/Group" not in page
            for xobj in page_images(page):
                assert "/SMask" not in xobj and not xobj.get("/Interpolate", False)
            font = page.Resources.Font.F1
            cid = font.DescendantFonts[0]
            assert "/FontFile2" in cid.FontDescriptor and "/CIDToGIDMap" in cid
            assert "/ToUnicode" in font
    need("pdffonts")
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True).stdout
    assert re.search(r"GlyphLessFont\s+CID TrueType\s+Identity-H\s+yes\s+no\s+yes", fonts)


def test_cmyk_jpeg_is_refused_for_pdfa_but_kept_otherwise(tmp_path):
    im, lines = draw_page(text=TEXT[:1])
    cmyk = encode(im.convert("CMYK"), "JPEG")
    out = tmp_path / "cmyk.pdf"
    with pytest.raises(BadInput, match="CMYK"):
        write_searchable_pdf([layout(cmyk, im, lines)], out, pdfa=True)
    assert not out.exists()
    write_searchable_pdf([layout(cmyk, im, lines)], out)
    with pikepdf.open(out) as pdf:
        assert next(iter(page_images(pdf.pages[0]))).read_raw_bytes() == cmyk


def test_bad_sources_raise_badinput_and_write_nothing(tmp_path):
    im, lines = draw_page(text=TEXT[:1])
    good = layout(encode(im, "PNG"), im, lines)
    jpeg = encode(im, "JPEG")
    out = tmp_path / "out.pdf"
    with pytest.raises(BadInput) as err:
        write_searchable_pdf([good, layout(jpeg[: len(jpeg) * 2 // 3], im, lines)], out)
    assert err.value.path == str(out) and "page 2" in str(err.value)
    assert "truncated" in err.value.problem

    textonly = tmp_path / "text-only.pdf"
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.save(textonly)
    for source, problem in [(PageImage(pdf_path=textonly), "no image"),
                            (PageImage(pdf_path=tmp_path / "missing.pdf"), "not found"),
                            (PageImage(pdf_path=textonly, pdf_page=3), "no page 4")]:
        with pytest.raises(BadInput, match=problem) as err:
            write_searchable_pdf([good, PageLayout(source, 0, 0.0, lines)], out)
        assert err.value.path == str(source.pdf_path)
    with pytest.raises(BadInput, match="page 1: the image data is not a readable image"):
        write_searchable_pdf([layout(b"not an image at all", im, lines)], out)
    with pytest.raises(BadInput, match="900x100"):
        write_searchable_pdf([PageLayout(PageImage(data=encode(im, "PNG"), width=900,
                                                   height=100), 0, 0.0, lines)], out)
    assert not out.exists() and list(tmp_path.iterdir()) == [textonly]


def test_words_beyond_the_bmp_and_the_fallback_font(tmp_path, monkeypatch):
    """Chữ Nôm such as 𡨸 (U+21A38) lies beyond the BMP; without Tesseract's pdf.ttf a
    glyphless font is built with fontTools."""
    monkeypatch.setattr(textlayer, "glyphless_ttf", textlayer._build_glyphless_ttf)
    im, _ = draw_page(text=["x"])
    words = (Word("Chữ", (100, 100, 200, 140), 90), Word("𡨸", (220, 100, 260, 140), 90),
             Word("Nôm", (280, 100, 380, 140), 90))
    lines = (Line((100, 100, 380, 140), None, words),)
    out = tmp_path / "nom.pdf"
    write_searchable_pdf([layout(encode(im, "PNG"), im, lines, dpi=100)], out)
    with pikepdf.open(out) as pdf:
        cid = pdf.pages[0].Resources.Font.F1.DescendantFonts[0]
        assert cid.FontDescriptor.FontFile2.read_bytes() == textlayer._build_glyphless_ttf()
    assert text_lines(out) == ["Chữ 𡨸 Nôm"]
    assert pdfjs(out) == ["Chữ 𡨸 Nôm"]


def test_thirty_pages_assemble_quickly(tmp_path):
    im, lines = draw_page((2480, 3508), text=(TEXT * 8)[:40], font_px=50, top=200,
                          gap=1.6)  # A4 at 300 dpi, 208 words
    base = np.array(im)
    pages = []
    for n in range(30):  # 30 different scans: a page number mark in the corner
        px = base.copy()
        px[40:60, 40 + 20 * n:55 + 20 * n] = 0
        pages.append(layout(encode(Image.fromarray(px), "JPEG", quality=80), im, lines,
                            dpi=300))
    start = time.perf_counter()
    write_searchable_pdf(pages, tmp_path / "30.pdf")
    per_page = (time.perf_counter() - start) / 30
    print(f"\n30 pages: {per_page * 1000:.1f} ms a page")
    assert per_page < 0.15  # aim 50 ms; slack for a busy CI machine
    assert text_lines(tmp_path / "30.pdf", page=30) == expected(lines)
