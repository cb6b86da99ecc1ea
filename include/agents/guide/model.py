"""The model behind the guide's pre-classification script: `get_classification_from_the_model`.

The guide sends the image (base64, as a JPEG data URL) to GPT-4o mini and reads back "cat", "dog" or
"other". This machine reaches no network, so the model is chosen here, the way a user swaps a model:

- `ENCORD_GUIDE_MODEL=package.module:function` names a function with the same signature (your own
  module calling OpenAI, a model server on your network, a local model);
- unset, `colour_stand_in` answers: a local, deterministic stand-in that recognises no animal. A
  red-dominant image is "cat", a blue-dominant one "dog", anything else (or not an image) "other".
"""

from __future__ import annotations

import base64
import binascii
import importlib
import io
import os
from collections.abc import Callable

from PIL import Image, UnidentifiedImageError

MODEL_ENV = "ENCORD_GUIDE_MODEL"
DOMINANCE = 30.0  # how far (0-255) one channel's mean must lead the others to count as dominant

Model = Callable[[str], str | None]


def get_classification_from_the_model(media_content: str) -> str | None:
    """ "cat", "dog", "other", or None when the model gave no usable answer (the script routes it "Other")."""
    return selected_model()(media_content)


def selected_model() -> Model:
    path = os.environ.get(MODEL_ENV, "").strip()
    if not path:
        return colour_stand_in
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{MODEL_ENV}={path!r} must look like 'package.module:function'")
    model: Model = getattr(importlib.import_module(module_name), attribute)
    return model


def colour_stand_in(media_content: str) -> str | None:
    try:
        image = Image.open(io.BytesIO(base64.b64decode(media_content, validate=True))).convert("RGB")
    except (binascii.Error, UnidentifiedImageError):
        return "other"
    red, green, blue = (sum(band.getdata()) / (image.width * image.height) for band in image.split())
    if red >= max(green, blue) + DOMINANCE:
        return "cat"
    if blue >= max(red, green) + DOMINANCE:
        return "dog"
    return "other"
