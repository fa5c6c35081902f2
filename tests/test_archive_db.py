"""The archive catalogue on PostgreSQL, beyond what the archive tests check on both back
ends: an archive keeps its catalogue, URL mistakes are one line, and writers on several
machines (here: processes) never fork the audit chain."""
from __future__ import annotations

import subprocess

from conftest import SOHOA, open_catalogue
from test_archive import AGENCY, add, outputs, run_json  # noqa: F401 (outputs: a fixture)


def test_an_archive_keeps_its_postgresql_catalogue(sohoa, isolated_config, outputs, tmp_path, pg_server, monkeypatch):
    monkeypatch.delenv("SOHOA_DB", raising=False)
    url = pg_server.url(pg_server.create_database())
    with_password = url.replace("postgresql://postgres@", "postgresql://postgres:s3cret@")
    arch = tmp_path / "arch"
    result = add(sohoa, arch, outputs, extra=["--agency-code", AGENCY, "--db", with_password])
    assert result.returncode == 0, result.stderr
    assert not (arch / "catalogue.sqlite3").exists()
    assert (arch / "catalogue.url").read_text(encoding="utf-8").strip() == url, "recorded without its password"
    # later commands, from any machine that mounts the archive, find it without --db
    hits = run_json(sohoa("archive", "search", "quyet dinh dien lac", "--archive", arch, "--json"))["results"]
    assert hits and hits[0]["tier"] == "folded"
    other = pg_server.url(pg_server.create_database())
    wrong = sohoa("archive", "search", "x", "--archive", arch, "--db", other)
    assert wrong.returncode == 2 and "catalogue.url" in wrong.stderr and len(wrong.stderr.strip().splitlines()) == 1


def test_catalogue_url_mistakes_are_one_line_without_the_password(sohoa, isolated_config, outputs, tmp_path):
    arch = tmp_path / "arch"
    cases = {"mysql://me:s3cret@db/sohoa": 2, "postgresql://me:s3cret@[db/sohoa": 2,
             f"postgresql://me:s3cret@/sohoa?host={tmp_path}": 1}  # no server at that socket
    for url, code in cases.items():
        result = add(sohoa, arch, outputs, extra=["--agency-code", AGENCY, "--db", url])
        assert result.returncode == code, result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "s3cret" not in result.stderr
    assert not (arch / "catalogue.url").exists()


def test_writers_on_several_machines_never_fork_the_audit_chain(sohoa, isolated_config, outputs, tmp_path,
                                                                pg_server, monkeypatch):
    url = pg_server.url(pg_server.create_database())
    monkeypatch.setenv("SOHOA_DB", url)
    arch = tmp_path / "arch"
    assert add(sohoa, arch, outputs, extra=["--agency-code", AGENCY]).returncode == 0
    command = [str(SOHOA), "archive", "show", "000.00.12.H27-230614-0001", "--archive", str(arch)]
    workers = [subprocess.Popen(["/bin/sh", "-c", " && ".join([subprocess.list2cmdline(command)] * 5)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for w in workers:
        assert w.wait(timeout=300) == 0, w.stderr.read()
    chain = run_json(sohoa("archive", "log", "--verify", "--archive", arch, "--json"))
    assert chain["ok"] and chain["events"] == 3 + 20
    con = open_catalogue(arch)
    assert con.execute("SELECT COUNT(DISTINCT prev_hash) FROM events").fetchone()[0] == 23


def test_run_files_into_the_postgresql_catalogue(sohoa, isolated_config, tmp_path, pg_server, monkeypatch):
    """`sohoa run` honours the catalogue setting like the archive commands, and says an
    unreachable server before any OCR."""
    from conftest import CASES

    url = pg_server.url(pg_server.create_database())
    arch, work = tmp_path / "arch", tmp_path / "work"
    monkeypatch.setenv("SOHOA_DB", f"postgresql://postgres@/sohoa?host={tmp_path}")  # no server there
    down = sohoa("run", CASES[0], "--archive", arch, "--work", work, "--no-sign")
    assert down.returncode == 1 and "cannot connect" in down.stderr and "Traceback" not in down.stderr
    assert not (work / "ocr").exists()
    monkeypatch.setenv("SOHOA_DB", url)
    result = sohoa("run", CASES[0], "--archive", arch, "--work", work, "--no-sign", "--json")
    assert result.returncode == 0, result.stderr
    assert run_json(result)["archived"] == 1
    assert (arch / "catalogue.url").read_text(encoding="utf-8").strip() == url
    assert not (arch / "catalogue.sqlite3").exists()
    hits = run_json(sohoa("archive", "search", "tiep nhan", "--archive", arch, "--json"))["results"]
    assert hits
