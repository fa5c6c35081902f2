"""A second, closer reading of a line the layout points at ("Số: …", "<place>, ngày …").

A whole page read at once gets an italic date line wrong now and then ("ngày J2 tháng $
năm 2021"); the same line cropped, enlarged and read as one line usually comes out right
("ngày 12 tháng 5 năm 2021"). `LineReader` does that for the metadata extractor, from
the page images in the frame the words' boxes are in (the upright, deskewed page).
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

from PIL import Image

from .textpage import Box

# px: a line is enlarged to about this height before reading; a second look uses the
# first, a third (when the first two disagree) the next
HEIGHTS = (48, 72)
PAD = (0.6, 0.35)  # margin around a line, in line heights (x, y)

# a page: its image in the words' frame, px of that image per box unit, its dpi
PageSource = Callable[[], "tuple[Deskewed, tuple[float, float], float]"]

_engines: dict[str, object] = {}


def shared_engine(lang: str):
    """One engine per language for the whole process, made when first needed."""
    from .engine import Engine

    if lang not in _engines:
        _engines[lang] = Engine(lang)
    return _engines[lang]


class LineReader:
    def __init__(self, sources: Sequence[PageSource | None], lang: str = "vie", engine=None):
        self._sources = list(sources)
        self._lang = lang
        self._engine = engine
        self._pages: dict[int, tuple[Deskewed, tuple[float, float], float]] = {}

    def __call__(self, page: int, box: Box, attempt: int = 0) -> tuple[str, float] | None:
        """The text in `box` of page `page` (0-based) and its confidence (0..1); each
        `attempt` enlarges the line to another height."""
        try:
            image, (sx, sy), dpi = self._page(page)
        except (IndexError, TypeError):
            return None
        x0, y0, x1, y1 = box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy
        h = max(1.0, y1 - y0)
        crop = image.crop((x0 - PAD[0] * h, y0 - PAD[1] * h, x1 + PAD[0] * h, y1 + PAD[1] * h))
        if crop.width < 4 or crop.height < 4:
            return None
        scale = max(1.0, min(3.0, HEIGHTS[attempt % len(HEIGHTS)] / h))
        if scale > 1.05:
            crop = crop.resize((round(crop.width * scale), round(crop.height * scale)),
                               Image.Resampling.LANCZOS)
        canvas = Image.new("L", (crop.width + 2 * 16, crop.height + 2 * 16), 255)
        canvas.paste(crop, (16, 16))
        engine = self._engine or shared_engine(self._lang)
        text, confidence = engine.read_line(canvas, int(dpi * scale))
        return text, max(0.0, confidence) / 100

    def _page(self, page: int):
        if page not in self._pages:
            source = self._sources[page]
            if source is None:
                raise TypeError("no image for this page")
            self._pages[page] = source()
        return self._pages[page]


class Deskewed:
    """The page as the OCR stage saw it: `image` turned clockwise by `turn`, then
    rotated counter-clockwise by `skew` degrees about its centre (same canvas); only
    the parts asked for are rotated."""

    def __init__(self, image: Image.Image, turn: int, skew: float):
        image = image.convert("L")
        turn %= 360
        if turn:
            image = image.transpose({90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
                                     270: Image.Transpose.ROTATE_90}[turn])
        self.turned = image
        self.skew = skew
        self.width, self.height = image.size

    def crop(self, box: tuple[float, float, float, float]) -> Image.Image:
        x0, y0, x1, y1 = box
        if not self.skew:
            return self.turned.crop(tuple(round(v) for v in box))
        a = math.radians(self.skew)
        cos, sin = math.cos(a), math.sin(a)
        cx, cy = self.width / 2, self.height / 2
        bx, by = (x0 + x1) / 2 - cx, (y0 + y1) / 2 - cy
        ux, uy = cx + bx * cos - by * sin, cy + bx * sin + by * cos  # the box centre, unturned
        hw, hh = (x1 - x0) / 2, (y1 - y0) / 2
        rw = hw * abs(cos) + hh * abs(sin) + 2
        rh = hw * abs(sin) + hh * abs(cos) + 2
        region = self.turned.crop((round(ux - rw), round(uy - rh), round(ux + rw), round(uy + rh)))
        region = region.rotate(self.skew, resample=Image.Resampling.BICUBIC, fillcolor=255)
        mx, my = region.width / 2, region.height / 2
        return region.crop((round(mx - hw), round(my - hh), round(mx + hw), round(my + hh)))


def pipeline_source(ref, analysis) -> PageSource:
    """A page of `sohoa ocr`: the analysis holds boxes in the master image's frame."""

    def load():
        from .pages import load_page

        image, dpi = load_page(ref)  # turned by ref.turn, resampled by ref.ocr_scale
        scale = ref.ocr_scale if analysis.turn in (0, 180) else ref.ocr_scale[::-1]
        return Deskewed(image, analysis.turn - ref.turn, analysis.skew), scale, dpi[0]

    return load
