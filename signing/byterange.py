"""Byte-level checks of a signature, independent of any PDF parser.

* `byterange_problem`: the layout every honest PDF signature has (`/ByteRange [0 a b c]`
  whose gap is exactly the signature's `/Contents` hex string, within the file). pyHanko
  computes the digest over whatever `/ByteRange` says; this catches rewritten and
  "shadow" files whose ranges are plausible but do not frame the signature.
* `raw_signatures`: for files no PDF parser accepts, find signature dictionaries by
  their bytes and check that what was signed is unchanged. The best such a file can get
  is TOTAL_FAILED/FORMAT_FAILURE: its content cannot be compared with what was signed.
"""
from __future__ import annotations

import re

from asn1crypto import cms, x509

from . import verdicts as V
from .results import Policy, SignatureVerdict, certificate_info, common_name, note, one_line
from .verdicts import Findings

_HEX_WS = re.compile(rb"\s+")
_WHITESPACE = b" \t\n\r\f\v"  # what \s matches in a bytes pattern


def byterange_problem(data: bytes, byte_range, contents: bytes) -> str | None:
    """The layout every honest PDF signature has: [0 a b c] with a+… = b the exact span
    of this signature's /Contents hex string, and b+c within the file."""
    try:
        values = [int(v) for v in byte_range]
    except (TypeError, ValueError):
        return "ByteRange is not a list of integers"
    if len(values) != 4:
        return f"ByteRange has {len(values) // 2} ranges instead of 2"
    start1, len1, start2, len2 = values
    if start1 != 0 or min(values) < 0 or start2 < len1 or start2 + len2 > len(data):
        return f"ByteRange {values} does not fit the file ({len(data)} bytes)"
    gap = data[len1:start2]
    if not (gap.startswith(b"<") and gap.endswith(b">")):
        return "the gap in ByteRange is not exactly the signature's /Contents"
    try:
        if bytes.fromhex(gap[1:-1].translate(None, _WHITESPACE).decode("ascii")) != contents:
            return "the gap in ByteRange holds other bytes than the signature's /Contents"
    except (ValueError, UnicodeDecodeError):
        return "the gap in ByteRange is not a hex string"
    return None


_RAW_SIG = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_RAW_CONTENTS = re.compile(rb"/Contents\s*<([0-9A-Fa-f\s]+)>")


def raw_signatures(data: bytes, policy: Policy) -> list[SignatureVerdict]:
    """For files no PDF parser accepts: find signature dictionaries by their bytes and
    check that what was signed is unchanged. The best such a file can get is
    TOTAL_FAILED/FORMAT_FAILURE: its content cannot be compared with what was signed."""
    from cryptography.hazmat.primitives import hashes
    from pyhanko.sign.general import get_pyca_cryptography_hash
    from pyhanko.sign.validation.generic_cms import validate_sig_integrity

    verdicts = []
    for number, match in enumerate(_RAW_SIG.finditer(data), 1):
        window = data[max(0, match.start() - 65536): match.end() + 65536]
        contents = _RAW_CONTENTS.search(window)
        f = Findings()
        cert = None
        try:
            der = bytes.fromhex(_HEX_WS.sub(b"", contents.group(1)).decode())
            signed = cms.ContentInfo.load(der)["content"]
            info = signed["signer_infos"][0]
            cert = _raw_signer(signed)
            md = hashes.Hash(get_pyca_cryptography_hash(info["digest_algorithm"]["algorithm"].native))
            a, b, c, d = (int(g) for g in match.groups())
            md.update(data[a:a + b] + data[c:c + d])
            intact, valid = validate_sig_integrity(info, cert, "data", md.finalize())
            f.intact, f.valid = intact, valid
            if intact and valid:
                f.structure_error, f.structure_key = "the PDF structure is damaged", "unparsable"
        except Exception as exc:  # noqa: BLE001
            f.structure_error = one_line(exc)
            f.structure_key = "cms" if contents is not None else "unparsable"
            f.notes.append(f.structure_error)
        v = V.judge(f)
        verdicts.append(SignatureVerdict(
            f"#{number}", "signature", common_name(cert), None, None, v.indication,
            v.sub_indication, f.intact, False, None, None,
            [note("Không đọc được cấu trúc PDF; chỉ kiểm tra được vùng đã ký",
                  "the PDF cannot be parsed; only the signed bytes were checked"), *f.notes],
            v.reason_vi, v.reason_en, certificate=certificate_info(cert), revision=-1))
    return verdicts


def _raw_signer(signed: cms.SignedData) -> x509.Certificate:
    from pyhanko.sign.validation.generic_cms import extract_certs_for_validation

    return extract_certs_for_validation(signed).signer_cert
