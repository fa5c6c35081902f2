"""A folder of bad scans, as clerks receive them: each file is unusable in its own way.

`make_bad_inputs(folder)` fills `folder` (one dossier: a folder of scans) and returns
{file name: what is wrong with it}. Every one of these files must give exactly one
BadInput naming it, on one line, from `discover` + `open_pages`, and `sohoa ocr` must go
on with the rest. `outside.jpg` is a symbolic link to /etc/passwd (or, where there is
none, to a file in the system's temp folder): outside any folder a test gives as input.

With big_pdf=True the folder also gets `3000-pages.pdf`: 3,000 small but valid image
pages, which must be *listed* in seconds (it is not bad; leave it out of OCR runs).
"""
from __future__ import annotations

import io
import os
import random
import struct
import tempfile
import unicodedata
import zipfile
import zlib
from pathlib import Path

BIG_PDF = "3000-pages.pdf"
ODD_NAME = unicodedata.normalize("NFD", "Quyết định 50%\nbản sao.jpg")


def jpeg_bytes(size=(120, 160), dpi=(300, 300), **save) -> bytes:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(im)
    for y in range(10, size[1] - 10, 12):
        draw.line((10, y, size[0] - 10, y), fill="black", width=3)
    out = io.BytesIO()
    if dpi:
        save["dpi"] = dpi
    im.save(out, "JPEG", quality=90, **save)
    return out.getvalue()


def png_bytes(size=(60, 80), mode="L", dpi=(300, 300)) -> bytes:
    from PIL import Image

    im = Image.new(mode, size, 255 if mode in ("L", "1") else "white")
    out = io.BytesIO()
    im.save(out, "PNG", **({"dpi": dpi} if dpi else {}))
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height pixels (1-bit gray)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


def tiff_claiming(width: int, height: int) -> bytes:
    """A tiny 1-bit CCITT G4 TIFF whose header claims width × height pixels."""
    data = b"\x00\x10\x01\x00"  # a few bytes of "compressed" data
    entries = [  # tag, type (3 SHORT, 4 LONG), value
        (256, 4, width), (257, 4, height), (258, 3, 1), (259, 3, 4), (262, 3, 0),
        (273, 4, 8), (277, 3, 1), (278, 4, height), (279, 4, len(data)),
    ]
    ifd_offset = 8 + len(data)
    ifd = struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        if kind == 3:
            ifd += struct.pack("<HHIHH", tag, kind, 1, value, 0)
        else:
            ifd += struct.pack("<HHII", tag, kind, 1, value)
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", ifd_offset) + data + ifd


def image_pdf(path: Path | io.BytesIO, pages: int = 1, *, pixels=(100, 141), page_pt=(24.0, 33.84),
              claim: tuple[int, int] | None = None, encryption=None) -> None:
    """An image-only PDF: each page one small gray image filling the page."""
    import pikepdf

    if isinstance(path, (str, Path)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    pdf = pikepdf.new()
    w, h = pixels
    for i in range(pages):
        cw, ch = claim or (w, h)
        image = pikepdf.Stream(pdf, zlib.compress(bytes([(i * 7) % 256]) * (w * h)),
                               Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                               Width=cw, Height=ch, ColorSpace=pikepdf.Name.DeviceGray,
                               BitsPerComponent=8, Filter=pikepdf.Name.FlateDecode)
        content = pikepdf.Stream(pdf, f"q {page_pt[0]} 0 0 {page_pt[1]} 0 0 cm /Im0 Do Q".encode())
        page = pikepdf.Dictionary(Type=pikepdf.Name.Page,
                                  MediaBox=[0, 0, page_pt[0], page_pt[1]],
                                  Resources=pikepdf.Dictionary(
                                      XObject=pikepdf.Dictionary(Im0=image)),
                                  Contents=content)
        pdf.pages.append(pikepdf.Page(page))
    pdf.save(path, encryption=encryption)


def make_bad_inputs(folder: Path, *, big_pdf: bool = False) -> dict[str, str]:
    import pikepdf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(20250701)
    bad: dict[str, str] = {}

    def put(name: str, data: bytes, what: str) -> None:
        (folder / name).write_bytes(data)
        bad[name] = what

    good = jpeg_bytes()
    put("empty.jpg", b"", "empty file (0 bytes)")
    put("truncated.jpg", good[: len(good) // 2], "JPEG cut off halfway")
    put("random.jpg", bytes(rnd.getrandbits(8) for _ in range(4096)),
        "random bytes with a .jpg name")
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    put("to-trinh.pdf", docx.getvalue(), "a Word document (ZIP) named .pdf: wrong extension")
    png = bytearray(png_bytes())
    idat = png.index(b"IDAT")
    png[idat + 6] ^= 0xFF  # one byte of compressed data flipped: the chunk CRC no longer fits
    put("bad-crc.png", bytes(png), "PNG with a damaged chunk (bad CRC)")
    put("bomb.png", png_claiming(100_000, 100_000),
        "PNG header claiming 100000×100000 pixels (decompression bomb)")
    put("bomb.tif", tiff_claiming(60_000, 60_000),
        "1-bit G4 TIFF claiming 60000×60000 pixels (decompression bomb)")
    image_pdf(folder / "bomb.pdf", claim=(60_000, 60_000))
    bad["bomb.pdf"] = "PDF whose page image claims 60000×60000 pixels"
    image_pdf(folder / "locked.pdf",
              encryption=pikepdf.Encryption(owner="owner-secret", user="user-secret"))
    bad["locked.pdf"] = "PDF that needs a user password to open"
    put("broken-xref.pdf", b"%PDF-1.4\n" + bytes(rnd.getrandbits(8) for _ in range(3000))
        + b"\nstartxref\n123456\n%%EOF\n", "PDF with a broken xref that qpdf cannot recover")
    pdf = pikepdf.new()
    pdf.save(folder / "no-pages.pdf")
    bad["no-pages.pdf"] = "PDF with 0 pages"
    whole = io.BytesIO()
    image_pdf(whole, pages=40)
    put("cut-off.pdf", whole.getvalue()[: len(whole.getvalue()) * 2 // 3],
        "40-page PDF cut off at two thirds (qpdf repairs it, pages are lost)")
    # Outside any folder a test might give as input; never read by sohoa.
    outside = Path("/etc/passwd")
    if not outside.is_file():
        fd, name = tempfile.mkstemp(suffix=".jpg")
        os.write(fd, good)
        os.close(fd)
        outside = Path(name)
    os.symlink(outside, folder / "outside.jpg")
    bad["outside.jpg"] = "symbolic link to a file outside the folder"
    os.symlink("loop.jpg", folder / "loop.jpg")
    bad["loop.jpg"] = "symbolic link loop (points to itself)"
    os.symlink("no-such-scan.jpg", folder / "dangling.jpg")
    bad["dangling.jpg"] = "symbolic link to a file that does not exist"
    os.mkfifo(folder / "pipe.jpg")
    bad["pipe.jpg"] = "a named pipe (reading it would wait forever)"
    put(ODD_NAME, good[: len(good) // 3],
        "truncated JPEG named in NFD with % and a newline: the message must stay one line")
    if big_pdf:
        image_pdf(folder / BIG_PDF, pages=3000)
        bad[BIG_PDF] = "3,000 small image pages (valid): listing must take seconds"
    return bad
