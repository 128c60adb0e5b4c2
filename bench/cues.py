"""How far does a one-line rule on the photos' average colour get on a dataset's viewpoint questions?

    .venv/bin/python bench/cues.py DATA [DATA ...]          # seconds per 1,000 rows
    .venv/bin/python bench/cues.py data/vp112 --out bench/results/cues.json

For every left / right question of the paper's three families, the rule takes each photo's average colour
as a point on the colour wheel (the two opponent axes: red - (green + blue) / 2 and green - blue) and
answers by which way that point turned from photo 1 to photo 2; the sign that fits the train split best
is then scored on every split. It looks at no object and at no place in the image.

Why: the tiny preset learns the orbit questions where the floor makes the view's average colour follow the
camera's heading (``sim_envs/backgrounds.horizon``) and not where it does not (docs/training-log.md). This
states how much of a model's accuracy such a global cue explains: a model at the rule's level may have
learned nothing more than the rule, and on floors where the rule is at chance, a model above chance
learned something else. Pretrained VLMs and the paper's real photos are not judged by it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.questions import PAPER_FAMILIES  # after the path set-up above


def colour_turns(dataset: str | Path) -> list[dict]:
    """Per left / right row of the paper's families: split, family, background, answer, sin(colour turn)."""
    from sim_envs.backgrounds import colour_angle
    from training.dataset import iter_rows
    from training.views import decode_image

    rows = []
    for r in iter_rows(dataset, columns=["images", "family", "split", "background", "answer_text"]):
        if r["family"] not in PAPER_FAMILIES or r["answer_text"] not in ("left", "right") or len(r["images"]) != 2:
            continue
        a1, a2 = (colour_angle(decode_image(b)) for b in r["images"])
        rows.append({"split": r["split"], "family": r["family"], "background": r["background"],
                     "right": r["answer_text"] == "right", "turn": float(np.sin(a2 - a1))})
    return rows


def rule_accuracy(rows: list[dict]) -> dict:
    """The rule's accuracy per split x family (x background), its sign per family fitted on the train split."""
    sign = {}
    for fam in PAPER_FAMILIES:
        train = [r for r in rows if r["family"] == fam and r["split"] == "train"]
        if train:
            agree = np.mean([(r["turn"] > 0) == r["right"] for r in train])
            sign[fam] = 1.0 if agree >= 0.5 else -1.0
    cells = defaultdict(list)
    for r in rows:
        if r["family"] in sign:
            hit = (sign[r["family"]] * r["turn"] > 0) == r["right"]
            cells[(r["split"], r["family"], "all")].append(hit)
            cells[(r["split"], r["family"], r["background"])].append(hit)
    return {"/".join(k): {"n": len(v), "accuracy": float(np.mean(v))} for k, v in sorted(cells.items())}


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="+", type=Path, help="dataset directories")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cues.json")
    args = ap.parse_args()
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    for data in args.data:
        cells = rule_accuracy(colour_turns(data))
        results[data.name] = cells
        table = Table(title=f"{data}: the average-colour rule on left / right questions (chance 50%)")
        for col in ("split", "family", "background", "rows", "accuracy"):
            table.add_column(col)
        for key, v in cells.items():
            table.add_row(*key.split("/"), str(v["n"]), f"{v['accuracy']:.1%}")
        Console().print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
