"""The first page's header: agency, number and ký hiệu, place and date, type and trích yếu.

Decree 30: the issuing agency (under its parent) and "Số: …" (and a letter's "V/v …") in
the left column, the motto and "<place>, ngày …" in the right one, the type name and the
trích yếu centred below; a citizen's form has the motto and the title only.
"""
from __future__ import annotations

from . import vnparse as vp
from .layout import (LABEL, NOTE, TO, geometry, junk, motto, noise, rows, split_at_motto,
                     trim)
from .textpage import PageText, Segment

# First words of an agency's name: a new one starts the next level of the header.
ORG_STARTS = tuple(f"{w} " for w in (
    "UY BAN", "UBND", "HOI DONG", "HDND", "BO", "SO", "PHONG", "CUC", "CHI CUC", "TONG CUC",
    "VU", "VIEN", "TRUNG TAM", "BO PHAN", "VAN PHONG", "BAN", "CONG AN", "TRUONG", "BENH VIEN",
    "TOA AN", "KHO BAC", "CHI NHANH", "DANG UY", "DANG BO", "DOAN", "HOI", "MAT TRAN",
    "BAO HIEM", "CONG TY", "TONG CONG TY", "THANH TRA", "NGAN HANG", "HOC VIEN", "DAI HOC",
    "BO CHI HUY", "BAN CHI HUY", "DOI", "TRAM", "CHI BO", "LIEN DOAN"))


class Header:
    """The first page's header, title and trích yếu."""

    def __init__(self, page: PageText, reader):
        self.page = page
        self.reader = reader
        self.meta = reader.meta
        self.geo = geometry(page)

    def read(self) -> None:
        page, geo = self.page, self.geo
        segments = [piece for s in page.segments if not noise(s, geo.unit)
                    for piece in split_at_motto(s)]
        mottos = [s for s in segments if motto(s) and s.y0 < 0.35 * page.height]
        title, end = self._title(segments, mottos)
        head = [s for s in segments if s.y1 <= end + 0.5 * geo.unit and s not in mottos]
        left = rows([s for s in head if s.cx < geo.centre and s.x1 < geo.centre + 0.15 * page.width],
                    geo.unit)
        self._date(head)
        number_at = self._number(left)
        vv_at = self._vv(left, number_at)
        stop = min((x for x in (number_at, vv_at) if x is not None), default=len(left))
        self._agency(left[:stop])
        self._type_and_subject(title, segments)

    def _title(self, segments: list[Segment], mottos: list[Segment]) -> tuple[list[Segment], float]:
        """The title's lines (centred, upper case, below the motto), and where the header
        ends: at the title, or at the first line of the body (a công văn has no title)."""
        geo = self.geo
        below = max((s.y1 for s in mottos), default=0.0) - 0.5 * geo.unit
        for s in segments:
            if s.y0 < below or s in mottos or junk(s) or vp.letters(s.text) < 2:
                continue
            if s.y0 > 0.55 * self.page.height:
                break
            if vp.is_date_line(s.text) and geo.right_column(s):
                continue
            if geo.centred(s) and vp.upper_share(trim(s.text)) >= 0.75:
                return self._title_lines(segments, s), s.y0
            if self._body(s):
                return [], s.y0
        return [], 0.45 * self.page.height

    def _body(self, s: Segment) -> bool:
        return vp.fold(s.text).startswith(TO) or (
            s.width > 0.6 * (self.geo.right - self.geo.left) and vp.upper_share(s.text) < 0.6)

    def _title_lines(self, segments: list[Segment], first: Segment) -> list[Segment]:
        lines, previous = [first], first
        for s in segments:
            if s.y0 <= previous.y0 or junk(s):
                continue
            if (s.y0 - previous.y1 <= 0.8 * self.geo.unit and self.geo.centred(s)
                    and vp.upper_share(trim(s.text)) >= 0.75 and not LABEL.match(s.text)):
                lines.append(s)
                previous = s
            else:
                break
        return lines

    def _date(self, head: list[Segment]) -> None:
        ordered = sorted(head, key=lambda s: (not self.geo.right_column(s),
                                              not vp.is_date_line(s.text)))
        for s in ordered:
            if (vp.is_date_line(s.text) or vp.parse_date(s.text)) and self.reader.set_date(s):
                return

    def _number(self, left: list[Segment]) -> int | None:
        """Number and ký hiệu from the "Số: …" line; returns where that line is."""
        for i, s in enumerate(left):
            if not (vp.parse_number_symbol(s.text) or vp.is_number_line(s.text)):
                continue
            number, confidence, texts = self.reader.readings(s, vp.parse_number, vp.numbers_differ)
            self.meta.set("number", number, confidence)
            symbol = next((p.symbol for p in map(vp.parse_number_symbol, texts) if p), None)
            self.meta.set("symbol", symbol, s.confidence if number else 0.5 * s.confidence)
            return i
        return None

    def _vv(self, left: list[Segment], number_at: int | None) -> int | None:
        start = number_at + 1 if number_at is not None else 0
        for i in range(start, len(left)):
            if not vp.parse_vv(left[i].text):
                continue
            lines, previous = [left[i]], left[i]
            for s in left[i + 1:]:
                if s.y0 - previous.y1 > 0.9 * self.geo.unit or vp.fold(s.text).startswith(TO):
                    break
                lines.append(s)
                previous = s
            text = vp.parse_vv(" ".join(trim(s.text) for s in lines))
            rest = self.reader.respell(text[4:], lines, "text")
            self.meta.set("subject", "V/v " + rest, min(s.confidence for s in lines))
            return i
        return None

    def _agency(self, lines: list[Segment]) -> None:
        lines = [(s, self.reader.respell(trim(s.text), [s], "agency")) for s in lines
                 if vp.upper_share(trim(s.text)) >= 0.8 and vp.letters(trim(s.text)) >= 2
                 and s.confidence >= 0.2]
        units: list[list[tuple[Segment, str]]] = []
        for s, text in lines:
            if not units or (vp.fold(text) + " ").startswith(ORG_STARTS):
                units.append([])
            units[-1].append((s, text))
        if units:
            agency = units[-1]
            text = " ".join(text for _, text in agency)
            self.meta.set("agency", text.upper(), min(s.confidence for s, _ in agency))

    def _type_and_subject(self, title: list[Segment], segments: list[Segment]) -> None:
        meta = self.meta
        if title:
            text = self.reader.respell(" ".join(trim(s.text) for s in title), title)
            name, quality = type_name(text)
            meta.set("doc_type", name, quality * min(s.confidence for s in title))
            if meta.subject is None:
                self._subject(title[-1], segments)
        elif meta.subject is not None and meta.subject.startswith("V/v"):
            meta.set("doc_type", "Công văn", meta.confidence.get("subject", 0.9))
        elif meta.symbol:
            # Decree 30: a ký hiệu begins with the type's abbreviation; a công văn's has none
            named = vp.type_from_symbol(meta.symbol)
            meta.set("doc_type", named or "Công văn", 0.7 * meta.confidence["symbol"])

    def _subject(self, title: Segment, segments: list[Segment]) -> None:
        lines, previous = [], title
        for s in segments:
            if s.y0 <= previous.y0 + 0.3 * self.geo.unit or junk(s):
                continue
            text = trim(s.text)
            if (s.y0 - previous.y1 > 0.9 * self.geo.unit or not self.geo.centred(s)
                    or vp.upper_share(text) >= 0.75 or LABEL.match(text) or NOTE.match(text)
                    or vp.fold(text).startswith(TO)):
                break
            lines.append(s)
            previous = s
        if lines:
            text = self.reader.respell(" ".join(trim(s.text) for s in lines), lines, "text")
            self.meta.set("subject", vp.capitalise(text), min(s.confidence for s in lines))



def type_name(title: str) -> tuple[str, float]:
    """The document type as the contract spells it, from its printed title."""
    folded = " ".join(vp.fold(title).split())
    best: tuple[str, float] | None = None
    for name in vp.TYPE_NAMES:
        target = vp.fold(name)
        if folded == target:
            return name, 1.0
        if folded.startswith(target + " ") and (best is None or len(name) > len(best[0])):
            rest = title.split()[len(name.split()):]
            best = (name + (" " + " ".join(rest).lower() if rest else ""), 0.9)
    if best:
        return best
    for name in vp.TYPE_NAMES:
        target = vp.fold(name)
        if len(target) >= 6 and vp.edit_distance(folded, target) <= max(1, len(target) // 10):
            return name, 0.85
    return vp.sentence_case(title), 0.7
