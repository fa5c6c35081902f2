"""A throwaway PostgreSQL server for the tests and benchmarks (Debian's postgresql package).

`initdb` refuses to run as root, so as root the server runs as the `postgres` user. Its data
and its Unix socket live in a temporary folder; it listens on no TCP port and trusts
local connections (nobody else can reach the socket). It is made for speed, not
durability (fsync off): a test kills clients, never the server.

pytest: `pytest --catalogue postgresql` (what `make test` runs for the archive tests)
starts one server per session; each test gets a fresh database, named in SOHOA_DB.
"""
from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

BIN = Path(os.environ.get("SOHOA_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
SETTINGS = {"listen_addresses": "''", "fsync": "off", "synchronous_commit": "off",
            "full_page_writes": "off", "max_connections": "60", "shared_buffers": "64MB"}


class PgServer:
    def __init__(self):
        if not (BIN / "initdb").is_file():
            raise RuntimeError(f"no PostgreSQL server in {BIN} (apt-get install postgresql)")
        self.folder = Path(tempfile.mkdtemp(prefix="sohoa-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.user = "postgres" if os.geteuid() == 0 else getpass.getuser()

    def _run(self, *args: str) -> None:
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> "PgServer":
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        os.chmod(self.folder, 0o755)
        self._run(BIN / "initdb", "-D", self.data, "-U", self.user, "--auth=trust", "--encoding=UTF8",
                  "--locale=C", "--no-sync")
        options = " ".join([f"-k {self.folder}", *(f"-c {k}={v}" for k, v in SETTINGS.items())])
        self._run(BIN / "pg_ctl", "start", "-w", "-t", "60", "-D", self.data, "-l", self.log, "-o", options)
        return self

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(BIN / "pg_ctl", "stop", "-w", "-m", "immediate", "-D", self.data)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{database}?host={self.folder}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(sql)

    def create_database(self) -> str:
        name = "sohoa_" + uuid.uuid4().hex[:12]
        self._admin(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def __enter__(self) -> "PgServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
