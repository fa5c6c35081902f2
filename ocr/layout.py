"""Where things are on a page of an administrative document, and what a line looks like.

The text area's margins and line height (`Geometry`), a column's lines put back together
(`rows`), and the tests the extractor asks of a segment: a motto, a note, a signer's
position or name, a seal or signature read as text, noise.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import vnparse as vp
from .textpage import PageText, Segment

MOTTO = ("CONG HOA XA HOI", "XA HOI CHU NGHIA", "DOC LAP", "TU DO - HANH PHUC", "HANH PHUC")
LABEL = re.compile(r"^[^:]{1,40}:\s*\S")  # "Mã hồ sơ: …", "Kính gửi: …"
TO = ("KINH GUI", "KINH TRINH", "CAN CU", "XET ")
NOTE = re.compile(r"^\(.*\)?$")  # "(Ký, ghi rõ họ tên)", "(Liên: Lưu)"
SURE = 0.75  # a number or date whose digits read at least this well is not read again


@dataclass
class Geometry:
    """A page's text area: the body's margins, a line's height, the page's width."""

    left: float
    right: float
    unit: float  # a text line's height
    width: float

    @property
    def centre(self) -> float:
        return (self.left + self.right) / 2

    def centred(self, s: Segment) -> bool:
        return abs(s.cx - self.centre) <= max(0.04 * self.width, 1.5 * self.unit)

    def right_column(self, s: Segment) -> bool:
        return s.x0 >= self.left + 0.35 * (self.right - self.left) and s.cx > self.centre

    def aligned(self, s: Segment, axis: float) -> bool:
        return abs(s.cx - axis) <= max(0.05 * self.width, 2.5 * self.unit)


def geometry(page: PageText) -> Geometry:
    body = [s for s in page.segments if len(s.tokens) >= 5]
    if len(body) < 3:
        return Geometry(0.0, page.width, page.line_height, page.width)
    # justified lines run from margin to margin; labels, last lines of paragraphs and
    # first lines (indented) fall short of one side or the other
    xs, ends = sorted(s.x0 for s in body), sorted(s.x1 for s in body)
    cut = len(body) // 20
    return Geometry(xs[cut], ends[-1 - cut], page.line_height, page.width)



_KEEP = set("-&/")
_EDGE_JUNK = "_~`'\"“”‘’|.,:;ˆ^*•·"


def trim(text: str) -> str:
    """Stray marks dropped: words without a letter or digit ("|", "ˆ", "⁄⁄¬"), and
    punctuation at the line's ends ("GIẤY XÁC NHẬN |", "_TỈNH", "Trần Văn Ba.")."""
    words = [w for w in text.split() if any(c.isalnum() for c in w) or set(w) <= _KEEP]
    while words and not any(c.isalnum() for c in words[-1]):
        words.pop()
    while words and not any(c.isalnum() for c in words[0]):
        words.pop(0)
    if words:
        words[0] = words[0].lstrip(_EDGE_JUNK + "-—")
        last = words[-1]
        words[-1] = last if last.endswith(")") and "(" in " ".join(words) else last.rstrip(_EDGE_JUNK)
    return " ".join(w for w in words if w)


def split_at_motto(s: Segment) -> list[Segment]:
    """A left-column line that OCR ran into the motto ("UBND XÃ X CỘNG HÒA XÃ HỘI…"),
    cut where the motto begins."""
    words = [vp.fold(t.text) for t in s.tokens]
    for i in range(1, len(words) - 1):
        if (words[i], words[i + 1]) in (("CONG", "HOA"), ("DOC", "LAP")):
            return [Segment(s.tokens[:i], s.page), Segment(s.tokens[i:], s.page)]
    return [s]


def sure_date_parts(s: Segment) -> frozenset[str]:
    """Day ("d"), month ("m"), year ("y") of a date line read surely, as a possible value."""
    words = [vp.fold(t.text).strip(",.:") for t in s.tokens]
    limits = {"d": (1, 31), "m": (1, 12), "y": (1900, 2100)}
    sure = set()
    for i in range(1, len(words)):
        part = {"NGAY": "d", "THANG": "m", "NAM": "y"}.get(words[i - 1])
        token = s.tokens[i].text.strip(",.:;")
        if (part and token.isdigit() and s.tokens[i].confidence >= SURE
                and limits[part][0] <= int(token) <= limits[part][1]):
            sure.add(part)
    return frozenset(sure)


def rows(segments: list[Segment], unit: float, gap: float = 2.5) -> list[Segment]:
    """The segments of one column, top to bottom, pieces of one line joined again when
    they are near enough (OCR leaves a wide gap where it dropped a " - ")."""
    out: list[Segment] = []
    for s in sorted(segments, key=lambda s: (s.cy, s.x0)):
        for i, r in enumerate(out):
            overlap = min(r.y1, s.y1) - max(r.y0, s.y0)
            if overlap > 0.5 * min(r.y1 - r.y0, s.y1 - s.y0) and (
                    0 <= s.x0 - r.x1 <= gap * unit or 0 <= r.x0 - s.x1 <= gap * unit):
                out[i] = Segment(tuple(sorted(r.tokens + s.tokens, key=lambda t: t.box[0])), r.page)
                break
        else:
            out.append(s)
    return sorted(out, key=lambda s: s.cy)


def digits_confidence(s: Segment) -> float:
    """How surely the numbers of a "Số: …" or "…, ngày … tháng … năm …" line were read:
    the least confidence of the words that hold, or stand where should be, digits."""
    words = [vp.fold(t.text) for t in s.tokens]
    picked = [t.confidence for i, t in enumerate(s.tokens)
              if any(c.isdigit() for c in t.text)
              or (i > 0 and words[i - 1].strip(",.:") in ("NGAY", "THANG", "NAM"))]
    return min(picked, default=1.0)


def noise(s: Segment, unit: float) -> bool:
    """Specks read as text: stray single marks, or print far smaller than the text
    (a QR code's modules)."""
    return all(sum(c.isalnum() for c in t.text) <= 1 for t in s.tokens) or s.height < 0.55 * unit


def junk(s: Segment) -> bool:
    """A signature or a seal read as text (near a signature): unsure, or stray marks."""
    return s.confidence < 0.35 or all(sum(c.isalnum() for c in t.text) <= 1 for t in s.tokens)


def motto(s: Segment) -> bool:
    folded = vp.fold(s.text)
    return any(k in folded for k in MOTTO)


def note(s: Segment) -> bool:
    """"(Ký, ghi rõ họ tên)" and the like, under a position."""
    words = [w for w in s.text.split() if any(c.isalnum() or c in "()" for c in w)]
    return bool(NOTE.match(" ".join(words)))


def seal_like(s: Segment) -> bool:
    """What lies between a position and a name: a signature or a seal, read as a few
    unsure or very short words."""
    return s.confidence < 0.6 or (len(s.tokens) <= 2 and vp.letters(trim(s.text)) <= 4)


def position_like(s: Segment) -> bool:
    text = trim(s.text)
    return vp.letters(text) >= 3 and vp.upper_share(text) >= 0.7 and not motto(s)


def name_like(s: Segment) -> bool:
    """"Trần Đình Bẩy": two to seven capitalised words, no digits, not all capitals."""
    words = trim(s.text).split()
    if not 2 <= len(words) <= 7 or any(c.isdigit() for c in s.text):
        return False
    return (all(w[:1].isupper() and w.isalpha() for w in words)
            and vp.upper_share(" ".join(words)) < 0.7 and s.confidence >= 0.4)
