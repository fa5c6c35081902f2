"""The catalogue on PostgreSQL: what differs from SQLite, in one place.

The tables are the SQLite ones (one Alembic history, `migrations/`, SQLAlchemy Core
types). The search index is the difference: FTS5's contentless table becomes
`doc_words (id, words tsvector)` with a GIN index, the tsvector built from the same
exact lower-case tokens (`fold.tokens`, handed over as an array: PostgreSQL's own parser
never sees the text), so a query matches the same documents in the same order.
`sohoa_fold(text)` is `fold.fold` as an SQL function (the same table of letters), and
pg_trgm indexes it for the substring filters (`--agency` part of a name).

Writes are serialised like SQLite's BEGIN IMMEDIATE, across machines: every write
transaction takes one advisory lock first, so the audit chain never forks and version
numbers never race.
"""
from __future__ import annotations

import hashlib
import re
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from sohoa.cli.errors import SohoaError, UsageError

from . import fold as F

SCHEMES = ("postgresql", "postgres")
WRITER_LOCK = 0x50_48_4F_41  # pg_advisory_xact_lock key of catalogue writers ("SOHOA"-ish)
MAX_LEXEME_BYTES = 2046  # a longer token cannot be a tsvector lexeme (never a real word)


def is_url(location) -> bool:
    return isinstance(location, str) and location.split(":", 1)[0] in SCHEMES


def check_url(url: str) -> None:
    """A usage error, in one line, for a URL that cannot be a PostgreSQL URL."""
    try:
        parts = urlsplit(url)
        parts.port
    except ValueError as exc:
        raise UsageError(f"--db {redact(url)}: not a valid URL ({exc}) — write it as "
                         "postgresql://USER@HOST/DATABASE") from None
    if not is_url(url):
        raise UsageError(f"--db {redact(url)}: not a PostgreSQL URL — write it as "
                         "postgresql://USER@HOST/DATABASE (or leave it out for SQLite in the archive)")


def redact(url: str) -> str:
    """The URL without its password (for messages and for the archive's record)."""
    try:
        parts = urlsplit(url)
        parts.port
    except ValueError:
        return re.sub(r"(//[^:/@]*):[^@/]*@", r"\1@", url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


def same_place(a: str, b: str) -> bool:
    return redact(a) == redact(b)


# ---------------------------------------------------------------- connection

class Connection:
    """A psycopg connection that takes the catalogue's SQLite-style SQL (`?` parameters)."""

    def __init__(self, raw):
        self.raw = raw

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql: str, args=None):
        cur = self.raw.cursor()
        if args is None:
            cur.execute(sql)
        else:
            cur.execute(self._sql(sql), tuple(args))
        return cur

    def executemany(self, sql: str, rows):
        cur = self.raw.cursor()
        cur.executemany(self._sql(sql), list(rows))
        return cur

    def lock_writers(self) -> None:
        """Held until the transaction ends (re-taking it in the same session is free)."""
        self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))

    @contextmanager
    def session_lock(self, name: str):
        """An advisory lock named `name`, held across transactions until the block ends:
        the dossier lock of writers on several machines."""
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        self.raw.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            try:
                self.raw.execute("SELECT pg_advisory_unlock(%s)", (key,))
            except Exception:  # the connection is gone, and the lock with it
                pass

    def commit(self) -> None:
        self.raw.commit()

    def close(self) -> None:
        self.raw.close()


def connect(url: str) -> Connection:
    try:
        import psycopg
    except ImportError:
        raise UsageError("a PostgreSQL catalogue needs psycopg: pip install 'psycopg[binary]'") from None
    try:
        raw = psycopg.connect(url, autocommit=True,
                              connect_timeout=10, application_name="sohoa")
    except psycopg.ProgrammingError as exc:
        raise UsageError(f"catalogue {redact(url)}: not a valid PostgreSQL URL ({_first_line(exc, url)}) — "
                         "write it as postgresql://USER@HOST/DATABASE") from None
    except psycopg.OperationalError as exc:
        raise SohoaError(f"catalogue {redact(url)}: cannot connect ({_first_line(exc, url)}) — "
                         "is the PostgreSQL server running and the URL right (--db, SOHOA_DB)?") from None
    # psycopg prepares a statement run five times; a generic plan of the search's id
    # window (bounds unknown) joins every dossier: 3–5× slower than a plan for the bounds
    raw.execute("SET plan_cache_mode = force_custom_plan")
    return Connection(raw)


def _first_line(exc: Exception, url: str) -> str:
    text = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
    password = urlsplit(url).password
    return text.replace(password, "***") if password else text


def errors() -> tuple[type[Exception], ...]:
    import psycopg

    return (psycopg.Error,)


# ---------------------------------------------------------------- schema

def fold_function() -> str:
    """`fold.fold` in SQL: NFC, lower case, then the same letter table (translate())."""
    pairs = sorted((k, v) for k, v in F._TABLE.items() if v is not None)
    dropped = sorted(k for k, v in F._TABLE.items() if v is None)
    source = "".join(chr(k) for k, _ in pairs) + "".join(map(chr, dropped))
    target = "".join(v for _, v in pairs)
    return ("CREATE OR REPLACE FUNCTION sohoa_fold(value text) RETURNS text LANGUAGE sql IMMUTABLE "
            f"PARALLEL SAFE RETURNS NULL ON NULL INPUT AS $$ SELECT translate(lower(normalize(value, NFC)), "
            f"{_literal(source)}, {_literal(target)}) $$")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Applied by migration 0001 (which creates doc_fts on SQLite).
SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TABLE doc_words (id BIGINT PRIMARY KEY REFERENCES documents (id), words TSVECTOR NOT NULL)",
    "CREATE INDEX doc_words_words ON doc_words USING gin (words)",
    "<fold>",
    "CREATE INDEX documents_agency_folded ON documents USING gin (sohoa_fold(agency) gin_trgm_ops)",
    "CREATE INDEX documents_doc_type_folded ON documents USING gin (sohoa_fold(doc_type) gin_trgm_ops)",
]


def search_ddl() -> list[str]:
    return [fold_function() if s == "<fold>" else s for s in SEARCH]


def has_schema(con: Connection) -> bool:
    return con.execute("SELECT coalesce(to_regclass('alembic_version'), to_regclass('schema_migrations')) "
                       "IS NOT NULL").fetchone()[0]


# ---------------------------------------------------------------- search index

def lexemes(words: str) -> list[str]:
    tokens = set(F.tokens(words))
    return sorted(t for t in tokens if len(t) * 4 <= MAX_LEXEME_BYTES or len(t.encode()) <= MAX_LEXEME_BYTES)


def insert_document(con: Connection, insert: str, row: tuple, words: str) -> None:
    """The documents row and its words in one round trip. The words go as one
    space-separated text (a token never holds a space): far cheaper to send than a text[]."""
    con.execute(f"WITH d AS ({insert} RETURNING id) INSERT INTO doc_words (id, words) "
                "SELECT id, array_to_tsvector(string_to_array(?, ' ')) FROM d",
                (*row, " ".join(lexemes(words))))


def batches(con: Connection, sql: str, size: int = 2000):
    """Rows of `sql` a batch at a time (a server-side cursor: inside a transaction)."""
    with con.raw.cursor(name="sohoa_batches") as cur:
        cur.execute(sql)
        while rows := cur.fetchmany(size):
            yield [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]


def quote(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def integrity_check(con: Connection) -> str:
    """'ok', or what amcheck found wrong in the catalogue's B-tree indexes."""
    try:
        con.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
    except errors() as exc:
        return f"ok (indexes not checked: amcheck unavailable: {_first_line(exc, '')})"
    problems = []
    for (index,) in con.execute(
            "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE a.amname = 'btree' AND n.nspname = current_schema()").fetchall():
        try:
            con.execute("SELECT bt_index_check(?::regclass, true)", (index,))
        except errors() as exc:
            problems.append(f"{index}: {_first_line(exc, '')}")
    return "ok" if not problems else "; ".join(problems)
