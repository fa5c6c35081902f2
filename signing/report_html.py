"""A printable HTML report of `sohoa verify`, in Vietnamese and English.

One self-contained file (inline CSS, no script, no external asset) an archivist can
print or attach to a dossier: the validation policy and trust anchors, a summary, then
per file its SHA-256, verdict and every signature with its certificate and reasons.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from .trust import fingerprint, official_root
from .results import VN_TIME, FileVerdict, Policy, SignatureVerdict

LABELS = {
    "TOTAL_PASSED": ("Hợp lệ", "Passed", "ok"),
    "TOTAL_FAILED": ("Không hợp lệ", "Failed", "bad"),
    "INDETERMINATE": ("Chưa xác định", "Indeterminate", "warn"),
    "NO_SIGNATURE": ("Không có chữ ký", "No signature", "bad"),
    "ERROR": ("Lỗi đọc tệp", "Unreadable", "bad"),
}

CSS = """
body{font-family:"Times New Roman","Liberation Serif","TeX Gyre Termes",serif;font-size:11pt;
margin:1.5cm;color:#111}
h1{font-size:16pt;text-align:center;margin:0 0 .2em} .en{color:#555;font-style:italic}
h2{font-size:12.5pt;border-bottom:1px solid #999;margin-top:1.4em;word-break:break-all}
table{border-collapse:collapse;width:100%;margin:.4em 0} td,th{border:1px solid #bbb;
padding:3px 6px;vertical-align:top;text-align:left} th{background:#f2f2f2;width:28%}
.badge{display:inline-block;padding:1px 8px;border-radius:3px;font-weight:bold}
.ok{background:#dff3e0;color:#14591b}.bad{background:#fbe0e0;color:#8b1010}
.warn{background:#fff2cc;color:#6b5200} .mono{font-family:monospace;font-size:9pt;word-break:break-all}
.file{page-break-inside:avoid} ul{margin:.2em 0 .2em 1.2em;padding:0}
@media print{body{margin:1cm} .file{page-break-inside:auto}}
"""


def write_report(path: Path, results: list[FileVerdict], policy: Policy, anchors) -> None:
    from sohoa.cli.fsio import write_text

    write_text(path, render(results, policy, anchors))


def render(results: list[FileVerdict], policy: Policy, anchors) -> str:
    now = datetime.now(timezone.utc).astimezone(VN_TIME)
    out = ["<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'>",
           "<title>Biên bản kiểm tra chữ ký số — Signature verification report</title>",
           f"<style>{CSS}</style></head><body>",
           "<h1>BIÊN BẢN KIỂM TRA CHỮ KÝ SỐ</h1>",
           "<p style='text-align:center' class='en'>Digital signature verification report</p>",
           _policy(policy, anchors, now), _summary(results)]
    out += [_file(r) for r in results]
    out.append("<p class='en' style='margin-top:2em'>Tạo bởi / produced by sohoa verify "
               "(ETSI EN 319 102-1 indications). Bản in của tài liệu điện tử không có giá trị "
               "pháp lý; biên bản này ghi lại kết quả kiểm tra. / A printout of an electronic "
               "document has no legal value; this report records the verification.</p>")
    out.append("</body></html>")
    return "\n".join(out)


def _row(vi: str, en: str, value: str) -> str:
    return f"<tr><th>{vi}<br><span class='en'>{en}</span></th><td>{value}</td></tr>"


def _policy(policy: Policy, anchors, now: datetime) -> str:
    at = policy.at.astimezone(VN_TIME).isoformat() if policy.at else "hiện tại / now"
    items = []
    for cert in anchors:
        official = official_root(cert)
        mark = f" — <b>chứng thư gốc chính thức / official root: {escape(official.name)}</b>" if official else ""
        items.append(f"<li>{escape(cert.subject.human_friendly)}{mark}<br>"
                     f"<span class='mono'>SHA-256 {fingerprint(cert)}</span></li>")
    anchors_html = f"<ul>{''.join(items)}</ul>" if items else "<b>không có / none</b>"
    return ("<table>" + _row("Thời điểm lập biên bản", "Report time", now.isoformat(timespec="seconds"))
            + _row("Thời điểm kiểm tra", "Validation time", escape(at))
            + _row("Tra cứu thu hồi trực tuyến", "Online revocation checks",
                   "không (chỉ dữ liệu trong tệp) / no (embedded data only)" if policy.offline
                   else "có / yes")
            + _row("Chứng thư gốc tin cậy", "Trust anchors", anchors_html) + "</table>")


def _summary(results: list[FileVerdict]) -> str:
    counts = Counter(r.indication for r in results)
    cells = "".join(f"<tr><td><span class='badge {cls}'>{vi}</span> <span class='en'>{en}</span></td>"
                    f"<td>{counts[key]}</td></tr>"
                    for key, (vi, en, cls) in LABELS.items() if counts[key])
    return (f"<h2>Tổng hợp <span class='en'>Summary</span>: {len(results)} tệp / files</h2>"
            f"<table>{cells}</table>")


def _badge(indication: str, sub: str | None) -> str:
    vi, en, cls = LABELS.get(indication, (indication, indication, "bad"))
    tail = f" / {escape(sub)}" if sub else ""
    return f"<span class='badge {cls}'>{vi} — {en}</span> <span class='mono'>{indication}{tail}</span>"


def _digest(name: str) -> str:
    try:
        return hashlib.sha256(Path(name).read_bytes()).hexdigest()
    except OSError:
        return "—"


def _file(r: FileVerdict) -> str:
    vi, en = r.reason
    head = (f"<div class='file'><h2>{escape(r.file)}</h2><table>"
            + _row("Kết luận", "Verdict", _badge(r.indication, None))
            + _row("Lý do", "Reason", f"{escape(vi)}<br><span class='en'>{escape(en)}</span>")
            + _row("Mã băm tệp", "File SHA-256", f"<span class='mono'>{_digest(r.file)}</span>"))
    if r.error:
        head += _row("Lỗi", "Error", escape(r.error))
    head += "</table>"
    return head + "".join(_signature(s, n) for n, s in enumerate(r.signatures, 1)) + "</div>"


def _time(dt: datetime | None) -> str:
    return escape(dt.astimezone(VN_TIME).isoformat()) if dt else "—"


def _signature(s: SignatureVerdict, number: int) -> str:
    kind = ("Chữ ký", "Signature") if s.kind == "signature" else ("Dấu thời gian tài liệu", "Document timestamp")
    cert = s.certificate or {}
    rows = [
        _row("Kết quả", "Result", _badge(s.indication, s.sub_indication)),
        _row("Lý do", "Reason", f"{escape(s.reason_vi)}<br><span class='en'>{escape(s.reason_en)}</span>"),
        _row("Người ký", "Signer", escape(s.signer or "—")),
        _row("Chứng thư số", "Certificate",
             f"{escape(cert.get('subject', '—'))}<br>Cấp bởi / issued by: {escape(cert.get('issuer', '—'))}<br>"
             f"Số hiệu / serial: <span class='mono'>{escape(cert.get('serial', '—'))}</span><br>"
             f"Hiệu lực / valid: {escape(str(cert.get('valid_from', '—')))} → {escape(str(cert.get('valid_to', '—')))}"),
        _row("Thời điểm ký (tự khai)", "Signing time (claimed)", _time(s.signing_time)),
        _row("Dấu thời gian", "Timestamp", _time(s.timestamp)),
        _row("Toàn vẹn / phạm vi", "Intact / coverage",
             f"{'có / yes' if s.intact else 'không / no' if s.intact is False else '—'} · {escape(s.coverage or '—')}"),
        _row("Thay đổi sau khi ký", "Changes after signing", escape(s.modifications or "—")),
    ]
    if s.covers:
        rows.append(_row("Bao trùm chữ ký trước", "Covers earlier signatures", escape(", ".join(s.covers))))
    if s.messages:
        rows.append(_row("Ghi chú", "Notes", "<ul>" + "".join(f"<li>{escape(m)}</li>" for m in s.messages) + "</ul>"))
    return (f"<h3>{number}. {kind[0]} <span class='en'>{kind[1]}</span>: {escape(s.field)}</h3>"
            f"<table>{''.join(rows)}</table>")
