"""Document metadata; for PDF/A-2b also the XMP identification and an sRGB output intent.

The rest PDF/A-2b asks for the page builder already does: fonts embedded, no
transparency, no encryption, no LZW, no /Interpolate; qpdf writes the document /ID.
"""
from __future__ import annotations

import struct
from datetime import datetime
from functools import lru_cache
from importlib import metadata

import pikepdf
from PIL import ImageCms

SRGB = "sRGB IEC61966-2.1"


@lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    """An ICC v4 sRGB display profile from LittleCMS (via Pillow), with a fixed creation
    date in its header (LittleCMS writes the current time) so that equal pages give
    equal PDFs. Its profile ID is left unset (all zero), which ICC allows."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    profile[24:36] = struct.pack(">6H", 2020, 1, 1, 0, 0, 0)
    profile[84:100] = bytes(16)
    return bytes(profile)


def producer() -> str:
    try:
        version = metadata.version("sohoa")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"sohoa {version} (pikepdf {pikepdf.__version__})"


def finish(pdf: pikepdf.Pdf, *, pdfa: bool, title: str | None, lang: str,
           when: str | None = None) -> None:
    """Set /Lang, the title and dates (`when`, ISO 8601, default now) in XMP and DocInfo
    alike; PDF/A-2b parts if asked."""
    pdf.Root.Lang = pikepdf.String(lang)
    if title:
        pdf.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=True)
    now = when or datetime.now().astimezone().replace(microsecond=0).isoformat()
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=True) as meta:
        if title:
            meta["dc:title"] = title
        meta["xmp:CreateDate"] = now
        meta["xmp:ModifyDate"] = now
        meta["xmp:MetadataDate"] = now
        meta["xmp:CreatorTool"] = "sohoa"
        meta["pdf:Producer"] = producer()
        if pdfa:
            meta["pdfaid:part"] = "2"
            meta["pdfaid:conformance"] = "B"
    if pdfa and "/OutputIntents" not in pdf.Root:
        icc = pdf.make_stream(srgb_profile(), N=3)
        pdf.Root.OutputIntents = pikepdf.Array([pikepdf.Dictionary(
            Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFA1,
            OutputConditionIdentifier=pikepdf.String(SRGB),
            Info=pikepdf.String(SRGB), DestOutputProfile=icc)])


def created(path) -> str | None:
    """The XMP CreateDate of a PDF sohoa wrote, or None."""
    try:
        with pikepdf.open(path) as pdf, pdf.open_metadata() as meta:
            return meta.get("xmp:CreateDate")
    except (pikepdf.PdfError, OSError, ValueError):
        return None
