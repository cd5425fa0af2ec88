"""Russian licence plates: OpenCV's Haar cascade for Russian plates proposes regions,
PP-OCR (RapidOCR, ONNX) reads the text in each region and in the whole picture, and what
reads as a plate number is kept.

PP-OCR's recogniser knows Latin letters; a Russian plate uses only the twelve Cyrillic
letters that look like Latin ones (А В Е К М Н О Р С Т У Х), so they are mapped back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

LATIN_TO_CYRILLIC = str.maketrans("ABEKMHOPCTYX", "АВЕКМНОРСТУХ")
# Digits the recogniser may give in a letter position, and letters in a digit position.
LETTER_FOR_DIGIT = {"0": "О", "8": "В", "4": "А", "7": "Т"}
DIGIT_FOR_LETTER = {"О": "0", "В": "8", "З": "3", "Б": "6", "Т": "7"}
PLATE_LETTERS = "АВЕКМНОРСТУХ"
# Private cars: letter, three digits, two letters, region of two or three digits.
PLATE_PATTERN = re.compile(rf"([{PLATE_LETTERS}])(\d{{3}})([{PLATE_LETTERS}]{{2}})(\d{{2,3}})")
SHAPE = "LDDDLLRRR"
WHOLE_PICTURE_SIDE = 960  # letter/digit/region positions, used to fix look-alike confusions


@dataclass
class Plate:
    box: tuple[int, int, int, int]  # left, top, right, bottom
    text: str  # "А123ВС77"
    display: str  # "А123ВС 77", as printed on the plate
    confidence: float


def to_cyrillic(raw: str) -> str:
    """Upper-case letters and digits of an OCR reading, Latin look-alikes made Cyrillic."""
    return re.sub(r"[^0-9А-ЯЁ]", "", raw.upper().translate(LATIN_TO_CYRILLIC))


def fix_positions(text: str) -> str:
    """Swap a digit read in a letter's place (or the reverse) for its look-alike."""
    if len(text) not in (8, 9):
        return text
    fixed = []
    for char, kind in zip(text, SHAPE, strict=False):
        if kind == "L" and char.isdigit():
            char = LETTER_FOR_DIGIT.get(char, char)
        elif kind in "DR" and not char.isdigit():
            char = DIGIT_FOR_LETTER.get(char, char)
        fixed.append(char)
    return "".join(fixed)


def find_plate_number(raw: str) -> str | None:
    """The plate number in an OCR reading, in Cyrillic, or None."""
    text = to_cyrillic(raw)
    for candidate in (text, fix_positions(text)):
        match = PLATE_PATTERN.search(candidate)
        if match:
            return "".join(match.groups())
    return None


def display_form(number: str) -> str:
    return f"{number[:6]} {number[6:]}"


class PlateReader:
    """Holds the cascade and the OCR engine; one per worker slot (not shared by threads)."""

    def __init__(self, threads: int = 1) -> None:
        from rapidocr_onnxruntime import RapidOCR

        path = cv2.data.haarcascades + "haarcascade_russian_plate_number.xml"
        self.cascade = cv2.CascadeClassifier(path)
        if self.cascade.empty():
            raise RuntimeError(f"cannot load the plate cascade {path}")
        # Detection at the picture's own scale (at most 960 px a side) instead of the
        # default upscaling of the short side to 736 px, which made a plate crop slow;
        # plates are upright, so the text-direction classifier is skipped.
        self.ocr = RapidOCR(
            use_cls=False,
            det_limit_type="max",
            det_limit_side_len=960,
            intra_op_num_threads=threads,
            inter_op_num_threads=1,
        )
        # The first inference initialises the ONNX sessions: do it now, not in a request.
        self.ocr(np.full((64, 256, 3), 255, dtype=np.uint8))

    def regions(self, rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        found = self.cascade.detectMultiScale(
            gray, scaleFactor=1.1, minNeighbors=3, minSize=(40, 12)
        )
        return [(int(x), int(y), int(x + w), int(y + h)) for x, y, w, h in found]

    def read_lines(self, rgb: np.ndarray) -> list[tuple[tuple[int, int, int, int], str, float]]:
        """Text lines in the picture: boxes on one line side by side are joined."""
        result, _ = self.ocr(np.ascontiguousarray(rgb[:, :, ::-1]))
        items = []
        for quad, text, score in result or []:
            xs = [p[0] for p in quad]
            ys = [p[1] for p in quad]
            items.append(
                ((int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys))), str(text), float(score))
            )
        items.sort(key=lambda item: item[0][0])
        lines: list[list[Any]] = []
        for box, text, score in items:
            height = box[3] - box[1]
            for line in lines:
                lbox = line[0]
                lheight = lbox[3] - lbox[1]
                same_row = box[1] < lbox[3] and lbox[1] < box[3]
                near = box[0] - lbox[2] < 1.5 * max(height, lheight)
                if same_row and near:
                    line[0] = (
                        min(lbox[0], box[0]),
                        min(lbox[1], box[1]),
                        max(lbox[2], box[2]),
                        max(lbox[3], box[3]),
                    )
                    line[1] += text
                    line[2] = min(line[2], score)
                    break
            else:
                lines.append([box, text, score])
        return [(tuple(line[0]), line[1], line[2]) for line in lines]  # type: ignore[misc]

    def read(self, rgb: np.ndarray) -> list[Plate]:
        plates: list[Plate] = []
        height, width = rgb.shape[:2]
        for left, top, right, bottom in self.regions(rgb):
            pad_x, pad_y = (right - left) // 4, (bottom - top) // 2
            x0, y0 = max(0, left - pad_x), max(0, top - pad_y)
            x1, y1 = min(width, right + pad_x), min(height, bottom + pad_y)
            crop = rgb[y0:y1, x0:x1]
            scale = max(1.0, 160 / max(1, crop.shape[0]))
            if scale > 1:
                crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
            for box, text, score in self.read_lines(crop):
                number = find_plate_number(text)
                if number:
                    mapped = (
                        x0 + int(box[0] / scale),
                        y0 + int(box[1] / scale),
                        x0 + int(box[2] / scale),
                        y0 + int(box[3] / scale),
                    )
                    plates.append(Plate(mapped, number, display_form(number), score))
        if not plates:
            # The cascade missed (a tilted or unusual plate): read the whole picture,
            # at most WHOLE_PICTURE_SIDE pixels a side to bound the time it takes.
            shrink = min(1.0, WHOLE_PICTURE_SIDE / max(height, width))
            small = (
                rgb
                if shrink == 1.0
                else cv2.resize(rgb, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
            )
            for box, text, score in self.read_lines(small):
                number = find_plate_number(text)
                if number:
                    whole = (
                        int(box[0] / shrink),
                        int(box[1] / shrink),
                        int(box[2] / shrink),
                        int(box[3] / shrink),
                    )
                    plates.append(Plate(whole, number, display_form(number), score))
        return deduplicate(plates)


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over the smaller box's area."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height / max(1, smaller)


def deduplicate(plates: list[Plate]) -> list[Plate]:
    """One plate per place: the most confident reading wins."""
    kept: list[Plate] = []
    for plate in sorted(plates, key=lambda p: -p.confidence):
        if all(overlap(plate.box, other.box) < 0.5 for other in kept):
            kept.append(plate)
    return sorted(kept, key=lambda p: (p.box[1], p.box[0]))


def annotate(rgb: np.ndarray, plates: list[Plate]) -> np.ndarray:
    image = np.ascontiguousarray(rgb.copy())
    for plate in plates:
        left, top, right, bottom = plate.box
        cv2.rectangle(image, (left, top), (right, bottom), (0, 255, 0), 2)
    return image


def cut_out(rgb: np.ndarray, plate: Plate, margin: float = 0.08) -> np.ndarray:
    left, top, right, bottom = plate.box
    pad_x = int((right - left) * margin)
    pad_y = int((bottom - top) * margin * 2)
    height, width = rgb.shape[:2]
    return rgb[
        max(0, top - pad_y) : min(height, bottom + pad_y),
        max(0, left - pad_x) : min(width, right + pad_x),
    ]
