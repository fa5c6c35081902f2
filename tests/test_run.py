"""`sohoa init` + `sohoa run`: scans to a verified archive, driven as a clerk drives it.

The desk's settings come from a sohoa.toml written by `sohoa init`; the copies are signed
at B-LT with the TEST-ONLY agency key, time-stamped and revocation-checked by the test
PKI on 127.0.0.1, then checked with `sohoa verify`, `sohoa archive search/check`.
"""
import json
import shutil
import signal
import subprocess
import time
import unicodedata

import pytest

from conftest import CASES, SOHOA, run_sohoa, tree_hashes
from sohoa.samples import testpki

pytestmark = pytest.mark.slow

AGENCY_NAME, AGENCY_CODE = "UBND xã Diên Lạc", "000.00.12.H27"
P12_ENV = {"SOHOA_P12_PASSWORD": testpki.P12_PASSWORD}


def plain(text: str) -> str:
    """What a user types without Vietnamese keyboard: no diacritics, đ → d."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def truth(case) -> dict:
    return json.loads((case / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def desk(tmp_path_factory, pki_server):
    """A desk folder with sohoa.toml from `sohoa init`, and one `sohoa run` of the samples."""
    folder = tmp_path_factory.mktemp("desk")
    trust = folder / "trust"
    trust.mkdir()
    shutil.copyfile(testpki.CERTS_DIR / "root.pem", trust / "root.pem")
    init = run_sohoa("init", "--agency-name", AGENCY_NAME, "--agency-code", AGENCY_CODE,
                     "--archive", "archive", "--p12", testpki.p12_path("agency"),
                     "--tsa", pki_server.tsa_url, "--trust-dir", "trust", cwd=folder)
    assert init.returncode == 0, init.stderr
    scans = folder / "scans"
    for case in CASES:
        shutil.copytree(case, scans / case.name)
    before = tree_hashes(scans)
    result = run_sohoa("run", "scans", "--level", "B-LT", "--json", cwd=folder, env=P12_ENV)
    assert result.returncode == 0, result.stderr
    assert tree_hashes(scans) == before, "the scans are never changed"
    return folder, json.loads(result.stdout), result.stderr


def test_init_writes_the_settings_without_secrets(desk):
    folder, _, _ = desk
    text = (folder / "sohoa.toml").read_text(encoding="utf-8")
    assert f'agency_name = "{AGENCY_NAME}"' in text and f'agency_code = "{AGENCY_CODE}"' in text
    assert testpki.P12_PASSWORD not in text
    again = run_sohoa("init", "--agency-code", "X", cwd=folder)
    assert again.returncode == 2 and "--force" in again.stderr
    assert f'"{AGENCY_CODE}"' in (folder / "sohoa.toml").read_text(encoding="utf-8")


def test_every_dossier_is_archived_with_signed_copies(desk):
    folder, summary, stderr = desk
    assert summary["dossiers"] == summary["archived"] == len(CASES)
    assert summary["failed"] == 0 and summary["problems"] == []
    expected_docs = sum(len(truth(c)["documents"]) for c in CASES)
    assert summary["documents"] == summary["signed"] == expected_docs
    for item in summary["results"]:
        assert item["status"] == "archived"
        assert item["version"].startswith(f"fonds/{AGENCY_CODE}/")
        assert set(item["signatures"].values()) == {"TOTAL_PASSED"}
    assert "ỦY BAN NHÂN DÂN XÃ DIÊN LẠC" in stderr  # the signer, named before any work
    stats = json.loads(run_sohoa("archive", "stats", "--json", cwd=folder).stdout)
    assert stats["total"]["dossiers"] == len(CASES)


def test_every_signature_in_the_archive_passes_offline(desk):
    folder, summary, _ = desk
    result = run_sohoa("verify", "archive", "--offline", "--signed-only", "--json", cwd=folder)
    assert result.returncode == 0, result.stderr
    signed = [v for v in json.loads(result.stdout) if v["indication"] != "NO_SIGNATURE"]
    assert len(signed) == summary["documents"]
    assert {v["indication"] for v in signed} == {"TOTAL_PASSED"}
    assert all("/data/signed/" in v["file"] for v in signed)


def test_the_signed_copy_carries_the_copy_stamp(desk):
    folder, _, _ = desk
    copy = sorted((folder / "sohoa-work" / "signed").glob("*/*.pdf"))[0]
    first_page = subprocess.run(["pdftotext", "-l", "1", str(copy), "-"], capture_output=True,
                                text=True, check=True).stdout
    assert "SAO Y" in first_page


def test_search_without_diacritics_finds_each_dossier(desk):
    folder, _, _ = desk
    for case in CASES:
        words = plain(truth(case)["procedure"]["name"]).split()[:6]
        result = run_sohoa("archive", "search", *words, "--json", cwd=folder)
        assert result.returncode == 0, result.stderr
        found = {hit["dossier_code"] for hit in json.loads(result.stdout)["results"]}
        assert truth(case)["dossier_code"] in found, (case.name, words)


def test_archive_check_is_clean(desk):
    folder, _, _ = desk
    result = run_sohoa("archive", "check", "--json", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["problems"] == []


def test_a_rerun_does_nothing_twice(desk):
    folder, _, _ = desk
    signed = tree_hashes(folder / "sohoa-work" / "signed")
    archive = tree_hashes(folder / "archive" / "fonds")
    result = run_sohoa("run", "scans", "--level", "B-LT", "--json", cwd=folder, env=P12_ENV)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["unchanged"] == len(CASES) and summary["signed"] == 0
    assert summary["cached_pages"] == summary["pages"]
    assert tree_hashes(folder / "sohoa-work" / "signed") == signed
    assert tree_hashes(folder / "archive" / "fonds") == archive


def test_a_bad_dossier_fails_alone_and_a_rerun_finishes_after_a_crash(tmp_path, desk):
    folder, _, _ = desk
    scans = tmp_path / "scans"
    for case in CASES[:2]:
        shutil.copytree(case, scans / case.name)
    broken = scans / "hs-hong"
    shutil.copytree(CASES[2], broken)
    victim = next(p for p in sorted(broken.iterdir()) if p.suffix in (".jpg", ".png", ".pdf"))
    victim.write_bytes(victim.read_bytes()[:300])  # a scan cut short in transfer
    work = folder / "sohoa-work"  # the desk's work folder: OCR comes from its cache
    args = ("run", scans, "--archive", tmp_path / "arch", "--work", work, "--level", "B-LT", "--json")

    crashed = run_sohoa(*args, cwd=folder, env=P12_ENV | {"SOHOA_FAULT": "copy"})
    assert crashed.returncode not in (0, 1, 2), crashed.stderr  # died while archiving
    assert "Traceback" not in crashed.stderr

    result = run_sohoa(*args, cwd=folder, env=P12_ENV)
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)
    by_name = {d["dossier"]: d for d in summary["results"]}
    assert [by_name[c.name]["status"] for c in CASES[:2]] == ["archived", "archived"]
    assert by_name["hs-hong"]["status"] == "failed" and by_name["hs-hong"]["failed_at"] == "ocr"
    assert victim.name in by_name["hs-hong"]["message"]
    assert "hs-hong" in result.stderr and victim.name in result.stderr

    victim.unlink()  # the clerk takes the bad scan out and runs the same command again
    again = run_sohoa(*args, cwd=folder, env=P12_ENV)
    assert again.returncode == 0, again.stderr
    statuses = {d["dossier"]: d["status"] for d in json.loads(again.stdout)["results"]}
    assert statuses == {CASES[0].name: "unchanged", CASES[1].name: "unchanged", "hs-hong": "archived"}


def test_a_changed_searchable_pdf_gets_a_fresh_signed_copy(tmp_path, desk):
    folder, _, _ = desk
    args = ["run", f"scans/{CASES[4].name}", "--archive", tmp_path / "arch", "--work", tmp_path / "work"]
    first = run_sohoa(*args, "--json", cwd=folder, env=P12_ENV)
    assert first.returncode == 0, first.stderr
    again = run_sohoa(*args, "--pdfa", "--json", cwd=folder, env=P12_ENV)  # other PDFs now
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["signed"] == summary["documents"] and summary["archived"] == 1
    assert summary["results"][0]["version"].endswith("/v0002")
    assert set(summary["results"][0]["signatures"].values()) == {"TOTAL_PASSED"}


def test_a_token_signs_every_copy_with_one_pin(tmp_path, desk, softhsm_token):
    folder, _, _ = desk
    result = run_sohoa("run", "scans/" + CASES[0].name, "--archive", tmp_path / "arch",
                       "--work", tmp_path / "work", "--pkcs11-lib", softhsm_token.module, "--token-label", softhsm_token.token_label,
                       "--cert-label", softhsm_token.agency.cert_label,
                       "--json", cwd=folder, env={"SOHOA_PIN": softhsm_token.pin})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["archived"] == 1 and summary["signed"] == summary["documents"] > 1
    assert set(summary["results"][0]["signatures"].values()) == {"TOTAL_PASSED"}


def test_without_a_key_the_dossiers_are_archived_unsigned(tmp_path, desk):
    folder, _, _ = desk
    result = run_sohoa("run", "scans/" + CASES[1].name, "--archive", tmp_path / "arch", "--no-sign",
                       "--json", cwd=folder)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["archived"] == 1 and summary["signed"] == 0
    assert summary["results"][0]["signatures"] == {}


def test_a_wrong_password_stops_before_any_work(tmp_path, desk):
    folder, _, _ = desk
    result = run_sohoa("run", "scans", "--archive", tmp_path / "arch", "--work", tmp_path / "w",
                       cwd=folder, env={"SOHOA_P12_PASSWORD": "wrong"})
    assert result.returncode == 2
    assert "password" in result.stderr.lower() and "Traceback" not in result.stderr
    assert not (tmp_path / "w").exists() and not (tmp_path / "arch").exists()


def test_ctrl_c_stops_cleanly_and_the_same_command_finishes(tmp_path, desk):
    folder, _, _ = desk
    args = ["run", f"scans/{CASES[3].name}", "--archive", str(tmp_path / "arch"),
            "--work", str(tmp_path / "work"), "--no-sign"]
    process = subprocess.Popen([str(SOHOA), *args], cwd=folder, stderr=subprocess.PIPE, text=True)
    cache = tmp_path / "work" / "ocr" / ".sohoa-cache"
    deadline = time.monotonic() + 120
    while not any(p.is_file() for p in cache.rglob("*")) and time.monotonic() < deadline:
        time.sleep(0.05)  # the first page is read: press Ctrl-C in the middle of the OCR
    process.send_signal(signal.SIGINT)
    rest = process.stderr.read()
    assert process.wait(timeout=120) == 130, rest
    assert "Interrupted" in rest and "Traceback" not in rest
    assert not list(tmp_path.rglob("*.part")), "no half-written file"
    again = run_sohoa(*args, "--json", cwd=folder)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["failed"] == 0
