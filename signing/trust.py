"""Trust anchors for `sohoa verify`: certificate files, the trust folder, official roots.

sohoa ships no root certificate. It pins the SHA-256 fingerprints of the official
Vietnamese roots (vn-rules.md, "Trust and verification") so that `sohoa trust add`
can say whether a file the user downloaded is the genuine one, and refuses a
certificate that carries an official name with another fingerprint.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import cms, pem, x509

from sohoa.cli.errors import BadInput

CERT_SUFFIXES = {".pem", ".crt", ".cer", ".der", ".p7b", ".p7c"}


@dataclass(frozen=True)
class OfficialRoot:
    name: str
    operator: str
    hierarchy: str


_OFFICIAL = "chứng thư chuyên dùng công vụ / official use (state bodies and their leaders)"
_PUBLIC = "chứng thư công cộng / public (citizens, enterprises)"
# SHA-256 fingerprints exactly as published in vn-rules.md
_PINS = {
    "F0:4B:A4:B4:59:A7:C9:A1:B9:71:AD:9B:1C:B8:33:E6:95:A8:0C:79:AE:A6:3B:17:4B:66:A7:0E:DF:E2:FD:B8":
        OfficialRoot("RootCA chuyên dùng Chính phủ G2", "Ban Cơ yếu Chính phủ", _OFFICIAL),
    "D8:CA:B7:A4:AE:F9:2E:6B:B2:50:9D:7C:61:CE:E7:B4:4F:37:31:B2:D2:10:74:96:35:30:27:7B:36:6F:AE:4B":
        OfficialRoot("CA phục vụ các cơ quan Nhà nước G2", "Ban Cơ yếu Chính phủ", _OFFICIAL),
    "BA:C8:BF:60:9A:B4:20:A8:EE:17:80:D7:4F:4D:E5:C7:F7:18:49:59:D2:A7:37:5B:0A:75:E4:C2:9F:09:08:E7":
        OfficialRoot("Vietnam National Root CA", "Trung tâm Chứng thực điện tử quốc gia (NEAC)", _PUBLIC),
}
OFFICIAL_ROOTS: dict[str, OfficialRoot] = {k.replace(":", ""): v for k, v in _PINS.items()}
_OFFICIAL_NAMES = {unicodedata.normalize("NFC", r.name).casefold(): r for r in OFFICIAL_ROOTS.values()}


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint as upper-case hex pairs joined by colons."""
    raw = cert.sha256.hex().upper()
    return ":".join(raw[i:i + 2] for i in range(0, len(raw), 2))


def official_root(cert: x509.Certificate) -> OfficialRoot | None:
    return OFFICIAL_ROOTS.get(cert.sha256.hex().upper())


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.native
    return str(names.get("common_name") or names.get("organization_name") or cert.subject.human_friendly)


def impostor_of(cert: x509.Certificate) -> OfficialRoot | None:
    """An official root whose name this certificate carries without being it."""
    if official_root(cert):
        return None
    return _OFFICIAL_NAMES.get(unicodedata.normalize("NFC", common_name(cert)).casefold())


def parse_certificates(data: bytes, source: str = "input") -> list[x509.Certificate]:
    """Certificates in PEM (one or more, CERTIFICATE or PKCS7 blocks), DER or P7B."""
    blobs: list[tuple[str, bytes]] = []
    if pem.detect(data):
        blobs = [(kind, der) for kind, _, der in pem.unarmor(data, multiple=True)]
    else:
        blobs = [("", data)]
    certs: list[x509.Certificate] = []
    for kind, der in blobs:
        try:
            certs.extend(_from_der(kind, der))
        except (ValueError, TypeError, KeyError) as exc:
            raise BadInput(source, f"not a certificate file ({exc.__class__.__name__})",
                           "give a PEM, DER or P7B certificate") from exc
    if not certs:
        raise BadInput(source, "no certificate in this file", "give a PEM, DER or P7B certificate")
    return certs


def _from_der(kind: str, der: bytes) -> list[x509.Certificate]:
    if kind in ("PKCS7", "CMS") or (not kind and _looks_like_cms(der)):
        signed = cms.ContentInfo.load(der)["content"]
        return [c.chosen for c in signed["certificates"] if c.name == "certificate"]
    if kind not in ("", "CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE"):
        return []
    cert = x509.Certificate.load(der)
    cert.native  # parse fully now: fail here, not during validation
    return [cert]


def _looks_like_cms(der: bytes) -> bool:
    try:
        return cms.ContentInfo.load(der)["content_type"].native == "signed_data"
    except ValueError:
        return False


def load_file(path: Path) -> list[x509.Certificate]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise BadInput(path, f"cannot read ({exc.strerror or exc})") from exc
    return parse_certificates(data, str(path))


def folder_files(folder: Path | None) -> list[Path]:
    if folder is None or not Path(folder).is_dir():
        return []
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in CERT_SUFFIXES and p.is_file())


def load_anchors(files: list[Path], folder: Path | None) -> list[x509.Certificate]:
    """Every certificate of the given files and of the trust folder, once each."""
    seen: dict[bytes, x509.Certificate] = {}
    for path in [*files, *folder_files(folder)]:
        for cert in load_file(path):
            seen.setdefault(cert.sha256, cert)
    return list(seen.values())


@dataclass
class AddResult:
    added: list[tuple[x509.Certificate, Path]] = field(default_factory=list)
    present: list[tuple[x509.Certificate, Path]] = field(default_factory=list)

    @property
    def certificates(self) -> list[x509.Certificate]:
        return [c for c, _ in self.added + self.present]


def file_name(cert: x509.Certificate) -> str:
    ascii_name = unicodedata.normalize("NFKD", common_name(cert).replace("đ", "d").replace("Đ", "D"))
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_name.encode("ascii", "ignore").decode()).strip("-")
    return f"{slug[:60] or 'certificate'}-{cert.sha256.hex()[:12]}.pem"


def add(file: Path, folder: Path) -> AddResult:
    """Copy every certificate of `file` into `folder` (one PEM each, atomically)."""
    from sohoa.cli.fsio import write_bytes

    certs = load_file(file)
    for cert in certs:
        fake = impostor_of(cert)
        if fake:
            raise BadInput(file, f"claims to be the official '{fake.name}' but its SHA-256 "
                           f"fingerprint {fingerprint(cert)} is not the official one",
                           "download it again from the official site (ca.gov.vn / rootca.gov.vn)")
    result = AddResult()
    existing = {c.sha256 for p in folder_files(folder) for c in _quiet_load(p)}
    for cert in certs:
        target = Path(folder) / file_name(cert)
        if cert.sha256 in existing:
            result.present.append((cert, target))
            continue
        write_bytes(target, pem.armor("CERTIFICATE", cert.dump()))
        existing.add(cert.sha256)
        result.added.append((cert, target))
    return result


def _quiet_load(path: Path) -> list[x509.Certificate]:
    try:
        return load_file(path)
    except BadInput:
        return []
