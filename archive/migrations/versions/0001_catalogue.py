"""The catalogue: dossiers, versions, documents, fixity results, audit events, search.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

The search index is the one part that differs between the engines: on SQLite an FTS5
table (`doc_fts`, contentless, exact lower-case words); on PostgreSQL a tsvector table
(`doc_words`, GIN) plus `sohoa_fold()` and trigram indexes for the folded filters. A
catalogue made before Alembic (table `schema_migrations` at step 1) holds exactly these
tables: it is adopted as it is.
"""
import sqlalchemy as sa
from alembic import op

from sohoa.archive import pg

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY = the rowid
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
FTS5 = ("CREATE VIRTUAL TABLE doc_fts USING fts5 (words, content='', detail=none, "
        "tokenize=\"unicode61 remove_diacritics 0 separators '$+<=>^|~`'\")")


def _id() -> sa.Column:
    return sa.Column("id", ID, sa.Identity(always=False), primary_key=True)


def upgrade() -> None:
    bind = op.get_bind()
    if sa.inspect(bind).has_table("schema_migrations"):
        return  # made by sohoa before Alembic: the same schema
    op.create_table("meta", sa.Column("key", sa.Text, primary_key=True),
                    sa.Column("value", sa.Text, nullable=False))
    op.create_table(
        "dossiers", _id(),
        sa.Column("agency_code", sa.Text, nullable=False),
        sa.Column("folder", sa.Text, nullable=False),
        sa.Column("dossier_code", sa.Text),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("dossier_date", sa.Text),
        sa.Column("path", sa.Text, nullable=False, unique=True),
        sa.Column("latest_version_id", BIG),
        sa.UniqueConstraint("agency_code", "folder"))
    op.create_index("dossiers_code", "dossiers", ["dossier_code"])
    op.create_index("dossiers_agency_year", "dossiers", ["agency_code", "year"])
    op.create_table(
        "versions", _id(),
        sa.Column("dossier_id", BIG, sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("path", sa.Text, nullable=False, unique=True),
        sa.Column("ingested_at", sa.Text, nullable=False),
        sa.Column("agent", sa.Text, nullable=False),
        sa.Column("agency_name", sa.Text),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("payload_bytes", BIG, nullable=False),
        sa.Column("payload_files", sa.Integer, nullable=False),
        sa.UniqueConstraint("dossier_id", "version"))
    op.create_table(
        "documents", _id(),
        sa.Column("version_id", BIG, sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("dossier_id", BIG, sa.ForeignKey("dossiers.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("file", sa.Text),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("pages_kept", sa.Integer, nullable=False),
        *(sa.Column(name, sa.Text) for name in (
            "doc_type", "number", "symbol", "issued_date", "issued_place", "agency", "subject",
            "signer_name", "signer_title", "dossier_codes", "citizen_ids")),
        sa.Column("confidence", sa.Float),
        sa.Column("signed", sa.Integer, nullable=False),
        sa.Column("signature", sa.Text),
        sa.Column("text", sa.LargeBinary))
    op.create_index("documents_version", "documents", ["version_id"])
    op.create_table(
        "fixity", _id(),
        sa.Column("version_path", sa.Text, nullable=False),
        sa.Column("checked_at", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("files", sa.Integer, nullable=False),
        sa.Column("bytes", BIG, nullable=False),
        sa.Column("problems", sa.Text, nullable=False))
    op.create_index("fixity_path", "fixity", ["version_path", "checked_at"])
    op.create_table(
        "events",
        sa.Column("seq", BIG, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.Text, nullable=False, unique=True),
        *(sa.Column(name, sa.Text, nullable=False) for name in (
            "type", "time", "agent", "outcome", "object", "detail", "prev_hash", "hash")))
    op.create_table(
        "terms", sa.Column("folded", sa.Text, primary_key=True), sa.Column("term", sa.Text, primary_key=True),
        sqlite_with_rowid=False)
    if bind.dialect.name == "postgresql":
        for statement in pg.search_ddl():
            op.execute(statement)
    else:
        op.execute(FTS5)
    op.execute("INSERT INTO meta (key, value) VALUES ('tokenizer', '1')")


def downgrade() -> None:
    raise NotImplementedError("the catalogue is rebuilt from the bags, not downgraded")
