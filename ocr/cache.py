"""Page results cached by content hash: a re-run after a crash only does missing pages."""
import hashlib
import json
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

    def put(self, key: str, analysis: PageAnalysis) -> None:
        fsio.write_text(self._path(key), json.dumps(asdict(analysis), ensure_ascii=False))


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
