"""The TEST-ONLY PKI: loopback CRL/OCSP/TSA, PKCS#12 files and the SoftHSM2 token."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import unicodedata
import urllib.request
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path

import pikepdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import PdfSignatureStatus, TimestampSignatureStatus

from sohoa.samples import testpki


PASSWORD = testpki.P12_PASSWORD.encode()


def pem_cert(name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((testpki.CERTS_DIR / f"{name}.pem").read_bytes())


def http(url: str, data: bytes | None = None, content_type: str = "") -> bytes:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read()


def needs_committed_urls(server: testpki.PkiServer) -> None:
    if server.port != testpki.DEFAULT_PORT:
        pytest.skip(f"committed certs point at port {testpki.DEFAULT_PORT}, server is on {server.port}")


def a4_pdf() -> bytes:
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica))
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=[0, 0, 595.28, 841.89],
        Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        Contents=pdf.make_stream(b"BT /F1 14 Tf 72 770 Td (sohoa - TEST ONLY) Tj ET"),
    )
    pdf.pages.append(pikepdf.Page(page))
    buf = BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def sign_pdf(signer: signers.Signer, tsa_url: str) -> bytes:
    meta = signers.PdfSignatureMetadata(
        field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256")
    pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=timestamps.HTTPTimeStamper(tsa_url))
    return pdf_signer.sign_pdf(IncrementalPdfFileWriter(BytesIO(a4_pdf()))).getvalue()


def validate(signed: bytes, vc) -> tuple[EmbeddedPdfSignature, PdfSignatureStatus]:  # noqa: ANN001
    sig = PdfFileReader(BytesIO(signed)).embedded_signatures[0]
    return sig, validate_pdf_signature(sig, signer_validation_context=vc, ts_validation_context=vc)


def assert_trusted_with_chain(signed: bytes, vc, signer_cn: str) -> None:  # noqa: ANN001
    sig, status = validate(signed, vc)
    assert status.intact and status.valid, status.pretty_print_details()
    assert status.trusted and not status.revoked, status.pretty_print_details()
    assert status.bottom_line, status.pretty_print_details()
    assert status.signing_cert.subject.native["common_name"] == signer_cn
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    embedded = [c.chosen.dump() for c in sig.signed_data["certificates"]]
    assert testpki.certificate("intermediate").dump() in embedded


# ------------------------------------------------------------------ services


@pytest.mark.slow
def test_crl_lists_revoked_serial_but_not_agency(pki_server: testpki.PkiServer) -> None:
    crl = x509.load_der_x509_crl(http(pki_server.crl_url))
    intermediate = pem_cert("intermediate")
    assert crl.is_signature_valid(intermediate.public_key())
    assert crl.issuer == intermediate.subject
    revoked = pem_cert("revoked")
    entry = crl.get_revoked_certificate_by_serial_number(revoked.serial_number)
    assert entry is not None
    assert entry.revocation_date_utc == datetime(2024, 6, 1, tzinfo=timezone.utc)
    assert crl.get_revoked_certificate_by_serial_number(pem_cert("agency").serial_number) is None
    # the root CRL covers the intermediate and revokes nothing
    assert len(x509.load_der_x509_crl(http(pki_server.root_crl_url))) == 0


@pytest.mark.slow
def test_certificates_embed_the_loopback_urls(pki_server: testpki.PkiServer) -> None:
    needs_committed_urls(pki_server)
    agency = pem_cert("agency")
    cdp = agency.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [n.value for n in cdp[0].full_name] == [pki_server.crl_url]
    aia = agency.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in aia] == [pki_server.ocsp_url]


@pytest.mark.slow
def test_serve_releases_port_and_threads() -> None:
    with testpki.serve(0) as server:
        assert http(server.root_crl_url)
        with pytest.raises(OSError, match="in use"):
            with testpki.serve(server.port):
                pass
    assert not [t for t in threading.enumerate() if t.name.startswith("sohoa-test-pki")
                and t.name.endswith(str(server.port))]
    with pytest.raises(OSError):
        http(server.root_crl_url)  # nothing listens any more
    with testpki.serve(server.port):  # and the port can be reused at once
        pass


def ocsp_status(server: testpki.PkiServer, name: str) -> ocsp.OCSPResponse:
    cert, issuer = pem_cert(name), pem_cert("intermediate")
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256()).build()
    resp = ocsp.load_der_ocsp_response(http(
        server.ocsp_url, req.public_bytes(serialization.Encoding.DER), "application/ocsp-request"))
    assert resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert resp.serial_number == cert.serial_number
    responder = pem_cert("ocsp")
    assert resp.certificates[0] == responder
    responder.public_key().verify(  # type: ignore[call-arg, union-attr]
        resp.signature, resp.tbs_response_bytes, padding.PKCS1v15(), resp.signature_hash_algorithm)
    return resp


@pytest.mark.slow
def test_ocsp_good_for_agency_revoked_for_revoked(pki_server: testpki.PkiServer) -> None:
    assert ocsp_status(pki_server, "agency").certificate_status == ocsp.OCSPCertStatus.GOOD
    revoked = ocsp_status(pki_server, "revoked")
    assert revoked.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert revoked.revocation_time_utc == datetime(2024, 6, 1, tzinfo=timezone.utc)
    assert revoked.revocation_reason == x509.ReasonFlags.key_compromise


@pytest.mark.slow
def test_tsa_token_validates_against_tsa_cert(pki_server: testpki.PkiServer) -> None:
    from pyhanko_certvalidator import ValidationContext

    digest = hashlib.sha256(b"ho so TEST ONLY").digest()
    stamper = timestamps.HTTPTimeStamper(pki_server.tsa_url)
    token = asyncio.run(stamper.async_timestamp(digest, "sha256"))
    signed_data = token["content"]
    vc = ValidationContext(trust_roots=[testpki.certificate("root")])
    status = TimestampSignatureStatus(**asyncio.run(
        validate_tst_signed_data(signed_data, vc, lambda _algo: digest)))
    assert status.intact and status.valid and status.trusted, status
    tsa = testpki.certificate("tsa")  # same key and name on any port
    assert status.signing_cert.subject == tsa.subject
    assert status.signing_cert.public_key.dump() == tsa.public_key.dump()
    assert abs((status.timestamp - datetime.now(timezone.utc)).total_seconds()) < 120


# ------------------------------------------------------------------- signing


@pytest.mark.slow
@pytest.mark.parametrize("who, signer_cn", [
    ("agency", "ỦY BAN NHÂN DÂN XÃ DIÊN LẠC"),
    ("leader", "Trần Đình Bẩy"),  # private key without CKA_LABEL: found by id
])
def test_sign_through_softhsm_token_is_trusted(
    pki_server: testpki.PkiServer, softhsm_token: testpki.SoftHsmToken, pki_validation_context,
    who: str, signer_cn: str,
) -> None:
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

    needs_committed_urls(pki_server)
    token = softhsm_token
    key: testpki.TokenKey = getattr(token, who)
    with open_pkcs11_session(
        str(token.module), token_criteria=TokenCriteria(label="UBND xã Diên Lạc"),
        user_pin=token.pin,
    ) as session:
        # other_certs_to_pull=None: the intermediate CA certificate comes from the token
        signer = PKCS11Signer(session, key_id=key.key_id, other_certs_to_pull=None)
        signed = sign_pdf(signer, pki_server.tsa_url)
    assert_trusted_with_chain(signed, pki_validation_context, signer_cn)


@pytest.mark.slow
def test_leader_key_has_no_label_and_reload_is_idempotent(
    softhsm_token: testpki.SoftHsmToken,
) -> None:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    again = testpki.load_into_softhsm(softhsm_token.conf.parent)
    assert again == softhsm_token
    assert "pin=" not in repr(again)  # the PIN never shows up in logs
    lib = pkcs11.lib(str(softhsm_token.module))
    tok = lib.get_token(token_label="UBND xã Diên Lạc")
    with tok.open(user_pin=softhsm_token.pin) as session:
        keys = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
        certs = list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}))
        by_id = {k[Attribute.ID]: k[Attribute.LABEL] for k in keys}
        assert by_id == {b"\x01": "Khóa cơ quan UBND xã Diên Lạc", b"\x02": ""}
        assert {c[Attribute.LABEL] for c in certs} == {
            "Chứng thư số cơ quan UBND xã Diên Lạc", "Trần Đình Bẩy", testpki.CA_CERT_LABEL}


@pytest.mark.slow
def test_sign_with_committed_leader_p12_is_trusted(
    pki_server: testpki.PkiServer, pki_validation_context,
) -> None:
    needs_committed_urls(pki_server)
    signer = signers.SimpleSigner.load_pkcs12(str(testpki.p12_path("leader")), passphrase=PASSWORD)
    assert signer is not None
    signed = sign_pdf(signer, pki_server.tsa_url)
    assert_trusted_with_chain(signed, pki_validation_context, "Trần Đình Bẩy")


@pytest.mark.slow
def test_signature_with_revoked_p12_validates_as_revoked(
    pki_server: testpki.PkiServer, pki_validation_context,
) -> None:
    needs_committed_urls(pki_server)
    signer = signers.SimpleSigner.load_pkcs12(str(testpki.p12_path("revoked")), passphrase=PASSWORD)
    assert signer is not None
    _, status = validate(sign_pdf(signer, pki_server.tsa_url), pki_validation_context)
    assert status.intact and status.valid  # the maths is fine ...
    assert status.revoked and not status.bottom_line  # ... but the certificate is revoked
    assert status.revocation_details is not None
    assert status.revocation_details.revocation_date == datetime(2024, 6, 1, tzinfo=timezone.utc)


# ---------------------------------------------------------- committed material


def test_committed_certs_match_yml_and_keys(tmp_path: Path) -> None:
    testpki.export(tmp_path)
    for name in testpki.CERT_NAMES:
        committed, fresh = pem_cert(name), x509.load_pem_x509_certificate(
            (tmp_path / f"{name}.pem").read_bytes())
        assert committed.subject == fresh.subject, name
        assert committed.serial_number == fresh.serial_number, name
        assert committed.public_key() == fresh.public_key(), name
        assert list(committed.extensions) == list(fresh.extensions), name
        key = serialization.load_pem_private_key(
            (testpki.KEYS_DIR / f"{name}.key.pem").read_bytes(), password=None)
        assert key.public_key() == committed.public_key(), name
    for name in testpki.P12_NAMES:
        p12 = pkcs12.load_pkcs12(testpki.p12_path(name).read_bytes(), PASSWORD)
        assert p12.cert is not None and p12.key is not None
        assert p12.cert.certificate == pem_cert(name)
        assert p12.key.public_key() == p12.cert.certificate.public_key()
        chain = [c.certificate for c in p12.additional_certs]
        assert chain == [pem_cert("intermediate"), pem_cert("root")], name
    assert sum(f.stat().st_size for f in testpki.PKI_DIR.rglob("*") if f.is_file()) < 200_000


def test_certificate_profiles() -> None:
    def ku(name: str) -> x509.KeyUsage:
        return pem_cert(name).extensions.get_extension_for_class(x509.KeyUsage).value

    for name in ("agency", "leader", "revoked", "expired"):
        assert ku(name).digital_signature and ku(name).content_commitment, name
    nku = ku("nokeyusage")
    assert nku.key_encipherment and not nku.digital_signature and not nku.content_commitment
    eku = pem_cert("tsa").extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [x509.ExtendedKeyUsageOID.TIME_STAMPING]
    assert pem_cert("expired").not_valid_after_utc < datetime.now(timezone.utc)
    agency = pem_cert("agency").subject
    assert agency.rfc4514_string() == (
        "CN=ỦY BAN NHÂN DÂN XÃ DIÊN LẠC,OU=ỦY BAN NHÂN DÂN XÃ DIÊN LẠC,"
        "O=ỦY BAN NHÂN DÂN TỈNH KHÁNH HÒA,L=Khánh Hòa,C=VN")
    for name in testpki.CERT_NAMES:  # UTF8String (country: PrintableString), NFC
        for rdn in testpki.certificate(name).subject.chosen:
            for atv in rdn:
                text, kind = atv["value"].native, atv["value"].name
                assert kind == ("printable_string" if atv["type"].native == "country_name"
                                else "utf8_string"), (name, atv["type"].native)
                assert unicodedata.is_normalized("NFC", text), (name, text)
    assert pem_cert("root").subject.rfc4514_string().startswith("CN=TEST ONLY")
