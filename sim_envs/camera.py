"""Named cameras and the rig that renders them.

Three kinds of camera, all described by a ``CameraConfig``:

* ``fixed``  – at ``position`` looking at ``target`` (then ``roll`` about the optical axis);
* ``orbit``  – on a sphere around ``target``: ``azimuth`` / ``elevation`` (degrees), ``distance`` (m),
  ``roll`` (degrees); the rig can move it (``CameraRig.set_orbit``);
* ``wrist``  – rigidly mounted on a robot link (``link``) at ``offset`` in that link's frame, looking
  at ``look_at`` (also in the link frame).

Every render returns a ``CameraView``: RGB, metric depth, segmentation (PyBullet body ids, -1 for
background), the intrinsics and the 4x4 world<-camera pose in the OpenCV convention of
``sim_envs.geometry``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pybullet as p

from . import geometry as geo
from .bullet import Simulation

CAMERA_KINDS = ("fixed", "orbit", "wrist")


@dataclass
class CameraConfig:
    name: str
    kind: str = "fixed"
    width: int = 224
    height: int = 224
    fov: float = 60.0  # vertical field of view, degrees
    near: float = 0.02
    far: float = 6.0
    roll: float = 0.0  # degrees, fixed and orbit cameras
    # fixed
    position: tuple[float, float, float] = (1.0, 0.0, 0.6)
    target: tuple[float, float, float] = (0.0, 0.0, 0.0)  # also the orbit centre
    # orbit
    azimuth: float = 0.0
    elevation: float = 30.0
    distance: float = 1.0
    # wrist
    link: str = "panda_hand"
    offset: tuple[float, float, float] = (0.06, 0.0, 0.0)
    look_at: tuple[float, float, float] = (0.0, 0.0, 0.3)

    def __post_init__(self):
        if self.kind not in CAMERA_KINDS:
            raise ValueError(f"camera {self.name!r}: unknown kind {self.kind!r}; use one of {', '.join(CAMERA_KINDS)}")
        for dim in ("width", "height"):
            v = getattr(self, dim)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"camera {self.name!r}: {dim} must be a positive integer number of pixels, got {v!r}")
            if v > 4096:
                raise ValueError(f"camera {self.name!r}: {dim}={v} is larger than the 4096 px PyBullet's renderer allows")
        if not 0.0 < self.fov < 180.0:
            raise ValueError(f"camera {self.name!r}: fov must be in (0, 180) degrees, got {self.fov}")
        if not 0.0 < self.near < self.far:
            raise ValueError(f"camera {self.name!r}: need 0 < near < far, got near={self.near}, far={self.far}")
        if self.kind == "orbit" and self.distance <= 0:
            raise ValueError(f"camera {self.name!r}: orbit distance must be > 0, got {self.distance}")
        if self.kind == "fixed" and np.allclose(self.position, self.target):
            raise ValueError(f"camera {self.name!r}: position and target coincide")

    @property
    def intrinsics(self) -> geo.Intrinsics:
        return geo.Intrinsics.from_fov(self.fov, self.width, self.height)

    @classmethod
    def from_dict(cls, d: dict) -> "CameraConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"camera {d.get('name', '?')!r}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**d)


@dataclass
class CameraView:
    """One rendered view and everything needed to reason about it geometrically."""

    camera: str
    rgb: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32, metres along the optical axis
    segmentation: np.ndarray  # (H, W) int32 PyBullet body id, -1 = nothing
    intrinsics: geo.Intrinsics
    pose: np.ndarray  # (4, 4) world <- camera, OpenCV axes
    meta: dict = field(default_factory=dict)


@dataclass
class Lighting:
    """TinyRenderer's light; randomised by scenes for appearance variety."""

    direction: tuple[float, float, float] = (0.4, -0.3, 1.0)
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    ambient: float = 0.6
    diffuse: float = 0.35
    specular: float = 0.05
    shadow: bool = False

    @classmethod
    def random(cls, rng: np.random.Generator) -> "Lighting":
        az, el = rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 1.4)
        return cls(direction=(np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)),
                   color=tuple(rng.uniform(0.85, 1.0, size=3)), ambient=float(rng.uniform(0.45, 0.7)),
                   diffuse=float(rng.uniform(0.25, 0.5)), specular=float(rng.uniform(0.0, 0.1)))


# A wrist camera asks its mount for the link's world pose.
LinkPoseFn = Callable[[str], np.ndarray]


class CameraRig:
    """A set of named cameras in one Simulation."""

    def __init__(self, sim: Simulation, cameras: list[CameraConfig], link_pose: LinkPoseFn | None = None):
        names = [c.name for c in cameras]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"camera names must be unique; repeated: {sorted(dup)}")
        self.sim = sim
        self.cameras: dict[str, CameraConfig] = {c.name: c for c in cameras}
        self.link_pose = link_pose
        self.lighting = Lighting()
        for c in cameras:
            if c.kind == "wrist" and link_pose is None:
                raise ValueError(f"camera {c.name!r} is wrist-mounted but this scene has no robot to mount it on")

    @property
    def names(self) -> list[str]:
        return list(self.cameras)

    def config(self, name: str) -> CameraConfig:
        if name not in self.cameras:
            raise KeyError(f"unknown camera {name!r}; this rig has: {', '.join(self.cameras) or '(none)'}")
        return self.cameras[name]

    def set_orbit(self, name: str, **changes) -> None:
        """Move an orbit camera, e.g. ``set_orbit("orbit", azimuth=30, elevation=20)``."""
        cfg = self.config(name)
        if cfg.kind != "orbit":
            raise ValueError(f"camera {name!r} is a {cfg.kind} camera, not an orbit camera")
        self.cameras[name] = dataclasses.replace(cfg, **changes)

    def pose(self, name: str) -> np.ndarray:
        cfg = self.config(name)
        if cfg.kind == "fixed":
            return geo.look_at(cfg.position, cfg.target, roll=np.deg2rad(cfg.roll))
        if cfg.kind == "orbit":
            return geo.orbit_pose(cfg.target, cfg.azimuth, cfg.elevation, cfg.distance, cfg.roll)
        T_wl = self.link_pose(cfg.link)
        # In the link frame the camera looks at `look_at`; image "up" is the link's -x side.
        T_lc = geo.look_at(cfg.offset, cfg.look_at, up=(1.0, 0.0, 0.0))
        return T_wl @ T_lc

    def render(self, name: str) -> CameraView:
        return self.render_at(name, self.pose(name))

    def render_at(self, name: str, T_wc: np.ndarray) -> CameraView:
        """Render camera ``name`` (its resolution, field of view, clipping) from an explicit pose."""
        cfg = self.config(name)
        intr = cfg.intrinsics
        T_wc = np.asarray(T_wc, dtype=float)
        L = self.lighting
        w, h, rgba, depth, seg = self.sim.client.getCameraImage(
            intr.width, intr.height,
            viewMatrix=geo.gl_view_matrix(T_wc),
            projectionMatrix=geo.gl_projection_matrix(intr, cfg.near, cfg.far),
            renderer=p.ER_TINY_RENDERER,
            lightDirection=list(L.direction), lightColor=list(L.color),
            lightAmbientCoeff=L.ambient, lightDiffuseCoeff=L.diffuse, lightSpecularCoeff=L.specular,
            shadow=int(L.shadow),
        )
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(h, w, 4)[:, :, :3].copy()
        depth_m = geo.depth_buffer_to_metric(np.asarray(depth).reshape(h, w), cfg.near, cfg.far)
        seg = np.asarray(seg, dtype=np.int32).reshape(h, w)
        return CameraView(camera=name, rgb=rgb, depth=depth_m, segmentation=seg, intrinsics=intr, pose=T_wc,
                          meta={"kind": cfg.kind})

    def render_all(self, names: list[str] | None = None) -> dict[str, CameraView]:
        return {n: self.render(n) for n in (names if names is not None else self.names)}
