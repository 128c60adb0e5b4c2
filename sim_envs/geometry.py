"""Camera geometry in the project's fixed convention (DESIGN.md).

World: z up, metres. Camera frame: OpenCV's — x right, y down, z forward (optical axis).
A pose is the 4x4 homogeneous transform world <- camera (``T_wc``): its columns 0..2 are the
camera axes expressed in world coordinates, column 3 is the camera centre.

Intrinsics follow OpenCV too: pixel (u, v) = (fx * X/Z + cx, fy * Y/Z + cy) with the *centre* of
the top-left pixel at (0, 0). PyBullet wants OpenGL matrices (camera looks down -z, y up, clip
space in [-1, 1]); the two helpers at the bottom convert exactly, so a point projected with the
reported intrinsics and pose lands on the pixel PyBullet rasterised it to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORLD_UP = np.array([0.0, 0.0, 1.0])
# OpenCV camera axes -> OpenGL camera axes (flip y and z).
CV_TO_GL = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics, OpenCV convention (pixel centres at integer coordinates)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_fov(cls, fov_y_deg: float, width: int, height: int) -> "Intrinsics":
        """Square pixels, principal point at the image centre, vertical field of view in degrees."""
        fy = (height / 2.0) / np.tan(np.deg2rad(fov_y_deg) / 2.0)
        return cls(fx=float(fy), fy=float(fy), cx=(width - 1) / 2.0, cy=(height - 1) / 2.0,
                   width=int(width), height=int(height))

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def as_dict(self) -> dict:
        return {"fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy,
                "width": self.width, "height": self.height}


def normalize(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    if n < 1e-12:
        raise ValueError(f"cannot normalise a zero-length vector {v}")
    return v / n


def rot_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def quat_from_matrix(R: np.ndarray) -> np.ndarray:
    """(x, y, z, w) unit quaternion of a rotation matrix (Shepperd's method: stable for every angle)."""
    R = np.asarray(R, dtype=float)
    t = np.trace(R)
    if t > 0:
        s = 2.0 * np.sqrt(t + 1.0)
        q = [(R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s, 0.25 * s]
    else:
        i = int(np.argmax(np.diag(R)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + R[i, i] - R[j, j] - R[k, k])
        q = [0.0, 0.0, 0.0, (R[k, j] - R[j, k]) / s]
        q[i] = 0.25 * s
        q[j] = (R[j, i] + R[i, j]) / s
        q[k] = (R[k, i] + R[i, k]) / s
    q = np.asarray(q)
    return q / np.linalg.norm(q)


def matrix_from_quat(q) -> np.ndarray:
    x, y, z, w = np.asarray(q, dtype=float) / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def make_pose(rotation: np.ndarray, translation) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = rotation
    T[:3, 3] = np.asarray(translation, dtype=float)
    return T


def look_at(eye, target, up=WORLD_UP, roll: float = 0.0) -> np.ndarray:
    """World<-camera pose of a camera at ``eye`` looking at ``target``.

    The image's "up" (-y) is as close to ``up`` as possible; ``roll`` (radians) then turns the
    camera about its optical axis, positive = clockwise as seen in the image (x towards y).
    """
    eye = np.asarray(eye, dtype=float)
    z = normalize(np.asarray(target, dtype=float) - eye)
    up = np.asarray(up, dtype=float)
    if abs(np.dot(z, normalize(up))) > 0.999:  # looking straight along `up`: pick any sideways axis
        up = np.array([0.0, 1.0, 0.0]) if abs(z[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = normalize(np.cross(z, up))
    y = np.cross(z, x)
    R = np.stack([x, y, z], axis=1) @ rot_z(roll)
    return make_pose(R, eye)


def orbit_pose(target, azimuth_deg: float, elevation_deg: float, distance: float,
               roll_deg: float = 0.0) -> np.ndarray:
    """Camera on a sphere around ``target``, looking at it.

    azimuth: angle in the world xy-plane from +x towards +y of the camera's position about the
    target; elevation: angle above the horizontal plane; roll about the optical axis.
    """
    az, el = np.deg2rad(azimuth_deg), np.deg2rad(elevation_deg)
    offset = distance * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    target = np.asarray(target, dtype=float)
    return look_at(target + offset, target, roll=np.deg2rad(roll_deg))


def project(points_world: np.ndarray, intrinsics: Intrinsics, T_wc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project world points (N, 3) to pixels (N, 2) and their camera depth z (N,)."""
    pts = np.atleast_2d(np.asarray(points_world, dtype=float))
    T_cw = np.linalg.inv(T_wc)
    cam = pts @ T_cw[:3, :3].T + T_cw[:3, 3]
    z = cam[:, 2]
    uv = np.stack([intrinsics.fx * cam[:, 0] / z + intrinsics.cx,
                   intrinsics.fy * cam[:, 1] / z + intrinsics.cy], axis=1)
    return uv, z


def gl_view_matrix(T_wc: np.ndarray) -> list[float]:
    """PyBullet view matrix (column-major OpenGL world->camera) for an OpenCV world<-camera pose."""
    T_wgl = T_wc.copy()
    T_wgl[:3, :3] = T_wc[:3, :3] @ CV_TO_GL
    return list(np.linalg.inv(T_wgl).flatten(order="F"))


def gl_projection_matrix(intr: Intrinsics, near: float, far: float) -> list[float]:
    """PyBullet projection matrix (column-major) that rasterises exactly like ``intr``.

    PyBullet's TinyRenderer samples pixel column i at x_ndc = 2 i / w - 1 and returns rows top
    first, with row r sampled at y_ndc = 1 - 2 (r + 1) / h (measured with small markers; see
    tests/test_cameras.py). Matching those sample points to OpenCV's pixel centres gives the terms
    below, so a point projected with ``intr`` lands on pixel (round(u), round(v)).
    """
    w, h = intr.width, intr.height
    P = np.zeros((4, 4))
    P[0, 0] = 2.0 * intr.fx / w
    P[0, 2] = 1.0 - 2.0 * intr.cx / w
    P[1, 1] = 2.0 * intr.fy / h
    P[1, 2] = 2.0 * (intr.cy + 1.0) / h - 1.0
    P[2, 2] = -(far + near) / (far - near)
    P[2, 3] = -2.0 * far * near / (far - near)
    P[3, 2] = -1.0
    return list(P.flatten(order="F"))


def depth_buffer_to_metric(depth_buffer: np.ndarray, near: float, far: float) -> np.ndarray:
    """OpenGL depth buffer values in [0, 1] -> distance along the optical axis (camera z), metres."""
    d = np.asarray(depth_buffer, dtype=np.float64)
    return (far * near / (far - (far - near) * d)).astype(np.float32)


def yaw_of(T_wc: np.ndarray) -> float:
    """Heading of the camera's optical axis in the world xy-plane (radians, from +x towards +y)."""
    z = T_wc[:3, 2]
    return float(np.arctan2(z[1], z[0]))
