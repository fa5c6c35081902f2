"""Is a PDF page's own text layer real Vietnamese text (keep it) or OCR junk / a font
without a Unicode map (OCR the page again)? `text_layer_quality` scores it."""
from __future__ import annotations

import re
import unicodedata

KEEP_TEXT_LAYER = 0.6  # text_layer_quality at or above which an existing text layer is good


_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # huyền sắc ngã hỏi nặng
_VOWELS = set("aăâeêioôơuưy")
_ALPHABET = set("abcdđeghiklmnopqrstuvxy") | _VOWELS
_MARKED = set("ăâêôơưđ")
_ONSETS = ("ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "th", "tr", "qu",
           "b", "c", "d", "đ", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "x", "")
_RHYMES = frozenset("""
a ac ach ai am an ang anh ao ap at au ay ăc ăm ăn ăng ăp ăt ăk âc âm ân âng âp ât âu ây
e ec em en eng eo ep et ê êch êm ên ênh êp êt êu
i ia ich im in inh ip it iu iêc iêm iên iêng iêp iêt iêu
o oc oi om on ong op ot oong ooc oa oac oach oai oam oan oang oanh oao oap oat oay
oăc oăm oăn oăng oăt oe oen oeo oet ô ôc ôi ôm ôn ông ôp ôt ơ ơi ơm ơn ơp ơt
u uc ui um un ung up ut ua uơ uôc uôi uôm uôn uông uôt uân uâng uât uây uê uêch uênh
uy uya uych uyên uyêt uynh uyt uyu
ư ưa ưc ưi ưm ưn ưng ưt ưu ươc ươi ươm ươn ương ươp ươt ươu
y yêm yên yêt yêu ynh yt
""".split())
_WORD = re.compile(r"[^\W\d_]+")
_PUNCT = set(".,;:!?()[]{}\"'“”‘’«»-–—/\\%&*+=<>#@§°…|_~№$€₫^")
MARK_SHARE_FULL = 0.5  # real Vietnamese marks 65–85% of its syllables; 50% counts as full
JUNK_WEIGHT = 3.0  # each percent of stray marks/symbols costs three percent


def _syllable(word: str) -> tuple[bool, bool]:
    """(is a Vietnamese syllable, carries a diacritic) for one lower-case word."""
    tones, base, last_base = 0, [], ""
    for ch in unicodedata.normalize("NFD", word):
        if ch in _TONES:
            if last_base not in "aeiouy":
                return False, False
            tones += 1
        else:
            base.append(ch)
            if unicodedata.category(ch) != "Mn":
                last_base = ch
    if tones > 1:
        return False, False
    plain = unicodedata.normalize("NFC", "".join(base))
    if not plain or any(ch not in _ALPHABET for ch in plain):
        return False, False
    for onset in _ONSETS:
        if plain.startswith(onset):
            rhyme = plain[len(onset):]
            if onset == "qu" and rhyme[:1] in ("u", "ư"):
                continue
            if rhyme in _RHYMES or (onset == "gi" and (rhyme == "" or "i" + rhyme in _RHYMES)):
                return True, tones > 0 or any(ch in _MARKED for ch in plain)
    return False, False


def text_layer_quality(text: str) -> float:
    """How much a PDF's existing text layer looks like real Vietnamese, 0..1.

    Scanners often write a layer from English OCR of a Vietnamese page: no diacritics
    ("QUYET DINH"), diacritics as separate symbols ("Cˆ ong h`oa"), combining marks split
    off, legacy-font garbage ("Céng hßa"), stray symbols. The score multiplies
    * the share of words that are Vietnamese syllables (onset + rhyme, at most one tone
      mark, on a vowel; upper-case acronyms like "UBND" and numbers are not counted),
    * the share of those syllables that carry a diacritic, relative to `MARK_SHARE_FULL`
      (real Vietnamese marks about three syllables in four; text without any scores 0),
    * a penalty for stray combining marks, spacing accents and other symbols.
    Keep a layer scoring at least KEEP_TEXT_LAYER (0.6); OCR the page again otherwise.
    An empty layer scores 0.
    """
    text = unicodedata.normalize("NFC", text or "")
    words = valid = marked = 0
    for match in _WORD.finditer(text):
        word = match.group()
        ok, has_mark = _syllable(word.lower())
        if not ok and len(word) >= 2 and word.isupper():
            continue  # an acronym: UBND, QĐ, HĐND, CCCD
        words += 1
        valid += ok
        marked += ok and has_mark
    if not words or not valid:
        return 0.0
    visible = [ch for ch in text if not ch.isspace()]
    junk = sum(1 for ch in visible
               if not (ch.isalnum() or ch in _PUNCT) or unicodedata.category(ch) in ("Mn", "Co", "Cc"))
    score = (valid / words) * min(1.0, marked / valid / MARK_SHARE_FULL)
    score *= max(0.0, 1.0 - JUNK_WEIGHT * junk / max(1, len(visible)))
    return round(score, 3)
