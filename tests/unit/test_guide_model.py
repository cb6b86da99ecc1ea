"""The guide's pre-classification model: the local colour stand-in, and swapping it by ENCORD_GUIDE_MODEL."""

from __future__ import annotations

import base64
import io

import pytest
from agents.guide.model import MODEL_ENV, colour_stand_in, get_classification_from_the_model
from PIL import Image


def _b64_png(colour: tuple[int, int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("utf-8")


def always_dog(media_content: str) -> str:
    return "dog"


@pytest.mark.parametrize(
    ("colour", "answer"),
    [((200, 60, 40), "cat"), ((30, 40, 210), "dog"), ((120, 120, 120), "other"), ((150, 140, 60), "other")],
)
def test_the_stand_in_answers_by_dominant_colour(colour: tuple[int, int, int], answer: str) -> None:
    assert colour_stand_in(_b64_png(colour)) == answer


def test_media_that_is_not_an_image_is_other() -> None:
    assert colour_stand_in(base64.b64encode(b"\x00\x00\x00\x18ftypmp42").decode()) == "other"
    assert colour_stand_in("not base64!") == "other"


def test_the_model_is_swapped_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    red = _b64_png((200, 60, 40))
    monkeypatch.delenv(MODEL_ENV, raising=False)
    assert get_classification_from_the_model(red) == "cat"
    monkeypatch.setenv(MODEL_ENV, "tests.unit.test_guide_model:always_dog")
    assert get_classification_from_the_model(red) == "dog"
    monkeypatch.setenv(MODEL_ENV, "tests.unit.test_guide_model")
    with pytest.raises(ValueError, match="must look like 'package.module:function'"):
        get_classification_from_the_model(red)
