"""Searchable PDFs: the scanned page image, untouched, under an invisible OCR text layer.

Each page of the output shows the deskewed frame D of the OCR pipeline (see PageLayout)
at the scan's resolution. The master image is embedded without re-encoding (pdfimage.py)
and drawn through a transformation matrix (cm) that turns and deskews it; the OCR words
are laid over it in invisible text (textlayer.py) so that selecting, searching and
copying give the NFC Vietnamese text. pdfa.py adds PDF/A-2b metadata on request.
"""
from __future__ import annotations

import io
import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pikepdf

from sohoa.cli import fsio

from . import pdfa as _pdfa
from . import textlayer
from .pdfimage import ImageSources

Matrix = tuple[float, float, float, float, float, float]  # PDF order: a b c d e f


@dataclass(frozen=True)
class Word:
    text: str                      # NFC
    box: tuple[int, int, int, int] # x0, y0, x1, y1 in pixels of the upright, deskewed frame (origin top-left, y down)
    confidence: float              # 0-100


@dataclass(frozen=True)
class Line:
    box: tuple[int, int, int, int]
    baseline: tuple[float, float] | None  # Tesseract's (slope, offset from the box's bottom-left, in px), None if unknown
    words: tuple[Word, ...]


@dataclass(frozen=True)
class PageImage:
    """The master image, embedded untouched. Exactly one source is set."""
    data: bytes | None = None          # an encoded image file: JPEG, PNG, TIFF (maybe multi-page, maybe 1-bit CCITT G4)
    frame: int = 0                     # page index within a multi-page TIFF
    pdf_path: Path | None = None       # or: an image XObject inside an existing image-only PDF ...
    pdf_page: int = 0                  # ... on this page (the largest image of that page)
    width: int = 0; height: int = 0    # pixel size of the master image
    dpi: tuple[float, float] = (300.0, 300.0)


@dataclass(frozen=True)
class PageLayout:
    image: PageImage
    turn: int            # 0/90/180/270: degrees CLOCKWISE to rotate the master so its text is upright
    skew: float          # degrees; the upright image rotated COUNTER-clockwise by `skew` about its centre (same canvas size) is the deskewed frame
    lines: tuple[Line, ...]


def write_searchable_pdf(pages: Sequence[PageLayout], out: Path, *, pdfa: bool = False,
                         title: str | None = None, lang: str = "vi-VN") -> None:
    """Write `pages` to `out` (atomically) as one searchable PDF (version 1.5).

    pdfa=True makes it PDF/A-2b (XMP metadata, sRGB output intent). A page whose image
    cannot be used raises BadInput naming the image's PDF, or `out` for in-memory image
    data; then nothing is written. Baselines are read as Tesseract's hOCR gives them:
    y = box bottom + offset + slope * (x - box left), in pixels, y down.
    """
    if not pages:
        raise ValueError("write_searchable_pdf needs at least one page")
    out = Path(out)
    pdf = pikepdf.new()
    sources = ImageSources(pdf, out, pdfa=pdfa)
    try:
        font = textlayer.GlyphlessFont(pdf)
        for number, layout in enumerate(pages, 1):
            _add_page(pdf, sources, font, layout, number)
        font.finish()
        if out.is_file() and _same_as(out, pdf, pdfa=pdfa, title=title, lang=lang):
            return
        _pdfa.finish(pdf, pdfa=pdfa, title=title, lang=lang)
        fsio.write_bytes(out, _saved(pdf))
    finally:
        sources.close()
        pdf.close()


def _saved(pdf: pikepdf.Pdf) -> bytes:
    buffer = io.BytesIO()
    pdf.save(buffer, compress_streams=True, deterministic_id=True,
             object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return buffer.getvalue()


def _same_as(out: Path, pdf: pikepdf.Pdf, **finish) -> bool:
    """Would `pdf` be byte for byte the existing `out`, dated as it is? Then a re-run
    leaves it untouched (and a signature made over it stays a signature of this PDF)."""
    when = _pdfa.created(out)
    if when is None:
        return False
    _pdfa.finish(pdf, when=when, **finish)
    return _saved(pdf) == out.read_bytes()


def _add_page(pdf: pikepdf.Pdf, sources: ImageSources, font: textlayer.GlyphlessFont,
              layout: PageLayout, number: int) -> None:
    if layout.turn not in (0, 90, 180, 270):
        raise ValueError(f"page {number}: turn must be 0, 90, 180 or 270, not {layout.turn}")
    image = layout.image
    if min(image.dpi) <= 0:
        raise ValueError(f"page {number}: dpi must be positive, not {image.dpi}")
    xobject, width, height = sources.xobject(image, number)
    size, scale = frame_geometry(width, height, image.dpi, layout.turn)
    pt_w, pt_h = size[0] * scale[0], size[1] * scale[1]
    cm = image_matrix(width, height, image.dpi, layout.turn, layout.skew)
    ops = ["q " + " ".join(_num(v) for v in cm) + " cm /Im0 Do Q\n"]
    text = textlayer.page_text(layout.lines, font, scale, size[1], _nfc)
    if text:
        ops.append(text)
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=pikepdf.Array([0, 0, round(pt_w, 3), round(pt_h, 3)]),
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobject),
                                     Font=pikepdf.Dictionary(F1=font.ref)),
        Contents=pdf.make_stream("".join(ops).encode("ascii")),
    )
    pdf.pages.append(pikepdf.Page(page))


def frame_geometry(width: int, height: int, dpi: tuple[float, float],
                   turn: int) -> tuple[tuple[int, int], tuple[float, float]]:
    """D's size in pixels and its points-per-pixel along x and y (the upright axes)."""
    if turn in (90, 270):
        return (height, width), (72.0 / dpi[1], 72.0 / dpi[0])
    return (width, height), (72.0 / dpi[0], 72.0 / dpi[1])


def image_matrix(width: int, height: int, dpi: tuple[float, float], turn: int,
                 skew: float) -> Matrix:
    """The cm that draws the master's image XObject (unit square) so the page shows D.

    Chain: unit square -> master pixels (y down) -> U pixels (turned clockwise by `turn`,
    as PIL's rotate(-turn, expand=True)) -> D pixels (U turned counter-clockwise by `skew`
    about the centre, as PIL's rotate(skew)) -> page points (y up).
    """
    w, h = width, height
    m: Matrix = (w, 0.0, 0.0, -h, 0.0, h)
    m = _concat(m, {0: (1, 0, 0, 1, 0, 0), 90: (0, 1, -1, 0, h, 0),
                    180: (-1, 0, 0, -1, w, h), 270: (0, -1, 1, 0, 0, w)}[turn])
    (dw, dh), (sx, sy) = frame_geometry(width, height, dpi, turn)
    a = math.radians(skew)
    cos, sin = math.cos(a), math.sin(a)
    cx, cy = dw / 2, dh / 2
    # x' = cx + (x-cx)cos + (y-cy)sin ; y' = cy - (x-cx)sin + (y-cy)cos  (y down)
    m = _concat(m, (cos, -sin, sin, cos,
                    cx - cx * cos - cy * sin, cy + cx * sin - cy * cos))
    return _concat(m, (sx, 0.0, 0.0, -sy, 0.0, dh * sy))


def _concat(first: Matrix, then: Matrix) -> Matrix:
    """The matrix that applies `first`, then `then` (the product first x then in PDF's
    row-vector convention)."""
    a, b, c, d, e, f = first
    A, B, C, D, E, F = then
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D,
            e * A + f * C + E, e * B + f * D + F)


def _num(v: float) -> str:
    s = f"{v:.5f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
