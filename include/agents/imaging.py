"""Small image helpers shared by the example agents: fetch a (signed) data link, simple statistics."""

from __future__ import annotations

import io
import urllib.request

import numpy as np
from PIL import Image, UnidentifiedImageError

FETCH_TIMEOUT_SECONDS = 30


def fetch_gray(url: str | None) -> np.ndarray | None:
    """The image behind an http(s) data link as a 2-D uint8 array; None when the link is not fetchable
    (an unsigned `s3://` link: ask for signed URLs in the agent's settings) or not an image."""
    if not url or not url.startswith(("http://", "https://")):
        return None
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 (http(s) only)
        data = response.read()
    try:
        return np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    except UnidentifiedImageError:  # video, PDF, audio, text...: not an image this agent can read
        return None


def brightest_region(gray: np.ndarray, percentile: float = 90.0) -> tuple[float, float, float, float]:
    """Normalised (x, y, w, h) box around the pixels at or above the given brightness percentile."""
    threshold = np.percentile(gray, percentile)
    ys, xs = np.nonzero(gray >= threshold)
    height, width = gray.shape
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    return (x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height)
