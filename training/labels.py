"""Viewpoint labels, computed from camera poses only (never from pixels).

Every rule the data engine uses to say how a camera moved between two views lives here, next to
its threshold, and ``tests/test_labels.py`` checks each on hand-made poses. Poses are world<-camera
4x4 transforms with OpenCV camera axes (x right, y down, z forward), world z up (DESIGN.md).

Conventions
-----------
* **Heading** of a view: the direction of its optical axis (camera z) projected onto the world's
  horizontal plane, ``atan2(z_y, z_x)``. Undefined for a camera looking (nearly) straight up or down
  (|z_z| > 0.95): such views are rejected.
* **Yaw** between views 1 -> 2: ``wrap(heading_2 - heading_1)`` in (-180, 180] degrees.
  Positive = counter-clockwise seen from above = the camera **turned left**.
* **Horizontal angle of a pair**: ``|yaw|``. For cameras orbiting one object and looking at it this
  is exactly the azimuth difference around the object, the quantity the paper's 20–100° range
  (Viewpoint-100K) constrains.
* **Lateral translation**: the displacement of the camera centre, ``c2 - c1``, along camera 1's
  *horizontal* right axis (camera 1's x axis with its vertical part removed). Positive = the camera
  **moved right** from its own point of view. ``forward`` is the same along camera 1's horizontal
  optical axis.

Labels
------
* ego-centric translation: ``|lateral| < translation_threshold`` (default 2 cm) -> "no movement",
  else "right" if lateral > 0, else "left".
* object-centric translation: the object is taken to face camera 1 (it looks back at the viewer),
  so its left and right are the camera's mirrored: ego "right" -> object "left" and vice versa;
  "no movement" stays.
* ego-centric rotation: ``|yaw| < rotation_threshold`` (default 5°) -> "no rotation", else "left"
  if yaw > 0, else "right".
* angle bins: direction (left/right) + magnitude bin ``[20, 45) -> 30°, [45, 75) -> 60°,
  [75, 100] -> 90°``; six signed options.
* numeric: the signed yaw in whole degrees (positive = left), scored within a tolerance.

Pairs whose value lies within one threshold of a decision boundary (``threshold <= |x| < 2 *
threshold``, or within 2° of an angle-bin edge) are *ambiguous*: the engine does not ask about them,
so no label in a dataset depends on a hair's breadth.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

TRANSLATION_THRESHOLD = 0.02  # metres of lateral motion below which the camera "did not move"
ROTATION_THRESHOLD = 5.0  # degrees of yaw below which the camera "did not rotate"
ANGLE_BINS = ((20.0, 45.0, 30), (45.0, 75.0, 60), (75.0, 100.0, 90))  # [lo, hi) -> option angle
ANGLE_BIN_MARGIN = 2.0  # degrees around a bin edge that make a pair ambiguous
MAX_VERTICAL_AXIS = 0.95  # |z_z| above this: the camera looks too straight up/down to have a heading


def _horizontal(v: np.ndarray) -> np.ndarray:
    h = np.array([v[0], v[1], 0.0])
    n = np.linalg.norm(h)
    if n < 1e-9:
        raise ValueError("vector has no horizontal component")
    return h / n


def heading_deg(T_wc: np.ndarray) -> float:
    """Heading of the optical axis in the world xy-plane, degrees from +x towards +y."""
    z = np.asarray(T_wc, dtype=float)[:3, 2]
    if abs(z[2]) > MAX_VERTICAL_AXIS:
        raise ValueError(f"camera looks (nearly) straight {'down' if z[2] < 0 else 'up'}: its heading is undefined")
    return float(np.degrees(np.arctan2(z[1], z[0])))


def wrap_deg(angle: float) -> float:
    """Wrap to (-180, 180]."""
    a = (angle + 180.0) % 360.0 - 180.0
    return 180.0 if a == -180.0 else a


@dataclass(frozen=True)
class RelativeMotion:
    """How camera 2 sits relative to camera 1; the numbers every label derives from."""

    yaw_deg: float  # + = turned left
    lateral_m: float  # + = moved right (camera 1's horizontal right axis)
    forward_m: float  # + = moved forward (camera 1's horizontal optical axis)
    vertical_m: float  # + = moved up (world z)
    distance_m: float  # |c2 - c1|

    @property
    def horizontal_angle_deg(self) -> float:
        return abs(self.yaw_deg)

    def as_dict(self) -> dict:
        return asdict(self)


def relative_motion(T1: np.ndarray, T2: np.ndarray) -> RelativeMotion:
    T1, T2 = np.asarray(T1, dtype=float), np.asarray(T2, dtype=float)
    for T in (T1, T2):
        if T.shape != (4, 4) or not np.all(np.isfinite(T)):
            raise ValueError("a pose must be a finite 4x4 matrix")
    yaw = wrap_deg(heading_deg(T2) - heading_deg(T1))
    d = T2[:3, 3] - T1[:3, 3]
    right = _horizontal(T1[:3, 0])
    ahead = _horizontal(T1[:3, 2])
    return RelativeMotion(yaw_deg=yaw, lateral_m=float(d @ right), forward_m=float(d @ ahead),
                          vertical_m=float(d[2]), distance_m=float(np.linalg.norm(d)))


# -- the rules ------------------------------------------------------------------------------
def ego_translation(m: RelativeMotion, threshold: float = TRANSLATION_THRESHOLD) -> str:
    if abs(m.lateral_m) < threshold:
        return "no movement"
    return "right" if m.lateral_m > 0 else "left"


def mirrored(direction: str) -> str:
    """left <-> right, anything else ("no movement") as it is: seen by someone facing the other way."""
    return {"left": "right", "right": "left"}.get(direction, direction)


def object_translation(m: RelativeMotion, threshold: float = TRANSLATION_THRESHOLD) -> str:
    return mirrored(ego_translation(m, threshold))


def ego_rotation(m: RelativeMotion, threshold: float = ROTATION_THRESHOLD) -> str:
    if abs(m.yaw_deg) < threshold:
        return "no rotation"
    return "left" if m.yaw_deg > 0 else "right"


def angle_bin(m: RelativeMotion) -> str | None:
    """"left 30°" etc., or None when the yaw lies outside the bins."""
    mag = abs(m.yaw_deg)
    for lo, hi, centre in ANGLE_BINS:
        if lo <= mag < hi or (hi == ANGLE_BINS[-1][1] and mag == hi):
            return f"{'left' if m.yaw_deg > 0 else 'right'} {centre}°"
    return None


def angle_bin_options() -> list[str]:
    return [f"{d} {c}°" for d in ("left", "right") for _, _, c in ANGLE_BINS]


def numeric_yaw(m: RelativeMotion) -> int:
    return int(round(m.yaw_deg))


def is_ambiguous(m: RelativeMotion, family: str, translation_threshold: float = TRANSLATION_THRESHOLD,
                 rotation_threshold: float = ROTATION_THRESHOLD) -> bool:
    """True when the pair sits too close to a decision boundary of ``family`` to ask about it."""
    if family in ("ego_translation", "object_translation"):
        return translation_threshold <= abs(m.lateral_m) < 2 * translation_threshold
    if family == "ego_rotation":
        return rotation_threshold <= abs(m.yaw_deg) < 2 * rotation_threshold
    if family == "angle_bin":
        mag = abs(m.yaw_deg)
        edges = sorted({e for lo, hi, _ in ANGLE_BINS for e in (lo, hi)})
        return angle_bin(m) is None or any(abs(mag - e) < ANGLE_BIN_MARGIN for e in edges[1:-1])
    if family == "numeric_yaw":
        return False
    raise ValueError(f"unknown viewpoint family {family!r}")


def leftmost(pixels_u: dict[str, float], margin_px: float) -> str | None:
    """The object with the smallest image x, if it leads the next one by ``margin_px``; else None."""
    if len(pixels_u) < 2:
        return None
    order = sorted(pixels_u.items(), key=lambda kv: kv[1])
    return order[0][0] if order[1][1] - order[0][1] >= margin_px else None


def rightmost(pixels_u: dict[str, float], margin_px: float) -> str | None:
    return leftmost({k: -v for k, v in pixels_u.items()}, margin_px)
