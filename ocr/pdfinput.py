"""PDF inputs of `pages.py`: a PDF's pages listed without decoding pixels (the image each
page is a scan of, how it is drawn, the page's own text layer, signatures, encryption) and
one page's image decoded for OCR in a worker (the file kept open for its next pages).

A page is a scan when one image covers most of it; a page made on a computer keeps its
own text when `layerquality.text_layer_quality` finds it good.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import unicodedata
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import pikepdf
from PIL import Image

from .pages import (MAX_PIXELS, MIN_OCR_DPI, OCR_DPI, PageRef, SourcePages, _FIX_PDF, _bad, _detail,
                    _dpi_text, _ocr_scale, _pages, _pixel_limit, _stamp, _too_large)

SCAN_COVERAGE = 0.5  # a PDF page whose largest image covers less than this and that has text is born-digital



def _matmul(m, n):
    """m then n (PDF: CTM' = m × CTM)."""
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D,
            e * A + f * C + E, e * B + f * D + F)


def _numbers(operands, count=6):
    try:
        values = tuple(float(x) for x in operands)
    except (TypeError, ValueError):
        return None
    return values if len(values) == count and all(map(math.isfinite, values)) else None


class _PageScan:
    """Images drawn on a page (with the matrix they are drawn with) and text shown."""

    def __init__(self):
        self.draws: list[tuple[pikepdf.Object, tuple]] = []
        self.has_text = False
        self.missing = 0  # images or forms the content draws but the file lacks
        self.error: str | None = None

    def walk(self, content_owner, resources, ctm, depth: int, seen: set) -> None:
        try:
            ops = pikepdf.parse_content_stream(content_owner, "q Q cm Do BT")
        except (pikepdf.PdfError, ValueError, TypeError) as exc:
            self.error = _detail(exc)
            return
        xobjects = _get(resources, "/XObject")
        stack = []
        for operands, op in ops:
            op = str(op)
            if op == "q":
                stack.append(ctm)
            elif op == "Q":
                if stack:
                    ctm = stack.pop()
            elif op == "cm":
                m = _numbers(operands)
                if m:
                    ctm = _matmul(m, ctm)
            elif op == "BT":
                self.has_text = True
            elif op == "Do" and operands:
                x = _get(xobjects, str(operands[0])) if xobjects is not None else None
                if not isinstance(x, pikepdf.Stream):
                    self.missing += 1
                    continue
                subtype = x.get("/Subtype")
                if subtype == pikepdf.Name.Image:
                    if not x.get("/ImageMask", False):
                        self.draws.append((x, ctm))
                elif subtype == pikepdf.Name.Form and depth < 3:
                    key = x.objgen
                    if key in seen and key != (0, 0):
                        continue
                    m = _numbers(x.get("/Matrix", [1, 0, 0, 1, 0, 0])) or (1, 0, 0, 1, 0, 0)
                    inner = _get(x, "/Resources")
                    self.walk(x, inner if inner is not None else resources, _matmul(m, ctm),
                              depth + 1, seen | {key})


def _get(obj, key):
    try:
        value = obj.get(key) if obj is not None else None
    except (pikepdf.PdfError, ValueError, TypeError):
        return None
    return value


def _largest_listed(obj, depth: int = 0):
    """The largest image in a page's resources (forms too), drawn or not: the one a
    writer that looks at resources only would take."""
    best = None
    xobjects = _get(_get(obj, "/Resources"), "/XObject")
    if not isinstance(xobjects, pikepdf.Dictionary):
        return None
    for key in xobjects.keys():
        x = _get(xobjects, key)
        if not isinstance(x, pikepdf.Stream):
            continue
        if x.get("/Subtype") == pikepdf.Name.Image and not x.get("/ImageMask", False):
            candidate = x
        elif x.get("/Subtype") == pikepdf.Name.Form and depth < 3:
            candidate = _largest_listed(x, depth + 1)
        else:
            continue
        if candidate is not None and (best is None or _pixels(candidate) > _pixels(best)):
            best = candidate
    return best


def _pixels(x) -> int:
    w, h = _size(x)
    return w * h


def _signed(pdf: pikepdf.Pdf) -> bool:
    root = pdf.Root
    perms = _get(root, "/Perms")
    if perms is not None and (_get(perms, "/DocMDP") is not None or _get(perms, "/UR3") is not None):
        return True
    form = _get(root, "/AcroForm")
    fields = _get(form, "/Fields") if form is not None else None
    if not isinstance(fields, pikepdf.Array):
        return False
    todo = [(f, None) for f in fields]
    seen = set()
    while todo and len(seen) < 100_000:
        node, inherited = todo.pop()
        if not isinstance(node, pikepdf.Dictionary):
            continue
        key = node.objgen
        if key != (0, 0):
            if key in seen:
                continue
            seen.add(key)
        ft = _get(node, "/FT") or inherited
        if ft == pikepdf.Name.Sig and _get(node, "/V") is not None:
            return True
        kids = _get(node, "/Kids")
        if isinstance(kids, pikepdf.Array):
            todo.extend((k, ft) for k in kids)
    return False


def _page_rotate(page: pikepdf.Page) -> int:
    try:
        value = int(page.obj.get("/Rotate", 0))
    except (TypeError, ValueError):
        return 0
    return value % 360 if value % 90 == 0 else 0


def _box(page: pikepdf.Page):
    for key in ("/MediaBox", "/CropBox"):
        box = _numbers(_get(page.obj, key) or [], 4)
        if box:
            x0, y0, x1, y1 = box
            if abs(x1 - x0) > 0 and abs(y1 - y0) > 0:
                return abs(x1 - x0), abs(y1 - y0)
    return 612.0, 792.0


def _open_pdf_file(path: Path) -> pikepdf.Pdf:
    try:
        return pikepdf.open(path)  # the empty user password opens owner-only encryption
    except pikepdf.PasswordError:
        raise _bad(path, "encrypted: needs a password",
                   "ask the sender for an unencrypted copy") from None
    except Exception as exc:  # PdfError, OSError, ...: never a traceback for a bad file
        raise _bad(path, f"damaged PDF that cannot be repaired ({_detail(exc, path)})",
                   _FIX_PDF) from None


def open_pdf(path: Path, st: os.stat_result) -> SourcePages:
    stamp = _stamp(st)
    pdf = _open_pdf_file(path)
    try:
        with pdf:
            return _list_pdf(path, pdf, stamp, st.st_size)
    except Exception as exc:  # never a traceback for a bad file
        if hasattr(exc, "source"):
            raise
        raise _bad(path, f"damaged PDF that cannot be repaired ({_detail(exc, path)})",
                   _FIX_PDF) from None


def _list_pdf(path: Path, pdf: pikepdf.Pdf, stamp, size: int) -> SourcePages:
    repairs = pdf.get_warnings()  # qpdf's complaints while opening (the call empties them)
    warnings_: list[str] = []
    count = len(pdf.pages)
    if count == 0:
        raise _bad(path, "PDF without any page", "ask the sender for the complete file")
    encrypted = bool(pdf.is_encrypted)
    if encrypted:
        warnings_.append("encrypted with an owner password only: opened without one "
                         "(the searchable copy is not encrypted)")
    signed = _signed(pdf)
    if signed:
        warnings_.append("digitally signed: the original is kept untouched, the searchable "
                         "PDF is a separate copy")
    pages: list[PageRef] = []
    text_pages: list[int] = []
    born, low, unreadable, elsewhere, lost, inline, empty = [], [], [], [], [], [], []
    lowest = None
    for index, page in enumerate(pdf.pages):
        scan = _PageScan()
        ident = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
        scan.walk(page, _get(page.obj, "/Resources"), ident, 0, set())
        if scan.error:
            unreadable.append(index + 1)
        if scan.has_text:
            text_pages.append(index)
        box_w, box_h = _box(page)
        try:
            unit = float(page.obj.get("/UserUnit", 1.0))
        except (TypeError, ValueError):
            unit = 1.0
        best = None
        for x, ctm in scan.draws:
            w, h = _size(x)
            if w > 0 and h > 0 and (best is None or w * h > best[1] * best[2]):
                best = (x, w, h, ctm)
        ref_args = dict(source=path, index=index, kind="pdf", stamp=stamp)
        if best is None and _inline_images(page):
            inline.append(index + 1)
            pages.append(PageRef(**ref_args, born_digital=True))
            continue
        if best is None and not scan.has_text and not scan.missing and not repairs:
            empty.append(index + 1)
            pages.append(PageRef(**ref_args, born_digital=True))
            continue
        if best is None or (repairs and not _has_data(best[0])):
            # Nothing to show: a page made on a computer, or one whose image is gone (a
            # reference to a missing image, or an empty page in a file that needed repair).
            if scan.missing or (repairs and not scan.has_text):
                lost.append(index + 1)
            born.append(index + 1)
            pages.append(PageRef(**ref_args, born_digital=True))
            continue
        x, w, h, (a, b, c, d, _, _) = best
        if w * h > MAX_PIXELS:
            raise _too_large(path, w, h, f"page {index + 1}: ")
        len_x, len_y = math.hypot(a, b) * unit, math.hypot(c, d) * unit
        coverage = abs(a * d - b * c) / (box_w * box_h)
        if scan.has_text and coverage < SCAN_COVERAGE:
            born.append(index + 1)
            pages.append(PageRef(**ref_args, born_digital=True))
            continue
        if len_x > 0 and len_y > 0:
            dpi = (round(w * 72 / len_x, 2), round(h * 72 / len_y, 2))
        else:
            dpi = (round(w * 72 / (box_w * unit), 2), round(h * 72 / (box_h * unit), 2))
        angle = math.degrees(math.atan2(b, a))  # the image's x axis, counter-clockwise
        turn = (round(-angle / 90) * 90 + _page_rotate(page)) % 360
        scale = _ocr_scale(dpi, w * h)
        if min(dpi) < MIN_OCR_DPI:
            low.append(index + 1)
            lowest = dpi if lowest is None or min(dpi) < min(lowest) else lowest
        listed = _largest_listed(page.obj)
        if listed is not None and listed.objgen != x.objgen:
            elsewhere.append(index + 1)
        pages.append(PageRef(**ref_args, width=w, height=h, dpi=dpi, turn=turn,
                             ocr_scale=scale, pdf_image=x.objgen))
    if lost:
        raise _bad(path, f"damaged PDF: {_pages(lost)} of {count} cannot be shown "
                         "(the file seems cut off)", _FIX_PDF)
    texts = _text_layers(path, pdf, text_pages, count) if text_pages else {}
    if texts:
        pages = [_with_text(p, texts.get(p.index)) for p in pages]
    if repairs:
        warnings_.append(f"damaged PDF, repaired while reading ({_detail(repairs[0], path)})")
    if unreadable:
        warnings_.append(f"{_pages(unreadable)}: content partly unreadable")
    if born:
        warnings_.append(f"{_pages(born)}: made on a computer, not scanned: "
                         "their own text is kept")
    if empty:
        warnings_.append(f"{_pages(empty)}: empty (no image, no text)")
    if inline:
        warnings_.append(f"{_pages(inline)}: the image is stored inside the page's content, "
                         "which cannot be OCRed: the page is kept as it is")
    if low:
        warnings_.append(f"{_pages(low)}: {_dpi_text(lowest)}, below the {MIN_OCR_DPI} "
                         f"dpi minimum: upscaled to {OCR_DPI} dpi for OCR (the original image "
                         "is kept)")
    if elsewhere:
        warnings_.append(f"{_pages(elsewhere)}: the page's resources list a larger "
                         "image than the one it shows")
    return SourcePages(path, "pdf", pages, signed=signed, encrypted=encrypted,
                       warnings=warnings_, size=size)


def _inline_images(page: pikepdf.Page) -> int:
    """Inline images (BI … ID … EI) drawn by the page itself."""
    try:
        return sum(isinstance(op, pikepdf.ContentStreamInlineImage)
                   for op in pikepdf.parse_content_stream(page))
    except (pikepdf.PdfError, ValueError, TypeError):
        return 0


def _size(x) -> tuple[int, int]:
    try:
        return int(x.Width), int(x.Height)
    except (AttributeError, TypeError, ValueError, pikepdf.PdfError):
        return 0, 0


def _has_data(x) -> bool:
    try:
        return len(x.read_raw_bytes()) > 0
    except (pikepdf.PdfError, ValueError, RuntimeError):
        return False


def _with_text(ref: PageRef, text: str | None) -> PageRef:
    return ref if text is None else replace(ref, text_layer=text)


def _text_layers(path: Path, pdf: pikepdf.Pdf, indexes: list[int], count: int) -> dict[int, str]:
    """NFC text of the given pages: pdftotext (poppler) in one run, else pypdf."""
    texts = _pdftotext(path, count)
    if texts is None:
        texts = _pypdf_text(path, indexes)
    return {i: unicodedata.normalize("NFC", texts.get(i, "")).strip() for i in indexes}


def _pdftotext(path: Path, count: int) -> dict[int, str] | None:
    exe = shutil.which("pdftotext")
    if not exe:
        return None
    try:
        done = subprocess.run([exe, "-q", "-enc", "UTF-8", str(Path(path).absolute()), "-"],
                              capture_output=True, timeout=max(60, count // 10))
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    chunks = done.stdout.decode("utf-8", "replace").split("\f")
    if len(chunks) != count + 1:  # every page ends with a form feed
        return None
    return dict(enumerate(chunks[:count]))


def _pypdf_text(path: Path, indexes: list[int]) -> dict[int, str]:
    try:
        import pypdf

        reader = pypdf.PdfReader(str(path))
        if reader.is_encrypted:
            reader.decrypt("")
        out = {}
        for i in indexes:
            try:
                out[i] = reader.pages[i].extract_text() or ""
            except Exception:  # a page pypdf cannot read: no text for it
                out[i] = ""
        return out
    except Exception:
        return {}


@lru_cache(maxsize=2)
def _worker_pdf(path: Path, stamp: tuple[int, int]) -> pikepdf.Pdf:
    return _open_pdf_file(path)


def decode_pdf_image(ref: PageRef) -> Image.Image:
    pdf = _worker_pdf(ref.source, ref.stamp)
    where = f"page {ref.index + 1}"
    try:
        x = pdf.get_object(ref.pdf_image) if ref.pdf_image else None
        if not isinstance(x, pikepdf.Stream):
            raise _bad(ref.source, f"{where}: its image is missing", _FIX_PDF)
        w, h = int(x.Width), int(x.Height)
        if w * h > MAX_PIXELS:
            raise _too_large(ref.source, w, h, f"{where}: ")
        with _pixel_limit():
            image = pikepdf.PdfImage(x).as_pil_image()
            image.load()
        return image
    except Exception as exc:
        if hasattr(exc, "source"):
            raise
        raise _bad(ref.source, f"{where}: the image cannot be decoded ({_detail(exc)})",
                   _FIX_PDF) from None
