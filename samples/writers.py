"""Write scans as JPEG, PNG, multi-page TIFF (G4 for bilevel) and image-only PDF, atomically.

Every writer records the resolution (JFIF density, PNG pHYs, TIFF X/YResolution, PDF page
size = pixels × 72 / dpi) and produces the same bytes for the same pixels. PDFs are built
with pikepdf directly (JPEG pages embedded as DCTDecode, bilevel pages as CCITT G4), so
they have no text layer and none of the xref quirks of Pillow's PDF writer.
"""
from __future__ import annotations

import io
from pathlib import Path

import pikepdf
from PIL import Image, TiffImagePlugin

from sohoa.cli import fsio

FORMATS = ("jpg", "png", "tif", "pdf")


def _dpi_pair(dpi: int) -> tuple[int, int]:
    return (dpi, dpi)


def jpeg_bytes(img: Image.Image, dpi: int, quality: int = 80) -> bytes:
    if img.mode == "1":
        img = img.convert("L")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, dpi=_dpi_pair(dpi), optimize=True)
    return buf.getvalue()


def write_jpeg(path: Path, img: Image.Image, dpi: int, quality: int = 80) -> None:
    fsio.write_bytes(path, jpeg_bytes(img, dpi, quality))


def write_png(path: Path, img: Image.Image, dpi: int) -> None:
    buf = io.BytesIO()
    img.save(buf, "PNG", dpi=_dpi_pair(dpi), optimize=img.mode == "1", compress_level=3)
    fsio.write_bytes(path, buf.getvalue())


def tiff_bytes(pages: list[Image.Image], dpi: int, compression: str | None = None) -> bytes:
    """Multi-page TIFF. Default compression: Group 4 for bilevel pages, else Deflate.

    Each page carries its own compression, so a file may mix bilevel and grey pages.
    """
    frames = []
    for img in pages:
        comp = compression or ("group4" if img.mode == "1" else "tiff_adobe_deflate")
        frame = img.copy()
        frame.encoderinfo = {"compression": comp, "dpi": _dpi_pair(dpi)}
        if comp == "jpeg":
            frame.encoderinfo["quality"] = 80
        frames.append(frame)
    buf = io.BytesIO()
    first = frames[0]
    first.save(buf, "TIFF", save_all=True, append_images=frames[1:], **first.encoderinfo)
    return buf.getvalue()


def write_tiff(path: Path, pages: list[Image.Image], dpi: int, compression: str | None = None) -> None:
    fsio.write_bytes(path, tiff_bytes(pages, dpi, compression))


def g4_strip(img: Image.Image) -> bytes:
    """The raw CCITT Group 4 data of a bilevel image (one strip, for a PDF CCITTFaxDecode stream)."""
    buf = io.BytesIO()
    img.save(buf, "TIFF", compression="group4", strip_size=1 << 30)
    tif = Image.open(io.BytesIO(buf.getvalue()))
    offsets = tif.tag_v2[TiffImagePlugin.STRIPOFFSETS]
    counts = tif.tag_v2[TiffImagePlugin.STRIPBYTECOUNTS]
    offsets = offsets if isinstance(offsets, tuple) else (offsets,)
    counts = counts if isinstance(counts, tuple) else (counts,)
    if len(offsets) != 1:
        raise RuntimeError("expected a single G4 strip")
    data = buf.getvalue()
    return data[offsets[0]:offsets[0] + counts[0]]


def _image_xobject(pdf: pikepdf.Pdf, img: Image.Image, quality: int) -> pikepdf.Stream:
    w, h = img.size
    if img.mode == "1":
        stream = pikepdf.Stream(pdf, g4_strip(img))
        stream.Filter = pikepdf.Name.CCITTFaxDecode
        # libtiff codes Pillow's mode-1 data (0 = black) with black runs as 1 bits
        stream.DecodeParms = pikepdf.Dictionary(K=-1, Columns=w, Rows=h, BlackIs1=True)
        stream.ColorSpace = pikepdf.Name.DeviceGray
        stream.BitsPerComponent = 1
    else:
        if img.mode not in ("L", "RGB"):
            img = img.convert("RGB")
        stream = pikepdf.Stream(pdf, jpeg_bytes(img, 72, quality))
        stream.Filter = pikepdf.Name.DCTDecode
        stream.ColorSpace = pikepdf.Name.DeviceGray if img.mode == "L" else pikepdf.Name.DeviceRGB
        stream.BitsPerComponent = 8
    stream.Type = pikepdf.Name.XObject
    stream.Subtype = pikepdf.Name.Image
    stream.Width, stream.Height = w, h
    return stream


def pdf_bytes(pages: list[Image.Image], dpi: int | list[int], quality: int = 80) -> bytes:
    """An image-only PDF (no text layer), one full-page image per page, size from the dpi."""
    dpis = dpi if isinstance(dpi, list) else [dpi] * len(pages)
    pdf = pikepdf.new()
    for img, d in zip(pages, dpis):
        pw, ph = img.width * 72 / d, img.height * 72 / d
        xobj = _image_xobject(pdf, img, quality)
        content = pikepdf.Stream(pdf, f"q {pw:.4f} 0 0 {ph:.4f} 0 0 cm /Im0 Do Q".encode())
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, round(pw, 4), round(ph, 4)],
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobj)), Contents=content)
        pdf.pages.append(pikepdf.Page(page))
    buf = io.BytesIO()
    pdf.save(buf, deterministic_id=True, compress_streams=True)
    return buf.getvalue()


def write_pdf(path: Path, pages: list[Image.Image], dpi: int | list[int], quality: int = 80) -> None:
    fsio.write_bytes(path, pdf_bytes(pages, dpi, quality))


def write(path: Path, pages: list[Image.Image], dpi: int, *, quality: int = 80) -> None:
    """Write by extension: .jpg/.png take one page, .tif/.pdf any number."""
    ext = path.suffix.lower().lstrip(".")
    if ext in ("jpg", "jpeg", "png") and len(pages) != 1:
        raise ValueError(f"{path.name}: {ext} holds one page, got {len(pages)}")
    if ext in ("jpg", "jpeg"):
        write_jpeg(path, pages[0], dpi, quality)
    elif ext == "png":
        write_png(path, pages[0], dpi)
    elif ext in ("tif", "tiff"):
        write_tiff(path, pages, dpi)
    elif ext == "pdf":
        write_pdf(path, pages, dpi, quality)
    else:
        raise ValueError(f"unknown image format: {path.name}")
