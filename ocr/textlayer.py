"""The invisible OCR text layer: a glyphless font and word-by-word text in render mode 3.

Like Tesseract's own PDF renderer (and OCRmyPDF): a Type0 font, Identity-H, whose
CIDFontType2 embeds Tesseract's glyphless `pdf.ttf` and maps every CID to its one empty
glyph (GID 1, never .notdef). A character code is the character's Unicode code point
(UTF-16BE; Vietnamese is all in the Basic Multilingual Plane), so the /ToUnicode CMap is
an identity map and copying gives back the exact NFC text. The rare character beyond the
BMP gets a code from the surrogate range D800-DFFF (never a character by itself) and a
/ToUnicode entry of its own.

Each line is one font size (its height), each word stretched with Tz to its box's
width, a space between words stretched to fill the gap to the next word, so viewers
join words with spaces and lines with line breaks.
"""
from __future__ import annotations

import math
import os
import zlib
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Callable, Iterable

import pikepdf

PDF_TTF = Path("/usr/share/tesseract-ocr/5/tessdata/pdf.ttf")
ADVANCE = 0.5        # every glyph is half an em wide (/DW 500), as in pdf.ttf
ASCENT = 0.8         # share of the line height above the baseline (FontDescriptor)
MIN_SPACE = 0.05     # a space is at least this many ems wide, even if the boxes touch


@lru_cache(maxsize=1)
def glyphless_ttf() -> bytes:
    """Tesseract's pdf.ttf; if it is missing, an equivalent built with fontTools."""
    for base in _tessdata_dirs():
        path = base / "pdf.ttf"
        if path.is_file():
            data = path.read_bytes()
            if data[:4] in (b"\x00\x01\x00\x00", b"true"):
                return data
    return _build_glyphless_ttf()


def _tessdata_dirs() -> list[Path]:
    dirs = [Path(os.environ["TESSDATA_PREFIX"])] if os.environ.get("TESSDATA_PREFIX") else []
    return dirs + [PDF_TTF.parent, Path("/usr/share/tesseract-ocr/4.00/tessdata"),
                   Path("/usr/share/tessdata"), Path("/usr/local/share/tessdata")]


def _build_glyphless_ttf() -> bytes:
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder([".notdef", "glyphless"])
    fb.setupCharacterMap({})
    fb.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "glyphless": TTGlyphPen(None).glyph()})
    width = int(1000 * ADVANCE)
    fb.setupHorizontalMetrics({".notdef": (width, 0), "glyphless": (width, 0)})
    fb.setupHorizontalHeader(ascent=int(1000 * ASCENT), descent=-int(1000 * (1 - ASCENT)))
    fb.setupNameTable({"familyName": "GlyphLessFont", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=int(1000 * ASCENT), sTypoDescender=-int(1000 * (1 - ASCENT)),
                usWinAscent=int(1000 * ASCENT), usWinDescent=int(1000 * (1 - ASCENT)))
    fb.setupPost()
    fb.font.recalcTimestamp = False  # the same bytes every time
    fb.font["head"].created = fb.font["head"].modified = 0
    buf = BytesIO()
    fb.save(buf)
    return buf.getvalue()


@lru_cache(maxsize=1)
def _cid_to_gid_map() -> bytes:
    return zlib.compress(b"\x00\x01" * 65536, 9)


def _tounicode(extra: dict[int, str]) -> bytes:
    """Identity CMap for the BMP (less surrogates) plus `extra` codes."""
    ranges = [f"<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>" for hi in range(256)
              if not 0xD8 <= hi <= 0xDF]
    body = []
    for i in range(0, len(ranges), 100):  # at most 100 entries per block
        chunk = ranges[i:i + 100]
        body.append(f"{len(chunk)} beginbfrange\n" + "\n".join(chunk) + "\nendbfrange")
    items = sorted(extra.items())
    for i in range(0, len(items), 100):
        chunk = items[i:i + 100]
        body.append(f"{len(chunk)} beginbfchar\n" + "\n".join(
            f"<{code:04X}> <{ch.encode('utf-16-be').hex().upper()}>" for code, ch in chunk)
            + "\nendbfchar")
    return ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            + "\n".join(body) +
            "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
            ).encode("ascii")


class GlyphlessFont:
    """The font objects of one output PDF; `ref` goes into each page's /Font."""

    def __init__(self, pdf: pikepdf.Pdf):
        self._pdf = pdf
        self._extra: dict[str, int] = {}  # characters beyond the BMP -> their code
        ttf = glyphless_ttf()
        em = 1000
        descriptor = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name.GlyphLessFont,
            Flags=5, FontBBox=[0, -round(em * (1 - ASCENT)), round(em * ADVANCE),
                               round(em * ASCENT)],
            ItalicAngle=0, Ascent=round(em * ASCENT), Descent=-round(em * (1 - ASCENT)),
            CapHeight=round(em * ASCENT), StemV=80,
            FontFile2=pdf.make_stream(ttf, Length1=len(ttf))))
        cid_map = pikepdf.Stream(pdf, _cid_to_gid_map())
        cid_map.Filter = pikepdf.Name.FlateDecode
        cidfont = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2,
            BaseFont=pikepdf.Name.GlyphLessFont,
            CIDSystemInfo=pikepdf.Dictionary(Registry=pikepdf.String("Adobe"),
                                             Ordering=pikepdf.String("Identity"),
                                             Supplement=0),
            FontDescriptor=descriptor, DW=round(em * ADVANCE),
            CIDToGIDMap=pdf.make_indirect(cid_map)))
        self.ref = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type0,
            BaseFont=pikepdf.Name.GlyphLessFont, Encoding=pikepdf.Name("/Identity-H"),
            DescendantFonts=[cidfont]))

    def encode(self, text: str) -> tuple[str, int]:
        """(hex codes, number of glyphs) for `text`."""
        if text.isascii() or all(ord(c) < 0xD800 or 0xE000 <= ord(c) < 0x10000 for c in text):
            return text.encode("utf-16-be").hex().upper(), len(text)
        codes = []
        for ch in text:
            cp = ord(ch)
            if 0xD800 <= cp < 0xE000:
                continue  # a lone surrogate is no character
            if cp >= 0x10000:
                if ch not in self._extra:
                    if len(self._extra) >= 0x800:
                        ch = "\ufffd"
                        cp = 0xFFFD
                    else:
                        self._extra[ch] = 0xD800 + len(self._extra)
                cp = self._extra.get(ch, cp)
            codes.append(f"{cp:04X}")
        return "".join(codes), len(codes)

    def finish(self) -> None:
        """Attach the /ToUnicode CMap (after all text is encoded)."""
        self.ref.ToUnicode = self._pdf.make_stream(
            _tounicode({code: ch for ch, code in self._extra.items()}))


def page_text(lines: Iterable, font: GlyphlessFont, scale: tuple[float, float],
              frame_height: int, clean: Callable[[str], str]) -> str:
    """The BT..ET block of a page: `lines` in D pixels, `scale` points per pixel."""
    ops: list[str] = []
    for line in lines:
        words = []
        for word in line.words:
            text = clean(word.text).strip()
            x0, _, x1, _ = word.box
            if text and x1 > x0:
                words.append((text, x0, x1))
        if words:
            _line_ops(ops, line, words, font, scale, frame_height)
    if not ops:
        return ""
    return "BT\n3 Tr\n" + "".join(ops) + "ET\n"


def _line_ops(ops: list[str], line, words, font: GlyphlessFont,
              scale: tuple[float, float], frame_height: int) -> None:
    sx, sy = scale
    x0, y0, x1, y1 = line.box
    if line.baseline is not None:
        slope, offset = (float(v) for v in line.baseline)
        if not (math.isfinite(slope) and math.isfinite(offset)) or abs(slope) > 1:
            slope, offset = 0.0, None
    else:
        slope, offset = 0.0, None
    height = max(y1 - y0 - abs(slope) * (x1 - x0), 0.3 * (y1 - y0), 1.0)
    if offset is None:
        offset = -(1 - ASCENT) * height

    def baseline(x: float) -> float:
        return y1 + offset + slope * (x - x0)

    size = height * sy
    dx, dy = sx, -slope * sy           # the baseline's direction in points (y up)
    k = math.hypot(dx, dy)             # points along the baseline per pixel of x
    cos, sin = dx / k, dy / k
    first = words[0][1]
    ops.append(f"/F1 {_n(size)} Tf {_n(cos)} {_n(sin)} {_n(-sin)} {_n(cos)} "
               f"{_n(first * sx)} {_n((frame_height - baseline(first)) * sy)} Tm\n")
    em = ADVANCE * size
    prev = first
    for i, (text, wx0, wx1) in enumerate(words):
        if i:
            ops.append(f"{_n((wx0 - prev) * k)} 0 Td ")
        prev = wx0
        hexcodes, count = font.encode(text)
        stretch = 100 * (wx1 - wx0) * k / (count * em)
        ops.append(f"{_n(stretch)} Tz <{hexcodes}> Tj")
        if i + 1 < len(words):
            gap = max((words[i + 1][1] - wx1) * k, MIN_SPACE * size)
            ops.append(f" {_n(100 * gap / em)} Tz <0020> Tj\n")
    ops.append("\n")


def _n(v: float) -> str:
    s = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s
