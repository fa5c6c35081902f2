"""What goes into `sohoa ocr`: dossier discovery (ocr/inputs.py) and page loading
(ocr/pages.py), on real files made here — including every bad file of badfiles.py."""
from __future__ import annotations

import hashlib
import os
import pickle
import time
import unicodedata
import zlib
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from sohoa.cli.errors import BadInput
from sohoa.ocr.inputs import discover
from sohoa.ocr.pages import load_page, open_pages
from sohoa.ocr.layerquality import KEEP_TEXT_LAYER, text_layer_quality

from badfiles import (BIG_PDF, ODD_NAME, image_pdf, jpeg_bytes, make_bad_inputs, png_bytes)

REPO = Path(__file__).resolve().parent.parent
AGENCY_P12 = REPO / "samples" / "pki" / "certs" / "agency.p12"


def names(discovery):
    return {d.name: [(doc.name, [s.name for s in doc.sources]) for doc in d.documents]
            for d in discovery.dossiers}


def touch_jpeg(path: Path, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes(**kw))
    return path


def hashes(folder: Path) -> dict[str, str]:
    out = {}
    for root, _, files in os.walk(folder):
        for f in files:
            p = Path(root) / f
            if p.is_file() and not p.is_symlink():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def all_bad_inputs(discovery) -> list[BadInput]:
    """discover's problems plus open_pages' BadInputs, as `sohoa ocr` meets them."""
    problems = list(discovery.problems)
    for dossier in discovery.dossiers:
        for doc in dossier.documents:
            for source in doc.sources:
                try:
                    open_pages(source)
                except BadInput as exc:
                    problems.append(exc)
    return problems


# ---------------------------------------------------------------- documents and dossiers


def test_running_numbers_are_pages_of_one_document_in_numeric_order(tmp_path):
    case = tmp_path / "case07"
    for name in ("scan_01.jpg", "scan_02.jpg", "scan_10.jpg", "scan_9.jpg"):
        touch_jpeg(case / name)
    (case / "scan-3.png").write_bytes(png_bytes())
    (case / "Scan 004.tif").write_bytes(jpeg_bytes())  # a JPEG named .tif: still a page
    image_pdf(case / "scan_05.pdf")  # PDFs never group
    image_pdf(case / "giay_khai_sinh.pdf")
    touch_jpeg(case / "CCCD_056089001234.jpg")  # a lone numbered image keeps its name

    found = discover([case])

    assert not found.problems
    assert names(found) == {"case07": [
        ("CCCD_056089001234", ["CCCD_056089001234.jpg"]),
        ("giay_khai_sinh", ["giay_khai_sinh.pdf"]),
        ("scan", ["scan_01.jpg", "scan_02.jpg", "scan-3.png", "Scan 004.tif",
                  "scan_9.jpg", "scan_10.jpg"]),
        ("scan_05", ["scan_05.pdf"]),
    ]}
    assert any("Scan 004.tif" in str(w) and "JPEG" in str(w) for w in found.warnings)


def test_numbers_only_and_windows_copy_names(tmp_path):
    case = tmp_path / "Hồ sơ 12"
    for name in ("002.jpg", "001.jpg", "010.jpg"):
        touch_jpeg(case / name)
    for name in ("Scan (2).jpg", "Scan (1).jpg"):
        touch_jpeg(case / name)

    found = discover([case])

    assert names(found) == {"Hồ sơ 12": [
        ("Hồ sơ 12", ["001.jpg", "002.jpg", "010.jpg"]),
        ("Scan", ["Scan (1).jpg", "Scan (2).jpg"]),
    ]}
    # 001, 002, 010: pages 3-9 look missing; the clerk is told.
    assert any("is a page missing" in str(w) for w in found.warnings)


def test_a_folder_of_folders_is_one_dossier_per_subfolder(tmp_path):
    inbox = tmp_path / "inbox"
    touch_jpeg(inbox / "case10" / "scan_1.jpg")
    touch_jpeg(inbox / "case2" / "don.jpg")
    touch_jpeg(inbox / "case2" / "phu luc" / "scan_1.jpg")  # deeper: same dossier
    touch_jpeg(inbox / "case2" / "phu luc" / "scan_2.jpg")
    touch_jpeg(inbox / "loose.jpg")  # next to subfolders: a dossier named after inbox
    (inbox / "empty").mkdir()
    (inbox / "case2" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (inbox / "case2" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (inbox / "case2" / ".~lock.don.odt#").write_bytes(b"x")

    found = discover([inbox])

    assert not found.problems  # litter and hidden files are skipped silently
    assert names(found) == {
        "inbox": [("loose", ["loose.jpg"])],
        "case2": [("don", ["don.jpg"]), ("phu luc_scan", ["scan_1.jpg", "scan_2.jpg"])],
        "case10": [("scan_1", ["scan_1.jpg"])],
    }
    assert [d.name for d in found.dossiers] == ["inbox", "case2", "case10"]
    assert found.dossiers[1].root == inbox / "case2"
    assert any("empty" in str(w) for w in found.warnings)


def test_files_given_directly_form_one_dossier_per_parent_folder(tmp_path):
    a = touch_jpeg(tmp_path / "ho_so_A" / "scan_2.jpg")
    b = touch_jpeg(tmp_path / "ho_so_A" / "scan_1.jpg")
    c = touch_jpeg(tmp_path / "ho_so_B" / "don.jpg")

    found = discover([a, c, b, a])  # given twice: read once

    assert names(found) == {"ho_so_A": [("scan", ["scan_1.jpg", "scan_2.jpg"])],
                            "ho_so_B": [("don", ["don.jpg"])]}
    assert found.dossiers[0].root == tmp_path / "ho_so_A"


def test_same_names_get_numbered_and_output_folder_is_excluded(tmp_path):
    case = tmp_path / "case"
    image_pdf(case / "scan.pdf")
    touch_jpeg(case / "Scan_1.jpg")
    touch_jpeg(case / "scan_2.jpg")
    touch_jpeg(case / "SCAN.jpg")
    touch_jpeg(case / "out" / "old.jpg")  # the output folder of an earlier run

    found = discover([case], exclude=[case / "out"])

    docs = found.dossiers[0].documents
    assert [(d.name, [s.name for s in d.sources]) for d in docs] == [
        ("SCAN", ["SCAN.jpg"]), ("scan-2", ["scan.pdf"]), ("Scan-3", ["Scan_1.jpg", "scan_2.jpg"])]
    assert [d.name for d in found.dossiers] == ["case"]


def test_nfd_percent_and_newline_names(tmp_path):
    folder = tmp_path / unicodedata.normalize("NFD", "Xã Diên Lạc")
    touch_jpeg(folder / ODD_NAME)  # NFD, "%", a newline
    touch_jpeg(folder / unicodedata.normalize("NFD", "Giấy chứng nhận_01.jpg"))
    touch_jpeg(folder / unicodedata.normalize("NFD", "giấy chứng nhận_02.jpg"))

    found = discover([folder])

    assert not found.problems
    dossier = found.dossiers[0]
    assert dossier.name == "Xã Diên Lạc" == unicodedata.normalize("NFC", dossier.name)
    assert [d.name for d in dossier.documents] == ["Giấy chứng nhận", "Quyết định 50%_bản sao"]
    assert len(dossier.documents[0].sources) == 2
    for doc in dossier.documents:
        assert unicodedata.is_normalized("NFC", doc.name)
        assert "\n" not in doc.name and "/" not in doc.name
        assert all(s.exists() for s in doc.sources)  # the real (NFD) file names


def test_content_is_sniffed_not_the_extension(tmp_path):
    case = tmp_path / "case"
    (case).mkdir()
    (case / "photo.png").write_bytes(jpeg_bytes())  # a JPEG named .png: accepted
    (case / "notes.jpg").write_text("ghi chú của cán bộ\n", encoding="utf-8")
    (case / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64)
    (case / "scan.tif").write_bytes(png_bytes())

    found = discover([case])

    assert names(found) == {"case": [("photo", ["photo.png"]), ("scan", ["scan.tif"])]}
    warned = " ".join(map(str, found.warnings))
    assert "photo.png" in warned and "JPEG" in warned and "scan.tif" in warned
    problems = {Path(p.path).name: str(p) for p in found.problems}
    assert set(problems) == {"notes.jpg", "IMG_0001.HEIC"}
    assert "not a scan (JPEG, PNG, TIFF or PDF)" in problems["notes.jpg"]
    assert "HEIC" in problems["IMG_0001.HEIC"]
    pages = open_pages(case / "photo.png")
    assert pages.kind == "jpeg" and load_page(pages.pages[0])[0].size == (120, 160)


def test_symlinks_inside_are_followed_outside_loops_and_dangling_are_problems(tmp_path):
    case = tmp_path / "case"
    touch_jpeg(case / "scan_1.jpg")
    touch_jpeg(case / ".store" / "page2.jpg")
    os.symlink(".store/page2.jpg", case / "scan_2.jpg")  # inside the tree: followed
    secret = touch_jpeg(tmp_path / "elsewhere" / "secret.jpg")
    os.symlink(secret, case / "scan_3.jpg")
    os.symlink("loop_a.jpg", case / "loop_b.jpg")
    os.symlink("loop_b.jpg", case / "loop_a.jpg")
    os.symlink("gone.jpg", case / "dangling.jpg")
    os.symlink("..", case / "up")  # a folder link out of the tree
    (case / "sub").mkdir()
    touch_jpeg(case / "sub" / "x.jpg")
    os.symlink("../sub", case / "sub" / "again")  # a folder loop inside the tree

    found = discover([case])  # returns: no exception, no endless recursion

    problems = {Path(p.path).name: p.problem for p in found.problems}
    assert set(problems) == {"scan_3.jpg", "loop_a.jpg", "loop_b.jpg", "dangling.jpg", "up",
                             "again"}
    assert "outside" in problems["scan_3.jpg"] and "outside" in problems["up"]
    assert "loop" in problems["loop_a.jpg"] and "loop" in problems["again"]
    assert "nothing" in problems["dangling.jpg"]
    assert [(d.name, [s.name for s in d.sources]) for d in found.dossiers[0].documents] == [
        ("scan", ["scan_1.jpg", "scan_2.jpg"])]
    assert [d.name for d in found.dossiers] == ["case", "sub"]


def test_missing_and_empty_inputs_are_problems_not_exceptions(tmp_path):
    (tmp_path / "empty").mkdir()
    found = discover([tmp_path / "nope", tmp_path / "empty"])
    assert [Path(p.path).name for p in found.problems] == ["empty", "nope"]
    assert not found.dossiers


# ---------------------------------------------------------------- the bad-files folder


def test_every_bad_input_gives_exactly_one_one_line_bad_input(tmp_path):
    folder = tmp_path / "bad"
    bad = make_bad_inputs(folder)
    before = hashes(tmp_path)

    found = discover([folder])
    problems = all_bad_inputs(found)

    by_file: dict[str, list[BadInput]] = {}
    for p in problems:
        by_file.setdefault(p.source.name, []).append(p)
    assert set(by_file) == set(bad), (set(by_file) ^ set(bad))
    for name, got in by_file.items():
        assert len(got) == 1, (name, [str(g) for g in got])
        message = str(got[0])
        assert "\n" not in message and "\r" not in message
        assert message.startswith(got[0].path + ": ")
        assert " — " in message  # every problem says what to do
        shown = name.replace("\n", "\\n")
        assert got[0].path.endswith(shown), (name, message)
    msg = {name: str(got[0]) for name, got in by_file.items()}
    assert "empty" in msg["empty.jpg"]
    assert "truncated JPEG" in msg["truncated.jpg"] and "truncated JPEG" in msg[ODD_NAME]
    assert "not a scan" in msg["random.jpg"] and "not a scan" in msg["to-trinh.pdf"]
    assert "checksum" in msg["bad-crc.png"]
    for bomb in ("bomb.png", "bomb.tif", "bomb.pdf"):
        assert "too large" in msg[bomb]
    assert "encrypted: needs a password — ask the sender for an unencrypted copy" in msg["locked.pdf"]
    assert "cannot be repaired" in msg["broken-xref.pdf"]
    assert "without any page" in msg["no-pages.pdf"]
    assert "pages" in msg["cut-off.pdf"] and "cut off" in msg["cut-off.pdf"]
    assert "outside" in msg["outside.jpg"] and "loop" in msg["loop.jpg"]
    assert "nothing" in msg["dangling.jpg"] and "not a regular file" in msg["pipe.jpg"]
    assert hashes(tmp_path) == before  # nothing was changed


def test_a_3000_page_pdf_is_listed_in_seconds_and_its_last_page_loads_fast(tmp_path):
    folder = tmp_path / "big"
    make_bad_inputs(folder, big_pdf=True)
    big = folder / BIG_PDF

    started = time.perf_counter()
    listed = open_pages(big)
    listing = time.perf_counter() - started
    last = listed.pages[2999]
    packed = pickle.dumps(last)
    started = time.perf_counter()
    image, dpi = load_page(pickle.loads(packed))
    loading = time.perf_counter() - started

    assert len(listed.pages) == 3000 and not listed.warnings
    assert listing < 5, f"listing took {listing:.2f} s"
    assert loading < 1, f"load_page(2999) took {loading:.2f} s"
    assert len(packed) < 1000
    assert image.size == (100, 141) and dpi == (300.0, 300.0)
    assert np.asarray(image)[0, 0] == (2999 * 7) % 256  # the right page's pixels
    assert last.image.pdf_path == big and last.image.pdf_page == 2999
    assert (last.image.width, last.image.height) == (100, 141)


# ---------------------------------------------------------------- PDFs


def test_owner_password_pdf_opens_and_is_marked_encrypted(tmp_path):
    pdf = tmp_path / "owner.pdf"
    image_pdf(pdf, pages=2, encryption=pikepdf.Encryption(
        owner="owner-only", user="", allow=pikepdf.Permissions(extract=False)))
    listed = open_pages(pdf)
    assert listed.encrypted and not listed.signed
    assert any("owner password" in w for w in listed.warnings)
    image, dpi = load_page(listed.pages[1])
    assert image.size == (100, 141) and dpi == (300.0, 300.0)


def _tounicode_font(pdf, text: str):
    """A Type0 font (not embedded) whose codes map to `text`'s characters by ToUnicode."""
    chars = sorted(set(text))
    codes = {ch: i + 1 for i, ch in enumerate(chars)}
    cmap = ["/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
            "1 begincodespacerange <0000> <FFFF> endcodespacerange",
            f"{len(chars)} beginbfchar"]
    cmap += [f"<{codes[ch]:04X}> <{ord(ch):04X}>" for ch in chars]
    cmap += ["endbfchar endcmap CMapName currentdict /CMap defineresource pop end end"]
    descendant = pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2, BaseFont=pikepdf.Name.Glyphless,
        CIDSystemInfo=pikepdf.Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
        FontDescriptor=pikepdf.Dictionary(Type=pikepdf.Name.FontDescriptor,
                                          FontName=pikepdf.Name.Glyphless, Flags=4,
                                          FontBBox=[0, 0, 500, 1000], ItalicAngle=0,
                                          Ascent=1000, Descent=0, CapHeight=1000, StemV=80),
        DW=500, CIDToGIDMap=pikepdf.Name.Identity)
    font = pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0,
                              BaseFont=pikepdf.Name.Glyphless, Encoding=pikepdf.Name("/Identity-H"),
                              DescendantFonts=[pdf.make_indirect(descendant)],
                              ToUnicode=pdf.make_stream("\n".join(cmap).encode()))
    return pdf.make_indirect(font), codes


def scanned_pdf_with_text(path: Path, layers: list[str | None], *, rotate: int = 0,
                          logo_only: bool = False) -> None:
    """Image pages (A4, 1654×2339 px = 200 dpi) under invisible text; None: no text.
    logo_only: a born-digital page: visible text and a small logo image."""
    pdf = pikepdf.new()
    font, codes = _tounicode_font(pdf, "".join(t for t in layers if t))
    w, h = 1654, 2339
    for i, text in enumerate(layers):
        image = pikepdf.Stream(pdf, zlib.compress(b"\xff" * ((w + 7) // 8 * h)),
                               Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=w,
                               Height=h, ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=1,
                               Filter=pikepdf.Name.FlateDecode)
        ops = "q 60 0 0 40 50 780 cm /Im0 Do Q" if logo_only else "q 595.44 0 0 842.04 0 0 cm /Im0 Do Q"
        content = ops.encode()
        if text:
            hexes = "".join(f"{codes[ch]:04X}" for ch in text)
            mode = 0 if logo_only else 3
            content += f"\nBT {mode} Tr /F1 5 Tf 40 700 Td <{hexes}> Tj ET".encode()
        page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, 595.44, 842.04],
                                  Resources=pikepdf.Dictionary(
                                      XObject=pikepdf.Dictionary(Im0=image),
                                      Font=pikepdf.Dictionary(F1=font)),
                                  Contents=pdf.make_stream(content))
        if rotate:
            page.Rotate = rotate
        pdf.pages.append(pikepdf.Page(page))
    pdf.save(path)


REAL_VI = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc QUYẾT ĐỊNH "
           "Về việc cấp giấy chứng nhận quyền sử dụng đất")
GARBAGE = "Cˆ ONG H`OA X˜A Hˆ O.I CHU’ NGH˜IA VIˆ E.T NAM QUYET DINH Ve viec cap giay"


def test_pdf_text_layers_are_returned_nfc_and_scored(tmp_path):
    pdf = tmp_path / "scanner.pdf"
    scanned_pdf_with_text(pdf, [unicodedata.normalize("NFD", REAL_VI), GARBAGE, None])

    listed = open_pages(pdf)

    good, bad, none = listed.pages
    assert good.text_layer == REAL_VI  # NFC, whatever the PDF held
    assert bad.text_layer == GARBAGE
    assert none.text_layer is None
    assert text_layer_quality(good.text_layer) >= KEEP_TEXT_LAYER
    assert text_layer_quality(bad.text_layer) < KEEP_TEXT_LAYER
    for ref in listed.pages:  # every page is still a scan to OCR
        assert not ref.born_digital and ref.image.pdf_page == ref.index
        assert (ref.width, ref.height) == (1654, 2339) and ref.dpi == (200.0, 200.0)


def test_born_digital_pages_and_rotated_pages(tmp_path):
    typed = tmp_path / "typed.pdf"
    scanned_pdf_with_text(typed, ["Ủy ban nhân dân xã Diên Lạc"], logo_only=True)
    listed = open_pages(typed)
    page = listed.pages[0]
    assert page.born_digital and page.image is None
    assert page.text_layer == "Ủy ban nhân dân xã Diên Lạc"
    assert any("made on a computer" in w for w in listed.warnings)
    with pytest.raises(BadInput):
        load_page(page)

    turned = tmp_path / "turned.pdf"
    scanned_pdf_with_text(turned, [None], rotate=90)
    ref = open_pages(turned).pages[0]
    image, dpi = load_page(ref)
    assert ref.turn == 90 and image.size == (2339, 1654) and dpi == (200.0, 200.0)


def test_text_layer_quality_tells_vietnamese_from_garbage():
    good = [REAL_VI,
            "Ông Nguyễn Văn An, sinh năm 1980, CCCD số 056089001234, thường trú tại thôn "
            "Đông, xã Diên Lạc, tỉnh Khánh Hòa. Số: 123/QĐ-UBND",
            unicodedata.normalize("NFD", "Căn cứ Luật Tổ chức chính quyền địa phương")]
    garbage = ["", "QUYET DINH Ve viec cap giay chung nhan quyen su dung dat",
               "Cˆ ong h`oa x˜a hˆo.i chu’ ngh˜ia Viê.t Nam",
               "Cô \u0323ng ho \u0300a xa \u0303 hô \u0323i chu \u0309 nghi \u0303a",  # marks split off
               "Céng hßa x· héi chñ nghÜa ViÖt Nam §éc lËp",  # TCVN3 font read as Latin-1
               "@#$ %^& *() ~~~ ||| ¤¤ ■■", "The quick brown fox jumps over the lazy dog"]
    for text in good:
        assert text_layer_quality(text) >= 0.9, text
    for text in garbage:
        assert text_layer_quality(text) < 0.5, text


def test_signed_pdf_is_detected(tmp_path):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    plain = tmp_path / "plain.pdf"
    image_pdf(plain)
    signer = signers.SimpleSigner.load_pkcs12(str(AGENCY_P12), passphrase=b"test-only")
    signed = tmp_path / "signed.pdf"
    with open(plain, "rb") as inf, open(signed, "wb") as out:
        writer = IncrementalPdfFileWriter(inf)
        signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name="Agency"),
                         signer=signer, output=out)
    empty_field = tmp_path / "unsigned-field.pdf"
    with open(plain, "rb") as inf, open(empty_field, "wb") as out:
        writer = IncrementalPdfFileWriter(inf)
        fields.append_signature_field(writer, fields.SigFieldSpec("Leader", box=(10, 10, 20, 20)))
        writer.write(out)
    before = hashes(tmp_path)

    listed = open_pages(signed)

    assert listed.signed and any("signed" in w for w in listed.warnings)
    assert not open_pages(plain).signed
    assert not open_pages(empty_field).signed  # a field waiting for a signature
    assert load_page(listed.pages[0])[0].size == (100, 141)
    assert hashes(tmp_path) == before


# ---------------------------------------------------------------- image files


def test_a_photo_without_resolution_gets_an_assumed_dpi_and_is_upscaled_for_ocr(tmp_path):
    photo = tmp_path / "IMG_2041.jpg"
    photo.write_bytes(jpeg_bytes((1200, 1600), dpi=None))
    phone = tmp_path / "IMG_2042.jpg"
    phone.write_bytes(jpeg_bytes((3000, 4000), dpi=(72, 72)))  # phones write 72 dpi

    small = open_pages(photo)
    big = open_pages(phone)

    ref = small.pages[0]
    assert ref.assumed_dpi and ref.dpi == (136.9, 136.9)  # 1600 px / 11.69 in (A4)
    assert any("no resolution" in w and "A4" in w for w in small.warnings)
    assert any("upscaled to 300 dpi" in w for w in small.warnings)
    image, dpi = load_page(ref)
    assert dpi == (300.0, 300.0) and image.size == (2630, 3506)
    assert (ref.image.width, ref.image.height) == (1200, 1600)
    assert ref.image.data == photo.read_bytes()  # the master, untouched
    assert len(pickle.dumps(ref)) < 1000  # workers get the path, not the pixels
    assert big.pages[0].assumed_dpi and big.pages[0].dpi == (342.2, 342.2)
    assert any("72 dpi" in w for w in big.warnings)
    assert not any("upscaled" in w for w in big.warnings)


def test_exif_orientation_is_honoured_for_ocr_and_recorded(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # phone held upright: rotate 90° clockwise to view
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg_bytes((120, 160), exif=exif.tobytes()))
    ref = open_pages(path).pages[0]
    image, _ = load_page(ref)
    assert ref.orientation == 6 and ref.turn == 90
    assert image.size == (160, 120)  # as a reader sees it
    assert (ref.width, ref.height) == (120, 160)  # the master as stored


def test_multipage_g4_tiff_and_16_bit_png(tmp_path):
    tif = tmp_path / "so_ho_khau.tif"
    white, black = Image.new("1", (200, 300), 1), Image.new("1", (200, 300), 0)
    white.save(tif, compression="group4", save_all=True, append_images=[black], dpi=(300, 300))
    png = tmp_path / "ban_do.png"
    Image.fromarray(np.full((50, 40), 40000, dtype=np.uint16)).save(png, dpi=(300, 300))

    pages = open_pages(tif).pages
    assert [(p.index, p.frame) for p in pages] == [(0, 0), (1, 1)]
    first, second = (load_page(p)[0] for p in pages)
    assert first.mode == second.mode == "L"
    assert first.getpixel((5, 5)) == 255 and second.getpixel((5, 5)) == 0
    assert pages[1].image.frame == 1 and pages[1].image.data == tif.read_bytes()
    deep = open_pages(png).pages[0]
    image, dpi = load_page(deep)
    assert image.mode == "L" and image.getpixel((0, 0)) == 40000 >> 8  # scaled, not clipped
    assert dpi == (300.0, 300.0)


def test_a_file_changed_after_listing_is_reported(tmp_path):
    path = tmp_path / "scan.jpg"
    path.write_bytes(jpeg_bytes())
    ref = open_pages(path).pages[0]
    path.write_bytes(jpeg_bytes((130, 170)))
    with pytest.raises(BadInput, match="changed"):
        load_page(ref)


def test_inputs_are_byte_for_byte_unchanged(tmp_path):
    case = tmp_path / "case"
    make_bad_inputs(case)
    touch_jpeg(case / "scan_1.jpg")
    (case / "scan_2.png").write_bytes(png_bytes())
    scanned_pdf_with_text(case / "scanner.pdf", [REAL_VI])
    image_pdf(case / "owner.pdf", encryption=pikepdf.Encryption(owner="o", user=""))
    before = hashes(tmp_path)
    stats = {p: os.stat(p).st_mtime_ns for p in before}

    found = discover([case])
    for dossier in found.dossiers:
        for doc in dossier.documents:
            for source in doc.sources:
                try:
                    listed = open_pages(source)
                except BadInput:
                    continue
                for ref in listed.pages:
                    if not ref.born_digital:
                        load_page(ref)
                        assert ref.image is not None

    assert hashes(tmp_path) == before
    assert {p: os.stat(p).st_mtime_ns for p in before} == stats
