"""A page's words and where they sit, whatever read them: the OCR engine or a PDF's text layer.

Boxes are (x0, y0, x1, y1) with the origin top left and y down, in the page's own unit
(pixels of the upright, deskewed frame for OCR; points for a PDF text layer). Text lines
are cut into `Segment`s where a wide gap separates their words, because a reader (and
Tesseract) runs one line across both columns of a Decree 30 header or signature area:
"Số: 15/QĐ-UBND      Diên Lạc, ngày 05 tháng 01 năm 2020" is two segments.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable, Sequence

from .vnparse import nfc

Box = tuple[float, float, float, float]
COLUMN_GAP = 1.1  # a gap wider than this many line heights separates two columns


@dataclass(frozen=True)
class Token:
    text: str
    box: Box
    confidence: float  # 0..1


@dataclass(frozen=True)
class Segment:
    tokens: tuple[Token, ...]
    page: int  # 0-based page of the document

    @cached_property
    def text(self) -> str:
        return nfc(" ".join(t.text for t in self.tokens))

    @property
    def x0(self) -> float:
        return min(t.box[0] for t in self.tokens)

    @property
    def x1(self) -> float:
        return max(t.box[2] for t in self.tokens)

    @property
    def y0(self) -> float:
        return min(t.box[1] for t in self.tokens)

    @property
    def y1(self) -> float:
        return max(t.box[3] for t in self.tokens)

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @cached_property
    def height(self) -> float:
        return statistics.median(t.box[3] - t.box[1] for t in self.tokens)

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @cached_property
    def confidence(self) -> float:
        return statistics.fmean(t.confidence for t in self.tokens)


@dataclass(frozen=True)
class PageText:
    width: float
    height: float
    segments: tuple[Segment, ...]  # top to bottom
    codes: tuple[str, ...] = ()  # QR code and barcode payloads found on the page
    source: str = "ocr"  # ocr | text-layer
    line_height: float = field(default=0.0)

    @property
    def text(self) -> str:
        return "\n".join(s.text for s in self.segments)


def cut_line(tokens: Sequence[Token], page: int, gap: float = COLUMN_GAP) -> list[Segment]:
    """One text line's tokens, left to right, cut at every wide gap."""
    tokens = sorted((t for t in tokens if t.text.strip()), key=lambda t: t.box[0])
    if not tokens:
        return []
    height = statistics.median(t.box[3] - t.box[1] for t in tokens)
    pieces: list[list[Token]] = [[tokens[0]]]
    for previous, token in zip(tokens, tokens[1:]):
        if token.box[0] - previous.box[2] > gap * height:
            pieces.append([])
        pieces[-1].append(token)
    return [Segment(tuple(p), page) for p in pieces]


def make_page(lines: Iterable[Sequence[Token]], width: float, height: float, page: int,
              codes: Sequence[str] = (), source: str = "ocr") -> PageText:
    """`lines`: each line's tokens in reading order."""
    lines = [list(line) for line in lines]
    turn = reading_turn(lines)
    if turn:
        lines = [[_turned(t, turn, width, height) for t in line] for line in lines]
        width, height = height, width
    segments = reading_order([s for line in lines for s in cut_line(line, page)])
    heights = [s.height for s in segments if len(s.tokens) >= 3] or [s.height for s in segments]
    return PageText(width, height, tuple(segments), tuple(codes), source,
                    statistics.median(heights) if heights else height / 60)


def reading_order(segments: list[Segment]) -> list[Segment]:
    """Top to bottom by rows, left to right within a row: a segment joins the row whose
    first segment it overlaps by half its height (OCR may give pieces of one printed line
    as lines of their own, a little higher or lower)."""
    rows: list[list[Segment]] = []
    for s in sorted(segments, key=lambda s: s.cy):
        if rows:
            first = rows[-1][0]
            overlap = min(first.y1, s.y1) - max(first.y0, s.y0)
            if overlap > 0.5 * min(first.y1 - first.y0, s.y1 - s.y0):
                rows[-1].append(s)
                continue
        rows.append([s])
    return [s for row in rows for s in sorted(row, key=lambda s: s.x0)]


def reading_turn(lines: Sequence[Sequence[Token]]) -> int:
    """90 or 270 when the lines run down or up the page (a page scanned sideways whose
    turn went unnoticed, read by the engine all the same), else 0."""
    dx = dy = 0.0
    for line in lines:
        for a, b in zip(line, line[1:]):
            dx += (b.box[0] + b.box[2] - a.box[0] - a.box[2]) / 2
            dy += (b.box[1] + b.box[3] - a.box[1] - a.box[3]) / 2
    if abs(dy) > 3 * abs(dx):
        return 90 if dy > 0 else 270
    return 0


def _turned(token: Token, turn: int, width: float, height: float) -> Token:
    """The token's box after turning the page so its lines run left to right."""
    x0, y0, x1, y1 = token.box
    if turn == 90:  # lines ran top to bottom: turn the page counter-clockwise
        box = (y0, width - x1, y1, width - x0)
    else:  # lines ran bottom to top: turn it clockwise
        box = (height - y1, x0, height - y0, x1)
    return Token(token.text, box, token.confidence)


def page_from_recognition(recognition, size: tuple[int, int], page: int,
                          codes: Sequence[str] = ()) -> PageText:
    """From an engine's `Recognition` (ocr/engine.py) of a page `size` (w, h) pixels."""
    lines = [] if recognition is None else [
        [Token(nfc(w.text), tuple(map(float, w.box)), max(0.0, w.confidence) / 100)
         for w in line.words] for line in recognition.lines]
    return make_page(lines, size[0], size[1], page, codes)


def page_from_analysis(analysis, master_size: tuple[int, int], page: int) -> PageText:
    """From a pipeline `PageAnalysis`: its boxes are in the upright frame, whose size is
    the master image's, swapped for a quarter turn."""
    w, h = master_size
    size = (h, w) if analysis.turn in (90, 270) else (w, h)
    codes = tuple(analysis.qr_codes) + tuple(getattr(analysis, "barcodes", ()))
    return page_from_recognition(analysis.recognition, size, page, codes)


def pages_from_text_layer(pdf: Path) -> list[PageText]:
    """Every page of a PDF read from its text layer (born-digital, or a searchable
    scan), with poppler's word boxes."""
    from sohoa.signing.pdfwords import lines as word_lines
    from sohoa.signing.pdfwords import page_words

    pages = []
    for number in range(1, page_count(pdf) + 1):
        words = page_words(pdf, number)
        top = words.y0 + words.height
        lines = [[Token(w.text, (w.x0 - words.x0, top - w.y1, w.x1 - words.x0, top - w.y0), 1.0)
                  for w in line.words] for line in word_lines(words.words)]
        pages.append(make_page(lines, words.width, words.height, number - 1,
                               source="text-layer"))
    return pages


def page_count(pdf: Path) -> int:
    import pikepdf

    with pikepdf.open(pdf) as doc:
        return len(doc.pages)
