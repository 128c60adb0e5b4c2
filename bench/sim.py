"""Simulation speed: our environments beside panda-gym's PandaPickAndPlace-v3, in one run.

    .venv/bin/python bench/sim.py [--steps 2000] [--frames 30]

* environment steps/s without rendering (random actions; same control rate idea: one step = IK +
  several physics substeps);
* frames/s per camera of our default PickPlace rig at 112, 224 and 448 px, and panda-gym's
  ``render()`` at the same sizes (both TinyRenderer: PyBullet in DIRECT mode has no GPU path).

panda-gym is installed into a throwaway venv (``.venv-pandagym``) so its pins never touch ours.
Prints a table with ratios (ours / panda-gym; > 1 means we are faster) and writes
``bench/results/sim.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import sim_envs  # noqa: E402
from sim_envs.pick_place import default_tabletop_cameras  # noqa: E402

SIZES = (112, 224, 448)


def pandagym(n_steps: int, n_frames: int) -> dict:
    venv = ROOT / ".venv-pandagym"
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if subprocess.run([str(py), "-c", "import panda_gym"], capture_output=True).returncode != 0:
        subprocess.run([str(py), "-m", "pip", "install", "-q", "panda-gym"], check=True)
    res = subprocess.run([str(py), str(ROOT / "bench" / "pandagym_worker.py"), str(n_steps), str(n_frames)],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def ours(n_steps: int, n_frames: int) -> dict:
    out: dict = {"fps": {}}
    # default scene (3 objects), and one cube like panda-gym's task
    for key, scene in (("steps_per_s", {}), ("steps_per_s_1_cube", {"objects": ["cube"]})):
        env = gym.make("actial/PickPlace-v0", max_episode_steps=None, scene=scene)
        env.reset(seed=0)
        env.action_space.seed(0)
        t = time.perf_counter()
        for _ in range(n_steps):
            env.step(env.action_space.sample())
        out[key] = n_steps / (time.perf_counter() - t)
        env.close()
    for shadow in (False, True):
        for size in SIZES:
            env = gym.make("actial/PickPlace-v0", cameras=default_tabletop_cameras(size))
            env.reset(seed=0)
            rig = env.unwrapped.rig
            rig.lighting.shadow = shadow
            for name in rig.names:
                rig.render(name)  # warm-up
                t = time.perf_counter()
                for _ in range(n_frames):
                    rig.render(name)
                key = f"{name}{' +shadow' if shadow else ''}"
                out["fps"].setdefault(key, {})[str(size)] = n_frames / (time.perf_counter() - t)
            env.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2000, help="environment steps timed per environment")
    ap.add_argument("--frames", type=int, default=30, help="frames timed per camera and resolution")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sim.json")
    args = ap.parse_args()

    theirs = pandagym(args.steps, args.frames)
    mine = ours(args.steps, args.frames)

    console = Console(width=110)
    t = Table(title="Simulation speed (same machine, same run)", width=100)
    for col in ("measure", "actial", "panda-gym", "ratio actial / panda-gym"):
        t.add_column(col, justify="right" if col != "measure" else "left")
    rows = [("env steps/s, 3 objects (no render)", mine["steps_per_s"], theirs["steps_per_s"]),
            ("env steps/s, 1 cube (no render)", mine["steps_per_s_1_cube"], theirs["steps_per_s"])]
    for cam, by_size in mine["fps"].items():
        for size in SIZES:
            rows.append((f"frames/s {cam} @ {size}px", by_size[str(size)], theirs["fps"][str(size)]))
    for name, a, b in rows:
        t.add_row(name, f"{a:.1f}", f"{b:.1f}", f"{a / b:.2f}")
    console.print(t)
    console.print("panda-gym renders with shadow=True; '+shadow' rows are our cameras with shadows on, for a like-for-like cost.")

    result = {
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine(),
                    "cpus": __import__("os").cpu_count()},
        "args": {"steps": args.steps, "frames": args.frames},
        "actial": mine, "panda_gym": theirs,
        "ratios": {name: a / b for name, a, b in rows},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
