"""``actial/ViewpointOrbit-v0``: object-centric views for the viewpoint data engine.

One or a few objects stand near the origin on a floor whose texture differs in every direction.
The action *is* a camera placement on the orbit around them: ``(azimuth deg, elevation deg,
distance m, roll deg)``; the observation is what that camera sees, with its intrinsics and its
world<-camera pose (OpenCV axes). ``reset`` draws a new scene and a random first placement.
Rewards are always 0: this environment is a renderer with a Gymnasium face, not a task.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from gymnasium import spaces

from . import config as cfgio
from . import objects as obj
from .base import BulletEnv
from .camera import CameraConfig, CameraRig
from .scene import Scene, SceneConfig, build_object_centric


def default_orbit_scene() -> SceneConfig:
    return SceneConfig(object_pool=[n for n, s in obj.CATALOGUE.items() if not s.rolls], n_objects=1,
                       workspace_low=(-0.06, -0.06), workspace_high=(0.06, 0.06), min_separation=0.09)


@dataclass
class ViewpointOrbitConfig:
    scene: SceneConfig = field(default_factory=default_orbit_scene)
    camera: CameraConfig = field(default_factory=lambda: CameraConfig(
        "orbit", "orbit", 224, 224, fov=50.0, target=(0.0, 0.0, 0.03), elevation=30.0, distance=0.6))
    azimuth_range: tuple[float, float] = (-180.0, 180.0)
    elevation_range: tuple[float, float] = (10.0, 60.0)
    distance_range: tuple[float, float] = (0.4, 0.8)
    roll_range: tuple[float, float] = (0.0, 0.0)
    timestep: float = 1.0 / 240.0

    def __post_init__(self):
        if self.camera.kind != "orbit":
            raise ValueError(f"ViewpointOrbit needs an orbit camera, got kind {self.camera.kind!r}")
        for name in ("azimuth_range", "elevation_range", "distance_range", "roll_range"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"{name}: low {lo} > high {hi}")
        if self.distance_range[0] <= 0:
            raise ValueError("distance_range must be positive")
        if not -90 < self.elevation_range[0] and self.elevation_range[1] < 90:
            raise ValueError("elevation_range must lie inside (-90, 90) degrees")

    @classmethod
    def from_dict(cls, d: dict) -> "ViewpointOrbitConfig":
        cfgio.check_keys(cls, d, "ViewpointOrbit config")
        d = dict(d)
        if isinstance(d.get("scene"), dict):
            d["scene"] = SceneConfig.from_dict(d["scene"])
        if isinstance(d.get("camera"), dict):
            d["camera"] = CameraConfig.from_dict({"name": "orbit", "kind": "orbit", **d["camera"]})
        for k in ("azimuth_range", "elevation_range", "distance_range", "roll_range"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


class ViewpointOrbitEnv(BulletEnv):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, config: ViewpointOrbitConfig | dict | str | None = None, render_mode: str | None = None,
                 **overrides):
        self.config = cfgio.coerce(ViewpointOrbitConfig, config, overrides)
        super().__init__(render_mode, self.config.timestep)
        c = self.config
        lo = np.array([c.azimuth_range[0], c.elevation_range[0], c.distance_range[0], c.roll_range[0]], np.float32)
        hi = np.array([c.azimuth_range[1], c.elevation_range[1], c.distance_range[1], c.roll_range[1]], np.float32)
        self.action_space = spaces.Box(lo, hi, dtype=np.float32)
        h, w = c.camera.height, c.camera.width
        self.observation_space = spaces.Dict({
            "rgb": spaces.Box(0, 255, (h, w, 3), np.uint8),
            "depth": spaces.Box(0.0, np.float32(c.camera.far), (h, w), np.float32),
            "segmentation": spaces.Box(-1, np.iinfo(np.int32).max, (h, w), np.int32),
            "intrinsics": spaces.Box(0.0, np.inf, (4,), np.float64),  # fx, fy, cx, cy
            "pose": spaces.Box(-np.inf, np.inf, (4, 4), np.float64),  # world <- camera
            "orbit": spaces.Box(lo, hi, dtype=np.float32),  # the placement that produced this view
        })
        self.scene: Scene | None = None
        self._last = None

    @property
    def objects(self):
        return self.scene.objects if self.scene else []

    def reset(self, *, seed=None, options=None):
        self._seed(seed)
        self.sim.reset()
        self.scene = build_object_centric(self.sim, self.config.scene, self.np_random)
        # Aim at the objects' middle so every placement sees them all.
        centre = np.mean([self.sim.body_pose(o.body)[0] for o in self.scene.objects], axis=0)
        camera = dataclasses.replace(self.config.camera, target=(float(centre[0]), float(centre[1]), self.config.camera.target[2]))
        self.rig = CameraRig(self.sim, [camera])
        self.rig.lighting = self.scene.lighting
        return self._observe(self._random_placement()), self._info()

    def step(self, action):
        if self.scene is None:
            raise RuntimeError("call reset() before step()")
        action = np.asarray(action, dtype=np.float32)
        if action.shape != (4,) or not np.all(np.isfinite(action)):
            raise ValueError(f"action must be 4 finite numbers (azimuth, elevation, distance, roll), got {action!r}")
        obs = self._observe(np.clip(action, self.action_space.low, self.action_space.high))
        return obs, 0.0, False, False, self._info()

    def render(self):
        if self.render_mode is None or self._last is None:
            return None
        return self._last["rgb"]

    def _random_placement(self) -> np.ndarray:
        lo, hi = self.action_space.low, self.action_space.high
        return (lo + (hi - lo) * self.np_random.uniform(size=4)).astype(np.float32)

    def _observe(self, placement: np.ndarray) -> dict:
        az, el, dist, roll = (float(v) for v in placement)
        self.rig.set_orbit("orbit", azimuth=az, elevation=el, distance=dist, roll=roll)
        v = self.rig.render("orbit")
        i = v.intrinsics
        self._last = {
            "rgb": v.rgb, "depth": v.depth, "segmentation": v.segmentation,
            "intrinsics": np.array([i.fx, i.fy, i.cx, i.cy]), "pose": v.pose,
            "orbit": placement.astype(np.float32),
        }
        return self._last

    def _info(self) -> dict:
        return {"object_labels": [o.label for o in self.scene.objects],
                "object_bodies": [o.body for o in self.scene.objects]}
