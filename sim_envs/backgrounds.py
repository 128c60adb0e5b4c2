"""Procedural floor textures that are *not* rotationally symmetric.

A viewpoint question needs the scene to look different after the camera turns: a plain floor or a
checkerboard looks the same after a 90 degree turn, so the only cue would be the objects. Every
texture here changes with world azimuth, so each direction around the scene has its own look.
"""

from __future__ import annotations

import cv2
import numpy as np

BACKGROUNDS = ("hue_wheel", "stripes", "blobs")


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    hsv = np.stack([h * 179.0, s * 255.0, v * 255.0], axis=-1).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def hue_wheel(rng: np.random.Generator, size: int) -> np.ndarray:
    """Hue turns once around the centre (so azimuth is readable anywhere), with off-centre rings."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1) * 2.0 - 1.0
    az = (np.arctan2(yy, xx) / (2 * np.pi) + rng.uniform()) % 1.0
    cx, cy = rng.uniform(-0.4, 0.4, size=2)
    rings = 0.5 + 0.5 * np.sign(np.sin(np.hypot(xx - cx, yy - cy) * rng.uniform(12, 24)))
    return _hsv_to_rgb(az, np.full_like(az, rng.uniform(0.45, 0.8)), 0.55 + 0.35 * rings)


def stripes(rng: np.random.Generator, size: int) -> np.ndarray:
    """Brightness ramp along one random direction, stripes of random width along another."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1) * 2.0 - 1.0
    a, b = rng.uniform(0, 2 * np.pi, size=2)
    ramp = 0.5 + 0.5 * (np.cos(a) * xx + np.sin(a) * yy) / np.sqrt(2)
    t = np.cos(b) * xx + np.sin(b) * yy
    widths = rng.uniform(0.03, 0.2, size=40)
    edges = np.cumsum(widths) - 2.0
    band = np.searchsorted(edges, t) % 4
    hues = rng.uniform(0, 1, size=4)
    return _hsv_to_rgb(hues[band], np.full_like(t, 0.6), 0.35 + 0.6 * ramp)


def blobs(rng: np.random.Generator, size: int) -> np.ndarray:
    """Random coloured ellipses of many sizes on a tinted base: irregular in every direction."""
    base = (np.array(_hsv_to_rgb(np.array([[rng.uniform()]]), np.array([[0.3]]), np.array([[0.7]])))[0, 0])
    img = np.empty((size, size, 3), np.uint8)
    img[:] = base
    for _ in range(int(rng.integers(25, 45))):
        color = _hsv_to_rgb(np.array([[rng.uniform()]]), np.array([[rng.uniform(0.5, 1)]]),
                            np.array([[rng.uniform(0.3, 1)]]))[0, 0]
        center = tuple(int(v) for v in rng.integers(0, size, size=2))
        axes = tuple(int(v) for v in rng.integers(size // 40 + 1, size // 6, size=2))
        cv2.ellipse(img, center, axes, float(rng.uniform(0, 180)), 0, 360, tuple(int(c) for c in color), -1)
    return img


def compass(rng: np.random.Generator, size: int) -> np.ndarray:
    """A hue wheel anchored to the world: the same hue always lies in the same world direction.

    Any single view then shows which way the camera looks (like a compass), where ``hue_wheel``'s random
    offset only lets two views of one scene be compared. Not in the random pool; ask for it by name.
    """
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1) * 2.0 - 1.0
    az = (np.arctan2(yy, xx) / (2 * np.pi)) % 1.0
    cx, cy = rng.uniform(-0.4, 0.4, size=2)
    rings = 0.5 + 0.5 * np.sign(np.sin(np.hypot(xx - cx, yy - cy) * rng.uniform(12, 24)))
    return _hsv_to_rgb(az, np.full_like(az, 0.7), 0.55 + 0.35 * rings)


def _heading_floor(rng: np.random.Generator, size: int, start: float | None):
    """The ``horizon`` family's shared cue: grid coordinates, hue by azimuth (random offset) and saturation
    growing from grey at radius ``start`` (drawn from 0.15-0.3 after the offset when None) to full 0.25 out."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1) * 2.0 - 1.0
    az = (np.arctan2(yy, xx) / (2 * np.pi) + rng.uniform()) % 1.0
    start = rng.uniform(0.15, 0.3) if start is None else start
    return xx, yy, az, np.clip((np.hypot(xx, yy) - start) / 0.25, 0.0, 1.0)


def horizon(rng: np.random.Generator, size: int) -> np.ndarray:
    """A hue wheel that is grey at the centre and grows saturated with distance from it.

    Around objects at the centre, a camera's view is mostly floor *behind* the objects, which lies
    farther out (perspective), so the far, saturated floor outweighs the near, greyish one: the view's
    average colour points at the camera's heading on the colour wheel. Two views' average colours then
    tell which way the camera went around the objects, a cue that needs nothing found in the image
    (on ``hue_wheel`` every view holds the whole wheel around the object, and its average says little).
    The tiny preset learns the orbit questions here, and nowhere else so far, once the strong version of
    the comparison (``training.sanity.hue_turn_dataset``) is mixed into its training (docs/training-log.md).
    The hue's offset is random per scene, as on ``hue_wheel``.
    """
    # grey out to a quarter of the half-width (0.37 m on the 3 m floor), fully saturated from half of it:
    # the camera stands on grey (the near floor would otherwise show the opposite hue and cancel the far
    # floor's), and no brightness pattern, which only adds to what the colour average must see through
    _, _, az, sat = _heading_floor(rng, size, start=0.25)
    return _hsv_to_rgb(az, sat, np.full_like(az, rng.uniform(0.75, 0.9)))


def horizon_tiles(rng: np.random.Generator, size: int) -> np.ndarray:
    """``horizon`` seen through a different floor: the same heading cue under a tiled brightness pattern.

    A held-out style for models trained on ``horizon``: hue by azimuth and saturation by distance as
    there (so the view's average colour still follows the heading), but a checkerboard of bright and dark
    tiles of random size and angle, and the saturation ramp starting at a random radius. A model that
    reads the heading from the average colour should keep its accuracy here; one that learned
    ``horizon``'s exact look should not.
    """
    xx, yy, az, sat = _heading_floor(rng, size, start=None)
    turn, tiles = rng.uniform(0, np.pi), rng.integers(6, 14)
    u, v = np.cos(turn) * xx + np.sin(turn) * yy, -np.sin(turn) * xx + np.cos(turn) * yy
    bright = (np.floor((u + 1) * tiles / 2) + np.floor((v + 1) * tiles / 2)) % 2
    return _hsv_to_rgb(az, sat, np.where(bright > 0, 0.92, 0.68))


def horizon_spots(rng: np.random.Generator, size: int) -> np.ndarray:
    """``horizon`` with soft bright and dark spots over it: a second look of the cue, for training.

    Hue by azimuth and saturation by distance as on ``horizon``, the grey centre's radius drawn at random
    (as ``horizon_tiles`` does), and the brightness varied by 15-30 soft round spots instead of
    tiles. Trained on beside ``horizon`` so that the model sees the cue under more than one floor;
    ``horizon_tiles`` stays held out (hard-edged tiles are a pattern these spots do not show).
    """
    xx, yy, az, sat = _heading_floor(rng, size, start=None)
    value = np.full_like(az, rng.uniform(0.75, 0.85))
    for _ in range(int(rng.integers(15, 30))):
        cx, cy = rng.uniform(-1, 1, size=2)
        spot = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * rng.uniform(0.05, 0.18) ** 2))
        value += rng.choice([-1, 1]) * 0.2 * spot
    return _hsv_to_rgb(az, sat, np.clip(value, 0.55, 0.98))


def horizon_waves(rng: np.random.Generator, size: int) -> np.ndarray:
    """``horizon`` under soft parallel waves of brightness: a third look of the cue, for GRPO's broader mix.

    Hue by azimuth and saturation by distance as on ``horizon`` (grey centre of random radius, as on
    ``horizon_tiles``), and the brightness a sum of two sine waves of random direction and period. Soft and
    periodic, so neither the spots SFT trains on nor the hard-edged tiles held out for evaluation.
    """
    xx, yy, az, sat = _heading_floor(rng, size, start=None)
    value = np.full_like(az, rng.uniform(0.75, 0.85))
    for _ in range(2):
        turn, period, phase = rng.uniform(0, np.pi), rng.uniform(0.2, 0.6), rng.uniform(0, 2 * np.pi)
        value += 0.1 * np.sin(2 * np.pi * (np.cos(turn) * xx + np.sin(turn) * yy) / period + phase)
    return _hsv_to_rgb(az, sat, np.clip(value, 0.55, 0.98))


def colour_angle(image: np.ndarray) -> float:
    """An RGB image's average colour as an angle on the colour wheel (radians; opponent axes R-(G+B)/2, G-B).

    On ``horizon`` floors it follows the camera's heading; ``bench/cues.py`` scores the rule built on it.
    """
    rgb = image.reshape(-1, 3).astype(np.float64).mean(0) / 255.0
    return float(np.arctan2(np.sqrt(3) / 2 * (rgb[1] - rgb[2]), rgb[0] - 0.5 * (rgb[1] + rgb[2])))


GENERATORS = {"hue_wheel": hue_wheel, "stripes": stripes, "blobs": blobs, "compass": compass,
              "horizon": horizon, "horizon_tiles": horizon_tiles, "horizon_spots": horizon_spots,
              "horizon_waves": horizon_waves}


def make_background(style: str, rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """An RGB uint8 texture of the named style ("random" picks one with ``rng``)."""
    if style == "random":
        style = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    if style not in GENERATORS:
        raise ValueError(f"unknown background {style!r}; choose one of: random, {', '.join(GENERATORS)}")
    return GENERATORS[style](rng, size)
