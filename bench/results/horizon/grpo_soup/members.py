"""members.py BASE SOUP:MEMBER,MEMBER,... ...: each averaged model's paired difference from BASE (points), its
members' mean difference, and the soup minus that mean: what averaging adds beyond the runs it averages."""
import sys
sys.path.insert(0, "/work/main")
from pathlib import Path
import numpy as np
from training.evaluate import load_report, paired_difference
names = [("p3_tiles", "test", "in-domain"), ("p3_tiles", "test_backgrounds", "held-out floor"),
         ("p3_near", "test", "small turns"), ("p3_near", "test_backgrounds", "small turns, held-out floor"),
         ("p3_far", "test", "wide turns"), ("p3_far", "test_backgrounds", "wide turns, held-out floor")]
base = Path(sys.argv[1])
print("| averaged model (members) | " + " | ".join(n for _, _, n in names) + " |")
print("|---" * (len(names) + 1) + "|")
for arg in sys.argv[2:]:
    soup, members = arg.split(":")
    members = members.split(",")
    cells = []
    for st, sp, _ in names:
        b = load_report(base / f"eval_{st}.json")
        s = 100 * paired_difference(b, load_report(Path(soup) / f"eval_{st}.json"), sp)["diff"]
        m = float(np.mean([100 * paired_difference(b, load_report(Path(r) / f"eval_{st}.json"), sp)["diff"]
                           for r in members]))
        cells.append(f"{s:+.1f} / {m:+.1f} (**{s - m:+.1f}**)")
    print(f"| {Path(soup).name} ({len(members)}) | " + " | ".join(cells) + " |")
