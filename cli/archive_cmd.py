"""`sohoa archive`: file dossiers into a BagIt archive, search, report, check, export, audit.

The archive is a folder (setting `archive`, flag `--archive`): one BagIt bag per dossier
version under fonds/<agency-code>/<year>/<dossier>/vNNNN/ (in the folder, or on S3 with --store), a catalogue (SQLite, or PostgreSQL) with
Vietnamese full-text search, and a hash-chained audit log. See sohoa.archive.
"""
from __future__ import annotations

import functools
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .config import load_settings, user_config_dir
from .console import err, print_json
from .errors import BadInput, ExitCode, SohoaError, UsageError

archive_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode="rich",
    epilog="Example: sohoa archive add ./out --archive /srv/sohoa-archive  ·  "
           "sohoa archive search quyet dinh dien lac  ·  sohoa archive check --sample 200",
    help="The digitised-results archive: BagIt bags per dossier version, Vietnamese search, "
         "fixity checks, exports, a hash-chained audit log.")

P = typer.Option
ArchiveOpt = Annotated[Optional[Path], P("--archive", "-a", help="Archive folder (default: setting `archive`).", show_default=False)]
DbOpt = Annotated[Optional[str], P("--db", help="Catalogue on PostgreSQL, postgresql://USER@HOST/DATABASE (default: setting `db`; else SQLite in the archive). An archive keeps the catalogue it was made with.", show_default=False)]
StoreOpt = Annotated[Optional[str], P("--store", help="Keep the bags on S3-compatible storage, s3://BUCKET/PREFIX (endpoint and keys from the AWS_* variables; default: setting `store`; else the archive's fonds/ folder). An archive keeps the store it was made with.", show_default=False)]
JsonOpt = Annotated[bool, P("--json", help="Machine output on stdout.")]
AgentOpt = Annotated[Optional[str], P("--agent", help="Who acts, for the audit log (default: the OS user).", show_default=False)]
AgencyFilter = Annotated[Optional[str], P("--agency", help="Agency code, or part of the issuing agency's name.", show_default=False)]
TypeFilter = Annotated[Optional[str], P("--type", help="Document type, marks optional (\"quyet dinh\").", show_default=False)]
FromFilter = Annotated[Optional[str], P("--from", help="Issued on or after (YYYY, YYYY-MM or YYYY-MM-DD).", show_default=False)]
ToFilter = Annotated[Optional[str], P("--to", help="Issued on or before (YYYY, YYYY-MM or YYYY-MM-DD).", show_default=False)]
DossierFilter = Annotated[Optional[str], P("--dossier", help="Dossier code (or name).", show_default=False)]


def interruptible(command):
    """Ctrl-C: one line, exit status 130 (partial outputs are removed by the library)."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            err.print("[yellow]Interrupted.[/] Nothing half-written was left behind; run the command again to finish.")
            raise typer.Exit(ExitCode.INTERRUPTED) from None
    return wrapper


def _open(archive: Optional[Path], db: Optional[str] = None, *, create: bool = False):
    from sohoa.archive.store import Archive

    settings = load_settings({"archive": archive, "db": db})
    return Archive(settings.archive, create=create, db=settings.db, db_given=db is not None,
                   store=settings.store), settings


def _agent(agent: Optional[str]) -> str:
    from sohoa.archive.audit import agent_name

    return agent_name(agent)


def _log(arch, type_: str, agent: str, outcome: str, obj: str, detail: dict) -> None:
    from sohoa.archive import audit

    with arch.catalogue.write() as con:
        audit.append(con, type_, agent, outcome, obj, detail)


def _filters(agency, doc_type, date_from, date_to, dossier):
    from sohoa.archive.search import Filters

    return Filters(agency, doc_type, date_from, date_to, dossier)


def _size(n: int) -> str:
    from sohoa.archive.bag import human_size

    return human_size(n)


# ------------------------------------------------------------------------ add

@archive_app.command("add", epilog="Example: sohoa archive add ./out --archive /srv/sohoa-archive "
                                   "--agency-code 000.00.12.H27 --signed ./signed")
@interruptible
def add(
    outs: Annotated[list[Path], typer.Argument(help="Output folders of sohoa ocr (a dossier folder, or a folder of them).", show_default=False)],
    archive: ArchiveOpt = None,
    db: DbOpt = None,
    store: StoreOpt = None,
    signed: Annotated[Optional[Path], P("--signed", help="Folder of signed PDFs from sohoa sign, SIGNED/<dossier>/<document>.pdf.", show_default=False)] = None,
    agency_code: Annotated[Optional[str], P("--agency-code", help="Agency code of the fonds (default: setting agency_code, else the dossier code's agency part).", show_default=False)] = None,
    agency_name: Annotated[Optional[str], P("--agency-name", help="Agency name for bag-info (default: setting agency_name).", show_default=False)] = None,
    trust: Annotated[Optional[list[Path]], P("--trust", help="Trust anchor for validating signatures at ingest (adds to the trust folder); repeatable.", show_default=False)] = None,
    agent: AgentOpt = None,
    json: JsonOpt = False,
) -> None:
    """File each dossier as a BagIt bag (masters, searchable PDFs, text, metadata, signed PDFs).

    A changed dossier becomes its next version (v0002…); the same content again does
    nothing. A master whose SHA-256 differs from dossier.json refuses that dossier; the
    others go on. Exit: 0 all filed · 1 some dossier failed · 2 usage error.
    """
    from sohoa.archive import ingest
    from sohoa.signing import trust as trust_lib

    if signed is not None and not signed.is_dir():
        raise UsageError(f"--signed {signed}: not a folder")
    missing = [str(p) for p in [*outs, *(trust or [])] if not p.exists()]
    if missing:
        raise UsageError(f"not found: {', '.join(missing)}")
    settings = load_settings({"archive": archive, "agency_code": agency_code, "agency_name": agency_name,
                              "db": db, "store": store})
    try:
        anchors = trust_lib.load_anchors(list(trust or []), settings.trust_dir or user_config_dir() / "trust")
    except BadInput as exc:
        raise UsageError(str(exc)) from exc
    from sohoa.archive.store import Archive

    outs = ingest.find_dossiers(outs)  # usage errors before anything is created
    arch = Archive(settings.archive, create=True, db=settings.db, db_given=db is not None,
                   store=settings.store, store_given=store is not None)
    arch.connect()
    options = ingest.AddOptions(settings.agency_code, settings.agency_name, signed.absolute() if signed else None,
                                _agent(agent), tuple(c.dump() for c in anchors))
    started = time.perf_counter()
    from .progress import progress_bar

    with arch, progress_bar("Archiving", "dossiers") as (start, advance):
        def report(outcome) -> None:
            if outcome.status == "added":
                err.print(f"[green]✓[/] {escape(outcome.dossier or outcome.input)} → {escape(outcome.version)} "
                          f"[dim]({outcome.documents} documents, {outcome.files} files, {_size(outcome.bytes)}"
                          f"{f', {outcome.signed_files} signed' if outcome.signed_files else ''})[/]", soft_wrap=True)
            elif outcome.status == "unchanged":
                err.print(f"[dim]=[/] {escape(outcome.dossier or outcome.input)}: unchanged ({escape(outcome.version)})", soft_wrap=True)
            else:
                err.print(f"[red]✗[/] {escape(outcome.message)}", soft_wrap=True)
            for warning in outcome.warnings:
                err.print(f"  [yellow]![/] {escape(warning)}", soft_wrap=True)
            advance()

        outcomes = ingest.add(arch, outs, options, on_start=start, on_dossier=report)
    seconds = time.perf_counter() - started
    counts = {s: sum(o.status == s for o in outcomes) for s in ("added", "unchanged", "error")}
    colour = "red" if counts["error"] else "green"
    err.print(f"[{colour}]{counts['added']} added, {counts['unchanged']} unchanged, {counts['error']} failed[/] "
              f"in {seconds:.1f} s → {escape(str(arch.paths.root))}"
              + (f" (bags in {escape(str(arch.bags))})" if arch.store_location else ""))
    if json:
        print_json({"archive": str(arch.paths.root), "bags": str(arch.bags),
                    "added": counts["added"], "unchanged": counts["unchanged"],
                    "failed": counts["error"], "seconds": round(seconds, 3),
                    "dossiers": [o.to_json() for o in outcomes]})
    raise typer.Exit(ExitCode.FAILED if counts["error"] else ExitCode.OK)


# ------------------------------------------------------------------------ search

@archive_app.command("search", epilog="Example: sohoa archive search quyet dinh dien lac --type \"quyết định\" --from 2023 --json")
@interruptible
def search(
    query: Annotated[list[str], typer.Argument(help="Words (marks optional: đ = d); \"quoted words\" must follow each other.", show_default=False)],
    archive: ArchiveOpt = None,
    db: DbOpt = None,
    agency: AgencyFilter = None,
    doc_type: TypeFilter = None,
    date_from: FromFilter = None,
    date_to: ToFilter = None,
    dossier: DossierFilter = None,
    limit: Annotated[int, P("--limit", "-n", min=1, max=1000, help="Results to show.")] = 20,
    agent: AgentOpt = None,
    json: JsonOpt = False,
) -> None:
    """Full-text search of OCR text and metadata; Vietnamese marks and đ/Đ are optional.

    Documents holding the words exactly as typed (marks included) come first, then those
    matching without marks; newest first within each. Only the latest version of each
    dossier is searched. Every search is recorded in the audit log.
    """
    from sohoa.archive import audit
    from sohoa.archive import search as lib

    arch, _ = _open(archive, db)
    with arch:
        text = " ".join(query)
        result = lib.search(arch.catalogue, text, _filters(agency, doc_type, date_from, date_to, dossier), limit)
        _log(arch, audit.SEARCH, _agent(agent), "success", text,
             {"filters": result.filters.to_json(), "results": len(result.hits), "more": result.more})
    if json:
        print_json(result.to_json())
    else:
        for n, hit in enumerate(result.hits, 1):
            title = " · ".join(filter(None, [hit.doc_type, "/".join(filter(None, [hit.number, hit.symbol])),
                                             hit.issued_date, hit.subject]))
            err.print(f"[bold]{n}.[/] {escape(hit.dossier_code or hit.dossier)} "
                      f"[dim]#{hit.seq} {escape(hit.file or '')}[/] {escape(title)}"
                      + (" [dim](no marks)[/]" if hit.tier == "folded" and result.query.marked else ""),
                      soft_wrap=True)
            snippet = Text("   " + hit.snippet)
            for a, b in hit.highlights:
                snippet.stylize("bold yellow", a + 3, b + 3)
            err.print(snippet, soft_wrap=True)
            err.print(f"   [dim]{escape(hit.version_path)}[/]", soft_wrap=True)
        more = " (more: --limit or filters)" if result.more else ""
        if result.partial:
            more = f" (the phrase check stopped after {lib.PHRASE_BUDGET_S:.0f} s: narrow the search with filters)"
        err.print(f"{len(result.hits)} results{more} in {result.seconds * 1000:.0f} ms")
    raise typer.Exit(ExitCode.OK)


# ------------------------------------------------------------------------ show

@archive_app.command("show", epilog="Example: sohoa archive show 000.00.12.H27-230614-0001 --json")
@interruptible
def show(
    code: Annotated[str, typer.Argument(help="Dossier code, dossier name, or a fonds/… version path.", show_default=False)],
    archive: ArchiveOpt = None,
    db: DbOpt = None,
    version: Annotated[Optional[int], P("--version", "-v", min=1, help="Version number (default: the latest).", show_default=False)] = None,
    agent: AgentOpt = None,
    json: JsonOpt = False,
) -> None:
    """A dossier: its versions, documents, files, signatures and last fixity check."""
    import json as jsonlib

    from sohoa.archive import audit

    arch, _ = _open(archive, db)
    with arch:
        con = arch.catalogue.con
        row = con.execute("SELECT id, agency_code, dossier_code, name, year, path FROM dossiers "
                          "WHERE dossier_code = ? OR name = ? OR folder = ? OR path = ? OR ? LIKE path || '/v%' "
                          "ORDER BY id LIMIT 1", (code, code, code, code, code)).fetchone()
        if row is None:
            raise UsageError(f"no dossier {code!r} in the archive (try: sohoa archive search {code})")
        versions = con.execute("SELECT id, version, path, ingested_at, agent, payload_files, payload_bytes "
                               "FROM versions WHERE dossier_id = ? ORDER BY version", (row[0],)).fetchall()
        pick = [v for v in versions if version is None or v[1] == version]
        if not pick:
            raise UsageError(f"{code}: no version {version} (versions: {', '.join(str(v[1]) for v in versions)})")
        chosen = pick[-1]
        try:
            record = jsonlib.loads(arch.bags.read(chosen[2], "data/metadata/archive.json").decode("utf-8"))
        except (OSError, ValueError, SohoaError) as exc:
            record = {"files": [], "documents": [], "error": f"cannot read the bag: {exc}"}
        docs = con.execute("SELECT seq, file, doc_type, number, symbol, issued_date, subject, pages, pages_kept, "
                           "signed, signature FROM documents WHERE version_id = ? ORDER BY seq", (chosen[0],)).fetchall()
        fixity = con.execute("SELECT checked_at, outcome, problems FROM fixity WHERE version_path = ? "
                             "ORDER BY checked_at DESC LIMIT 1", (chosen[2],)).fetchone()
        _log(arch, audit.ACCESS, _agent(agent), "success", chosen[2], {"dossier": row[2] or row[3]})
    data = {
        "agency_code": row[1], "dossier_code": row[2], "dossier": row[3], "year": row[4], "path": row[5],
        "versions": [{"version": v[1], "path": v[2], "ingested_at": v[3], "agent": v[4], "files": v[5],
                      "bytes": v[6]} for v in versions],
        "shown_version": chosen[1],
        "documents": [dict(zip(("seq", "file", "doc_type", "number", "symbol", "issued_date", "subject",
                                "pages", "pages_kept", "signed", "signature"), d)) for d in docs],
        "files": [{k: f.get(k) for k in ("path", "role", "original_name", "size", "sha256", "signature",
                                          "extracted_from") if f.get(k) is not None} for f in record.get("files", [])],
        "last_fixity_check": {"checked_at": fixity[0], "outcome": fixity[1],
                              "problems": jsonlib.loads(fixity[2])} if fixity else None,
        "warnings": record.get("warnings", []),
    }
    if json:
        print_json(data)
        raise typer.Exit(ExitCode.OK)
    err.print(f"[bold]{escape(row[2] or row[3])}[/] — agency {escape(row[1])}, {row[4]} — {escape(row[5])}")
    for v in versions:
        mark = "→" if v[1] == chosen[1] else " "
        err.print(f" {mark} v{v[1]:04d}  {v[3]}  by {escape(v[4])}  {v[5]} files, {_size(v[6])}")
    table = Table(title=f"Documents of v{chosen[1]:04d}")
    for col in ("#", "file", "type", "number", "date", "subject", "pages", "signed"):
        table.add_column(col, overflow="fold")
    for d in data["documents"]:
        table.add_row(str(d["seq"]), escape(d["file"] or "—"), escape(d["doc_type"] or ""),
                      escape("/".join(filter(None, [d["number"], d["symbol"]]))), d["issued_date"] or "",
                      escape(d["subject"] or ""), f"{d['pages_kept']}/{d['pages']}",
                      escape(d["signature"] or "") if d["signed"] else "")
    err.print(table)
    files = Table(title="Files")
    for col in ("path", "original name", "size", "signature"):
        files.add_column(col, overflow="fold")
    for f in data["files"]:
        files.add_row(escape(f["path"]), escape(f.get("original_name", "")), _size(f.get("size", 0)),
                      escape(f.get("signature", "")))
    err.print(files)
    if fixity:
        err.print(f"Last fixity check: {fixity[0]} — {fixity[1]}")
    else:
        err.print("Not fixity-checked yet (sohoa archive check).")
    raise typer.Exit(ExitCode.OK)


# ------------------------------------------------------------------------ export

@archive_app.command("export", epilog="Example: sohoa archive export --csv ho-so-2023.csv --from 2023 --to 2023  ·  "
                                      "sohoa archive export 000.00.12.H27-230614-0001 --dip ./cho-cong-dan")
@interruptible
def export(
    codes: Annotated[Optional[list[str]], typer.Argument(help="Dossier codes or names (default: every dossier the filters select).", show_default=False)] = None,
    archive: ArchiveOpt = None,
    db: DbOpt = None,
    csv: Annotated[Optional[Path], P("--csv", help="Write the documents' metadata as CSV (UTF-8, Excel-ready).", show_default=False)] = None,
    dip: Annotated[Optional[Path], P("--dip", help="Write a DIP folder: PDFs, signed PDFs, text, metadata, index.csv.", show_default=False)] = None,
    with_originals: Annotated[bool, P("--with-originals", help="DIP: include the scanned masters.")] = False,
    agency: AgencyFilter = None,
    doc_type: TypeFilter = None,
    date_from: FromFilter = None,
    date_to: ToFilter = None,
    agent: AgentOpt = None,
    json: JsonOpt = False,
) -> None:
    """Export metadata (CSV) and/or a dissemination package (DIP folder) of selected dossiers."""
    from sohoa.archive import audit
    from sohoa.archive import export as lib

    if csv is None and dip is None:
        raise UsageError("export: give --csv FILE and/or --dip FOLDER")
    arch, _ = _open(archive, db)
    with arch:
        selection = lib.select(arch.catalogue, list(codes or []), _filters(agency, doc_type, date_from, date_to, None))
        result: dict = {"documents": len(selection.rows), "dossiers": len(selection.versions)}
        if csv is not None:
            lib.write_csv(selection, csv)
            result["csv"] = str(csv)
            err.print(f"CSV: {len(selection.rows)} documents → {escape(str(csv))}")
        if dip is not None:
            from .progress import progress_bar

            with progress_bar("Exporting", "dossiers") as (start, advance):
                start(len(selection.versions))
                result["dip"] = lib.write_dip(arch, selection, dip, with_originals=with_originals, on_version=advance)
            err.print(f"DIP: {len(selection.versions)} dossiers, {result['dip']['files']} files → {escape(str(dip))}")
        _log(arch, audit.DISSEMINATION, _agent(agent), "success", str(dip or csv),
             {"codes": list(codes or []), "filters": _filters(agency, doc_type, date_from, date_to, None).to_json(),
              "versions": selection.versions, "documents": len(selection.rows),
              "csv": str(csv) if csv else None, "dip": str(dip) if dip else None})
    if json:
        print_json(result)
    raise typer.Exit(ExitCode.OK)


# ------------------------------------------------------------------------ stats

class By(str, Enum):
    year = "year"
    month = "month"


@archive_app.command("stats", epilog="Example: sohoa archive stats --by month --plot stats.png --json")
@interruptible
def stats(
    archive: ArchiveOpt = None,
    db: DbOpt = None,
    by: Annotated[By, P("--by", help="Period: year (the fonds year) or month (dossier date).")] = By.year,
    agency: Annotated[Optional[str], P("--agency", help="Only this agency code.", show_default=False)] = None,
    plot: Annotated[Optional[Path], P("--plot", help="Also draw a chart (PNG).", show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Per agency and period: dossiers, documents, pages, digitised share, signed share."""
    from sohoa.archive import stats as lib

    arch, _ = _open(archive, db)
    with arch:
        rows = lib.stats(arch.catalogue, by=by.value, agency=agency)
    total = lib.totals(rows)
    if plot is not None:
        lib.plot(rows, plot)
        err.print(f"Chart → {escape(str(plot))}")
    if json:
        print_json({"by": by.value, "rows": [r.to_json() for r in rows], "total": total.to_json()})
        raise typer.Exit(ExitCode.OK)
    table = Table(title=f"sohoa archive — per agency and {by.value}")
    for col in ("agency", by.value, "dossiers", "documents", "pages", "digitised", "signed"):
        table.add_column(col, justify="left" if col in ("agency", by.value) else "right")
    for r in [*rows, total] if rows else []:
        table.add_row(escape(r.agency_code), r.period, str(r.dossiers), str(r.documents), str(r.pages),
                      f"{r.digitised_share:.0%}", f"{r.signed_share:.0%}",
                      style="bold" if r is total else None)
    err.print(table if rows else "The archive is empty.")
    raise typer.Exit(ExitCode.OK)


# ------------------------------------------------------------------------ check

class Algorithms(str, Enum):
    sha256 = "sha256"
    sha512 = "sha512"
    all = "all"


@archive_app.command("check", epilog="Example: sohoa archive check --sample 200  ·  sohoa archive check --json")
@interruptible
def check(
    archive: ArchiveOpt = None,
    db: DbOpt = None,
    sample: Annotated[Optional[int], P("--sample", min=1, help="Rolling check: the N versions checked longest ago (never-checked first).", show_default=False)] = None,
    algorithm: Annotated[Algorithms, P("--algorithm", help="Manifests to verify against (all: SHA-256 and SHA-512).")] = Algorithms.sha256,
    jobs: Annotated[Optional[int], P("--jobs", "-j", min=1, help="Reading threads (default: two per core; 1–2 suit a single hard disk).", show_default=False)] = None,
    agent: AgentOpt = None,
    json: JsonOpt = False,
) -> None:
    """Fixity: every file against the bag manifests; reports changed, missing, unexpected files.

    Nothing is repaired. Exit: 0 everything intact · 1 a problem was found (each with its path).
    """
    from sohoa.archive import audit
    from sohoa.archive import fixity as lib

    algorithms = ("sha256", "sha512") if algorithm is Algorithms.all else (algorithm.value,)
    arch, _ = _open(archive, db)
    from .progress import progress_bar

    with arch:
        with progress_bar("Checking", "bags") as (start, advance):
            report, bags = lib.check(arch, sample=sample, algorithms=algorithms, jobs=jobs, on_start=start,
                                     on_bag=lambda _: advance())
        cat = arch.catalogue
        known = cat.version_paths()
        with cat.write() as con:
            checked_at = audit.now()
            for b in bags:
                if b.path in known:
                    cat.record_fixity(b.path, checked_at, "ok" if not b.problems else "failed", b.files, b.bytes,
                                      [p.to_json() for p in b.problems])
            audit.append(con, audit.FIXITY, _agent(agent), "success" if report.ok else "failure",
                         "sample" if sample else "archive",
                         {"bags": report.bags, "files": report.files, "bytes": report.bytes,
                          "algorithms": list(algorithms), "sample": sample,
                          "problems": [p.to_json() for p in report.problems[:200]],
                          "problem_count": len(report.problems)})
    _print_problems(report.problems)
    colour = "green" if report.ok else "red"
    problems = len(report.problems)
    err.print(f"[{colour}]{report.bags} bags, {report.files} files, {_size(report.bytes)} checked: "
              f"{problems} problem{'' if problems == 1 else 's'}[/] in {report.seconds:.1f} s "
              f"({report.mb_per_s:.0f} MB/s)")
    if json:
        print_json(report.to_json())
    raise typer.Exit(ExitCode.OK if report.ok else ExitCode.FAILED)


def _print_problems(problems) -> None:
    """One line each: kind, path in the archive, what was found."""
    for p in problems:
        err.print(f"[red]{p.kind}:[/] {escape(p.path)}" + (f" [dim]({escape(p.detail)})[/]" if p.detail else ""),
                  soft_wrap=True)


# ------------------------------------------------------------------------ log

@archive_app.command("log", epilog="Example: sohoa archive log --limit 20  ·  sohoa archive log --verify --json")
@interruptible
def log(
    archive: ArchiveOpt = None,
    db: DbOpt = None,
    limit: Annotated[int, P("--limit", "-n", min=1, help="Latest events to show.")] = 50,
    type_: Annotated[Optional[str], P("--type", help="Only events of this type (ingestion, modification, fixity check, search, dissemination, replication, access, catalogue rebuild).", show_default=False)] = None,
    agent: Annotated[Optional[str], P("--agent", help="Only events of this agent.", show_default=False)] = None,
    verify: Annotated[bool, P("--verify", help="Prove that the hash chain is unbroken (exit 1 if not).")] = False,
    json: JsonOpt = False,
) -> None:
    """The audit log: who did what, when, with what outcome (PREMIS-style events, +07:00)."""
    from sohoa.archive import audit

    arch, _ = _open(archive, db)
    with arch:
        con = arch.catalogue.con
        if verify:
            chain = audit.verify(con)
            if json:
                print_json(chain.to_json())
            for problem in chain.problems:
                err.print(f"[red]broken:[/] {escape(problem)}")
            if chain.ok:
                err.print(f"[green]Audit chain intact:[/] {chain.events} events, head {chain.head}")
            else:
                n = len(chain.problems)
                err.print(f"[red]Audit chain broken[/] ({n} problem{'' if n == 1 else 's'} in {chain.events} events)")
            raise typer.Exit(ExitCode.OK if chain.ok else ExitCode.FAILED)
        events = audit.events(con, limit=limit, type=type_, agent=agent)
    if json:
        print_json([e.to_json() for e in events])
        raise typer.Exit(ExitCode.OK)
    table = Table(title="sohoa archive — audit log (latest first)")
    for col in ("#", "time", "type", "agent", "outcome", "object"):
        table.add_column(col, overflow="fold")
    for e in events:
        colour = {"success": "green", "failure": "red"}.get(e.outcome, "yellow")
        table.add_row(str(e.seq), e.time, e.type, escape(e.agent), f"[{colour}]{e.outcome}[/]", escape(e.object))
    err.print(table)
    raise typer.Exit(ExitCode.OK)


# ------------------------------------------------------------------------ replicate

@archive_app.command("replicate", epilog="Example: sohoa archive replicate --to /mnt/usb-backup/sohoa-archive")
@interruptible
def replicate(
    to: Annotated[Path, P("--to", help="The second copy's folder (another disk or medium).", show_default=False)],
    archive: ArchiveOpt = None,
    db: DbOpt = None,
    agent: AgentOpt = None,
    json: JsonOpt = False,
) -> None:
    """Copy the archive to a second medium: new bags copied, read back and verified, catalogue snapshot."""
    from sohoa.archive import audit
    from sohoa.archive import replicate as lib

    arch, _ = _open(archive, db)
    from .progress import progress_bar

    with arch:
        with progress_bar("Replicating", "bags") as (start, advance):
            report = lib.replicate(arch, to, on_start=start, on_version=lambda: advance())
        _log(arch, audit.REPLICATION, _agent(agent), "success" if report.ok else "failure", str(report.destination),
             report.to_json() | {"problems": [p.to_json() for p in report.problems[:200]]})
    if report.same_device:
        err.print("[yellow]![/] The replica is on the same device as the archive: not an independent medium.")
    _print_problems(report.problems)
    colour = "green" if report.ok else "red"
    err.print(f"[{colour}]{report.copied} bags copied and verified, {report.present} already there, "
              f"{len(report.problems)} problems[/] in {report.seconds:.1f} s → {escape(report.destination)}")
    if json:
        print_json(report.to_json())
    raise typer.Exit(ExitCode.OK if report.ok else ExitCode.FAILED)


# ------------------------------------------------------------------------ reindex

@archive_app.command("reindex", epilog="Example: sohoa archive reindex --archive /srv/sohoa-archive")
@interruptible
def reindex(
    archive: ArchiveOpt = None,
    db: DbOpt = None,
    agent: AgentOpt = None,
    json: JsonOpt = False,
) -> None:
    """Rebuild the catalogue from the bags alone (the audit log is kept).

    A catalogue that cannot be read at all is set aside as catalogue.sqlite3.broken-<time>
    and a new one is built; its audit log then starts with the rebuild.
    """
    from sohoa.archive import ingest
    from sohoa.archive.catalogue import CatalogueError
    from sohoa.archive.store import Archive

    settings = load_settings({"archive": archive, "db": db})
    root = settings.archive
    if not (root / "fonds").is_dir() and not (root / "store.url").is_file():
        raise UsageError(f"{root}: not an archive (no fonds folder, no store.url)")
    arch = Archive(root, create=True, db=settings.db, db_given=db is not None)
    note = None
    try:
        arch.catalogue
    except CatalogueError:
        if arch.postgres:
            raise
        note = _set_aside(arch.paths.catalogue)
        err.print(f"[yellow]![/] The catalogue could not be read; set aside as {escape(note)}.")
    from .progress import progress_bar

    with arch, progress_bar("Reindexing", "versions") as (start, advance):
        detail = ingest.reindex(arch, _agent(agent), on_start=start, on_version=advance)
    if note:
        detail["set_aside"] = note
    for problem in detail["problems"]:
        err.print(f"[red]✗[/] {escape(problem)}", soft_wrap=True)
    err.print(f"Catalogue rebuilt: {detail['versions']} versions, {detail['documents']} documents.")
    if json:
        print_json(detail)
    raise typer.Exit(ExitCode.FAILED if detail["problems"] else ExitCode.OK)


def _set_aside(path: Path) -> str:
    import os

    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.broken-{stamp}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        side = Path(str(path) + suffix)
        if side.exists():
            os.replace(side, Path(str(target) + suffix))
    return target.name
