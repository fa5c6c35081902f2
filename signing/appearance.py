"""Decree 30 signature appearances (Appendix I), built once per batch.

- leader: the blue signature image, centred between the position line and the name line
  of the signer block (found in the last page's text layer, see `find_signer_block`);
- agency: the red seal at its real size over the left third of the leader's image;
- copy / attachment: text, top right of page 1, Times 10 pt black, with the signing time
  as 2025-07-01T09:15:30+07:00.

Speed: the image XObjects and the font subset (with every glyph the stamp can need, the
digits of any time included) are written once into a small template PDF; each signed file
imports them (`Template.resources(writer)`, no re-encoding, no re-subsetting) and only the
time text is shaped per file. Text goes into the page content (a form XObject drawn on
page 1), so that viewers and pdf.js copy it; images go into the signature widget.
"""
from __future__ import annotations

import io
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .pdfwords import PageWords, TextLine, lines, right_column

VN_TIME = timezone(timedelta(hours=7))
MM = 72 / 25.4
FONT_SIZE = 10.0
LEADING = 12.0
TOP_PAD = 2.0  # room above the first line for marks over capitals (Ủ, Í)
ASCENT = 9.2  # baseline below the top of a line: capitals with marks reach ~0.93 em
STAMP_MARGIN_RIGHT = 15 * MM  # Decree 30: right margin 15-20 mm
STAMP_MARGIN_TOP = 7 * MM
TIME_CHARS = "0123456789-:+T"
MIN_SIGNATURE_GAP = 12 * MM
MAX_SIGNATURE = (70 * MM, 25 * MM)  # width, height
LEADER_ASPECT = 2.2  # assumed shape of a leader's image the agency cannot see

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in PDF user space


class AppearanceError(ValueError):
    """The appearance cannot be placed on this document (message names the fix)."""


def signing_time(now: datetime | None = None) -> datetime:
    """Now, in Vietnam time (UTC+7, no daylight saving), whole seconds."""
    return (now or datetime.now(timezone.utc)).astimezone(VN_TIME).replace(microsecond=0)


def format_time(moment: datetime) -> str:
    """2025-07-01T09:15:30+07:00"""
    return moment.astimezone(VN_TIME).replace(microsecond=0).isoformat()


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


_AGENCY_WORDS = re.compile(r"^(ỦY BAN|UỶ BAN|UBND|SỞ|PHÒNG|BỘ|CỤC|TỔNG CỤC|VĂN PHÒNG|TRUNG TÂM|"
                           r"BAN|HỘI ĐỒNG|CÔNG AN|TÒA ÁN|VIỆN|CHI CỤC|ĐẢNG ỦY|TRƯỜNG|BỆNH VIỆN)\b",
                           re.IGNORECASE)


def agency_name(subject: dict) -> str | None:
    """The agency a certificate speaks for: its CN when the certificate is an agency's own
    (the CN names an agency), else OU, else O. `subject` is asn1crypto's Name.native."""
    def first(key):
        value = subject.get(key)
        return nfc(value[0] if isinstance(value, list) else value) if value else None

    cn, ou, o = first("common_name"), first("organizational_unit_name"), first("organization_name")
    if cn and (_AGENCY_WORDS.match(cn) or cn in (ou, o)):
        return cn
    return ou or o or cn


def stamp_lines(role: str, *, copy_form: str = "SAO Y", agency: str | None = None,
                main_doc: str | None = None) -> list[str]:
    """The fixed lines of a text stamp; the signing time is the line after them."""
    if role == "copy":
        if not agency:
            raise AppearanceError("no agency name for the copy stamp: set agency_name in sohoa.toml "
                                  "or SOHOA_AGENCY_NAME")
        return [nfc(copy_form), nfc(agency)]
    if role == "attachment":
        if not main_doc:
            raise AppearanceError("the attachment stamp needs the main document: --main-doc '15/QĐ-UBND'")
        return [nfc(main_doc)]
    return []


# ------------------------------------------------------------------ images


@dataclass(frozen=True)
class StampImage:
    """An RGBA image as PDF image streams (Flate), cropped to its ink."""
    width: int
    height: int
    rgb: bytes  # zlib
    alpha: bytes | None  # zlib, or None when opaque

    @property
    def aspect(self) -> float:
        return self.width / self.height


def load_image(path: Path, max_side: int = 1200) -> StampImage:
    """Read a PNG (transparent background expected), crop it to its ink, limit its size."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            img = im.convert("RGBA")
    except FileNotFoundError:
        raise AppearanceError(f"image not found: {path}") from None
    except (OSError, UnidentifiedImageError) as exc:
        raise AppearanceError(f"{path}: not a readable image ({exc})") from None
    alpha = img.getchannel("A")
    bbox = alpha.point(lambda v: 255 if v > 8 else 0).getbbox()
    if bbox is None:
        raise AppearanceError(f"{path}: the image is fully transparent")
    img = img.crop(bbox)
    if max(img.size) > max_side:
        scale = max_side / max(img.size)
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.LANCZOS)
    opaque = img.getchannel("A").getextrema()[0] == 255
    return StampImage(img.width, img.height, zlib.compress(img.convert("RGB").tobytes(), 6),
                      None if opaque else zlib.compress(img.getchannel("A").tobytes(), 6))


def _image_xobject(writer, image: StampImage):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name

    def stream(data: bytes, colour: str):
        return generic.StreamObject({
            pdf_name("/Type"): pdf_name("/XObject"), pdf_name("/Subtype"): pdf_name("/Image"),
            pdf_name("/Width"): generic.NumberObject(image.width),
            pdf_name("/Height"): generic.NumberObject(image.height),
            pdf_name("/ColorSpace"): pdf_name(colour),
            pdf_name("/BitsPerComponent"): generic.NumberObject(8),
            pdf_name("/Filter"): pdf_name("/FlateDecode")}, encoded_data=data)

    main = stream(image.rgb, "/DeviceRGB")
    if image.alpha is not None:
        main[pdf_name("/SMask")] = writer.add_object(stream(image.alpha, "/DeviceGray"))
    return writer.add_object(main)


# ------------------------------------------------------------------ text


def _accumulator(writer, font_path: Path):
    """pyHanko's glyph accumulator, made right for fonts whose em is not 1000 units: pyHanko
    writes /W widths and TJ offsets in font units, which PDF reads as 1/1000 em, so 2048-unit
    fonts (Liberation, DejaVu) come out with double letter spacing. Here everything is
    scaled to 1000 units."""
    import logging

    from pyhanko.pdf_utils.font.opentype import GlyphAccumulator

    # "No ROS metadata. Assuming identity." for every CFF font without CID keys: expected
    logging.getLogger("pyhanko.pdf_utils.font.opentype").setLevel(logging.ERROR)

    class Accumulator(GlyphAccumulator):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._scale = 1000 / self.units_per_em
            if self._scale != 1:
                self.hb_font.scale = (1000, 1000)
                self.units_per_em = 1000

        def _get_cid_and_width(self, glyph_id):
            if glyph_id in self._glyphs:
                return self._glyphs[glyph_id]
            cid, width = super()._get_cid_and_width(glyph_id)
            self._glyphs[glyph_id] = result = (cid, round(width * self._scale))
            return result

    return Accumulator(writer, open(font_path, "rb"), FONT_SIZE)  # noqa: SIM115 (fontTools keeps it)


# ------------------------------------------------------------------ the template


@dataclass
class Template:
    """Everything the batch's appearance needs, built once (see module docstring)."""
    role: str
    pdf: bytes = b""  # template PDF holding the resources
    lines: list[str] = field(default_factory=list)  # text roles: fixed lines
    line_ops: list[bytes] = field(default_factory=list)
    line_widths: list[float] = field(default_factory=list)
    time_width: float = 0.0
    image: StampImage | None = None
    font_path: Path | None = None

    def __post_init__(self):
        self._reader = None
        self._accumulator = None
        self._style = None

    @property
    def style(self):
        """The pyHanko stamp style for this template (one per template: it is a class)."""
        if self._style is None:
            self._style = stamp_style(self)
        return self._style

    def resources(self, writer):
        """Import the template's resource dictionary into `writer`; returns its reference."""
        from pyhanko.pdf_utils.reader import PdfFileReader

        if self._reader is None:
            self._reader = PdfFileReader(io.BytesIO(self.pdf))
        return writer.import_object(self._reader.root.raw_get("/SohoaResources"))

    def shape_time(self, text: str) -> bytes:
        """Text operators for the time line (glyphs already in the template's font)."""
        if self._accumulator is None:  # (unpickled template) a private one, never written
            from pyhanko.pdf_utils.writer import PdfFileWriter

            self._accumulator = _accumulator(PdfFileWriter(), self.font_path)
        return self._accumulator.shape(text).graphics_ops

    @property
    def text_size(self) -> tuple[float, float]:
        width = max([*self.line_widths, self.time_width])
        return width, TOP_PAD + LEADING * (len(self.lines) + 1)

    def text_content(self, time_text: str) -> bytes:
        """The form XObject content for the stamp text, origin at the box's bottom-left."""
        _, height = self.text_size
        ops = [b"BT /SohoaF1 %g Tf 0 g" % FONT_SIZE]
        for i, line in enumerate([*self.line_ops, self.shape_time(time_text)]):
            baseline = height - TOP_PAD - ASCENT - i * LEADING
            ops.append(b"1 0 0 1 0 %g Tm %s" % (baseline, line))
        ops.append(b"ET")
        return b"\n".join(ops)


def build_template(role: str, *, image_path: Path | None = None, lines_text: list[str] = (),
                   font_path: Path | None = None) -> Template:
    """Build the batch's template. Raises AppearanceError (missing image, ...)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name
    from pyhanko.pdf_utils.writer import PdfFileWriter

    template = Template(role=role, lines=list(lines_text), font_path=font_path)
    writer = PdfFileWriter(stream_xrefs=False)
    resources = generic.DictionaryObject()
    if role in ("leader", "agency"):
        if image_path is None:
            what = "--signature-image" if role == "leader" else "--seal-image"
            raise AppearanceError(f"the {role} appearance needs {what} PNG")
        template.image = load_image(Path(image_path))
        resources[pdf_name("/XObject")] = generic.DictionaryObject(
            {pdf_name("/SohoaIm1"): _image_xobject(writer, template.image)})
    elif role in ("copy", "attachment"):
        engine = _accumulator(writer, font_path)
        for text in template.lines:
            shaped = engine.shape(text)
            template.line_ops.append(shaped.graphics_ops)
            template.line_widths.append(shaped.x_advance * FONT_SIZE)
        template.time_width = engine.shape("2025-07-01T09:15:30+07:00").x_advance * FONT_SIZE
        engine.shape(TIME_CHARS)  # every glyph a time can need, in the subset and ToUnicode
        engine.prepare_write()
        template._accumulator = engine  # shapes the times later: its glyphs are all cached
        resources[pdf_name("/Font")] = generic.DictionaryObject({pdf_name("/SohoaF1"): engine.as_resource()})
    writer.root[pdf_name("/SohoaResources")] = writer.add_object(resources)
    out = io.BytesIO()
    writer.write(out)
    template.pdf = out.getvalue()
    return template


TIME_PARAM = "sohoa_time"  # appearance_text_params key: the stamp text goes in the widget


def stamp_style(template: Template):
    """A pyHanko stamp style for the widget: the template's image fitted in it; for the
    text roles nothing (the text is in the page content), or the text itself when the
    signer passes appearance_text_params={TIME_PARAM: time}."""
    from pyhanko.pdf_utils.content import AppearanceContent
    from pyhanko.pdf_utils.writer import init_xobject_dictionary
    from pyhanko.stamp import BaseStampStyle

    class Appearance(AppearanceContent):
        def __init__(self, writer, box, time_text):
            super().__init__(writer=writer, box=box)
            self.time_text = time_text

        def as_form_xobject(self):
            w, h = self.box.width, self.box.height
            if template.image is not None:
                x0, y0, x1, y1 = fit_image((0, 0, w, h), template.image.aspect, (w, h))
                content = b"q %g 0 0 %g %g %g cm /SohoaIm1 Do Q" % (x1 - x0, y1 - y0, x0, y0)
            elif self.time_text:
                content = template.text_content(self.time_text)
            else:
                return init_xobject_dictionary(b"", w, h)
            return init_xobject_dictionary(content, w, h, resources=template.resources(self.writer))

    @dataclass(frozen=True)
    class Style(BaseStampStyle):
        def create_stamp(self, writer, box, text_params):
            return Appearance(writer, box, (text_params or {}).get(TIME_PARAM))

    return Style()


def add_text_to_page(writer, page_index: int, template: Template, box: Box, time_text: str) -> None:
    """Draw the stamp text on a page, as a form XObject in the page content."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name
    from pyhanko.pdf_utils.writer import init_xobject_dictionary

    width, height = template.text_size
    form = init_xobject_dictionary(template.text_content(time_text), width, height,
                                   resources=template.resources(writer))
    form.compress()
    name = "/SohoaStamp" + format(id(form) & 0xFFFFFF, "x")
    paint = generic.StreamObject(stream_data=b"q 1 0 0 1 %g %g cm %s Do Q" % (box[0], box[1], name.encode()))
    # keep whatever the page leaves in its graphics state away from the stamp
    writer.add_stream_to_page(page_index, writer.add_object(generic.StreamObject(stream_data=b"q")),
                              prepend=True)
    writer.add_stream_to_page(page_index, writer.add_object(generic.StreamObject(stream_data=b"Q")))
    writer.add_stream_to_page(page_index, writer.add_object(paint), generic.DictionaryObject(
        {pdf_name("/XObject"): generic.DictionaryObject({pdf_name(name): writer.add_object(form)})}))


# ------------------------------------------------------------------ placement


@dataclass(frozen=True)
class SignerBlock:
    page: int  # 1-based
    position: TextLine  # the last line above the signature space ("CHỦ TỊCH")
    name: TextLine  # the signer's name under it


def _upper_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(c.isupper() for c in letters) / len(letters) if letters else 0.0


def find_signer_block(page: PageWords) -> SignerBlock | None:
    """The signer block of a Decree 30 document: in the page's right half, walking up from
    the bottom, the first gap of at least 12 mm between lines whose upper line is in upper
    case (the position: "CHỦ TỊCH", "KT. CHỦ TỊCH / PHÓ CHỦ TỊCH") — the signature goes in
    that gap, above the signer's name."""
    column = lines(right_column(page, 0.45))
    for upper, lower in zip(reversed(column[:-1]), reversed(column[1:])):
        if upper.y0 - lower.y1 >= MIN_SIGNATURE_GAP and _upper_share(upper.text) >= 0.7:
            return SignerBlock(page.number, upper, lower)
    return None


def gap_box(block: SignerBlock) -> Box:
    """The space between the position line and the name line, as wide as the column."""
    width = max(block.position.x1 - block.position.x0, block.name.x1 - block.name.x0, MAX_SIGNATURE[0])
    cx = block.position.centre_x
    return (cx - width / 2, block.name.y1 + 1.5 * MM, cx + width / 2, block.position.y0 - 1.5 * MM)


def fit_image(area: Box, aspect: float, limit: tuple[float, float] = MAX_SIGNATURE) -> Box:
    """The largest box of `aspect` (w/h) inside `area` and `limit`, centred in `area`."""
    x0, y0, x1, y1 = area
    w = min(x1 - x0, limit[0], (y1 - y0) * aspect, limit[1] * aspect)
    w = max(w, 1e-3)
    h = w / aspect
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def seal_box(leader: Box, seal: StampImage, seal_mm: float) -> Box:
    """The seal at its real size (`seal_mm` across), covering the left third of the
    leader's signature image, centred on it vertically."""
    w = seal_mm * MM
    h = w / seal.aspect
    right = leader[0] + (leader[2] - leader[0]) / 3
    cy = (leader[1] + leader[3]) / 2
    return (right - w, cy - h / 2, right, cy + h / 2)


def text_box(page_box: Box, size: tuple[float, float]) -> Box:
    """Top right of the page: right margin 15 mm, 7 mm from the top edge."""
    x1 = page_box[2] - STAMP_MARGIN_RIGHT
    y1 = page_box[3] - STAMP_MARGIN_TOP
    return (x1 - size[0], y1 - size[1], x1, y1)
