"""Bags on S3-compatible storage, beyond what the archive tests check on both stores
(`make test` runs them again with `--store s3`): an archive keeps its store, mistakes are
one line before anything is written, and `sohoa run` files into PostgreSQL + S3."""
from __future__ import annotations

import pytest

from conftest import CASES, stored_versions
from test_archive import AGENCY, add, outputs, run_json  # noqa: F401 (outputs: a fixture)


@pytest.fixture
def s3(s3_server, monkeypatch):
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SOHOA_STORE", raising=False)
    s3_server.create_bucket("province")
    return s3_server


def one_line(result) -> bool:
    return "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_archive_keeps_its_store(sohoa, isolated_config, outputs, tmp_path, s3, monkeypatch):
    monkeypatch.delenv("SOHOA_STORE", raising=False)
    arch = tmp_path / "arch"
    result = add(sohoa, arch, outputs, extra=["--agency-code", AGENCY, "--store", "s3://province/dak-lak/"])
    assert result.returncode == 0, result.stderr
    assert (arch / "store.url").read_text(encoding="utf-8").strip() == "s3://province/dak-lak/"
    assert run_json(result)["bags"] == "s3://province/dak-lak/fonds/" and "bags in s3://" in result.stderr
    assert not (arch / "fonds").exists(), "the bags are in the store, not in the archive folder"
    versions = stored_versions(arch)
    assert len(versions) == 3 and all(v.startswith(f"fonds/{AGENCY}/") for v in versions)
    # a search reads the catalogue only: the S3 client (≈0.2 s to load) is not even imported
    import subprocess
    import sys

    timed = subprocess.run([sys.executable, "-X", "importtime", "-m", "sohoa.cli", "archive", "search",
                            "quyet dinh", "--archive", str(arch)], capture_output=True, text=True)
    assert timed.returncode == 0 and "boto3" not in timed.stderr and "botocore" not in timed.stderr
    # later commands find the bags without --store
    checked = run_json(sohoa("archive", "check", "--archive", arch, "--json"))
    assert checked["ok"] and checked["bags"] == 3 and checked["files"] > 10
    shown = run_json(sohoa("archive", "show", "000.00.12.H27-230614-0001", "--archive", arch, "--json"))
    assert shown["files"] and "error" not in shown
    other = add(sohoa, arch, outputs, extra=["--agency-code", AGENCY, "--store", "s3://province/other"])
    assert other.returncode == 2 and "store.url" in other.stderr and one_line(other)
    disk = tmp_path / "disk"
    assert add(sohoa, disk, outputs, extra=["--agency-code", AGENCY]).returncode == 0
    mixed = add(sohoa, disk, outputs, extra=["--agency-code", AGENCY, "--store", "s3://province/x"])
    assert mixed.returncode == 2 and "fonds/" in mixed.stderr and one_line(mixed)


def test_store_mistakes_are_one_line_before_anything_is_written(sohoa, isolated_config, outputs, tmp_path, s3,
                                                               monkeypatch):
    arch = tmp_path / "arch"
    cases = [("s3:/province", 2, "s3://BUCKET"), ("s3://no-such-bucket/x", 1, "create the bucket")]
    for url, code, said in cases:
        result = add(sohoa, arch, outputs, extra=["--agency-code", AGENCY, "--store", url])
        assert result.returncode == code and said in result.stderr and one_line(result), result.stderr
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    down = add(sohoa, arch, outputs, extra=["--agency-code", AGENCY, "--store", "s3://province/x"])
    assert down.returncode == 1 and "AWS_ENDPOINT_URL" in down.stderr and one_line(down), down.stderr
    assert not (arch / "store.url").exists() and not (arch / "catalogue.sqlite3").exists()


def test_run_files_into_postgresql_and_s3(sohoa, isolated_config, tmp_path, s3, pg_server, monkeypatch):
    """The demo's configuration: `sohoa run` with SOHOA_DB and SOHOA_STORE."""
    monkeypatch.setenv("SOHOA_DB", pg_server.url(pg_server.create_database()))
    monkeypatch.setenv("SOHOA_STORE", "s3://province/run")
    arch, work = tmp_path / "arch", tmp_path / "work"
    result = sohoa("run", CASES[0], "--archive", arch, "--work", work, "--no-sign", "--json")
    assert result.returncode == 0, result.stderr
    assert run_json(result)["archived"] == 1
    assert (arch / "catalogue.url").exists() and (arch / "store.url").exists()
    assert len(stored_versions(arch)) == 1
    assert run_json(sohoa("archive", "search", "tiep nhan", "--archive", arch, "--json"))["results"]
    assert run_json(sohoa("archive", "check", "--archive", arch, "--json"))["ok"]


def test_a_postgresql_catalogue_serves_the_archive_whose_bags_it_indexes(sohoa, isolated_config, outputs, tmp_path,
                                                                         s3, pg_server, monkeypatch):
    monkeypatch.setenv("SOHOA_DB", pg_server.url(pg_server.create_database()))
    first = add(sohoa, tmp_path / "one", outputs, extra=["--agency-code", AGENCY, "--store", "s3://province/one"])
    assert first.returncode == 0, first.stderr
    for extra in (["--store", "s3://province/two"], []):  # other bags: in another store, on disk
        other = add(sohoa, tmp_path / f"other{len(extra)}", outputs, extra=["--agency-code", AGENCY, *extra])
        assert other.returncode == 2 and "s3://province/one" in other.stderr and one_line(other), other.stderr
    assert run_json(sohoa("archive", "check", "--archive", tmp_path / "one", "--json"))["ok"]


def test_two_machines_filing_the_same_dossiers_at_once_store_each_version_once(
        isolated_config, outputs, tmp_path, s3, pg_server, monkeypatch):
    """Two archive folders (two machines: their own locks and staging) on one PostgreSQL
    catalogue and one bucket: the dossier's advisory lock in the catalogue serialises them."""
    import os
    import subprocess

    from conftest import SOHOA

    monkeypatch.setenv("SOHOA_DB", pg_server.url(pg_server.create_database()))
    monkeypatch.setenv("SOHOA_STORE", "s3://province/shared")
    machines = [subprocess.Popen([str(SOHOA), "archive", "add", str(outputs), "--archive", str(tmp_path / f"m{i}"),
                                  "--agency-code", AGENCY, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env=dict(os.environ)) for i in range(2)]
    reports = []
    for machine in machines:
        out, errors = machine.communicate(timeout=300)
        assert machine.returncode == 0, errors
        reports.append(run_json(subprocess.CompletedProcess([], 0, out, errors)))
    assert sum(r["added"] for r in reports) == 3 and sum(r["unchanged"] for r in reports) == 3
    assert len(stored_versions(tmp_path / "m0")) == 3 and all(v.endswith("/v0001") for v in stored_versions(tmp_path / "m0"))
    chain = run_json(subprocess.run([str(SOHOA), "archive", "log", "--verify", "--archive", str(tmp_path / "m1"), "--json"],
                                    capture_output=True, text=True))
    assert chain["ok"] and chain["events"] == 6
