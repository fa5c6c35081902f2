"""What `sohoa verify` takes and gives: the `Policy` in, a `SignatureVerdict` per
signature and a `FileVerdict` per file out, and how a verdict is built from the
`Findings` about one signature (`verdicts.judge`) and its signer's certificate.

Pure data and formatting: nothing here imports pyHanko.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from . import verdicts as V
from .verdicts import Findings

VN_TIME = timezone(timedelta(hours=7), "ICT")


@dataclass(frozen=True)
class Policy:
    """How to validate: trust anchors (DER), point in time, network use."""

    trust: tuple[bytes, ...] = ()
    at: datetime | None = None
    offline: bool = False


@dataclass
class SignatureVerdict:
    field: str
    kind: str  # "signature" or "document_timestamp"
    signer: str | None
    signing_time: datetime | None
    timestamp: datetime | None
    indication: str
    sub_indication: str | None
    intact: bool | None
    trusted: bool
    coverage: str | None
    modifications: str | None
    messages: list[str]
    reason_vi: str
    reason_en: str
    covers: list[str] = field(default_factory=list)
    certificate: dict | None = None
    revision: int = -1

    def to_json(self) -> dict:
        return {
            "field": self.field, "kind": self.kind, "signer": self.signer,
            "signing_time": iso(self.signing_time), "timestamp": iso(self.timestamp),
            "indication": self.indication, "sub_indication": self.sub_indication,
            "intact": self.intact, "trusted": self.trusted, "coverage": self.coverage,
            "modifications": self.modifications, "messages": list(self.messages),
            "reason_vi": self.reason_vi, "reason_en": self.reason_en,
            "covers": list(self.covers), "certificate": self.certificate,
        }


@dataclass
class FileVerdict:
    file: str
    indication: str
    signatures: list[SignatureVerdict]
    error: str | None = None

    def to_json(self) -> dict:
        return {"file": self.file, "indication": self.indication,
                "signatures": [s.to_json() for s in self.signatures], "error": self.error}

    @property
    def reason(self) -> tuple[str, str]:
        """(Vietnamese, English) reason of the worst signature, or of the file."""
        bad = [s for s in self.signatures if s.indication == self.indication]
        if bad:
            return bad[0].reason_vi, bad[0].reason_en
        vi, en = V.REASONS[self.indication if self.indication in V.REASONS else V.ERROR]
        if self.error:
            return f"{vi.rstrip('.')}: {self.error}", f"{en.rstrip('.')}: {self.error}"
        return vi, en


def error_verdict(name: str, message: str) -> FileVerdict:
    return FileVerdict(name, V.ERROR, [], message)


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(VN_TIME).isoformat() if dt else None


def note(vi: str, en: str) -> str:
    return f"{vi} / {en}"


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text if len(text) <= 200 else text[:197] + "…"


# ------------------------------------------------------ verdicts from findings

def signature_verdict(emb, f: Findings, cert, kind: str, timestamp=None) -> SignatureVerdict:
    """The verdict of pyHanko's embedded signature `emb` from what was found about it."""
    v = V.judge(f)
    return SignatureVerdict(
        field=str(emb.field_name), kind=kind, signer=common_name(cert),
        signing_time=f.signing_time, timestamp=timestamp, indication=v.indication,
        sub_indication=v.sub_indication, intact=f.intact, trusted=v.indication == V.PASSED,
        coverage=f.coverage, modifications=f.modifications,
        messages=_messages(f), reason_vi=v.reason_vi, reason_en=v.reason_en,
        certificate=certificate_info(cert), revision=emb.signed_revision)


def structure_verdict(fq_name: str, problem: str, notes: list[str]) -> SignatureVerdict:
    """A signature field whose signature cannot even be decoded."""
    f = Findings(structure_error=problem, notes=[*notes, problem])
    v = V.judge(f)
    return SignatureVerdict(str(fq_name), "signature", None, None, None, v.indication, v.sub_indication,
                            None, False, None, None, f.notes, v.reason_vi, v.reason_en)


def _messages(f: Findings) -> list[str]:
    out = list(f.notes)
    for problem in (f.layout_problem, f.modification_problem):
        if problem:
            out.append(problem)
    return out


def common_name(cert) -> str | None:
    if cert is None:
        return None
    names = cert.subject.native
    return names.get("common_name") or cert.subject.human_friendly


def certificate_info(cert) -> dict | None:
    if cert is None:
        return None
    return {"subject": cert.subject.human_friendly, "issuer": cert.issuer.human_friendly,
            "serial": format(cert.serial_number, "X"), "sha256": cert.sha256.hex().upper(),
            "valid_from": iso(cert.not_valid_before), "valid_to": iso(cert.not_valid_after),
            "organisation": _is_organisation(cert)}


def _is_organisation(cert) -> bool:
    """An agency (organisation) certificate names the organisation as its CN."""
    names = cert.subject.native
    cn = names.get("common_name")
    org = [names.get("organization_name"), names.get("organizational_unit_name")]
    flat = [o for item in org for o in (item if isinstance(item, list) else [item]) if o]
    return bool(cn) and cn in flat


def link_coverage(signatures: list[SignatureVerdict]) -> None:
    """Which earlier signatures each signature covers (its signed revision includes them)."""
    for later in signatures:
        if later.revision < 0 or later.coverage not in V.GOOD_COVERAGE:
            continue
        earlier = [s for s in signatures if 0 <= s.revision < later.revision]
        later.covers = [s.field for s in earlier]
        earlier = [s for s in earlier if s.kind == "signature"]
        cert = later.certificate or {}
        people = [s for s in earlier if s.certificate and not s.certificate["organisation"]]
        if later.kind == "signature" and cert.get("organisation") and people:
            names = ", ".join(s.signer or s.field for s in people)
            later.messages.append(note(f"Chữ ký của cơ quan bao trùm chữ ký của {names}",
                                       f"the agency signature covers the signature of {names}"))
        elif later.kind == "signature" and earlier:
            names = ", ".join(s.field for s in earlier)
            later.messages.append(note(f"Bao trùm các chữ ký trước: {names}",
                                       f"covers the earlier signature(s): {names}"))
