"""seeds.py BASE LABEL:RUN,RUN,... ...: per config, its runs' paired differences from BASE (points) and their mean
over seeds with a Student-t 95% interval (n - 1 degrees of freedom): the spread between runs, which a
paired bootstrap over questions does not cover."""
import sys
sys.path.insert(0, "/work/main")
from pathlib import Path
import numpy as np
from training.evaluate import load_report, paired_difference
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145}  # Student-t 97.5% quantiles by degrees of freedom
names = [("p3_tiles", "test", "in-domain"), ("p3_tiles", "test_backgrounds", "held-out floor"),
         ("p3_near", "test_backgrounds", "near, held-out floor"), ("p3_far", "test_backgrounds", "far, held-out floor"),
         ("p3_tiles_reasoning", "test_backgrounds", "reasoning, held-out floor")]


def differences(base, runs, stage, split):
    """Each run's accuracy minus BASE's on the same questions of ``stage``'s ``split`` (points)."""
    b = load_report(Path(base) / f"eval_{stage}.json")
    return [100 * paired_difference(b, load_report(Path(r) / f"eval_{stage}.json"), split)["diff"] for r in runs]


def minus(base, runs, refs, stage, split):
    """Each run's paired difference from BASE minus its reference's, pair by pair (points)."""
    return list(np.array(differences(base, runs, stage, split)) - np.array(differences(base, refs, stage, split)))


def over_seeds(d) -> str:
    """The mean of per-seed differences, its Student-t 95% interval over seeds and the differences (a table cell)."""
    m = float(np.mean(d))
    if len(d) < 2:
        return f"{m:+.1f}"
    h = T975[len(d) - 1] * np.std(d, ddof=1) / np.sqrt(len(d))
    return f"{m:+.1f} [{m - h:+.1f}, {m + h:+.1f}] ({', '.join(f'{x:+.1f}' for x in d)})"


def table(first: str, args: list[str], cells, names=names, show=str) -> None:
    """A markdown table, one row per LABEL:ITEM,ITEM,... argument: ``cells(label, items)`` gives the row's cells
    (one per split in ``names``); ``show(label)`` names the row."""
    print(f"| {first} | " + " | ".join(n for _, _, n in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for arg in args:
        label, items = arg.rsplit(":", 1)
        items = items.split(",")
        print(f"| {show(label)} ({len(items)}) | " + " | ".join(cells(label, items)) + " |")


def main():
    base = Path(sys.argv[1])
    table("config (runs)", sys.argv[2:],
          lambda label, runs: [over_seeds(differences(base, runs, st, sp)) for st, sp, _ in names])


if __name__ == "__main__":
    main()
