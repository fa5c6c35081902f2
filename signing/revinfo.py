"""Validation material: trust roots, the certificates, CRLs and OCSP responses a file
carries (its document security store and each signature's adbe-revocationInfoArchival
attribute), and the pyHanko `ValidationContext` built from them.

Offline, a file is validated with what it embeds and nothing else; online, missing
revocation data may be fetched. A fresh context is built for every validation: a
context collects certificates and revocation data as it goes, and one file's must
never help to validate another's.

What a worker process keeps from file to file is only what cannot depend on the file:
the trust manager per set of trust roots, and parsed objects and checked signature
values keyed by their exact bytes (`ParsedByDer`, `MemoSignatureValidator`). The files
of one archive carry the same intermediate, TSA and OCSP responder certificates and
often the same CRLs; parsing and checking them once instead of once per file is most
of the per-file time saved. A cached object is the same value the file's own bytes
would give (same DER, same asn1crypto class), so it cannot change a verdict; a
revoked certificate is revoked because of the revocation data in the file being
checked, which goes into that file's own context.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from asn1crypto import crl, ocsp, x509

from .results import Policy, note, one_line


@dataclass
class Known:
    """What the document security store (DSS) holds."""

    certs: list = field(default_factory=list)
    crls: list = field(default_factory=list)
    ocsps: list = field(default_factory=list)


def embedded_revinfo(reader, notes: list[str]) -> Known:
    """Certificates, CRLs and OCSP responses of the document security store (DSS).

    Reads the DSS as pyHanko's `DocumentSecurityStore.read_dss` + `load_certs` do (the
    same objects, one certificate per issuer and serial number, the last one listed;
    a DSS that `read_dss` rejects is unreadable here too), but parses each object once
    per process (`ParsedByDer`) instead of twice per file."""
    from pyhanko.pdf_utils.decode_limits import DecodePurpose
    from pyhanko.pdf_utils.misc import get_and_apply

    try:
        try:
            dss = reader.root["/DSS"]
        except KeyError:
            return Known()
        certs = {}
        for ref in get_and_apply(dss, "/Certs", list, default=[]):
            cert = CERTS.load(ref.get_object().read_data(DecodePurpose.CERTIFICATE))
            certs[cert.issuer_serial] = cert
        ocsps = [OCSPS.load(ref.get_object().read_data(DecodePurpose.OCSP_RESPONSE))
                 for ref in get_and_apply(dss, "/OCSPs", list, default=[])]
        crls = [CRLS.load(ref.get_object().read_data(DecodePurpose.CRL))
                for ref in get_and_apply(dss, "/CRLs", list, default=[])]
        try:
            dict(dss["/VRI"])
        except KeyError:
            pass
    except Exception as exc:  # noqa: BLE001
        notes.append(note("Không đọc được kho dữ liệu kiểm tra (DSS)",
                          f"the document security store (DSS) is unreadable: {one_line(exc)}"))
        return Known()
    return Known(list(certs.values()), crls, ocsps)


def archived_revinfo(emb) -> tuple[list, list]:
    """CRLs/OCSPs in the signature's adbe-revocationInfoArchival attribute."""
    for attr in emb.signer_info["signed_attrs"] or []:
        if attr["type"].native == "adobe_revocation_info_archival":
            value = attr["values"][0]
            return ([CRLS.load(c.dump()) for c in value["crl"] or []],
                    [OCSPS.load(o.dump()) for o in value["ocsp"] or []])
    return [], []


def any_stale(crls, ocsps, now: datetime) -> bool:
    """True when some of the revocation data is no longer current at `now`."""
    ends = []
    try:
        for c in crls:
            tbs = c["tbs_cert_list"]
            ends.append(tbs["next_update"].native or tbs["this_update"].native + timedelta(minutes=30))
        for o in ocsps:
            for r in o["response_bytes"]["response"].parsed["tbs_response_data"]["responses"]:
                ends.append(r["next_update"].native or r["this_update"].native + timedelta(minutes=30))
    except (ValueError, KeyError, TypeError):
        return False
    return bool(ends) and min(ends) < now


# ------------------------------------------------------------ per-process caches

class ParsedByDer:
    """`spec.load(der)`, parsed once per process for the same bytes.

    asn1crypto parses lazily and keeps what it parsed (extensions, key identifiers,
    names, the revoked-certificate list of a CRL) in the object: handing out the same
    object for the same DER makes that work happen once. Objects are never modified
    by sohoa, pyHanko or certvalidator. Bounded by the DER bytes it holds: everything
    is dropped when `max_bytes` would be exceeded (e.g. by a stream of distinct large
    CRLs), and an object larger than that is not kept at all.
    """

    def __init__(self, spec, max_bytes: int):
        self.spec, self.max_bytes = spec, max_bytes
        self._objects: dict[bytes, object] = {}
        self._bytes = 0
        self.hits = self.misses = 0

    def load(self, der: bytes):
        der = bytes(der)
        obj = self._objects.get(der)
        if obj is not None:
            self.hits += 1
            return obj
        self.misses += 1
        obj = self.spec.load(der)
        if len(der) > self.max_bytes:
            return obj
        if self._bytes + len(der) > self.max_bytes:
            self.clear()
        self._objects[der] = obj
        self._bytes += len(der)
        return obj

    def clear(self) -> None:
        self._objects.clear()
        self._bytes = 0


CERTS = ParsedByDer(x509.Certificate, max_bytes=8 << 20)
CRLS = ParsedByDer(crl.CertificateList, max_bytes=32 << 20)  # a national CA's CRL can be MBs
OCSPS = ParsedByDer(ocsp.OCSPResponse, max_bytes=8 << 20)


def _memo_signature_validator():
    from pyhanko_certvalidator.sig_validate import (DEFAULT_VALIDATION_CONTEXT,
                                                    DefaultSignatureValidator)

    class MemoSignatureValidator(DefaultSignatureValidator):
        """certvalidator's signature check (certificates, CRLs, OCSP responses), each
        (signature, signed bytes, public key, algorithm, context) checked once per
        process. Only successes are remembered: a bad signature is checked, and
        raises, every time. Keyed by a SHA-256 of all inputs; bounded."""

        def __init__(self, limit: int = 20000):
            self.valid: set[bytes] = set()
            self.limit = limit

        def validate_signature(self, signature, signed_data, public_key_info, signature_algorithm,
                               context=DEFAULT_VALIDATION_CONTEXT):
            h = hashlib.sha256()
            for part in (signature, signed_data, public_key_info.dump(), signature_algorithm.dump(),
                         repr(context).encode()):
                h.update(len(part).to_bytes(8, "big"))
                h.update(part)
            key = h.digest()
            if key in self.valid:
                return
            super().validate_signature(signature, signed_data, public_key_info, signature_algorithm,
                                       context)
            if len(self.valid) >= self.limit:
                self.valid.clear()
            self.valid.add(key)

    return MemoSignatureValidator()


_SIG_VALIDATOR = None


def signature_validator():
    global _SIG_VALIDATOR
    if _SIG_VALIDATOR is None:
        _SIG_VALIDATOR = _memo_signature_validator()
    return _SIG_VALIDATOR


def clear_caches() -> None:
    """Forget every parsed object and checked signature (tests; long-lived processes)."""
    global _SIG_VALIDATOR
    for cache in (CERTS, CRLS, OCSPS):
        cache.clear()
    _SIG_VALIDATOR = None


_TRUST_MANAGERS: dict[tuple[bytes, ...], object] = {}


def trust_manager(policy: Policy):
    """Trust roots parsed once per process (workers reuse them for every file)."""
    tm = _TRUST_MANAGERS.get(policy.trust)
    if tm is None:
        from pyhanko_certvalidator.registry import SimpleTrustManager

        tm = SimpleTrustManager.build(trust_roots=[x509.Certificate.load(d) for d in policy.trust])
        _TRUST_MANAGERS[policy.trust] = tm
    return tm


def context(policy: Policy, known: Known, extra_crls=(), extra_ocsps=(), moment=None,
            retroactive: bool = False):
    """Embedded revocation data first; fetching only when online. Missing revocation
    data fails the check (INDETERMINATE/TRY_LATER), except when validating as of a
    given time (--at): then it is used when there is some, and noted when not."""
    from pyhanko_certvalidator import ValidationContext

    soft = policy.at is not None
    return ValidationContext(
        trust_manager=trust_manager(policy), other_certs=known.certs,
        crls=[*known.crls, *extra_crls], ocsps=[*known.ocsps, *extra_ocsps],
        moment=moment or policy.at or datetime.now(timezone.utc),
        allow_fetching=not policy.offline, revocation_mode="soft-fail" if soft else "hard-fail",
        retroactive_revinfo=retroactive, signature_validator=signature_validator())
