"""`sohoa run`: the clerk's whole day in one command (OCR → signed copy → verify → archive)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .config import load_settings, user_config_dir
from .console import err, print_json
from .errors import BadInput, ExitCode, UsageError
from .ocr_cmd import Split
from .archive_cmd import DbOpt, StoreOpt
from .sign_cmd import LevelOpt, flagged_key_wins, key_source

EPILOG = ("Example: sohoa run ./scans --archive /srv/sohoa-archive --p12 co-quan.p12  ·  "
          "sohoa run batch.pdf --split qr --archive ./luu-tru --pkcs11-lib /usr/lib/libeToken.so "
          "--tsa http://tsa.example/ --level B-LT")

P = typer.Option
KEYS = "Key for the signed copies (PKCS#12 file or PKCS#11 token); none: copies are not signed"
STAGE_NAMES = {"ocr": "1/4 OCR", "sign": "2/4 Signing copies", "verify": "3/4 Verifying",
               "archive": "4/4 Archiving"}


def run(
    scans: Annotated[list[Path], typer.Argument(help="Scan files or folders (a folder = a dossier; a folder of folders = one dossier each).", exists=True, metavar="SCANS", show_default=False)],
    archive: Annotated[Optional[Path], P("--archive", "-a", help="Archive folder (default: setting archive, else ./sohoa-archive).", show_default=False)] = None,
    db: DbOpt = None,
    store: StoreOpt = None,
    work: Annotated[Path, P("--work", "-w", help="Work folder: WORK/ocr (searchable PDFs) and WORK/signed (signed copies); a re-run reuses it.")] = Path("sohoa-work"),
    split: Annotated[Split, P(help="qr: cut stacked batches at QR separator sheets.")] = Split.none,
    lang: Annotated[Optional[str], P(help="Tesseract language(s) (default: vie).", show_default=False)] = None,
    jobs: Annotated[Optional[int], P("--jobs", "-j", min=1, help="Worker processes (default: one per core).", show_default=False)] = None,
    cluster: Annotated[Optional[str], P(help="Read the pages on a Dask cluster: its scheduler's address, e.g. tcp://10.0.0.5:8786 (setting cluster).", show_default=False)] = None,
    keep_blank: Annotated[bool, P(help="Keep blank pages in the searchable PDFs.")] = False,
    pdfa: Annotated[bool, P(help="Write PDF/A-2b.")] = False,
    p12: Annotated[Optional[Path], P(help="PKCS#12 file (.p12/.pfx) of the agency.", rich_help_panel=KEYS, show_default=False)] = None,
    password_file: Annotated[Optional[Path], P(help="File whose first line is the PKCS#12 password (else $SOHOA_P12_PASSWORD, else asked).", rich_help_panel=KEYS, show_default=False)] = None,
    pkcs11_lib: Annotated[Optional[Path], P(help="The token's PKCS#11 library (.so).", rich_help_panel=KEYS, show_default=False)] = None,
    token_label: Annotated[Optional[str], P(help="Token label (may be Vietnamese).", rich_help_panel=KEYS, show_default=False)] = None,
    key_id: Annotated[Optional[str], P(help="Key CKA_ID in hex, when the token has several keys.", rich_help_panel=KEYS, show_default=False)] = None,
    cert_label: Annotated[Optional[str], P(help="Certificate label, when the token has several keys.", rich_help_panel=KEYS, show_default=False)] = None,
    pin_file: Annotated[Optional[Path], P(help="File whose first line is the PIN (else $SOHOA_PIN, else asked once).", rich_help_panel=KEYS, show_default=False)] = None,
    no_sign: Annotated[bool, P("--no-sign", help="Do not sign, even if a key is configured.", rich_help_panel=KEYS)] = False,
    level: Annotated[Optional[LevelOpt], P(help="PAdES level (default B-B, B-T with --tsa; B-LT embeds revocation data for the archive).", show_default=False)] = None,
    tsa: Annotated[Optional[str], P(help="RFC 3161 time-stamping URL (default: setting tsa).", show_default=False)] = None,
    copy_form: Annotated[str, P(help="Copy form on the stamp: SAO Y, SAO LỤC, TRÍCH SAO.")] = "SAO Y",
    agency_name: Annotated[Optional[str], P(help="Agency name on the copy stamp and in the archive (default: setting, else the certificate).", show_default=False)] = None,
    agency_code: Annotated[Optional[str], P(help="Agency code of the fonds (default: setting, else the dossier code's agency part).", show_default=False)] = None,
    trust: Annotated[Optional[list[Path]], P(help="Trust anchor (PEM/DER) for verifying; repeatable; adds to the trust folder.", show_default=False)] = None,
    offline: Annotated[bool, P("--offline", help="No OCSP/CRL requests: the certificate is not checked before signing and signatures are verified with what they embed.")] = False,
    agent: Annotated[Optional[str], P("--agent", help="Who acts, for the audit log (default: the OS user).", show_default=False)] = None,
    json: Annotated[bool, P("--json", help="Machine output on stdout.")] = False,
) -> None:
    """Scans to a verified archive in one go: OCR with metadata, sign each searchable PDF
    as the agency's digitised copy (SAO Y), verify every signature, file each dossier.

    A dossier that fails a step is reported and left out of the later steps; the others
    go on. Run it again to finish: what is done (OCR pages, signed copies, archived
    versions) is reused. Exit: 0 all archived · 1 some dossier failed · 2 usage error ·
    130 Ctrl-C.
    """
    from sohoa.archive.audit import agent_name
    from sohoa.archive.ingest import AddOptions
    from sohoa.ocr.pipeline import OcrOptions
    from sohoa.signing import trust as trust_lib

    from . import run as lib

    settings = load_settings({"archive": archive, "db": db, "store": store, "lang": lang, "jobs": jobs, "cluster": cluster, "p12": p12,
                              "pkcs11_lib": pkcs11_lib, "token_label": token_label, "tsa": tsa,
                              "agency_name": agency_name, "agency_code": agency_code})
    settings = flagged_key_wins(settings, p12, pkcs11_lib)
    try:
        anchors = trust_lib.load_anchors(list(trust or []), settings.trust_dir or user_config_dir() / "trust")
    except BadInput as exc:
        raise UsageError(str(exc)) from exc
    signing = None
    if not no_sign and (settings.p12 or settings.pkcs11_lib):
        key = key_source(settings, password_file, pin_file, key_id=key_id, cert_label=cert_label,
                         anchors=anchors)
        signing = _signing(settings, key, anchors, level, copy_form, offline)
    elif not no_sign:
        err.print("[yellow]No key:[/] the searchable PDFs are archived unsigned. Give --p12 or "
                  "--pkcs11-lib (or set p12 / pkcs11_lib in sohoa.toml) to sign them as copies.")
    if signing is not None and not anchors:
        err.print("[yellow]No trust anchor:[/] the copies' signatures will verify as INDETERMINATE "
                  "(NO_CERTIFICATE_CHAIN_FOUND). Add your root: sohoa trust add ROOT.crt, or --trust.")
    from sohoa.archive.store import Archive
    from sohoa.signing.results import Policy

    if settings.db or settings.store:
        with Archive(settings.archive, create=True, db=settings.db, db_given=db is not None,
                     store=settings.store, store_given=store is not None) as arch:
            arch.connect()  # before any OCR
    plan = lib.RunPlan(
        scans=scans, work=work, archive=settings.archive,
        ocr=OcrOptions(lang=settings.lang, jobs=settings.jobs, split_qr=split is Split.qr,
                       keep_blank=keep_blank, pdfa=pdfa, cluster=settings.cluster, job_db=settings.db),
        add=AddOptions(settings.agency_code, settings.agency_name, None, agent_name(agent),
                       tuple(c.dump() for c in anchors)),
        policy=Policy(tuple(c.dump() for c in anchors), None, offline),
        signing=signing, jobs=settings.jobs, db=settings.db, db_given=db is not None,
        store=settings.store, store_given=store is not None)
    started = time.perf_counter()
    try:
        result = _run(lib, plan)
    except KeyboardInterrupt:
        err.print("[yellow]Interrupted.[/] Nothing half-written was left behind; run the same "
                  "command again to finish.")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    finally:
        if signing is not None:
            signing.key.close()
    _summary(result, plan, time.perf_counter() - started)
    if json:
        print_json(result.to_json() | {"archive": str(plan.archive), "work": str(plan.work)})
    raise typer.Exit(ExitCode.FAILED if result.failed or result.problems else ExitCode.OK)


def _signing(settings, key, anchors, level, copy_form, offline):
    """The key opened and its certificate checked now, before hours of OCR."""
    from sohoa.signing import keys as keys_lib
    from sohoa.signing import sign as sign_lib

    from .run import Signing

    request = sign_lib.SignRequest(
        role=sign_lib.Role.copy, level=sign_lib.Level(level.value) if level else None,
        tsa_url=settings.tsa, copy_form=copy_form, agency_name=settings.agency_name,
        jobs=settings.jobs, trust=tuple(anchors), check_revocation=not offline,
        overwrite=True)  # a copy over an older searchable PDF is signed again
    if offline and request.effective_level in (sign_lib.Level.B_LT, sign_lib.Level.B_LTA):
        raise UsageError(f"--level {request.effective_level.value} embeds revocation info: it cannot be --offline")
    try:
        batch = sign_lib.prepare(request, key)
    except (sign_lib.RequestError, keys_lib.CertificateRefused) as exc:
        raise UsageError(str(exc)) from None
    if batch.error:
        raise UsageError(f"cannot sign: {batch.error}")
    who = keys_lib.describe(batch.cert)
    err.print(f"Copies will be signed by {escape(who)}, PAdES {request.effective_level.value}.")
    return Signing(request, key, batch)


def _run(lib, plan):
    from .progress import bars

    with bars() as progress:
        reporter = _Reporter(progress)
        return lib.run(plan, reporter)


class _Reporter:
    def __init__(self, progress):
        self.progress = progress
        self.task = None

    def stage(self, name: str, total: int, unit: str) -> None:
        self.task = self.progress.add_task(STAGE_NAMES[name], total=total, unit=unit)

    def advance(self) -> None:
        self.progress.advance(self.task)

    def item(self, stage: str, dossier, ok: bool, text: str) -> None:
        name = f"{dossier.name}: " if dossier is not None else ""
        if not ok:
            err.print(f"[red]✗ {stage}[/] {escape(name + text)}", soft_wrap=True)
        elif stage == "archive":
            mark = "[green]✓[/]" if dossier.status == "archived" else "[dim]=[/]"
            err.print(f"{mark} {escape(name + text)}", soft_wrap=True)


def _summary(result, plan, seconds: float) -> None:
    failed = result.failed
    warnings = sum(len(d.warnings) for d in result.dossiers)
    signatures = [i for d in result.dossiers for i in d.signatures.values()]
    passed = sum(i == "TOTAL_PASSED" for i in signatures)
    rate = result.pages / seconds * 60 if seconds else 0
    colour = "red" if failed or result.problems else "green"
    err.print(f"[{colour}]{len(result.dossiers)} dossiers: {result.count('archived')} archived, "
              f"{result.count('unchanged')} already in the archive, {len(failed)} failed[/] · "
              f"{result.documents} documents, {result.pages} pages · "
              f"{result.signed} signed now, {passed}/{len(signatures)} signatures TOTAL_PASSED · "
              f"{warnings} warnings · {seconds:.1f} s ({rate:.0f} pages/min)", soft_wrap=True)
    for d in result.dossiers:
        for warning in d.warnings:
            err.print(f"[yellow]![/] {escape(d.name)}: {escape(warning)}", soft_wrap=True)
    for problem in result.problems:
        err.print(f"[red]✗[/] {escape(problem)}", soft_wrap=True)
    for d in failed:
        err.print(f"[red]✗ {escape(d.name)}[/] ({d.failed_at}): {escape(d.message)}", soft_wrap=True)
    if failed or result.problems:
        err.print("Fix what is named above and run the same command again: what is done is kept.")
    err.print(f"Archive: {escape(str(plan.archive))} · work folder: {escape(str(plan.work))}")
