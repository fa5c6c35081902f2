"""The stages one page goes through in a worker: blank?, QR codes, upright, deskew, OCR."""
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from .engine import Engine, Recognition
from .pdfpage import Line, Word

# A scanned empty back has paper grain, a little bleed-through and edge shadows: count
# only clearly dark pixels, away from the borders, at low resolution.
BLANK_INK = 0.0015  # share of dark pixels below which a page is blank
MARGIN = 0.06  # share of each side ignored (scanner shadows, punch holes)
MIN_SKEW = 0.1  # degrees; below this deskewing does not help
MAX_SKEW = 10.0  # degrees; above this the layout estimate is not trusted


@dataclass(frozen=True)
class PageAnalysis:
    blank: bool
    ink: float  # share of dark pixels in the page body
    qr_codes: tuple[str, ...]
    turn: int  # degrees clockwise applied to make the page upright
    turn_confidence: float
    skew: float  # degrees counter-clockwise applied after turning
    recognition: Recognition | None  # word boxes in the upright, deskewed frame

    @property
    def mean_confidence(self) -> float | None:
        return self.recognition.mean_confidence if self.recognition else None


def ink_ratio(gray: Image.Image) -> float:
    """Share of clearly dark pixels in the body of the page (0..1)."""
    small = gray.reduce(max(1, gray.width // 800))
    pixels = np.asarray(small, dtype=np.float32)
    h, w = pixels.shape
    body = pixels[int(h * MARGIN):int(h * (1 - MARGIN)), int(w * MARGIN):int(w * (1 - MARGIN))]
    paper = np.percentile(body, 90) if body.size else 255.0
    return float((body < paper * 0.5).mean()) if body.size else 0.0


def decode_qr(gray: Image.Image, dpi: float) -> tuple[str, ...]:
    from pyzbar import pyzbar

    small = gray.reduce(2) if dpi >= 250 else gray
    found = pyzbar.decode(small, symbols=[pyzbar.ZBarSymbol.QRCODE])
    return tuple(sorted({code.data.decode("utf-8", "replace") for code in found}))


def analyse_page(engine: Engine, image: Image.Image, dpi: float, *, ocr: bool = True) -> PageAnalysis:
    gray = image.convert("L")
    ink = ink_ratio(gray)
    qr = decode_qr(gray, dpi)
    if ink < BLANK_INK and not qr:
        return PageAnalysis(True, ink, qr, 0, 0.0, 0.0, None)
    orientation = engine.orientation(gray, int(dpi))
    upright = gray.rotate(-orientation.turn, expand=True) if orientation.turn else gray
    skew = engine.skew(upright, int(dpi))
    if not MIN_SKEW <= abs(skew) <= MAX_SKEW:
        skew = 0.0
    level = upright.rotate(skew, resample=Image.BICUBIC, fillcolor=255) if skew else upright
    recognition = engine.recognize(level, int(dpi)) if ocr else None
    return PageAnalysis(False, ink, qr, orientation.turn, orientation.confidence, skew, recognition)


def in_master_frame(analysis: PageAnalysis, load_turn: int,
                    load_scale: tuple[float, float]) -> PageAnalysis:
    """Express an analysis of the decoded image (turned by EXIF or /Rotate, maybe
    upscaled for OCR) relative to the master image as stored."""
    turn = (analysis.turn + load_turn) % 360
    sx, sy = load_scale if turn in (0, 180) else load_scale[::-1]
    if (sx, sy) == (1.0, 1.0) or analysis.recognition is None:
        return replace(analysis, turn=turn)

    def box(b):
        return (round(b[0] / sx), round(b[1] / sy), round(b[2] / sx), round(b[3] / sy))

    lines = tuple(
        Line(box(line.box),
             (line.baseline[0] * sx / sy, line.baseline[1] / sy) if line.baseline else None,
             tuple(Word(w.text, box(w.box), w.confidence) for w in line.words))
        for line in analysis.recognition.lines)
    return replace(analysis, turn=turn,
                   recognition=replace(analysis.recognition, lines=lines))
