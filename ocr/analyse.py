"""The stages one page goes through in a worker: blank?, QR codes, upright, deskew, OCR."""
import math
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
SKEW_RANGE = 5.0  # degrees searched for the skew of a page before it is read
LEVEL_FIRST = 1.0  # degrees from which a page is levelled before it is read
# Tesseract reads upright pages at 84–95 mean confidence and upside-down ones at 38–45.
MIN_UPRIGHT_CONFIDENCE = 70
UPRIGHT = 100.0  # the turn confidence reported when the page read well as it was


@dataclass(frozen=True)
class PageAnalysis:
    blank: bool
    ink: float  # share of dark pixels in the page body
    qr_codes: tuple[str, ...]
    turn: int  # degrees clockwise applied to make the page upright
    turn_confidence: float
    skew: float  # degrees counter-clockwise applied after turning
    recognition: Recognition | None  # word boxes in the upright, deskewed frame
    barcodes: tuple[str, ...] = ()  # 1-D barcode payloads (Code 128/39/93, EAN, UPC)

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
    return decode_codes(gray, dpi)[0]


def decode_codes(gray: Image.Image, dpi: float) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(QR code payloads, 1-D barcode payloads) on the page. One zbar pass looks for
    both, about a sixth dearer than for QR codes alone; the 1-D kinds are those printed
    papers carry (Code 128/39/93, EAN, UPC), not the ones zbar finds in plain text."""
    from pyzbar import pyzbar

    S = pyzbar.ZBarSymbol
    small = gray.reduce(2) if dpi >= 250 else gray
    found = pyzbar.decode(small, symbols=[S.QRCODE, S.CODE128, S.CODE39, S.CODE93,
                                          S.EAN13, S.EAN8, S.UPCA])
    qr = {c.data.decode("utf-8", "replace") for c in found if c.type == "QRCODE"}
    bars = {c.data.decode("utf-8", "replace") for c in found if c.type != "QRCODE"}
    return tuple(sorted(qr)), tuple(sorted(bars))


def analyse_page(engine: Engine, image: Image.Image, dpi: float) -> PageAnalysis:
    gray = image.convert("L")
    ink = ink_ratio(gray)
    qr, bars = decode_codes(gray, dpi)
    if ink < BLANK_INK and not qr and not bars:
        return PageAnalysis(True, ink, qr, 0, 0.0, 0.0, None, bars)
    # Tesseract's layout analysis loses whole lines of a page skewed by 2° or more, so
    # such a page is levelled before it is read (the master image stays as scanned).
    # What is left, and the skew of a turned page, is taken from the baselines of the
    # lines found, and the words are moved into the deskewed frame.
    level = estimate_skew(gray)
    if abs(level) >= LEVEL_FIRST:
        gray = gray.rotate(level, resample=Image.BILINEAR, fillcolor=255)
    else:
        level = 0.0
    turn, turn_confidence, recognition = _read_upright(engine, gray, int(dpi))
    rest = skew_from_baselines(recognition.lines)
    if MIN_SKEW <= abs(rest) <= MAX_SKEW and recognition.lines:
        lines = deskew_lines(recognition.lines, rest, _turned_size(gray.size, turn))
        recognition = replace(recognition, lines=lines)
    else:
        rest = 0.0
    skew = level + rest
    return PageAnalysis(False, ink, qr, turn, turn_confidence,
                        skew if abs(skew) <= MAX_SKEW else 0.0, recognition, bars)


def estimate_skew(gray: Image.Image) -> float:
    """Degrees (PIL's counter-clockwise sense) that level the text lines: the angle whose
    row profile of dark pixels has the sharpest peaks, at quarter resolution; 0 when no
    angle stands out (no text to go by)."""
    small = np.asarray(gray.reduce(4))
    ink = Image.fromarray(((small < 128) * 255).astype(np.uint8))

    def sharpness(angle: float) -> float:
        rows = np.asarray(ink.rotate(angle, resample=Image.NEAREST), dtype=np.float32).sum(axis=1)
        return float(np.var(rows))

    coarse = max(np.arange(-SKEW_RANGE, SKEW_RANGE + 0.01, 0.25), key=sharpness)
    fine = max(np.arange(coarse - 0.2, coarse + 0.21, 0.05), key=sharpness)
    flat = sharpness(0.0)
    return round(float(fine), 2) if flat and sharpness(fine) > 1.05 * flat else 0.0


def _read_upright(engine: Engine, gray: Image.Image, dpi: int):
    """(turn, its confidence, recognition). Most pages are scanned the right way up, so
    they are read first as they are; only a page that does not read like upright text
    pays for orientation detection, and a turned reading must beat the first one."""
    first = engine.recognize(gray, dpi)
    if looks_upright(first, gray.size):
        return 0, UPRIGHT, first
    orientation = engine.orientation(gray, dpi)
    best = (0, orientation.confidence, first)
    for turn in _turns_to_try(orientation.turn, first, gray.size):
        turned = engine.recognize(gray.rotate(-turn, expand=True), dpi)
        if _better(turned, best[2]):
            best = (turn, orientation.confidence, turned)
    return best


def _better(reading: Recognition, than: Recognition) -> bool:
    """Level lines first (Tesseract reads sideways text confidently too, in tall
    lines), then confidence."""
    return (reads_level(reading), reading.mean_confidence) > (reads_level(than), than.mean_confidence)


def _turns_to_try(osd_turn: int, first: Recognition, size: tuple[int, int]) -> tuple[int, ...]:
    """OSD's answer; and for a landscape image that OSD calls upright or upside down
    without its lines reading level, both quarter turns: OSD now and then misses a
    portrait page scanned sideways, and the readings settle it."""
    landscape = size[0] > size[1]
    if landscape and osd_turn in (0, 180) and not reads_level(first):
        return tuple(dict.fromkeys(t for t in (osd_turn, 90, 270) if t))
    return (osd_turn,) if osd_turn else ()


def looks_upright(recognition: Recognition, size: tuple[int, int]) -> bool:
    """Confident reading of horizontal lines on a portrait page. Tesseract reads
    sideways lines too, so a landscape image is always checked for a turn."""
    return size[0] <= size[1] and reads_level(recognition)


def reads_level(recognition: Recognition) -> bool:
    """Confident reading, most lines much wider than tall."""
    lines = [line for line in recognition.lines if len(line.words) >= 2]
    wide = sum((line.box[2] - line.box[0]) > 2 * (line.box[3] - line.box[1]) for line in lines)
    return recognition.mean_confidence >= MIN_UPRIGHT_CONFIDENCE and wide >= len(lines) / 2


def _turned_size(size: tuple[int, int], turn: int) -> tuple[int, int]:
    return size[::-1] if turn in (90, 270) else size


def skew_from_baselines(lines) -> float:
    """Degrees (PIL's counter-clockwise sense) that level the text: the median baseline
    slope of the lines, each counted by its width."""
    slopes = sorted((line.baseline[0], line.box[2] - line.box[0]) for line in lines
                    if line.baseline and line.box[2] - line.box[0] > 100)
    if not slopes:
        return 0.0
    half, seen = sum(w for _, w in slopes) / 2, 0
    for slope, width in slopes:
        seen += width
        if seen >= half:
            return math.degrees(math.atan(slope))
    return 0.0


def deskew_lines(lines, skew: float, size: tuple[int, int]) -> tuple[Line, ...]:
    """Word boxes found on the skewed image, expressed in the deskewed frame (the image
    turned counter-clockwise by `skew` about its centre, same canvas)."""
    a = math.radians(skew)
    cos, sin = math.cos(a), math.sin(a)
    cx, cy = size[0] / 2, size[1] / 2

    def point(x, y):
        return (cx + (x - cx) * cos + (y - cy) * sin, cy - (x - cx) * sin + (y - cy) * cos)

    def box(b):
        x, y = point((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
        w = b[2] - b[0]
        h = max((b[3] - b[1]) * 0.5, (b[3] - b[1]) - w * abs(sin))  # minus the skew's lean
        return (round(x - w / 2), round(y - h / 2), round(x + w / 2), round(y + h / 2))

    result = []
    for line in lines:
        words = tuple(Word(w.text, box(w.box), w.confidence) for w in line.words)
        if not words:
            continue
        x0, y0 = min(w.box[0] for w in words), min(w.box[1] for w in words)
        x1, y1 = max(w.box[2] for w in words), max(w.box[3] for w in words)
        baseline = None
        if line.baseline:
            slope, offset = line.baseline
            left = point(line.box[0], line.box[3] + offset)
            right = point(line.box[2], line.box[3] + offset + slope * (line.box[2] - line.box[0]))
            new_slope = (right[1] - left[1]) / (right[0] - left[0]) if right[0] != left[0] else 0.0
            baseline = (new_slope, left[1] + new_slope * (x0 - left[0]) - y1)
        result.append(Line((x0, y0, x1, y1), baseline, words))
    return tuple(result)


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
