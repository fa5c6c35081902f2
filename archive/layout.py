"""Where things go in an archive folder, and ASCII-safe names for them.

```
ARCH/catalogue.sqlite3                             the catalogue (SQLite), or
ARCH/catalogue.url                                 where it is (PostgreSQL; no password)
ARCH/fonds/<agency-code>/<year>/<dossier>/v0001/   one BagIt bag per dossier version, or
ARCH/store.url                                     where they are (s3://bucket/prefix/fonds/…)
ARCH/.staging/                                     bags being built (renamed into fonds/)
ARCH/.locks/                                       advisory locks (flock)
```

Rules (also in `sohoa archive add --help`):

- agency code: `--agency-code` / SOHOA_AGENCY_CODE / sohoa.toml `agency_code`; when none
  is set, the agency part of the dossier code (`000.00.12.H27` of
  `000.00.12.H27-230614-0001`: the receiving unit's electronic identifier); else a usage
  error for that dossier.
- year: the dossier code's YYMMDD, else the earliest `issued_date` of its documents, else
  the year of ingest. A dossier keeps the folder of its first version.
- dossier folder: the dossier code, else the dossier's name, made ASCII-safe.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

CODE = re.compile(r"^([A-Z0-9][A-Z0-9.]*)-(\d{6})-[A-Z]{0,2}\d{4,}$")
VERSION = re.compile(r"^v(\d{4,})$")
SAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 120


@dataclass(frozen=True)
class ArchivePaths:
    root: Path

    @property
    def catalogue(self) -> Path:
        return self.root / "catalogue.sqlite3"

    @property
    def catalogue_url(self) -> Path:
        return self.root / "catalogue.url"

    @property
    def store_url(self) -> Path:
        return self.root / "store.url"

    @property
    def fonds(self) -> Path:
        return self.root / "fonds"

    @property
    def staging(self) -> Path:
        return self.root / ".staging"

    @property
    def locks(self) -> Path:
        return self.root / ".locks"

    def lock_for(self, key: str) -> Path:
        return self.locks / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".lock")

    def rel(self, path: Path) -> str:
        return PurePosixPath(Path(path).relative_to(self.root)).as_posix()


def ascii_safe(name: str, *, keep_case: bool = True) -> str:
    """`Quyết định số 01.pdf` → `Quyet_dinh_so_01.pdf`: no marks, đ→d, [A-Za-z0-9._-] only."""
    text = unicodedata.normalize("NFC", name).replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    text = SAFE.sub("_", text if keep_case else text.lower()).strip("._-") or "file"
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        if dot and len(ext) <= 8:
            text = f"{stem[:MAX_NAME - len(ext) - 10]}-{digest}.{ext}"
        else:
            text = f"{text[:MAX_NAME - 9]}-{digest}"
    return text


class NameAllocator:
    """ASCII-safe, unique names within one folder of a bag (case-insensitively, so that a
    copy on a case-insensitive medium stays whole)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, wanted: str) -> str:
        parts = [ascii_safe(p) for p in PurePosixPath(wanted.replace("\\", "/")).parts
                 if p not in ("", ".", "..", "/")]
        candidate = "/".join(parts) or "file"
        stem, dot, ext = candidate.rpartition(".")
        if not dot or "/" in ext:
            stem, ext = candidate, ""
        n = 1
        while candidate.lower() in self.used:
            n += 1
            candidate = f"{stem}-{n}.{ext}" if ext else f"{stem}-{n}"
        self.used.add(candidate.lower())
        return candidate


def code_date(code: str | None) -> dt.date | None:
    """The receipt date (YYMMDD) of a dossier code, if it is a valid date."""
    match = CODE.match(code or "")
    if not match:
        return None
    yymmdd = match.group(2)
    try:
        return dt.date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError:
        return None


def code_agency(code: str | None) -> str | None:
    match = CODE.match(code or "")
    return match.group(1) if match else None


def earliest_issued(dossier: dict) -> dt.date | None:
    dates = []
    for doc in dossier.get("documents") or []:
        value = ((doc or {}).get("metadata") or {}).get("issued_date")
        try:
            dates.append(dt.date.fromisoformat(str(value)[:10]))
        except (TypeError, ValueError):
            continue
    return min(dates) if dates else None


def dossier_date(dossier: dict) -> dt.date | None:
    return code_date(dossier.get("dossier_code")) or earliest_issued(dossier)


def dossier_folder(dossier: dict) -> str:
    return ascii_safe(dossier.get("dossier_code") or dossier.get("dossier") or "dossier")


def agency_folder(agency_code: str) -> str:
    return ascii_safe(agency_code)


def version_name(number: int) -> str:
    return f"v{number:04d}"


def version_number(name: str) -> int | None:
    match = VERSION.match(name)
    return int(match.group(1)) if match else None


def existing_versions(dossier_dir: Path) -> list[int]:
    if not dossier_dir.is_dir():
        return []
    found = (version_number(p.name) for p in dossier_dir.iterdir() if p.is_dir())
    return sorted(n for n in found if n is not None)


def find_dossier_dir(paths: ArchivePaths, agency: str, folder: str) -> Path | None:
    """A dossier keeps the year folder of its first version."""
    base = paths.fonds / agency
    if not base.is_dir():
        return None
    for year_dir in sorted(base.iterdir()):
        candidate = year_dir / folder
        if candidate.is_dir():
            return candidate
    return None


def iter_strays(paths: ArchivePaths, folder: Path | None = None, depth: int = 0):
    """What fonds/ holds outside the fonds/<agency>/<year>/<dossier>/vNNNN folders: a file
    at any of those levels, or a folder in a dossier that is not a version."""
    folder = folder or paths.fonds
    if not folder.is_dir():
        return
    for entry in sorted(folder.iterdir()):
        if not entry.is_dir():
            yield entry
        elif depth < 3:
            yield from iter_strays(paths, entry, depth + 1)
        elif version_number(entry.name) is None:
            yield entry


def iter_version_dirs(paths: ArchivePaths):
    """Every fonds/<agency>/<year>/<dossier>/vNNNN folder, sorted."""
    if not paths.fonds.is_dir():
        return
    for agency in sorted(p for p in paths.fonds.iterdir() if p.is_dir()):
        for year in sorted(p for p in agency.iterdir() if p.is_dir()):
            for dossier in sorted(p for p in year.iterdir() if p.is_dir()):
                for number in existing_versions(dossier):
                    yield dossier / version_name(number)
