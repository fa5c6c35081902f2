"""Parsers for the strings of a Vietnamese administrative document, tolerant of OCR noise.

Each function reads one string (a line, or a few lines joined) and knows nothing of the
page: `metadata.py` decides where to look. Matching runs on a folded copy of the text
(upper case, no marks, Đ→D; see `Folded`) so that "Sô:", "S6:" and "SỐ:" or "ngay 05 thang
1 nam 2020" all match, and what is returned is cut from the original, NFC text.
Rules follow Decree 30/2020/NĐ-CP (see /work/shared/spec/vn-rules.md).
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass

from .identifiers import DOSSIER_CODE

AUTHORITY_PREFIXES = ("TM.", "KT.", "Q.", "TL.", "TUQ.")

# Appendix III of Decree 30: type abbreviation -> type name (sentence case).
TYPE_ABBREVIATIONS = {
    "NQ": "Nghị quyết", "QĐ": "Quyết định", "CT": "Chỉ thị", "QC": "Quy chế",
    "QyĐ": "Quy định", "TC": "Thông cáo", "TB": "Thông báo", "HD": "Hướng dẫn",
    "CTr": "Chương trình", "KH": "Kế hoạch", "PA": "Phương án", "ĐA": "Đề án", "DA": "Dự án",
    "BC": "Báo cáo", "BB": "Biên bản", "TTr": "Tờ trình", "HĐ": "Hợp đồng", "CĐ": "Công điện",
    "BGN": "Bản ghi nhớ", "BTT": "Bản thỏa thuận", "GUQ": "Giấy ủy quyền", "GM": "Giấy mời",
    "GGT": "Giấy giới thiệu", "GNP": "Giấy nghỉ phép", "PG": "Phiếu gửi", "PC": "Phiếu chuyển",
    "PB": "Phiếu báo", "SY": "Bản sao y", "SL": "Bản sao lục", "TrS": "Bản trích sao",
    # in common use beside the appendix
    "GXN": "Giấy xác nhận", "GCN": "Giấy chứng nhận", "GP": "Giấy phép",
}
# Type names printed as a document's title that have no abbreviation of their own:
# letters, citizens' forms, the one-stop counter's receipt (Circular 01/2018/TT-VPCP).
OTHER_TYPE_NAMES = (
    "Công văn", "Thư công", "Công thư", "Đơn", "Đơn đề nghị", "Đơn xin", "Đơn kiến nghị",
    "Đơn khiếu nại", "Đơn tố cáo", "Đơn đăng ký", "Đơn yêu cầu", "Tờ khai", "Bản khai",
    "Giấy đề nghị", "Phiếu đề nghị", "Bản cam kết", "Giấy cam kết", "Giấy biên nhận",
    "Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "Phiếu yêu cầu", "Phiếu kiểm soát quá trình "
    "giải quyết hồ sơ", "Thông tư", "Nghị định", "Luật", "Pháp lệnh", "Lệnh",
)
TYPE_NAMES = tuple(dict.fromkeys((*TYPE_ABBREVIATIONS.values(), *OTHER_TYPE_NAMES)))

# What OCR reads for a 0 or a 1 now and then (folded: upper case, no marks): "J2" is 12,
# "l5" 15, "O5" 05. An S may be a 5 or an 8 in italics: no telling, so it is no digit.
DIGITISH = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "L": "1",
                          "|": "1", "i": "1", "!": "1", "J": "1", "]": "1", "[": "1", "T": "1"})
_DASHES = str.maketrans({"–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-", "⁄": "/"})


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def squash(text: str) -> str:
    """NFC, one space between words, none at the ends."""
    return " ".join(nfc(text).split())


@functools.lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Upper case, no marks, đ→D: "Quyết định" → "QUYET DINH"."""
    return Folded.of(text).text


@dataclass(frozen=True)
class Folded:
    """`text` folded character by character (upper case, no marks, đ→D); `origin[i]` is
    where folded character i came from in `source` (NFC), with one sentinel at the end."""

    text: str
    source: str
    origin: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> "Folded":
        source = nfc(text).translate(_DASHES)
        out, origin = [], []
        for i, ch in enumerate(source):
            if ch in "đĐðÐ":  # OCR writes Đ as the Icelandic Ð now and then
                base = "D"
            else:
                base = "".join(c for c in unicodedata.normalize("NFD", ch)
                               if unicodedata.category(c) != "Mn").upper()
            if len(base) != 1:  # a lone mark folds to nothing; "ß" and the like stay
                base = "" if not base else ch
            if base:
                out.append(base)
                origin.append(i)
        origin.append(len(source))
        return cls("".join(out), source, tuple(origin))

    def cut(self, start: int, end: int) -> str:
        """The original text of the folded span [start, end)."""
        return self.source[self.origin[start]:self.origin[end]]


def upper_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(c.isupper() for c in letters) / len(letters) if letters else 0.0


def letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def sentence_case(text: str) -> str:
    text = squash(text).lower()
    return text[:1].upper() + text[1:]


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def digits(text: str) -> str:
    """OCR look-alikes of digits made digits: "l5" → "15", "O5" → "05"."""
    return text.translate(DIGITISH)


# ---------------------------------------------------------------- Số: 15/QĐ-UBND

_NUMBER = re.compile(
    r"^\W{0,3}[S5$][O0-9Q]?\s{0,2}[:;.,]?\s*"  # Số: · S6: · Sô : · So. · 5ố:
    r"(?P<number>[0-9OIL|]{1,6})(?:\s*[/|\\]{1,2}\s*|(?=[A-Z]+\s*-))"  # "71UBND-ĐC": no slash
    r"(?P<symbol>[A-Z0-9&]+(?:\s*[-/]\s*[A-Z0-9&]+)*)")
_BY_FOLD: dict[str, list[str]] = {}
for _a in TYPE_ABBREVIATIONS:
    _BY_FOLD.setdefault(fold(_a), []).append(_a)
# HD/HĐ and DA/ĐA fold alike: only an unambiguous abbreviation is respelt
_SPELLING = {k: v[0] for k, v in _BY_FOLD.items() if len(v) == 1}


@dataclass(frozen=True)
class NumberSymbol:
    number: str
    symbol: str
    end: int  # where the match ends in the original text


def parse_number_symbol(text: str) -> NumberSymbol | None:
    """"Số: 15/QĐ-UBND" → ("15", "QĐ-UBND"); also "S6: 15 /QĐ-UBND", "Sô: 05/UBND- VP"."""
    f = Folded.of(text)
    m = _NUMBER.match(f.text)
    if not m:
        return None
    number = digits(m.group("number"))
    if not number.isdigit():
        return None
    raw = f.cut(*m.span("symbol"))
    return NumberSymbol(number, normalise_symbol(raw), f.origin[m.end("symbol")])


_NUMBER_LINE = re.compile(r"^\W{0,3}[S5$][O0-9Q]?\s{0,2}[:;.,]\s*\S{0,8}[/|\\-]")


def is_number_line(text: str) -> bool:
    """"Số: …/…" however its number reads ("Số: 3§4/GXN-UBND")."""
    return bool(_NUMBER_LINE.match(fold(text)))


def parse_number(text: str, *again: str) -> str | None:
    """The number of a "Số: …" line, voted over its readings (`vote()`), as printed
    ("05" keeps its zero)."""
    readings = [r.number for r in (parse_number_symbol(t) for t in (text, *again)) if r]
    if not readings:
        return None
    value = vote(readings, 0, 10 ** 7)
    if value is None:
        return None
    return next((r for r in readings if r.isdigit() and int(r) == value[0]), str(value[0]))


def normalise_symbol(raw: str) -> str:
    """"QD - UBND" → "QĐ-UBND": no spaces; the type abbreviation spelt as Appendix III
    spells it (QĐ, QyĐ, TTr); the rest upper case as printed."""
    raw = re.sub("Đ+", "Đ", "".join(raw.split()).translate(_DASHES).replace("Ð", "Đ"))
    parts = [p for p in raw.split("-") if p]
    out = []
    for i, part in enumerate(parts):
        if i == 0 and part not in TYPE_ABBREVIATIONS and fold(part) in _SPELLING:
            out.append(_SPELLING[fold(part)])
        else:
            out.append(part if part in TYPE_ABBREVIATIONS else part.upper())
    return "-".join(out)


def type_from_symbol(symbol: str | None) -> str | None:
    """The type name its ký hiệu's abbreviation stands for ("QĐ-UBND" → "Quyết định")."""
    if not symbol:
        return None
    return TYPE_ABBREVIATIONS.get(symbol.split("-")[0])


# ---------------------------------------------------------------- <place>, ngày 05 tháng 01 năm 2020

_D = r"[0-9ODQILJT|\]\[!]"
_NGAY = r"[NH]\s?G\s?A\s?[YV]"
_DATE = re.compile(
    rf"{_NGAY}\s*[:.,]?\s*(?P<d>\S(?: ?\S){{0,2}}?)\s*[,.]?\s*"
    rf"T\s?H\s?A\s?N\s?G\s*[:.,]?\s*(?P<m>\S(?: ?\S){{0,2}}?)\s*[,.]?\s*"
    rf"N\s?A\s?(?:M|RN|N)\s*[:.,]?\s*(?P<y>\S{{3,5}}?)(?![0-9])")


@dataclass(frozen=True)
class DateLine:
    date: dt.date
    place: str | None  # the words before ", ngày"
    start: int  # where "ngày" begins in the original text
    clean: bool = True  # every digit was read as a digit (no "J2", "2Š")


def parse_date(text: str, *again: str, keep: frozenset[str] = frozenset()) -> DateLine | None:
    """"Diên Lạc, ngày 5 tháng 01 năm 2023" → (2023-01-05, "Diên Lạc"). Days and months
    with or without their leading zero, marks missing, OCR's l/I/O for digits. `again`:
    the same line read again; day, month and year each go by `vote()`, except those
    named in `keep` ("d", "m", "y"), read surely the first time."""
    f = Folded.of(text)
    m = _DATE.search(f.text)
    others = [x for x in (_DATE.search(fold(a)) for a in again) if x is not None]
    if m is None and not others:
        return None
    clean = True
    values = []
    for part, low, high in (("d", 1, 31), ("m", 1, 12), ("y", 1900, 2100)):
        readings = [x for x in (m, *others) if x is not None]
        if part in keep and m is not None:
            readings = [m]
        value = vote([x.group(part).replace(" ", "") for x in readings], low, high)
        if value is None:
            return None
        values.append(value[0])
        clean = clean and value[1]
    try:
        date = dt.date(values[2], values[1], values[0])
    except ValueError:
        return None
    place = (squash(f.cut(0, m.start())).rstrip(" ,;.") or None) if m else date_line_place(text)
    return DateLine(date, place, f.origin[m.start()] if m else 0, clean)


def vote(readings: list[str], low: int, high: int) -> tuple[int, bool] | None:
    """A number in [low, high] from several readings of it, and whether it was read as
    digits: the value most readings in digits agree on (a tie gives None: no telling),
    else the first reading that is one through the look-alikes ("J2" → 12)."""
    clean = [int(r) for r in (x.strip(",.:;") for x in readings)
             if r.isdigit() and low <= int(r) <= high]
    if clean:
        counts = {v: clean.count(v) for v in clean}
        top = max(counts.values())
        winners = [v for v, c in counts.items() if c == top]
        return (winners[0], True) if len(winners) == 1 else None
    for raw in readings:
        raw = raw.strip(",.:;")
        mapped = digits(raw)
        if re.fullmatch(_D + "+", raw) and mapped.isdigit() and low <= int(mapped) <= high:
            return int(mapped), False
    return None


PLACE_DATE = re.compile(r"^\W{0,2}(?P<place>[^\W\d][^,;:]{1,40}?)\s*[,;.]\s*[NH]\s?G\s?A\s?[YV]\b"
                        r".{0,12}T\s?H\s?A\s?N\s?G")


def date_line_place(text: str) -> str | None:
    """The place of a "<place>, ngày … tháng …" line, however its digits read."""
    f = Folded.of(text)
    m = PLACE_DATE.match(f.text)
    return squash(f.cut(*m.span("place"))) if m else None


def is_date_line(text: str) -> bool:
    """"<place>, ngày …": the issue line of Decree 30, not a date inside a sentence."""
    return date_line_place(text) is not None


# ---------------------------------------------------------------- signer block

_AUTHORITY = re.compile(r"^\W{0,2}(TUQ|TM|KT|TL|Q)\s?[.,:·]\s*|^\W{0,2}(TUQ|TM|KT|TL|Q)\s+(?=\S)")


def split_authority(line: str) -> tuple[str | None, str]:
    """"KT. CHỦ TỊCH" → ("KT.", "CHỦ TỊCH"); "TUQ.CHỦ TỊCH" → ("TUQ.", "CHỦ TỊCH");
    a line without an authority prefix → (None, line)."""
    f = Folded.of(line)
    m = _AUTHORITY.match(f.text)
    if not m:
        return None, squash(line)
    prefix = (m.group(1) or m.group(2)) + "."
    return prefix, squash(f.cut(m.end(), len(f.text)))


def signer_title(lines: list[str]) -> str | None:
    """The position from a signer block's lines ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH",
    "PHÓ CHỦ TỊCH" → "PHÓ CHỦ TỊCH"): its last line without an authority prefix. Lines
    with TM./KT./TL./TUQ. say on whose behalf the person signs and are not the title: a
    block that ends on one (its position line lost under a seal) has no title."""
    lines = [squash(x) for x in lines if squash(x)]
    if not lines:
        return None
    prefix, title = split_authority(lines[-1])
    if prefix in ("TM.", "KT.", "TL.", "TUQ."):
        return None  # the position line under it was not read: no title rather than the body's name
    if len(lines) >= 2 and split_authority(lines[-2])[0] is None and (
            lines[-2].endswith(("-", "VÀ", "và")) or title.startswith(("-", "VÀ ", "và "))):
        title = f"{lines[-2]} {title}"  # one position wrapped over two lines
    return title or None


# ---------------------------------------------------------------- V/v (công văn)

_VV = re.compile(r"^\W{0,2}(?:V\s?[/|\\1IL]\s?[VY]|VV)\s*[:.,]?\s*(?=\w)")


def parse_vv(text: str) -> str | None:
    """"V/v trả lời đơn" (or "V/V", "Vlv", "V/ y" as OCR reads it) → "V/v trả lời đơn"."""
    f = Folded.of(text)
    m = _VV.match(f.text)
    if not m:
        return None
    rest = squash(f.cut(m.end(), len(f.text)))
    return f"V/v {rest}" if rest else None


# ---------------------------------------------------------------- identifiers

_CODE_TAIL = re.compile(r"-\s?(?P<date>(?:[0-9OIL|]\s?){5}[0-9OIL|])\s?-\s?"
                        r"(?P<run>[A-Z]{0,2}[0-9OIL|]{4,})(?![0-9A-Z])")
_CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.|")


def dossier_codes(text: str) -> list[str]:
    """Dossier codes (mã hồ sơ, `[A-Z0-9.]+-YYMMDD-XXXX`) in running text, read through
    OCR's usual damage: spaces inside ("H40. 1 14.12-…"), I/l/O for digits."""
    f = Folded.of(text)
    found: list[str] = []
    for m in _CODE_TAIL.finditer(f.text):
        head = _walk_left(f.text, m.start())
        if not head:
            continue
        parts = [_code_part(p) for p in head.split(".")]
        if not all(parts):
            continue
        run = m.group("run")
        letters_ = len(run) - len(run.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        code = (".".join(parts) + "-" + digits(m.group("date").replace(" ", "")) + "-"
                + run[:letters_] + digits(run[letters_:]))
        if DOSSIER_CODE.fullmatch(code) and code not in found:
            found.append(code)
    return found


def _walk_left(text: str, end: int) -> str:
    """The agency part of a code that ends at `end`: code characters, and single spaces
    between digits and dots (OCR splits codes), stopping at a label or a bracket."""
    i = end
    while i > 0:
        ch = text[i - 1]
        if ch in _CODE_CHARS:
            i -= 1
        elif ch == " " and i >= 2 and text[i - 2] in "0123456789.|IL" and text[i] in "0123456789.|IL" \
                and end - i < 24:
            i -= 1
        else:
            break
    return text[i:end].replace(" ", "").strip(".")


def _code_part(part: str) -> str:
    """One dot-separated piece of a code's agency part: digits, maybe after one letter
    (the province's letter, "H27"); OCR's I/l/O inside are digits."""
    if not part:
        return ""
    head, tail = part[0], digits(part[1:])
    if head in "|":
        head = "1"
    if tail and not tail.isalnum():
        return ""
    return head + tail


_ID_LABEL = re.compile(
    r"(?:DINH\s?DANH(?:\s?CA\s?NHAN)?|DANH\s?CA\s?NHAN|^\W{0,2}NHAN"
    r"|C\s?C\s?C\s?D(?:\s?/\s?CMND)?(?:\s?S[O0])?"
    r"|CAN\s?CUOC(?:\s?CONG\s?DAN)?(?:\s?S[O0])?|SO\s?DINH\s?DANH)"
    r"\s*[:;.,]?\s*(?P<id>[0-9](?:\s?[0-9OILJ|\]]){11})(?![0-9])", re.MULTILINE)


def citizen_ids(text: str) -> list[str]:
    """12-digit personal identification numbers printed after their label ("Số định danh
    cá nhân:", "CCCD số:", "Căn cước công dân số:"; "…danh cá nhân:" when OCR misread the
    rest, and "nhân:" opening a line the label was broken onto), in order, no repeats."""
    found: list[str] = []
    for m in _ID_LABEL.finditer(fold(text)):
        raw = m.group("id").replace(" ", "")
        number = digits(raw)
        if (len(number) == 12 and number.isdigit() and sum(c.isdigit() for c in raw) >= 10
                and number not in found):
            found.append(number)
    return found


@dataclass(frozen=True)
class Payload:
    dossier_codes: tuple[str, ...]
    citizen_ids: tuple[str, ...]


_ID_KEYS = {"SODINHDANH", "DINHDANH", "CCCD", "SOCCCD", "SODDCN", "CANCUOC"}
_CODE_KEYS = {"MAHS", "MAHOSO", "HOSO"}


def parse_payload(payload: str) -> Payload:
    """A QR or barcode's text: `MaHS:<code>;MaTTHC:<proc>;SoDinhDanh:<id>` (Circular
    01/2023), a bare dossier code (separator sheets), or any text holding codes."""
    codes: list[str] = []
    ids: list[str] = []
    for part in re.split(r"[;|\n\r&,]+", payload):
        key, sep, value = part.partition(":")
        if not sep:
            key, sep, value = part.partition("=")
        key, value = fold(key).replace(" ", "").replace("_", ""), value.strip()
        if sep and key in _ID_KEYS and re.fullmatch(r"\d{12}", value):
            ids.append(value)
        elif sep and key in _CODE_KEYS and DOSSIER_CODE.fullmatch(value):
            codes.append(value)
    for m in DOSSIER_CODE.finditer(payload):
        codes.append(m.group())
    return Payload(tuple(dict.fromkeys(codes)), tuple(dict.fromkeys(ids)))


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def same_code(read: str, known: str) -> bool:
    """A code read from text is `known` misread: same date and running number, and an
    agency part within two edits of it (a dropped or doubled digit, a look-alike) or cut
    short at its start."""
    agency_r, _, tail_r = read.partition("-")
    agency_k, _, tail_k = known.partition("-")
    return read == known or (tail_r == tail_k and (
        edit_distance(agency_r, agency_k) <= 2 or agency_k.endswith("." + agency_r)))


def same_id(read: str, known: str) -> bool:
    """A 12-digit number read from text is `known` with one digit misread."""
    return len(read) == len(known) and sum(a != b for a, b in zip(read, known)) <= 1


def dates_differ(a: str, b: str) -> bool:
    """Two readings of a date line that give two dates."""
    x, y = parse_date(a), parse_date(b)
    return x is not None and y is not None and x.date != y.date


def numbers_differ(a: str, b: str) -> bool:
    """Two readings of a "Số: …" line that give two numbers."""
    x, y = parse_number_symbol(a), parse_number_symbol(b)
    return x is not None and y is not None and x.number != y.number
