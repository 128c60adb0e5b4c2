"""table.py: the cold-start branches (go.sh) against the shipped phase 5, each split's accuracy with its 95%
bootstrap interval, `ego_translation`'s accuracy, and the paired difference from the shipped branch (points)."""
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[4]))
from training.evaluate import load_report, paired_difference

B = Path("/work/runs/s24/br")  # go.sh wrote the branches and their evaluations here
STAGES = ("p3_tiles", "p3_tiles_reasoning")
base = {st: load_report(B / "ev_ship" / f"eval_{st}.json") for st in STAGES}
for r in sys.argv[1:] or ["ship", "r3", "r5"]:
    row = [r]
    for st in STAGES:
        rep = load_report(B / f"ev_{r}" / f"eval_{st}.json")
        for sp in ("test", "test_backgrounds"):
            acc, et = rep.metrics[sp]["all"]["accuracy"], rep.metrics[sp]["ego_translation"]["accuracy"]["value"]
            d = paired_difference(base[st], rep, sp)
            row.append(f"{100 * acc['value']:.1f} [{100 * acc['lo']:.1f}, {100 * acc['hi']:.1f}] (`ego_translation` "
                       f"{100 * et:.1f}; {100 * d['diff']:+.1f} [{100 * d['interval'][0]:+.1f}, {100 * d['interval'][1]:+.1f}])")
    print("| " + " | ".join(row) + " |")
