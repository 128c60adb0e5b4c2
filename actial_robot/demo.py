"""The demo: a scripted pick-and-place episode seen by every camera of the rig.

Later stages (data, training, serving, ROS 2 episodes, retraining) grow the demo into the whole
loop; for now it shows the simulated world and its posed cameras at work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

import sim_envs  # noqa: F401  (registers the environments)
from sim_envs.controller import ScriptedController

from .pictures import grid, label, save_gif, save_png


@dataclass
class EpisodeRecord:
    success: bool
    steps: int
    target: str
    picture: Path
    animation: Path
    views: Path


def run_scripted_episode(seed: int, out_dir: str | Path, size: int = 160, frame_every: int = 3,
                         progress=None) -> EpisodeRecord:
    """Run one seeded episode with the scripted controller; write a multi-view picture, a GIF and the poses."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cams = sim_envs.pick_place.default_tabletop_cameras(size)
    env = gym.make("actial/PickPlace-v0", cameras=cams)
    try:
        env.reset(seed=seed)
        base = env.unwrapped
        frames: list[dict[str, np.ndarray]] = []

        def record(_obs=None, _info=None):
            if controller.steps % frame_every == 0:
                frames.append({n: v.rgb for n, v in base.capture().items()})
            if progress is not None:
                progress()

        controller = ScriptedController(env, on_step=record)
        record()
        success = controller.run()
        record()
        names = list(frames[0])
        # The picture: one row per camera, five moments across the episode.
        moments = np.linspace(0, len(frames) - 1, 5).round().astype(int)
        rows = [[label(frames[k][n], f"{n}  t={k * frame_every}") for k in moments] for n in names]
        picture = save_png(grid(rows), out / "episode_multiview.png")
        animation = save_gif([grid([[label(f[n], n) for n in names]]) for f in frames], out / "episode_multiview.gif")
        views = base.capture()
        meta = {
            "seed": seed, "success": success, "steps": controller.steps,
            "target": base.objects[base.target].label, "goal": base.goal.tolist(),
            "cameras": {n: {"intrinsics": v.intrinsics.as_dict(), "pose_world_from_camera": v.pose.tolist()}
                        for n, v in views.items()},
        }
        views_path = out / "episode_cameras.json"
        views_path.write_text(json.dumps(meta, indent=2))
        return EpisodeRecord(success, controller.steps, meta["target"], picture, animation, views_path)
    finally:
        env.close()
