"""`sohoa archive export`: a CSV of the metadata, and DIP folders for the public.

Selection: dossier codes (or names) given, and/or the search filters (agency, type,
dates); latest versions only. The CSV is UTF-8 with a byte-order mark, so that Excel shows
the Vietnamese letters. A DIP (dissemination information package) is a plain folder:

```
DIP/index.csv  DIP/manifest-sha256.txt
DIP/<agency>/<dossier>/<document>.pdf         searchable PDFs, original names
DIP/<agency>/<dossier>/signed/…  text/…  metadata/{dossier,archive,validation}.json
DIP/<agency>/<dossier>/originals/…            with --with-originals
```

It is built next to its final place and renamed into it when complete.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sohoa.cli.errors import UsageError
from sohoa.cli.fsio import FILE_MODE, atomic_output, fsync_dir

from .catalogue import Catalogue
from .search import Filters, filter_sql, register_functions
from .store import Archive, remove_tree

COLUMNS = ("agency_code", "dossier_code", "dossier", "year", "version", "document", "file",
           "doc_type", "number", "symbol", "issued_date", "issued_place", "agency", "subject",
           "signer_name", "signer_title", "dossier_codes", "citizen_ids", "pages", "pages_kept",
           "ocr_confidence", "signed", "signature", "ingested_at")


@dataclass
class Selection:
    rows: list[dict]  # one per document, COLUMNS

    @property
    def versions(self) -> list[str]:
        return list(dict.fromkeys(r["version"] for r in self.rows))


def select(cat: Catalogue, codes: list[str], filters: Filters) -> Selection:
    register_functions(cat)
    where, args = filter_sql(cat, filters)
    if codes:
        known = set()
        for code in codes:
            row = cat.con.execute("SELECT id FROM dossiers WHERE dossier_code = ? OR name = ? OR folder = ?",
                                  (code, code, code)).fetchall()
            if not row:
                raise UsageError(f"no dossier {code!r} in the archive (sohoa archive search finds it)")
            known.update(r[0] for r in row)
        where += f" AND s.id IN ({','.join('?' * len(known))})"
        args += sorted(known)
    sql = ("SELECT s.agency_code, s.dossier_code, s.name, s.year, v.path, d.seq, d.file, d.doc_type, "
           "d.number, d.symbol, d.issued_date, d.issued_place, d.agency, d.subject, d.signer_name, "
           "d.signer_title, d.dossier_codes, d.citizen_ids, d.pages, d.pages_kept, d.confidence, "
           "d.signed, d.signature, v.ingested_at "
           "FROM documents d JOIN dossiers s ON s.id = d.dossier_id JOIN versions v ON v.id = d.version_id "
           f"WHERE {where} ORDER BY s.agency_code, s.year, s.folder, d.seq")
    return Selection([dict(zip(COLUMNS, r)) for r in cat.con.execute(sql, args)])


def csv_bytes(selection: Selection) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in selection.rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_csv(selection: Selection, path: Path) -> None:
    with atomic_output(path) as out:
        out.write(csv_bytes(selection))


def _copy(arch: Archive, version: str, name: str, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    arch.bags.copy_to(version, name, dst)
    os.chmod(dst, FILE_MODE)


def write_dip(arch: Archive, selection: Selection, out: Path, *, with_originals: bool = False,
              on_version=None) -> dict:
    out = out.absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out}: exists and is not empty — give a new folder for the DIP")
    if not selection.rows:
        raise UsageError("nothing to export: no document matches the selection")
    partial = out.parent / f".{out.name}.partial-{os.getpid()}"
    remove_tree(partial)
    partial.mkdir(parents=True)
    files = 0
    try:
        for version in selection.versions:
            record = json.loads(arch.bags.read(version, "data/metadata/archive.json").decode("utf-8"))
            parts = PurePosixPath(version).parts  # fonds/agency/year/dossier/vNNNN
            target = partial / parts[1] / parts[3]
            used: set[str] = set()
            for f in record["files"]:
                role = f["role"]
                if role == "original" and not with_originals:
                    continue
                sub = {"ocr": "", "text": "text", "signed": "signed", "original": "originals"}[role]
                name = _unique(used, f"{sub}/{f['original_name']}" if sub else f["original_name"])
                _copy(arch, version, f["path"], target / name)
                files += 1
            for meta in ("dossier.json", "archive.json", "validation.json"):
                _copy(arch, version, f"data/metadata/{meta}", target / "metadata" / meta)
                files += 1
            if on_version:
                on_version()
        (partial / "index.csv").write_bytes(csv_bytes(selection))
        lines = []
        for path in sorted(p for p in partial.rglob("*") if p.is_file()):
            rel = path.relative_to(partial).as_posix()
            lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {rel}\n")
        (partial / "manifest-sha256.txt").write_text("".join(lines), encoding="utf-8")
        for d in sorted((p for p in partial.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            fsync_dir(d)
        fsync_dir(partial)
        if out.exists():
            out.rmdir()
        os.rename(partial, out)
        fsync_dir(out.parent)
    except BaseException:
        remove_tree(partial)
        raise
    return {"folder": str(out), "dossiers": len(selection.versions), "documents": len(selection.rows),
            "files": files}


def _unique(used: set[str], name: str) -> str:
    base, dot, ext = name.rpartition(".")
    if not dot:
        base, ext = name, ""
    candidate, n = name, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{base}-{n}.{ext}" if ext else f"{base}-{n}"
    used.add(candidate.lower())
    return candidate
