"""``actial/PickPlace-v0``: the Panda picks a target object and places it in a goal zone.

Composition as in panda-gym: a ``Panda`` (robot.py) on a tabletop ``Scene`` (scene.py) watched by a
``CameraRig`` (camera.py), in one ``Simulation`` (bullet.py).

* action: ``Box(-1, 1, (4,))`` — end-effector delta (x 5 cm per unit) and gripper width change;
* observation: ``robot`` (ee position, velocity, finger width), ``objects`` (n x 13: position,
  quaternion xyzw, linear and angular velocity), ``goal`` (xyz), ``target`` (index of the object to
  move) and, when ``obs_cameras`` names cameras, ``images`` (their RGB);
* reward: ``sparse`` (-1 until success, then 0, as in panda-gym) or ``dense`` (minus the target's
  distance to the goal);
* success: the target object rests (bottom on the table, nearly still, not held) inside the goal zone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from gymnasium import spaces

from . import config as cfgio
from .base import BulletEnv
from .camera import CameraConfig, CameraRig
from .scene import TABLE_TOP_Z, Scene, SceneConfig, build_tabletop

REWARD_TYPES = ("sparse", "dense")


ROBOT_CAMERA = "front"  # the robot's own view
STATION_CAMERAS = ("left", "right")  # the orbit cameras at the two places an operator can stand
OPERATOR_CAMERA = "operator"  # the operator's own camera (``default_tabletop_cameras(operator=True)``)


def default_tabletop_cameras(size: int = 224, operator: bool = False) -> list[CameraConfig]:
    """The robot's rig: its own view (front), two orbit cameras at the operator's stations, the wrist.

    ``operator``: add an orbit camera for an operator's own photos, starting at the first station; tasks
    move it to their station (``actial_robot.tasks``), so whoever sees its frames is not told where it stands.
    """
    center = (-0.05, 0.0, 0.0)
    left = CameraConfig("left", "orbit", size, size, target=center, azimuth=110, elevation=45, distance=0.75)
    return [
        CameraConfig(ROBOT_CAMERA, "fixed", size, size, position=(0.55, 0.0, 0.5), target=center),
        left,
        CameraConfig("right", "orbit", size, size, target=center, azimuth=-110, elevation=45, distance=0.75),
        CameraConfig("wrist", "wrist", size, size, fov=70.0),
    ] + ([dataclasses.replace(left, name=OPERATOR_CAMERA)] if operator else [])


@dataclass
class PickPlaceConfig:
    scene: SceneConfig = field(default_factory=SceneConfig)
    cameras: list[CameraConfig] = field(default_factory=default_tabletop_cameras)
    reward_type: str = "sparse"
    obs_cameras: list[str] = field(default_factory=list)  # cameras whose RGB goes into observations
    render_camera: str = "front"
    goal_radius: float = 0.05
    timestep: float = 1.0 / 240.0
    substeps: int = 10  # physics steps per environment step (24 Hz control)
    target: int | None = None  # index of the object to move; None draws one per episode

    def __post_init__(self):
        if self.reward_type not in REWARD_TYPES:
            raise ValueError(f"reward_type must be one of {REWARD_TYPES}, got {self.reward_type!r}")
        names = [c.name for c in self.cameras]
        for n in [*self.obs_cameras, self.render_camera]:
            if n not in names:
                raise ValueError(f"unknown camera {n!r}; the rig has: {', '.join(names)}")
        if self.target is not None and not 0 <= self.target < self.scene.n_objects:
            raise ValueError(f"target={self.target} is not an object index (0..{self.scene.n_objects - 1})")
        if self.substeps < 1 or self.timestep <= 0:
            raise ValueError("substeps must be >= 1 and timestep > 0")

    @classmethod
    def from_dict(cls, d: dict) -> "PickPlaceConfig":
        cfgio.check_keys(cls, d, "PickPlace config")
        d = dict(d)
        if isinstance(d.get("scene"), dict):
            d["scene"] = SceneConfig.from_dict(d["scene"])
        if "cameras" in d:
            d["cameras"] = [c if isinstance(c, CameraConfig) else CameraConfig.from_dict(c) for c in d["cameras"]]
        return cls(**d)


class PickPlaceEnv(BulletEnv):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 24}

    def __init__(self, config: PickPlaceConfig | dict | str | None = None, render_mode: str | None = None, **overrides):
        self.config = cfgio.coerce(PickPlaceConfig, config, overrides)
        super().__init__(render_mode, self.config.timestep)
        n = self.config.scene.n_objects
        self.action_space = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
        obs = {
            "robot": spaces.Box(-np.inf, np.inf, shape=(7,), dtype=np.float32),
            "objects": spaces.Box(-np.inf, np.inf, shape=(n, 13), dtype=np.float32),
            "goal": spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float32),
            "target": spaces.Discrete(n),
        }
        cams = {c.name: c for c in self.config.cameras}
        if self.config.obs_cameras:
            obs["images"] = spaces.Dict({
                name: spaces.Box(0, 255, shape=(cams[name].height, cams[name].width, 3), dtype=np.uint8)
                for name in self.config.obs_cameras})
        self.observation_space = spaces.Dict(obs)
        self.scene: Scene | None = None
        self.goal = np.zeros(3)
        self.target = 0

    # -- gymnasium API -------------------------------------------------------------------
    def reset(self, *, seed=None, options=None):
        self._seed(seed)
        self.sim.reset()
        self.scene, self.goal = build_tabletop(self.sim, self.config.scene, self.np_random, self.config.goal_radius)
        self.rig = CameraRig(self.sim, self.config.cameras, link_pose=self.scene.robot.link_pose)
        self.rig.lighting = self.scene.lighting
        n = len(self.scene.objects)
        self.target = self.config.target if self.config.target is not None else int(self.np_random.integers(n))
        return self._obs(), self._info()

    def step(self, action):
        if self.scene is None:
            raise RuntimeError("call reset() before step()")
        self.scene.robot.set_action(action)
        self.sim.step(self.config.substeps)
        success = self.is_success()
        if self.config.reward_type == "sparse":
            reward = 0.0 if success else -1.0
        else:
            reward = -float(np.linalg.norm(self._object_position(self.target) - self.goal))
        return self._obs(), reward, success, False, self._info(success)

    def render(self):
        if self.render_mode is None or self.rig is None:
            return None
        return self.rig.render(self.config.render_camera).rgb

    # -- task ----------------------------------------------------------------------------
    @property
    def objects(self):
        return self.scene.objects if self.scene else []

    def _object_position(self, index: int) -> np.ndarray:
        return self.sim.body_pose(self.scene.objects[index].body)[0]

    def is_success(self, index: int | None = None) -> bool:
        """True when object ``index`` (default: the target) rests in the goal zone."""
        o = self.scene.objects[self.target if index is None else index]
        c = self.sim.client
        pos = self._object_position(self.target if index is None else index)
        lo, _ = self.sim.aabb(o.body)
        speed = np.linalg.norm(c.getBaseVelocity(o.body)[0])
        held = len(c.getContactPoints(o.body, self.scene.robot.body)) > 0
        in_zone = np.linalg.norm(pos[:2] - self.goal[:2]) <= self.config.goal_radius
        on_table = lo[2] <= TABLE_TOP_Z + 0.01
        return bool(in_zone and on_table and speed < 0.05 and not held)

    def _obs(self) -> dict:
        c = self.sim.client
        rows = []
        for o in self.scene.objects:
            pos, orn = c.getBasePositionAndOrientation(o.body)
            lin, ang = c.getBaseVelocity(o.body)
            rows.append([*pos, *orn, *lin, *ang])
        obs = {
            "robot": self.scene.robot.state(),
            "objects": np.asarray(rows, dtype=np.float32),
            "goal": self.goal.astype(np.float32),
            "target": self.target,
        }
        if self.config.obs_cameras:
            obs["images"] = {n: self.rig.render(n).rgb for n in self.config.obs_cameras}
        return obs

    def _info(self, success: bool | None = None) -> dict:
        return {
            "is_success": self.is_success() if success is None else success,
            "target_label": self.scene.objects[self.target].label,
            "object_labels": [o.label for o in self.scene.objects],
        }

