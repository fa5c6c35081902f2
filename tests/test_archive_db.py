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


# ----------------------------------------------------------------- one migration history

def _columns(con, postgres: bool) -> dict[str, list[str]]:
    if postgres:
        rows = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                           "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position").fetchall()
    else:
        rows = [(t, c[1]) for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                  "AND name NOT LIKE 'doc_fts%' ORDER BY name").fetchall()
                for c in con.execute(f"PRAGMA table_info('{t}')")]
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def test_both_back_ends_get_the_same_tables_from_one_alembic_history(tmp_path, pg_server):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from sohoa.archive.catalogue import MIGRATIONS, SCHEMA_HEAD, Catalogue

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD, \
        "SCHEMA_HEAD names the newest migration"
    lite = Catalogue(tmp_path / "catalogue.sqlite3")
    post = Catalogue(pg_server.url(pg_server.create_database()))
    assert lite.schema_revision() == post.schema_revision() == SCHEMA_HEAD
    sqlite_tables, pg_tables = _columns(lite.con, False), _columns(post.con, True)
    assert pg_tables.pop("doc_words") == ["id", "words"]  # the search index is the one difference
    assert sqlite_tables == pg_tables and "documents" in pg_tables


def test_a_catalogue_made_before_alembic_is_adopted_as_it_is(sohoa, isolated_config, outputs, tmp_path):
    from sohoa.archive.catalogue import SCHEMA_HEAD

    arch = tmp_path / "arch"
    assert add(sohoa, arch, outputs, extra=["--agency-code", AGENCY]).returncode == 0
    con = open_catalogue(arch)  # as sohoa's first catalogues were: steps in schema_migrations
    con.execute("DROP TABLE alembic_version")
    con.execute("DROP TABLE ocr_pages")  # came later
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    con.execute("INSERT INTO schema_migrations VALUES (1, '2026-11-01T08:00:00+07:00')")
    con.commit()
    con.close()
    hits = run_json(sohoa("archive", "search", "quyet dinh dien lac", "--archive", arch, "--json"))["results"]
    assert hits, "its documents are found as before"
    con = open_catalogue(arch)
    assert con.execute("SELECT version_num FROM alembic_version").fetchall() == [(SCHEMA_HEAD,)]
    assert con.execute("SELECT COUNT(*) FROM ocr_pages").fetchone()[0] == 0, "and the later steps applied"
    assert con.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 5
    assert run_json(sohoa("archive", "log", "--verify", "--archive", arch, "--json"))["ok"]
