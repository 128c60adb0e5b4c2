"""A thin wrapper over one PyBullet physics client.

Every environment owns exactly one ``Simulation``; nothing here keeps module-level state, so any
number of environments can live in one process (or in worker processes) without seeing each other.
PyBullet's own ``BulletClient`` binds the client id to every call; this adds the few things all
our environments need: a clean, idempotent close, procedural textures and small body helpers.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
import pybullet as p
import pybullet_data
from pybullet_utils import bullet_client


class Simulation:
    """One headless (``p.DIRECT``) PyBullet world.

    ``timestep`` is the physics step; an environment step usually runs several of them.
    """

    def __init__(self, timestep: float = 1.0 / 240.0, gravity: float = -9.81):
        self.timestep = float(timestep)
        self.gravity = float(gravity)
        self.client = bullet_client.BulletClient(connection_mode=p.DIRECT)
        self.client_id: int = self.client._client
        self._textures = tempfile.TemporaryDirectory(prefix="actial-textures-")
        self._n_textures = 0
        self.closed = False
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------
    def reset(self) -> None:
        """Empty the world (bodies, constraints, textures) and restore gravity and timestep."""
        self._check_open()
        c = self.client
        c.resetSimulation()
        c.setAdditionalSearchPath(pybullet_data.getDataPath())
        c.setGravity(0.0, 0.0, self.gravity)
        c.setTimeStep(self.timestep)
        # Deterministic solver order: same seed, same world, same trajectory.
        c.setPhysicsEngineParameter(deterministicOverlappingPairs=1)

    def close(self) -> None:
        """Disconnect the physics client; safe to call more than once."""
        if self.closed:
            return
        self.closed = True
        try:
            self.client.disconnect()
        except p.error:
            pass
        self._textures.cleanup()

    def __del__(self):  # environments should be closed explicitly; this is the safety net
        try:
            self.close()
        except Exception:
            pass

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("this Simulation is closed; create a new environment")

    @property
    def is_connected(self) -> bool:
        return (not self.closed) and bool(p.getConnectionInfo(physicsClientId=self.client_id)["isConnected"])

    # -- helpers ---------------------------------------------------------------------------
    def step(self, n: int = 1) -> None:
        for _ in range(n):
            self.client.stepSimulation()

    def load_texture(self, image: np.ndarray) -> int:
        """Register an RGB uint8 image as a texture (PyBullet only loads textures from files)."""
        self._check_open()
        path = Path(self._textures.name) / f"tex{self._n_textures}.png"
        self._n_textures += 1
        cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR))
        return self.client.loadTexture(str(path))

    def create_box(self, half_extents, position, rgba=(1, 1, 1, 1), mass: float = 0.0,
                   collision: bool = True, orientation=(0, 0, 0, 1)) -> int:
        c = self.client
        vis = c.createVisualShape(p.GEOM_BOX, halfExtents=half_extents, rgbaColor=rgba)
        col = c.createCollisionShape(p.GEOM_BOX, halfExtents=half_extents) if collision else -1
        return c.createMultiBody(baseMass=mass, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis,
                                 basePosition=position, baseOrientation=orientation)

    def create_textured_quad(self, half_size: float, z: float, texture_id: int, center=(0.0, 0.0)) -> int:
        """A flat, visual-only square at height z with the texture stretched once over it."""
        s = half_size
        verts = [[-s, -s, 0.0], [s, -s, 0.0], [s, s, 0.0], [-s, s, 0.0]]
        uvs = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
        normals = [[0.0, 0.0, 1.0]] * 4
        c = self.client
        vis = c.createVisualShape(p.GEOM_MESH, vertices=verts, indices=[0, 1, 2, 0, 2, 3], uvs=uvs, normals=normals)
        body = c.createMultiBody(baseMass=0.0, baseVisualShapeIndex=vis, basePosition=[center[0], center[1], z])
        c.changeVisualShape(body, -1, textureUniqueId=texture_id, rgbaColor=[1, 1, 1, 1])
        return body

    def body_pose(self, body: int) -> tuple[np.ndarray, np.ndarray]:
        pos, orn = self.client.getBasePositionAndOrientation(body)
        return np.asarray(pos), np.asarray(orn)

    def aabb(self, body: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.client.getAABB(body)
        return np.asarray(lo), np.asarray(hi)
