"""The catalogue of objects a scene can hold, and how one is spawned.

Objects come from ``pybullet_data`` (duck, teddy, mug, lego brick, jenga block, cube, sphere and the
1000 ``random_urdfs``) or are PyBullet primitives (box, cylinder). Every spawned object gets a size
(its largest horizontal extent, metres), a yaw and a colour drawn from a named palette, so later
questions can say "the red duck".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pybullet as p

from .bullet import Simulation


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    urdf: str | None = None  # path inside pybullet_data
    primitive: str | None = None  # "box" or "cylinder"
    base_extent: float = 0.05  # largest horizontal extent at globalScaling 1 (measured once)
    size_range: tuple[float, float] = (0.04, 0.055)  # largest horizontal extent after scaling
    graspable: bool = True  # the Panda's fixed top-down grasp holds it reliably
    rolls: bool = False  # round objects roll away; fine to look at, poor for pick-and-place


CATALOGUE: dict[str, ObjectSpec] = {
    s.name: s
    for s in [
        # cube: size is the footprint diagonal (what the fixed-yaw gripper must span), edge 3.2-4.2 cm
        ObjectSpec("cube", urdf="cube_small.urdf", base_extent=0.05 * np.sqrt(2), size_range=(0.045, 0.06)),
        ObjectSpec("box", primitive="box", base_extent=1.0, size_range=(0.035, 0.05)),
        ObjectSpec("cylinder", primitive="cylinder", base_extent=1.0, size_range=(0.035, 0.05)),
        # the duck rolls over in a top-down grasp too often (~10%) for pick-and-place; fine to look at
        ObjectSpec("duck", urdf="duck_vhacd.urdf", base_extent=0.091, size_range=(0.05, 0.065), graspable=False),
        ObjectSpec("teddy", urdf="teddy_vhacd.urdf", base_extent=0.101, size_range=(0.05, 0.065)),
        ObjectSpec("mug", urdf="objects/mug.urdf", base_extent=0.128, size_range=(0.07, 0.09), graspable=False),
        ObjectSpec("lego", urdf="lego/lego.urdf", base_extent=0.034, size_range=(0.035, 0.05)),
        ObjectSpec("jenga", urdf="jenga/jenga.urdf", base_extent=0.15, size_range=(0.07, 0.09), graspable=False),
        ObjectSpec("sphere", urdf="sphere_small.urdf", base_extent=0.06, size_range=(0.04, 0.05), rolls=True),
    ]
}
N_RANDOM_URDFS = 1000  # pybullet_data/random_urdfs/000 .. 999; named "random_017" etc.

# Named, well separated colours (RGB in [0, 1]); names end up in questions.
PALETTE: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.1, 0.1),
    "green": (0.1, 0.7, 0.2),
    "blue": (0.15, 0.3, 0.9),
    "yellow": (0.95, 0.85, 0.1),
    "purple": (0.55, 0.2, 0.75),
    "orange": (1.0, 0.5, 0.05),
    "cyan": (0.1, 0.8, 0.85),
    "pink": (1.0, 0.45, 0.7),
    "white": (0.95, 0.95, 0.95),
    "black": (0.08, 0.08, 0.08),
}


def resolve(name: str) -> ObjectSpec:
    """Catalogue entry for ``name``; ``random_NNN`` names one of pybullet_data's random URDFs."""
    if name in CATALOGUE:
        return CATALOGUE[name]
    if name.startswith("random_"):
        idx = name.removeprefix("random_")
        if idx.isdigit() and 0 <= int(idx) < N_RANDOM_URDFS:
            i = int(idx)
            return ObjectSpec(name, urdf=f"random_urdfs/{i:03d}/{i:03d}.urdf", base_extent=0.0,
                              size_range=(0.045, 0.06))
    known = ", ".join(sorted(CATALOGUE)) + ", random_000 .. random_999"
    raise ValueError(f"unknown object {name!r}; known objects: {known}")


@dataclass
class SpawnedObject:
    """An object in the world, with the attributes questions refer to."""

    body: int
    name: str
    color: str
    size: float
    half_height: float  # base position z minus the object's lowest point when resting upright

    @property
    def label(self) -> str:
        # random URDFs have no common name; colours are unique within a scene, so "red shape" is unambiguous
        return f"{self.color} {'shape' if self.name.startswith('random_') else self.name}"


def spawn(sim: Simulation, spec: ObjectSpec, rng: np.random.Generator, xy, z_floor: float,
          color: str, size_scale: float = 1.0) -> SpawnedObject:
    """Create ``spec`` standing on the plane z = z_floor at ``xy``, random size and yaw, coloured."""
    c = sim.client
    size = float(rng.uniform(*spec.size_range)) * size_scale
    yaw = float(rng.uniform(-np.pi, np.pi))
    orn = p.getQuaternionFromEuler([0.0, 0.0, yaw])
    rgba = [*PALETTE[color], 1.0]
    if spec.primitive == "box":
        half = [size / 2 / np.sqrt(2)] * 2 + [size * float(rng.uniform(0.25, 0.45))]  # footprint diagonal = size
        body = sim.create_box(half, [xy[0], xy[1], 1.0], rgba=rgba, mass=0.1, orientation=orn)
    elif spec.primitive == "cylinder":
        radius, height = size / 2, size * float(rng.uniform(0.8, 1.3))
        vis = c.createVisualShape(p.GEOM_CYLINDER, radius=radius, length=height, rgbaColor=rgba)
        # A 24-sided convex prism collides more stably than Bullet's cylinder (which rocks on its rim).
        ang = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        ring = np.stack([radius * np.cos(ang), radius * np.sin(ang)], axis=1)
        verts = [[x, y, z] for z in (-height / 2, height / 2) for x, y in ring]
        col = c.createCollisionShape(p.GEOM_MESH, vertices=verts)
        body = c.createMultiBody(0.1, col, vis, [xy[0], xy[1], 1.0], orn)
    else:
        scale = size / spec.base_extent if spec.base_extent > 0 else 1.0
        body = c.loadURDF(spec.urdf, [xy[0], xy[1], 1.0], orn, globalScaling=scale)
        if spec.base_extent <= 0:  # extent unknown (random URDFs): measure, then reload at the right scale
            lo, hi = sim.aabb(body)
            extent = float(max(hi[0] - lo[0], hi[1] - lo[1]))
            c.removeBody(body)
            body = c.loadURDF(spec.urdf, [xy[0], xy[1], 1.0], orn, globalScaling=size / max(extent, 1e-3))
        for link in range(-1, c.getNumJoints(body)):  # drop the mesh's own texture so the named colour shows
            c.changeVisualShape(body, link, rgbaColor=rgba, textureUniqueId=-1)
    # Sit it on the floor: move down until its lowest point touches z_floor (+1 mm).
    lo, _ = sim.aabb(body)
    pos, orn = sim.body_pose(body)
    pos[2] -= lo[2] - (z_floor + 0.001)
    c.resetBasePositionAndOrientation(body, pos.tolist(), orn.tolist())
    # Objects at rest fall asleep (Bullet skips them) and wake on contact: resting clutter costs nothing.
    c.changeDynamics(body, -1, lateralFriction=1.0, spinningFriction=0.001, rollingFriction=0.0001,
                     activationState=p.ACTIVATION_STATE_ENABLE_SLEEPING)
    return SpawnedObject(body=body, name=spec.name, color=color, size=size, half_height=float(pos[2] - z_floor))
