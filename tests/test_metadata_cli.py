"""`sohoa meta` driven like a user: a born-digital PDF (real text layer, no OCR), an
image-only PDF and a scan (OCR in-process), several files at once, bad input."""
import json
import time
import unicodedata
from pathlib import Path

import pikepdf
import pytest

from conftest import SAMPLES, need

A4 = (595.0, 842.0)  # points


def _font() -> Path:
    from sohoa.cli.fonts import available_fonts

    ttf = [path for _, path in available_fonts() if path.suffix == ".ttf"]
    if not ttf:
        pytest.skip("no TrueType font with Vietnamese glyphs (make setup installs fonts-liberation2)")
    return ttf[0]


def born_digital_pdf(path: Path, lines: list[tuple[float, float, float, str]]) -> Path:
    """A PDF as a word processor writes it: visible text in an embedded TrueType font
    (Type0, Identity-H) with a ToUnicode map. `lines`: (x centre, y from the top, size
    in points, text); x None puts the line at the left margin."""
    from fontTools.ttLib import TTFont

    font_path = _font()
    font = TTFont(str(font_path))
    cmap, order = font.getBestCmap(), font.getGlyphOrder()
    gid = {name: i for i, name in enumerate(order)}
    scale = 1000 / font["head"].unitsPerEm
    advance = {i: font["hmtx"][name][0] * scale for i, name in enumerate(order)}
    used: dict[int, str] = {}
    ops = []
    for cx, top, size, text in lines:
        glyphs = [gid[cmap[ord(ch)]] for ch in unicodedata.normalize("NFC", text)]
        used.update(zip(glyphs, unicodedata.normalize("NFC", text)))
        width = sum(advance[g] for g in glyphs) * size / 1000
        x = 85.0 if cx is None else cx - width / 2
        ops.append(f"BT /F1 {size} Tf {x:.2f} {A4[1] - top:.2f} Td <{''.join(f'{g:04X}' for g in glyphs)}> Tj ET")
    pdf = pikepdf.new()
    data = font_path.read_bytes()
    descriptor = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name("/VNSerif"), Flags=32,
        FontBBox=[-600, -300, 2000, 1000], ItalicAngle=0, Ascent=900, Descent=-220,
        CapHeight=650, StemV=80, FontFile2=pdf.make_stream(data, Length1=len(data))))
    cid_font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2, BaseFont=pikepdf.Name("/VNSerif"),
        CIDSystemInfo=pikepdf.Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
        FontDescriptor=descriptor, CIDToGIDMap=pikepdf.Name.Identity,
        W=pikepdf.Array([x for g in sorted(used) for x in (g, [round(advance[g])])])))
    cmap_text = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
                 "/CMapName /VN-UCS def /CMapType 2 def\n"
                 "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
                 f"{len(used)} beginbfchar\n"
                 + "".join(f"<{g:04X}> <{ch.encode('utf-16-be').hex().upper()}>\n" for g, ch in sorted(used.items()))
                 + "endbfchar endcmap CMapName currentdict /CMap defineresource pop end end\n")
    type0 = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0, BaseFont=pikepdf.Name("/VNSerif"),
        Encoding=pikepdf.Name("/Identity-H"), DescendantFonts=[cid_font],
        ToUnicode=pdf.make_stream(cmap_text.encode())))
    page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, *A4],
                              Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=type0)),
                              Contents=pdf.make_stream("\n".join(ops).encode()))
    pdf.pages.append(pikepdf.Page(page))
    pdf.save(path)
    return path


LCOL, RCOL, CENTRE = 190.0, 430.0, 325.0
BODY = [
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; Luật sửa đổi,",
    "bổ sung một số điều của Luật Tổ chức Chính phủ và Luật Tổ chức chính quyền địa phương",
    "ngày 22 tháng 11 năm 2019; Căn cứ Luật Đất đai ngày 18 tháng 01 năm 2024; Xét đơn của",
    "ông Trần Văn An, số định danh cá nhân: 056089001234, hồ sơ 000.00.12.H27-230614-0001",
    "ngày 14 tháng 6 năm 2023 tại Bộ phận Một cửa của Ủy ban nhân dân xã Diên Lạc.",
]
QUYET_DINH = [
    (LCOL, 60, 13, "UBND HUYỆN DIÊN KHÁNH"), (RCOL, 60, 12, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    (LCOL, 76, 13, "ỦY BAN NHÂN DÂN"), (RCOL, 76, 13, "Độc lập - Tự do - Hạnh phúc"),
    (LCOL, 92, 13, "XÃ DIÊN LẠC"),
    (LCOL, 120, 13, "Số: 123/QĐ-UBND"), (RCOL, 120, 13, "Diên Lạc, ngày 14 tháng 6 năm 2023"),
    (CENTRE, 160, 14, "QUYẾT ĐỊNH"),
    (CENTRE, 177, 14, "Về việc cấp giấy chứng nhận quyền sử dụng đất"),
    (CENTRE, 194, 14, "cho hộ ông Trần Văn An"),
    (CENTRE, 225, 14, "CHỦ TỊCH ỦY BAN NHÂN DÂN XÃ DIÊN LẠC"),
    *[(None, 250 + 18 * i, 13, line) for i, line in enumerate(BODY)],
    (None, 400, 12, "Nơi nhận:"), (RCOL, 400, 13, "TM. ỦY BAN NHÂN DÂN"),
    (None, 415, 11, "- Như Điều 2;"), (RCOL, 416, 13, "KT. CHỦ TỊCH"),
    (None, 430, 11, "- Lưu: VT."), (RCOL, 432, 13, "PHÓ CHỦ TỊCH"),
    (RCOL, 510, 13, "Trần Đình Bẩy"),
]
EXPECTED = {
    "doc_type": "Quyết định", "number": "123", "symbol": "QĐ-UBND", "issued_date": "2023-06-14",
    "issued_place": "Diên Lạc", "agency": "ỦY BAN NHÂN DÂN XÃ DIÊN LẠC",
    "subject": "Về việc cấp giấy chứng nhận quyền sử dụng đất cho hộ ông Trần Văn An",
    "signer_name": "Trần Đình Bẩy", "signer_title": "PHÓ CHỦ TỊCH",
    "dossier_codes": ["000.00.12.H27-230614-0001"], "citizen_ids": ["056089001234"],
}


@pytest.fixture
def quyet_dinh(tmp_path):
    need("pdftotext")
    return born_digital_pdf(tmp_path / "qd-123.pdf", QUYET_DINH)


def test_a_born_digital_pdf_is_read_from_its_text_layer(sohoa, quyet_dinh):
    started = time.monotonic()
    result = sohoa("meta", quyet_dinh, "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["source"] == "text-layer" and found["pages"] == 1 and found["error"] is None
    assert found["metadata"] == EXPECTED
    assert set(found["confidence"]) == set(EXPECTED)
    assert time.monotonic() - started < 60  # no OCR


def test_the_table_goes_to_stderr(sohoa, quyet_dinh):
    result = sohoa("meta", quyet_dinh)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    for value in ("Quyết định", "QĐ-UBND", "2023-06-14", "PHÓ CHỦ TỊCH", "Trần Đình Bẩy", "text layer"):
        assert value in result.stderr


@pytest.mark.slow
def test_an_image_only_pdf_and_a_scan_are_ocrd(sohoa):
    need("tesseract")
    pdf, scan = SAMPLES / "case05" / "giay_xac_nhan.pdf", SAMPLES / "case02" / "tiep_nhan.png"
    result = sohoa("meta", pdf, scan, "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    truths = [json.loads((SAMPLES / case / "ground_truth.json").read_text(encoding="utf-8"))
              for case in ("case05", "case02")]
    for row, truth, name in zip(found, truths, ("giay_xac_nhan", "tiep_nhan")):
        expected = next(d["metadata"] for d in truth["documents"] if d["name"] == name)
        assert row["source"] == "ocr"
        assert row["metadata"] == expected, row["file"]


def test_a_bad_file_is_reported_and_the_others_read(sohoa, quyet_dinh, tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7 this is not a PDF")
    result = sohoa("meta", quyet_dinh, broken, "--json")
    assert result.returncode == 1
    good, bad = json.loads(result.stdout)
    assert good["metadata"]["number"] == "123" and good["error"] is None
    assert bad["error"] and "broken.pdf" in bad["error"]
    assert bad["metadata"]["doc_type"] is None


def test_usage_errors(sohoa, tmp_path):
    assert sohoa("meta", tmp_path / "missing.pdf").returncode == 2
    assert sohoa("meta", tmp_path).returncode == 2  # a folder with nothing to read
    assert "Example: sohoa meta" in sohoa("meta", "--help").stdout
