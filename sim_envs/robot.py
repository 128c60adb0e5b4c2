"""The Franka Panda from pybullet_data, driven like panda-gym's: end-effector deltas + gripper.

The gripper points straight down (a fixed top-down grasp), the arm follows the commanded
end-effector position through PyBullet's inverse kinematics and joint position control.
"""

from __future__ import annotations

import numpy as np
import pybullet as p

from .bullet import Simulation

NEUTRAL_JOINTS = np.array([0.0, 0.41, 0.0, -1.85, 0.0, 2.26, 0.79, 0.04, 0.04])
JOINT_FORCES = np.array([87.0, 87.0, 87.0, 87.0, 12.0, 120.0, 120.0, 170.0, 170.0])
DOWN = p.getQuaternionFromEuler([np.pi, 0.0, 0.0])  # gripper z axis pointing at the table
MAX_FINGER_WIDTH = 0.08


class Panda:
    """A fixed-base Panda. ``action`` = (dx, dy, dz, gripper) in [-1, 1]."""

    ee_step = 0.05  # metres of end-effector motion per unit action
    finger_step = 0.2  # metres of finger-width change per unit action (saturates quickly, like panda-gym)

    def __init__(self, sim: Simulation, base_position=(-0.6, 0.0, 0.0),
                 workspace_low=(-0.45, -0.45, 0.005), workspace_high=(0.35, 0.45, 0.5)):
        self.sim = sim
        c = sim.client
        self.body = c.loadURDF("franka_panda/panda.urdf", list(base_position), useFixedBase=True)
        self.links = {c.getJointInfo(self.body, j)[12].decode(): j for j in range(c.getNumJoints(self.body))}
        self.arm_joints = [j for j in range(c.getNumJoints(self.body))
                           if c.getJointInfo(self.body, j)[2] == p.JOINT_REVOLUTE]
        self.finger_joints = [self.links["panda_leftfinger"], self.links["panda_rightfinger"]]
        self.ee_link = self.links["panda_grasptarget"]
        self.joints = self.arm_joints + self.finger_joints
        self.workspace_low = np.asarray(workspace_low)
        self.workspace_high = np.asarray(workspace_high)
        for f in self.finger_joints:
            c.changeDynamics(self.body, f, lateralFriction=1.5, spinningFriction=0.001)
        self.reset()

    def reset(self) -> None:
        for j, q in zip(self.joints, NEUTRAL_JOINTS):
            self.sim.client.resetJointState(self.body, j, q)
        self._control(NEUTRAL_JOINTS)

    # -- state -----------------------------------------------------------------------------
    def ee_position(self) -> np.ndarray:
        return np.asarray(self.sim.client.getLinkState(self.body, self.ee_link, computeForwardKinematics=True)[0])

    def ee_velocity(self) -> np.ndarray:
        return np.asarray(self.sim.client.getLinkState(self.body, self.ee_link, computeLinkVelocity=True)[6])

    def finger_width(self) -> float:
        c = self.sim.client
        return float(c.getJointState(self.body, self.finger_joints[0])[0] + c.getJointState(self.body, self.finger_joints[1])[0])

    def state(self) -> np.ndarray:
        """(7,) end-effector position, velocity, finger width."""
        return np.concatenate([self.ee_position(), self.ee_velocity(), [self.finger_width()]]).astype(np.float32)

    def link_pose(self, link: str) -> np.ndarray:
        """4x4 world <- link transform, for wrist-mounted cameras."""
        if link not in self.links:
            raise ValueError(f"the Panda has no link {link!r}; links: {', '.join(self.links)}")
        pos, orn = self.sim.client.getLinkState(self.body, self.links[link], computeForwardKinematics=True)[4:6]
        T = np.eye(4)
        T[:3, :3] = np.asarray(p.getMatrixFromQuaternion(orn)).reshape(3, 3)
        T[:3, 3] = pos
        return T

    # -- control ---------------------------------------------------------------------------
    def set_action(self, action: np.ndarray) -> None:
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        target = np.clip(self.ee_position() + action[:3] * self.ee_step, self.workspace_low, self.workspace_high)
        width = np.clip(self.finger_width() + action[3] * self.finger_step, 0.0, MAX_FINGER_WIDTH)
        arm = self.sim.client.calculateInverseKinematics(self.body, self.ee_link, target.tolist(), DOWN,
                                                         maxNumIterations=20)[:7]
        self._control(np.concatenate([arm, [width / 2, width / 2]]))

    def _control(self, targets: np.ndarray) -> None:
        self.sim.client.setJointMotorControlArray(self.body, self.joints, p.POSITION_CONTROL,
                                                  targetPositions=list(targets), forces=list(JOINT_FORCES))
