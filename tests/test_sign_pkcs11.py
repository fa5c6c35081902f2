"""`sohoa sign` with a PKCS#11 token (SoftHSM2): Vietnamese labels, a key without a label,
one PIN for the batch, the certificate refused before the PIN is asked."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sohoa.samples import testpki
from test_sign import ROOT, assert_valid, decision_pdf, images, run_json, server, validate  # noqa: F401

pytestmark = pytest.mark.skipif(shutil.which("softhsm2-util") is None, reason="softhsm2 is not installed")


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("docs")
    return {"d1": decision_pdf(folder / "qd1.pdf", 1), "d2": decision_pdf(folder / "qd2.pdf", 2)}


@pytest.fixture(scope="module")
def pinfile(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pin") / "pin.txt"
    path.write_text("1234\n", encoding="utf-8")
    return path


def token_args(token, *extra):
    return ["--pkcs11-lib", token.module, "--token-label", token.token_label, *extra]


@pytest.mark.slow
def test_leader_key_without_label_then_agency_key_by_label(sohoa, softhsm_token, docs, images, pinfile,
                                                           tmp_path, server):
    lead = tmp_path / "leader"
    data, _ = run_json(sohoa, docs["d1"], docs["d2"], "-o", lead,
                       *token_args(softhsm_token, "--key-id", "02"), "--pin-file", pinfile,
                       "--role", "leader", "--signature-image", images["signature"])
    assert data["signed"] == 2 and data["signer"] == "Trần Đình Bẩy"
    for f in data["files"]:
        [(sig, _)] = assert_valid(Path(f["output"]), ["LanhDao"])
        embedded = {c.chosen.dump() for c in sig.signed_data["certificates"]}
        assert testpki.certificate("intermediate").dump() in embedded  # the chain the token holds
    data, _ = run_json(sohoa, *sorted(lead.glob("*.pdf")), "-o", tmp_path / "agency",
                       *token_args(softhsm_token, "--key-label", softhsm_token.agency.key_label),
                       "--pin-file", pinfile, "--role", "agency", "--seal-image", images["seal"],
                       "--trust", ROOT)
    assert data["signed"] == 2 and data["signer"] == "ỦY BAN NHÂN DÂN XÃ DIÊN LẠC"
    for f in data["files"]:
        results = assert_valid(Path(f["output"]), ["LanhDao", "CoQuan"])
        embedded = {c.chosen.dump() for c in results[1][0].signed_data["certificates"]}
        assert testpki.certificate("root").dump() in embedded  # completed with --trust


def test_certificate_label_and_one_pin_prompt(sohoa, softhsm_token, docs, tmp_path):
    data, proc = run_json(sohoa, docs["d1"], docs["d2"], "-o", tmp_path, "--offline",
                          "--pkcs11-lib", softhsm_token.module, "--cert-label", "Trần Đình Bẩy",
                          input="1234\n", env={"SOHOA_PIN": ""})
    assert data["signed"] == 2 and data["signer"] == "Trần Đình Bẩy"
    assert proc.stderr.count("PIN:") == 1 and "1234" not in proc.stderr + proc.stdout


def test_wrong_pin_fails_every_file_asked_once(sohoa, softhsm_token, docs, tmp_path):
    data, proc = run_json(sohoa, docs["d1"], docs["d2"], "-o", tmp_path, "--offline",
                          *token_args(softhsm_token, "--key-id", "01"), input="9999\n",
                          env={"SOHOA_PIN": ""}, code=1)
    assert data["failed"] == 2
    assert all(f["message"] == f"wrong PIN for token '{softhsm_token.token_label}'" for f in data["files"])
    assert proc.stderr.count("PIN:") == 1 and not list(tmp_path.glob("*.pdf"))


def test_ambiguous_or_unknown_selection_is_a_usage_error(sohoa, softhsm_token, docs, tmp_path):
    proc = sohoa("sign", docs["d1"], "-o", tmp_path, "--pkcs11-lib", softhsm_token.module, input="")
    assert proc.returncode == 2 and "Trần Đình Bẩy" in proc.stderr and "--cert-label" in proc.stderr
    proc = sohoa("sign", docs["d1"], "-o", tmp_path, "--pkcs11-lib", softhsm_token.module,
                 "--token-label", "UBND xã Khác")
    assert proc.returncode == 2 and "no token labelled 'UBND xã Khác'" in proc.stderr
    assert "PIN" not in proc.stderr


@pytest.fixture(scope="module")
def expired_token(tmp_path_factory):
    """A second SoftHSM token holding the expired certificate (id 03)."""
    folder = tmp_path_factory.mktemp("softhsm-expired")
    tokens = folder / "tokens"
    tokens.mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
                    "slots.removable = false\n", encoding="utf-8")
    env = {"SOFTHSM2_CONF": str(conf), "PATH": "/usr/bin:/bin"}
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "Chữ ký hết hạn",
                    "--pin", "1234", "--so-pin", "123456"], env=env, check=True, capture_output=True)
    request = {"module": str(testpki.softhsm_module()), "token": "Chữ ký hết hạn", "pin": "1234",
               "keys": [{"key": str(testpki.KEYS_DIR / "expired.key.pem"),
                         "cert": str(testpki.CERTS_DIR / "expired.pem"), "id": "03",
                         "key_label": None, "cert_label": "Lê Thị Hết Hạn"}], "ca_certs": []}
    subprocess.run([sys.executable, "-c", "from sohoa.samples.testpki import _softhsm_import_main as m; m()"],
                   input=json.dumps(request), text=True, env=env, check=True, capture_output=True)
    return conf


def test_token_certificate_refused_before_the_pin(sohoa, expired_token, docs, tmp_path):
    proc = sohoa("sign", docs["d1"], "-o", tmp_path, "--pkcs11-lib", testpki.softhsm_module(),
                 "--key-id", "03", input="", env={"SOFTHSM2_CONF": str(expired_token), "SOHOA_PIN": ""})
    assert proc.returncode == 2, proc.stderr
    assert "Lê Thị Hết Hạn expired on 2022-05-31" in proc.stderr and "PIN" not in proc.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_token_b_lt(sohoa, softhsm_token, docs, pinfile, tmp_path, server):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature

    data, _ = run_json(sohoa, docs["d1"], "-o", tmp_path, *token_args(softhsm_token, "--key-id", "01"),
                       "--pin-file", pinfile, "--role", "copy", "--tsa", server.tsa_url, "--level", "B-LT",
                       "--trust", ROOT)
    out = Path(data["files"][0]["output"])
    [(_, status)] = validate(out)
    assert status.bottom_line and status.timestamp_validity.valid
    with open(out, "rb") as f:
        reader = PdfFileReader(f)
        offline = DocumentSecurityStore.read_dss(reader).as_validation_context(
            {"trust_roots": [testpki.certificate("root")], "allow_fetching": False,
             "revocation_mode": "hard-fail"})
        assert validate_pdf_signature(reader.embedded_regular_signatures[0], offline).bottom_line
