"""`sohoa verify` (the archivist's bulk check) and `sohoa trust` (its trust anchors).

Exit status: 0 every file TOTAL_PASSED · 1 any file TOTAL_FAILED, ERROR (unreadable)
or NO_SIGNATURE (a file the archivist expected to be signed is not) · 3 otherwise, when
any file is INDETERMINATE · 2 usage (bad flag, missing file or trust anchor) · 130 Ctrl-C.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .config import load_settings, user_config_dir
from .console import err, print_json
from .errors import BadInput, ExitCode, UsageError

EPILOG = ("Example: sohoa verify ./luu-tru --offline --report bien-ban.html  ·  "
          "sohoa verify qd-123.pdf --trust rootcag2.crt --at 2025-07-01T09:00:00+07:00 --json")

trust_app = typer.Typer(no_args_is_help=True, help="Trust anchors for `sohoa verify`.")

STYLE = {"TOTAL_PASSED": ("green", "✓"), "INDETERMINATE": ("yellow", "?"), "TOTAL_FAILED": ("red", "✗"),
         "NO_SIGNATURE": ("red", "–"), "ERROR": ("red", "!")}


def trust_folder() -> Path:
    """The trust folder: `trust_dir` (flag, SOHOA_TRUST_DIR, sohoa.toml), else
    ~/.config/sohoa/trust."""
    return load_settings().trust_dir or user_config_dir() / "trust"


def parse_time(text: str) -> datetime:
    from sohoa.signing.results import VN_TIME

    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"--at {text!r}: not an ISO 8601 time (e.g. 2025-07-01T09:15:30+07:00)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TIME)


def verify(
    paths: Annotated[list[Path], typer.Argument(help="PDF files or folders (searched recursively).", metavar="PDF_OR_DIR...", show_default=False)],
    trust: Annotated[Optional[list[Path]], typer.Option("--trust", help="Trust anchor (PEM, DER or P7B); repeatable; adds to the trust folder.", show_default=False)] = None,
    at: Annotated[Optional[str], typer.Option("--at", help="Validate as of this time (ISO 8601; no zone = Vietnam time). Missing revocation data is then noted, not failed.", show_default=False)] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Never fetch CRL/OCSP: use what the files embed.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Machine output on stdout: an object for one file, an array otherwise.")] = False,
    report: Annotated[Optional[Path], typer.Option("--report", help="Also write a printable HTML report (Vietnamese and English).", show_default=False)] = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", min=1, help="Worker processes (default: one per core).", show_default=False)] = None,
    signed_only: Annotated[bool, typer.Option("--signed-only", help="Files without any signature (e.g. the unsigned searchable PDFs in an archive) are counted, not listed or failed.")] = False,
) -> None:
    """Validate every signature of PDF files: integrity, later changes, trust, revocation, time.

    One line per file on stderr (ETSI indication, signers, reason) and a summary.
    Exit: 0 all TOTAL_PASSED · 1 any TOTAL_FAILED, unreadable or unsigned file ·
    3 otherwise any INDETERMINATE · 2 usage error.
    """
    from sohoa.signing import trust as trust_lib

    settings = load_settings({"jobs": jobs})
    missing = [str(p) for p in [*paths, *(trust or [])] if not p.exists()]
    if missing:
        raise UsageError(f"not found: {', '.join(missing)}")
    try:
        anchors = trust_lib.load_anchors(list(trust or []), trust_folder())
    except BadInput as exc:
        raise UsageError(str(exc)) from exc
    moment = parse_time(at) if at else None
    from sohoa.signing import verify as engine  # pyHanko (≈0.5 s): only once the usage is fine

    files = engine.collect_pdfs(paths)
    if not files:
        raise UsageError(f"no PDF file in {', '.join(map(str, paths))}")
    if not anchors:
        err.print("[yellow]No trust anchor:[/] every signature will be INDETERMINATE "
                  "(NO_CERTIFICATE_CHAIN_FOUND). Add one: sohoa trust add ROOT.crt, or --trust ROOT.pem.")
    policy = engine.Policy(tuple(c.dump() for c in anchors), moment, offline)
    results = _run(engine, files, policy, settings.jobs, signed_only)
    _summary(results)
    if report:
        from sohoa.signing.report_html import write_report

        write_report(report, results, policy, anchors)
        err.print(f"Report: {report}")
    if json:
        single = len(results) == 1 and not any(p.is_dir() for p in paths)
        print_json(results[0].to_json() if single else [r.to_json() for r in results])
    raise typer.Exit(exit_code(r.indication for r in results
                               if not (signed_only and r.indication == "NO_SIGNATURE")))


def _run(engine, files, policy, jobs, signed_only=False):
    from .progress import progress_bar

    try:
        with progress_bar("Verifying", "files") as (start, advance):
            start(len(files))

            def done(verdict) -> None:
                if not (signed_only and verdict.indication == "NO_SIGNATURE"):
                    _print_line(verdict)
                advance()

            return engine.verify_paths(files, policy, jobs=jobs, on_file=done)
    except KeyboardInterrupt:
        err.print("[red]Interrupted.[/] No report was written.")
        raise typer.Exit(ExitCode.INTERRUPTED) from None


def _print_line(v) -> None:
    colour, mark = STYLE.get(v.indication, ("red", "!"))
    worst = next((s for s in v.signatures if s.indication == v.indication), None)
    label = v.indication + (f"/{worst.sub_indication}" if worst and worst.sub_indication else "")
    signers = ", ".join(dict.fromkeys(s.signer for s in v.signatures if s.signer and s.kind == "signature"))
    vi, en = v.reason
    detail = " — ".join(x for x in (signers, "" if v.indication == "TOTAL_PASSED" else f"{vi} / {en}") if x)
    err.print(f"[{colour}]{mark} {label}[/] {escape(v.file)}" + (f" — {escape(detail)}" if detail else ""),
              soft_wrap=True)


def _summary(results) -> None:
    from collections import Counter

    counts = Counter(r.indication for r in results)
    parts = [f"{counts[k]} {k}" for k in STYLE if counts[k]]
    err.print(f"{len(results)} files: " + ", ".join(parts) + "  ·  "
              f"{len(results)} tệp: {counts['TOTAL_PASSED']} hợp lệ, {counts['TOTAL_FAILED']} không hợp lệ, "
              f"{counts['INDETERMINATE']} chưa xác định, {counts['NO_SIGNATURE']} không có chữ ký, "
              f"{counts['ERROR']} lỗi đọc tệp", soft_wrap=True)


def exit_code(indications) -> int:
    seen = set(indications)
    if seen & {"TOTAL_FAILED", "ERROR", "NO_SIGNATURE"}:
        return ExitCode.FAILED
    if "INDETERMINATE" in seen:
        return ExitCode.INDETERMINATE
    return ExitCode.OK


# ------------------------------------------------------------------------ trust

@trust_app.command("add", epilog="Example: sohoa trust add ~/Downloads/rootcag2.crt")
def trust_add(
    file: Annotated[Path, typer.Argument(help="Certificate file: PEM, DER or P7B (e.g. rootcag2.crt, vnrca256.p7b).", show_default=False)],
    json: Annotated[bool, typer.Option("--json", help="Machine output on stdout.")] = False,
) -> None:
    """Add trust anchors to the trust folder; says whether they are the official Vietnamese roots."""
    from sohoa.signing import trust as trust_lib

    if not file.exists():
        raise UsageError(f"not found: {file}")
    folder = trust_folder()
    result = trust_lib.add(file, folder)
    rows = []
    for cert, path in result.added + result.present:
        official = trust_lib.official_root(cert)
        fresh = (cert, path) in result.added
        rows.append(_cert_row(trust_lib, cert, path) | {"added": fresh})
        what = "[green]Added[/]" if fresh else "Already trusted"
        err.print(f"{what}: {escape(trust_lib.common_name(cert))} → {escape(str(path))}\n"
                  f"  SHA-256 {trust_lib.fingerprint(cert)}", soft_wrap=True)
        if official:
            err.print(f"  [green]✓ Chứng thư gốc chính thức / official root:[/] {escape(official.name)} "
                      f"({escape(official.operator)}; {escape(official.hierarchy)}) — "
                      "the SHA-256 fingerprint matches the published one.", soft_wrap=True)
        else:
            err.print("  Not one of the pinned official Vietnamese roots: trust it only if you know "
                      "where it comes from.", soft_wrap=True)
        if "TEST ONLY" in cert.subject.human_friendly:
            err.print("  [yellow]TEST ONLY certificate: never trust it on a real machine.[/]")
    if json:
        print_json({"folder": str(folder), "certificates": rows})


@trust_app.command("list", epilog="Example: sohoa trust list --json")
def trust_list(json: Annotated[bool, typer.Option("--json", help="Machine output on stdout.")] = False) -> None:
    """List the trust folder and which official Vietnamese roots are (not yet) in it."""
    from sohoa.signing import trust as trust_lib

    folder = trust_folder()
    rows = []
    for path in trust_lib.folder_files(folder):
        try:
            rows += [_cert_row(trust_lib, c, path) for c in trust_lib.load_file(path)]
        except BadInput as exc:
            err.print(f"[red]unreadable:[/] {escape(str(exc))}", soft_wrap=True)
    have = {r["sha256"] for r in rows}
    absent = [root.name for fp, root in trust_lib.OFFICIAL_ROOTS.items() if fp not in have]
    if json:
        print_json({"folder": str(folder), "certificates": rows, "official_missing": absent})
        return
    err.print(f"Trust folder: {escape(str(folder))} ({len(rows)} certificates)")
    for r in rows:
        mark = f" [green]✓ {escape(r['official'])}[/]" if r["official"] else ""
        err.print(f"  {escape(r['subject'])}  valid to {r['valid_to'][:10]}  SHA-256 {r['sha256'][:16]}…{mark}",
                  soft_wrap=True)
    for name in absent:
        err.print(f"  [dim]not installed: {escape(name)}[/]")


def _cert_row(trust_lib, cert, path) -> dict:
    official = trust_lib.official_root(cert)
    return {"subject": trust_lib.common_name(cert), "sha256": cert.sha256.hex().upper(),
            "file": str(path), "valid_to": cert.not_valid_after.isoformat(),
            "official": official.name if official else None}
