"""`sohoa archive add`: each dossier of `sohoa ocr` becomes one BagIt bag per version.

Payload of a bag (names ASCII-safe; the original names are in `archive.json`):

```
data/originals/…          the masters exactly as scanned (from source_root + sources)
data/ocr/<doc>.pdf        the searchable PDFs
data/text/<doc>.txt       their text
data/signed/<doc>.pdf     signed PDFs (`--signed DIR`, or signed PDFs in the OCR folder)
data/metadata/dossier.json      as written by `sohoa ocr`
data/metadata/archive.json      sohoa's record: names, provenance, versions, documents
data/metadata/validation.json   signature validation of every PDF of the bag at ingest
```

A dossier cut from a stacked batch gets only its own pages of the batch file as masters,
copied without re-encoding (PDF page objects through pikepdf; TIFF frames rewritten
losslessly), with the batch's name, page numbers and SHA-256 in `archive.json`.
Masters are checked against `sha256_sources`: a mismatch refuses that dossier.

Steps of one dossier, and the fault-injection names of the crash tests
(`SOHOA_FAULT=<step>` makes the process exit hard right after it): `copy` (first payload
file copied into staging), `payload` (all copied), `bag` (bag complete and fsync'ed in
staging), `intent` (its final path recorded), `upload` (on S3: every file but the tag
manifests stored), `rename` (renamed into fonds/; on S3: tag manifests stored), `commit`
(catalogue rows and audit event written, not committed), `cleanup` (committed, staging
not yet removed).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from sohoa.cli.errors import BadInput, UsageError
from sohoa.cli.fsio import fsync_dir

from . import audit
from . import layout as L
from .bag import BagWriter, parse_bag_info
from .bags import version_parts
from .masters import extract_pages, masters, page_count
from .catalogue import DocumentRecord, VersionRecord
from .s3 import StoreError
from .store import Archive, deferred_interrupt, fault, remove_tree

RECORD_FORMAT = "sohoa-archive-record/1"
NOT_SIGNED = ("NO_SIGNATURE", "ERROR")
ROLES = {"originals": "original", "ocr": "ocr", "text": "text", "signed": "signed"}


@dataclass
class AddOptions:
    agency_code: str | None = None
    agency_name: str | None = None
    signed_dir: Path | None = None
    agent: str = ""
    trust: tuple[bytes, ...] = ()


@dataclass
class DossierOutcome:
    input: str
    dossier: str | None
    status: str  # added | unchanged | error
    version: str | None = None  # fonds/… path of the stored version
    message: str = ""
    files: int = 0
    bytes: int = 0
    documents: int = 0
    signed_files: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"input": self.input, "dossier": self.dossier, "status": self.status,
                "version": self.version, "message": self.message, "files": self.files,
                "bytes": self.bytes, "documents": self.documents,
                "signed_files": self.signed_files, "warnings": self.warnings}


# ------------------------------------------------------------------ inputs


def find_dossiers(inputs: list[Path]) -> list[Path]:
    """Folders holding a dossier.json: each input itself, or its subfolders."""
    found: list[Path] = []
    for path in inputs:
        if not path.exists():
            raise UsageError(f"{path}: not found")
        if path.is_file() and path.name == "dossier.json":
            path = path.parent
        if (path / "dossier.json").is_file():
            found.append(path)
            continue
        subs = sorted(p for p in path.iterdir() if p.is_dir() and (p / "dossier.json").is_file()) \
            if path.is_dir() else []
        if not subs:
            raise UsageError(f"{path}: no dossier.json here or in its subfolders — "
                             "give the output folder of sohoa ocr")
        found.extend(subs)
    return list(dict.fromkeys(p.absolute() for p in found))


def load_dossier(folder: Path) -> tuple[dict, bytes]:
    raw = (folder / "dossier.json").read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(folder / "dossier.json", f"not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise BadInput(folder / "dossier.json", "not a dossier.json of sohoa ocr (no documents list)")
    return data, raw


def resolve_agency(dossier: dict, configured: str | None, where: Path) -> str:
    code = configured or L.code_agency(dossier.get("dossier_code"))
    if not code:
        raise BadInput(where, "no agency code: the dossier has no dossier code to take it from",
                       "give --agency-code, or set agency_code in sohoa.toml or SOHOA_AGENCY_CODE")
    return L.agency_folder(code)


# ------------------------------------------------------------------ one dossier


@dataclass
class _Staged:
    record: dict  # archive.json
    files: list[dict]  # archive.json "files"
    fingerprint: str


def _signed_candidates(folder: Path, dossier: dict, options: AddOptions) -> tuple[list[Path], list[Path]]:
    """Signed PDFs for this dossier: SIGNED/<dossier>/*.pdf (`--signed`), and the PDFs of
    the OCR folder that are not its searchable PDFs (kept only if they carry signatures)."""
    listed = {d.get("file") for d in dossier["documents"] if d.get("file")}
    found: list[Path] = []
    if options.signed_dir is not None:
        for name in dict.fromkeys([dossier.get("dossier"), folder.name]):
            sub = options.signed_dir / str(name)
            if name and sub.is_dir():
                found += sorted(p for p in sub.iterdir() if p.suffix.lower() == ".pdf" and p.is_file())
                break
    strays = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".pdf" and p.is_file()
                    and p.name not in listed)
    return found, strays


def _document_for(name: str, stems: list[str]) -> str | None:
    """Which document a signed file belongs to: same stem, else the longest stem it starts with."""
    stem = Path(name).stem
    if stem in stems:
        return stem
    starts = [s for s in stems if stem.startswith(s) and stem[len(s):len(s) + 1] in ("-", "_", ".", " ")]
    return max(starts, key=len) if starts else None


def ingest_dossier(arch: Archive, folder: Path, options: AddOptions) -> DossierOutcome:
    dossier, raw = load_dossier(folder)
    name = str(dossier.get("dossier") or folder.name)
    agency = resolve_agency(dossier, options.agency_code, folder)
    dossier_folder = L.dossier_folder(dossier)
    bags = arch.bags
    with arch.dossier_lock(f"{agency}/{dossier_folder}"):
        dossier_rel = bags.find_dossier(agency, dossier_folder)
        if dossier_rel is None:
            when = L.dossier_date(dossier) or dt.datetime.now(audit.VN_TZ).date()
            dossier_rel = f"fonds/{agency}/{when.year}/{dossier_folder}"
        _reconcile(arch, dossier_rel)
        numbers = bags.versions(dossier_rel)
        latest = numbers[-1] if numbers else None
        number = (latest or 0) + 1
        target = f"{dossier_rel}/{L.version_name(number)}"
        with arch.staging_area() as area:
            staged = _stage(arch, area.bag, folder, dossier, raw, options, agency, dossier_rel, number)
            if latest is not None:
                previous_rel = f"{dossier_rel}/{L.version_name(latest)}"
                previous = parse_bag_info(bags.read(previous_rel, "bag-info.txt").decode("utf-8"))
                if previous.get("Sohoa-Fingerprint") == staged.fingerprint:
                    return DossierOutcome(str(folder), name, "unchanged", previous_rel,
                                          "same content as the stored version: nothing to do",
                                          documents=len(dossier["documents"]))
            record = read_version(lambda n: (area.bag / n).read_bytes(), target)
            fault("bag")
            area.write_intent(target)
            fault("intent")
            bags.discard_unpublished(target)
            bags.upload(area.bag, target)
            fault("upload")
            with deferred_interrupt():
                bags.publish(area.bag, target)
                fsync_dir(area.folder)
                fault("rename")
                outcome = DossierOutcome(
                    str(folder), name, "added", target,
                    f"stored as {L.version_name(number)}" + (f" (supersedes {L.version_name(latest)})" if latest else ""),
                    files=len(staged.files), bytes=sum(f["size"] for f in staged.files),
                    documents=len(record.documents),
                    signed_files=sum(1 for f in staged.files if f["role"] == "signed"),
                    warnings=staged.record.get("warnings", []))
                cat = arch.catalogue
                with cat.write() as con:
                    cat.index_version(record)
                    audit.append(con, audit.MODIFICATION if latest else audit.INGESTION, options.agent,
                                 "success", target, _event_detail(staged, outcome, latest))
                    fault("commit")
                fault("cleanup")
            return outcome


def _event_detail(staged: _Staged, outcome: DossierOutcome, latest: int | None) -> dict:
    rec = staged.record
    detail = {"dossier": rec["dossier"], "dossier_code": rec["dossier_code"], "input": outcome.input,
              "files": outcome.files, "bytes": outcome.bytes, "documents": outcome.documents,
              "signed_files": outcome.signed_files, "fingerprint": staged.fingerprint,
              "validation": rec.get("validation_summary", {})}
    if latest:
        detail["supersedes"] = L.version_name(latest)
    return detail


def _stage(arch: Archive, bag_dir: Path, folder: Path, dossier: dict, raw: bytes,
           options: AddOptions, agency: str, dossier_rel: str, number: int) -> _Staged:
    writer = BagWriter(bag_dir)
    files: list[dict] = []
    warnings: list[str] = []
    names = {role: L.NameAllocator() for role in ("originals", "ocr", "text", "signed")}

    def put(role: str, wanted: str, source: Path | None = None, data: bytes | None = None, **extra) -> dict:
        rel = f"data/{role}/{names[role].take(wanted)}"
        entry = writer.add_file(rel, source) if source is not None else writer.add_bytes(rel, data)
        item = {"path": rel, "role": ROLES[role], "original_name": wanted, "size": entry.size, "sha256": entry.sha256, **extra}
        files.append(item)
        if len(files) == 1:
            fault("copy")
        return item

    # masters
    page_map: dict[tuple[str, int], tuple[str, int]] = {}  # (source, page) → (payload, page)
    for master in masters(dossier, folder):
        total = page_count(master.path) if master.pages else None
        subset = bool(master.pages) and total is not None and total > 1 and \
            set(master.pages) != set(range(1, total + 1)) and max(master.pages) <= total
        if subset:
            from .bag import hash_file

            actual = hash_file(master.path, ("sha256",))["sha256"]
            if actual != master.sha256:
                raise BadInput(master.path, "SHA-256 differs from dossier.json (changed since OCR): dossier refused")
            data = extract_pages(master.path, master.pages)
            stem, ext = os.path.splitext(master.name)
            wanted = f"{stem}-pages-{master.pages[0]}-{master.pages[-1]}{ext}"
            item = put("originals", wanted, data=data,
                       extracted_from={"file": master.name, "sha256": master.sha256,
                                       "pages": master.pages, "pages_in_file": total})
            item["original_name"] = master.name
            for index, page in enumerate(master.pages, 1):
                page_map[(master.name, page)] = (item["path"], index)
        else:
            item = put("originals", master.name, source=master.path)
            if item["sha256"] != master.sha256:
                raise BadInput(master.path, "SHA-256 differs from dossier.json (changed since OCR): dossier refused")
            for page in master.pages or [1]:
                page_map[(master.name, page)] = (item["path"], page)

    # searchable PDFs and text
    documents = []
    stems = []
    for seq, doc in enumerate(dossier["documents"], 1):
        entry = {"seq": seq, "file": doc.get("file"), "ocr": None, "text": None, "signed": [],
                 "originals": [{"source": p["source"], "source_page": p.get("page"),
                                "path": page_map.get((p["source"], p.get("page") or 1), (None, None))[0],
                                "page": page_map.get((p["source"], p.get("page") or 1), (None, None))[1]}
                               for p in doc.get("source_pages") or []]}
        if doc.get("file"):
            pdf = folder / doc["file"]
            if not pdf.is_file():
                raise BadInput(pdf, "searchable PDF listed in dossier.json is missing")
            ocr_item = put("ocr", doc["file"], source=pdf, document=seq)
            entry["ocr"] = ocr_item["path"]
            txt = pdf.with_suffix(".txt")
            if txt.is_file():
                wanted = str(PurePosixPath(ocr_item["path"]).relative_to("data/ocr").with_suffix(".txt"))
                text_item = put("text", wanted, source=txt, document=seq)
                text_item["original_name"] = txt.name
                entry["text"] = text_item["path"]
            else:
                warnings.append(f"{doc['file']}: no text file {txt.name}")
            stems.append(Path(doc["file"]).stem)
        else:
            stems.append(None)
        documents.append(entry)

    # signed PDFs
    signed, strays = _signed_candidates(folder, dossier, options)
    validation: list[dict] = []
    if strays:
        from sohoa.signing.verify import Policy, verify_file

        for stray in strays:
            verdict = verify_file(stray, Policy(trust=options.trust, offline=True))
            if verdict.indication in NOT_SIGNED:
                warnings.append(f"{stray.name}: a PDF in the OCR folder that is neither a searchable PDF "
                                "of dossier.json nor signed: not archived")
            else:
                signed.append(stray)
    real_stems = [s for s in stems if s]
    for pdf in signed:
        stem = _document_for(pdf.name, real_stems)
        seq = stems.index(stem) + 1 if stem else None
        item = put("signed", pdf.name, source=pdf, **({"document": seq} if seq else {}))
        if seq:
            documents[seq - 1]["signed"].append(item["path"])
        else:
            warnings.append(f"{pdf.name}: signed PDF not matched to a document by name")

    payload_files = list(files)
    fault("payload")
    # fingerprint: the content, not when or by whom it was archived
    content = {k: v for k, v in dossier.items() if k != "source_root"}
    fingerprint = hashlib.sha256(json.dumps(
        {"dossier": content, "files": sorted([f["path"], f["sha256"]] for f in payload_files)},
        ensure_ascii=False, sort_keys=True).encode()).hexdigest()

    # signature validation of every PDF of the bag
    pdfs = [f for f in payload_files if f["path"].lower().endswith(".pdf")]
    if pdfs:
        from sohoa.signing.verify import Policy, verify_file

        policy = Policy(trust=options.trust, at=None, offline=True)
        for f in pdfs:
            verdict = verify_file(bag_dir / f["path"], policy).to_json()
            verdict["file"] = f["path"]
            validation.append(verdict)
            f["signature"] = verdict["indication"]
    summary: dict[str, int] = {}
    for v in validation:
        summary[v["indication"]] = summary.get(v["indication"], 0) + 1

    dossier_dir = PurePosixPath(dossier_rel)
    year = int(dossier_dir.parent.name) if dossier_dir.parent.name.isdigit() else dt.date.today().year
    ingested_at = audit.now()
    record = {
        "format": RECORD_FORMAT,
        "dossier": str(dossier.get("dossier") or folder.name),
        "dossier_code": dossier.get("dossier_code"),
        "agency_code": agency,
        "agency_name": options.agency_name,
        "year": year,
        "dossier_date": when.isoformat() if (when := L.dossier_date(dossier)) else None,
        "folder": dossier_dir.name,
        "version": number,
        "supersedes": L.version_name(number - 1) if number > 1 else None,
        "ingested_at": ingested_at,
        "agent": options.agent,
        "fingerprint": fingerprint,
        "source": {"ocr_folder": str(folder), "source_root": dossier.get("source_root"),
                   "signed_folder": str(options.signed_dir) if options.signed_dir else None},
        "files": payload_files,
        "documents": documents,
        "validation_summary": summary,
        "warnings": warnings,
    }
    writer.add_bytes("data/metadata/dossier.json", raw)
    writer.add_bytes("data/metadata/archive.json",
                     (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode())
    writer.add_bytes("data/metadata/validation.json",
                     (json.dumps(validation, ensure_ascii=False, indent=2) + "\n").encode())
    code = dossier.get("dossier_code")
    pages = sum(int(d.get("pages") or 0) for d in dossier["documents"])
    info = [("Source-Organization", options.agency_name or agency),
            ("Contact-Name", options.agent),
            ("External-Description", f"Digitised dossier {code or record['dossier']}: "
                                     f"{len(documents)} documents, {pages} scanned pages (sohoa)"),
            ("Bagging-Date", ingested_at[:10]),
            ("External-Identifier", code or record["dossier"]),
            ("Bag-Group-Identifier", f"{agency}/{dossier_dir.name}"),
            ("Internal-Sender-Identifier", record["dossier"]),
            ("Bag-Software-Agent", f"sohoa {_version()}"),
            ("Sohoa-Agency-Code", agency),
            ("Sohoa-Version", L.version_name(number)),
            ("Sohoa-Supersedes", record["supersedes"] or "none"),
            ("Sohoa-Ingested-At", ingested_at),
            ("Sohoa-Fingerprint", fingerprint)]
    writer.finish(info)
    return _Staged(record, payload_files, fingerprint)


# ------------------------------------------------------------------ bag → catalogue


def read_version(read: Callable[[str], bytes], path: str) -> VersionRecord:
    """What the catalogue knows of a stored version, read from the bag alone: `read(name)`
    gives a file of the bag, `path` is the version's path in the archive."""
    record = json.loads(read("data/metadata/archive.json").decode("utf-8"))
    dossier = json.loads(read("data/metadata/dossier.json").decode("utf-8"))
    indications: dict[str, str] = {}
    for f in record.get("files", []):
        if f.get("signature"):
            indications[f["path"]] = f["signature"]
    docs = []
    for entry, doc in zip(record["documents"], dossier["documents"]):
        related = [p for p in entry.get("signed", [])] + \
                  [o["path"] for o in entry.get("originals", []) if o.get("path")]
        found = [indications[p] for p in dict.fromkeys(related) if p in indications
                 and indications[p] not in NOT_SIGNED]
        text = read(entry["text"]).decode("utf-8", errors="replace") if entry.get("text") else ""
        dropped = len(doc.get("dropped_pages") or [])
        pages = int(doc.get("pages") or 0)
        docs.append(DocumentRecord(
            seq=entry["seq"], file=entry.get("file"), pages=pages,
            pages_kept=max(0, pages - dropped) if entry.get("file") else 0,
            metadata=doc.get("metadata") or {},
            confidence=(doc.get("ocr") or {}).get("mean_confidence"),
            signed=bool(found), signature=_worst(found) if found else None, text=text))
    payload = [f for f in record.get("files", [])]
    return VersionRecord(
        agency_code=record["agency_code"], agency_name=record.get("agency_name"),
        folder=record["folder"], dossier_code=record.get("dossier_code"), name=record["dossier"],
        year=int(record["year"]), dossier_date=record.get("dossier_date"),
        path=path, version=int(record["version"]),
        ingested_at=record["ingested_at"], agent=record.get("agent") or "",
        fingerprint=record["fingerprint"], payload_bytes=sum(int(f["size"]) for f in payload),
        payload_files=len(payload), documents=docs)


def read_stored(arch: Archive, version: str) -> VersionRecord:
    return read_version(lambda name: arch.bags.read(version, name), version)


_ORDER = ["TOTAL_PASSED", "INDETERMINATE", "TOTAL_FAILED"]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("sohoa")
    except Exception:
        return "unknown"


def _worst(indications: list[str]) -> str:
    return max(indications, key=lambda i: _ORDER.index(i) if i in _ORDER else len(_ORDER))


def _reconcile(arch: Archive, dossier_rel: str) -> None:
    """Catalogue the stored versions of this dossier that the catalogue does not know (a
    crash between the rename, or the upload, and the commit)."""
    cat = arch.catalogue
    for number in arch.bags.versions(dossier_rel):
        version = f"{dossier_rel}/{L.version_name(number)}"
        if not cat.has_version(version):
            _catalogue_recovered(arch, version)


def _catalogue_recovered(arch: Archive, version: str) -> None:
    record = read_stored(arch, version)
    cat = arch.catalogue
    with cat.write() as con:
        if cat.index_version(record) is not None:
            audit.append(con, audit.MODIFICATION if record.version > 1 else audit.INGESTION,
                         record.agent, "success", record.path,
                         {"dossier": record.name, "dossier_code": record.dossier_code,
                          "recovered": "catalogued after an interrupted ingest",
                          "ingested_at": record.ingested_at, "fingerprint": record.fingerprint})


def recover(arch: Archive) -> list[str]:
    """Finish or undo the work of ingests that died. Returns what was done, one line each."""
    done = []
    for area in arch.dead_areas():
        target = None
        if area.intent.is_file():
            try:
                target = json.loads(area.intent.read_text(encoding="utf-8"))["target"]
            except (ValueError, KeyError):
                target = None
        if target and arch.bags.published(target):
            if not arch.catalogue.has_version(target):
                _catalogue_recovered(arch, target)
                done.append(f"catalogued {target} (its ingest was interrupted after the bag was in place)")
        else:
            if target:
                agency, _, folder, _ = version_parts(target)
                with arch.dossier_lock(f"{agency}/{folder}"):
                    arch.bags.discard_unpublished(target)
            done.append(f"removed an unfinished bag from an interrupted ingest ({area.folder.name})")
        remove_tree(area.folder)
        area.lock_path.unlink(missing_ok=True)
    return done


def add(arch: Archive, inputs: list[Path], options: AddOptions,
        on_start: Callable[[int], None] | None = None,
        on_dossier: Callable[[DossierOutcome], None] | None = None) -> list[DossierOutcome]:
    folders = find_dossiers(inputs)
    if on_start:
        on_start(len(folders))
    outcomes = []
    with arch.archive_lock():
        recover(arch)
        for folder in folders:
            try:
                outcome = ingest_dossier(arch, folder, options)
            except (BadInput, StoreError, OSError, ValueError, KeyError) as exc:
                message = str(exc) if isinstance(exc, (BadInput, StoreError)) else f"{folder}: {exc.__class__.__name__}: {exc}"
                outcome = DossierOutcome(str(folder), folder.name, "error", message=message)
            if outcome.status != "added":
                with arch.catalogue.write() as con:
                    audit.append(con, audit.INGESTION, options.agent,
                                 "success" if outcome.status == "unchanged" else "failure",
                                 outcome.version or str(folder),
                                 {"input": outcome.input, "dossier": outcome.dossier,
                                  "result": outcome.status, "message": outcome.message})
            outcomes.append(outcome)
            if on_dossier:
                on_dossier(outcome)
    return outcomes


def reindex(arch: Archive, agent: str, on_start=None, on_version=None) -> dict:
    """Rebuild the catalogue (dossiers, versions, documents, search) from the bags alone.
    The audit log and the fixity history are kept."""
    versions = arch.bags.all_versions()
    if on_start:
        on_start(len(versions))
    cat = arch.catalogue
    problems = []
    count = documents = 0
    with arch.archive_lock(exclusive=True):
        recover(arch)
        versions = arch.bags.all_versions()
        with cat.write() as con:
            cat.clear_index()
            for version in versions:
                try:
                    record = read_stored(arch, version)
                    cat.index_version(record)
                    count += 1
                    documents += len(record.documents)
                except (OSError, ValueError, KeyError) as exc:
                    problems.append(f"{version}: cannot be read ({exc.__class__.__name__}: {exc})")
                if on_version:
                    on_version()
            detail = {"versions": count, "documents": documents, "problems": problems}
            audit.append(con, audit.REBUILD, agent, "success" if not problems else "warning",
                         arch.paths.rel(arch.paths.catalogue), detail)
    return detail
