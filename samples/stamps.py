"""A blue handwritten-looking signature and a red round seal, as transparent PNGs.

Both are drawn procedurally from a seed (4x supersampled, then downsampled, so strokes are
smooth), at 300 dpi: the seal is 36 mm across by default, the size of a commune
People's Committee seal. `write_committed()` refreshes `samples/images/`.
"""
from __future__ import annotations

import math
import random
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from sohoa.cli import fsio
from sohoa.cli.fonts import vietnamese_font

DPI = 300
SIGNATURE_BLUE = (22, 44, 160)
SEAL_RED = (214, 38, 48)
IMAGES = Path(__file__).with_name("images")
_SS = 4  # supersampling factor


def _seed(*parts: object) -> int:
    return zlib.crc32("\x1f".join(map(str, parts)).encode("utf-8"))


def _catmull_rom(points: list[tuple[float, float]], steps: int = 14) -> list[tuple[float, float]]:
    out = []
    pts = [points[0], *points, points[-1]]
    for i in range(1, len(pts) - 2):
        p0, p1, p2, p3 = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
        for s in range(steps):
            t = s / steps
            t2, t3 = t * t, t * t * t
            out.append(tuple(
                0.5 * (2 * p1[k] + (-p0[k] + p2[k]) * t + (2 * p0[k] - 5 * p1[k] + 4 * p2[k] - p3[k]) * t2
                       + (-p0[k] + 3 * p1[k] - 3 * p2[k] + p3[k]) * t3)
                for k in range(2)))
    out.append(points[-1])
    return out


def _stroke(draw: ImageDraw.ImageDraw, pts, width: float, rng: random.Random) -> None:
    """A pen stroke: thinner where the pen moves fast, round joints."""
    n = len(pts)
    for i in range(n - 1):
        (x0, y0), (x1, y1) = pts[i], pts[i + 1]
        speed = math.hypot(x1 - x0, y1 - y0)
        taper = min(1.0, (i + 1) / 6, (n - i) / 6)  # pen lands and lifts
        w = max(1.0, width * taper * (1.25 - min(0.55, speed / (14 * _SS))))
        draw.line([(x0, y0), (x1, y1)], fill=255, width=int(round(w)))
        r = w / 2
        draw.ellipse([x1 - r, y1 - r, x1 + r, y1 + r], fill=255)


def _letters(rng: random.Random, x: float, base: float, length: float, h: float, slant: float) -> list:
    """Control points of a run of joined cursive letters: loops, humps, cups, tall loops."""
    pts = [(x, base)]
    end = x + length
    while x < end:
        w = h * rng.uniform(0.75, 1.35)
        kind = rng.choices("elnuo", weights=(3, 2, 3, 2, 1))[0]
        tall = h * rng.uniform(1.8, 2.4)
        hh = h * rng.uniform(0.8, 1.2)
        if kind == "e":
            seq = [(0.55, -0.75 * hh), (0.35, -hh), (0.12, -0.55 * hh), (0.45, -0.05 * hh), (1.0, -0.15 * hh)]
        elif kind == "l":
            seq = [(0.6, -0.8 * tall), (0.45, -tall), (0.2, -0.7 * tall), (0.3, -0.02 * h), (1.0, -0.2 * h)]
        elif kind == "n":
            seq = [(0.1, -0.7 * hh), (0.3, -hh), (0.45, -0.1 * hh), (0.62, -0.9 * hh), (0.8, -0.95 * hh), (1.0, -0.05 * hh)]
        elif kind == "u":
            seq = [(0.15, -0.9 * hh), (0.3, -0.05 * hh), (0.55, -0.85 * hh), (0.75, -0.02 * hh), (1.0, -0.5 * hh)]
        else:
            seq = [(0.6, -hh), (0.2, -0.9 * hh), (0.15, -0.2 * hh), (0.65, -0.3 * hh), (0.7, -0.95 * hh), (1.0, -0.4 * hh)]
        for fx, dy in seq:
            px, py = x + fx * w, base + dy + rng.uniform(-0.06, 0.06) * h
            pts.append((px + (base - py) * slant, py))
        x += w
        base += rng.uniform(-0.06, 0.03) * h  # the line drifts upward a little
    return pts


def make_signature(name: str = "Trần Đình Bẩy", seed: int = 0, width_mm: float = 46) -> Image.Image:
    """A blue signature on a transparent background (RGBA, 300 dpi)."""
    rng = random.Random(_seed("signature", name, seed))
    w = int(width_mm / 25.4 * DPI)
    h = int(w * 0.46)
    W, H = w * _SS, h * _SS
    mask = Image.new("L", (W, H), 0)
    draw = ImageDraw.Draw(mask)
    pen = rng.uniform(2.6, 3.6) * _SS
    base = H * rng.uniform(0.58, 0.66)
    # a tall initial: an upward loop then down into the word
    x0 = W * rng.uniform(0.06, 0.12)
    cap = H * rng.uniform(0.5, 0.62)
    j = [rng.uniform(-0.025, 0.025) * W for _ in range(7)]
    lean = rng.uniform(0.0, 0.08) * W
    initial = [(x0 + W * 0.05 + j[0], base), (x0 + W * 0.02 + j[1] + lean * 0.6, base - cap * 0.6),
               (x0 + W * 0.08 + j[2] + lean, base - cap), (x0 + W * 0.14 + j[3] + lean * 0.7, base - cap * 0.7),
               (x0 + W * 0.07 + j[4] + lean * 0.2, base - cap * 0.2),
               (x0 + W * 0.03 + j[5], base + H * 0.12), (x0 + W * 0.11 + j[6], base - H * 0.05)]
    _stroke(draw, _catmull_rom(initial), pen, rng)
    # one or two cursive words, slanting and drifting upward
    x = x0 + W * 0.11
    slant = rng.uniform(0.2, 0.45)
    words = 2 if rng.random() < 0.6 else 1
    for wi in range(words):
        length = W * (rng.uniform(0.26, 0.36) if words == 2 else rng.uniform(0.45, 0.58))
        pts = _letters(rng, x, base - wi * H * 0.05, length, H * rng.uniform(0.12, 0.17), slant)
        _stroke(draw, _catmull_rom(pts, 8), pen * rng.uniform(0.8, 1.0), rng)
        x += length + W * rng.uniform(0.04, 0.08)
    # the flourish: from the end back under the name
    end = min(x, W * 0.92)
    flourish = [(end - W * 0.04, base - H * 0.05), (end + W * 0.02, base + H * 0.08),
                (end - W * 0.25, base + H * rng.uniform(0.16, 0.24)),
                (W * rng.uniform(0.12, 0.25), base + H * rng.uniform(0.1, 0.2)),
                (W * rng.uniform(0.05, 0.1), base + H * rng.uniform(0.02, 0.1))]
    _stroke(draw, _catmull_rom(flourish, 24), pen * 0.8, rng)
    mask = mask.resize((w, h), Image.Resampling.LANCZOS)
    sig = Image.new("RGBA", (w, h), SIGNATURE_BLUE + (0,))
    alpha = np.asarray(mask, dtype=np.float32) * 0.93
    sig.putalpha(Image.fromarray(alpha.clip(0, 255).astype(np.uint8)))
    return sig


def _font(style: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(vietnamese_font(style)), size, layout_engine=ImageFont.Layout.BASIC)


def _star(cx: float, cy: float, r: float, rot: float = -math.pi / 2) -> list[tuple[float, float]]:
    pts = []
    for i in range(10):
        rad = r if i % 2 == 0 else r * 0.382
        a = rot + i * math.pi / 5
        pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    return pts


def _ring_text(img: Image.Image, text: str, cx: float, cy: float, radius: float, size: int) -> None:
    """Upright letters around the circle, clockwise, centred on the top."""
    font = _font("bold", size)
    widths = [font.getlength(c) for c in text]
    total = sum(widths) * 1.08
    circumference = 2 * math.pi * radius
    scale = min(1.0, circumference * 0.97 / total)
    angle = -math.pi / 2 - (total * scale / radius) / 2  # start left of top
    for ch, cw in zip(text, widths):
        step = cw * 1.08 * scale / radius
        mid = angle + step / 2
        if ch != " ":
            tile = Image.new("L", (size * 2, size * 2), 0)
            ImageDraw.Draw(tile).text((size, size), ch, font=font, fill=255, anchor="mm")
            tile = tile.rotate(-math.degrees(mid) - 90, resample=Image.Resampling.BICUBIC)
            x = cx + radius * math.cos(mid) - size
            y = cy + radius * math.sin(mid) - size
            img.paste(255, (int(round(x)), int(round(y))), tile)
        angle += step


def make_seal(ring_text: str = "ỦY BAN NHÂN DÂN XÃ DIÊN LẠC * HUYỆN DIÊN KHÁNH *",
              seed: int = 0, diameter_mm: float = 36) -> Image.Image:
    """A red round seal on a transparent background (RGBA, 300 dpi, real size)."""
    rng = np.random.default_rng(_seed("seal", ring_text, seed))
    d = int(round(diameter_mm / 25.4 * DPI))
    D = d * _SS
    c = D / 2
    mask = Image.new("L", (D, D), 0)
    draw = ImageDraw.Draw(mask)
    outer = D * 0.012
    draw.ellipse([outer, outer, D - outer, D - outer], outline=255, width=int(D * 0.028))
    inner_r = D * 0.33
    draw.ellipse([c - inner_r, c - inner_r, c + inner_r, c + inner_r], outline=255, width=int(D * 0.01))
    text_size = int(D * 0.085)
    text = ring_text.strip()
    if not text.endswith("*"):
        text += " *"
    _ring_text(mask, " " + text, c, c, D * 0.405, text_size)
    draw.polygon(_star(c, c, D * 0.2), fill=255)
    mask = mask.resize((d, d), Image.Resampling.LANCZOS)
    # ink: uneven pressure, a lighter side, small gaps
    a = np.asarray(mask, dtype=np.float32) / 255.0
    yy, xx = np.mgrid[0:d, 0:d].astype(np.float32) / d
    tilt = 0.78 + 0.22 * (np.cos(rng.uniform(0, 2 * np.pi)) * (xx - 0.5) + np.sin(rng.uniform(0, 2 * np.pi)) * (yy - 0.5) + 0.5)
    blot = rng.random((d // 8 + 1, d // 8 + 1)).astype(np.float32)
    blot = np.asarray(Image.fromarray((blot * 255).astype(np.uint8)).resize((d, d), Image.Resampling.BICUBIC),
                      dtype=np.float32) / 255.0
    grain = rng.random((d, d), dtype=np.float32)
    ink = a * tilt * (0.72 + 0.28 * blot) * np.where(grain < 0.04, 0.45, 1.0)
    seal = Image.new("RGBA", (d, d), SEAL_RED + (0,))
    alpha = Image.fromarray((ink * 235).clip(0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6))
    seal.putalpha(alpha)
    return seal


@lru_cache(maxsize=64)
def signature_cached(name: str, seed: int = 0) -> Image.Image:
    return make_signature(name, seed)


@lru_cache(maxsize=64)
def seal_cached(ring_text: str, seed: int = 0) -> Image.Image:
    return make_seal(ring_text, seed)


def png_bytes(img: Image.Image) -> bytes:
    import io

    buf = io.BytesIO()
    img.save(buf, format="PNG", dpi=(DPI, DPI), optimize=True)
    return buf.getvalue()


def write_committed(folder: Path = IMAGES) -> list[Path]:
    """Write the committed `signature.png` and `seal.png` (deterministic)."""
    out = []
    for name, img in (("signature.png", make_signature()), ("seal.png", make_seal())):
        path = Path(folder) / name
        fsio.write_bytes(path, png_bytes(img))
        out.append(path)
    return out


if __name__ == "__main__":  # python -m sohoa.samples.stamps
    for p in write_committed():
        print(p)
