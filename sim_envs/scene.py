"""Scenes: what is in the world. A tabletop with the Panda, or a bare floor for object-centric views.

Everything random (which objects, their colours, sizes, poses, the floor texture, the light) is
drawn from the ``numpy.random.Generator`` the environment seeds, so a seed fixes the whole scene.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pybullet as p

from . import objects as obj
from .backgrounds import BACKGROUNDS, GENERATORS, make_background
from .bullet import Simulation
from .camera import Lighting
from .robot import Panda

TABLE_TOP_Z = 0.0
TABLE_HALF_EXTENTS = (0.55, 0.35, 0.2)  # panda-gym's table: 1.1 x 0.7 x 0.4 m
TABLE_CENTER = (-0.3, 0.0, TABLE_TOP_Z - 0.2)


@dataclass
class SceneConfig:
    """What a scene holds. ``objects`` names exact objects; otherwise ``n_objects`` are drawn from ``object_pool``."""

    objects: list[str] | None = None
    object_pool: list[str] = field(default_factory=lambda: [n for n, s in obj.CATALOGUE.items() if s.graspable and not s.rolls])
    n_objects: int = 3
    background: str = "random"  # "random" or one of backgrounds.BACKGROUNDS
    randomize_lighting: bool = True
    workspace_low: tuple[float, float] = (-0.15, -0.22)  # object / goal placement area (x, y), metres
    workspace_high: tuple[float, float] = (0.15, 0.22)
    min_separation: float = 0.1  # between object centres (and the goal)
    settle_steps: int = 150  # physics steps (0.6 s) to let objects come to rest after spawning
    size_scale: float = 1.0  # multiplies every object's size range (object-centric views want bigger objects)

    def __post_init__(self):
        if self.objects is not None:
            self.objects = list(self.objects)
            for name in self.objects:
                obj.resolve(name)
            self.n_objects = len(self.objects)
        else:
            for name in self.object_pool:
                obj.resolve(name)
            if not isinstance(self.n_objects, int) or self.n_objects < 1:
                raise ValueError(f"n_objects must be a positive integer, got {self.n_objects!r}")
            if self.n_objects > len(self.object_pool):
                raise ValueError(f"n_objects={self.n_objects} but object_pool has only {len(self.object_pool)} names")
        if self.n_objects > len(obj.PALETTE):
            raise ValueError(f"at most {len(obj.PALETTE)} objects (one colour each), got {self.n_objects}")
        if self.background != "random" and self.background not in GENERATORS:
            raise ValueError(f"unknown background {self.background!r}; choose one of: random, {', '.join(GENERATORS)}")

    @classmethod
    def from_dict(cls, d: dict) -> "SceneConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        if set(d) - known:
            raise ValueError(f"scene: unknown keys {sorted(set(d) - known)}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if k.startswith("workspace") else v for k, v in d.items()})


@dataclass
class Scene:
    objects: list[obj.SpawnedObject]
    lighting: Lighting
    background: np.ndarray  # the floor texture, for reference
    background_style: str
    robot: Panda | None = None
    goal_body: int | None = None


def sample_positions(rng: np.random.Generator, n: int, low, high, min_sep: float, max_tries: int = 1000) -> np.ndarray:
    """``n`` xy positions inside [low, high] at least ``min_sep`` apart (rejection sampling)."""
    pts: list[np.ndarray] = []
    for _ in range(max_tries):
        q = rng.uniform(low, high)
        if all(np.linalg.norm(q - o) >= min_sep for o in pts):
            pts.append(q)
            if len(pts) == n:
                return np.array(pts)
    raise ValueError(f"cannot place {n} items {min_sep} m apart in {low}..{high}; enlarge the workspace or lower min_separation")


def choose_objects(cfg: SceneConfig, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    names = cfg.objects if cfg.objects is not None else list(rng.choice(cfg.object_pool, cfg.n_objects, replace=False))
    colors = list(rng.choice(list(obj.PALETTE), len(names), replace=False))
    return [str(n) for n in names], [str(c) for c in colors]


def add_floor(sim: Simulation, rng: np.random.Generator, style: str, z: float, half_size: float = 1.5) -> tuple[np.ndarray, str]:
    if style == "random":
        style = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    texture = make_background(style, rng, size=512)
    sim.create_textured_quad(half_size, z, sim.load_texture(texture))
    return texture, style


def build_tabletop(sim: Simulation, cfg: SceneConfig, rng: np.random.Generator, goal_radius: float) -> tuple[Scene, np.ndarray]:
    """Floor, table, Panda, objects and a goal zone; returns the scene and the goal position."""
    background, style = add_floor(sim, rng, cfg.background, z=TABLE_TOP_Z - 2 * TABLE_HALF_EXTENTS[2])
    wood = np.array([0.62, 0.45, 0.3]) * rng.uniform(0.8, 1.15)
    table = sim.create_box(TABLE_HALF_EXTENTS, TABLE_CENTER, rgba=[*np.clip(wood, 0, 1), 1.0])
    sim.client.changeDynamics(table, -1, lateralFriction=1.0)
    robot = Panda(sim)
    names, colors = choose_objects(cfg, rng)
    xy = sample_positions(rng, len(names) + 1, cfg.workspace_low, cfg.workspace_high, cfg.min_separation)
    goal = np.array([xy[-1][0], xy[-1][1], TABLE_TOP_Z])
    objects = [obj.spawn(sim, obj.resolve(n), rng, q, TABLE_TOP_Z, c, cfg.size_scale) for n, c, q in zip(names, colors, xy[:-1])]
    # The goal zone is drawn, never collided with.
    vis = sim.client.createVisualShape(p.GEOM_CYLINDER, radius=goal_radius, length=0.002, rgbaColor=[0.2, 0.9, 0.3, 0.6])
    goal_body = sim.client.createMultiBody(0.0, -1, vis, [goal[0], goal[1], TABLE_TOP_Z + 0.001])
    sim.step(cfg.settle_steps)
    lighting = Lighting.random(rng) if cfg.randomize_lighting else Lighting()
    return Scene(objects, lighting, background, style, robot, goal_body), goal


def build_object_centric(sim: Simulation, cfg: SceneConfig, rng: np.random.Generator) -> Scene:
    """Objects near the origin on a textured floor at z = 0 (no table, no robot)."""
    background, style = add_floor(sim, rng, cfg.background, z=0.0)
    sim.create_box((2.0, 2.0, 0.01), (0.0, 0.0, -0.0105), rgba=[0, 0, 0, 0])  # invisible ground to stand on
    names, colors = choose_objects(cfg, rng)
    xy = sample_positions(rng, len(names), cfg.workspace_low, cfg.workspace_high, cfg.min_separation)
    objects = [obj.spawn(sim, obj.resolve(n), rng, q, 0.0, c, cfg.size_scale) for n, c, q in zip(names, colors, xy)]
    sim.step(cfg.settle_steps)
    lighting = Lighting.random(rng) if cfg.randomize_lighting else Lighting()
    return Scene(objects, lighting, background, style)
