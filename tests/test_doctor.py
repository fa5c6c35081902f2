"""`sohoa doctor` finds what is installed and names a fix for what is not."""
import json
import os
import subprocess
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

from sohoa.cli import fonts

SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")


def checks_by_name(result) -> dict:
    return {c["name"].split(" (")[0]: c for c in json.loads(result.stdout)["checks"]}


def test_doctor_passes_on_a_set_up_machine(sohoa, isolated_config):
    result = sohoa("doctor", "--json", "--archive", isolated_config / "arch")
    assert result.returncode == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["ok"] is True
    checks = checks_by_name(result)
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout
    assert checks["Tesseract OCR"]["found"].split()[1] in version
    assert checks["Tesseract 'vie' data"]["found"].endswith("vie.traineddata")
    assert checks["Tesseract 'osd' data"]["status"] == "ok"
    assert checks["Archive folder write access"]["found"].endswith("(will be created)")


def test_doctor_table_goes_to_stderr_and_says_all_is_well(sohoa, isolated_config):
    result = sohoa("doctor")
    assert result.returncode == 0
    assert result.stdout == ""
    assert "Tesseract" in result.stderr and "Everything sohoa needs is here" in result.stderr


def test_missing_tesseract_is_reported_with_the_package_to_install(sohoa, isolated_config):
    result = sohoa("doctor", "--json", env={"PATH": "/nonexistent"})
    assert result.returncode == 1
    check = checks_by_name(result)["Tesseract OCR"]
    assert check["status"] == "missing"
    assert "apt-get install -y tesseract-ocr" in check["fix"]


def test_missing_vietnamese_data_is_reported(sohoa, isolated_config, tmp_path):
    tessdata = tmp_path / "tessdata"
    tessdata.mkdir()
    os.symlink("/usr/share/tesseract-ocr/5/tessdata/eng.traineddata", tessdata / "eng.traineddata")
    result = sohoa("doctor", "--json", env={"TESSDATA_PREFIX": str(tessdata)})
    assert result.returncode == 1
    checks = checks_by_name(result)
    assert checks["Tesseract 'vie' data"]["status"] == "missing"
    assert "tesseract-ocr-vie" in checks["Tesseract 'vie' data"]["fix"]
    assert "tesseract-ocr-osd" in checks["Tesseract 'osd' data"]["fix"]


def test_unwritable_archive_folder_fails(sohoa, isolated_config):
    result = sohoa("doctor", "--json", "--archive", "/proc/sohoa-archive")
    assert result.returncode == 1
    check = checks_by_name(result)["Archive folder write access"]
    assert check["status"] == "missing" and "--archive" in check["fix"]


def test_archive_folder_comes_from_sohoa_toml(sohoa, isolated_config):
    (isolated_config / "sohoa.toml").write_text('archive = "/proc/from-toml"\n')
    check = checks_by_name(sohoa("doctor", "--json"))["Archive folder write access"]
    assert "/proc/from-toml" in check["found"]


def test_pkcs11_library_is_found_and_a_bogus_one_ignored(sohoa, isolated_config, tmp_path):
    bogus = tmp_path / "libvendor-token.so"
    bogus.write_bytes(b"not a shared object")
    check = checks_by_name(sohoa("doctor", "--json", "--pkcs11-lib", bogus))["PKCS#11 token libraries"]
    assert str(SOFTHSM) in check["found"]
    assert str(bogus) not in check["found"]


def test_font_without_vietnamese_marks_is_rejected(tmp_path):
    termes = fonts.vietnamese_font("regular")
    assert fonts.covers_vietnamese(termes)
    # The same font with the Vietnamese block U+1EA0–U+1EF9 taken out.
    font = TTFont(termes)
    keep = [cp for cp in font.getBestCmap() if not 0x1EA0 <= cp <= 0x1EF9]
    subsetter = subset.Subsetter()
    subsetter.populate(unicodes=keep)
    subsetter.subset(font)
    partial = tmp_path / "termes-without-vietnamese.otf"
    font.save(partial)
    assert not fonts.covers_vietnamese(partial)


def test_doctor_reaches_the_province_engines_that_are_set(sohoa, isolated_config, pg_server, s3_server, monkeypatch):
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    s3_server.create_bucket("doctor")
    url = pg_server.url(pg_server.create_database())
    good = sohoa("doctor", "--json", env={"SOHOA_DB": url, "SOHOA_STORE": "s3://doctor/x"})
    assert good.returncode == 0, good.stdout
    checks = checks_by_name(good)
    assert "pg_trgm available" in checks["PostgreSQL catalogue"]["found"]
    assert checks["S3 bag store"]["status"] == "ok" and "Dask cluster" not in checks
    bad = sohoa("doctor", "--json", env={"SOHOA_DB": f"postgresql://postgres@/sohoa?host={isolated_config}",
                                         "SOHOA_STORE": "s3://no-such-bucket/x", "SOHOA_CLUSTER": "tcp://127.0.0.1:9"})
    assert bad.returncode == 1
    checks = checks_by_name(bad)
    for name in ("PostgreSQL catalogue", "S3 bag store", "Dask cluster"):
        assert checks[name]["status"] == "missing" and checks[name]["fix"], checks[name]
    assert "create the bucket" in checks["S3 bag store"]["found"] + checks["S3 bag store"]["fix"]
