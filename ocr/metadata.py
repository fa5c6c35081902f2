"""The metadata of a Vietnamese administrative document, read from its pages' words and layout.

Decree 30/2020/NĐ-CP fixes where everything is (vn-rules.md): the header's left column
holds the parent and issuing agency, "Số: 15/QĐ-UBND" and, in a letter, "V/v …"; its
right column the national motto and "<place>, ngày … tháng … năm …"; the type name and
the trích yếu are centred below; the signer block is at the bottom right of the last page
(authority prefix, position, signature, name), "Nơi nhận" at the bottom left. Citizens'
forms have the motto and a title but no agency or number, and their date and signer at
the bottom; the one-stop counter's receipt is laid out like an issued document.

`extract()` finds each part by position, parses it (vnparse.py), reads the number and date
lines again closer up when they read badly (reread.py, when page images are at hand),
and respells what OCR misread by what the rest of the document, the dossier and the
administrative vocabulary agree on (lexicon.py). A field that is not found is None
(lists empty), never made up; each value found gets a confidence in 0..1.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from sohoa.cli.errors import SohoaError

from . import vnparse as vp
from .header import Header
from .layout import (SURE, digits_confidence, geometry, junk, name_like, noise, note,
                     position_like, rows, seal_like, sure_date_parts, trim)
from .lexicon import Vocabulary
from .textpage import Box, PageText, Segment

FIELDS = ("doc_type", "number", "symbol", "issued_date", "issued_place", "agency", "subject",
          "signer_name", "signer_title", "dossier_codes", "citizen_ids")
LIST_FIELDS = ("dossier_codes", "citizen_ids")
QR_CONFIDENCE = 0.99
# (page, box, attempt) -> the text in the box read again closer up, and its confidence
Reread = Callable[[int, Box, int], "tuple[str, float] | None"]


@dataclass
class Metadata:
    doc_type: str | None = None
    number: str | None = None
    symbol: str | None = None
    issued_date: str | None = None
    issued_place: str | None = None
    agency: str | None = None
    subject: str | None = None
    signer_name: str | None = None
    signer_title: str | None = None
    dossier_codes: list[str] = field(default_factory=list)
    citizen_ids: list[str] = field(default_factory=list)
    confidence: dict[str, float] = field(default_factory=dict)

    def fields(self) -> dict:
        """The contract's `metadata` object."""
        return {f: (list(getattr(self, f)) if f in LIST_FIELDS else getattr(self, f))
                for f in FIELDS}

    def confidences(self) -> dict[str, float]:
        """Each field found, with its confidence (0..1)."""
        return {f: round(self.confidence[f], 2) for f in FIELDS if f in self.confidence}

    def set(self, name: str, value, confidence: float) -> None:
        setattr(self, name, value)
        if value in (None, [], ""):
            setattr(self, name, [] if name in LIST_FIELDS else None)
            self.confidence.pop(name, None)
        else:
            self.confidence[name] = max(0.0, min(1.0, confidence))


@dataclass(frozen=True)
class Context:
    """What is known beside the document: its dossier's dossier codes and personal ID
    numbers from QR codes, and the words of its dossier's other documents."""

    codes: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    vocabulary: Vocabulary | None = None
    # or, worked out once for all the documents of a dossier: the words of every one of
    # them (this one included), and those merged with the administrative vocabulary
    dossier: Vocabulary | None = None
    agency: Vocabulary | None = None


def extract(pages: Sequence[PageText], context: Context = Context(),
            reread: Reread | None = None, own: Vocabulary | None = None) -> Metadata:
    """Read the metadata of one document from its pages (blank ones may be left out).
    `reread(page, box, attempt)`: the text in a box read again closer up (each attempt
    another way), if page images are at hand, with its confidence (0..1).
    `own`: vocabulary_of(pages), if it was worked out already."""
    return _Reader([p for p in pages if p.segments or p.codes], context, reread, own).read()


def vocabulary_of(pages: Sequence[PageText]) -> Vocabulary:
    """Every word and run of words of the pages, weighted by how surely OCR read it."""
    vocab = Vocabulary()
    for page in pages:
        for s in page.segments:
            vocab.add_text([(t.text, t.confidence) for t in s.tokens])
    return vocab


class Witnesses:
    """The other spellings a field's words are checked against: the document's own
    words (`own`), its dossier's (`dossier`, this document's included) and, for an
    agency's name, the administrative vocabulary with the dossier's (`agency`)."""

    def __init__(self, own: Vocabulary, dossier: Vocabulary, agency: Vocabulary | None = None):
        self.dossier = dossier
        self.title = Vocabulary.administrative().merged(own)
        self.agency = agency or Vocabulary.administrative().merged(dossier)

    def respell(self, text: str, segments: Sequence[Segment], kind: str = "title") -> str:
        """`text` (read from `segments`) with the marks OCR dropped or confused put back,
        as other witnesses spell the same words (lexicon.py), by `kind`:
        title  a position or type name: the administrative vocabulary and the document;
        agency the same and the dossier's other documents;
        text   a trích yếu: the vocabulary and the document, runs of two words or more;
        name   a person or place: the document and its dossier, where they name one."""
        own = vocabulary_of([PageText(0, 0, tuple(segments))])
        text = vp.squash(text)
        if kind == "title":
            return self.title.restore(text, exclude=own)
        if kind == "agency":
            return self.agency.restore(text, exclude=own)
        if kind == "text":
            return self.title.restore(text, min_run=2, exclude=own)
        respelt = self.dossier.restore(text, min_run=2, exclude=own, proper=True)
        if respelt == text:
            respelt = self.dossier.nearest_proper(text, exclude=own) or text
        return respelt


class _Reader:
    def __init__(self, pages: list[PageText], context: Context, reread: Reread | None,
                 own: Vocabulary | None = None):
        self.pages = pages
        self.context = context
        self.reread = reread
        self.meta = Metadata()
        self.own = own or vocabulary_of(pages)
        if context.dossier is not None:
            dossier = context.dossier
        else:
            dossier = self.own if context.vocabulary is None else self.own.merged(context.vocabulary)
        self.witnesses = Witnesses(self.own, dossier, context.agency)

    def read(self) -> Metadata:
        first = next((p for p in self.pages if p.segments), None)
        last = next((p for p in reversed(self.pages) if p.segments), None)
        if first is not None:
            Header(first, self).read()
        if last is not None:
            top = self._signer(last)
            if self.meta.issued_date is None:
                self._date_near_signer(last, top)
        self._identifiers()
        return self.meta

    # ------------------------------------------------------------ helpers

    def respell(self, text: str, segments: Sequence[Segment], kind: str = "title") -> str:
        return self.witnesses.respell(text, segments, kind)

    def second_look(self, s: Segment, attempt: int = 0) -> tuple[str, float] | None:
        if self.reread is None:
            return None
        try:
            return self.reread(s.page, (s.x0, s.y0, s.x1, s.y1), attempt)
        except (OSError, ValueError, RuntimeError, SohoaError):
            return None  # a second look is a bonus: without it the first reading stands

    def readings(self, s: Segment, parse, disagree) -> tuple[object, float, list[str]]:
        """`parse(*texts)` of the segment's text and, when that is unsure, of closer
        readings of it: a second one, and a third unless the second confirms the first.
        Returns the result, its confidence and the texts read."""
        first = parse(s.text)
        sure = first is not None and getattr(first, "clean", True)
        if sure and digits_confidence(s) >= SURE:
            return first, s.confidence, [s.text]
        texts, confidences = [s.text], [s.confidence]
        for attempt in range(2):
            again = self.second_look(s, attempt)
            if again is None:
                break
            texts.append(again[0])
            confidences.append(again[1])
            if attempt == 0 and sure and not disagree(s.text, again[0]):
                break  # the second reading confirms the first
        result = parse(*texts)
        if result is None:
            return None, 0.0, texts
        confidence = sum(confidences) / len(confidences)
        return result, confidence * (1.0 if getattr(result, "clean", True) else 0.7), texts

    def set_date(self, s: Segment) -> bool:
        """Issue date and place from a "<place>, ngày … tháng … năm …" segment."""
        keep = sure_date_parts(s)
        parsed, confidence, _ = self.readings(
            s, lambda *texts: vp.parse_date(*texts, keep=keep), vp.dates_differ)
        place = trim(vp.date_line_place(s.text) or (parsed.place if parsed else None) or "")
        if place:
            self.meta.set("issued_place", self.respell(place, [s], "name"),
                          s.confidence)
        if parsed is not None:
            self.meta.set("issued_date", parsed.date.isoformat(), confidence)
        return parsed is not None or place is not None

    # ------------------------------------------------------------ signer block

    def _signer(self, page: PageText) -> float | None:
        """Signer name and title from the bottom right of the last page; returns the
        top of the signer block (a form's issue date sits right above it)."""
        geo = geometry(page)
        column = [s for s in rows([s for s in page.segments if geo.right_column(s)], geo.unit)
                  if not junk(s)]
        name_at = None
        for i in range(len(column) - 1, -1, -1):
            s = column[i]
            if name_like(s) and any(
                    position_like(p) and geo.aligned(p, s.cx) and s.y0 - p.y1 < 0.3 * page.height
                    for p in column[:i]):
                name_at = i
                break
        i = (name_at if name_at is not None else len(column)) - 1
        axis = column[name_at].cx if name_at is not None else None
        positions: list[Segment] = []
        while i >= 0:
            s = column[i]
            if axis is None and position_like(s):
                axis = s.cx
            if axis is not None and geo.aligned(s, axis) and position_like(s):
                if positions and positions[0].y0 - s.y1 > 1.6 * geo.unit:
                    break
                positions.insert(0, s)
            elif positions:
                if geo.aligned(s, axis) or not seal_like(s):
                    break  # the line above the block: a date, the body
            elif not (note(s) or seal_like(s) or (axis is not None and not geo.aligned(s, axis))):
                break  # between the position and the name only notes, signature, seal
            i -= 1
        if not positions:
            return None
        title = vp.signer_title([trim(s.text) for s in positions])
        if title:
            title = self.respell(title, positions).upper()
            self.meta.set("signer_title", title, min(s.confidence for s in positions))
        if name_at is not None:
            name = column[name_at]
            self.meta.set("signer_name", self.respell(trim(name.text), [name], "name"),
                          name.confidence)
        return positions[0].y0

    def _date_near_signer(self, page: PageText, signer_top: float | None) -> None:
        """A form's "<place>, ngày …" line: right above its signer block, or anywhere in
        the right half of a page."""
        geo = geometry(page)
        candidates = [s for s in page.segments if s.cx > geo.centre and vp.is_date_line(s.text)]
        if signer_top is not None:
            candidates = [s for s in candidates if s.y1 <= signer_top + geo.unit][-1:] or candidates
        if not candidates:
            for other in self.pages:
                g = geometry(other)
                candidates += [s for s in other.segments if s.cx > g.centre and vp.is_date_line(s.text)]
        if candidates:
            self.set_date(candidates[-1])

    # ------------------------------------------------------------ identifiers

    def _identifiers(self) -> None:
        codes: list[str] = []
        ids: list[str] = []
        for page in self.pages:
            for payload in page.codes:
                parsed = vp.parse_payload(payload)
                codes += parsed.dossier_codes
                ids += parsed.citizen_ids
            text = " ".join(s.text for s in page.segments
                            if not noise(s, page.line_height) and s.confidence >= 0.2)
            for number in vp.citizen_ids(text):
                known = [k for k in (*ids, *self.context.ids) if vp.same_id(number, k)]
                ids.append(known[0] if known else number)
            for code in vp.dossier_codes(text):
                known = [k for k in (*codes, *self.context.codes) if vp.same_code(code, k)]
                codes.append(known[0] if known else code)
        qr = {c for page in self.pages for p in page.codes for c in
              (*vp.parse_payload(p).dossier_codes, *vp.parse_payload(p).citizen_ids)}
        known = set(self.context.codes) | set(self.context.ids) | qr
        for name, values in (("dossier_codes", codes), ("citizen_ids", ids)):
            values = list(dict.fromkeys(values))
            sure = [QR_CONFIDENCE if v in qr else 0.95 if v in known else 0.85 for v in values]
            self.meta.set(name, values, min(sure, default=0.0))
