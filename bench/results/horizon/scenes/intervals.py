"""Session 29's benchmark with intervals over questions (as written then) beside the same models' intervals over
scenes (`bench/train.py --rescore`, session 30): SFT's accuracy and GRPO minus SFT, per evaluation and split.

    .venv/bin/python bench/results/horizon/scenes/intervals.py > bench/results/horizon/scenes/intervals.md
"""
import json
from pathlib import Path

HERE = Path(__file__).parent
old = json.loads((HERE.parent / "told_rung" / "train_horizon_s0.json").read_text())
new = json.loads((HERE / "train_horizon_s0_rescored.json").read_text())


def acc(c):
    return f"{100 * c['value']:.1f} [{100 * c['lo']:.1f}, {100 * c['hi']:.1f}]"


def gain(d):
    return f"{100 * d['diff']:+.1f} [{100 * d['interval'][0]:+.1f}, {100 * d['interval'][1]:+.1f}]"


print("| evaluation | split | n | scenes | SFT, questions resampled | SFT, scenes resampled | "
      "GRPO − SFT, questions | GRPO − SFT, scenes |")
print("|---|---|---:|---:|---|---|---|---|")
for key, splits in new["sft_eval"].items():
    for split, cells in splits.items():
        if split == "all":
            continue
        c, o = cells["all"], old["sft_eval"].get(key, {}).get(split, {}).get("all")
        g, go = new["grpo_gain"][key][split], old["grpo_gain"].get(key, {}).get(split)
        print(f"| {key} | {split} | {c['n']} | {c['scenes']} | {acc(o['accuracy']) if o else '–'} | "
              f"{acc(c['accuracy'])} | {gain(go) if go else '–'} | {gain(g)} |")
