"""`sohoa verify` and `sohoa trust`, driven like an archivist would, on documents signed
here with pyHanko and the TEST-ONLY PKI (CRL/OCSP/TSA on loopback), then tampered with."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path

import pikepdf
import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko_certvalidator import ValidationContext

from conftest import SHARED
from sohoa.samples import testpki

ROOT_PEM = testpki.CERTS_DIR / "root.pem"
VN_TRUST = SHARED / "trust"


# ----------------------------------------------------------------- documents

def a4_pdf(text: str = "Quyet dinh so 123/QD-UBND - TEST ONLY") -> bytes:
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica))
    pdf.pages.append(pikepdf.Page(pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=[0, 0, 595, 842],
        Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        Contents=pdf.make_stream(f"BT /F1 14 Tf 72 770 Td ({text}) Tj ET".encode()))))
    out = BytesIO()
    pdf.save(out)
    return out.getvalue()


def sign(data: bytes, who: str, field: str, level: str, tsa_url: str, md: str = "sha256",
         signer: signers.Signer | None = None) -> bytes:
    """pyHanko's own signer (sohoa sign is written elsewhere): an invisible PAdES field."""
    signer = signer or signers.SimpleSigner.load_pkcs12(str(testpki.p12_path(who)), passphrase=b"test-only")
    lt = level in ("B-LT", "B-LTA")
    meta = signers.PdfSignatureMetadata(
        field_name=field, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm=md,
        embed_validation_info=lt, use_pades_lta=level == "B-LTA",
        validation_context=ValidationContext(trust_roots=[testpki.certificate("root")],
                                             allow_fetching=True) if lt else None)
    stamper = timestamps.HTTPTimeStamper(tsa_url) if level != "B-B" else None
    pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=stamper)
    return pdf_signer.sign_pdf(IncrementalPdfFileWriter(BytesIO(data))).getvalue()


def update(signed: bytes, change) -> bytes:
    """An incremental update after signing, the way an attacker's tool would append it."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    change(writer, writer.root["/Pages"]["/Kids"][0].get_object())
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def add_page(writer, page) -> None:
    stream = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 700 Td (Trang them) Tj ET"))
    writer.insert_page(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Page"), pdf_name("/Contents"): stream,
        pdf_name("/MediaBox"): generic.ArrayObject([generic.NumberObject(v) for v in (0, 0, 595, 842)]),
        pdf_name("/Resources"): page["/Resources"]}))


def overlay(writer, page) -> None:
    annot = writer.add_object(generic.DictionaryObject({
        pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/FreeText"),
        pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(v) for v in (60, 760, 400, 790)]),
        pdf_name("/Contents"): generic.TextStringObject("Quyet dinh so 999"),
        pdf_name("/DA"): generic.pdf_string("/Helv 14 Tf 0 g")}))
    page[pdf_name("/Annots")] = generic.ArrayObject([annot])
    writer.update_container(page)


def replace_content(writer, page) -> None:
    page[pdf_name("/Contents")] = writer.add_object(generic.StreamObject(
        stream_data=b"BT /F1 14 Tf 72 770 Td (Quyet dinh so 999/QD-UBND) Tj ET"))
    writer.update_container(page)


def flip_signed_byte(signed: bytes) -> bytes:
    at = signed.index(b"595", signed.index(b"/MediaBox"))
    return signed[:at] + b"596" + signed[at + 3:]


def garbage_cms(signed: bytes) -> bytes:
    start = signed.index(b"/Contents <") + len(b"/Contents <")
    end = signed.index(b">", start)
    return signed[:start] + b"30" + b"0" * (end - start - 2) + signed[end:]


def revoked_b_lt(tsa_url: str) -> bytes:
    """B-LT-like file of the revoked signer: a B-T signature plus a DSS with the chain and
    the OCSP responses/CRLs that say it is revoked (pyHanko's signer refuses to make it)."""
    import asyncio

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    data = sign(a4_pdf(), "revoked", "Signature", "B-T", tsa_url)
    emb = PdfFileReader(BytesIO(data)).embedded_signatures[0]
    vc = ValidationContext(trust_roots=[testpki.certificate("root")], allow_fetching=True)

    async def fetch_revinfo():
        try:
            await async_validate_pdf_signature(emb, vc, vc)
        finally:
            await vc.aclose()

    asyncio.run(fetch_revinfo())
    out = BytesIO(data)
    DocumentSecurityStore.add_dss(out, emb.pkcs7_content, certs=[testpki.certificate(n) for n in ("root", "intermediate")],
                                  ocsps=vc.ocsps, crls=vc.crls)
    return out.getvalue()


def encrypted_copy(signed: bytes) -> bytes:
    """Re-saved and encrypted by another tool after signing (as measured in the wild)."""
    out = BytesIO()
    with pikepdf.open(BytesIO(signed)) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(owner="chu", user="", R=6))
    return out.getvalue()


@pytest.fixture(scope="module")
def docs(tmp_path_factory, pki_server) -> dict[str, Path]:
    """Every document of the tests below, signed once for the module."""
    if pki_server.port != testpki.DEFAULT_PORT:
        pytest.skip(f"the committed certificates point at port {testpki.DEFAULT_PORT}")
    folder = tmp_path_factory.mktemp("signed")
    tsa = pki_server.tsa_url
    made: dict[str, bytes] = {f"leader-{lvl}": sign(a4_pdf(), "leader", "Leader", lvl, tsa)
                              for lvl in ("B-B", "B-T", "B-LT", "B-LTA")}
    made["pair-B-LT"] = sign(sign(a4_pdf(), "leader", "Leader", "B-LT", tsa),
                             "agency", "Agency", "B-LT", tsa)
    made["pair-B-LTA"] = sign(made["leader-B-LTA"], "agency", "Agency", "B-LTA", tsa)
    for who in ("revoked", "expired", "nokeyusage"):
        made[f"{who}-B-T"] = sign(a4_pdf(), who, "Signature", "B-T", tsa)
    made["revoked-B-LT"] = revoked_b_lt(tsa)
    made["sha1-B-B"] = sign(a4_pdf(), "leader", "Leader", "B-B", tsa, md="sha1")
    base = made["leader-B-LT"]
    made["added-page"] = update(base, add_page)
    made["overlay"] = update(base, overlay)
    made["replaced-content"] = update(base, replace_content)
    made["flipped-byte"] = flip_signed_byte(base)
    made["garbage-cms"] = garbage_cms(base)
    made["encrypted-after-signing"] = encrypted_copy(base)
    made["unsigned"] = a4_pdf()
    made["truncated"] = base[: len(base) // 3]
    paths = {}
    for name, data in made.items():
        paths[name] = folder / f"{name}.pdf"
        paths[name].write_bytes(data)
    (folder / "not-a-pdf.pdf").write_bytes(b"\x89PNG\r\n\x1a\n not a pdf")
    paths["not-a-pdf"] = folder / "not-a-pdf.pdf"
    return paths


def run_json(sohoa, *args, env=None):
    proc = sohoa("verify", "--json", *args, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc, json.loads(proc.stdout)


@pytest.fixture
def no_trust_folder(tmp_path):
    """The user's own (empty) config folder, so only --trust counts."""
    return {"XDG_CONFIG_HOME": str(tmp_path / "config"), "SOHOA_TRUST_DIR": ""}


# ------------------------------------------------------------------ verdicts

@pytest.mark.parametrize("name,flags", [
    ("leader-B-B", []), ("leader-B-T", []),
    ("leader-B-LT", ["--offline"]), ("leader-B-LTA", ["--offline"]),
])
def test_signed_documents_pass(sohoa, docs, no_trust_folder, name, flags):
    proc, out = run_json(sohoa, "--trust", ROOT_PEM, *flags, docs[name], env=no_trust_folder)
    assert proc.returncode == 0, proc.stderr
    assert out["indication"] == "TOTAL_PASSED" and out["error"] is None
    sig = next(s for s in out["signatures"] if s["field"] == "Leader")
    assert (sig["signer"], sig["indication"], sig["sub_indication"], sig["intact"], sig["trusted"]) == (
        "Trần Đình Bẩy", "TOTAL_PASSED", None, True, True)
    assert sig["coverage"] in ("ENTIRE_FILE", "ENTIRE_REVISION")
    assert sig["modifications"] in ("NONE", "LTA_UPDATES")
    assert (sig["timestamp"] is None) == (name == "leader-B-B")
    assert sig["signing_time"].endswith("+07:00")
    assert "✓ TOTAL_PASSED" in proc.stderr and "Trần Đình Bẩy" in proc.stderr


@pytest.mark.parametrize("name", ["pair-B-LT", "pair-B-LTA"])
def test_agency_signature_covers_the_leaders(sohoa, docs, no_trust_folder, name):
    proc, out = run_json(sohoa, "--offline", "--trust", ROOT_PEM, docs[name], env=no_trust_folder)
    assert proc.returncode == 0 and out["indication"] == "TOTAL_PASSED", proc.stderr
    sigs = {s["field"]: s for s in out["signatures"] if s["kind"] == "signature"}
    assert sigs["Leader"]["indication"] == sigs["Agency"]["indication"] == "TOTAL_PASSED"
    assert "Leader" in sigs["Agency"]["covers"] and sigs["Leader"]["covers"] == []
    assert any("agency signature covers the signature of Trần Đình Bẩy" in m for m in sigs["Agency"]["messages"])
    assert sigs["Agency"]["signer"] == "ỦY BAN NHÂN DÂN XÃ DIÊN LẠC"


@pytest.mark.parametrize("name,online,indication,sub", [
    ("revoked-B-T", True, "TOTAL_FAILED", "REVOKED"),
    ("expired-B-T", True, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE"),
    ("nokeyusage-B-T", True, "INDETERMINATE", "CHAIN_CONSTRAINTS_FAILURE"),
    ("sha1-B-B", True, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE"),
    ("leader-B-B", False, "INDETERMINATE", "TRY_LATER"),  # offline, nothing embedded
    ("revoked-B-T", False, "INDETERMINATE", "TRY_LATER"),
])
def test_signer_problems_get_etsi_indications(sohoa, docs, no_trust_folder, name, online, indication, sub):
    flags = [] if online else ["--offline"]
    proc, out = run_json(sohoa, "--trust", ROOT_PEM, *flags, docs[name], env=no_trust_folder)
    sig = out["signatures"][0]
    assert (out["indication"], sig["indication"], sig["sub_indication"]) == (indication, indication, sub)
    assert proc.returncode == (1 if indication == "TOTAL_FAILED" else 3)
    assert sig["reason_vi"] and sig["reason_en"] and sig["trusted"] is False


@pytest.mark.parametrize("name", ["added-page", "overlay", "replaced-content"])
def test_changes_after_signing_fail(sohoa, docs, no_trust_folder, name):
    proc, out = run_json(sohoa, "--offline", "--trust", ROOT_PEM, docs[name], env=no_trust_folder)
    sig = out["signatures"][0]
    assert (out["indication"], sig["sub_indication"]) == ("TOTAL_FAILED", "FORMAT_FAILURE")
    assert sig["intact"] is True and sig["modifications"] == "OTHER"
    assert "sửa đổi sau khi ký" in sig["reason_vi"] and "changed after signing" in sig["reason_en"]
    assert proc.returncode == 1


def test_long_term_signatures_still_pass_years_later(sohoa, docs, no_trust_folder):
    """In 2031 the embedded CRLs are long stale: B-LT is validated as of its timestamp."""
    later = (datetime.now(timezone.utc) + timedelta(days=5 * 365)).isoformat()
    proc, out = run_json(sohoa, "--offline", "--trust", ROOT_PEM, "--at", later,
                         docs["leader-B-LT"], docs["pair-B-LTA"], env=no_trust_folder)
    assert [r["indication"] for r in out] == ["TOTAL_PASSED", "TOTAL_PASSED"], proc.stderr
    assert any("proof of existence" in m for m in out[0]["signatures"][0]["messages"])


def test_hostile_and_broken_files_never_stop_the_batch(sohoa, docs, no_trust_folder):
    names = ["flipped-byte", "garbage-cms", "encrypted-after-signing", "truncated", "not-a-pdf",
             "unsigned", "leader-B-LT"]
    proc, out = run_json(sohoa, "--offline", "--trust", ROOT_PEM, *(docs[n] for n in names),
                         env=no_trust_folder)
    got = {Path(r["file"]).stem: r for r in out}
    assert got["leader-B-LT"]["indication"] == "TOTAL_PASSED"
    assert got["flipped-byte"]["signatures"][0]["sub_indication"] == "HASH_FAILURE"
    assert got["garbage-cms"]["indication"] == "TOTAL_FAILED"
    assert got["unsigned"]["indication"] == "NO_SIGNATURE"
    assert got["not-a-pdf"]["indication"] == "ERROR" and got["not-a-pdf"]["error"] == "not a PDF file"
    assert got["encrypted-after-signing"]["indication"] in ("TOTAL_FAILED", "ERROR")
    assert got["truncated"]["indication"] in ("TOTAL_FAILED", "ERROR")
    for r in out:
        assert r["error"] is None or "\n" not in r["error"]
        assert r["indication"] != "TOTAL_PASSED" or r["file"].endswith("leader-B-LT.pdf")
    lines = [line for line in proc.stderr.splitlines() if line[:2] in ("✓ ", "✗ ", "? ", "– ", "! ")]
    assert len(lines) == len(names), proc.stderr
    assert proc.returncode == 1


def test_folders_are_searched_in_parallel_and_summarised(sohoa, docs, tmp_path, no_trust_folder):
    for name in ("leader-B-LT", "pair-B-LT", "overlay"):
        target = tmp_path / "archive" / ("sub" if name == "overlay" else "") / f"{name}.pdf"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(docs[name], target)
    one = run_json(sohoa, "--offline", "--trust", ROOT_PEM, "--jobs", "1", tmp_path / "archive", env=no_trust_folder)
    two = run_json(sohoa, "--offline", "--trust", ROOT_PEM, "--jobs", "2", tmp_path / "archive", env=no_trust_folder)
    assert isinstance(two[1], list) and len(two[1]) == 3  # a folder gives an array, even of one
    assert [r["indication"] for r in one[1]] == [r["indication"] for r in two[1]]
    assert "3 files: 2 TOTAL_PASSED, 1 TOTAL_FAILED" in two[0].stderr
    assert two[0].returncode == 1


def test_without_trust_anchor_nothing_is_trusted(sohoa, docs, no_trust_folder):
    proc, out = run_json(sohoa, "--offline", docs["leader-B-LT"], env=no_trust_folder)
    assert (out["indication"], out["signatures"][0]["sub_indication"]) == ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND")
    assert "No trust anchor" in proc.stderr and proc.returncode == 3


def test_printable_report(sohoa, docs, tmp_path, no_trust_folder):
    report = tmp_path / "bien-ban.html"
    proc = sohoa("verify", "--offline", "--trust", ROOT_PEM, "--report", report,
                 docs["pair-B-LT"], docs["added-page"], env=no_trust_folder)
    html = report.read_text(encoding="utf-8")
    for text in ("BIÊN BẢN KIỂM TRA CHỮ KÝ SỐ", "Signature verification report", "pair-B-LT.pdf",
                 "added-page.pdf", "Trần Đình Bẩy", "TOTAL_FAILED / FORMAT_FAILURE",
                 "ỦY BAN NHÂN DÂN XÃ DIÊN LẠC", "TEST ONLY – Root CA sohoa"):
        assert text in html
    assert "<script" not in html and "<link" not in html and "src=" not in html
    assert proc.returncode == 1


def test_usage_errors(sohoa, docs, tmp_path):
    assert sohoa("verify", tmp_path / "missing.pdf").returncode == 2
    assert sohoa("verify", "--at", "yesterday", docs["leader-B-B"]).returncode == 2
    assert sohoa("verify", "--trust", tmp_path / "missing.pem", docs["leader-B-B"]).returncode == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = sohoa("verify", empty)
    assert proc.returncode == 2 and "no PDF" in proc.stderr


# -------------------------------------------------------------------- trust

def test_trust_folder_is_used_by_verify(sohoa, docs, tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    added = sohoa("trust", "add", ROOT_PEM, env=env)
    assert added.returncode == 0 and "Not one of the pinned official" in added.stderr
    assert "TEST ONLY" in added.stderr
    assert list((tmp_path / "config" / "sohoa" / "trust").glob("*.pem"))
    proc, out = run_json(sohoa, "--offline", docs["leader-B-LT"], env=env)
    assert out["indication"] == "TOTAL_PASSED" and proc.returncode == 0


@pytest.mark.skipif(not VN_TRUST.is_dir(), reason="../shared/trust not present")
def test_trust_add_recognises_the_official_vietnamese_roots(sohoa, tmp_path):
    env = {"SOHOA_TRUST_DIR": str(tmp_path / "trust")}
    for file, name in (("rootcag2.crt", "RootCA chuyên dùng Chính phủ G2"),
                       ("cpcag2.crt", "CA phục vụ các cơ quan Nhà nước G2"),
                       ("vnrca256.crt", "Vietnam National Root CA")):  # the last one is DER
        proc = sohoa("trust", "add", VN_TRUST / file, env=env)
        assert proc.returncode == 0 and f"official root: {name}" in " ".join(proc.stderr.split())
    proc = sohoa("trust", "add", VN_TRUST / "vnpt-ca-sha2.crt", env=env)
    assert "Not one of the pinned official" in proc.stderr
    again = sohoa("trust", "add", VN_TRUST / "rootcag2.crt", env=env)
    assert "Already trusted" in again.stderr
    listed = json.loads(sohoa("trust", "list", "--json", env=env).stdout)
    assert len(listed["certificates"]) == 4 and listed["official_missing"] == []


def test_trust_add_refuses_a_fake_official_root(sohoa, tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "RootCA chuyên dùng Chính phủ G2")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256()))
    fake = tmp_path / "rootcag2.crt"
    fake.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    proc = sohoa("trust", "add", fake, env={"SOHOA_TRUST_DIR": str(tmp_path / "trust")})
    assert proc.returncode == 1 and "not the official one" in " ".join(proc.stderr.split())
    assert not (tmp_path / "trust").exists() or not list((tmp_path / "trust").iterdir())


# ------------------------------------------- speed-ups and per-process caches
# signing/speedups.py replaces three pyHanko/asn1crypto functions process-wide and
# signing/revinfo.py keeps parsed objects from file to file: each must give exactly
# the result of what it replaces, and no verdict may depend on what was verified before.

@pytest.mark.parametrize("raw", [b"<48656C6C6F>", b"<48 65\n6C\t6C 6F>", b"<4865F>", b"<>",
                                 b"<48%comment\n65>", b"<48zz>", b"<4865", b"<48\x0065\r\n>",
                                 b"<" + b"ab" * 70000 + b">", b"<" + b"AB " * 30000])
def test_fast_hex_reader_matches_pyhankos(raw):
    from pyhanko.pdf_utils import generic as g

    from sohoa.signing import speedups

    speedups.install()
    fast, slow = g.read_hex_string_from_stream, speedups.PYHANKO_READ_HEX_STRING
    assert getattr(fast, "sohoa_fast", False) and slow is not None and slow is not fast

    def outcome(reader):
        stream = BytesIO(raw + b" rest")
        try:
            value = reader(stream)
            return type(value).__name__, value.original_bytes, stream.tell()
        except Exception as exc:  # noqa: BLE001
            return type(exc).__name__

    assert outcome(fast) == outcome(slow)


def _names():
    from asn1crypto import x509

    def name(*rdns):
        return x509.Name(name="", value=x509.RDNSequence([
            x509.RelativeDistinguishedName([x509.NameTypeAndValue({
                "type": t, "value": x509.DirectoryString(name="utf8_string", value=v)}) for t, v in rdn])
            for rdn in rdns]))

    cn, o = "common_name", "organization_name"
    return [
        name([(cn, "Trần Đình Bẩy")]), name([(cn, "trần  đình bẩy ")]), name([(cn, "Tra\u0300n Đình Bẩy")]),
        name([(cn, "Trần Đình Bẩy")], [(o, "UBND")]), name([(o, "UBND")], [(cn, "Trần Đình Bẩy")]),
        name([(cn, "Trần Đình Bẩy"), (o, "UBND")]), name([(o, "UBND"), (cn, "Trần Đình Bẩy")]),
        name([(o, "Trần Đình Bẩy")]), name(), name([]), name([], []),
        x509.Name.build({"common_name": "TEST ONLY – Root CA sohoa", "country_name": "VN"}),
        x509.Name.build({"common_name": "test only – root ca sohoa", "country_name": "vn"}),
    ]


def test_name_comparison_memo_matches_asn1crypto():
    """speed-up 2: Name == and .hashable memoised by DER, as RFC 5280 via asn1crypto."""
    import sohoa.signing.verify  # noqa: F401  (installs the speed-ups)
    from asn1crypto import x509

    assert getattr(x509.Name, "sohoa_fast", False)
    names = _names()
    for a in names:
        assert a.hashable == a.chosen.hashable  # asn1crypto's own, unpatched RDNSequence
        for b in names:
            assert (a == b) == (a.chosen == b.chosen), (a.native, b.native)
            assert (a != b) == (not a.chosen == b.chosen)
    assert names[0] == names[1] and names[0] != names[3] and names[3] != names[4]
    assert names[0] != "Trần Đình Bẩy" and names[0] != names[0].chosen


def _signed_datas(paths):
    """Every CMS SignedData of these PDFs: signatures, document timestamps, signature
    timestamp tokens (files pyHanko cannot open are skipped)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    for path in paths:
        try:
            sigs = PdfFileReader(BytesIO(Path(path).read_bytes()), strict=False).embedded_signatures
        except Exception:  # noqa: BLE001
            continue
        for emb in sigs:
            try:
                yield emb.signed_data
                for attr in emb.signer_info["unsigned_attrs"] or []:
                    if attr["type"].native == "signature_time_stamp_token":
                        yield attr["values"][0]["content"]
            except Exception:  # noqa: BLE001
                continue


def test_cms_certificates_come_from_the_cache_unchanged(docs):
    """speed-up 3: generic_cms.extract_certificate_info gives what pyHanko's own function
    gives (same DER, same order, same signer, same errors), from the DER cache."""
    import sohoa.signing.verify  # noqa: F401
    from pyhanko.sign import general
    from pyhanko.sign.validation import generic_cms

    from sohoa.signing.revinfo import CERTS

    fast = generic_cms.extract_certificate_info
    assert getattr(fast, "sohoa_fast", False) and fast is not general.extract_certificate_info
    corpus = sorted((SHARED / "corpora" / "verify" / "pdf").glob("*.pdf"))
    checked = 0
    for signed_data in _signed_datas([*docs.values(), *corpus]):
        for _ in range(2):  # a second time from the cache
            try:
                want = general.extract_certificate_info(signed_data)
            except Exception as exc:  # noqa: BLE001
                with pytest.raises(type(exc)):
                    fast(signed_data)
                continue
            got = fast(signed_data)
            assert got.signer_cert.dump() == want.signer_cert.dump()
            assert [c.dump() for c in got.other_certs] == [c.dump() for c in want.other_certs]
            assert [c.dump() for c in got.attribute_certs] == [c.dump() for c in want.attribute_certs]
            assert type(got.signer_cert) is type(want.signer_cert)
            assert CERTS.load(want.signer_cert.dump()) is got.signer_cert
            checked += 1
    assert checked >= 20


def test_caches_never_carry_a_verdict_from_one_file_to_the_next(docs):
    """Two files with the same chain (intermediate, root, TSA certificates from the same
    cache), one revoked: each keeps its own verdict whatever was verified before it,
    in one process, exactly as when each is verified alone with empty caches."""
    from sohoa.signing import revinfo
    from sohoa.signing.verify import Policy, verify_paths

    def key(verdict):  # all but the messages, which may quote the current time
        return verdict.indication, [(s.field, s.indication, s.sub_indication, s.signer, s.intact, s.trusted,
                                     s.coverage, s.modifications, s.signing_time, s.timestamp)
                                    for s in verdict.signatures]

    policy = Policy(trust=(testpki.certificate("root").dump(),), offline=True)
    good, revoked = str(docs["leader-B-LT"]), str(docs["revoked-B-LT"])
    alone = {}
    for name in (revoked, good):
        revinfo.clear_caches()
        alone[name] = key(verify_paths([name], policy, jobs=1)[0])
    hits = revinfo.CERTS.hits
    got = verify_paths([good, revoked, good, revoked, good], policy, jobs=1)
    assert revinfo.CERTS.hits > hits  # the second file onwards did use the cache
    assert [key(v) for v in got] == [alone[good], alone[revoked]] * 2 + [alone[good]]
    assert alone[good][0] == "TOTAL_PASSED"
    assert alone[revoked][0] == "TOTAL_FAILED" and alone[revoked][1][0][2] == "REVOKED"


def test_memoised_signature_check_still_rejects_a_forgery():
    """Only valid signatures are remembered; a changed certificate fails every time."""
    from asn1crypto import x509
    from cryptography.exceptions import InvalidSignature

    from sohoa.signing.revinfo import signature_validator

    memo = signature_validator()
    root, leader = testpki.certificate("intermediate"), testpki.certificate("leader")
    args = (leader["signature_value"].native, leader["tbs_certificate"].dump(), root.public_key,
            leader["signature_algorithm"])
    for _ in range(2):
        memo.validate_signature(*args)
    forged = bytearray(args[1])
    forged[-40] ^= 1
    for _ in range(2):
        with pytest.raises(InvalidSignature):
            memo.validate_signature(args[0], bytes(forged), *args[2:])
    assert isinstance(leader, x509.Certificate)


def test_der_cache_is_bounded():
    from asn1crypto import x509

    from sohoa.signing.revinfo import ParsedByDer

    cache = ParsedByDer(x509.Certificate, max_bytes=3000)
    ders = [testpki.certificate(n).dump() for n in ("root", "intermediate", "leader", "agency", "tsa")]
    for der in ders * 3:
        assert cache.load(der).dump() == der
    assert cache._bytes <= 3000 and len(cache._objects) < len(ders)


def test_signing_in_the_same_process_is_unaffected(pki_server, tmp_path):
    """The speed-ups are process-wide: pyHanko's signer (B-LTA, which reads the signed
    file back, validates the chain and embeds revocation data) still works with them
    installed, and what it makes verifies."""
    from sohoa.signing.verify import Policy, verify_file

    if pki_server.port != testpki.DEFAULT_PORT:
        pytest.skip(f"the committed certificates point at port {testpki.DEFAULT_PORT}")
    data = sign(sign(a4_pdf(), "leader", "Leader", "B-LTA", pki_server.tsa_url),
                "agency", "Agency", "B-LTA", pki_server.tsa_url)
    path = tmp_path / "signed-with-speedups.pdf"
    path.write_bytes(data)
    verdict = verify_file(path, Policy(trust=(testpki.certificate("root").dump(),), offline=True))
    assert verdict.indication == "TOTAL_PASSED", verdict.to_json()
    assert [s.field for s in verdict.signatures if s.kind == "signature"] == ["Leader", "Agency"]


def test_verify_starts_without_the_signing_stack_and_pyhanko_sign_still_works(docs):
    """`sohoa verify` skips pyhanko.sign's __init__ (signers, timestamp clients, aiohttp:
    ≈0.2 s of every run's start-up); every name that __init__ gives stays usable."""
    script = f"""
import sys
from sohoa.signing.verify import Policy, verify_file
verdict = verify_file({str(docs['leader-B-LT'])!r}, Policy(offline=True))
print(verdict.indication)
print(sorted(m for m in sys.modules if m.startswith(('aiohttp', 'pyhanko.sign.signers'))))
import pyhanko.sign
from pyhanko.sign import SimpleSigner, signers
assert pyhanko.sign.PdfSigner is signers.PdfSigner and SimpleSigner is signers.SimpleSigner
print(sorted(pyhanko.sign.__all__) == sorted(n for n in pyhanko.sign.__all__ if hasattr(pyhanko.sign, n)))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    indication, loaded, all_names = out.stdout.splitlines()
    assert indication in {"INDETERMINATE", "TOTAL_PASSED"}  # no trust anchor given
    assert loaded == "[]"
    assert all_names == "True"
