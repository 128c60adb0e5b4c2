"""Plumbing checks for the tiny preset: does SFT learn what any working pipeline learns fast?

    .venv/bin/python bench/sanity.py                           # all checks, ~40 min on 2 cores
    .venv/bin/python bench/sanity.py --only text_answer shift   # some of them

Runs SFT from a fresh tiny model on three sanity datasets (training/sanity.py) and logs held-out accuracy
as it trains: "the answer is stated in the question" (text only), "is the red square in the left or
right half of the first photo?" (where things are in an image) and "which way did the red square move
from the first photo to the second?" (comparing two images: what every viewpoint question needs). All
start at 50%; a pipeline that does not lift them near 100% within the step budget is broken before any
viewpoint question is asked. The first found the batching bug of 2026-11-26; the third found that the
prompt's order matters (questions.user_content: with the photos before the question it stayed at 50%).
Later rungs (``--only NAME``) ask for a square of any or a named colour, and which way one colour turned
(``hue_turn``: the rung that, mixed into orbit data on ``horizon`` floors, taught the tiny model the orbit
questions; docs/training-log.md).
Writes ``bench/results/sanity.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

CHECKS = {  # name -> (dataset builder, SFT steps, builder options)
    "text_answer": ("text_answer_dataset", 150, {}),
    "position": ("position_dataset", 400, {}),
    "shift": ("shift_dataset", 600, {}),
    # rungs towards real scenes: no fixed colour to detect; then other squares, so the two photos must be matched
    "position_colour": ("position_dataset", 600, {"color": None}),
    "shift_colour": ("shift_dataset", 900, {"color": None}),
    "shift_distractors": ("shift_dataset", 900, {"color": None, "distractors": 2}),
    # the colour is named in the question, among other palette squares: a word tied to what it looks like
    "position_named": ("named_position_dataset", 900, {}),
    "position_named_alone": ("named_position_dataset", 600, {"squares": 1}),  # the named square alone
    "position_named_two": ("named_position_dataset", 600, {"squares": 1, "palette": ["red", "green"]}),  # 2 colours
    # the orbit pairs' hue-floor cue with nothing to find: which way one colour turned around the wheel
    "hue_turn": ("hue_turn_dataset", 900, {}),
    "hue_turn_faint": ("hue_turn_dataset", 900, {"saturation": (25, 50)}),  # the horizon floor views' strength
}


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    from training import sanity
    from training.checkpoint import read_manifest
    from training.presets import build_tiny, dataset_texts
    from training.sft import SFTRunConfig, run_sft

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=4000, help="rows per sanity dataset")
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--only", nargs="+", choices=list(CHECKS), help="run these checks (default: all)")
    ap.add_argument("--steps", type=int, help="SFT steps for every check run (default: each check's own budget)")
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads per run (1 when another run shares the cores)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sanity.json")
    args = ap.parse_args()
    checks = {k: v for k, v in CHECKS.items() if not args.only or k in args.only}

    # --only updates its checks in an existing results file and keeps the others' last measurements (JSON keys: str)
    results = json.loads(args.out.read_text()) if args.only and args.out.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (builder, steps, options) in checks.items():
            steps = args.steps or steps
            root = Path(tmp) / name
            data = getattr(sanity, builder)(root / "data", n=args.rows, **options)
            tiny = build_tiny(root / "tiny", dataset_texts(data))
            ckpt = run_sft(SFTRunConfig(model=str(tiny), dataset=str(data), output_dir=str(root / "sft"),
                                        reasoning_ratio=0.0, max_steps=steps, batch_size=32, learning_rate=1e-3,
                                        warmup_steps=50, lr_scheduler="constant_with_warmup", logging_steps=25,
                                        save_steps=100000, threads=args.threads, eval_every=args.eval_every,
                                        eval_samples=200))
            log = read_manifest(ckpt)["log_history"]
            curve = {e["step"]: e["eval_accuracy"] for e in log if "eval_accuracy" in e}
            first = next((s for s, a in sorted(curve.items()) if a >= 0.95), None)
            results[name] = {"steps": steps, "accuracy_by_step": curve, "first_step_at_95": first}

    table = Table(title="Sanity checks: held-out accuracy while training (chance 50%)")
    for col in ("check", "accuracy by step", "first step >= 95%"):
        table.add_column(col)
    for name, r in results.items():
        curve = sorted(r["accuracy_by_step"].items(), key=lambda kv: int(kv[0]))
        table.add_row(name, " ".join(f"{s}:{a:.0%}" for s, a in curve),
                      str(r["first_step_at_95"] or "not reached"))
    Console().print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
