"""From what was found about one signature to an ETSI EN 319 102-1 verdict.

`validation.py` gathers `Findings` (pyHanko's status objects plus sohoa's own checks);
`judge()` turns them into an indication, a sub-indication (the names EU DSS reports)
and a plain-language reason in Vietnamese and English. Precedence, worst first:
unreadable structure, changed bytes, bad signature value, bad ByteRange/coverage,
forbidden later changes, revocation before the signature existed (all TOTAL_FAILED);
then the reasons trust could not be established, then timestamp problems
(INDETERMINATE); otherwise TOTAL_PASSED.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

PASSED, FAILED, INDETERMINATE = "TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"
NO_SIGNATURE, ERROR = "NO_SIGNATURE", "ERROR"
# file-level order, best first; a file's indication is the worst of its signatures
SEVERITY = {PASSED: 0, INDETERMINATE: 1, NO_SIGNATURE: 2, FAILED: 3, ERROR: 4}

# ModificationLevel names of pyHanko's difference analysis that keep a signature valid
ALLOWED_MODIFICATIONS = {"NONE", "LTA_UPDATES", "FORM_FILLING"}
GOOD_COVERAGE = {"ENTIRE_FILE", "ENTIRE_REVISION"}
# trust problems that past validation at an earlier proof of existence may resolve
TIME_RELATED = {"OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED", "REVOKED_NO_POE",
                "TRY_LATER", "CRYPTO_CONSTRAINTS_FAILURE_NO_POE", "EXPIRED"}

# sub-indication (or verdict key) → (Vietnamese, English)
REASONS: dict[str, tuple[str, str]] = {
    PASSED: ("Chữ ký hợp lệ: tài liệu không bị sửa đổi sau khi ký, chứng thư số được tin cậy.",
             "Valid: the document is unchanged since signing and the certificate is trusted."),
    NO_SIGNATURE: ("Tệp không có chữ ký số.", "The file has no digital signature."),
    ERROR: ("Không đọc được tệp.", "The file cannot be read."),
    "HASH_FAILURE": ("Nội dung đã ký bị thay đổi (giá trị băm không khớp).",
                     "The signed bytes were changed (digest mismatch)."),
    "SIG_CRYPTO_FAILURE": ("Giá trị chữ ký không khớp với chứng thư số của người ký.",
                           "The signature value does not verify with the signer's certificate."),
    "FORMAT_FAILURE": ("Cấu trúc chữ ký không hợp lệ.", "The signature's structure is invalid."),
    "cms": ("Không giải mã được dữ liệu chữ ký (CMS).", "The signature data (CMS) cannot be decoded."),
    "byterange": ("Vùng ký (ByteRange) không khớp với tệp: tệp đã bị ghi lại hoặc bị tấn công.",
                  "The signed byte range does not match the file: it was rewritten or attacked."),
    "coverage": ("Chữ ký không bao trùm đúng tài liệu: có dữ liệu nằm ngoài vùng ký.",
                 "The signature does not properly cover the document: data lies outside it."),
    "modified": ("Tài liệu bị sửa đổi sau khi ký theo cách không được phép (thêm/bớt trang, "
                 "thay nội dung, chèn lớp phủ).",
                 "The document was changed after signing in a way that is not allowed (pages "
                 "added or removed, content replaced, overlays)."),
    "unanalysable": ("Không phân tích được các thay đổi sau khi ký (tệp hỏng hoặc bị can thiệp).",
                     "The changes made after signing cannot be analysed (damaged or hostile file)."),
    "docmdp": ("Tài liệu bị sửa đổi vượt quá quyền mà chữ ký chứng thực cho phép.",
               "The document was changed beyond what the certifying signature permits."),
    "unparsable": ("Cấu trúc PDF bị hỏng: không thể đối chiếu nội dung với phần đã ký.",
                   "The PDF structure is damaged: its content cannot be checked against what was signed."),
    "REVOKED": ("Chứng thư số của người ký đã bị thu hồi trước khi ký.",
                "The signer's certificate was revoked before the signature was made."),
    "NOT_YET_VALID": ("Chứng thư số chưa có hiệu lực khi ký.",
                      "The certificate was not yet valid when the signature was made."),
    "NO_CERTIFICATE_CHAIN_FOUND": (
        "Không tìm được chuỗi chứng thư đến chứng thư gốc tin cậy (thêm bằng `sohoa trust add`).",
        "No certificate chain to a trusted root (add one with `sohoa trust add`)."),
    "OUT_OF_BOUNDS_NO_POE": (
        "Chứng thư số hết hạn hoặc chưa có hiệu lực tại thời điểm kiểm tra, không có dấu thời gian "
        "chứng minh chữ ký có trước đó.",
        "The certificate is expired or not yet valid at validation time and no timestamp proves "
        "the signature existed before."),
    "OUT_OF_BOUNDS_NOT_REVOKED": (
        "Chứng thư số hết hạn tại thời điểm kiểm tra, không có bằng chứng thời gian ký.",
        "The certificate is expired at validation time; no proof of when it was signed."),
    "REVOKED_NO_POE": (
        "Chứng thư số đã bị thu hồi; không có dấu thời gian chứng minh chữ ký có trước khi thu hồi.",
        "The certificate was revoked; no timestamp proves the signature existed before that."),
    "REVOKED_CA_NO_POE": ("Chứng thư của tổ chức cấp (CA) đã bị thu hồi.",
                          "A CA certificate in the chain was revoked."),
    "TRY_LATER": ("Chưa xác định được tình trạng thu hồi; hãy kiểm tra lại khi có mạng.",
                  "The revocation status could not be established; check again online."),
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": (
        "Thông tin thu hồi không còn hiệu lực tại thời điểm cần kiểm tra.",
        "The revocation information does not cover the time that matters."),
    "CRYPTO_CONSTRAINTS_FAILURE": (
        "Thuật toán hoặc độ dài khóa quá yếu (ví dụ SHA-1, RSA dưới 2048 bit).",
        "The algorithm or key size is too weak (e.g. SHA-1, RSA below 2048 bits)."),
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": (
        "Thuật toán đã bị coi là yếu và không có dấu thời gian chứng minh chữ ký có trước đó.",
        "The algorithm is now considered weak and no timestamp proves the signature is older."),
    "CHAIN_CONSTRAINTS_FAILURE": (
        "Chứng thư số không được phép dùng để ký (mục đích sử dụng khóa hoặc ràng buộc chuỗi).",
        "The certificate may not be used for signing (key usage or chain constraints)."),
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": ("Chuỗi chứng thư không hợp lệ.",
                                          "The certificate chain is not valid."),
    "NO_SIGNING_CERTIFICATE_FOUND": ("Không tìm thấy chứng thư số của người ký trong chữ ký.",
                                     "The signer's certificate is not in the signature."),
    "SIG_CONSTRAINTS_FAILURE": ("Chữ ký không đáp ứng các ràng buộc của chính sách kiểm tra.",
                                "The signature does not meet the validation constraints."),
    "NO_POE": ("Dấu thời gian của chữ ký không dùng được (hỏng hoặc không tin cậy).",
               "The signature's timestamp is unusable (damaged or not trusted)."),
    "GENERIC": ("Không xác định được tính hợp lệ của chữ ký.",
                "The signature's validity could not be determined."),
}


@dataclass
class Findings:
    """What validation.py learnt about one signature (None: not known / not applicable)."""

    structure_error: str | None = None  # CMS undecodable, unsupported SubFilter, …
    structure_key: str = "cms"
    intact: bool | None = None  # ByteRange digest matches the signed digest
    valid: bool | None = None  # signature value verifies
    layout_problem: str | None = None  # sohoa's ByteRange layout check
    coverage: str | None = None  # pyHanko SignatureCoverageLevel name
    modifications: str | None = None  # pyHanko ModificationLevel name
    modification_problem: str | None = None  # why later changes are not allowed
    modification_key: str = "modified"
    trust_indic: str | None = None  # AdES sub-indication from chain validation
    revocation_date: datetime | None = None
    signing_time: datetime | None = None  # claimed by the signer
    poe_time: datetime | None = None  # trusted proof of existence (timestamp)
    timestamp_problem: str | None = None  # sub-indication for an unusable timestamp
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    indication: str
    sub_indication: str | None
    reason_vi: str
    reason_en: str


def verdict(indication: str, sub: str | None, key: str | None = None) -> Verdict:
    vi, en = REASONS.get(key or sub or indication, REASONS["GENERIC"])
    return Verdict(indication, sub, vi, en)


def judge(f: Findings) -> Verdict:
    if f.structure_error:
        return verdict(FAILED, "FORMAT_FAILURE", f.structure_key)
    if f.intact is False:
        return verdict(FAILED, "HASH_FAILURE")
    if f.valid is False:
        return verdict(FAILED, "SIG_CRYPTO_FAILURE")
    if f.layout_problem:
        return verdict(FAILED, "FORMAT_FAILURE", "byterange")
    if f.coverage not in GOOD_COVERAGE:
        return verdict(FAILED, "FORMAT_FAILURE", "coverage")
    if f.modification_problem or f.modifications not in ALLOWED_MODIFICATIONS:
        return verdict(FAILED, "FORMAT_FAILURE", f.modification_key)
    if f.trust_indic in ("REVOKED_NO_POE", "REVOKED") and revoked_before_signing(f):
        return verdict(FAILED, "REVOKED")
    if f.trust_indic == "NOT_YET_VALID":
        return verdict(FAILED, "NOT_YET_VALID")
    if f.trust_indic:
        return verdict(INDETERMINATE, f.trust_indic)
    if f.timestamp_problem:
        return verdict(INDETERMINATE, f.timestamp_problem, "NO_POE")
    return verdict(PASSED, None)


def revoked_before_signing(f: Findings) -> bool:
    """ETSI: TOTAL_FAILED/REVOKED when the signer's own claimed signing time is after
    the revocation; otherwise (no proof either way) INDETERMINATE/REVOKED_NO_POE.
    A timestamp before the revocation is handled earlier, by past validation."""
    if f.revocation_date is None or f.signing_time is None:
        return False
    return f.signing_time >= f.revocation_date


def worst(indications) -> str:
    return max(indications, key=SEVERITY.__getitem__, default=NO_SIGNATURE)


# ------------------------------------------------ what pyHanko's status does not say
# pyHanko folds several certvalidator errors into CERTIFICATE_CHAIN_GENERAL_FAILURE and
# logs the exception; we keep those exceptions (per certificate subject) to tell apart
# "no revocation data" (TRY_LATER) and "not yet valid" from other chain failures.

CERT_ERRORS: dict[str, BaseException] = {}


class _CertErrorHandler:
    level = 0

    def handle(self, record) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        message = record.getMessage()
        if exc is not None and "[cert context: " in message:
            subject = message.split("[cert context: ", 1)[1].rsplit("]:", 1)[0]
            CERT_ERRORS.setdefault(subject, exc)
        return True


def capture_certvalidator_errors() -> None:
    import logging

    log = logging.getLogger("pyhanko.sign.validation.generic_cms")
    log.setLevel(logging.WARNING)
    log.propagate = False
    if not any(isinstance(h, _CertErrorHandler) for h in log.handlers):
        handler = logging.Handler()
        handler.handle = _CertErrorHandler().handle  # type: ignore[method-assign]
        log.addHandler(handler)


def trust_problem(indic, cert, moment: datetime) -> tuple[str | None, str | None]:
    """(sub-indication, note) for a status' trust_problem_indic and certificate at
    `moment`. A certificate outside its validity period is reported as such
    (OUT_OF_BOUNDS_NO_POE) even when revocation data is missing as well."""
    if indic is None:
        return None, None
    name = getattr(indic, "name", str(indic))
    if cert is not None and name in ("TRY_LATER", "CERTIFICATE_CHAIN_GENERAL_FAILURE"):
        if not cert.not_valid_before <= moment <= cert.not_valid_after:
            return "OUT_OF_BOUNDS_NO_POE", None
    exc = CERT_ERRORS.get(cert.subject.human_friendly) if cert is not None else None
    if exc is None:
        return name, None
    kind = {c.__name__ for c in type(exc).__mro__}
    if name == "CERTIFICATE_CHAIN_GENERAL_FAILURE":
        if "InsufficientRevinfoError" in kind:
            name = "TRY_LATER"
        elif "NotYetValidError" in kind:
            name = "OUT_OF_BOUNDS_NO_POE"
    text = " ".join(str(getattr(exc, "failure_msg", None) or exc).split())[:200]
    return name, text or None
