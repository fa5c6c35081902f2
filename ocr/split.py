"""`--split qr`: cut stacked batches into dossiers at QR separator sheets.

A separator sheet's QR code holds nothing but the dossier code; receipts also carry a QR
with the code, but together with other fields, so they are never taken for separators.
Within a dossier, a page whose top carries the national motto starts a new document.
"""
import unicodedata

from .identifiers import is_dossier_code

MOTTO_KEYS = ("CONG HOA XA HOI", "DOC LAP - TU DO", "DOC LAP TU DO")
TOP_SHARE = 0.35  # the motto sits in the top third of a first page


def separator_code(page) -> str | None:
    codes = page.analysis.qr_codes if page.analysis else ()
    return next((c.strip() for c in codes if is_dossier_code(c)), None)


def fold(text: str) -> str:
    """Upper case without Vietnamese marks, đ→D: for matching OCR'd headings."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if unicodedata.category(c) != "Mn").upper()


def starts_document(page) -> bool:
    rec = page.analysis.recognition if page.analysis else None
    if rec is None or not rec.lines:
        return False
    bottom = max(line.box[3] for line in rec.lines)
    top_text = " ".join(" ".join(w.text for w in line.words) for line in rec.lines
                        if line.box[1] < bottom * TOP_SHARE)
    folded = fold(top_text)
    return any(key in folded for key in MOTTO_KEYS)


def split_at_separators(batches):
    from .pipeline import DocumentPlan, DossierPlan

    dossiers: dict[str, DossierPlan] = {}
    order: list[DossierPlan] = []
    for batch in batches:
        current = None
        for doc in batch.documents:
            for page in doc.pages:
                code = separator_code(page)
                if code:
                    current = dossiers.get(code)
                    if current is None:
                        current = dossiers[code] = DossierPlan(code, batch.root, [], code)
                        order.append(current)
                    current.documents.append(DocumentPlan("", []))
                    continue
                if current is None:  # pages before the first separator stay together
                    current = DossierPlan(batch.name, batch.root, [DocumentPlan("", [])])
                    order.append(current)
                last = current.documents[-1]
                if last.pages and starts_document(page):
                    last = DocumentPlan("", [])
                    current.documents.append(last)
                last.pages.append(page)
                last.signed_source = last.signed_source or doc.signed_source
    for dossier in order:
        dossier.documents = [d for d in dossier.documents if d.pages]
        for number, document in enumerate(dossier.documents, 1):
            document.name = f"document-{number:02d}"
    return [d for d in order if d.documents]
