"""GRPO's groups at several sampling temperatures: how many would carry a gradient, before training.

    .venv/bin/python bench/grpo_temperature.py --model outputs/sft-horizon --dataset data/p3_horizon \\
        --extra-dataset data/p3_spots                                    # grpo_tiny_horizon.yaml's mix
    .venv/bin/python bench/grpo_temperature.py --model M --dataset D --temperatures 1 1.5 --questions 200

GRPO's advantage is a reward minus its group's mean, so a group whose answers all score the same adds no
gradient. A model after SFT is sharp: at temperature 1.0 nearly every group of the horizon recipe's model
was all right (96% of groups without variance in training). Sampling hotter spreads the answers of the
questions the model is least sure of, until the format itself starts to break. For each temperature this
asks a seeded sample of the config's prompts (GRPO's own mix: direct and reasoning, every dataset) as many
times as the config's group size, scores each answer with GRPO's reward, and prints the share of groups
with reward variance, accuracy and format rate at that temperature, and the mean within-group reward std.
Writes ``bench/results/grpo_temperature.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--config", default=str(ROOT / "training/configs/grpo_tiny_horizon.yaml"),
                    help="the GRPO config whose prompt mix, group size and reward weights to use")
    ap.add_argument("--model", required=True, help="the checkpoint GRPO would start from (usually the SFT model)")
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--extra-dataset", action="append", default=[], help="repeatable, as `actial train grpo`'s")
    ap.add_argument("--temperatures", type=float, nargs="+", default=[1.0, 1.25, 1.5, 2.0])
    ap.add_argument("--questions", type=int, default=400, help="a seeded sample of the mix's prompts")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "bench/results/grpo_temperature.json"))
    args = ap.parse_args(argv)

    import torch
    from rich.console import Console
    from rich.table import Table

    from sim_envs.config import load_yaml
    from training import difficulty
    from training.evaluate import InProcessAnswerer
    from training.grpo import GRPORunConfig, prompt_mix

    torch.set_num_threads(args.threads)
    cfg = GRPORunConfig.from_dict({**load_yaml(args.config), "model": args.model, "dataset": args.dataset,
                                   "extra_datasets": args.extra_dataset})
    mix = prompt_mix(cfg, tag=True)
    prompts = [(d, i, s == "reasoning") for d, i, s in zip(mix["source_dataset"], mix["id"], mix["prompt_style"])]
    answerer = InProcessAnswerer.from_pretrained(args.model)
    rows = []
    for t in args.temperatures:
        filt = difficulty.PassRateFilter(samples=cfg.num_generations, max_questions=args.questions, temperature=t,
                                         seed=cfg.seed)
        t0 = time.perf_counter()
        stats = difficulty.group_stats(answerer, difficulty.sample_prompts(prompts, filt), filt,
                                       cfg.format_weight, cfg.accuracy_weight)
        rows.append({**stats, "seconds": time.perf_counter() - t0})

    table = Table(title=f"GRPO's groups by temperature ({args.questions} prompts x {cfg.num_generations}, "
                        f"direct share {cfg.direct_ratio:g}; model {args.model})")
    for col in ("temperature", "groups with reward variance", "accuracy", "format rate", "mean group std", "s"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(f"{r['temperature']:g}", f"{100 * r['groups_with_variance']:.1f}%", f"{100 * r['accuracy']:.1f}%",
                      f"{100 * r['format_rate']:.1f}%", f"{r['mean_group_std']:.3f}", f"{r['seconds']:.0f}")
    Console().print(table)
    result = {"config": args.config, "model": args.model, "datasets": [args.dataset, *args.extra_dataset],
              "questions": args.questions, "group_size": cfg.num_generations, "direct_ratio": cfg.direct_ratio,
              "threads": args.threads, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
