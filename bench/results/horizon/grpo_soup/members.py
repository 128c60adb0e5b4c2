"""members.py BASE SOUP:MEMBER,MEMBER,... ...: each averaged model's paired difference from BASE (points), its
members' mean difference, and the soup minus that mean: what averaging adds beyond the runs it averages."""
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grpo_temperature"))
import numpy as np
from seeds import differences, table
names = [("p3_tiles", "test", "in-domain"), ("p3_tiles", "test_backgrounds", "held-out floor"),
         ("p3_near", "test", "small turns"), ("p3_near", "test_backgrounds", "small turns, held-out floor"),
         ("p3_far", "test", "wide turns"), ("p3_far", "test_backgrounds", "wide turns, held-out floor")]


def main():
    base = Path(sys.argv[1])

    def cells(soup, members):
        for st, sp, _ in names:
            s = differences(base, [soup], st, sp)[0]
            m = float(np.mean(differences(base, members, st, sp)))
            yield f"{s:+.1f} / {m:+.1f} (**{s - m:+.1f}**)"

    table("averaged model (members)", sys.argv[2:], cells, names, show=lambda soup: Path(soup).name)


if __name__ == "__main__":
    main()
