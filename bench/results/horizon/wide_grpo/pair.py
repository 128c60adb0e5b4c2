"""GRPO minus SFT, paired, on the splits the wide GRPO set is meant to move: direct prompts on p3_near and
p3_far (both floors) and p3_tiles (in-domain and held-out floor, 1,000 questions each), and reasoning prompts
on p3_tiles, and the turn-focused GRPO set's test splits. Each model's reports are cached beside it (pair_<data>_<style>.json).

    python pair.py DATA_ROOT SFT_MODEL GRPO_MODEL [GRPO_MODEL ...]
"""
import json
import sys
from pathlib import Path

from training.evaluate import EvalConfig, InProcessAnswerer, evaluate, load_report, paired_difference

SETS = [("p3_tiles", "direct", ["test", "test_backgrounds"]), ("p3_tiles", "reasoning", ["test", "test_backgrounds"]),
        ("p3_near", "direct", ["test", "test_backgrounds"]), ("p3_far", "direct", ["test", "test_backgrounds"]),
        # the turn-focused GRPO set's own questions on new scenes (go.sh's spots_near / spots_far test splits)
        ("spots_near", "direct", ["test"]), ("spots_far", "direct", ["test"])]


def report(model: Path, root: Path, name: str, style: str, splits: list[str]):
    path = model / f"pair_{name}_{style}.json"
    if path.is_file():
        return load_report(path)
    cfg = EvalConfig(dataset_dir=root / name, splits=splits, max_samples=1000, batch_size=16, prompt_style=style,
                     threads=1)
    rep = evaluate(cfg, InProcessAnswerer.from_pretrained(model))
    path.write_text(json.dumps(rep.to_dict()))
    return rep


def main():
    root, sft, models = Path(sys.argv[1]), Path(sys.argv[2]), [Path(m) for m in sys.argv[3:]]
    rows = []
    for name, style, splits in SETS:
        before = report(sft, root, name, style, splits)
        for split in splits:
            cells = []
            for m in models:
                d = paired_difference(before, report(m, root, name, style, splits), split)
                cells.append(f"{100 * d['diff']:+.1f} [{100 * d['interval'][0]:+.1f}, {100 * d['interval'][1]:+.1f}]")
            rows.append(f"| {name} {split}, {style} | {100 * d['before']:.1f} | " + " | ".join(cells) + " |")
    print(f"| split | SFT ({sft.name}) | " + " | ".join(m.name for m in models) + " |")
    print("|---|---|" + "---|" * len(models))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
