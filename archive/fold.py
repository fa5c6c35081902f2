"""Vietnamese search folding: the same words at index and at query time.

SQLite's tokenizers cannot be trusted with Vietnamese (`remove_diacritics 1` misses the
letters with two marks, no mode folds đ/Đ; see measured.md), so sohoa tokenizes in Python
and hands FTS5 ready-made tokens:

- `tokens(text)`: the exact words, lower case, NFC, marks kept ("quyết", "định", "đ").
- `fold(text)`: lower case without any mark, đ→d ("quyet", "dinh", "d").

The index stores exact tokens; a query word without marks is expanded to every exact
token of the catalogue that folds to it, so `dien lac` finds "Diên Lạc", "Điện", "Đền"…
while a word typed with its marks can be matched exactly first.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+")


def _build_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    ranges = [(0x00C0, 0x0250), (0x1E00, 0x1F00)]
    for start, end in ranges:
        for cp in range(start, end):
            char = chr(cp)
            base = "".join(c for c in unicodedata.normalize("NFD", char.lower())
                           if unicodedata.category(c) != "Mn")
            if base != char:
                table[cp] = base
    for cp in range(0x0300, 0x0370):  # stray combining marks (decomposed input)
        table[cp] = None
    table.update({ord("đ"): "d", ord("Đ"): "d", ord("ð"): "d", ord("Ð"): "d"})
    return table


_TABLE = _build_table()


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower case, no marks, đ→d: `fold("Quyết định Diên Lạc") == "quyet dinh dien lac"`."""
    return nfc(text).lower().translate(_TABLE)


@lru_cache(maxsize=200_000)
def fold_token(token: str) -> str:
    return token.translate(_TABLE)


def tokens(text: str) -> list[str]:
    """Exact words: NFC, lower case, marks kept; letters and digits only."""
    return _WORD.findall(nfc(text).lower())


def has_marks(token: str) -> bool:
    return fold_token(token) != token


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, exact lower-case token) of each word of NFC `text` (for snippets)."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a rare letter changes length when lowered
        return [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(text)]
    return [(m.start(), m.end(), m.group()) for m in _WORD.finditer(lowered)]
