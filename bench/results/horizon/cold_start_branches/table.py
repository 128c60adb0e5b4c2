"""table.py [--root DIR] [--base NAME] [--header] BRANCH...: cold-start branches against a base branch, each
split's accuracy with its 95% bootstrap interval, `ego_translation`'s accuracy, and the paired difference from the
base (points). Each branch NAME was evaluated into ROOT/ev_NAME (go.sh eval here; ../cold_start_seeds/go.sh eval).

Session 24: table.py ship r3 r5 r5l > table.md (ROOT /work/runs/s24/br, base `ship`); session 25's seeds:
../cold_start_seeds/table.md."""
import argparse
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[4]))
from training.evaluate import load_report, paired_difference

STAGES = ("p3_tiles", "p3_tiles_reasoning")
ap = argparse.ArgumentParser()
ap.add_argument("--root", type=Path, default=Path("/work/runs/s24/br"))
ap.add_argument("--base", default="ship")
ap.add_argument("--header", action="store_true", help="print the table's header first")
ap.add_argument("branches", nargs="*", default=["ship", "r3", "r5"])
args = ap.parse_args()
if args.header:
    print("| branch (phase 5) | direct, in-domain | direct, held-out floor | reasoning, in-domain | reasoning, held-out floor |")
    print("|---|---|---|---|---|")
base = {st: load_report(args.root / f"ev_{args.base}" / f"eval_{st}.json") for st in STAGES}
for r in args.branches:
    row = [r]
    for st in STAGES:
        rep = load_report(args.root / f"ev_{r}" / f"eval_{st}.json")
        for sp in ("test", "test_backgrounds"):
            acc, et = rep.metrics[sp]["all"]["accuracy"], rep.metrics[sp]["ego_translation"]["accuracy"]["value"]
            d = paired_difference(base[st], rep, sp)
            row.append(f"{100 * acc['value']:.1f} [{100 * acc['lo']:.1f}, {100 * acc['hi']:.1f}] (`ego_translation` "
                       f"{100 * et:.1f}; {100 * d['diff']:+.1f} [{100 * d['interval'][0]:+.1f}, {100 * d['interval'][1]:+.1f}])")
    print("| " + " | ".join(row) + " |")
