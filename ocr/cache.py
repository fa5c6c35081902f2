"""Page results cached by content hash: a re-run after a crash only does missing pages.

In the output folder (`.sohoa-cache/`), or, for a job on a cluster with a PostgreSQL
catalogue configured (setting `db`), in the catalogue's `ocr_pages`: the job's state is
then where every machine finds it, and any of them resumes the job.
"""
import datetime as dt
import hashlib
import json
import zlib
from dataclasses import asdict
from pathlib import Path

from sohoa.cli import fsio

from .analyse import PageAnalysis
from .engine import Recognition
from .pdfpage import Line, Word

CACHE_VERSION = "6"  # bump when the analysis changes meaning (6: levelled before reading)


def page_key(source_sha256: str, index: int, engine: str, lang: str) -> str:
    raw = f"{CACHE_VERSION}|{source_sha256}|{index}|{engine}|{lang}"
    return hashlib.sha256(raw.encode()).hexdigest()


class PageCache:
    def __init__(self, folder: Path, enabled: bool = True):
        self.folder = folder
        self.enabled = enabled

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> PageAnalysis | None:
        if not self.enabled:
            return None
        try:
            return _from_dict(json.loads(self._path(key).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or damaged entries are simply recomputed

    def preload(self, keys: list[str]) -> None:
        """Nothing to do: each entry is a file read when asked for."""

    def close(self) -> None:
        pass

    def put(self, key: str, analysis: PageAnalysis) -> None:
        fsio.write_text(self._path(key), json.dumps(asdict(analysis), ensure_ascii=False))


class CataloguePageCache:
    """Page results as rows of the catalogue's `ocr_pages` (written once, committed one by one)."""

    BATCH = 500

    def __init__(self, url: str, enabled: bool = True):
        from sohoa.archive.catalogue import Catalogue

        self.catalogue = Catalogue(url)
        self.enabled = enabled
        self._found: dict[str, bytes] = {}

    def preload(self, keys: list[str]) -> None:
        """The rows of these pages, fetched in a few round trips rather than one a page."""
        if not self.enabled:
            return
        for start in range(0, len(keys), self.BATCH):
            batch = keys[start:start + self.BATCH]
            rows = self.catalogue.con.execute(
                f"SELECT key, analysis FROM ocr_pages WHERE key IN ({','.join('?' * len(batch))})", batch)
            self._found.update((key, bytes(blob)) for key, blob in rows)

    def get(self, key: str) -> PageAnalysis | None:
        blob = self._found.get(key) if self.enabled else None
        try:
            return _from_dict(json.loads(zlib.decompress(blob))) if blob else None
        except (zlib.error, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, analysis: PageAnalysis) -> None:
        data = zlib.compress(json.dumps(asdict(analysis), ensure_ascii=False).encode(), 6)
        self.catalogue.con.execute(
            "INSERT INTO ocr_pages (key, analysis, read_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (key, data, dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")))

    def close(self) -> None:
        self.catalogue.close()


def open_page_cache(folder: Path, enabled: bool, job_db: str | None):
    return CataloguePageCache(job_db, enabled) if job_db else PageCache(folder, enabled)


def _from_dict(data: dict) -> PageAnalysis:
    rec = data.pop("recognition")
    if rec is not None:
        lines = tuple(
            Line(tuple(line["box"]), tuple(line["baseline"]) if line["baseline"] else None,
                 tuple(Word(w["text"], tuple(w["box"]), w["confidence"]) for w in line["words"]))
            for line in rec["lines"])
        rec = Recognition(lines, rec["mean_confidence"])
    data["qr_codes"] = tuple(data["qr_codes"])
    data["barcodes"] = tuple(data.get("barcodes", ()))
    return PageAnalysis(recognition=rec, **data)
