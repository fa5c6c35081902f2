"""The one wrapper around Tesseract: a persistent, single-threaded engine per worker.

Tesseract with unbounded OpenMP is 3–5× slower on small machines, so the thread limit
is set before the library loads; parallelism comes from one engine per core instead.
"""
import os
import unicodedata
from dataclasses import dataclass
from functools import cached_property

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from PIL import Image  # noqa: E402

from sohoa.cli.errors import MissingDependency  # noqa: E402

from .pdfpage import Line, Word  # noqa: E402

OSD_SCALE = 0.5  # orientation detection is as right at half size, and ~30% cheaper
DEFAULT_TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"


@dataclass(frozen=True)
class Orientation:
    turn: int  # degrees clockwise that make the page upright
    confidence: float  # Tesseract OSD confidence; below ~2 it is a guess


@dataclass(frozen=True)
class Recognition:
    lines: tuple[Line, ...]
    mean_confidence: float  # 0–100, Tesseract's mean word confidence

    @property
    def text(self) -> str:
        return "\n".join(" ".join(w.text for w in line.words) for line in self.lines)


def tessdata_dir() -> str:
    return os.environ.get("TESSDATA_PREFIX") or DEFAULT_TESSDATA


class Engine:
    """Tesseract loaded once; call from one thread only."""

    def __init__(self, lang: str = "vie", tessdata: str | None = None):
        try:
            import tesserocr
        except ImportError as exc:  # pragma: no cover - a broken install
            raise MissingDependency("tesserocr is not installed: run `make setup`") from exc
        self._tesserocr = tesserocr
        self.lang = lang
        self.tessdata = tessdata or tessdata_dir()
        for needed in (*lang.split("+"), "osd"):
            if not os.path.isfile(os.path.join(self.tessdata, f"{needed}.traineddata")):
                raise MissingDependency(
                    f"Tesseract language data '{needed}' is missing in {self.tessdata}: "
                    f"apt-get install tesseract-ocr-{needed}")
        self._api = tesserocr.PyTessBaseAPI(path=self.tessdata, lang=lang,
                                            psm=tesserocr.PSM.AUTO)

    @property
    def version(self) -> str:
        return self.probe_version()

    @staticmethod
    def probe_version() -> str:
        """"tesseract 5.5.4": the engine that did the work, for caches and reports."""
        import tesserocr

        return "tesseract " + tesserocr.tesseract_version().split()[1]

    @cached_property
    def _osd(self):
        return self._tesserocr.PyTessBaseAPI(path=self.tessdata, lang="osd",
                                             psm=self._tesserocr.PSM.OSD_ONLY)

    def orientation(self, image: Image.Image, dpi: int = 300) -> Orientation:
        small = image.reduce(round(1 / OSD_SCALE)) if dpi >= 250 else image
        self._osd.SetImage(small)
        self._osd.SetSourceResolution(max(70, int(dpi * small.width / image.width)))
        try:
            result = self._osd.DetectOrientationScript()
        except RuntimeError:  # too little text to tell
            result = None
        if not result:
            return Orientation(0, 0.0)
        return Orientation((360 - result["orient_deg"]) % 360, float(result["orient_conf"]))

    def recognize(self, image: Image.Image, dpi: int = 300) -> Recognition:
        self._set(image, dpi)
        self._api.Recognize()
        return Recognition(tuple(self._lines()), float(self._api.MeanTextConf()))

    def read_line(self, image: Image.Image, dpi: int = 300) -> tuple[str, float]:
        """One text line read on its own (a crop the layout pointed at): its NFC text
        and Tesseract's mean confidence (0–100)."""
        PSM = self._tesserocr.PSM
        self._api.SetPageSegMode(PSM.SINGLE_LINE)
        try:
            self._set(image, dpi)
            text = self._api.GetUTF8Text() or ""
            confidence = float(self._api.MeanTextConf())
        finally:
            self._api.SetPageSegMode(PSM.AUTO)
        return unicodedata.normalize("NFC", " ".join(text.split())), confidence

    def _set(self, image: Image.Image, dpi: int) -> None:
        self._api.SetImage(image)
        self._api.SetSourceResolution(int(dpi))

    def _lines(self):
        RIL = self._tesserocr.RIL
        iterator = self._api.GetIterator()
        if iterator is None:
            return
        words: list[Word] = []
        box = baseline = None
        for word in self._tesserocr.iterate_level(iterator, RIL.WORD):
            if word.IsAtBeginningOf(RIL.TEXTLINE):
                if words:
                    yield Line(box, baseline, tuple(words))
                words, box = [], word.BoundingBox(RIL.TEXTLINE)
                baseline = _hocr_baseline(box, word.Baseline(RIL.TEXTLINE))
            text = unicodedata.normalize("NFC", (word.GetUTF8Text(RIL.WORD) or "").strip())
            if text and box is not None:
                words.append(Word(text, word.BoundingBox(RIL.WORD), word.Confidence(RIL.WORD)))
        if words:
            yield Line(box, baseline, tuple(words))


def _hocr_baseline(box, points) -> tuple[float, float] | None:
    """Tesseract's baseline end points as hOCR's (slope, offset from the box's bottom-left)."""
    if not points or box is None:
        return None
    (x1, y1), (x2, y2) = points
    slope = (y2 - y1) / (x2 - x1) if x2 != x1 else 0.0
    y_at_left = y1 + slope * (box[0] - x1)
    return slope, y_at_left - box[3]
