"""The archive catalogue on PostgreSQL beside SQLite: ingest rate, search latency, size.

    .venv/bin/python bench/catalogue_pg.py --docs 100000
    .venv/bin/python bench/catalogue_pg.py --docs 1000000 --db postgresql://sohoa@dbhost/bench

The same synthetic documents as bench/archive_scale.py go into an SQLite catalogue and a
PostgreSQL one (a throwaway server, tests/pg_server.py, unless --db names a database:
its tables are replaced). Printed for each: documents/s with 100 dossiers per transaction
and with one per dossier (as `archive add` commits), p50/p95 of 3-word LIMIT 20 queries
(rare and common words, with and without marks), bytes per document beyond the stored text.
Issue target on PostgreSQL: 1,000,000 documents, p95 ≤ 100 ms.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from archive_scale import build_catalogue, corpus, pick_queries, print_latency  # noqa: E402

from sohoa.archive.catalogue import Catalogue  # noqa: E402

def size_beyond_text(location) -> tuple[float, float]:
    """(bytes of the whole catalogue, bytes of stored text)."""
    cat = Catalogue(location)
    text = cat.con.execute("SELECT SUM(LENGTH(text)) FROM documents").fetchone()[0] or 0
    if cat.postgres:
        total = cat.con.execute("SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c "
                                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm')").fetchone()[0]
    else:
        total = Path(location).stat().st_size
    cat.close()
    return float(total), float(text)


def fresh(server, url: str | None):
    if url:
        from sohoa.archive import pg

        con = pg.connect(url)
        con.execute("DROP SCHEMA public CASCADE")
        con.execute("CREATE SCHEMA public")
        con.close()
        return url
    return server.url(server.create_database())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--db", help="a PostgreSQL database to use (its tables are replaced)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    work = Path(tempfile.mkdtemp(prefix="sohoa-catalogue-bench-"))
    docs = list(corpus(args.docs))
    small = docs[: min(len(docs), 3000)]
    queries = pick_queries(docs, random.Random(3))
    print(f"sohoa catalogue benchmark — {len(docs):,} documents, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    server = None
    if not args.db:
        from pg_server import PgServer

        server = PgServer().start()
        print("PostgreSQL: a throwaway server (fsync off: ingest rates are the catalogue's, not the disk's)")
    try:
        backends = {"sqlite": (work / "catalogue.sqlite3", work / "single.sqlite3"),
                    "postgresql": (fresh(server, args.db), None)}
        for name, (location, single) in backends.items():
            seconds = build_catalogue(location, docs, batch_versions=100)
            if single is None:
                single = fresh(server, None) if server else None
            one = build_catalogue(single, small, batch_versions=1) if single else None
            total, text = size_beyond_text(location)
            print(f"\n{name}: ingest {len(docs) / seconds:,.0f} documents/s (100 dossiers per transaction)"
                  + (f", {len(small) / one:,.0f} documents/s (one transaction per dossier)" if one else ""))
            print(f"  size {total / len(docs):,.0f} bytes per document, "
                  f"{(total - text) / len(docs):,.0f} beyond the stored text")
            print(f"  worst p95 {print_latency(location, queries, args.rounds):.1f} ms")
    finally:
        if server:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
