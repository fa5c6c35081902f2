"""The catalogue: dossiers, versions, documents, fixity results, search index, audit log.

SQLite in WAL mode with `synchronous=FULL`: a committed ingest survives a power cut, and
readers never block the writer. Everything but the audit log and the fixity history can
be rebuilt from the bags (`sohoa archive reindex`); the bags are the truth.

The schema is a list of numbered SQL steps applied in order (`MIGRATIONS`). The tables
use plain SQL (INTEGER/TEXT/REAL/BLOB, no SQLite-only types) so that a PostgreSQL backend
through SQLAlchemy Core stays a matter of translating the search part (`doc_fts`, an
FTS5 table, would become a tsvector column with a GIN index).

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

from sohoa.cli.errors import SohoaError

from . import fold as F

TOKENIZER_VERSION = "1"
BUSY_TIMEOUT_MS = 120_000
PAGE_SIZE = 16384  # documents rows (~1.5 KB with their compressed text) pack better than in 4 KB pages

MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE dossiers (
    id INTEGER PRIMARY KEY,
    agency_code TEXT NOT NULL,
    folder TEXT NOT NULL,
    dossier_code TEXT,
    name TEXT NOT NULL,
    year INTEGER NOT NULL,
    dossier_date TEXT,
    path TEXT NOT NULL UNIQUE,
    latest_version_id INTEGER,
    UNIQUE (agency_code, folder)
);
CREATE INDEX dossiers_code ON dossiers (dossier_code);
CREATE INDEX dossiers_agency_year ON dossiers (agency_code, year);
CREATE TABLE versions (
    id INTEGER PRIMARY KEY,
    dossier_id INTEGER NOT NULL REFERENCES dossiers (id),
    version INTEGER NOT NULL,
    path TEXT NOT NULL UNIQUE,
    ingested_at TEXT NOT NULL,
    agent TEXT NOT NULL,
    agency_name TEXT,
    fingerprint TEXT NOT NULL,
    payload_bytes INTEGER NOT NULL,
    payload_files INTEGER NOT NULL,
    UNIQUE (dossier_id, version)
);
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    version_id INTEGER NOT NULL REFERENCES versions (id),
    dossier_id INTEGER NOT NULL REFERENCES dossiers (id),
    seq INTEGER NOT NULL,
    file TEXT,
    pages INTEGER NOT NULL,
    pages_kept INTEGER NOT NULL,
    doc_type TEXT,
    number TEXT,
    symbol TEXT,
    issued_date TEXT,
    issued_place TEXT,
    agency TEXT,
    subject TEXT,
    signer_name TEXT,
    signer_title TEXT,
    dossier_codes TEXT,
    citizen_ids TEXT,
    confidence REAL,
    signed INTEGER NOT NULL,
    signature TEXT,
    text BLOB
);
CREATE INDEX documents_version ON documents (version_id);
CREATE TABLE fixity (
    id INTEGER PRIMARY KEY,
    version_path TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    files INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    problems TEXT NOT NULL
);
CREATE INDEX fixity_path ON fixity (version_path, checked_at);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    time TEXT NOT NULL,
    agent TEXT NOT NULL,
    outcome TEXT NOT NULL,
    object TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE terms (
    folded TEXT NOT NULL,
    term TEXT NOT NULL,
    PRIMARY KEY (folded, term)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE doc_fts USING fts5 (words, content='', detail=none,
    tokenize="unicode61 remove_diacritics 0 separators '$+<=>^|~`'");
"""),
]

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
    head = " ".join(filter(None, [*(str(meta.get(k) or "") for k in METADATA_FIELDS),
                                  _listed(meta.get("dossier_codes")), _listed(meta.get("citizen_ids")),
                                  record.dossier_code, record.name, doc.file]))
    return F.nfc(head) + "\n" + F.nfc(doc.text or "")


class Catalogue:
    """One connection to ARCH/catalogue.sqlite3 (created and migrated on first use)."""

    def __init__(self, path: Path, *, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise CatalogueError(f"{self.path}: no catalogue here — is this an archive? "
                                 "(sohoa archive add creates one)")
        self._seen: set[str] = set()
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

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Catalogue":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---------------------------------------------------------------- schema

    def migrate(self) -> None:
        con = self.con
        con.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {r[0] for r in con.execute("SELECT version FROM schema_migrations")}
        pending = [(n, sql) for n, sql in MIGRATIONS if n not in done]
        if not pending:
            return
        from .audit import now

        with self.write():
            done = {r[0] for r in con.execute("SELECT version FROM schema_migrations")}
            for number, sql in pending:
                if number in done:
                    continue
                for statement in filter(str.strip, sql.split(";\n")):
                    con.execute(statement)
                con.execute("INSERT INTO schema_migrations VALUES (?, ?)", (number, now()))
            con.execute("INSERT OR IGNORE INTO meta VALUES ('tokenizer', ?)", (TOKENIZER_VERSION,))

    def write(self):
        """A write transaction (BEGIN IMMEDIATE): commit on success, roll back on error."""
        return _Transaction(self.con, self._seen.clear)

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
            dossier_id = con.execute(
                "INSERT INTO dossiers (agency_code, folder, dossier_code, name, year, dossier_date, path) "
                "VALUES (?,?,?,?,?,?,?)",
                (record.agency_code, record.folder, record.dossier_code, record.name, record.year,
                 record.dossier_date, record.dossier_path)).lastrowid
        version_id = con.execute(
            "INSERT INTO versions (dossier_id, version, path, ingested_at, agent, agency_name, "
            "fingerprint, payload_bytes, payload_files) VALUES (?,?,?,?,?,?,?,?,?)",
            (dossier_id, record.version, record.path, record.ingested_at, record.agent,
             record.agency_name, record.fingerprint, record.payload_bytes,
             record.payload_files)).lastrowid
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
        doc_id = self.con.execute(
            "INSERT INTO documents (version_id, dossier_id, seq, file, pages, pages_kept, doc_type, "
            "number, symbol, issued_date, issued_place, agency, subject, signer_name, signer_title, "
            "dossier_codes, citizen_ids, confidence, signed, signature, text) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (version_id, dossier_id, doc.seq, doc.file, doc.pages, doc.pages_kept,
             *(_clean(meta.get(k)) for k in METADATA_FIELDS),
             _listed(meta.get("dossier_codes")), _listed(meta.get("citizen_ids")),
             doc.confidence, int(doc.signed), doc.signature,
             zlib.compress(text.encode("utf-8"), 1))).lastrowid
        words = index_text(record, doc)
        self.con.execute("INSERT INTO doc_fts (rowid, words) VALUES (?, ?)", (doc_id, words))
        self._learn_terms(words)

    def _learn_terms(self, text: str) -> None:
        """Record the exact words with marks that the index has now (cheap: only the
        whitespace-separated pieces not seen before by this connection are looked at)."""
        new = set(text.lower().split()) - self._seen
        if not new:
            return
        marked = {(F.fold_token(w), w) for w in F.tokens(" ".join(new)) if F.has_marks(w)}
        if marked:
            self.con.executemany("INSERT OR IGNORE INTO terms (folded, term) VALUES (?, ?)", sorted(marked))
        if len(self._seen) > 1_000_000:
            self._seen.clear()
        self._seen |= new

    def clear_index(self) -> None:
        """Drop everything that is rebuilt from the bags (inside the caller's transaction)."""
        con = self.con
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

    def integrity_check(self) -> str:
        return self.con.execute("PRAGMA integrity_check").fetchone()[0]

    def version_paths(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT path FROM versions")}


def decompress(blob: bytes | None) -> str:
    return zlib.decompress(blob).decode("utf-8") if blob else ""


class _Transaction:
    def __init__(self, con: sqlite3.Connection, on_rollback=None):
        self.con = con
        self.on_rollback = on_rollback

    def __enter__(self):
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
            except sqlite3.Error:
                pass
        return False
