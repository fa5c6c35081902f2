"""The catalogue: dossiers, versions, documents, fixity results, search index, audit log.

SQLite in WAL mode with `synchronous=FULL`: a committed ingest survives a power cut, and
readers never block the writer. Everything but the audit log and the fixity history can
be rebuilt from the bags (`sohoa archive reindex`); the bags are the truth.

The schema is one Alembic history for both back ends (`migrations/versions/`, tables in
SQLAlchemy Core): given a postgresql:// URL, the catalogue lives on PostgreSQL, FTS5's
table replaced by a tsvector one (`pg.py` holds everything else that differs).

Search index (see `fold.py`): FTS5, contentless, `detail=none` (rowids only: about a
third of the size of a positional index), its tokenizer keeping every mark (`unicode61
remove_diacritics 0`: exact lower-case words, as `fold.tokens` cuts them); `terms` maps
each folded word to the exact words of the catalogue that have marks, for query expansion. The document text
is kept zlib-compressed in `documents.text` for snippets, phrase checks and rebuilds.
"""
from __future__ import annotations

import json
import sqlite3
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from sohoa.cli.errors import SohoaError, UsageError

from . import fold as F
from . import pg

TOKENIZER_VERSION = "1"
BUSY_TIMEOUT_MS = 120_000
PAGE_SIZE = 16384  # documents rows (~1.5 KB with their compressed text) pack better than in 4 KB pages

MIGRATIONS = Path(__file__).with_name("migrations")  # Alembic's script folder
SCHEMA_HEAD = "0002"  # its newest revision: a catalogue there opens without loading Alembic

METADATA_FIELDS = ("doc_type", "number", "symbol", "issued_date", "issued_place", "agency",
                   "subject", "signer_name", "signer_title")


class CatalogueError(SohoaError):
    pass


@dataclass
class DocumentRecord:
    seq: int
    file: str | None  # the searchable PDF's original name (None: every page blank)
    pages: int  # pages scanned
    pages_kept: int  # pages in the searchable PDF
    metadata: dict
    confidence: float | None
    signed: bool  # a signed PDF of this document carries signatures
    signature: str | None  # worst ETSI indication of those signatures
    text: str


@dataclass
class VersionRecord:
    agency_code: str
    agency_name: str | None
    folder: str
    dossier_code: str | None
    name: str
    year: int
    dossier_date: str | None
    path: str  # fonds/<agency>/<year>/<folder>/vNNNN
    version: int
    ingested_at: str
    agent: str
    fingerprint: str
    payload_bytes: int
    payload_files: int
    documents: list[DocumentRecord] = field(default_factory=list)

    @property
    def dossier_path(self) -> str:
        return self.path.rsplit("/", 1)[0]


def _clean(value) -> str | None:
    if value is None:
        return None
    text = F.nfc(" ".join(str(value).split()))
    return text or None


def _listed(value) -> str | None:
    if not value:
        return None
    if isinstance(value, str):
        value = [value]
    return " ".join(str(v) for v in value) or None


def index_text(record: VersionRecord, doc: DocumentRecord) -> str:
    """What the search index reads of a document: metadata and identifiers, then its text."""
    meta = doc.metadata or {}
    return _words([*(meta.get(k) for k in METADATA_FIELDS), _listed(meta.get("dossier_codes")),
                   _listed(meta.get("citizen_ids")), record.dossier_code, record.name, doc.file], doc.text)


def _words(head: list, text: str | None) -> str:
    return F.nfc(" ".join(filter(None, (str(v or "") for v in head)))) + "\n" + F.nfc(text or "")


# documents columns, then dossiers columns, that index_text reads (for a copy of the catalogue)
_WORDS_SQL = ("SELECT d.id, " + ", ".join(f"d.{k}" for k in METADATA_FIELDS) + ", d.dossier_codes, "
              "d.citizen_ids, s.dossier_code, s.name, d.file, d.text FROM documents d "
              "JOIN dossiers s ON s.id = d.dossier_id ORDER BY d.id")
_COPIED = ("meta", "dossiers", "versions", "documents", "fixity", "events", "terms")


_INSERT_DOCUMENT = (
    "INSERT INTO documents (version_id, dossier_id, seq, file, pages, pages_kept, doc_type, "
    "number, symbol, issued_date, issued_place, agency, subject, signer_name, signer_title, "
    "dossier_codes, citizen_ids, confidence, signed, signature, text) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")


class Catalogue:
    """One connection to ARCH/catalogue.sqlite3, or to a PostgreSQL database when given a
    postgresql:// URL (created and migrated on first use)."""

    def __init__(self, location: Path | str, *, create: bool = True):
        self._seen: set[str] = set()
        self.location = location
        self.postgres = pg.is_url(location)
        if self.postgres:
            self._open_postgres(location, create)
            return
        self.path = Path(location)
        if not create and not self.path.exists():
            raise CatalogueError(f"{self.path}: no catalogue here — is this an archive? "
                                 "(sohoa archive add creates one)")
        try:
            self.con = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                                       check_same_thread=False)
            self.con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.con.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # only takes effect on a new file
            self.con.execute("PRAGMA journal_mode = WAL")
            self.con.execute("PRAGMA synchronous = FULL")
            self.con.execute("PRAGMA foreign_keys = ON")
            self.migrate()
        except sqlite3.DatabaseError as exc:
            raise CatalogueError(f"{self.path}: the catalogue cannot be read ({exc}) — "
                                 "rebuild it from the bags: sohoa archive reindex") from None

    def _open_postgres(self, url: str, create: bool) -> None:
        self.path = pg.redact(url)
        self.con = pg.connect(url)
        try:
            if not create and not pg.has_schema(self.con):
                raise UsageError(f"catalogue {self.path}: the database holds no catalogue — rebuild it "
                                 "from the bags: sohoa archive reindex")
            self.migrate()
        except pg.errors() as exc:
            self.con.close()
            raise CatalogueError(f"catalogue {self.path}: {str(exc).strip().splitlines()[0]} — check the "
                                 "database and its rights, or rebuild: sohoa archive reindex") from None
        except SohoaError:
            self.con.close()
            raise

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Catalogue":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------- schema

    def migrate(self) -> None:
        """Bring the schema to the newest revision of the one Alembic history of both back
        ends (`migrations/`), on a connection of Alembic's own."""
        if self.schema_revision() == SCHEMA_HEAD:
            return
        from sqlalchemy.exc import SQLAlchemyError

        try:
            upgrade_schema(self.location, self.postgres)
        except SQLAlchemyError as exc:
            cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise CatalogueError(f"{self.path}: its schema cannot be brought up to date ({cause}) — "
                                 "rebuild the catalogue from the bags: sohoa archive reindex") from None

    def schema_revision(self) -> str | None:
        if self.postgres:
            if not self.con.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()[0]:
                return None
        elif not self.con.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone():
            return None
        row = self.con.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None

    def write(self):
        """A write transaction (BEGIN IMMEDIATE; on PostgreSQL BEGIN and the writers' advisory
        lock): commit on success, roll back on error."""
        return _Transaction(self.con, self._seen.clear, self.postgres)

    # ---------------------------------------------------------------- writes

    def has_version(self, path: str) -> bool:
        return self.con.execute("SELECT 1 FROM versions WHERE path = ?", (path,)).fetchone() is not None

    def index_version(self, record: VersionRecord) -> int | None:
        """Insert a version and its documents (inside the caller's transaction).
        Returns the version id, or None when the version is already catalogued."""
        con = self.con
        if self.has_version(record.path):
            return None
        row = con.execute("SELECT id FROM dossiers WHERE agency_code = ? AND folder = ?",
                          (record.agency_code, record.folder)).fetchone()
        if row:
            dossier_id = row[0]
            con.execute("UPDATE dossiers SET dossier_code = COALESCE(?, dossier_code), name = ?, "
                        "dossier_date = COALESCE(?, dossier_date) WHERE id = ?",
                        (record.dossier_code, record.name, record.dossier_date, dossier_id))
        else:
            dossier_id = self._insert(
                "INSERT INTO dossiers (agency_code, folder, dossier_code, name, year, dossier_date, path) "
                "VALUES (?,?,?,?,?,?,?)",
                (record.agency_code, record.folder, record.dossier_code, record.name, record.year,
                 record.dossier_date, record.dossier_path))
        version_id = self._insert(
            "INSERT INTO versions (dossier_id, version, path, ingested_at, agent, agency_name, "
            "fingerprint, payload_bytes, payload_files) VALUES (?,?,?,?,?,?,?,?,?)",
            (dossier_id, record.version, record.path, record.ingested_at, record.agent,
             record.agency_name, record.fingerprint, record.payload_bytes,
             record.payload_files))
        latest = con.execute("SELECT v.version FROM dossiers d JOIN versions v ON v.id = d.latest_version_id "
                             "WHERE d.id = ?", (dossier_id,)).fetchone()
        if latest is None or latest[0] < record.version:
            con.execute("UPDATE dossiers SET latest_version_id = ? WHERE id = ?", (version_id, dossier_id))
        for doc in record.documents:
            self._index_document(record, doc, version_id, dossier_id)
        return version_id

    def _index_document(self, record: VersionRecord, doc: DocumentRecord, version_id: int,
                        dossier_id: int) -> None:
        meta = doc.metadata or {}
        text = F.nfc(doc.text or "")
        row = (version_id, dossier_id, doc.seq, doc.file, doc.pages, doc.pages_kept,
               *(_clean(meta.get(k)) for k in METADATA_FIELDS),
               _listed(meta.get("dossier_codes")), _listed(meta.get("citizen_ids")),
               doc.confidence, int(doc.signed), doc.signature, zlib.compress(text.encode("utf-8"), 1))
        words = index_text(record, doc)
        if self.postgres:
            pg.insert_document(self.con, _INSERT_DOCUMENT, row, words)
        else:
            doc_id = self.con.execute(_INSERT_DOCUMENT, row).lastrowid
            self.con.execute("INSERT INTO doc_fts (rowid, words) VALUES (?, ?)", (doc_id, words))
        self._learn_terms(words)

    def _insert(self, sql: str, args) -> int:
        """INSERT one row; its new id."""
        if self.postgres:
            return self.con.execute(sql + " RETURNING id", args).fetchone()[0]
        return self.con.execute(sql, args).lastrowid

    def _learn_terms(self, text: str) -> None:
        """Record the exact words with marks that the index has now (cheap: only the
        whitespace-separated pieces not seen before by this connection are looked at)."""
        new = set(text.lower().split()) - self._seen
        if not new:
            return
        marked = {(F.fold_token(w), w) for w in F.tokens(" ".join(new)) if F.has_marks(w)}
        if marked:
            self.con.executemany("INSERT INTO terms (folded, term) VALUES (?, ?) ON CONFLICT DO NOTHING",
                                 sorted(marked))
        if len(self._seen) > 1_000_000:
            self._seen.clear()
        self._seen |= new

    def clear_index(self) -> None:
        """Drop everything that is rebuilt from the bags (inside the caller's transaction)."""
        con = self.con
        if self.postgres:
            con.execute("TRUNCATE doc_words, documents, terms, versions, dossiers")
            self._seen.clear()
            return
        con.execute("INSERT INTO doc_fts (doc_fts) VALUES ('delete-all')")
        for table in ("documents", "terms"):
            con.execute(f"DELETE FROM {table}")
        con.execute("UPDATE dossiers SET latest_version_id = NULL")
        con.execute("DELETE FROM versions")
        con.execute("DELETE FROM dossiers")
        self._seen.clear()

    def record_fixity(self, version_path: str, checked_at: str, outcome: str, files: int,
                      size: int, problems: list[dict]) -> None:
        self.con.execute("INSERT INTO fixity (version_path, checked_at, outcome, files, bytes, problems) "
                         "VALUES (?,?,?,?,?,?)", (version_path, checked_at, outcome, files, size,
                                                   json.dumps(problems, ensure_ascii=False)))

    # ---------------------------------------------------------------- reads

    def copy_to_sqlite(self, path: Path) -> None:
        """A consistent copy of this PostgreSQL catalogue as a new SQLite one at `path`."""
        dst = Catalogue(path)
        try:
            self.con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            with dst.write() as out:
                out.execute("DELETE FROM meta")
                for table in _COPIED:
                    columns = [r[1] for r in out.execute(f"PRAGMA table_info({table})")]
                    insert = (f"INSERT INTO {table} ({', '.join(columns)}) "
                              f"VALUES ({', '.join('?' * len(columns))})")
                    for rows in pg.batches(self.con, f"SELECT {', '.join(columns)} FROM {table}"):
                        out.executemany(insert, rows)
                for rows in pg.batches(self.con, _WORDS_SQL):
                    out.executemany("INSERT INTO doc_fts (rowid, words) VALUES (?, ?)",
                                    [(r[0], _words(list(r[1:-1]), decompress(r[-1]))) for r in rows])
            self.con.execute("COMMIT")
            dst.con.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()

    def integrity_check(self) -> str:
        if self.postgres:
            return pg.integrity_check(self.con)
        return self.con.execute("PRAGMA integrity_check").fetchone()[0]

    def version_paths(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT path FROM versions")}


def upgrade_schema(location: Path | str, postgres: bool) -> None:
    """`alembic upgrade head` on this catalogue (transactional on both engines: SQLite's
    BEGIN IMMEDIATE, PostgreSQL's DDL under the writers' lock; see migrations/env.py)."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config
    from sqlalchemy.pool import NullPool

    if postgres:
        import psycopg

        engine = sa.create_engine("postgresql+psycopg://", poolclass=NullPool,
                                  creator=lambda: psycopg.connect(str(location), connect_timeout=10))
    else:
        engine = sa.create_engine(f"sqlite:///{location}", poolclass=NullPool,
                                  connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

        @sa.event.listens_for(engine, "connect")
        def _own_transactions(dbapi_connection, record):
            dbapi_connection.isolation_level = None  # pysqlite's implicit BEGIN would skip the DDL

        @sa.event.listens_for(engine, "begin")
        def _begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def decompress(blob: bytes | None) -> str:
    return zlib.decompress(blob).decode("utf-8") if blob else ""


class _Transaction:
    def __init__(self, con, on_rollback=None, postgres: bool = False):
        self.con = con
        self.on_rollback = on_rollback
        self.postgres = postgres

    def __enter__(self):
        if self.postgres:
            self.con.execute("BEGIN")
            self.con.lock_writers()
        else:
            self.con.execute("BEGIN IMMEDIATE")
        return self.con

    def __exit__(self, kind, exc, tb):
        if kind is None:
            self.con.execute("COMMIT")
        else:
            if self.on_rollback:
                self.on_rollback()  # terms learnt in this transaction are gone again
            try:
                self.con.execute("ROLLBACK")
            except Exception:  # the connection is gone: nothing was committed
                pass
        return False
