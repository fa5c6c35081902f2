"""Putting back the marks OCR drops or confuses ("SUÔI TÂN", "KẾT QUÁ", "PHO CHU TỊCH").

A `Vocabulary` maps the folded form of a run of words (no marks, no spaces: "KETQUA")
to the spellings seen for it, each with a weight. Two sources feed it:

* the vocabulary of Vietnamese administration (`ADMINISTRATIVE`): agency and unit
  names, positions, the type names of Decree 30 Appendix III, the signers of forms;
* the document itself: a place or a person named in the header is usually named again
  in the body, where OCR read it in small print at other positions, so the spelling
  most of a document's occurrences agree on wins (`add_text`).

`restore()` rewrites a line run by run, longest match first, keeping the line's case
and leaving any run alone whose own spelling is as well attested as the best one.
"""
from __future__ import annotations

import functools
import re
from collections import defaultdict

from .vnparse import TYPE_NAMES, edit_distance, fold, nfc, upper_share

ADMINISTRATIVE = (
    # agencies and units
    "ỦY BAN NHÂN DÂN", "UỶ BAN NHÂN DÂN", "HỘI ĐỒNG NHÂN DÂN", "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ",
    "BỘ PHẬN MỘT CỬA", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG", "TRUNG TÂM HÀNH CHÍNH CÔNG",
    "VĂN PHÒNG", "VĂN PHÒNG HĐND VÀ UBND", "CÔNG AN", "PHÒNG", "SỞ", "BỘ", "CỤC", "CHI CỤC",
    "TỔNG CỤC", "BAN", "BAN CHỈ HUY QUÂN SỰ", "TỈNH", "THÀNH PHỐ", "HUYỆN", "QUẬN", "THỊ XÃ",
    "XÃ", "PHƯỜNG", "THỊ TRẤN", "ĐẶC KHU", "TRUNG ƯƠNG", "NHÂN DÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    # positions
    "CHỦ TỊCH", "PHÓ CHỦ TỊCH", "CHÁNH VĂN PHÒNG", "PHÓ CHÁNH VĂN PHÒNG", "TRƯỞNG PHÒNG",
    "PHÓ TRƯỞNG PHÒNG", "GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "TRƯỞNG BAN", "PHÓ TRƯỞNG BAN",
    "BỘ TRƯỞNG", "THỨ TRƯỞNG", "CỤC TRƯỞNG", "PHÓ CỤC TRƯỞNG", "CHI CỤC TRƯỞNG", "VỤ TRƯỞNG",
    "TRƯỞNG CÔNG AN", "CHỈ HUY TRƯỞNG", "BÍ THƯ", "PHÓ BÍ THƯ", "THỦ TRƯỞNG", "KẾ TOÁN TRƯỞNG",
    "CÔNG CHỨC", "VIÊN CHỨC", "CÁN BỘ", "CHUYÊN VIÊN", "VĂN THƯ",
    "VĂN PHÒNG - THỐNG KÊ", "TƯ PHÁP - HỘ TỊCH", "ĐỊA CHÍNH - XÂY DỰNG",
    "ĐỊA CHÍNH - NÔNG NGHIỆP - XÂY DỰNG VÀ MÔI TRƯỜNG", "ĐỊA CHÍNH - XÂY DỰNG - ĐÔ THỊ VÀ MÔI TRƯỜNG",
    "TÀI CHÍNH - KẾ TOÁN", "VĂN HÓA - XÃ HỘI", "VĂN HOÁ - XÃ HỘI", "NÔNG NGHIỆP VÀ MÔI TRƯỜNG",
    "KINH TẾ", "QUÂN SỰ",
    # who signs a form or a receipt
    "NGƯỜI LÀM ĐƠN", "NGƯỜI VIẾT ĐƠN", "NGƯỜI KHAI", "NGƯỜI ĐỀ NGHỊ", "NGƯỜI YÊU CẦU",
    "NGƯỜI CAM ĐOAN", "NGƯỜI CAM KẾT", "NGƯỜI ỦY QUYỀN", "NGƯỜI ĐƯỢC ỦY QUYỀN",
    "NGƯỜI TIẾP NHẬN HỒ SƠ", "NGƯỜI NỘP HỒ SƠ", "NGƯỜI NHẬN HỒ SƠ", "NGƯỜI TIẾP NHẬN",
    "NGƯỜI NHẬN", "NGƯỜI NỘP", "ĐẠI DIỆN", "XÁC NHẬN",
)
LEXICON_WEIGHT = 3.0  # as much as three confident readings in the document
MIN_WITNESS = 0.75  # one confident reading elsewhere in the document
MAX_RUN = 8  # words one key may span ("VĂN PHÒNG - THỐNG KÊ" is five)
_EDGE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)


_ADMINISTRATIVE: "Vocabulary | None" = None


def key(words: list[str] | tuple[str, ...]) -> str:
    """"Suối", "Tân," → "SUOITAN": folded, without the punctuation at the words' edges,
    dots and dashes, a doubled letter once ("KÊẾT" is OCR's doubt between Ê and Ế)."""
    return _DOUBLED.sub(r"\1", "".join(_folded(w) for w in words))


_DOUBLED = re.compile(r"(.)\1+")


@functools.lru_cache(maxsize=1 << 16)
def _folded(word: str) -> str:
    return fold(_bare(word)).replace(".", "").replace("-", "")


class Vocabulary:
    def __init__(self) -> None:
        self._weights: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        # the same, for runs of capitalised words only: names of people and places
        self._proper: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    @classmethod
    def administrative(cls) -> "Vocabulary":
        """The administrative vocabulary (`ADMINISTRATIVE` and the type names). Built
        once; `merged()` makes new vocabularies, so it is never changed."""
        global _ADMINISTRATIVE
        if _ADMINISTRATIVE is None:
            _ADMINISTRATIVE = cls._administrative()
        return _ADMINISTRATIVE

    @classmethod
    def _administrative(cls) -> "Vocabulary":
        vocab = cls()
        for phrase in (*ADMINISTRATIVE, *TYPE_NAMES):
            words = phrase.split()
            # the phrase, and every run of two or more of its words
            for i in range(len(words)):
                for j in range(i + 2, len(words) + 1):
                    vocab.add(words[i:j], LEXICON_WEIGHT)
            if len(words) == 1:
                vocab.add(words, LEXICON_WEIGHT)
        return vocab

    def add(self, words, weight: float = 1.0) -> None:
        words = [_bare(w) for w in words]
        if not all(words) or words[0] == "-" or words[-1] == "-":
            return
        k = key(words)
        if len(k) >= 2:
            spelling = nfc(" ".join(words)).lower()
            self._weights[k][spelling] += weight
            if all(w[:1].isupper() or w[:1].isdigit() for w in words if w != "-"):
                self._proper[k][spelling] += weight

    def add_text(self, words: list[tuple[str, float]], runs=(1, 2, 3, 4)) -> None:
        """Every run of n words of a line (`words`: text and confidence 0..1)."""
        for n in runs:
            for i in range(len(words) - n + 1):
                run = words[i:i + n]
                self.add([w for w, _ in run], min(c for _, c in run))

    def merged(self, other: "Vocabulary") -> "Vocabulary":
        out = Vocabulary()
        for source in (self, other):
            for mine, theirs in ((out._weights, source._weights), (out._proper, source._proper)):
                for k, spellings in theirs.items():
                    for s, w in spellings.items():
                        mine[k][s] += w
        return out

    def _top(self, k: str, exclude: "Vocabulary | None", proper: bool):
        """(best spelling, its weight, all spellings) of key `k` among the witnesses."""
        spellings = dict((self._proper if proper else self._weights).get(k, {}))
        if exclude is not None:
            for s, w in exclude._weights.get(k, {}).items():
                spellings[s] = spellings.get(s, 0.0) - w
        spellings = {s: w for s, w in spellings.items() if w > 1e-6}
        if not spellings:
            return None
        spelling, weight = max(spellings.items(), key=lambda kv: kv[1])
        return spelling, weight, spellings

    def best(self, k: str, own: str, exclude: "Vocabulary | None" = None,
             proper: bool = False) -> str | None:
        """The spelling to use for key `k` where the text reads `own`, or None to keep
        it: the spelling the other witnesses (all but `exclude`, the text's own reading;
        with `proper`, only runs of capitalised words) clearly prefer."""
        top = self._top(k, exclude, proper)
        if top is None:
            return None
        spelling, weight, spellings = top
        own = nfc(own).lower()
        if spelling == own or weight < 2 * spellings.get(own, 0.0) or weight < MIN_WITNESS:
            return None
        return spelling

    def restore(self, text: str, min_run: int = 1, exclude: "Vocabulary | None" = None,
                proper: bool = False) -> str:
        """`text` with every run of words respelt as the witnesses spell it; `exclude`
        holds the text's own reading, which is no witness of itself. The longest run
        the witnesses know wins, unless a shorter run inside it is better attested and
        spelt otherwise ("xã Diên Phủ" read once, "Diên Phú" ten times)."""
        words = text.split()
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in range(min(MAX_RUN, len(words) - i), min_run - 1, -1):
                run = words[i:i + n]
                if n > 1 and not _clean_run(run):
                    continue
                top = self._top(key(run), exclude, proper)
                if top is None or top[1] < MIN_WITNESS:
                    continue
                spelling, weight, spellings = top
                if self._contradicted(words, i, n, spelling, weight, exclude, proper):
                    continue
                lead = _EDGE.match(run[0]).group(1)
                trail = _EDGE.match(run[-1]).group(3)
                joined = " ".join(run)
                bare = joined[len(lead):len(joined) - len(trail)]
                if not bare:
                    continue
                own = nfc(bare).lower()
                if spelling == own or weight < 2 * spellings.get(own, 0.0):
                    out.extend(run)  # as well attested as it is: kept, whole
                else:
                    out.append(lead + _like(bare, spelling) + trail)
                i += n
                break
            else:
                out.append(words[i])
                i += 1
        return " ".join(out)

    def _contradicted(self, words: list[str], i: int, n: int, spelling: str, weight: float,
                      exclude, proper: bool) -> bool:
        """Whether a better attested run of two words or more that overlaps words[i:i+n]
        spells one of the shared words otherwise."""
        mine = _flat(spelling).split()
        if len(mine) != n:
            return False
        for a in range(max(0, i - MAX_RUN + 1), i + n):
            for b in range(max(a + 2, i + 1), min(len(words), a + MAX_RUN) + 1):
                if (a, b) == (i, i + n) or not _clean_run(words[a:b]):
                    continue
                top = self._top(key(words[a:b]), exclude, proper)
                if not top or top[1] <= weight:
                    continue
                theirs = _flat(top[0]).split()
                if len(theirs) != b - a:
                    continue
                for j in range(max(a, i), min(b, i + n)):
                    if theirs[j - a] != mine[j - i]:
                        return True
        return False

    def nearest_proper(self, text: str, exclude: "Vocabulary | None" = None) -> str | None:
        """A name read with one letter wrong ("Diên Phí", "Sơn Kim l"): the capitalised
        run of as many words, one edit away, that the witnesses name at least twice, and
        three times as often as they name what was read."""
        words = text.split()
        k = key(words)
        if len(k) < 6:
            return None
        top = self._top(k, exclude, proper=True)
        read = sum(top[2].values()) if top else 0.0
        found = []
        for other, spellings in self._proper.items():
            if abs(len(other) - len(k)) > 1 or other == k:
                continue
            spelling, weight = max(spellings.items(), key=lambda kv: kv[1])
            if (weight >= 2 * MIN_WITNESS and weight >= 3 * read
                    and len(spelling.split()) == len(words) and edit_distance(other, k) == 1):
                found.append((weight, spelling))
        if not found:
            return None
        found.sort(reverse=True)
        if len(found) > 1 and found[1][0] * 2 > found[0][0]:
            return None  # two names as near: no telling which
        return _like(text, found[0][1])


def _flat(spelling: str) -> str:
    return " ".join(w for w in spelling.split() if w != "-")


@functools.lru_cache(maxsize=1 << 16)
def _bare(word: str) -> str:
    if word and set(word) <= set("-–—"):
        return "-"  # the dash of "VĂN PHÒNG - THỐNG KÊ" is a word of its own
    return _EDGE.match(word).group(2)


def _clean_run(run: list[str]) -> bool:
    """No punctuation between the words of a run: a comma there ends a phrase."""
    for i, word in enumerate(run):
        if set(word) <= set("-–—"):
            continue
        lead, _, trail = _EDGE.match(word).groups()
        if (lead and i > 0) or (trail and i < len(run) - 1):
            return False
    return True


def _like(model: str, spelling: str) -> str:
    """`spelling` in the case of `model`: upper, title or as spelt."""
    if upper_share(model) >= 0.8:
        return spelling.upper()
    words = [w for w in model.split() if w[:1].isalpha() and len(w) > 1]
    if words and all(w[:1].isupper() for w in words):
        return " ".join(w[:1].upper() + w[1:] for w in spelling.split())
    if model[:1].isupper():
        return spelling[:1].upper() + spelling[1:]
    return spelling
