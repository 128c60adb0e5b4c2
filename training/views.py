"""Posed views: an image with its intrinsics, its world<-camera pose and what it shows.

Every source of data (the ViewpointOrbit and PickPlace environments, COLMAP models, the ROS 2
recorder) is turned into ``View`` objects; pairing and question writing only ever see these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np


@dataclass(frozen=True)
class ObjectInView:
    """Where a scene object appears in a view (from the segmentation mask)."""

    pixels: int
    u: float  # centroid column
    v: float  # centroid row
    depth: float  # median camera depth of its pixels, metres


@dataclass(frozen=True)
class SceneInfo:
    scene_id: str
    split: str
    source: str
    background: str
    objects: tuple[str, ...]  # labels, e.g. ("red duck",)


@dataclass
class View:
    view_id: str
    image: bytes  # encoded (JPEG/PNG)
    pose: np.ndarray  # 4x4 world <- camera, OpenCV axes
    intrinsics: tuple[float, float, float, float, int, int]  # fx, fy, cx, cy, width, height
    scene: SceneInfo
    camera: str = ""
    objects: dict[str, ObjectInView] = field(default_factory=dict)  # visible objects by label
    rgb: np.ndarray | None = None  # kept while a scene is processed (to draw marks), dropped after

    @property
    def width(self) -> int:
        return int(self.intrinsics[4])


def encode_image(rgb: np.ndarray, fmt: str = "jpeg", quality: int = 90) -> bytes:
    """RGB uint8 -> JPEG (default; ~10x smaller than PNG at 224 px) or PNG bytes."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.dtype} {rgb.shape}")
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if fmt == "jpeg":
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    elif fmt == "png":
        ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    else:
        raise ValueError(f"image format must be 'jpeg' or 'png', got {fmt!r}")
    if not ok:
        raise RuntimeError("OpenCV could not encode the image")
    return buf.tobytes()


def decode_image(data: bytes) -> np.ndarray:
    """Encoded bytes -> RGB uint8; a clear error for anything that is not an image."""
    arr = np.frombuffer(data, dtype=np.uint8) if data else np.zeros(0, np.uint8)
    bgr = cv2.imdecode(arr, cv2.IMREAD_COLOR) if arr.size else None
    if bgr is None:
        raise ValueError(f"not a decodable image ({len(data)} bytes, starts {bytes(data[:8])!r})")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def objects_in_view(segmentation: np.ndarray, depth: np.ndarray, bodies: dict[int, str],
                    min_pixels: int = 20) -> dict[str, ObjectInView]:
    """Per labelled body: pixel count, centroid and median depth, for bodies with >= min_pixels pixels."""
    out = {}
    for body, label in bodies.items():
        ys, xs = np.nonzero(segmentation == body)
        if len(xs) >= min_pixels:
            out[label] = ObjectInView(int(len(xs)), float(xs.mean()), float(ys.mean()), float(np.median(depth[ys, xs])))
    return out
