"""A scripted pick-and-place controller that acts through the environment's own action space.

It is the robot's "hands" for later agents: the model decides *which* object and *where*; this
decides how. Waypoints are followed with proportional end-effector deltas, the grasp is top-down.
"""

from __future__ import annotations

from typing import Callable

import gymnasium as gym
import numpy as np

from .pick_place import PickPlaceEnv
from .scene import TABLE_TOP_Z

OPEN, CLOSE = 1.0, -1.0


class ScriptedController:
    """``pick(object_index)`` then ``place(position)``; each returns whether it worked.

    ``env`` may be wrapped (TimeLimit, RecordVideo, ...): actions go through ``env.step`` so wrappers
    see them, state is read from the unwrapped ``PickPlaceEnv``. ``on_step(obs, info)`` is called after
    every step (to record frames, say).
    """

    carry_height = 0.15  # end-effector height while moving between pick and place
    tolerance = 0.006  # metres: a waypoint is reached when the end effector is this close

    def __init__(self, env: gym.Env, on_step: Callable[[dict, dict], None] | None = None, max_steps_per_move: int = 40):
        self.env = env
        self.base: PickPlaceEnv = env.unwrapped  # type: ignore[assignment]
        if not isinstance(self.base, PickPlaceEnv):
            raise TypeError(f"ScriptedController drives a PickPlaceEnv, got {type(self.base).__name__}")
        self.on_step = on_step
        self.max_steps_per_move = max_steps_per_move
        self.grip = OPEN
        self.held: int | None = None
        self._ee_minus_bottom = 0.0
        self._ee_minus_centre_xy = np.zeros(2)
        self.steps = 0
        self.truncated = False

    # -- primitives -------------------------------------------------------------------------
    def _act(self, delta: np.ndarray) -> None:
        if self.truncated:
            return
        action = np.append(np.clip(delta / self.base.scene.robot.ee_step, -1.0, 1.0), self.grip).astype(np.float32)
        obs, _, _, truncated, info = self.env.step(action)
        self.steps += 1
        self.truncated = bool(truncated)
        if self.on_step is not None:
            self.on_step(obs, info)

    def move_to(self, target) -> bool:
        target = np.asarray(target, dtype=float)
        for _ in range(self.max_steps_per_move):
            err = target - self.base.scene.robot.ee_position()
            if np.linalg.norm(err) < self.tolerance:
                return True
            self._act(err)
        return bool(np.linalg.norm(target - self.base.scene.robot.ee_position()) < 3 * self.tolerance)

    def set_gripper(self, value: float, steps: int = 8) -> None:
        self.grip = value
        for _ in range(steps):
            self._act(np.zeros(3))

    # -- skills ---------------------------------------------------------------------------
    def pick(self, index: int) -> bool:
        """Grasp object ``index`` from above and lift it to carrying height."""
        objects = self.base.objects
        if not 0 <= index < len(objects):
            raise ValueError(f"no object {index}; the scene has {len(objects)} (0..{len(objects) - 1})")
        body = objects[index].body
        self.set_gripper(OPEN, steps=4)
        for _ in range(2):  # aim, go above, aim again: a rounded object may still have rolled a little
            lo, hi = self.base.sim.aabb(body)
            centre = (lo + hi) / 2
            # Fingertips a little below the middle: irregular shapes (duck, teddy) are widest low down.
            grasp = np.array([centre[0], centre[1], max(lo[2] + 0.4 * (hi[2] - lo[2]), TABLE_TOP_Z + 0.012)])
            self.move_to(grasp + [0, 0, 0.1])
        self.move_to(grasp)
        self.set_gripper(CLOSE, steps=10)
        self.move_to([grasp[0], grasp[1], self.carry_height])
        lo_after, _ = self.base.sim.aabb(body)
        lifted = lo_after[2] > TABLE_TOP_Z + 0.03
        if lifted:
            self.held = index
            ee = self.base.scene.robot.ee_position()
            self._ee_minus_bottom = float(ee[2] - lo_after[2])
            # Where the object sits in the hand: placing puts the object's centre, not the hand, on target.
            _, hi_after = self.base.sim.aabb(body)
            self._ee_minus_centre_xy = ee[:2] - (lo_after[:2] + hi_after[:2]) / 2
        return lifted

    def place(self, position) -> bool:
        """Carry the held object above ``position`` (x, y[, z ignored]), lower it onto the table, let go."""
        if self.held is None:
            return False
        x, y = np.asarray(position[:2], dtype=float) + self._ee_minus_centre_xy
        self.move_to([x, y, self.carry_height])
        self.move_to([x, y, TABLE_TOP_Z + self._ee_minus_bottom + 0.008])
        self.set_gripper(OPEN, steps=8)
        self.held = None
        self.move_to([x, y, self.carry_height])
        return True

    def run(self, index: int | None = None, position=None) -> bool:
        """Pick the target (or ``index``) and place it at the goal (or ``position``); True on success."""
        index = self.base.target if index is None else index
        position = self.base.goal if position is None else position
        ok = self.pick(index) and self.place(position)
        for _ in range(20):  # let it settle before judging
            if self.base.is_success(index):
                return bool(ok)
            self._act(np.zeros(3))
        return False
