"""pairs_over_seeds.py BASE LABEL:RUN=REF,RUN=REF,... ...: per seed, RUN's paired difference from BASE minus
REF's (points, on the same questions), and the mean over seeds with a Student-t 95% interval: e.g. a run's
tail average against the same run's last step, or a GRPO run against an SFT run of the same seed."""
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grpo_temperature"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grpo_soup"))
import numpy as np
from members import names
from seeds import differences, over_seeds
base = Path(sys.argv[1])
print("| comparison (seeds) | " + " | ".join(n for _, _, n in names) + " |")
print("|---" * (len(names) + 1) + "|")
for arg in sys.argv[2:]:
    label, pairs = arg.rsplit(":", 1)
    runs, refs = zip(*(p.split("=") for p in pairs.split(",")))
    cells = []
    for st, sp, _ in names:
        cells.append(over_seeds(np.array(differences(base, runs, st, sp)) - np.array(differences(base, refs, st, sp))))
    print(f"| {label} ({len(runs)}) | " + " | ".join(cells) + " |")
