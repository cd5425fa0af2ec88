"""Russian plates rendered here (DejaVu Sans Bold from matplotlib's wheel) read back
exactly, in Cyrillic letters."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import skimage.data
from PIL import Image

from services.vision.plates import find_plate_number, to_cyrillic

from .conftest import car_scene, jpeg_bytes, png_bytes


def post(client, data: bytes, name: str = "car.png", content_type: str = "image/png"):
    return client.post("/v1/plates", files={"file": (name, data, content_type)})


@pytest.mark.parametrize(
    ("number", "region"),
    [("А123ВС", "77"), ("Х777ХХ", "199"), ("М046ОР", "50"), ("Е905КТ", "178")],
)
def test_a_rendered_plate_reads_back_exactly(client, number: str, region: str) -> None:
    response = post(client, png_bytes(car_scene(number, region)))
    assert response.status_code == 200, response.text
    plates = response.json()["plates"]
    assert [plate["display"] for plate in plates] == [f"{number} {region}"]
    plate = plates[0]
    assert plate["text"] == number + region
    assert all(char.isdigit() or "А" <= char <= "Я" for char in plate["text"])  # Cyrillic only
    assert 0.5 <= plate["confidence"] <= 1
    # The box is where the plate was pasted (x 510..770, y 500..556).
    box = plate["box"]
    assert 490 <= box["left"] < box["right"] <= 790
    assert 480 <= box["top"] < box["bottom"] <= 580
    cut = Image.open(io.BytesIO(base64.b64decode(plate["plate_image"]["base64"])))
    assert cut.format == "PNG"
    assert cut.width > 2 * cut.height


def test_a_jpeg_photo_of_a_smaller_plate_reads_too(client) -> None:
    response = post(
        client, jpeg_bytes(car_scene("В321ОН", "96", plate_width=200)), "car.jpg", "image/jpeg"
    )
    assert [plate["display"] for plate in response.json()["plates"]] == ["В321ОН 96"]


def test_a_picture_without_a_plate_is_an_empty_list(client) -> None:
    # chelsea.png: a cat, CC0 (Stefan van der Walt), inside scikit-image.
    response = post(client, png_bytes(skimage.data.chelsea()))
    assert response.status_code == 200, response.text
    assert response.json()["plates"] == []
    assert response.json()["annotated_image"]["base64"]


def test_text_that_is_not_a_plate_is_not_a_plate(client) -> None:
    from PIL import ImageDraw

    from .conftest import plate_font

    image = Image.new("RGB", (800, 200), "white")
    ImageDraw.Draw(image).text((20, 60), "HELLO 2026", font=plate_font(64), fill="black")
    assert post(client, png_bytes(np.asarray(image))).json()["plates"] == []


@pytest.mark.parametrize(
    ("reading", "number"),
    [
        ("A123BC77", "А123ВС77"),  # Latin look-alikes, as PP-OCR reads them
        ("a123bc 777", "А123ВС777"),
        ("A123BC|77 RUS", "А123ВС77"),
        ("0123BC77", "О123ВС77"),  # a zero in a letter's place
        ("A1O3BC77", "А103ВС77"),  # a letter O in a digit's place
        ("HELLO", None),
        ("A123BD77", None),  # D is no plate letter
    ],
)
def test_readings_map_to_cyrillic_plate_numbers(reading: str, number: str | None) -> None:
    assert find_plate_number(reading) == number


def test_to_cyrillic_keeps_only_letters_and_digits() -> None:
    assert to_cyrillic("x 777 xx\n199\0") == "Х777ХХ199"
