"""The metadata parsers on lines exactly as Tesseract read them from degraded scans.

tests/data/ocr_noise.json is made by bench/harvest_ocr_noise.py: each case pairs a line
that carries a field, as it was printed, with the line Tesseract read for it when the two
differ (missing or wrong marks, "l5" and "3]" for digits, split codes…). Nothing in it is
invented. These are the line parsers alone: in a document the extractor also re-reads a
doubtful line closer up (the field accuracy of whole documents is
bench/metadata_accuracy.py's: 98.9%). The agency, trích yếu, signer's name and place
are respelt from the other lines of their document and dossier: those cases carry
Tesseract's words with their confidences and the dossier's lines that share a word.
"""
import json
from pathlib import Path

import pytest

from sohoa.ocr import vnparse as vp
from sohoa.ocr.header import type_name
from sohoa.ocr.layout import trim
from sohoa.ocr.lexicon import Vocabulary
from sohoa.ocr.metadata import Witnesses
from sohoa.ocr.textpage import Segment, Token

DATA = json.loads((Path(__file__).parent / "data" / "ocr_noise.json").read_text(encoding="utf-8"))
CASES = DATA["cases"]


def cases(field: str) -> list[dict]:
    found = [c for c in CASES if c["field"] == field]
    assert found, f"no harvested case for {field}"
    return found


def restore(text: str) -> str:
    return Vocabulary.administrative().restore(text)


def report(misses) -> str:
    return "\n".join(f"{line!r}: want {want!r}, read {got!r}" for line, want, got in misses)


def test_every_case_is_a_line_read_with_noise():
    assert len(CASES) >= 30
    assert all(c["ocr"] != c["printed"] for c in CASES)


def test_type_names_survive_the_noise():
    misses = [(c["ocr"], c["expected"], type_name(c["ocr"])[0]) for c in cases("doc_type")
              if type_name(c["ocr"])[0] != c["expected"]]
    assert not misses, report(misses)


def test_positions_get_their_marks_back():
    misses = [(c["ocr"], c["expected"], vp.signer_title([restore(c["ocr"])])) for c in cases("signer_title")
              if vp.signer_title([restore(c["ocr"])]) != c["expected"]]
    assert not misses, report(misses)


def _other_digits(ocr: str, printed: str) -> bool:
    """OCR read digits as other digits ("06" for "08", "833" for "83"): no parser can tell
    from the line; the extractor's second look at the crop is what catches these."""
    return [x for x in ocr if x.isdigit()] != [x for x in printed if x.isdigit()]


def test_dates_are_read_or_left_for_a_second_look_never_misread():
    right, declined, wrong = 0, 0, []
    for c in cases("issued_date_place"):
        parsed = vp.parse_date(c["ocr"])
        if parsed is None:
            declined += 1  # the extractor re-reads the line's crop
        elif parsed.date.isoformat() == c["expected"][0]:
            right += 1
        elif not _other_digits(c["ocr"], c["printed"]):
            wrong.append((c["ocr"], c["expected"][0], parsed.date.isoformat()))
    assert not wrong, report(wrong)
    assert right >= 0.7 * (right + declined)


def test_number_and_symbol_survive_the_noise():
    misses = []
    for c in cases("number_symbol"):
        parsed = vp.parse_number_symbol(c["ocr"])
        got = [parsed.number, parsed.symbol] if parsed else None
        if got is None or got[1] != c["expected"][1] or (
                got[0] != c["expected"][0] and not _other_digits(c["ocr"], c["printed"])):
            misses.append((c["ocr"], c["expected"], got))
    assert not misses, report(misses)


def test_places_come_out_of_the_date_line():
    cases_ = cases("issued_date_place")
    misses = [(c["ocr"], c["expected"][1], vp.date_line_place(c["ocr"])) for c in cases_
              if vp.fold(vp.date_line_place(c["ocr"]) or "") != vp.fold(c["expected"][1])]
    # "Sơn Kim l" for "Sơn Kim 1": a letter for a digit at the end of a name, only the
    # dossier's other documents tell
    assert len(misses) <= 0.25 * len(cases_), report(misses)


@pytest.mark.parametrize("field, parse", [("dossier_codes", vp.dossier_codes), ("citizen_ids", vp.citizen_ids)])
def test_identifiers_are_found_through_damage_and_never_invented(field, parse):
    match = vp.same_code if field == "dossier_codes" else vp.same_id
    found_right, wrong, total = 0, [], 0
    for c in cases(field):
        found = parse(c["ocr"])
        total += len(c["expected"])
        found_right += sum(any(got == want or match(got, want) for got in found) for want in c["expected"])
        # a code read from this line is one of the printed ones, however damaged
        wrong += [(c["ocr"], c["expected"], got) for got in found
                  if not any(got == want or match(got, want) for want in c["expected"])]
    assert not wrong, report(wrong)
    assert found_right >= 0.75 * total  # the rest comes from the page's QR code


def _segment(tokens: list) -> Segment:
    return Segment(tuple(Token(text, (0, 0, 0, 0), conf) for text, conf in tokens), 0)


def respelt(case: dict) -> str:
    """The line respelt as the extractor does, from the same witnesses it had."""
    own, dossier = Vocabulary(), Vocabulary()
    for line in [*case["witnesses"], {"same_document": True, "tokens": case["tokens"]}]:
        words = [(text, conf) for text, conf in line["tokens"]]
        dossier.add_text(words)
        if line["same_document"]:
            own.add_text(words)
    return Witnesses(own, dossier).respell(trim(case["ocr"]), [_segment(case["tokens"])], case["kind"])


@pytest.mark.parametrize("field", ["agency", "subject", "signer_name", "issued_place"])
def test_respelt_fields_are_restored_or_left_as_read_never_guessed(field):
    """Each misread agency line, trích yếu line, signer's name or place comes back as
    printed when its document or dossier spells it clearly otherwise; else it stays as
    read (a clerk sees it), never turned into a third spelling."""
    guessed = [(c["ocr"], c["expected"], got) for c in cases(field)
               if (got := respelt(c)) not in (c["expected"], trim(c["ocr"]))]
    assert not guessed, report(guessed)


def test_respelling_restores_most_misread_names_and_lines():
    spelt = [c for c in CASES if "witnesses" in c]
    restored = [c for c in spelt if respelt(c) == c["expected"]]
    assert {c["field"] for c in spelt} == {"agency", "subject", "signer_name", "issued_place"}
    assert len(restored) >= 0.7 * len(spelt)
    agency = [c for c in cases("agency")]
    assert sum(c in restored for c in agency) >= 0.9 * len(agency)  # named again in the dossier
