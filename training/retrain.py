"""Retraining from what the robot's cameras captured: evaluate, continue SFT, evaluate again.

``run_retrain`` takes a checkpoint and a captured dataset (the ROS 2 recorder's, or any dataset with
a train and a held-out split), measures the checkpoint on the held-out captures ("before"),
continues SFT from it on the captured train split, and measures the result on the same rows
("after"). The report (``retrain.md`` / ``retrain.json`` in the output checkpoint) puts the two side
by side with intervals. Interrupted runs resume: SFT resumes from its last Trainer checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sim_envs.config import FromDict


class NotEnoughCaptures(ValueError):
    """The captured dataset lacks a train or a held-out split: nothing to retrain on or to measure with."""


@dataclass
class RetrainConfig(FromDict):
    checkpoint: str = ""  # the model to continue from
    dataset: str = ""  # captured data (train split: training; eval_split: before/after)
    output_dir: str = "outputs/retrained"
    eval_split: str = "test"
    max_steps: int = 200
    batch_size: int = 32
    learning_rate: float = 5e-4  # below the from-scratch rate: keep what the model knew
    warmup_steps: int = 10
    lr_scheduler: str = "constant_with_warmup"  # "cosine" settles a high rate (the loop's 1e-3) on a few captures
    max_eval_samples: int | None = 400
    # Replay: train rows of the datasets the model was trained on, mixed in (as many as the captures' train
    # rows, or replay_rows) so that it does not forget them. Without it the loop's retraining overfit a few
    # captured scenes and lost 17-22 points on the held-out captures (README, The loop).
    replay: list[str] = field(default_factory=list)
    replay_rows: int | None = None
    threads: int | None = None
    preset: str = "tiny"


def _evaluate(path, cfg: RetrainConfig):
    from .evaluate import EvalConfig, InProcessAnswerer, evaluate

    ecfg = EvalConfig(cfg.dataset, splits=[cfg.eval_split], max_samples=cfg.max_eval_samples, batch_size=32,
                      threads=cfg.threads)
    return evaluate(ecfg, InProcessAnswerer.from_pretrained(path, cfg.preset))


def run_retrain(cfg: RetrainConfig) -> dict:
    from .checkpoint import add_evaluation
    from .dataset import load_manifest
    from .evaluate import write_report
    from .sft import SFTRunConfig, run_sft

    splits = load_manifest(cfg.dataset)["counts"]["split"]
    if not splits.get("train") or not splits.get(cfg.eval_split):
        raise NotEnoughCaptures(f"{cfg.dataset} needs rows in 'train' and '{cfg.eval_split}' splits to retrain and "
                                f"measure; it has {splits}. Record more scenes (the recorder holds every "
                                "test_every-th scene out)")
    before = _evaluate(cfg.checkpoint, cfg)
    out = run_sft(SFTRunConfig(model=cfg.checkpoint, dataset=cfg.dataset, output_dir=cfg.output_dir, preset=cfg.preset,
                               extra_datasets=list(cfg.replay), extra_rows=cfg.replay_rows or splits["train"],
                               reasoning_ratio=0.0, max_steps=cfg.max_steps, batch_size=cfg.batch_size,
                               learning_rate=cfg.learning_rate, warmup_steps=cfg.warmup_steps,
                               lr_scheduler=cfg.lr_scheduler, logging_steps=10, save_steps=50,
                               threads=cfg.threads))
    after = _evaluate(out, cfg)
    write_report(before, out, "captured_before")
    write_report(after, out, "captured_after")

    def cell(report):
        c = report.cell(cfg.eval_split, "all")
        return {"accuracy": c["accuracy"], "n": c["n"], "image_blind": c["image_blind"], "chance": c["chance"]}

    summary = {"config": asdict(cfg), "checkpoint": str(out), "before": cell(before), "after": cell(after),
               "gain": after.accuracy(cfg.eval_split) - before.accuracy(cfg.eval_split)}
    add_evaluation(out, "retrain", summary)
    (Path(out) / "retrain.json").write_text(json.dumps(summary, indent=1) + "\n")
    (Path(out) / "retrain.md").write_text(markdown(summary))
    return summary


def markdown(summary: dict) -> str:
    def pct(e):
        return f"{100 * e['value']:.1f}% [{100 * e['lo']:.1f}, {100 * e['hi']:.1f}]"

    b, a = summary["before"], summary["after"]
    return ("# Retraining on captured views\n\n"
            f"Held-out captured split: {b['n']} questions (chance {100 * (b['chance'] or 0):.1f}%, "
            f"image-blind {100 * (b['image_blind'] or 0):.1f}%).\n\n"
            "| model | accuracy (95% CI) |\n|---|---|\n"
            f"| before ({summary['config']['checkpoint']}) | {pct(b['accuracy'])} |\n"
            f"| after {summary['config']['max_steps']} steps on captures | {pct(a['accuracy'])} |\n\n"
            f"Gain: {100 * summary['gain']:+.1f} points.\n")


__all__ = ["NotEnoughCaptures", "RetrainConfig", "run_retrain"]
