"""Fonts that draw Vietnamese: found on the system, checked glyph by glyph."""
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTFont

from .errors import MissingDependency

STYLES = ("regular", "bold", "italic", "bolditalic")

# Times New Roman or metric-compatible clones first (Decree 30 asks for Times New Roman).
# TeX Gyre Termes comes first: its 1000-unit em renders right in pyHanko stamps.
_CANDIDATES = {
    "TeX Gyre Termes": ("/usr/share/texmf/fonts/opentype/public/tex-gyre/texgyretermes-{}.otf",
                        {"regular": "regular", "bold": "bold", "italic": "italic",
                         "bolditalic": "bolditalic"}),
    "Liberation Serif 2": ("/usr/share/fonts/truetype/liberation2/LiberationSerif-{}.ttf",
                           {"regular": "Regular", "bold": "Bold", "italic": "Italic",
                            "bolditalic": "BoldItalic"}),
    "FreeSerif": ("/usr/share/fonts/truetype/freefont/FreeSerif{}.ttf",
                  {"regular": "", "bold": "Bold", "italic": "Italic", "bolditalic": "BoldItalic"}),
    "DejaVu Serif": ("/usr/share/fonts/truetype/dejavu/DejaVuSerif{}.ttf",
                     {"regular": "", "bold": "-Bold", "italic": "-Italic",
                      "bolditalic": "-BoldItalic"}),
}

# Latin Extended Additional's Vietnamese block plus the letters outside it.
VIETNAMESE_CODEPOINTS = frozenset(
    list(range(0x1EA0, 0x1EFA))
    + [ord(c) for c in "ĂăÂâĐđÊêÔôƠơƯưÀàÁáÃãÈèÉéÌìÍíÒòÓóÕõÙùÚúÝýĨĩŨũ"]
)

FIX = "install one: apt-get install fonts-texgyre (or fonts-liberation2); `make setup` does it"


@lru_cache(maxsize=None)
def covers_vietnamese(path: Path) -> bool:
    """True when every Vietnamese letter has a glyph in the font's Unicode cmap."""
    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            cmap = font.getBestCmap() or {}
    except Exception:
        return False
    return VIETNAMESE_CODEPOINTS.issubset(cmap)


def available_fonts(style: str = "regular") -> list[tuple[str, Path]]:
    """(family, file) of every installed candidate that fully covers Vietnamese."""
    found = []
    for family, (pattern, names) in _CANDIDATES.items():
        path = Path(pattern.format(names[style]))
        if path.is_file() and covers_vietnamese(path):
            found.append((family, path))
    return found


def vietnamese_font(style: str = "regular") -> Path:
    """The preferred installed font file for `style`, or MissingDependency."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}")
    fonts = available_fonts(style)
    if not fonts:
        raise MissingDependency(f"no font with full Vietnamese coverage ({style}): {FIX}")
    return fonts[0][1]
