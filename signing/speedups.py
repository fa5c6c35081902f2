"""Process-wide replacements of pyHanko/asn1crypto hot spots (`install()`).

Importing `sohoa.signing.verify` installs them, so they apply to everything in that
process, signing included. Each gives exactly the library's result (value, type,
stream position, exception), only faster, and falls back to the library's own code
for anything it was not written for; each is covered by a test that compares it with
the function it replaces (tests/test_verify.py, "speed-ups and per-process caches").
None keeps state that could carry over from one file to the next except parsed,
immutable values keyed by their exact bytes.

Cost of verifying one single-signature B-LT file (valgrind instruction count, bench
files, after the first) without each of them: hex reader 241 M instead of 62 M,
name memo 84 M, CMS certificate cache 69 M. Each was kept because no local helper
can do the same: all three are called deep inside pyHanko's reader and validator.

1. `pyhanko.pdf_utils.generic.read_hex_string_from_stream` — pyHanko reads a hex string
   token by token, one byte per call: ≈30 ms for the 16–32 KiB `/Contents` of one
   signature, more than everything else about a signature together. The replacement
   takes the string up to its `>` in one read and decodes it with `binascii`, for a
   clean hex string (hex digits and PDF whitespace only). Anything else — comments,
   bad digits, a missing `>` — is handed, from the same stream position, to pyHanko's
   own reader (`PYHANKO_READ_HEX_STRING`), which then gives its usual result or error.
   There is no local alternative: the hex string is read deep inside pyHanko's object
   parser, when the signature dictionary is first resolved.

2. asn1crypto's RFC 5280 name comparison (`x509.Name.__eq__`, `x509.Name.hashable`)
   re-runs the RFC 4518 string preparation (a dozen regular expressions and a Unicode
   normalisation) for every attribute of both names at every comparison, and
   certificate path building and OCSP/CRL issuer matching compare the same few names
   hundreds of times per file. The replacement memoises, per DER encoding of a name,
   the value asn1crypto computes (`hashable` plus the number of attributes in each
   RDN, which together decide equality exactly as `RDNSequence.__eq__` does), and the
   string preparation per input string. Bounded: the memo is cleared at 50,000 names.

3. `pyhanko.sign.validation.generic_cms.extract_certificate_info` (the name in that
   module only; pyHanko's signing and DSS code keep their own reference to the
   original) — each call hands out fresh deep copies of every certificate of a CMS
   signature, which asn1crypto then parses again: a signature and its timestamp are
   extracted several times per file, and the same CA, TSA and signer certificates
   come back in every file of an archive. The replacement is pyHanko's function with
   one change: each certificate is taken, by its DER encoding, from the per-process
   cache of parsed certificates (`revinfo.CERTS`), the same value the copy would
   have been. Installed only where pyHanko still has the expected shape.
"""
from __future__ import annotations

import binascii
import functools

PYHANKO_READ_HEX_STRING = None  # pyHanko's own reader, once install() has run


def install() -> None:
    """Install the replacements (idempotent)."""
    _install_hex_reader()
    _install_name_memo()
    _install_cms_certificate_cache()


def _install_hex_reader() -> None:
    global PYHANKO_READ_HEX_STRING
    from pyhanko.pdf_utils import generic, misc

    original = generic.read_hex_string_from_stream
    if getattr(original, "sohoa_fast", False):
        return
    PYHANKO_READ_HEX_STRING = original
    hex_and_space = b"0123456789abcdefABCDEF" + bytes(misc.PDF_WHITESPACE)

    def read_hex_string_from_stream(stream):
        start = stream.tell()
        head = stream.read(65536)
        while b">" not in head:
            more = stream.read(65536)
            if not more:
                break
            head += more
        end = head.find(b">")
        body = head[1:end] if end > 0 else b"%"
        if body.translate(None, hex_and_space):  # anything but hex digits and whitespace
            stream.seek(start)
            return original(stream)
        stream.seek(start + end + 1)
        digits = body.translate(None, misc.PDF_WHITESPACE)
        return generic.pdf_string(binascii.unhexlify(digits + b"0" * (len(digits) % 2)))

    read_hex_string_from_stream.sohoa_fast = True  # type: ignore[attr-defined]
    generic.read_hex_string_from_stream = read_hex_string_from_stream


def _install_name_memo() -> None:
    from asn1crypto import x509

    if getattr(x509.Name, "sohoa_fast", False):
        return
    original_prep = x509.NameTypeAndValue._ldap_string_prep
    prep = functools.lru_cache(maxsize=8192)(lambda text: original_prep(None, text))
    x509.NameTypeAndValue._ldap_string_prep = lambda self, text: prep(text)

    hashable = x509.Name.hashable.fget
    keys: dict[bytes, tuple] = {}

    def name_key(name) -> tuple:
        der = name.dump()
        key = keys.get(der)
        if key is None:
            if len(keys) > 50000:
                keys.clear()
            key = keys[der] = (hashable(name), tuple(len(rdn) for rdn in name.chosen))
        return key

    x509.Name.hashable = property(lambda self: name_key(self)[0])
    x509.Name.__eq__ = lambda self, other: isinstance(other, x509.Name) and name_key(self) == name_key(other)
    x509.Name.__ne__ = lambda self, other: not self == other
    x509.Name.__hash__ = None  # as before: Name objects are not hashable
    x509.Name.sohoa_fast = True


def _install_cms_certificate_cache() -> None:
    from pyhanko.sign import general
    from pyhanko.sign.validation import generic_cms

    from .revinfo import CERTS

    original = getattr(generic_cms, "extract_certificate_info", None)
    partition = getattr(general, "_partition_certs", None)
    if original is not getattr(general, "extract_certificate_info", None) or partition is None:
        return  # already installed, or not the pyHanko this was written for

    def extract_certificate_info(signed_data):
        certs, attr_certs = [], []
        for c in signed_data["certificates"]:
            cert = c.chosen.untag()
            if c.name == "certificate":
                certs.append(CERTS.load(cert.dump()))
            elif c.name == "v2_attr_cert":
                attr_certs.append(cert)
        signer_info = general.extract_signer_info(signed_data)
        signer_cert, other_certs = partition(certs, signer_info)
        return general.SignedDataCerts(signer_cert=signer_cert, other_certs=other_certs,
                                       attribute_certs=attr_certs)

    extract_certificate_info.sohoa_fast = True  # type: ignore[attr-defined]
    generic_cms.extract_certificate_info = extract_certificate_info
