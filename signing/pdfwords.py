"""Words of a PDF page's text layer with their boxes, in PDF user space (points, y up).

`page_words()` reads what a viewer would copy, from any PDF, through poppler's
`pdftotext -bbox` (one process per page, ~10 ms of CPU). `ocr_layer_words()` reads the
invisible layer that `sohoa ocr` writes (ocr/textlayer.py) straight from the page's
content stream, in-process, in about a millisecond, and gives up (None) on anything else.
Words are NFC. `lines()` groups words into text lines; `right_column()` keeps the words
of a page's right half (where Decree 30 puts the motto, the date and the signer block).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from sohoa.cli.errors import MissingDependency

FIX = "install poppler-utils (apt-get install poppler-utils; `make setup` does it)"


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float  # bottom
    x1: float
    y1: float  # top

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass(frozen=True)
class TextLine:
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def x0(self) -> float:
        return min(w.x0 for w in self.words)

    @property
    def x1(self) -> float:
        return max(w.x1 for w in self.words)

    @property
    def y0(self) -> float:
        return min(w.y0 for w in self.words)

    @property
    def y1(self) -> float:
        return max(w.y1 for w in self.words)

    @property
    def centre_x(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass(frozen=True)
class PageWords:
    number: int  # 1-based
    x0: float  # the crop box pdftotext measured, in user space
    y0: float
    width: float
    height: float
    words: tuple[Word, ...]


def page_words(pdf: Path | str, page: int, crop_origin: tuple[float, float] = (0.0, 0.0),
               area: tuple[float, float, float, float] | None = None) -> PageWords:
    """The words of page `page` (1-based). `crop_origin` is the lower-left corner of the
    page's crop box (pdftotext measures from its top-left corner); `area` (x, y, w, h from
    that top-left corner, in points) limits the words read to part of the page."""
    exe = shutil.which("pdftotext")
    if exe is None:
        raise MissingDependency(f"pdftotext not found: {FIX}")
    crop = [] if area is None else ["-x", str(int(area[0])), "-y", str(int(area[1])),
                                    "-W", str(int(area[2]) + 1), "-H", str(int(area[3]) + 1)]
    proc = subprocess.run([exe, "-q", "-bbox", "-enc", "UTF-8", "-f", str(page), "-l", str(page), *crop,
                           str(pdf), "-"], capture_output=True)
    if proc.returncode != 0:
        raise ValueError(f"pdftotext failed on page {page}: "
                         f"{proc.stderr.decode(errors='replace').strip() or proc.returncode}")
    return parse_bbox(proc.stdout, page, crop_origin)


def parse_bbox(xhtml: bytes, page: int, crop_origin: tuple[float, float] = (0.0, 0.0)) -> PageWords:
    """Parse `pdftotext -bbox` output (one page) into PageWords."""
    root = ET.fromstring(xhtml)
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    node = root.find(".//x:page", ns)
    if node is None:
        return PageWords(page, *crop_origin, 0.0, 0.0, ())
    width, height = float(node.get("width")), float(node.get("height"))
    ox, oy = crop_origin
    words = []
    for w in node.iterfind("x:word", ns):
        text = unicodedata.normalize("NFC", (w.text or "").strip())
        if text:
            words.append(Word(text, ox + float(w.get("xMin")), oy + height - float(w.get("yMax")),
                              ox + float(w.get("xMax")), oy + height - float(w.get("yMin"))))
    return PageWords(page, ox, oy, width, height, tuple(words))


_NUM = rb"([-+]?(?:\d+\.?\d*|\.\d+))"
_LINE = re.compile(rb"/(\S+) " + _NUM + rb" Tf" + rb" " + _NUM * 1 + (rb" " + _NUM) * 5 + rb" Tm")
_WORD = re.compile(rb"(?:" + _NUM + rb" 0 Td )?" + _NUM + rb" Tz <([0-9A-Fa-f]*)> Tj"
                   rb"(?: " + _NUM + rb" Tz <0020> Tj)?")
_BLOCK = re.compile(rb"BT\s+3 Tr\s+(.*?)\s*ET", re.S)


def ocr_layer_words(reader, index: int, crop: tuple[float, float, float, float]) -> PageWords | None:
    """The words of page `index` (0-based) of a pyHanko reader when its text is the layer
    `sohoa ocr` writes (ocr/textlayer.py): GlyphLessFont (Identity-H, codes = UTF-16 code
    units), per line one Tm, per word Td/Tz/Tj, nothing transformed. None for any other
    page or anything unexpected (then use page_words)."""
    page = reader.find_page_for_modification(index)[0].get_object()
    try:
        fonts = page["/Resources"]["/Font"]
        glyphless = {str(name)[1:].encode(): fonts[name] for name in fonts
                     if fonts[name].get("/BaseFont") == "/GlyphLessFont"}
        contents = page["/Contents"]
        parts = [c.get_object() for c in contents] if isinstance(contents, list) else [contents]
        data = b"\n".join(part.data for part in parts)
    except (KeyError, TypeError, AttributeError):
        return None
    blocks = list(_BLOCK.finditer(data))
    if not glyphless or len(blocks) != 1 or b" cm" in _outside_q(data[:blocks[0].start()]):
        return None
    words: list[Word] = []
    tm = font = None
    for line in blocks[0].group(1).split(b"\n"):
        if line.startswith(b"/"):
            m = _LINE.fullmatch(line)
            if m is None or m.group(1) not in glyphless:
                return None
            font = glyphless[m.group(1)]
            size = float(m.group(2))
            a, b, _, _, e, f = (float(v) for v in m.groups()[2:])
            em = font["/DescendantFonts"][0].get("/DW", 1000) / 1000 * size
            origin = 0.0
            continue
        if tm is None and font is None or not line.strip():
            if line.strip():
                return None
            continue
        m = _WORD.fullmatch(line.strip())
        if m is None:
            return None
        dx, stretch, hexcodes, _ = m.groups()
        origin += float(dx or 0)
        raw = bytes.fromhex(hexcodes.decode("ascii"))
        codes = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw) - 1, 2)]
        text = unicodedata.normalize("NFC", "".join(
            "\ufffd" if 0xD800 <= c < 0xE000 else chr(c) for c in codes)).strip()
        if not text:
            continue
        length = em * float(stretch) / 100 * len(codes)
        x0, y0 = e + a * origin, f + b * origin
        x1, y1 = x0 + a * length, y0 + b * length
        words.append(Word(text, min(x0, x1), min(y0, y1) - 0.2 * size,
                          max(x0, x1), max(y0, y1) + 0.8 * size))
    if not words:
        return None
    x0, y0, x1, y1 = crop
    return PageWords(index + 1, x0, y0, x1 - x0, y1 - y0, tuple(words))


_Q_PAIR = re.compile(rb"(?<!\S)q\s(?:(?!(?<!\S)[qQ](?!\S)).)*?(?<!\S)Q(?!\S)", re.S)


def _outside_q(data: bytes) -> bytes:
    """A content stream without its closed q ... Q groups: what is still in force after it
    (a `cm` left there would transform the text)."""
    while True:
        data, n = _Q_PAIR.subn(b" ", data)
        if not n:
            return data


def lines(words: list[Word] | tuple[Word, ...]) -> list[TextLine]:
    """Group words into lines, top to bottom, each left to right. A word joins the line
    above it when their vertical extents overlap by more than half the smaller height."""
    out: list[list[Word]] = []
    for word in sorted(words, key=lambda w: -(w.y0 + w.y1) / 2):
        if out:
            ref = out[-1][-1]
            if min(ref.y1, word.y1) - max(ref.y0, word.y0) > 0.5 * min(ref.height, word.height):
                out[-1].append(word)
                continue
        out.append([word])
    return [TextLine(tuple(sorted(ws, key=lambda w: w.x0))) for ws in out]


def right_column(page: PageWords, split: float = 0.5) -> list[Word]:
    """Words whose centre lies right of `split` of the page's width."""
    cut = page.x0 + page.width * split
    return [w for w in page.words if (w.x0 + w.x1) / 2 > cut]
