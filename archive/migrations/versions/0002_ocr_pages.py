"""OCR job state: every page read on a cluster, kept where every machine finds it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

`key` is the page's content key (`sohoa.ocr.cache.page_key`: the source's SHA-256, the
page, the engine and language), `analysis` its result (zlib-compressed JSON): a job
interrupted on one machine is resumed on any other without reading a finished page again.
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ocr_pages",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("analysis", sa.LargeBinary, nullable=False),
        sa.Column("read_at", sa.Text, nullable=False),
        sqlite_with_rowid=False)


def downgrade() -> None:
    raise NotImplementedError("the catalogue is rebuilt from the bags, not downgraded")
