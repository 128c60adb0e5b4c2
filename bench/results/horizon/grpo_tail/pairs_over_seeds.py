"""pairs_over_seeds.py BASE LABEL:RUN=REF,RUN=REF,... ...: per seed, RUN's paired difference from BASE minus
REF's (points, on the same questions), and the mean over seeds with a Student-t 95% interval: e.g. a run's
tail average against the same run's last step, or a GRPO run against an SFT run of the same seed."""
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grpo_temperature"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grpo_soup"))
from members import names
from seeds import minus, over_seeds, table
base = Path(sys.argv[1])


def cells(label, pairs):
    runs, refs = zip(*(p.split("=") for p in pairs))
    for st, sp, _ in names:
        yield over_seeds(minus(base, runs, refs, st, sp))


table("comparison (seeds)", sys.argv[2:], cells, names)
