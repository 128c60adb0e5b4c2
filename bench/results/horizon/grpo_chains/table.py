"""table.py [--root DIR] [--base NAME] RUN...: GRPO variants (go.sh) against the SFT model they start from, on
every `p3_tiles` question of the in-domain and held-out-floor splits: accuracy, direct and reasoning prompts,
`ego_translation`'s reasoning accuracy, and the paired difference from the base in points [95% bootstrap]."""
import argparse
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[4]))
from training.evaluate import load_report, paired_difference

ap = argparse.ArgumentParser()
ap.add_argument("--root", type=Path, default=Path("/work/runs/s26"))
ap.add_argument("--base", default="sft")
ap.add_argument("runs", nargs="+")
args = ap.parse_args()
STAGES = ("tiles_direct", "tiles_reasoning")
SPLITS = ("test", "test_backgrounds")
base = {st: load_report(args.root / f"ev_{args.base}" / f"eval_{st}.json") for st in STAGES}
print("| run | " + " | ".join(f"{st.split('_')[1]}, {'in-domain' if sp == 'test' else 'held-out floor'}"
                             for st in STAGES for sp in SPLITS) + " | reasoning `ego_translation`, in-domain / held-out floor |")
print("|---|" + "---|" * (len(STAGES) * len(SPLITS) + 1))
for r in [args.base, *args.runs]:
    row = [r]
    for st in STAGES:
        rep = load_report(args.root / f"ev_{r}" / f"eval_{st}.json")
        for sp in SPLITS:
            acc = 100 * rep.metrics[sp]["all"]["accuracy"]["value"]
            if r == args.base:
                row.append(f"{acc:.1f}")
            else:
                d = paired_difference(base[st], rep, sp)
                lo, hi = d["interval"]
                row.append(f"{acc:.1f}, {100 * d['diff']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]")
    rep = load_report(args.root / f"ev_{r}" / "eval_tiles_reasoning.json")
    row.append(" / ".join(f"{100 * rep.metrics[sp]['ego_translation']['accuracy']['value']:.1f}" for sp in SPLITS))
    print("| " + " | ".join(row) + " |")
