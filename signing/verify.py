"""Validate every signature of PDF files: integrity, coverage, later changes, trust, time.

pyHanko is the engine (CMS and chain validation, difference analysis); sohoa adds what
a bulk verifier of real-world files needs around it: a ByteRange layout check, a
lenient reader for hybrid-reference files, a raw fallback for files pyHanko cannot
parse, past validation at a timestamp's time (PAdES B-LT/B-LTA archives), and a verdict
per signature in ETSI EN 319 102-1 terms (`verdicts.py`). Nothing here raises for a bad
file: every problem becomes a verdict or a one-line error.

This module is the public API and the walk through one file; the parts are:

    results.py     Policy, SignatureVerdict, FileVerdict; verdicts from Findings
    lenient.py     opening hybrid-reference, quirky and encrypted files
    byterange.py   ByteRange layout check; raw fallback for unparsable files
    revinfo.py     trust roots, DSS and archived CRL/OCSP, the ValidationContext,
                   per-process caches of parsed certificates/CRLs/OCSP by DER
    validation.py  one signature or document timestamp, with pyHanko
    speedups.py    process-wide replacements of three pyHanko/asn1crypto hot spots
"""
from __future__ import annotations

import asyncio
import gc
import os
import signal
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from . import speedups
from . import verdicts as V
from .byterange import byterange_problem, raw_signatures
from .lenient import Unreadable, decrypt, open_pdf
from .results import (VN_TIME, FileVerdict, Policy, SignatureVerdict, certificate_info,
                      error_verdict, link_coverage, note, one_line, structure_verdict)
from .revinfo import embedded_revinfo, trust_manager
from .validation import (check_document_timestamp, check_signature, diff_policy, embedded,
                         failed_structure, is_doc_ts, signature_fields)
from .verdicts import Findings

speedups.install()

__all__ = ["Policy", "SignatureVerdict", "FileVerdict", "VN_TIME", "verify_file", "verify_paths",
           "collect_pdfs", "preload", "certificate_info", "byterange_problem", "raw_signatures",
           "note", "one_line"]


# --------------------------------------------------------------------- public API

def verify_file(path: Path | str, policy: Policy = Policy()) -> FileVerdict:
    """Verdict for one file; never raises for anything wrong with the file."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return error_verdict(name, f"cannot read: {exc.strerror or exc}")
    if b"%PDF-" not in data[:1024]:
        return error_verdict(name, "not a PDF file")
    try:
        signatures = asyncio.run(_verify_bytes(data, policy))
    except Unreadable as exc:
        return error_verdict(name, str(exc))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a bug or a hostile file: one line, never a traceback
        return error_verdict(name, f"{exc.__class__.__name__}: {one_line(exc)}")
    if not signatures:
        return FileVerdict(name, V.NO_SIGNATURE, [])
    link_coverage(signatures)
    return FileVerdict(name, V.worst(s.indication for s in signatures), signatures)


def collect_pdfs(paths: Iterable[Path | str]) -> list[Path]:
    """Files as given, folders searched recursively for *.pdf (sorted, no duplicates)."""
    found: dict[Path, None] = {}
    for p in map(Path, paths):
        if p.is_dir():
            for sub in sorted(p.rglob("*")):
                if sub.suffix.lower() == ".pdf" and sub.is_file():
                    found.setdefault(sub)
        else:
            found.setdefault(p)
    return list(found)


def verify_paths(paths: Iterable[Path | str], policy: Policy = Policy(), jobs: int = 0,
                 on_file: Callable[[FileVerdict], None] | None = None) -> list[FileVerdict]:
    """Verify many files, `jobs` worker processes (0: one per core); results in input
    order. `on_file` is called in the calling process as each file is done."""
    files = [str(p) for p in paths]
    jobs = min(jobs or os.cpu_count() or 1, len(files))
    results: dict[str, FileVerdict] = {}
    if jobs <= 1:
        for name in files:
            results[name] = verify_file(name, policy)
            if on_file:
                on_file(results[name])
        return [results[n] for n in files]
    import multiprocessing

    preload(policy)  # forked workers inherit imported modules, speed-ups and parsed trust roots
    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    pool = ctx.Pool(jobs, initializer=_init_worker, initargs=(policy,))
    try:
        # small chunks: files take 10–50 ms each, and a worker left with a long last
        # chunk while the other is idle costs more than the extra messages
        for verdict in pool.imap_unordered(_verify_task, files, 2):
            results[verdict.file] = verdict
            if on_file:
                on_file(verdict)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    return [results[n] for n in files]


def preload(policy: Policy) -> None:
    """Import pyHanko's validation stack and parse the trust roots now (≈0.5 s once)."""
    import pyhanko.pdf_utils.filters  # noqa: F401
    import pyhanko.pdf_utils.reader  # noqa: F401
    import pyhanko.sign.validation  # noqa: F401
    import pyhanko.sign.validation.dss  # noqa: F401

    trust_manager(policy)
    diff_policy()


_WORKER_POLICY = Policy()


def _init_worker(policy: Policy) -> None:
    global _WORKER_POLICY
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _WORKER_POLICY = policy  # once per worker, not pickled with every file
    # A worker only parses files: its collector need not rescan what it inherited, nor
    # run every 700 allocations (≈6% of the pool's CPU on the benchmark).
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _verify_task(name: str) -> FileVerdict:
    return verify_file(name, _WORKER_POLICY)


# -------------------------------------------------------------------- one file

async def _verify_bytes(data: bytes, policy: Policy) -> list[SignatureVerdict]:
    """Every signature of the file: document timestamps first (oldest first), as they
    may be the proof of existence that earlier signatures need."""
    notes: list[str] = []
    try:
        reader = open_pdf(data, notes)
        decrypt(reader)
        fields = signature_fields(reader)
    except Unreadable:
        raise
    except Exception as exc:  # noqa: BLE001 - pyHanko cannot parse the file at all
        raw = raw_signatures(data, policy)
        if raw:
            return raw
        raise Unreadable(f"not a readable PDF: {one_line(exc)}") from exc
    if not fields:
        return []
    known = embedded_revinfo(reader, notes)
    embedded_sigs, results = [], []
    for fq_name, sig_field in fields:
        emb, problem = embedded(reader, sig_field, fq_name)
        if emb is None:
            results.append(structure_verdict(fq_name, problem, notes))
        else:
            embedded_sigs.append(emb)
    embedded_sigs.sort(key=lambda e: e.signed_revision)
    doc_ts = [e for e in embedded_sigs if is_doc_ts(e)]
    poes: list[tuple[int, datetime]] = []
    for emb in doc_ts:
        try:
            verdict, poe = await check_document_timestamp(emb, data, policy, known, notes)
        except Exception as exc:  # noqa: BLE001 - one bad signature never hides the others
            verdict, poe = failed_structure(emb, Findings(notes=list(notes)), exc), None
        results.append(verdict)
        if poe:
            poes.append((emb.signed_revision, poe))
    for emb in embedded_sigs:
        if not is_doc_ts(emb):
            later = min((t for rev, t in poes if rev > emb.signed_revision), default=None)
            try:
                results.append(await check_signature(emb, data, policy, known, notes, later))
            except Exception as exc:  # noqa: BLE001
                results.append(failed_structure(emb, Findings(notes=list(notes)), exc))
    results.sort(key=lambda v: v.revision)
    return results
