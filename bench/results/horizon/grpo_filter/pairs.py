"""pairs.py BASE RUN...: each RUN's accuracy minus BASE's on the same questions, 95% paired bootstrap (ev16 reports)."""
import sys
sys.path.insert(0, "/work/main")
from pathlib import Path
from training.evaluate import load_report, paired_difference
base, runs = Path(sys.argv[1]), sys.argv[2:]
names = [("p3_tiles", "test", "in-domain"), ("p3_tiles", "test_backgrounds", "tiles"), ("p3_near", "test", "near"),
         ("p3_near", "test_backgrounds", "near tiles"), ("p3_far", "test", "far"), ("p3_far", "test_backgrounds", "far tiles"),
         ("p3_tiles_reasoning", "test", "R in-domain"), ("p3_tiles_reasoning", "test_backgrounds", "R tiles")]
print("| run | " + " | ".join(n for _, _, n in names) + " |")
print("|---" * (len(names) + 1) + "|")
b = {st: load_report(base / f"eval_{st}.json") for st in {s for s, _, _ in names} if (base / f"eval_{st}.json").exists()}
print(f"| {base.name} | " + " | ".join(f"{100 * paired_difference(b[s], b[s], sp)['before']:.1f}" if s in b else "" for s, sp, _ in names) + " |")
for r in runs:
    cells = []
    for s, sp, _ in names:
        f = Path(r) / f"eval_{s}.json"
        if s not in b or not f.exists():
            cells.append("")
            continue
        d = paired_difference(b[s], load_report(f), sp)
        cells.append(f"{100 * d['after']:.1f} ({100 * d['diff']:+.1f} [{100 * d['interval'][0]:+.1f}, {100 * d['interval'][1]:+.1f}])")
    print(f"| {Path(r).name} | " + " | ".join(cells) + " |")
