"""The pages of one input file, listed cheaply and decoded one at a time for OCR.

`open_pages(path)` lists a JPEG, PNG, TIFF (multi-page, bilevel G4, 16-bit) or PDF without
decoding pixels: the pixel size, resolution and orientation of every page, a PDF page's
existing text layer, whether the file is encrypted or signed. It checks that the file is
whole (a JPEG's end marker, a PNG's checksums, a TIFF's strips inside the file, a PDF that
qpdf can open) and raises `BadInput` (one line: what is wrong, what to do) otherwise.

`load_page(ref)` decodes one page for OCR, in a worker process. A `PageRef` pickles to a
few hundred bytes: a PDF is reopened (and kept open for the next page), an image file is
read again. The image it returns is the page *as a reader sees it*, ready for OCR:

* turned by `ref.turn` degrees clockwise: an EXIF/TIFF orientation tag (phone photos),
  a PDF page's /Rotate and the way the image is drawn on the page;
* resampled by `ref.ocr_scale` (Lanczos) when the scan is below `MIN_OCR_DPI` or its
  pixels are not square: OCR then sees `OCR_DPI`;
* 8-bit grayscale ("L") or "RGB" (16-bit, 1-bit, palette, CMYK and alpha converted).

So word boxes found on that image map back to the master by dividing by `ref.ocr_scale`
(in the turned frame) and the master's upright turn is `(ref.turn + OSD turn) % 360`.
The master itself (`ref.image`, a `PageImage`) is never changed.

Resolution rules for image files: the resolution stored in the file is used unless it is
missing or implausible (the page it implies is longer than `MAX_PAGE_INCHES`, i.e. bigger
than A3, as with the 72 dpi that phones and editors write). Then the image is assumed to
be an A4 page: dpi = long side in pixels / 11.69 in, with a warning. For PDF pages the
resolution follows from the image's pixel size and the size it is drawn at on the page.

Decompression bombs: an image of more than `MAX_PIXELS` pixels is refused from its
header, before any pixel is allocated.

PDF files are read by `pdfinput.py`; whether a PDF page's own text is kept is
`layerquality.py`'s call.
"""
from __future__ import annotations

import math
import os
import re
import stat
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from .inputs import NOT_A_SCAN, SNIFF_BYTES, bad_input, sniff
from .pdfpage import PageImage

__all__ = ["PageRef", "SourcePages", "open_pages", "load_page", "MAX_PIXELS", "MIN_OCR_DPI", "OCR_DPI"]

MAX_PIXELS = 250_000_000  # larger images are refused (A3 at 1200 dpi is 174 MP)
MIN_OCR_DPI = 200  # Decree 30's minimum; below it OCR gets an upscaled copy ...
OCR_DPI = 300  # ... at this resolution
MAX_OCR_SCALE = 8.0  # never blow a tiny image up further than this
A4_LONG_INCHES = 11.69  # 297 mm: the assumed page length of a photo without resolution
MAX_PAGE_INCHES = 17.5  # a stored resolution implying a longer page (> A3) is not believed
MAX_FRAMES = 10_000  # pages of one TIFF

_FIX_AGAIN = "copy the file again from the scanner or phone, or scan the page again"
_FIX_BOMB = "scan the page again at 300 dpi (a file this large may be a decompression bomb)"
_FIX_PDF = "ask for the file again, or export it again from the scanner software"
_ORIENTATION_TURN = {1: 0, 3: 180, 6: 90, 8: 270}  # EXIF orientation -> degrees clockwise
_PIL_FORMATS = {"jpeg": ["JPEG", "MPO"], "png": ["PNG"], "tiff": ["TIFF"]}


@dataclass(frozen=True)
class PageRef:
    """One page of one input file; small and cheap to pickle."""

    source: Path
    index: int  # 0-based page number within the source file
    kind: str  # "jpeg" | "png" | "tiff" | "pdf"
    width: int = 0  # pixel size of the master image (as stored, before any turn)
    height: int = 0
    dpi: tuple[float, float] = (300.0, 300.0)  # of the master image, along its x and y
    text_layer: str | None = None  # a PDF page's own text (NFC); None: no text on the page
    born_digital: bool = False  # a PDF page without a scanned image: keep its own text
    assumed_dpi: bool = False  # the file gave no believable resolution (see module doc)
    orientation: int = 1  # the EXIF/TIFF orientation tag (1 = as stored)
    turn: int = 0  # degrees clockwise load_page turns the master (orientation, /Rotate)
    ocr_scale: tuple[float, float] = (1.0, 1.0)  # load_page's resampling, along master x and y
    frame: int = 0  # frame within a multi-page TIFF
    pdf_image: tuple[int, int] | None = None  # the image XObject's (object, generation)
    stamp: tuple[int, int] = (0, 0)  # the source's (size, mtime_ns) when listed

    @property
    def image(self) -> PageImage | None:
        """The master image for the searchable PDF (None for a born-digital page).

        For an image file this reads the file (the last few are cached), and raises
        BadInput if it changed since it was listed.
        """
        if self.born_digital:
            return None
        if self.kind == "pdf":
            return PageImage(pdf_path=self.source, pdf_page=self.index, width=self.width,
                             height=self.height, dpi=self.dpi)
        return PageImage(data=_master_bytes(self.source, self.stamp), frame=self.frame,
                         width=self.width, height=self.height, dpi=self.dpi)

    @property
    def ocr_dpi(self) -> tuple[float, float]:
        """The resolution of the image load_page returns, along its x and y."""
        dx = round(self.dpi[0] * self.ocr_scale[0], 2)
        dy = round(self.dpi[1] * self.ocr_scale[1], 2)
        return (dy, dx) if self.turn in (90, 270) else (dx, dy)


@dataclass
class SourcePages:
    path: Path
    kind: str  # "jpeg" | "png" | "tiff" | "pdf"
    pages: list[PageRef]
    signed: bool = False  # a PDF with a signature: keep it untouched, derive a copy
    encrypted: bool = False  # a PDF encrypted with an owner password only (opened)
    warnings: list[str] = field(default_factory=list)  # one line each, without the path
    size: int = 0  # bytes


# ------------------------------------------------------------------ helpers


def _bad(path: Path, problem: str, fix: str = _FIX_AGAIN):
    return bad_input(path, problem, fix)


def _detail(exc: BaseException | str, path: Path | None = None) -> str:
    """An exception's message on one short line, without the file name qpdf puts first."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if path is not None:
        for prefix in (str(path), str(Path(path).absolute())):
            if text.startswith(prefix):
                text = text[len(prefix):].lstrip(" :") or text
                break
    return text if len(text) <= 120 else text[:117] + "…"


def _stamp(st: os.stat_result) -> tuple[int, int]:
    return (st.st_size, st.st_mtime_ns)


def check_stamp(path: Path, stamp: tuple[int, int]) -> None:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _bad(path, f"cannot be read any more ({exc.strerror})", "put the file back") from None
    if stamp != (0, 0) and _stamp(st) != stamp:
        raise _bad(path, "changed while it was being processed",
                   "run the command again once the file is no longer being written")


@lru_cache(maxsize=4)
def _master_bytes_cached(path: Path, stamp: tuple[int, int]) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _master_bytes(path: Path, stamp: tuple[int, int]) -> bytes:
    check_stamp(path, stamp)
    data = _master_bytes_cached(path, stamp)
    if stamp != (0, 0) and len(data) != stamp[0]:
        raise _bad(path, "changed while it was being processed",
                   "run the command again once the file is no longer being written")
    return data


_pil_lock = threading.Lock()


@contextmanager
def _pixel_limit():
    """PIL's own decompression-bomb limit set to ours while a file is read."""
    with _pil_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _too_large(path: Path, w: int, h: int, where: str = "") -> Exception:
    return _bad(path, f"{where}image too large to read safely: {w}×{h} pixels "
                      f"(over {MAX_PIXELS // 1_000_000} megapixels)",
                _FIX_BOMB)


def _pages(numbers: list[int]) -> str:
    """"page 3" or "pages 1–3, 7"."""
    return ("page " if len(numbers) == 1 else "pages ") + _page_list(numbers)


def _page_list(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> "1–3, 7" (1-based page numbers)."""
    out, start, prev = [], None, None
    for n in numbers + [None]:
        if start is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            out.append(str(start) if start == prev else f"{start}–{prev}")
        start = prev = n
    return ", ".join(out)


def _ocr_scale(dpi: tuple[float, float], pixels: int) -> tuple[float, float]:
    dx, dy = dpi
    lo, hi = min(dx, dy), max(dx, dy)
    if lo < MIN_OCR_DPI:
        target = max(OCR_DPI, hi)
    elif hi / lo > 1.02:  # non-square pixels (fax modes): make them square
        target = hi
    else:
        return (1.0, 1.0)
    sx, sy = min(MAX_OCR_SCALE, target / dx), min(MAX_OCR_SCALE, target / dy)
    grow = sx * sy * pixels / MAX_PIXELS
    if grow > 1:
        sx, sy = sx / math.sqrt(grow), sy / math.sqrt(grow)
    return (round(sx, 4), round(sy, 4))


def _dpi_text(dpi: tuple[float, float]) -> str:
    x, y = dpi
    return f"{x:.0f} dpi" if round(x) == round(y) else f"{x:.0f}×{y:.0f} dpi"


def _distrust(raw, w: int, h: int) -> str:
    """Why a stored resolution is not used."""
    try:
        dx, dy = float(raw[0]), float(raw[1])
        inches = max(w / dx, h / dy)
    except (TypeError, ValueError, IndexError, ZeroDivisionError):
        return "no resolution recorded (a photo?)"
    if not math.isfinite(inches) or dx < 1 or dy < 1:
        return "no resolution recorded (a photo?)"
    return f"its recorded {_dpi_text((dx, dy))} would make a {inches:.0f}-inch page"


def _plausible_dpi(raw, w: int, h: int) -> tuple[float, float] | None:
    try:
        dx, dy = float(raw[0]), float(raw[1])
    except (TypeError, ValueError, IndexError):
        return None
    if not (math.isfinite(dx) and math.isfinite(dy) and dx >= 1 and dy >= 1):
        return None
    if max(w / dx, h / dy) > MAX_PAGE_INCHES:
        return None
    return (round(dx, 2), round(dy, 2))


# ------------------------------------------------------------------ entry points


def open_pages(path: Path) -> SourcePages:
    """List the pages of one input file; BadInput if it cannot be used."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _bad(path, "not found", "check the path") from None
    except OSError as exc:
        raise _bad(path, f"cannot be read ({exc.strerror})", "check the file's permissions") from None
    if not stat.S_ISREG(st.st_mode):
        raise _bad(path, "not a regular file", "give a scanned file")
    if st.st_size == 0:
        raise _bad(path, "empty file (0 bytes)")
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as exc:
        raise _bad(path, f"cannot be read ({exc.strerror})", "check the file's permissions") from None
    kind = sniff(head)
    if kind is None:
        raise _bad(path, NOT_A_SCAN, "save it as JPEG, PNG, TIFF or PDF")
    if kind == "pdf":
        from .pdfinput import open_pdf

        return open_pdf(path, st)
    return _open_image(path, kind, st)


def load_page(ref: PageRef) -> tuple[Image.Image, tuple[float, float]]:
    """The page decoded for OCR ("L" or "RGB", turned and resampled) and its dpi."""
    if ref.born_digital:
        raise _bad(ref.source, f"page {ref.index + 1} has no scanned image (made on a "
                               "computer): its own text is kept", "nothing to do")
    check_stamp(ref.source, ref.stamp)
    if ref.kind == "pdf":
        from .pdfinput import decode_pdf_image

        image = decode_pdf_image(ref)
    else:
        image = _decode_image_file(ref)
    image = _for_ocr(image)
    if ref.turn:
        image = image.transpose({90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
                                 270: Image.Transpose.ROTATE_90}[ref.turn])
    sx, sy = ref.ocr_scale
    if (sx, sy) != (1.0, 1.0):
        if ref.turn in (90, 270):
            sx, sy = sy, sx
        size = (max(1, round(image.width * sx)), max(1, round(image.height * sy)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image, ref.ocr_dpi


# ------------------------------------------------------------------ image files


def _jpeg_problem(data: bytes) -> str | None:
    """Why a JPEG's structure is broken, or None: walks the markers to the first scan and
    looks for the end-of-image marker after it (entropy-coded data cannot hold FFD9)."""
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return "damaged JPEG (its header is broken)"
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if 0xD0 <= marker <= 0xD7 or marker in (0x01, 0xD8):
            i += 2
            continue
        if marker == 0xD9:
            return "damaged JPEG (it ends before the image data)"
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker == 0xDA:
            if data.find(b"\xff\xd9", i + 2 + length) == -1:
                return "truncated JPEG: the file ends before the image does"
            return None
        i += 2 + length
    return "truncated JPEG: the file ends before the image does"


def _tiff_truncated(im, size: int) -> bool:
    tags = im.tag_v2
    offsets = tags.get(273) or tags.get(324) or ()
    counts = tags.get(279) or tags.get(325) or ()
    if isinstance(offsets, int):
        offsets = (offsets,)
    if isinstance(counts, int):
        counts = (counts,)
    return any(o + c > size for o, c in zip(offsets, counts))


def _open_image(path: Path, kind: str, st: os.stat_result) -> SourcePages:
    stamp = _stamp(st)
    label = kind.upper()
    warnings_: list[str] = []
    try:
        with open(path, "rb") as fh, _pixel_limit():
            if kind == "jpeg":
                data = fh.read()
                problem = _jpeg_problem(data)
                if problem:
                    raise _bad(path, problem)
                fh.seek(0)
            try:
                im = Image.open(fh, formats=_PIL_FORMATS[kind])
            except Image.DecompressionBombError as exc:
                claimed = re.search(r"\((\d+) pixels\)", str(exc))
                raise _bad(path, "image too large to read safely"
                           + (f": {int(claimed[1]) / 1e6:,.0f} megapixels" if claimed else "")
                           + f" (over {MAX_PIXELS // 1_000_000} megapixels)", _FIX_BOMB) from None
            with im:
                if kind == "png":
                    _verify_png(path, fh)
                frames = _image_frames(path, im, kind, st.st_size, warnings_)
    except Exception as exc:  # OSError, SyntaxError, struct.error, ...: never a traceback
        if hasattr(exc, "source"):  # already a BadInput
            raise
        raise _bad(path, f"damaged {label} file ({_detail(exc)})") from None
    pages = []
    assumed_pages, low_pages, reasons = [], [], []
    for index, (frame, w, h, raw_dpi, orientation) in enumerate(frames):
        dpi = _plausible_dpi(raw_dpi, w, h) if raw_dpi else None
        assumed = dpi is None
        if assumed:
            guess = round(max(w, h) / A4_LONG_INCHES, 1)
            dpi = (guess, guess)
            assumed_pages.append(index + 1)
            reasons.append(_distrust(raw_dpi, w, h))
        turn = _ORIENTATION_TURN.get(orientation, 0)
        if orientation not in _ORIENTATION_TURN:
            warnings_.append(f"mirrored orientation tag ({orientation}) ignored")
        scale = _ocr_scale(dpi, w * h)
        if min(dpi) < MIN_OCR_DPI:
            low_pages.append((index + 1, dpi))
        pages.append(PageRef(path, index, kind, w, h, dpi, assumed_dpi=assumed,
                             orientation=orientation, turn=turn, ocr_scale=scale,
                             frame=frame, stamp=stamp))
    if assumed_pages:
        where = "" if len(pages) == 1 else _pages(assumed_pages) + ": "
        first = pages[assumed_pages[0] - 1]
        warnings_.append(f"{where}{reasons[0]}: assumed an A4 page, {_dpi_text(first.dpi)}")
    if low_pages:
        where = "" if len(pages) == 1 else _pages([n for n, _ in low_pages]) + ": "
        lowest = min(low_pages, key=lambda p: min(p[1]))[1]
        warnings_.append(f"{where}{_dpi_text(lowest)}, below the {MIN_OCR_DPI} dpi minimum: "
                         f"upscaled to {OCR_DPI} dpi for OCR (the original image is kept); "
                         f"scan at {OCR_DPI} dpi if you can")
    return SourcePages(path, kind, pages, warnings=warnings_, size=st.st_size)


def _verify_png(path: Path, fh) -> None:
    fh.seek(0)
    try:
        with Image.open(fh, formats=["PNG"]) as check:
            check.verify()  # every chunk's checksum, up to IEND
    except SyntaxError as exc:
        chunk = re.search(r"b'(\w{4})'", str(exc))
        where = f"in its {chunk[1]} chunk" if chunk else _detail(exc)
        raise _bad(path, f"damaged PNG: a checksum does not match ({where})") from None
    except (OSError, EOFError) as exc:
        raise _bad(path, f"truncated PNG: the file ends before the image does "
                         f"({_detail(exc)})") from None
    fh.seek(0)


def _orientation(im) -> int:
    """The EXIF orientation tag from the header (PIL's PNG getexif() would decode pixels)."""
    raw = im.info.get("exif")
    if not raw:
        return 1
    exif = Image.Exif()
    try:
        exif.load(raw)
        value = int(exif.get(0x0112, 1) or 1)
    except Exception:  # a broken EXIF block: the photo is still usable as stored
        return 1
    return value if 1 <= value <= 8 else 1


def _image_frames(path: Path, im, kind: str, size: int, warnings_: list[str]):
    """(frame, width, height, dpi or None, orientation) of every page of an image file."""
    if kind != "tiff":
        w, h = im.size
        if w * h > MAX_PIXELS:
            raise _too_large(path, w, h)
        if getattr(im, "n_frames", 1) > 1:
            warnings_.append("holds more than one image: only the first is used")
        orientation = _orientation(im)
        return [(0, w, h, im.info.get("dpi"), orientation)]
    n = im.n_frames
    if n > MAX_FRAMES:
        raise _bad(path, f"TIFF with {n} pages (more than {MAX_FRAMES})",
                   "split it into smaller files")
    frames, thumbnails = [], 0
    for frame in range(n):
        im.seek(frame)
        w, h = im.size
        if int(im.tag_v2.get(254, 0) or 0) & 1:  # NewSubfileType: reduced-resolution copy
            thumbnails += 1
            continue
        where = f"page {frame + 1}: " if n > 1 else ""
        if w * h > MAX_PIXELS:
            raise _too_large(path, w, h, where)
        if _tiff_truncated(im, size):
            raise _bad(path, f"{where}truncated TIFF: the file ends before the image does")
        try:
            orientation = int(im.tag_v2.get(274, 1) or 1)
        except (TypeError, ValueError):
            orientation = 1
        orientation = orientation if 1 <= orientation <= 8 else 1
        frames.append((frame, w, h, im.info.get("dpi"), orientation))
    if thumbnails:
        warnings_.append(f"{thumbnails} preview image(s) inside the TIFF skipped")
    if not frames:
        raise _bad(path, "TIFF without a full-size image")
    return frames


def _decode_image_file(ref: PageRef) -> Image.Image:
    try:
        with open(ref.source, "rb") as fh, _pixel_limit():
            with Image.open(fh, formats=_PIL_FORMATS[ref.kind]) as im:
                if ref.frame:
                    im.seek(ref.frame)
                if im.width * im.height > MAX_PIXELS:
                    raise _too_large(ref.source, im.width, im.height)
                im.load()
                out = im.copy() if im.fp is not None else im
                return out
    except Exception as exc:  # a decoder error of any kind: one line for the report
        if hasattr(exc, "source"):
            raise
        raise _bad(ref.source, f"page {ref.index + 1} cannot be decoded ({_detail(exc)})") from None


def _for_ocr(im: Image.Image) -> Image.Image:
    """8-bit "L" or "RGB"; transparency onto white; 16-bit scaled, not clipped."""
    mode = im.mode
    if mode in ("L", "RGB"):
        return im
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im)
        if mode == "I" and arr.max(initial=0) <= 255:
            return Image.fromarray(arr.clip(0, 255).astype(np.uint8), "L")
        return Image.fromarray((arr.astype(np.uint32).clip(0, 65535) >> 8).astype(np.uint8), "L")
    if mode == "F":
        return Image.fromarray(np.asarray(im).clip(0, 255).astype(np.uint8), "L")
    if mode == "1":
        return im.convert("L")
    if mode == "P" and "transparency" not in im.info:
        return im.convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La", "P") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        white.alpha_composite(rgba)
        return white.convert("RGB")
    return im.convert("RGB")  # CMYK, YCbCr, LAB, HSV
