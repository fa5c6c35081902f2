"""What goes on a document: the `Doc` model, its ground-truth metadata, and the case.

A `Case` is one dossier of one administrative procedure: who applied, where, when, its
dossier code. `procedures.py` turns a case into its three documents (the receipt, the
citizen's form, the issued result); `render.py` draws a `Doc`.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from . import content as C

# doc_type as the contract spells it (sentence case), per document kind
DOC_TYPES = {
    "quyet_dinh": "Quyết định",
    "thong_bao": "Thông báo",
    "giay_xac_nhan": "Giấy xác nhận",
    "cong_van": "Công văn",
    "don": "Đơn đề nghị",
    "to_khai": "Tờ khai",
    "receipt": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
}
TYPE_ABBREV = {"quyet_dinh": "QĐ", "thong_bao": "TB", "giay_xac_nhan": "GXN"}


@dataclass
class Block:
    """A paragraph. `runs` are (text, style) pieces; style is a font style name."""

    runs: list[tuple[str, str]]
    align: str = "justify"  # justify | left | center | right
    indent: float = 12.7  # first-line indent, mm
    size: float = 14  # pt
    before: float = 0.0  # space before, in lines
    hang: float = 0.0  # indent of the following lines, mm (lists)

    @property
    def text(self) -> str:
        return " ".join(t for t, _ in self.runs)


def para(text: str, style: str = "regular", **kw) -> Block:
    return Block([(text, style)], **kw)


def label(lbl: str, value: str, **kw) -> Block:
    """"Số định danh cá nhân: 0560…" — label regular, value regular (forms)."""
    kw.setdefault("align", "left")
    kw.setdefault("indent", 0)
    return Block([(lbl, "regular"), (value, "regular")] if value else [(lbl, "regular")], **kw)


def center(text: str, style: str = "bold", **kw) -> Block:
    kw.setdefault("indent", 0)
    return Block([(text, style)], align="center", **kw)


@dataclass
class Doc:
    kind: str  # a key of DOC_TYPES, or "separator"
    name: str  # file stem ("quyet_dinh")
    parent: tuple[str, ...] = ()  # header, regular upper case
    agency: tuple[str, ...] = ()  # header, bold upper case (the issuing agency)
    number: str | None = None
    symbol: str | None = None
    vv: str | None = None  # công văn: "V/v …" under the number
    place: str | None = None
    date: dt.date | None = None
    date_line: str | None = None  # "Diên Lạc, ngày 05 tháng 01 năm 2020"
    type_name: str | None = None  # "QUYẾT ĐỊNH"
    subject: str | None = None  # bold under the type name
    code_line: str | None = None  # receipts: "Mã hồ sơ: …"
    body: list[Block] = field(default_factory=list)
    recipients: tuple[str, ...] = ()
    signer: C.Signer | None = None
    signer_note: str | None = None  # "(Ký, ghi rõ họ tên)"
    co_signer: C.Signer | None = None  # receipts: the applicant signs on the left
    seal_text: str | None = None  # the agency's seal over the signature
    qr: str | None = None  # payload of a QR code at the top left
    dossier_codes: tuple[str, ...] = ()  # printed as text or in the QR
    citizen_ids: tuple[str, ...] = ()  # printed after their label
    pages_hint: int = 1  # the builder meant it to run over this many pages

    def metadata(self) -> dict:
        """Ground truth in the contract's `metadata` field forms."""
        subject = self.vv if self.kind == "cong_van" else self.subject
        return {
            "doc_type": DOC_TYPES.get(self.kind),
            "number": self.number,
            "symbol": self.symbol,
            "issued_date": self.date.isoformat() if self.date else None,
            "issued_place": self.place,
            "agency": " ".join(self.agency) or None,
            "subject": subject,
            "signer_name": self.signer.name if self.signer else None,
            "signer_title": self.signer.title if self.signer else None,
            "dossier_codes": list(dict.fromkeys(self.dossier_codes)),
            "citizen_ids": list(dict.fromkeys(self.citizen_ids)),
        }


@dataclass
class Case:
    """One dossier: a procedure applied for by a citizen at a commune."""

    rng: random.Random
    commune: C.Commune
    procedure: str
    received: dt.date
    code: str
    applicant: C.Person
    officer: str  # the clerk who received the dossier
    leader: str  # chair or deputy who signs the result
    office: str  # office clerk who signs by authorisation
    long_form: bool = False
    long_result: bool = False
    notes: dict = field(default_factory=dict)  # facts shared by the form and the result

    @property
    def reformed(self) -> bool:
        return self.received >= C.REFORM

    @property
    def place(self) -> str:
        return self.commune.name

    @property
    def committee(self) -> str:
        return C.nfc(f"ỦY BAN NHÂN DÂN {self.commune.kind.upper()} {self.commune.name.upper()}")

    @property
    def committee_lower(self) -> str:
        return f"Ủy ban nhân dân {self.commune.kind} {self.commune.name}"

    def header(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(parent lines, agency lines) of the commune committee's header."""
        c = self.commune
        agency = self.committee
        r = self.rng.random()
        if r < 0.3:
            return (), ("ỦY BAN NHÂN DÂN", C.nfc(f"{c.kind.upper()} {c.name.upper()}"))
        if self.reformed:
            return (C.nfc(f"ỦY BAN NHÂN DÂN {c.province_kind.upper()} {c.province.upper()}"),), (agency,)
        short = "UBND" if r < 0.65 else "ỦY BAN NHÂN DÂN"
        return (C.nfc(f"{short} {c.district_kind.upper()} {c.district.upper()}"),), (agency,)

    def seal_text(self) -> str:
        c = self.commune
        if self.reformed:
            where = f"{'T.' if c.province_kind == 'tỉnh' else 'TP.'} {c.province.upper()}"
        else:
            abbrev = {"huyện": "H.", "thị xã": "TX.", "thành phố": "TP.", "quận": "Q."}[c.district_kind]
            where = f"{abbrev} {c.district.upper()}"
        return C.nfc(f"{self.committee} * {where} *")

    def date_line(self, d: dt.date) -> str:
        return C.date_text(d, self.place, padded=self.rng.random() < 0.85)


def new_case(rng: random.Random, procedure: str, running: int, *,
             start: dt.date = dt.date(2019, 3, 1), end: dt.date = dt.date(2026, 5, 29)) -> Case:
    commune = rng.choice(C.COMMUNES)
    received = C.working_day(rng, start, end)
    code = C.dossier_code(rng, commune, received, running)
    age = (60, 92) if procedure == "tro_cap" else (20, 70)
    applicant = C.person(rng, commune, received, age=age)
    return Case(rng, commune, procedure, received, code, applicant,
                officer=C.person_name(rng)[0], leader=C.person_name(rng)[0], office=C.person_name(rng)[0])
