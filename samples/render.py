"""Draw a `Doc` as clean A4 pages at 300 dpi, Decree 30 layout, keeping the text drawn.

`render(doc)` returns `RenderedPage`s: an RGB image (2480×3508) and the exact lines of text
drawn on it in reading order (left header column, then right; "Nơi nhận" block, then the
signer block). The signature and the seal are laid over the signer block of issued
documents; a receipt carries a QR code at the top left.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import qrcode
from PIL import Image, ImageDraw, ImageFont

from sohoa.cli.fonts import vietnamese_font

from . import stamps
from .documents import Block, Doc

DPI = 300
W, H = 2480, 3508  # A4 at 300 dpi
MM = DPI / 25.4
PT = DPI / 72
TOP, BOTTOM, LEFT, RIGHT = round(20 * MM), round(20 * MM), round(30 * MM), round(15 * MM)
INK = (24, 24, 28)
# header columns: agency block left, national motto right
LCOL, LWIDTH = 804, 820  # centre, wrap width
RCOL = 1741
SIG_GAP = round(40 * MM)  # room for the signature between position and name


@lru_cache(maxsize=None)
def font(style: str, size_pt: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(vietnamese_font(style)), round(size_pt * PT),
                              layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=20000)
def _width(word: str, style: str, size: float) -> float:
    return font(style, size).getlength(word)


def line_height(size: float) -> int:
    return round(size * PT * 1.28)


@dataclass
class RenderedPage:
    image: Image.Image
    lines: list[str] = field(default_factory=list)
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)  # of each line, x0 y0 x1 y1
    qr: list[str] = field(default_factory=list)  # payloads of the QR codes drawn
    kind: str = "page"  # page | separator

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class Sheets:
    """Pages being filled top to bottom; a new page starts when the current one is full."""

    def __init__(self) -> None:
        self.pages: list[RenderedPage] = []
        self.new_page()

    def new_page(self) -> None:
        page = RenderedPage(Image.new("RGB", (W, H), "white"))
        self.pages.append(page)
        self.draw = ImageDraw.Draw(page.image)
        self.y = TOP
        if len(self.pages) > 1:  # Decree 30: page numbers from page 2, top centre
            self.text(str(len(self.pages)), W // 2 + (LEFT - RIGHT) // 2, round(10 * MM), "regular", 13, "center")

    @property
    def page(self) -> RenderedPage:
        return self.pages[-1]

    def room(self, h: float) -> None:
        if self.y + h > H - BOTTOM:
            self.new_page()

    def text(self, s: str, x: float, top: float, style: str, size: float, align: str = "left",
             underline: bool = False) -> float:
        """Draw one line with its top at `top`; x is its left, centre or right edge."""
        f = font(style, size)
        w = f.getlength(s)
        x0 = x - w / 2 if align == "center" else x - w if align == "right" else x
        base = top + f.getmetrics()[0]
        self.draw.text((x0, base), s, font=f, fill=INK, anchor="ls")
        if underline:
            self.draw.line([(x0, base + 8), (x0 + w, base + 8)], fill=INK, width=3)
        self.record(s, self.draw.textbbox((x0, base), s, font=f, anchor="ls"))
        return w

    def record(self, s: str, box) -> None:
        self.page.lines.append(s)
        self.page.boxes.append(tuple(int(round(v)) for v in box))

    def rule(self, cx: float, y: float, length: float) -> None:
        self.draw.line([(cx - length / 2, y), (cx + length / 2, y)], fill=INK, width=3)


def wrap(text: str, style: str, size: float, width: float) -> list[str]:
    """Greedy wrap at spaces (a long line of the header or the trích yếu)."""
    lines, cur = [], ""
    for word in text.split():
        cand = f"{cur} {word}" if cur else word
        if cur and _width(cand, style, size) > width:
            lines.append(cur)
            cur = word
        else:
            cur = cand
    return lines + ([cur] if cur else [])


def balanced_wrap(text: str, style: str, size: float, width: float) -> list[str]:
    """Wrap into as few lines as `wrap` but with lines of similar length (headers)."""
    lines = wrap(text, style, size, width)
    if len(lines) < 2:
        return lines
    lo = _width(text, style, size) / len(lines)
    for w in range(int(lo), int(width) + 1, 20):
        cand = wrap(text, style, size, w)
        if len(cand) == len(lines):
            return cand
    return lines


def header_wrap(text: str, style: str, size: float, width: float) -> list[str]:
    """Agency names break after "ỦY BAN NHÂN DÂN", as clerks set them; else balanced."""
    if _width(text, style, size) <= width:
        return [text]
    for head in ("ỦY BAN NHÂN DÂN", "UBND"):
        if text.startswith(head + " "):
            return [head, *balanced_wrap(text[len(head) + 1:], style, size, width)]
    return balanced_wrap(text, style, size, width)


# --------------------------------------------------------------------------- paragraphs


def _layout_para(block: Block, width: float) -> list[list[tuple[str, str]]]:
    words = [(w, style) for text, style in block.runs for w in text.split()]
    lines, cur, cur_w = [], [], 0.0
    first = block.indent * MM
    avail = width - first
    for word, style in words:
        ww = _width(word, style, block.size)
        sp = _width(" ", "regular", block.size) if cur else 0
        if cur and cur_w + sp + ww > avail:
            lines.append(cur)
            cur, cur_w = [], 0.0
            avail = width - block.hang * MM
            sp = 0
        cur.append((word, style))
        cur_w += sp + ww
    if cur:
        lines.append(cur)
    return lines


def paragraph(sh: Sheets, block: Block, x0: float = LEFT, x1: float = W - RIGHT) -> None:
    lh = line_height(block.size)
    sh.y += round(block.before * lh) + round(6 * PT)
    lines = _layout_para(block, x1 - x0)
    space = _width(" ", "regular", block.size)
    for i, words in enumerate(lines):
        sh.room(lh)
        left = x0 + (block.indent if i == 0 else block.hang) * MM
        widths = [_width(w, s, block.size) for w, s in words]
        natural = sum(widths) + space * (len(words) - 1)
        gap = space
        if block.align == "justify" and i < len(lines) - 1 and len(words) > 1:
            gap = space + (x1 - left - natural) / (len(words) - 1)
        elif block.align == "center":
            left = (x0 + x1) / 2 - natural / 2
        elif block.align == "right":
            left = x1 - natural
        x, top, bottom = left, H, 0
        for (word, style), w in zip(words, widths):
            f = font(style, block.size)
            base = sh.y + f.getmetrics()[0]
            sh.draw.text((x, base), word, font=f, fill=INK, anchor="ls")
            box = f.getbbox(word, anchor="ls")
            top, bottom = min(top, base + box[1]), max(bottom, base + box[3])
            x += w + gap
        sh.record(" ".join(w for w, _ in words), (left, top, x - gap, bottom))
        sh.y += lh


# --------------------------------------------------------------------------- header and footer


def qr_image(payload: str, size: int) -> Image.Image:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    m = np.array(qr.get_matrix(), dtype=bool)
    box = max(1, size // m.shape[0])
    pix = np.where(np.kron(m, np.ones((box, box), dtype=bool)), 0, 255).astype(np.uint8)
    return Image.fromarray(pix, "L").convert("RGB")


def header(sh: Sheets, doc: Doc) -> None:
    top = sh.y
    lcol = LCOL + (50 if doc.qr else 0)
    lwidth = LWIDTH - (100 if doc.qr else 0)
    y = top
    if doc.qr:
        img = qr_image(doc.qr, round(27 * MM))
        sh.page.image.paste(img, (round(6 * MM), round(6 * MM)))
        sh.page.qr.append(doc.qr)
    for line in doc.parent:
        for part in header_wrap(line, "regular", 13, lwidth):
            sh.text(part, lcol, y, "regular", 13, "center")
            y += line_height(13) - 2
    widest = 0.0
    for line in doc.agency:
        for part in header_wrap(line, "bold", 13, lwidth):
            widest = max(widest, sh.text(part, lcol, y, "bold", 13, "center"))
            y += line_height(13) - 2
    if doc.agency:
        sh.rule(lcol, y + 24, max(widest * 0.4, 200))
        y += 34
    number_top = y + 10
    if doc.number or doc.symbol:
        sh.text(f"Số: {doc.number}/{doc.symbol}", lcol, number_top, "regular", 13, "center")
        y = number_top + line_height(13)
    if doc.vv:
        for part in balanced_wrap(doc.vv, "regular", 12, lwidth):
            sh.text(part, lcol, y, "regular", 12, "center")
            y += line_height(12) - 6
    # right column; Decree 30 puts the date line level with the number line
    ry = top
    sh.text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", RCOL, ry, "bold", 12, "center")
    ry += line_height(12) - 6
    sh.text("Độc lập - Tự do - Hạnh phúc", RCOL, ry, "bold", 13, "center", underline=True)
    ry += line_height(13) + 30
    if doc.date_line:
        ry = max(ry, number_top)
        sh.text(doc.date_line, RCOL, ry, "italic", 13, "center")
        ry += line_height(13)
    sh.y = max(y, ry) + line_height(13) // 2


def motto_top(sh: Sheets) -> None:
    cx = W // 2 + (LEFT - RIGHT) // 2
    sh.text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", cx, sh.y, "bold", 13, "center")
    sh.y += line_height(13) - 6
    sh.text("Độc lập - Tự do - Hạnh phúc", cx, sh.y, "bold", 14, "center", underline=True)
    sh.y += line_height(14) + round(8 * MM)


def title(sh: Sheets, doc: Doc) -> None:
    cx = W // 2 + (LEFT - RIGHT) // 2
    if doc.type_name:
        for part in wrap(doc.type_name, "bold", 14, 1700):
            sh.text(part, cx, sh.y, "bold", 14, "center")
            sh.y += line_height(14) - 4
    if doc.subject and doc.kind != "cong_van":
        widest = 0.0
        for part in balanced_wrap(doc.subject, "bold", 14, 1500):
            widest = max(widest, sh.text(part, cx, sh.y, "bold", 14, "center"))
            sh.y += line_height(14) - 4
        sh.rule(cx, sh.y + 30, min(widest * 0.4, 500))
        sh.y += 40
    if doc.code_line:
        sh.text(doc.code_line, cx, sh.y + 6, "bold", 13, "center")
        sh.y += line_height(13) + 6


def _signer_lines(signer, note, date_line) -> list[tuple[str, str, float]]:
    out = [(date_line, "italic", 13)] if date_line else []
    out += [(line, "bold", 13) for line in signer.lines]
    if note:
        out.append((note, "italic", 12))
    return out


def footer(sh: Sheets, doc: Doc, *, date_in_block: bool) -> None:
    """"Nơi nhận" (or the applicant, on a receipt) left, the signer block right."""
    right = _signer_lines(doc.signer, doc.signer_note, doc.date_line if date_in_block else None)
    left = []
    if doc.recipients:
        left = [("Nơi nhận:", "bolditalic", 12)] + [(r, "regular", 11) for r in doc.recipients]
    elif doc.co_signer:
        left = _signer_lines(doc.co_signer, doc.signer_note, None)
    rh = sum(line_height(s) for _, _, s in right) + SIG_GAP + line_height(14)
    lh = sum(line_height(s) for _, _, s in left) + (SIG_GAP + line_height(14) if doc.co_signer else 0)
    sh.y += line_height(14) // 2
    sh.room(max(rh, lh))
    top = sh.y
    if doc.co_signer:
        _signer_block(sh, doc.co_signer, left, LEFT + 430, top, seal=None)
    else:
        y = top
        for text, style, size in left:
            sh.text(text, LEFT, y, style, size)
            y += line_height(size) - 4
    _signer_block(sh, doc.signer, right, RCOL, top, seal=doc.seal_text)
    sh.y = top + max(rh, lh)


def _signer_block(sh: Sheets, signer, lines, cx: float, top: float, seal: str | None) -> None:
    y = top
    for text, style, size in lines:
        sh.text(text, cx, y, style, size, "center")
        y += line_height(size)
    sig = stamps.signature_cached(signer.name)
    sx, sy = round(cx - sig.width / 2), round(y + (SIG_GAP - sig.height) / 2)
    blend(sh.page.image, sig, sx, sy)
    if seal:
        s = stamps.seal_cached(seal)
        # Decree 30: the seal overlaps about the left third of the signature
        blend(sh.page.image, s, round(sx + sig.width / 3 - s.width * 0.8), round(sy + sig.height / 2 - s.height / 2))
    sh.text(signer.name, cx, y + SIG_GAP, "bold", 14, "center")


def blend(page: Image.Image, ink: Image.Image, x: int, y: int) -> None:
    """Lay ink (RGBA) on paper like ink does: multiply, so text under a seal stays visible."""
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(page.width, x + ink.width), min(page.height, y + ink.height)
    region = np.asarray(page.crop((x0, y0, x1, y1)), dtype=np.float32)
    src = np.asarray(ink, dtype=np.float32)[y0 - y:y1 - y, x0 - x:x1 - x]
    a = src[..., 3:4] / 255.0
    out = region * (1 - a * (1 - src[..., :3] / 255.0))
    page.paste(Image.fromarray(out.round().astype(np.uint8), "RGB"), (x0, y0))


# --------------------------------------------------------------------------- documents


def render(doc: Doc) -> list[RenderedPage]:
    if doc.kind == "separator":
        return [separator(doc.dossier_codes[0])]
    sh = Sheets()
    form = doc.kind in ("don", "to_khai")
    if form:
        motto_top(sh)
    else:
        header(sh, doc)
    title(sh, doc)
    for block in doc.body:
        paragraph(sh, block)
    footer(sh, doc, date_in_block=form)
    return sh.pages


def separator(code: str) -> RenderedPage:
    """A batch separator sheet: a big QR code holding the dossier code, and the code as text."""
    sh = Sheets()
    cx = W // 2
    sh.y = round(40 * MM)
    sh.text("TỜ PHÂN TÁCH HỒ SƠ", cx, sh.y, "bold", 22, "center")
    sh.y += line_height(22) + round(15 * MM)
    img = qr_image(code, round(100 * MM))
    sh.page.image.paste(img, (cx - img.width // 2, sh.y))
    sh.page.qr.append(code)
    sh.y += img.height + round(12 * MM)
    sh.text(code, cx, sh.y, "bold", 24, "center")
    sh.y += line_height(24) + round(8 * MM)
    sh.text("Đặt tờ này trước các trang của hồ sơ khi quét.", cx, sh.y, "italic", 13, "center")
    page = sh.page
    page.kind = "separator"
    return page
