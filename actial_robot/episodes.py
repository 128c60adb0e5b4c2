"""Seeded pick-and-place episodes with the model in the loop, and their report.

Each episode: a new PickPlace scene, a viewpoint-dependent instruction (``actial_robot.tasks``), a
chooser that decides which object is meant, then the scripted controller picks that object and
places it in the goal zone. Success = the meant object ends in the goal zone. Choosers:
  oracle     the ground truth (the controller's own success rate: the ceiling)
  random     a uniformly random object (the floor)
  model      the trained model, in process or through an OpenAI-compatible server (SpatialClient),
             asked either which object is meant or where the operator's photo was taken
             (``EpisodeConfig.ask``; ``tasks.ASK_MODES``)
The same seeds give every chooser the same scenes and instructions. ``actial episodes`` runs them;
the ROS agent node runs the same episode logic over sim_bridge and spatial_query.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from sim_envs.config import FromDict

from .tasks import ASK_MODES, OPERATOR_CAMERA, ROBOT_CAMERA, ViewpointTask, make_task

Chooser = Callable[[ViewpointTask], int | None]  # the object index it means (None: no usable answer)


@dataclass
class EpisodeConfig(FromDict):
    episodes: int = 50
    seed: int = 0
    image_size: int = 112  # camera resolution: the tiny model's
    videos: int = 3  # multi-view GIFs for the first N episodes of each chooser
    video_every: int = 3  # a GIF frame every N control steps
    out: str = "outputs/episodes"
    max_resets: int = 20  # scenes tried per seed until one has an unambiguous instruction
    ask: str = "viewpoint"  # what a model chooser asks: "viewpoint" (where is the operator) or "object"

    def __post_init__(self):
        if self.ask not in ASK_MODES:
            raise ValueError(f"ask must be one of {ASK_MODES}, got {self.ask!r}")


def oracle_chooser(task: ViewpointTask) -> int:
    return task.answer_index


def random_chooser(seed: int = 0) -> Chooser:
    rng = np.random.default_rng(seed)
    return lambda task: int(rng.integers(len(task.options)))


def random_station_chooser(seed: int = 0) -> Chooser:
    """A coin flip for where the operator stands, then the robot's own resolution: the viewpoint mode's floor."""
    rng = np.random.default_rng(seed)
    return lambda task: task.object_for(task.viewpoint_options[int(rng.integers(2))])


def asked(task: ViewpointTask, ask: str) -> tuple[str, list[str], Callable[[str], int | None]]:
    """The question a model chooser puts, its options, and how the chosen option becomes an object."""
    if ask == "object":
        return task.question, task.options, lambda option: task.options.index(option)
    return task.viewpoint_question, task.viewpoint_options, task.object_for


def client_chooser(client, ask: str = "viewpoint") -> Chooser:
    """Ask a served model through ``SpatialClient``; an error or an invalid answer chooses nothing."""
    from .client import SpatialClientError

    def choose(task: ViewpointTask) -> int | None:
        question, options, to_object = asked(task, ask)
        try:
            return to_object(client.ask(task.images, question, options).choice)
        except (SpatialClientError, ValueError):
            return None

    return choose


def answerer_chooser(answerer, ask: str = "viewpoint") -> Chooser:
    """Ask an in-process model (``training.evaluate.InProcessAnswerer``) the same prompt."""
    from training.dataset import LETTERS
    from training.rewards import parse_answer
    from training.views import encode_image

    def choose(task: ViewpointTask) -> int | None:
        question, options, to_object = asked(task, ask)
        row = {"images": [encode_image(im) for im in task.images], "question": question, "options": options}
        letter = parse_answer(answerer.answer([row], reasoning=False)[0]).upper()
        return to_object(options[LETTERS.index(letter)]) if letter in LETTERS[:len(options)] else None

    return choose


def make_env(cfg: EpisodeConfig):
    import gymnasium as gym

    import sim_envs  # noqa: F401
    from sim_envs.pick_place import default_tabletop_cameras

    return gym.make("actial/PickPlace-v0", cameras=default_tabletop_cameras(cfg.image_size, operator=True))


def _tile(base, names) -> np.ndarray:
    return np.concatenate([base.rig.render(n).rgb for n in names], axis=1)


def run_episode(env, seed: int, chooser: Chooser, cfg: EpisodeConfig, video: Path | None = None) -> dict:
    from sim_envs.controller import ScriptedController

    base = env.unwrapped
    rng = np.random.default_rng(seed)
    task = None
    for k in range(cfg.max_resets):
        env.reset(seed=seed * 1000 + k)
        task = make_task(env, rng)
        if task is not None:
            break
    if task is None:
        return {"seed": seed, "skipped": True}
    base.target = task.answer_index  # the env's success = the meant object in the goal zone
    t0 = time.perf_counter()
    choice = chooser(task)
    think_s = time.perf_counter() - t0
    frames = []
    names = [ROBOT_CAMERA, OPERATOR_CAMERA, "wrist"]
    if video is not None:
        frames.append(_tile(base, names))

    def record(obs, info):
        if video is not None and ctl.steps % cfg.video_every == 0:
            frames.append(_tile(base, names))

    ctl = ScriptedController(env, on_step=record)
    placed = bool(ctl.run(choice)) if choice is not None else False
    success = bool(choice == task.answer_index and base.is_success(task.answer_index))
    if video is not None and frames:
        import imageio.v2 as imageio

        video.parent.mkdir(parents=True, exist_ok=True)
        imageio.mimsave(video, frames, duration=1 / 12, loop=0)
    return {"seed": seed, "skipped": False, "family": task.family, "camera": task.camera, "side": task.side,
            "instruction": task.instruction, "options": task.options, "answer": task.answer_index,
            "viewpoint_answer": task.viewpoint_answer, "station_answers": task.station_answers,
            "choice": choice, "chose_right": choice == task.answer_index, "placed": placed, "success": success,
            "think_s": think_s, "steps": ctl.steps, "video": str(video) if video else None}


def run_episodes(cfg: EpisodeConfig, choosers: dict[str, Chooser], progress: bool = True) -> dict:
    """Every chooser on the same ``cfg.episodes`` seeds; writes episodes.json, report.md and report.png."""
    from rich.progress import Progress

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    env = make_env(cfg)
    results: dict[str, list[dict]] = {}
    try:
        with Progress(disable=not progress) as bar:
            for name, chooser in choosers.items():
                task_bar = bar.add_task(f"episodes: {name}", total=cfg.episodes)
                rows = []
                for i in range(cfg.episodes):
                    slug = "_".join("".join(c if c.isalnum() else " " for c in name).split())
                    video = out / f"{slug}_episode{i:03d}.gif" if i < cfg.videos else None
                    rows.append(run_episode(env, cfg.seed + i, chooser, cfg, video))
                    bar.advance(task_bar)
                results[name] = rows
    finally:
        env.close()
    summary = summarize(results)
    (out / "episodes.json").write_text(json.dumps({"config": asdict(cfg), "summary": summary, "episodes": results},
                                                  indent=1, default=str) + "\n")
    (out / "report.md").write_text(markdown(summary, cfg))
    plot(summary, out / "report.png")
    return summary


def summarize(results: dict[str, list[dict]]) -> dict:
    from training.evaluate import bootstrap_interval

    out = {}
    for name, rows in results.items():
        done = [r for r in rows if not r["skipped"]]
        out[name] = {"episodes": len(done), "skipped": len(rows) - len(done),
                     "success": bootstrap_interval([r["success"] for r in done]),
                     "chose_right": bootstrap_interval([r["chose_right"] for r in done]),
                     "placed": bootstrap_interval([r["placed"] for r in done]),
                     "no_answer": sum(r["choice"] is None for r in done),
                     "think_s_mean": float(np.mean([r["think_s"] for r in done])) if done else None}
    return out


def _pct(e) -> str:
    return "-" if e is None else f"{100 * e['value']:.1f}% [{100 * e['lo']:.1f}, {100 * e['hi']:.1f}]"


def markdown(summary: dict, cfg: EpisodeConfig) -> str:
    asked_what = ("where the operator's photo was taken (ego_translation); the robot resolves the object"
                  if cfg.ask == "viewpoint" else "which object is meant")
    lines = [f"# Viewpoint-dependent pick-and-place: {cfg.episodes} seeded episodes (seeds {cfg.seed}..)", "",
             f"Models are asked {asked_what}.", "",
             "| chooser | episodes | success (95% CI) | chose the meant object | placed in goal | no answer | "
             "decision time |", "|---|---|---|---|---|---|---|"]
    for name, s in summary.items():
        t = f"{1000 * s['think_s_mean']:.0f} ms" if s["think_s_mean"] is not None else "-"
        lines.append(f"| {name} | {s['episodes']} | {_pct(s['success'])} | {_pct(s['chose_right'])} | "
                     f"{_pct(s['placed'])} | {s['no_answer']} | {t} |")
    return "\n".join(lines) + "\n"


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary)
    vals = [100 * (summary[n]["success"] or {"value": 0})["value"] for n in names]
    err = [[100 * ((s := summary[n]["success"]) and s["value"] - s["lo"] or 0) for n in names],
           [100 * ((s := summary[n]["success"]) and s["hi"] - s["value"] or 0) for n in names]]
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(names), 3.2))
    ax.bar(names, vals, yerr=err, capsize=4, color=(["#4c72b0", "#999999", "#dd8452", "#55a868", "#c44e52", "#8172b3"] * 2)[:len(names)])
    ax.set_ylabel("episode success, %")
    ax.set_ylim(0, 105)
    ax.set_title("pick the object meant from another viewpoint")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = ["EpisodeConfig", "answerer_chooser", "asked", "client_chooser", "oracle_chooser", "random_chooser",
           "random_station_chooser", "run_episode", "run_episodes"]
