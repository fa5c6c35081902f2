"""Realistic Vietnamese content: places, people, signers, identifiers, dates.

Everything is drawn from a caller's seeded `random.Random`, so a seed gives the same
dossier every time. All strings are NFC. The documents are built in `procedures.py`
(receipt, citizen's form) and `results.py` (the issued result), on the model of
`documents.py`; this module holds the data and the small generators.
"""
from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass

# --------------------------------------------------------------------------- places


@dataclass(frozen=True)
class Commune:
    province: str  # "Khánh Hòa"
    province_kind: str  # "tỉnh" | "thành phố"
    province_code: str  # letter + 2 digits, as in dossier codes ("H27")
    cccd: str  # 3-digit province code at the start of citizen IDs
    district: str  # "Diên Khánh"
    district_kind: str  # "huyện" | "thị xã" | "thành phố" | "quận"
    kind: str  # "xã" | "phường" | "thị trấn"
    name: str  # "Diên Lạc"
    unit: int  # running number of the commune, used in unit codes
    district_no: int
    villages: tuple[str, ...]

    def full(self, kind: str | None = None) -> str:
        return f"{kind or self.kind} {self.name}"

    @property
    def address_tail(self) -> str:
        return f"{self.kind} {self.name}, {self.district_kind} {self.district}, {self.province_kind} {self.province}"

    @property
    def address_tail_2025(self) -> str:
        """After the 2025 reform there is no district level."""
        return f"{self.kind} {self.name}, {self.province_kind} {self.province}"


# (province, kind, code, cccd, [(district kind, district, [(commune kind, commune, villages)])])
_GAZETTEER = [
    ("Khánh Hòa", "tỉnh", "H27", "056", [
        ("huyện", "Diên Khánh", [("xã", "Diên Lạc", ("thôn Phú Ân Nam 1", "thôn Phú Ân Nam 2", "thôn Quang Thạnh")),
                                 ("xã", "Diên Phú", ("thôn Phú Khánh Thượng", "thôn Phú Khánh Hạ")),
                                 ("thị trấn", "Diên Khánh", ("tổ dân phố Phú Lộc Tây", "tổ dân phố Phú Lộc Đông"))]),
        ("huyện", "Cam Lâm", [("xã", "Cam Hải Tây", ("thôn Tân Hải", "thôn Văn Thủy 1")),
                              ("xã", "Suối Tân", ("thôn Cây Sung", "thôn Tân Xương 1"))]),
        ("thị xã", "Ninh Hòa", [("phường", "Ninh Hiệp", ("tổ dân phố 3", "tổ dân phố 7")),
                                ("xã", "Ninh Xuân", ("thôn Tân Phong", "thôn Phước Lâm"))])]),
    ("Quảng Nam", "tỉnh", "H49", "049", [
        ("thị xã", "Điện Bàn", [("phường", "Vĩnh Điện", ("khối phố 2", "khối phố 5")),
                                ("xã", "Điện Thắng Bắc", ("thôn Thanh Quýt 1", "thôn Bồ Mưng 2"))]),
        ("huyện", "Duy Xuyên", [("xã", "Duy Hải", ("thôn Trung Phường", "thôn Hà Quảng")),
                                ("thị trấn", "Nam Phước", ("khối phố Long Xuyên 1", "khối phố Mỹ Hòa"))])]),
    ("Nghệ An", "tỉnh", "H40", "040", [
        ("huyện", "Nghi Lộc", [("xã", "Nghi Trường", ("xóm Trường Đông", "xóm Trường Tiến")),
                               ("xã", "Nghi Xuân", ("xóm Xuân Hòa", "xóm Xuân Lâm"))]),
        ("huyện", "Quỳnh Lưu", [("xã", "Quỳnh Bảng", ("thôn Tân Thành", "thôn Hiếu Thuận")),
                                ("thị trấn", "Cầu Giát", ("khối 3", "khối 6"))])]),
    ("Thái Bình", "tỉnh", "H56", "034", [
        ("huyện", "Vũ Thư", [("xã", "Vũ Hội", ("thôn Đồng Tâm", "thôn Hội Khê")),
                             ("xã", "Tự Tân", ("thôn Cổ Dũng", "thôn Phúc Thắng"))]),
        ("huyện", "Kiến Xương", [("xã", "Quang Bình", ("thôn Lạc Thành Bắc", "thôn Thượng Phúc"))])]),
    ("Đắk Lắk", "tỉnh", "H15", "066", [
        ("huyện", "Krông Pắc", [("xã", "Ea Kly", ("thôn 4", "buôn Cư Kniêm")),
                                ("thị trấn", "Phước An", ("tổ dân phố 2", "tổ dân phố 9"))]),
        ("huyện", "Krông Ana", [("xã", "Quảng Điền", ("thôn 1", "thôn Quỳnh Tân"))])]),
    ("Hà Tĩnh", "tỉnh", "H30", "042", [
        ("huyện", "Đức Thọ", [("xã", "Tùng Ảnh", ("thôn Đông Thượng", "thôn Tùng Lâm")),
                              ("xã", "Đức Đồng", ("thôn Văn Giang", "thôn Đại Đồng"))]),
        ("huyện", "Hương Sơn", [("xã", "Sơn Kim 1", ("thôn Khe Tang", "thôn Sơn Bằng"))])]),
    ("Cần Thơ", "thành phố", "H13", "092", [
        ("quận", "Ninh Kiều", [("phường", "Xuân Khánh", ("khu vực 2", "khu vực 4")),
                               ("phường", "An Hòa", ("khu vực 5", "khu vực 7"))]),
        ("huyện", "Phong Điền", [("xã", "Nhơn Ái", ("ấp Nhơn Lộc", "ấp Nhơn Bình"))])]),
    ("Bắc Ninh", "tỉnh", "H06", "027", [
        ("huyện", "Tiên Du", [("xã", "Phật Tích", ("thôn Ngọc Đoài", "thôn Hoài Trung")),
                              ("xã", "Liên Bão", ("thôn Đông Phù", "thôn Vĩnh Phục"))])]),
    ("Lâm Đồng", "tỉnh", "H36", "068", [
        ("thành phố", "Bảo Lộc", [("phường", "Lộc Phát", ("tổ dân phố 6", "tổ dân phố Tân Phát")),
                                  ("xã", "Đại Lào", ("thôn 3", "thôn 10"))])]),
]


def _communes() -> list[Commune]:
    out = []
    unit = 0
    for province, pkind, pcode, cccd, districts in _GAZETTEER:
        for dno, (dkind, district, communes) in enumerate(districts, start=1):
            for kind, name, villages in communes:
                unit += 1
                out.append(Commune(province, pkind, pcode, cccd, district, dkind, kind, name,
                                   unit, dno, villages))
    return out


COMMUNES = _communes()
REFORM = dt.date(2025, 7, 1)  # two-level local government: no more districts

# --------------------------------------------------------------------------- people

SURNAMES = (("Nguyễn", 30), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Huỳnh", 5), ("Phan", 4),
            ("Vũ", 4), ("Võ", 4), ("Đặng", 3), ("Bùi", 3), ("Đỗ", 3), ("Hồ", 2), ("Ngô", 2), ("Dương", 2),
            ("Lý", 1), ("Đinh", 2), ("Trương", 2), ("Lương", 1), ("Hà", 1))
MIDDLE_MALE = ("Văn", "Văn", "Văn", "Đình", "Hữu", "Minh", "Quốc", "Đức", "Công", "Xuân", "Thanh", "Ngọc", "Trọng")
MIDDLE_FEMALE = ("Thị", "Thị", "Thị", "Thị Thu", "Thị Thanh", "Ngọc", "Thị Kim", "Thị Mỹ", "Thanh", "Thị Hồng")
GIVEN_MALE = ("Bẩy", "Dũng", "Hùng", "Tuấn", "Khải", "Luận", "Nghĩa", "Đức", "Hải", "Sơn", "Lộc", "Thắng",
              "Quý", "Tường", "Hưng", "Phước", "Cường", "Thành", "Trí", "Toản", "Vỹ", "Khánh", "Lực", "Thuận",
              "Đạt", "Hiếu", "Lãm", "Sỹ", "Quỳnh", "Tạo")
GIVEN_FEMALE = ("Hường", "Phượng", "Thủy", "Quỳnh", "Ánh", "Yến", "Hằng", "Nguyệt", "Loan", "Trinh", "Hạnh",
                "Liễu", "Nhung", "Thắm", "Huệ", "Diễm", "Ngọc", "Lài", "Hiền", "Vân", "Dung", "Tuyết", "Mỹ",
                "Oanh", "Xuân", "Thảo", "Điệp")


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


@dataclass(frozen=True)
class Person:
    name: str
    male: bool
    birth: dt.date
    citizen_id: str
    address: str  # "thôn Phú Ân Nam 2, xã Diên Lạc, huyện Diên Khánh, tỉnh Khánh Hòa"
    phone: str

    @property
    def honorific(self) -> str:
        return "ông" if self.male else "bà"

    @property
    def gender(self) -> str:
        return "Nam" if self.male else "Nữ"


def person_name(rng: random.Random, male: bool | None = None) -> tuple[str, bool]:
    if male is None:
        male = rng.random() < 0.5
    surname = rng.choices([s for s, _ in SURNAMES], weights=[w for _, w in SURNAMES])[0]
    middle = rng.choice(MIDDLE_MALE if male else MIDDLE_FEMALE)
    given = rng.choice(GIVEN_MALE if male else GIVEN_FEMALE)
    return nfc(f"{surname} {middle} {given}"), male


def citizen_id(rng: random.Random, cccd_province: str, male: bool, birth_year: int) -> str:
    """12 digits: province of birth (3), sex and century (1), birth year (2), random (6)."""
    century = 0 if birth_year < 2000 else 2
    sex = century + (0 if male else 1)
    return f"{cccd_province}{sex}{birth_year % 100:02d}{rng.randrange(10**6):06d}"


def phone(rng: random.Random) -> str:
    prefix = rng.choice(("090", "091", "093", "097", "098", "086", "035", "039", "077", "083"))
    return f"{prefix}{rng.randrange(10**7):07d}"


def person(rng: random.Random, commune: Commune, on: dt.date, *, male: bool | None = None,
           age: tuple[int, int] = (20, 85)) -> Person:
    name, male = person_name(rng, male)
    year = on.year - rng.randint(*age)
    birth = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
    cccd = commune.cccd if rng.random() < 0.85 else rng.choice(COMMUNES).cccd
    tail = commune.address_tail if on < REFORM else commune.address_tail_2025
    address = f"{rng.choice(commune.villages)}, {tail}"
    return Person(name, male, birth, citizen_id(rng, cccd, male, year), nfc(address), phone(rng))


# --------------------------------------------------------------------------- signers


@dataclass(frozen=True)
class Signer:
    lines: tuple[str, ...]  # as printed above the signature: authority prefixes, then position
    name: str

    @property
    def title(self) -> str:
        """The position without its authority prefix.

        The last line above the signature is the signer's own position; a prefixed line
        there ("Q. CHỦ TỊCH") loses its prefix. Lines before it ("TM. ỦY BAN NHÂN DÂN",
        "KT. CHỦ TỊCH") name on whose behalf the person signs and are not part of the title.
        """
        return strip_prefix(self.lines[-1])


AUTHORITY_PREFIXES = ("TM.", "KT.", "Q.", "TL.", "TUQ.")


def strip_prefix(line: str) -> str:
    for p in AUTHORITY_PREFIXES:
        if line.startswith(p + " "):
            return line[len(p) + 1:]
    return line


def committee_signer(rng: random.Random, *, collective: bool, on: dt.date) -> tuple[str, ...]:
    """Signer block lines for a commune People's Committee document.

    collective: issued by the committee (TM. ỦY BAN NHÂN DÂN) rather than by its chair.
    """
    tm = ("TM. ỦY BAN NHÂN DÂN",) if collective else ()
    r = rng.random()
    if r < 0.4:
        return tm + ("CHỦ TỊCH",)
    if r < 0.85:
        return tm + ("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")
    return tm + ("Q. CHỦ TỊCH",) if collective else ("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")


def office_signer(rng: random.Random, on: dt.date) -> tuple[str, ...]:
    """By order / by authorisation of the chair (letters and notices)."""
    if on >= REFORM and rng.random() < 0.5:
        return ("TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG")
    return ("TUQ. CHỦ TỊCH", rng.choice(("CÔNG CHỨC VĂN PHÒNG - THỐNG KÊ", "CÔNG CHỨC TƯ PHÁP - HỘ TỊCH")))


# --------------------------------------------------------------------------- identifiers and dates


def unit_code(commune: Commune) -> str:
    """The receiving unit's identifier in the classic dossier code form."""
    return f"000.{commune.unit:02d}.{commune.district_no + 10:02d}.{commune.province_code}"


def dossier_code(rng: random.Random, commune: Commune, received: dt.date, running: int) -> str:
    """`000.12.11.H27-230614-0001` before the 2025 reform, `H27.105.12-250815-010042` after."""
    ymd = received.strftime("%y%m%d")
    if received < REFORM:
        return f"{unit_code(commune)}-{ymd}-{running:04d}"
    channel = rng.choice(("01", "02", "03"))  # counter, online portal, post
    return f"{commune.province_code}.{100 + commune.unit:03d}.{commune.district_no + 10:02d}-{ymd}-{channel}{running:04d}"


def date_text(d: dt.date, place: str, *, padded: bool = True) -> str:
    """"Diên Lạc, ngày 05 tháng 01 năm 2020" (Decree 30 pads days < 10 and months 1-2)."""
    if padded:
        day = f"{d.day:02d}"
        month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    else:
        day, month = str(d.day), str(d.month)
    return nfc(f"{place}, ngày {day} tháng {month} năm {d.year}")


def doc_number(n: int) -> str:
    return f"{n:02d}"


def short_date(d: dt.date) -> str:
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def add_working_days(d: dt.date, days: int) -> dt.date:
    while days > 0:
        d += dt.timedelta(days=1)
        if d.weekday() < 5:
            days -= 1
    return d


def working_day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    while True:
        d = start + dt.timedelta(days=rng.randrange((end - start).days + 1))
        if d.weekday() < 5:
            return d


def cap(s: str) -> str:
    """Upper-case the first letter only ("ông Trần Văn A" -> "Ông Trần Văn A")."""
    return s[:1].upper() + s[1:]


_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _three(n: int, full: bool) -> list[str]:
    h, t, u = n // 100, n // 10 % 10, n % 10
    out = [_DIGITS[h], "trăm"] if full or h else []
    if t == 0:
        if u:
            out += (["linh"] if out else []) + [_DIGITS[u]]
    elif t == 1:
        out += ["mười"] + (["lăm"] if u == 5 else [_DIGITS[u]] if u else [])
    else:
        out += [_DIGITS[t], "mươi"] + (["mốt"] if u == 1 else ["lăm"] if u == 5 else [_DIGITS[u]] if u else [])
    return out


def in_words(n: int) -> str:
    """Vietnamese reading of an amount, as written after figures: 405000 -> "Bốn trăm linh năm nghìn đồng"."""
    if n == 0:
        return "Không đồng"
    words, started = [], False
    for value, unit in ((10**9, "tỷ"), (10**6, "triệu"), (10**3, "nghìn"), (1, "")):
        part = n // value % 1000 if value < 10**9 else n // value
        if part:
            words += _three(part, started) + ([unit] if unit else [])
            started = True
    text = " ".join(words) + " đồng"
    return text[0].upper() + text[1:]


def money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")
