"""One embedded signature or document timestamp, validated with pyHanko.

For each: sohoa's ByteRange layout check and pyHanko's coverage and difference analysis
of every later incremental update (`integrity`), then pyHanko's CMS and chain
validation at the current time (or `--at`) with the file's own revocation data, then,
when only time stands in the way (expired, revoked later, stale revocation data), past
validation as of a proof of existence: the signature's own timestamp if it is trusted,
or a later document timestamp (PAdES B-LT/B-LTA archives). What is found goes into
`Findings`; `verdicts.judge` makes the ETSI verdict of it.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from . import verdicts as V
from .byterange import byterange_problem
from .results import SignatureVerdict, iso, note, one_line, signature_verdict
from .revinfo import any_stale, archived_revinfo, context
from .verdicts import Findings

logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
V.capture_certvalidator_errors()


def signature_fields(reader) -> list[tuple[str, object]]:
    from pyhanko.sign.fields import enumerate_sig_fields

    return [(name, fld) for name, _value, fld in enumerate_sig_fields(reader, filled_status=True)]


def embedded(reader, sig_field, fq_name):
    """(pyHanko's EmbeddedPdfSignature, None) or (None, why it cannot be decoded)."""
    from pyhanko.sign.validation import EmbeddedPdfSignature

    try:
        emb = EmbeddedPdfSignature(reader, sig_field, fq_name)
        emb.signer_cert  # noqa: B018 - fail here if the signer's certificate is missing
        return emb, None
    except Exception as exc:  # noqa: BLE001 - undecodable CMS, missing /ByteRange, …
        return None, one_line(exc)


def is_doc_ts(emb) -> bool:
    return emb.sig_object_type == "/DocTimeStamp"


def diff_policy():
    """pyHanko's default policy, plus /I (selected options of a list box) as a value
    that form filling may change, as ISO 32000 and EU DSS allow."""
    global _DIFF_POLICY
    if _DIFF_POLICY is None:
        from pyhanko.sign.diff_analysis import (DEFAULT_DIFF_POLICY, FormUpdatingRule,
                                                GenericFieldModificationRule,
                                                SigFieldCreationRule, SigFieldModificationRule,
                                                StandardDiffPolicy)
        from pyhanko.sign.diff_analysis.constants import VALUE_UPDATE_KEYS

        _DIFF_POLICY = StandardDiffPolicy(
            global_rules=DEFAULT_DIFF_POLICY.global_rules,
            form_rule=FormUpdatingRule(field_rules=[
                SigFieldCreationRule(), SigFieldModificationRule(),
                GenericFieldModificationRule(value_update_keys=VALUE_UPDATE_KEYS | {"/I"})]))
    return _DIFF_POLICY


_DIFF_POLICY = None


async def _validate(emb, vc, *, timestamp: bool):
    from pyhanko.sign.validation import (KeyUsageConstraints, async_validate_pdf_signature,
                                         async_validate_pdf_timestamp)

    V.CERT_ERRORS.clear()
    try:
        if timestamp:
            return await async_validate_pdf_timestamp(emb, vc, skip_diff=True)
        usage = KeyUsageConstraints(key_usage={"non_repudiation", "digital_signature"})
        return await async_validate_pdf_signature(emb, vc, vc, skip_diff=True, key_usage_settings=usage)
    finally:
        await vc.aclose()


def _integrity(emb, data: bytes, f: Findings) -> None:
    """ByteRange layout, coverage and the analysis of every later incremental update."""
    from pyhanko.sign.diff_analysis import DiffResult

    f.layout_problem = byterange_problem(data, emb.byte_range, emb.pkcs7_content)
    try:
        emb.compute_integrity_info(diff_policy=diff_policy())
    except Exception as exc:  # noqa: BLE001 - hostile or damaged later revision
        f.modification_problem, f.modification_key = one_line(exc), "unanalysable"
        emb.diff_result = None
    diff = emb.diff_result
    if isinstance(diff, DiffResult):
        f.modifications = diff.modification_level.name
        mdp = emb.docmdp_level
        if mdp is not None and diff.modification_level.value > mdp.value:
            f.modification_problem, f.modification_key = f"DocMDP permits level {mdp.name} only", "docmdp"
    elif diff is not None:
        f.modifications, f.modification_problem = "OTHER", one_line(diff)


def _read_trust(status, f: Findings, moment: datetime) -> None:
    f.trust_indic, why = V.trust_problem(status.trust_problem_indic, status.signing_cert, moment)
    if why:
        f.notes.append(why)
    details = getattr(status, "revocation_details", None)
    f.revocation_date = details.revocation_date if details else None


def _read_timestamp(tst, f: Findings) -> datetime | None:
    """Use the signature timestamp as proof of existence if it can be trusted; return
    its time when it is at least intact (a candidate for past validation)."""
    f.poe_time = f.timestamp_problem = None
    if tst is None:
        return None
    if tst.intact and tst.valid and tst.trusted:
        f.poe_time = tst.timestamp
        return tst.timestamp
    if not (tst.intact and tst.valid):
        f.timestamp_problem = "NO_POE"
        return None
    f.timestamp_problem, _ = V.trust_problem(tst.trust_problem_indic, tst.signing_cert,
                                             tst.validation_time or tst.timestamp)
    f.timestamp_problem = f.timestamp_problem or "NO_POE"
    return tst.timestamp


async def check_signature(emb, data, policy, known, notes, later_poe) -> SignatureVerdict:
    f = Findings(notes=list(notes))
    _integrity(emb, data, f)
    crls, ocsps = archived_revinfo(emb)
    shortcut = await _stale_offline_shortcut(emb, policy, known, crls, ocsps, later_poe, f)
    if shortcut is not None:
        return shortcut
    vc = context(policy, known, crls, ocsps)
    try:
        status = await _validate(emb, vc, timestamp=False)
    except Exception as exc:  # noqa: BLE001 - SignatureValidationError, broken CMS, …
        return failed_structure(emb, f, exc)
    tst_time = _read_status(status, vc, f)
    if f.intact and f.valid and (f.trust_indic in V.TIME_RELATED or f.timestamp_problem in V.TIME_RELATED):
        poe = min((t for t in (tst_time, later_poe) if t), default=None)
        if poe:
            await _past_validation(emb, policy, known, crls, ocsps, poe, tst_time, later_poe, f)
    return _finish(emb, f, status)


def _read_status(status, vc, f: Findings) -> datetime | None:
    f.intact, f.valid = status.intact, status.valid
    f.coverage = status.coverage.name if status.coverage else None
    f.signing_time = status.signer_reported_dt
    _read_trust(status, f, vc.moment)
    _revocation_notes(vc, f)
    return _read_timestamp(status.timestamp_validity, f)


def _finish(emb, f: Findings, status) -> SignatureVerdict:
    if f.timestamp_problem:
        f.notes.append(note("Dấu thời gian của chữ ký không dùng được",
                            f"the signature timestamp is unusable ({f.timestamp_problem})"))
    tst = status.timestamp_validity
    return signature_verdict(emb, f, status.signing_cert, "signature",
                             timestamp=tst.timestamp if tst is not None else None)


async def _stale_offline_shortcut(emb, policy, known, crls, ocsps, later_poe, f):
    """Offline, with embedded CRLs/OCSP responses already past their nextUpdate, validation
    at the current time ends in TRY_LATER: go straight to past validation (the usual case
    of an archived B-LT/B-LTA file, and half the work). Its success is the ETSI verdict
    either way (a proof of existence before expiry or revocation passes). None: take the
    long way, current time first."""
    claimed = _claimed_tst_time(emb)
    poe = min((t for t in (claimed, later_poe) if t), default=None)
    now = datetime.now(timezone.utc)
    if not (policy.offline and policy.at is None and poe and any_stale([*known.crls, *crls],
                                                                     [*known.ocsps, *ocsps], now)):
        return None
    vc = context(policy, known, crls, ocsps, moment=poe, retroactive=True)
    try:
        status = await _validate(emb, vc, timestamp=False)
    except Exception:  # noqa: BLE001
        return None
    tst = status.timestamp_validity
    tst_ok = tst is not None and tst.intact and tst.valid and tst.trusted
    if not (status.intact and status.valid and status.trusted and (tst_ok or poe == later_poe)):
        return None
    past = Findings(notes=list(f.notes), layout_problem=f.layout_problem, modifications=f.modifications,
                    modification_problem=f.modification_problem, modification_key=f.modification_key)
    _read_status(status, vc, past)
    past.notes.append(note(f"Dữ liệu thu hồi trong tệp đã cũ; hợp lệ tại thời điểm có bằng chứng tồn tại {iso(poe)}",
                           f"the embedded revocation data is out of date now; valid as of its proof of existence {iso(poe)}"))
    return _finish(emb, past, status)


def _claimed_tst_time(emb) -> datetime | None:
    """genTime of the signature timestamp, unverified (validation checks it later)."""
    try:
        for attr in emb.signer_info["unsigned_attrs"] or []:
            if attr["type"].native == "signature_time_stamp_token":
                info = attr["values"][0]["content"]["encap_content_info"]["content"].parsed
                return info["gen_time"].native
    except (ValueError, KeyError, TypeError):
        pass
    return None


async def _past_validation(emb, policy, known, crls, ocsps, poe, tst_time, later_poe, f) -> None:
    """Past signature validation (ETSI EN 319 102-1 5.6.2.4, simplified): validate again
    as of the proof of existence, with the revocation data embedded after it (B-LT,
    B-LTA). A signature timestamp only counts if it is itself trusted at its time."""
    vc = context(policy, known, crls, ocsps, moment=poe, retroactive=True)
    try:
        past = await _validate(emb, vc, timestamp=False)
    except Exception:  # noqa: BLE001
        return
    tst = past.timestamp_validity
    tst_ok = tst is not None and tst.intact and tst.valid and tst.trusted
    if poe != later_poe and not tst_ok:
        return
    now_problem = f.trust_indic or f.timestamp_problem
    if tst_ok:
        f.poe_time, f.timestamp_problem = tst.timestamp, None
    if past.trust_problem_indic is None and past.validation_path is not None:
        f.trust_indic, f.revocation_date = None, None
        f.notes.append(note(f"Hợp lệ tại thời điểm có bằng chứng tồn tại {iso(poe)} (hiện nay: {now_problem})",
                            f"valid as of its proof of existence {iso(poe)} (now: {now_problem})"))


async def check_document_timestamp(emb, data, policy, known, notes):
    f = Findings(notes=list(notes))
    _integrity(emb, data, f)
    vc = context(policy, known)
    try:
        status = await _validate(emb, vc, timestamp=True)
    except Exception as exc:  # noqa: BLE001
        return failed_structure(emb, f, exc), None
    f.intact, f.valid = status.intact, status.valid
    f.coverage = status.coverage.name if status.coverage else None
    _read_trust(status, f, vc.moment)
    _revocation_notes(vc, f)
    if f.intact and f.valid and f.trust_indic in V.TIME_RELATED:
        vc = context(policy, known, moment=status.timestamp, retroactive=True)
        try:
            past = await _validate(emb, vc, timestamp=True)
            if past.trusted:
                f.notes.append(note(f"Hợp lệ tại thời điểm của dấu thời gian (hiện nay: {f.trust_indic})",
                                    f"valid as of its own time (now: {f.trust_indic})"))
                f.trust_indic = None
        except Exception:  # noqa: BLE001
            pass
    verdict = signature_verdict(emb, f, status.signing_cert, "document_timestamp",
                                timestamp=status.timestamp)
    usable = verdict.indication == V.PASSED
    return verdict, (status.timestamp if usable else None)


def _revocation_notes(vc, f: Findings) -> None:
    """Under --at, missing revocation data does not fail the check: say so."""
    if vc.soft_fail_exceptions:
        why = one_line(vc.soft_fail_exceptions[0])
        f.notes.append(note("Chưa kiểm tra được tình trạng thu hồi", f"revocation not checked: {why}"))
    elif vc.revinfo_policy.revocation_checking_policy.ee_certificate_rule.tolerant \
            and not (vc.crls or vc.ocsps):
        f.notes.append(note("Không có dữ liệu thu hồi (CRL/OCSP) để kiểm tra",
                            "no revocation data (CRL/OCSP) was available to check"))


def _name(indic) -> str | None:
    return None if indic is None else getattr(indic, "name", str(indic))


def failed_structure(emb, f: Findings, exc: Exception) -> SignatureVerdict:
    sub = _name(getattr(exc, "ades_subindication", None))
    f.structure_error, f.structure_key = one_line(exc), "FORMAT_FAILURE"
    f.notes.append(one_line(exc))
    verdict = signature_verdict(emb, f, _signer_cert(emb),
                                "document_timestamp" if is_doc_ts(emb) else "signature")
    if sub and sub != "FORMAT_FAILURE" and sub in V.REASONS:
        verdict.indication = V.INDETERMINATE if sub not in ("HASH_FAILURE", "SIG_CRYPTO_FAILURE") else V.FAILED
        verdict.sub_indication = sub
        verdict.reason_vi, verdict.reason_en = V.REASONS[sub]
    return verdict


def _signer_cert(emb):
    try:
        return emb.signer_cert
    except Exception:  # noqa: BLE001
        return None
