"""What every actial environment shares: one Simulation, a seeded world rebuilt on reset, a camera rig."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from .bullet import Simulation
from .camera import CameraRig, CameraView


class BulletEnv(gym.Env):
    """Base class: owns one PyBullet client, validates seeds, closes cleanly."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode: str | None, timestep: float):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.render_mode = render_mode
        self.sim = Simulation(timestep=timestep)
        self.rig: CameraRig | None = None

    def _seed(self, seed) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"seed must be a non-negative int or None, got {type(seed).__name__} {seed!r}")
        if seed is not None and seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed}")
        gym.Env.reset(self, seed=None if seed is None else int(seed))

    def capture(self, cameras: list[str] | None = None) -> dict[str, CameraView]:
        """Render the named rig cameras (all by default): RGB, depth, segmentation, intrinsics, pose."""
        if self.rig is None:
            raise RuntimeError("call reset() before capturing views")
        return self.rig.render_all(cameras)

    def close(self) -> None:
        self.sim.close()
