"""Make a clean render look scanned: tint, skew, blur, noise, resolution, orientation, mode.

Every defect is drawn from a seeded generator into a `Defects` record, which is what the
ground truth stores, and `scan()` applies exactly that record. Conventions:

- `rotation`: 0/90/180/270, degrees CLOCKWISE the page content is turned in the image
  (a page fed upside down is 180); turn it counter-clockwise by as much to make it upright.
- `skew_deg`: small rotation of the content, degrees, COUNTER-clockwise positive (PIL's
  `Image.rotate` convention); deskewing means rotating by `-skew_deg`.
- `dpi`: resolution of the written image; pages are drawn at 300 dpi and resampled.
"""
from __future__ import annotations

import io
import random
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

_ROTATE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


@dataclass
class Defects:
    dpi: int = 300
    mode: str = "rgb"  # rgb | gray | bilevel
    rotation: int = 0
    skew_deg: float = 0.0
    noise: float = 0.0  # sigma of the sensor noise, grey levels
    blur: float = 0.0  # Gaussian radius, pixels at 300 dpi
    tint: tuple[int, int, int] | None = None  # paper colour
    shading: float = 0.0  # uneven lighting, fraction darker on one side
    border: bool = False  # dark scanner-lid edge along one side
    specks: int = 0  # dust
    bleed: float = 0.0  # bleed-through of the other side (blank backs)
    threshold: int | None = None  # bilevel cut
    jpeg_artifacts: int | None = None  # quality of a lossy round trip before a lossless write

    @property
    def bilevel(self) -> bool:
        return self.mode == "bilevel"

    def record(self) -> dict:
        d = asdict(self)
        d["tint"] = list(self.tint) if self.tint else None
        return d


def clean(dpi: int = 300, mode: str = "rgb") -> Defects:
    return Defects(dpi=dpi, mode=mode)


def random_defects(rng: random.Random, *, dpi: int = 300, mode: str = "rgb", rotation: int = 0,
                   lossless: bool = False, blank: bool = False) -> Defects:
    """Typical defects of a flatbed or ADF scan of one page."""
    skew = rng.choice((-1, 1)) * rng.uniform(0.3, 3.0) if rng.random() < 0.8 else 0.0
    tint = None
    if mode != "bilevel" and rng.random() < 0.7:
        tint = (rng.randint(236, 252), rng.randint(232, 248), rng.randint(215, 240))
    return Defects(
        dpi=dpi, mode=mode, rotation=rotation, skew_deg=round(skew, 2),
        noise=round(rng.uniform(1.5, 5.0), 1), blur=round(rng.uniform(0.3, 1.0), 2) if rng.random() < 0.6 else 0.0,
        tint=tint,
        shading=round(rng.uniform(0.0, 0.06), 3) if mode != "bilevel" else 0.0,
        border=(not blank) and rng.random() < 0.2, specks=rng.randint(0, 40),
        bleed=round(rng.uniform(0.03, 0.07), 3) if blank else 0.0,
        threshold=rng.randint(150, 185) if mode == "bilevel" else None,
        jpeg_artifacts=rng.choice((None, None, 60, 75)) if lossless and mode != "bilevel" else None)


def scan(page: Image.Image, d: Defects, seed: int) -> Image.Image:
    """Apply `d` to a clean 300 dpi RGB page; returns RGB, L or 1 at `d.dpi`."""
    rng = np.random.default_rng(seed)
    img = page if d.mode == "rgb" else page.convert("L")
    scale = d.dpi / 300
    if d.dpi != 300:  # the scanner samples the sheet at its own resolution
        size = (round(img.width * scale), round(img.height * scale))
        img = img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    if d.tint or d.shading:
        img = _paper(img, d, rng)
    if d.skew_deg:
        img = img.rotate(d.skew_deg, resample=Image.Resampling.BILINEAR, fillcolor=_fill(img, d))
    if d.border:
        img = _border(img, rng)
    if d.blur:
        img = img.filter(ImageFilter.GaussianBlur(d.blur * scale))
    if d.noise or d.specks:
        img = _noise(img, d, rng)
    if d.rotation:
        img = img.transpose(_ROTATE[d.rotation])
    if d.mode == "bilevel":
        t = d.threshold or 160
        img = img.point([255 if v >= t else 0 for v in range(256)]).convert("1", dither=Image.Dither.NONE)
    elif d.jpeg_artifacts:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=d.jpeg_artifacts)
        img = Image.open(io.BytesIO(buf.getvalue()))
        img.load()
    return img


def blank_back(front: Image.Image | None, d: Defects, seed: int) -> Image.Image:
    """The empty back of a sheet: paper, a faint mirrored show-through of the front, noise."""
    paper = Image.new("RGB", (2480, 3508), "white")
    if front is not None and d.bleed:
        ghost = front.convert("L").transpose(Image.Transpose.FLIP_LEFT_RIGHT).reduce(4)
        ghost = ghost.filter(ImageFilter.GaussianBlur(2.5)).resize(paper.size, Image.Resampling.BILINEAR)
        g = np.asarray(ghost, dtype=np.float32)
        shade = 255.0 - (255.0 - g) * d.bleed
        paper = Image.fromarray(shade.clip(0, 255).astype(np.uint8), "L").convert("RGB")
    return scan(paper, d, seed)


def _fill(img: Image.Image, d: Defects):
    """What shows outside the rotated page: the paper colour (the page is larger than the glass)."""
    if img.mode == "L":
        return 255 if not d.tint else int(sum(d.tint) / 3)
    return d.tint or (255, 255, 255)


def _paper(img: Image.Image, d: Defects, rng: np.random.Generator) -> Image.Image:
    """Multiply by the paper colour and a gentle left-right or top-bottom lighting ramp."""
    colour = d.tint or (255, 255, 255)
    if img.mode == "L":
        lut = [v * sum(colour) // 765 for v in range(256)]
    else:
        lut = [v * c // 255 for c in colour for v in range(256)]
    img = img.point(lut)
    if d.shading:
        w, h = img.size
        if rng.random() < 0.5:
            ramp = np.linspace(255, 255 * (1 - d.shading), 64, dtype=np.float32)[None, :].repeat(2, 0)
        else:
            ramp = np.linspace(255 * (1 - d.shading), 255, 64, dtype=np.float32)[:, None].repeat(2, 1)
        ramp = Image.fromarray(ramp.round().astype(np.uint8), "L").resize((w, h), Image.Resampling.BILINEAR)
        img = ImageChops.multiply(img, ramp if img.mode == "L" else Image.merge("RGB", (ramp,) * 3))
    return img


def _border(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A dark strip along one edge: the lid or the ADF's background showing past the sheet."""
    img = img.copy()
    w, h = img.size
    side = int(rng.integers(4))
    t = int(rng.integers(12, 45))
    box = [(0, 0, t, h), (w - t, 0, w, h), (0, 0, w, t), (0, h - t, w, h)][side]
    dark = int(rng.integers(20, 70))
    img.paste(dark if img.mode == "L" else (dark, dark, dark), box)
    return img


_NOISE_PAD = 512


@lru_cache(maxsize=2)
def _noise_field(w: int, h: int) -> Image.Image:
    """Unit Gaussian noise (σ = 16 grey levels around 128), larger than a page; cropped at random."""
    z = np.random.default_rng(0x5CA9).standard_normal((h + _NOISE_PAD, w + _NOISE_PAD), dtype=np.float32)
    return Image.fromarray((z * 16 + 128).clip(0, 255).astype(np.uint8), "L")


def _noise(img: Image.Image, d: Defects, rng: np.random.Generator) -> Image.Image:
    w, h = img.size
    out = img
    if d.noise:
        dx, dy = (int(v) for v in rng.integers(0, _NOISE_PAD, 2))
        n = _noise_field(2480, 3508).crop((dx, dy, dx + w, dy + h))
        k = d.noise / 16
        n = n.point([max(0, min(255, round(128 + (v - 128) * k))) for v in range(256)])
        out = ImageChops.add(img, n if img.mode == "L" else Image.merge("RGB", (n,) * 3), 1.0, -128)
    if d.specks:
        draw = ImageDraw.Draw(out)
        for _ in range(d.specks):
            x, y = int(rng.integers(w)), int(rng.integers(h))
            r = float(rng.uniform(0.8, 2.5)) * d.dpi / 300
            v = int(rng.integers(40, 140))
            draw.ellipse([x - r, y - r, x + r, y + r], fill=v if img.mode == "L" else (v, v, v))
    return out
