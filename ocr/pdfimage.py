"""Page images as PDF image XObjects, never re-encoded (the scan is the record).

Encoded image data goes through img2pdf, which passes JPEG (/DCTDecode, the very bytes),
PNG (its IDAT, /FlateDecode with predictors, 1-16 bits) and single-strip CCITT G4 TIFF
frames (/CCITTFaxDecode) straight through; other TIFF frames it decodes and stores
losslessly (Flate, or G4 for 1-bit). Its XObject is copied into the output with
Pdf.copy_foreign. An image from an existing PDF is copied the same way, undecoded.

An image with an alpha channel or a transparent colour is flattened onto white and
stored as PNG (lossless from there on; PIL reads 16-bit colour with alpha as 8-bit), so
the output has no transparency. A 16-bit grayscale TIFF frame is stored as a 16-bit PNG.
EXIF orientation is ignored: the master is the image as stored (PageLayout.turn turns it).
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from io import BytesIO
from pathlib import Path

import img2pdf
import pikepdf
from PIL import Image, TiffImagePlugin, UnidentifiedImageError

from sohoa.cli.errors import BadInput

_FIX_DATA = "re-scan the page or export it again from the scanner software"


class ImageSources:
    """Converts and caches the image sources of one output PDF; close() after saving.

    The source PDFs stay open until then: qpdf copies foreign stream data when it writes.
    """

    def __init__(self, target: pikepdf.Pdf, out: Path, *, pdfa: bool):
        self._target, self._out, self._pdfa = target, out, pdfa
        self._converted: dict[tuple, pikepdf.Pdf | Exception] = {}
        self._pdfs: dict[Path, pikepdf.Pdf] = {}

    def close(self) -> None:
        for pdf in [*self._converted.values(), *self._pdfs.values()]:
            if isinstance(pdf, pikepdf.Pdf):
                pdf.close()
        self._converted.clear()
        self._pdfs.clear()

    def xobject(self, image, number: int) -> tuple[pikepdf.Object, int, int]:
        """(the image XObject in the target PDF, its width, its height) for page `number`."""
        if (image.data is None) == (image.pdf_path is None):
            raise BadInput(self._out, f"page {number}: the page image needs exactly one "
                           "source, data or pdf_path", "fix the OCR pipeline's PageImage")
        if image.data is not None:
            where = self._out
            source = self._from_data(bytes(image.data), image.frame, number)
        else:
            where = Path(image.pdf_path)
            source = self._from_pdf(where, image.pdf_page, number)
        width, height = int(source.Width), int(source.Height)
        if (image.width, image.height) != (0, 0) and (image.width, image.height) != (width, height):
            raise BadInput(where, f"page {number}: the image is {width}x{height} pixels, the "
                           f"OCR layout says {image.width}x{image.height}",
                           "give the layout of this very image")
        self._check_pdfa(source, where, number)
        copied = self._target.copy_foreign(source)
        if copied.get("/Interpolate"):
            del copied.Interpolate  # a viewer hint PDF/A forbids; the pixels stay as they are
        return copied, width, height

    # -- encoded image data -------------------------------------------------------------

    def _from_data(self, data: bytes, frame: int, number: int) -> pikepdf.Object:
        digest = hashlib.sha1(data).digest()
        try:
            with Image.open(BytesIO(data)) as im:
                fmt = im.format
                im.seek(frame)
                alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
                _check_complete(data, fmt, im)
        except BadInput:
            raise
        except UnidentifiedImageError:
            raise BadInput(self._out, f"page {number}: the image data is not a readable "
                           "image (JPEG, PNG or TIFF)", _FIX_DATA) from None
        except EOFError:
            raise BadInput(self._out, f"page {number}: the image has no frame {frame}",
                           "give a frame index within the multi-page TIFF") from None
        except Exception as e:
            raise self._bad(number, e) from None
        if not alpha:
            pdf = self._convert((digest, None), data)
            if isinstance(pdf, pikepdf.Pdf):
                return _page_image(pdf, frame)
            if not isinstance(pdf, (img2pdf.AlphaChannelError, ValueError)):
                raise self._bad(number, pdf)
        # Alpha, or a frame img2pdf could not take as it is: one lossless PNG/TIFF of it.
        pdf = self._convert((digest, frame), None, lambda: _frame_file(data, frame))
        if isinstance(pdf, Exception):
            raise self._bad(number, pdf)
        return _page_image(pdf, 0)

    def _convert(self, key, data, make=None) -> pikepdf.Pdf | Exception:
        if key not in self._converted:
            try:
                pdf_bytes = _converted_bytes(key, data, make)
                self._converted[key] = pikepdf.open(BytesIO(pdf_bytes))
            except Exception as e:  # img2pdf and PIL raise many kinds
                self._converted[key] = e
        return self._converted[key]

    def _bad(self, number: int, error: Exception) -> BadInput:
        problem = str(error) or type(error).__name__
        return BadInput(self._out, f"page {number}: the image data cannot be used ({problem})",
                        _FIX_DATA)

    # -- existing image-only PDFs -------------------------------------------------------

    def _from_pdf(self, path: Path, page_index: int, number: int) -> pikepdf.Object:
        key = path.resolve()
        if key not in self._pdfs:
            try:
                self._pdfs[key] = pikepdf.open(path)
            except FileNotFoundError:
                raise BadInput(path, "not found", "check the path") from None
            except pikepdf.PasswordError:
                raise BadInput(path, "is encrypted", "give a copy without a password") from None
            except (pikepdf.PdfError, OSError) as e:
                raise BadInput(path, f"is not a readable PDF ({e})",
                               "give the scanner's PDF as it was written") from None
        pdf = self._pdfs[key]
        if not 0 <= page_index < len(pdf.pages):
            raise BadInput(path, f"has no page {page_index + 1} (it has {len(pdf.pages)})",
                           "give a page number within the document")
        images = list(_images(pdf.pages[page_index].obj, depth=0))
        if not images:
            raise BadInput(path, f"page {page_index + 1} has no image",
                           "give a scanned, image-only page")
        return max(images, key=lambda im: int(im.Width) * int(im.Height))

    def _check_pdfa(self, xobject: pikepdf.Object, where: Path, number: int) -> None:
        if not self._pdfa:
            return
        filters = xobject.get("/Filter")
        filters = [filters] if isinstance(filters, pikepdf.Name) else list(filters or [])
        if pikepdf.Name.LZWDecode in filters:
            raise BadInput(where, f"page {number}: the image is LZW-compressed, which "
                           "PDF/A forbids", "write it without PDF/A")
        cs = xobject.get("/ColorSpace")
        if isinstance(cs, pikepdf.Array) and len(cs) > 1 and cs[0] == pikepdf.Name.Indexed:
            cs = cs[1]
        if cs == pikepdf.Name.DeviceCMYK:
            raise BadInput(where, f"page {number}: the image is CMYK without an ICC "
                           "profile, which PDF/A with an sRGB output intent cannot hold",
                           "scan in colour (RGB) or grayscale, or write without PDF/A")


_LAYOUT = img2pdf.get_fixed_dpi_layout_fun((300, 300))


def _page_image(pdf: pikepdf.Pdf, index: int) -> pikepdf.Object:
    xobjects = pdf.pages[index].Resources.XObject
    return xobjects[next(iter(xobjects.keys()))]


def _images(obj: pikepdf.Object, depth: int):
    """Image XObjects (not masks) in a page's or form's resources, forms searched too."""
    xobjects = obj.get("/Resources", {}).get("/XObject", {})
    for key in xobjects.keys():
        x = xobjects[key]
        if not isinstance(x, pikepdf.Stream):
            continue
        if x.get("/Subtype") == pikepdf.Name.Image and not x.get("/ImageMask", False):
            yield x
        elif x.get("/Subtype") == pikepdf.Name.Form and depth < 3:
            yield from _images(x, depth + 1)


def _check_complete(data: bytes, fmt: str | None, im: Image.Image) -> None:
    """Cheap checks that the data is whole (the OCR already decoded the pixels)."""
    if fmt in ("JPEG", "MPO"):
        # The end-of-image marker after the last start-of-scan; entropy-coded data
        # cannot contain FFD9, and thumbnails come before the main image's scans.
        if data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda"):
            raise ValueError("the JPEG data is truncated: no end-of-image marker")
    elif fmt == "PNG":
        with Image.open(BytesIO(data)) as png:
            png.verify()  # chunk CRCs up to IEND
        if data[24] == 16 and data[28] == 1 and data[25] in (2, 6):
            raise ValueError("16-bit interlaced colour PNG would lose precision")
    elif fmt == "TIFF":
        tags = im.tag_v2
        offsets = tags.get(TiffImagePlugin.STRIPOFFSETS) or tags.get(324) or ()
        counts = tags.get(TiffImagePlugin.STRIPBYTECOUNTS) or tags.get(325) or ()
        if any(o + c > len(data) for o, c in zip(offsets, counts)):
            raise ValueError("the TIFF data is truncated")


def _frame_file(data: bytes, frame: int) -> bytes:
    """One frame as a lossless single-image file img2pdf passes through, alpha flattened."""
    with Image.open(BytesIO(data)) as im:
        im.seek(frame)
        im.load()
        if im.mode in ("RGBA", "LA", "PA", "RGBa", "La", "P") or "transparency" in im.info:
            im = _flatten(im)
        out = BytesIO()
        if im.mode == "CMYK":
            im.save(out, "TIFF", compression="tiff_deflate")
        elif im.mode in ("1", "L", "P", "RGB", "I;16", "I;16B"):
            im.save(out, "PNG")
        else:
            raise ValueError(f"image mode {im.mode} is not supported")
        return out.getvalue()


def _flatten(im: Image.Image) -> Image.Image:
    if im.mode == "P" and "transparency" not in im.info:
        return im
    gray = im.mode in ("LA", "La", "L")
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(white, rgba).convert("RGB")
    return flat.convert("L") if gray else flat


# A stacked batch is one multi-page TIFF whose pages end up in many output PDFs:
# img2pdf converts it once, not once per page.
_RECENT: OrderedDict = OrderedDict()
_RECENT_SIZE = 4


def _converted_bytes(key, data, make) -> bytes:
    if key in _RECENT:
        _RECENT.move_to_end(key)
        return _RECENT[key]
    payload = data if make is None else make()
    pdf_bytes = img2pdf.convert(payload, rotation=img2pdf.Rotation.none,
                                layout_fun=_LAYOUT, engine=img2pdf.Engine.pikepdf)
    _RECENT[key] = pdf_bytes
    if len(_RECENT) > _RECENT_SIZE:
        _RECENT.popitem(last=False)
    return pdf_bytes
