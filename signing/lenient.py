"""Opening the PDFs an archive really holds: hybrid-reference files, quirky writers,
encrypted copies.

pyHanko's strict reader first; its lenient one for hybrid-reference files (a strict
reader sees only one of the two cross-reference views) and for files the strict reader
rejects, with a note on the signature saying so. Encrypted files are opened with the
empty user password when they have one, and otherwise refused with a one-line reason
(`Unreadable`). Files no parser accepts at all go to `byterange.raw_signatures`.
"""
from __future__ import annotations

from io import BytesIO

from .results import note, one_line


class Unreadable(Exception):
    """The file cannot be opened at all (its message is the one-line error)."""


def open_pdf(data: bytes, notes: list[str]):
    """pyHanko's strict reader; its lenient one for hybrid-reference or quirky files."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(BytesIO(data), strict=True)
        if not reader.xrefs.hybrid_xrefs_present:
            return reader
        why = "hybrid-reference file"
    except Exception as exc:  # noqa: BLE001 - any parser failure: try leniently
        why = one_line(exc)
    reader = PdfFileReader(BytesIO(data), strict=False)
    notes.append(note(f"Tệp cần đọc ở chế độ khoan dung ({why})",
                      f"the file needed lenient reading ({why})"))
    return reader


def decrypt(reader) -> None:
    """Open an encrypted file with the empty user password, or raise `Unreadable`."""
    from pyhanko.pdf_utils import crypt

    handler = reader.security_handler
    if handler is None:
        return
    if isinstance(handler, crypt.StandardSecurityHandler):
        if reader.decrypt("").status != crypt.AuthStatus.FAILED:
            return
        raise Unreadable("encrypted with a password; open it with the password and save an unencrypted copy")
    raise Unreadable("encrypted with a certificate (public-key security); cannot be verified here")
