"""Where a signature goes on the page, read from the PDF itself: the page's box, the signer
block (the leader's title and name, found in the page's text layer), and the widgets of
signature fields already there (the leader's, which the agency's seal overlaps)."""
from __future__ import annotations

from pathlib import Path

from . import appearance as ap

FIELD_NAMES = {"leader": "LanhDao", "agency": "CoQuan", "copy": "BanSao", "attachment": "PhuLuc",
               "invisible": "ChuKy"}


class FileProblem(Exception):
    """What is wrong with one file: it fails alone, the batch goes on."""


def page_rect(reader, index: int) -> ap.Box:
    page = reader.find_page_for_modification(index)[0].get_object()
    box = page.get("/CropBox") or _inherited(page, "/MediaBox")
    x0, y0, x1, y1 = (float(v) for v in box)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _inherited(page, key):
    node = page
    while node is not None:
        if key in node:
            return node[key]
        node = node.get("/Parent")
    raise FileProblem(f"page without {key}")


def signer_block(src: Path, reader, page: int, page_box: ap.Box) -> ap.SignerBlock:
    """The signer block of `page`, from sohoa's own OCR layer (in-process) or else from
    whatever text the page has (poppler)."""
    from .pdfwords import ocr_layer_words, page_words

    words = ocr_layer_words(reader, page - 1, page_box)
    block = ap.find_signer_block(words) if words else None
    if block is None:
        try:
            width, height = page_box[2] - page_box[0], page_box[3] - page_box[1]
            words = page_words(src, page, crop_origin=(page_box[0], page_box[1]),
                               area=(width * 0.4, 0, width * 0.6, height))  # the right column
        except ValueError as exc:
            raise FileProblem(str(exc)) from None
        block = ap.find_signer_block(words)
    if block is None:
        raise FileProblem(f"no signer block found on page {page} (no text layer, or no position "
                           "line over a signature space): give --at-page and --box")
    return block


def leader_widget(reader) -> tuple[int | None, ap.Box | None]:
    """Page and rectangle of the leader's visible signature (the last signed visible
    signature field, preferring the leader's field name)."""
    from pyhanko.sign import fields

    found = []
    for name, _, ref in fields.enumerate_sig_fields(reader, filled_status=True):
        page, rect = field_widget(reader, ref)
        if rect is not None:
            found.append((str(name).startswith(FIELD_NAMES["leader"]), page, rect))
    if not found:
        return None, None
    best = [f for f in found if f[0]] or found
    return best[-1][1], best[-1][2]


def field_widget(reader, ref) -> tuple[int | None, ap.Box | None]:
    """(1-based page, rectangle) of a signature field's widget; rect None if invisible."""
    field_obj = ref.get_object()
    widget = field_obj if "/Rect" in field_obj else (field_obj.get("/Kids") or [None])[0]
    widget = widget.get_object() if widget is not None else None
    if widget is None or "/Rect" not in widget:
        return None, None
    x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
    if abs(x1 - x0) < 1 or abs(y1 - y0) < 1:
        return None, None
    return _widget_page(reader, widget, ref), (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _widget_page(reader, widget, ref) -> int | None:
    target = widget.raw_get("/P") if "/P" in widget else None
    pages = int(reader.root["/Pages"]["/Count"])
    for index in range(pages):
        page_ref, _ = reader.find_page_for_modification(index)
        if target is not None and page_ref.reference == target.reference:
            return index + 1
        annots = page_ref.get_object().get("/Annots") or []
        if any(getattr(a, "reference", None) == ref.reference for a in annots):
            return index + 1
    return pages
