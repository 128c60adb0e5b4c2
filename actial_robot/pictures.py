"""Pictures people would rather look at than read: multi-view grids and episode animations."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageDraw, ImageFont


def _font(size: int = 12):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def label(image: np.ndarray, text: str, size: int = 12) -> np.ndarray:
    """A copy of ``image`` with ``text`` on a dark band at the top."""
    im = Image.fromarray(image)
    d = ImageDraw.Draw(im)
    band = size + 6
    d.rectangle([0, 0, im.width, band], fill=(0, 0, 0))
    d.text((4, 2), text, fill=(255, 255, 255), font=_font(size))
    return np.asarray(im)


def grid(rows: list[list[np.ndarray]], pad: int = 2) -> np.ndarray:
    """Tile equally sized RGB images (rows x columns) with a white gap between them."""
    h, w = rows[0][0].shape[:2]
    n_cols = max(len(r) for r in rows)
    out = np.full((len(rows) * (h + pad) + pad, n_cols * (w + pad) + pad, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            y, x = pad + i * (h + pad), pad + j * (w + pad)
            out[y:y + h, x:x + w] = img
    return out


def save_png(image: np.ndarray, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def save_gif(frames: list[np.ndarray], path: str | Path, fps: int = 8) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, np.stack(frames), duration=1000 / fps, loop=0)
    return path
