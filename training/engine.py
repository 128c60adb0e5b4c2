"""The viewpoint data engine: scenes -> posed views -> pairs -> questions -> parquet shards.

A job is cut into shards. Shard ``i`` is a pure function of (config, seed, i): it builds its own
scenes from seeds derived from those, so shards can be produced in any order, by any number of
worker processes or Ray tasks, and a killed job restarted with the same arguments skips the
shards that already exist and ends with exactly the dataset an uninterrupted run writes.

Per scene the engine renders ``views_per_scene`` orbit views and reuses each in several pairs
(the naive way renders two fresh views per pair; ``bench/data.py`` measures both). A share of
pairs are a camera turning in place (``pan``: no movement, rotation) or sliding sideways without
turning (``slide``: movement, no rotation), so every option of the paper's questions occurs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from sim_envs.config import FromDict
from . import labels as L
from . import questions as Q
from .dataset import (DatasetError, check_shard, rows_to_table, shard_metadata, shard_name, write_manifest,
                      write_shard_atomic)
from .views import SceneInfo, View, encode_image, objects_in_view

SOURCES = ("viewpoint_orbit", "pick_place")
# train; validation (new scenes of the training objects and backgrounds, for choosing during training: gates, the
# best check); test (the same, for reporting); test_objects / test_backgrounds (held-out objects / backgrounds)
SPLITS = ("train", "validation", "test", "test_objects", "test_backgrounds")
DEFAULT_FAMILIES = {
    "ego_translation": 1.0, "object_translation": 1.0, "ego_rotation": 1.0,
    "angle_bin": 0.5, "numeric_yaw": 0.5,
    "cross_view_match": 0.5, "leftmost": 0.5, "speaker_left": 0.5,
}
JOB_FILE = "job.json"


@dataclass
class GeneratorConfig(FromDict):
    """Everything that determines a dataset's content (``out``/``workers``/``ray_address`` do not)."""

    n_pairs: int = 1000  # rows to write
    seed: int = 0
    source: str = "viewpoint_orbit"  # or "pick_place" (the tabletop rig, plus orbit views around the table)
    image_size: int = 224
    image_format: str = "jpeg"
    jpeg_quality: int = 90
    views_per_scene: int = 12  # rendered once each, then reused in several pairs
    pairs_per_scene: int = 36
    angle_range: tuple[float, float] = (20.0, 100.0)  # horizontal angle between paired views (the paper's)
    pan_share: float = 0.1  # share of a scene's pairs that turn in place
    slide_share: float = 0.1  # share that slide sideways without turning
    # pick_place only: share of a scene's pairs taken between the rig's own cameras (front vs left / right,
    # the robot's view and an operator's), the pairs the episodes ask about (actial_robot/tasks.py)
    rig_share: float = 0.0
    multi_object_share: float = 0.35  # scenes with 3 objects (the object families need >= 2)
    families: dict = field(default_factory=lambda: dict(DEFAULT_FAMILIES))  # family -> weight
    reasoning_share: float = 0.1  # hybrid cold start: share of rows with a chain of thought
    splits: dict = field(default_factory=lambda: {"train": 0.8, "test": 0.1, "test_objects": 0.05,
                                                  "test_backgrounds": 0.05})
    heldout_objects: list = field(default_factory=lambda: ["teddy", "mug"] + [f"random_{i:03d}" for i in range(900, 1000)])
    heldout_backgrounds: list = field(default_factory=lambda: ["blobs"])
    train_backgrounds: list | None = None  # None: every random-pool style not held out; or e.g. ["compass"]
    rows_per_shard: int = 500
    # False: options keep a fixed order per family (A. left, B. right, C. no movement), so the letter
    # follows from the answer: one thing less for a model trained from scratch (the tiny preset) to learn
    # in a CPU budget. Pretrained VLMs are trained and evaluated on shuffled options.
    shuffle_options: bool = True
    reuse_views: bool = True  # False: render two fresh views per pair (the naive way, for benchmarks)
    teacher: dict | None = None  # {"base_url": ..., "model": ...}: an OpenAI-compatible model rewrites reasoning

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        if not isinstance(self.n_pairs, int) or self.n_pairs < 1:
            raise ValueError(f"n_pairs must be a positive integer, got {self.n_pairs!r}")
        unknown = set(self.families) - set(Q.ALL_FAMILIES)
        if unknown:
            raise ValueError(f"unknown question families {sorted(unknown)}; known: {', '.join(Q.ALL_FAMILIES)}")
        if not any(w > 0 for w in self.families.values()):
            raise ValueError("at least one question family needs a positive weight")
        lo, hi = self.angle_range
        if not 0 < lo < hi <= 180:
            raise ValueError(f"angle_range must satisfy 0 < low < high <= 180, got {self.angle_range}")
        from sim_envs.backgrounds import GENERATORS

        unknown_bg = set(self.train_backgrounds or []) | set(self.heldout_backgrounds)
        unknown_bg -= set(GENERATORS)
        if unknown_bg:
            raise ValueError(f"unknown backgrounds {sorted(unknown_bg)}; known: {', '.join(GENERATORS)}")
        bad = set(self.splits) - set(SPLITS)
        if bad:
            raise ValueError(f"unknown splits {sorted(bad)}; known: {', '.join(SPLITS)}")
        if not 0 <= self.rig_share <= 1 or (self.rig_share and self.source != "pick_place"):
            raise ValueError(f"rig_share must be in [0, 1], and needs source='pick_place' (got {self.rig_share})")
        if not 0 <= self.reasoning_share <= 1:
            raise ValueError("reasoning_share must be in [0, 1]")
        if self.image_size < 16:
            raise ValueError("image_size must be at least 16 px")
        if self.views_per_scene < 2:
            raise ValueError("views_per_scene must be >= 2")
        self.angle_range = tuple(self.angle_range)


    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def shard_rows(self) -> list[int]:
        n = math.ceil(self.n_pairs / self.rows_per_shard)
        return [min(self.rows_per_shard, self.n_pairs - i * self.rows_per_shard) for i in range(n)]


# -- scenes -> views --------------------------------------------------------------------------
class SceneSource:
    """Builds seeded scenes in one environment (kept for the worker's lifetime) and renders views."""

    def __init__(self, cfg: GeneratorConfig):
        import gymnasium as gym

        import sim_envs  # noqa: F401
        from sim_envs.camera import CameraConfig
        from sim_envs.objects import CATALOGUE
        from sim_envs.pick_place import default_tabletop_cameras

        self.cfg = cfg
        s = cfg.image_size
        if cfg.source == "viewpoint_orbit":
            self.env = gym.make("actial/ViewpointOrbit-v0", max_episode_steps=None, disable_env_checker=True,
                                camera=CameraConfig("orbit", "orbit", s, s, fov=50.0, target=(0.0, 0.0, 0.05)))
            pool = [n for n, spec in CATALOGUE.items() if not spec.rolls] + [f"random_{i:03d}" for i in range(1000)]
        else:
            self.env = gym.make("actial/PickPlace-v0", max_episode_steps=None, disable_env_checker=True,
                                cameras=default_tabletop_cameras(s))
            pool = [n for n, spec in CATALOGUE.items() if spec.graspable and not spec.rolls]
        held = set(cfg.heldout_objects)
        self.pool_train = [n for n in pool if n not in held]
        self.pool_heldout = [n for n in pool if n in held] or self.pool_train
        from sim_envs.backgrounds import BACKGROUNDS

        self.bg_train = list(cfg.train_backgrounds or [b for b in BACKGROUNDS if b not in cfg.heldout_backgrounds])
        self.bg_heldout = [b for b in cfg.heldout_backgrounds if b not in self.bg_train] or self.bg_train

    def close(self):
        self.env.close()

    def scene(self, scene_seed: int, scene_id: str) -> tuple[list[View], list[tuple[View, View]], SceneInfo]:
        """Build one scene, render its views; return the views and the pairs to ask about."""
        cfg, base = self.cfg, self.env.unwrapped
        rng = np.random.default_rng(scene_seed)
        splits = list(cfg.splits)
        split = splits[int(rng.choice(len(splits), p=np.array(list(cfg.splits.values())) / sum(cfg.splits.values())))]
        n_obj = 3 if (cfg.source == "pick_place" or rng.uniform() < cfg.multi_object_share) else 1
        pool = self.pool_heldout if split == "test_objects" else self.pool_train
        bgs = self.bg_heldout if split == "test_backgrounds" else self.bg_train
        if len(pool) >= n_obj:
            objects = [str(o) for o in rng.choice(pool, n_obj, replace=False)]
        else:  # fewer held-out objects than the scene holds (the tabletop's catalogue): all of them, topped up
            rest = [n for n in self.pool_train if n not in pool]
            objects = [str(o) for o in rng.permutation(pool)] + [str(o) for o in rng.choice(rest, n_obj - len(pool),
                                                                                            replace=False)]
        background = str(bgs[int(rng.integers(len(bgs)))])
        scene_cfg = dataclasses.replace(base.config.scene, objects=objects, background=background, n_objects=n_obj)
        # Object-centric views: objects twice the tabletop size, so they fill a good part of the frame.
        if cfg.source == "viewpoint_orbit" and n_obj > 1:
            scene_cfg = dataclasses.replace(scene_cfg, workspace_low=(-0.16, -0.16), workspace_high=(0.16, 0.16),
                                            min_separation=0.16, size_scale=2.0)
        elif cfg.source == "viewpoint_orbit":
            scene_cfg = dataclasses.replace(scene_cfg, workspace_low=(-0.03, -0.03), workspace_high=(0.03, 0.03),
                                            size_scale=2.0)
        base.config = dataclasses.replace(base.config, scene=scene_cfg)
        self.env.reset(seed=int(scene_seed))
        info = SceneInfo(scene_id, split, cfg.source, background, tuple(o.label for o in base.objects))
        positions = np.array([base.sim.body_pose(o.body)[0] for o in base.objects])
        if not np.all(np.isfinite(positions)) or positions[:, 2].min() < -0.05:
            # A rare random URDF makes the physics blow up (NaN poses) or falls through the floor: skip the
            # scene. Deterministic, so a resumed job skips it too.
            return [], [], info
        bodies = {o.body: o.label for o in base.objects}
        cam = base.rig.names[0] if cfg.source == "viewpoint_orbit" else "front"
        target = np.array(base.rig.config(cam).target) if cfg.source == "viewpoint_orbit" else np.array([-0.05, 0.0, 0.0])
        multi = n_obj > 1

        def render(T: np.ndarray, vid: str) -> View:
            v = base.rig.render_at(cam, T)
            return View(vid, encode_image(v.rgb, cfg.image_format, cfg.jpeg_quality), T,
                        (v.intrinsics.fx, v.intrinsics.fy, v.intrinsics.cx, v.intrinsics.cy, v.intrinsics.width,
                         v.intrinsics.height), info, cam, objects_in_view(v.segmentation, v.depth, bodies), v.rgb)

        from sim_envs import geometry as geo
        from sim_envs.pick_place import ROBOT_CAMERA, STATION_CAMERAS

        poses = []
        for _ in range(cfg.views_per_scene):
            if cfg.source == "viewpoint_orbit":
                az, el = rng.uniform(-180, 180), rng.uniform(15, 50)
                dist = rng.uniform(0.75, 1.0) if multi else rng.uniform(0.4, 0.6)
            else:  # around the table, from the side opposite the robot and the two flanks
                az, el, dist = rng.uniform(-150, 150), rng.uniform(30, 60), rng.uniform(0.6, 0.9)
            poses.append(geo.orbit_pose(target, az, el, dist))
        views = [render(T, f"{scene_id}/v{i}") for i, T in enumerate(poses)]
        n_rig = int(round(cfg.pairs_per_scene * cfg.rig_share))
        rig = ({n: render(base.rig.pose(n), f"{scene_id}/{n}") for n in (ROBOT_CAMERA, *STATION_CAMERAS)}
               if n_rig else {})

        # Pairs: orbit pairs in the angle range (each view reused), plus pans and slides.
        lo, hi = cfg.angle_range
        cand = [(i, j) for i in range(len(views)) for j in range(i + 1, len(views))
                if lo <= abs(L.relative_motion(views[i].pose, views[j].pose).yaw_deg) <= hi]
        rng.shuffle(cand)
        n_pan = int(round(cfg.pairs_per_scene * cfg.pan_share))
        n_slide = int(round(cfg.pairs_per_scene * cfg.slide_share))
        pairs = [(views[i], views[j]) if rng.uniform() < 0.5 else (views[j], views[i])
                 for i, j in cand[: cfg.pairs_per_scene - n_pan - n_slide - n_rig]]
        for k in range(n_rig):  # the robot's view and an operator's, either order
            a, b = rig[ROBOT_CAMERA], rig[STATION_CAMERAS[k % len(STATION_CAMERAS)]]
            pairs.append((a, b) if rng.uniform() < 0.5 else (b, a))
        for k in range(n_pan + n_slide):
            b = views[int(rng.integers(len(views)))]
            sign = 1.0 if rng.uniform() < 0.5 else -1.0
            T = b.pose.copy()
            if k < n_pan:  # turn in place about the vertical axis (enough to see, small enough to keep the object)
                T[:3, :3] = geo.rot_z(np.deg2rad(sign * rng.uniform(12, 22))) @ T[:3, :3]
            else:  # slide along the camera's horizontal right axis, same orientation
                right = np.array([T[0, 0], T[1, 0], 0.0])
                T[:3, 3] += sign * rng.uniform(0.06, 0.14) * right / np.linalg.norm(right)
            extra = render(T, f"{scene_id}/{'pan' if k < n_pan else 'slide'}{k}")
            pairs.append((b, extra) if rng.uniform() < 0.5 else (extra, b))
        if not cfg.reuse_views:  # naive: every pair renders its own two views afresh
            pairs = [(render(a.pose, a.view_id), render(b.pose, b.view_id)) for a, b in pairs]
        return views, pairs, info


# -- pairs -> rows ----------------------------------------------------------------------------
def _choose_families(cfg: GeneratorConfig, multi: bool, rng: np.random.Generator) -> list[str]:
    fams = [f for f, w in cfg.families.items() if w > 0 and (multi or f not in Q.OBJECT_FAMILIES)]
    if not fams:
        return []
    w = np.array([cfg.families[f] for f in fams], dtype=float)
    first = fams[int(rng.choice(len(fams), p=w / w.sum()))]
    rest = [f for f in fams if f != first]
    rng.shuffle(rest)
    return [first, *rest]  # the drawn family, then fall-backs if the pair cannot support it


def build_shard(cfg: GeneratorConfig, index: int, source: SceneSource | None = None) -> list[dict]:
    """The rows of shard ``index``: deterministic in (cfg, index)."""
    n_rows = cfg.shard_rows()[index]
    own = source is None
    source = source or SceneSource(cfg)
    rows: list[dict] = []
    slots: dict[str, int] = {}
    try:
        k = 0
        while len(rows) < n_rows:
            scene_seed = int(np.random.SeedSequence([cfg.seed, index, k]).generate_state(1)[0])
            rng = np.random.default_rng([cfg.seed, index, k, 1])
            _, pairs, info = source.scene(scene_seed, f"s{cfg.seed}-{index}-{k}")
            k += 1
            if k > 50 * (n_rows + 1):
                raise RuntimeError("the scene source yields no usable pairs; check angle_range and families")
            for v1, v2 in pairs:
                if len(rows) >= n_rows:
                    break
                m = L.relative_motion(v1.pose, v2.pose)
                reasoning = bool(rng.uniform() < cfg.reasoning_share)
                for fam in _choose_families(cfg, len(info.objects) > 1, rng):
                    # start each shard on another letter: balanced overall
                    slot = slots.get(fam, index) if cfg.shuffle_options else None
                    if fam in Q.OBJECT_FAMILIES:
                        row = Q.object_sample(fam, v1, v2, slot, reasoning, rng, cfg.image_format)
                    else:
                        row = Q.viewpoint_sample(fam, v1, v2, m, slot, reasoning, rng)
                    if row is not None:
                        if slot is not None:
                            slots[fam] = slot + 1
                        rows.append(row)
                        break
    finally:
        if own:
            source.close()
    if cfg.teacher:
        rows = _teach(cfg.teacher, rows)
    return rows


def _teach(teacher_cfg: dict, rows: list[dict]) -> list[dict]:
    from openai import APIConnectionError, APIStatusError

    from .teacher import Teacher

    teacher = Teacher(**teacher_cfg)
    try:
        return [teacher.rewrite(r) for r in rows]
    except (APIConnectionError, APIStatusError) as e:
        raise RuntimeError(f"the teacher model at {teacher_cfg.get('base_url')} failed ({e}); start it or drop "
                           f"`teacher` from the config. Finished shards are kept: re-run to resume.") from e


# -- the job ----------------------------------------------------------------------------------
_WORKER: dict = {}


def _worker_build(args: tuple[dict, int]) -> tuple[int, bytes]:
    """Process-pool entry: one SceneSource per worker process, reused across shards."""
    cfg_dict, index = args
    cfg = GeneratorConfig.from_dict(cfg_dict)
    key = cfg.digest()
    if _WORKER.get("key") != key:
        if "source" in _WORKER:
            _WORKER["source"].close()
        _WORKER.update(key=key, source=SceneSource(cfg))
    rows = build_shard(cfg, index, _WORKER["source"])
    return index, _table_bytes(rows)


def _table_bytes(rows: list[dict]) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    table = rows_to_table(rows)
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def _table_from_bytes(data: bytes):
    import pyarrow as pa

    return pa.ipc.open_stream(data).read_all()


@dataclass
class JobResult:
    out: Path
    rows: int
    shards_written: int
    shards_skipped: int
    seconds: float
    manifest: dict


def _prepare_out(out: Path, cfg: GeneratorConfig, overwrite: bool) -> list[int]:
    """Create/validate the output directory; return the shard indices still to produce."""
    out.mkdir(parents=True, exist_ok=True)
    job = out / JOB_FILE
    if job.exists():
        prev = json.loads(job.read_text())
        if prev.get("digest") != cfg.digest():
            if not overwrite:
                raise DatasetError(f"{out} holds a different job (config {prev.get('digest')}, this one {cfg.digest()}); "
                                   f"pass --overwrite to replace it or choose another --out")
            for p in list(out.glob("shard-*.parquet*")) + [out / "manifest.json"]:
                p.unlink(missing_ok=True)
    job.write_text(json.dumps({"digest": cfg.digest(), "config": cfg.as_dict()}, indent=2, sort_keys=True))
    for tmp in out.glob("*.tmp"):  # half-written files of a killed run
        tmp.unlink()
    todo = []
    for i in range(len(cfg.shard_rows())):
        path = out / shard_name(i)
        if path.exists():
            try:
                ok = shard_metadata(path).get("digest") == cfg.digest() and check_shard(path) == cfg.shard_rows()[i]
            except DatasetError:
                ok = False
            if ok:
                continue
            path.unlink()
        todo.append(i)
    return todo


def generate(cfg: GeneratorConfig, out: str | Path, workers: int = 1, ray_address: str | None = None,
             overwrite: bool = False, progress: Callable[[int, int], None] | None = None,
             show_progress: bool = True) -> JobResult:
    """Run (or resume) a job; returns when ``out`` holds every shard and the manifest."""
    out = Path(out)
    t0 = time.perf_counter()
    todo = _prepare_out(out, cfg, overwrite)
    n_shards = len(cfg.shard_rows())
    skipped = n_shards - len(todo)
    from tqdm import tqdm

    bar = tqdm(total=cfg.n_pairs, initial=sum(cfg.shard_rows()[i] for i in range(n_shards) if i not in todo),
               unit="pair", desc=f"generating {out.name}", disable=not show_progress, smoothing=0.1)

    digests: dict[int, str] = {}

    def finish(index: int, table) -> None:
        digests[index] = write_shard_atomic(table, out / shard_name(index), {"digest": cfg.digest(), "shard": index})
        bar.update(table.num_rows)
        if progress:
            progress(index, table.num_rows)

    if not todo:
        pass  # everything was already there: only the manifest is (re)written
    elif ray_address:
        _run_ray(cfg, todo, ray_address, workers, finish)
    elif workers <= 1:
        source = SceneSource(cfg)
        try:
            for i in todo:
                finish(i, rows_to_table(build_shard(cfg, i, source)))
        finally:
            source.close()
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        # An executor, not mp.Pool: a worker that dies (e.g. a script calling generate() without an
        # ``if __name__ == "__main__":`` guard, which spawn re-runs in every worker) fails the job at once
        # instead of being respawned forever. Finished shards stay on disk; re-running resumes.
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
                for fut in as_completed([pool.submit(_worker_build, (cfg.as_dict(), i)) for i in todo]):
                    i, data = fut.result()
                    finish(i, _table_from_bytes(data))
        except BrokenProcessPool as e:
            raise RuntimeError(
                "a data worker process died. If you call generate(workers > 1) from a script, put the call under "
                "`if __name__ == \"__main__\":` (worker processes re-import the script), or pass workers=1. "
                "Shards finished so far are kept: run the same job again to resume.") from e
    bar.close()
    shards = []
    for i, n in enumerate(cfg.shard_rows()):
        p = out / shard_name(i)
        # shards written now were hashed as they were written; only those found from an earlier run are read
        digest = digests.get(i) or hashlib.sha256(p.read_bytes()).hexdigest()
        shards.append({"file": p.name, "rows": n, "sha256": digest})
    from . import __version__

    manifest = write_manifest(out, {"name": "actial-viewpoint", "package_version": __version__,
                                    "config": cfg.as_dict(), "digest": cfg.digest(), "seed": cfg.seed}, shards)
    return JobResult(out, manifest["rows"], len(todo), skipped, time.perf_counter() - t0, manifest)


def _run_ray(cfg: GeneratorConfig, todo: list[int], address: str, workers: int, finish) -> None:
    """Shard the job over a Ray cluster: each task builds one shard and returns it; the driver writes."""
    import ray

    started = False
    if not ray.is_initialized():
        if address == "local":
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
        started = True
    try:
        task = ray.remote(num_cpus=1)(_worker_build)
        pending = [task.remote((cfg.as_dict(), i)) for i in todo]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            i, data = ray.get(done[0])
            finish(i, _table_from_bytes(data))
    finally:
        if started:
            ray.shutdown()


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))
