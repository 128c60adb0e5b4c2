"""mix.py HARD OUT: HARD's rows plus as many random train rows of the recipe's data (p3_horizon, p3_spots), as one dataset."""
import sys
sys.path.insert(0, "/work/main")
import numpy as np
from pathlib import Path
from training.dataset import iter_rows, ShardWriter
hard, out = Path(sys.argv[1]), Path(sys.argv[2])
rows = list(iter_rows(hard))
ids = {r["id"] for r in rows}
pool = [(d, i) for d in ["/work/runs/rdata/p3_horizon", "/work/runs/rdata/p3_spots"]
        for i, r in enumerate(iter_rows(d, columns=["split", "id"])) if r["split"] == "train" and r["id"] not in ids]
pick = set(map(tuple, [pool[i] for i in np.random.default_rng(0).choice(len(pool), size=len(rows), replace=False)]))
out.mkdir(parents=True)
w = ShardWriter(out, 1000, {"source": "mix"})
for r in rows:
    w.add(r)
for d in ["/work/runs/rdata/p3_horizon", "/work/runs/rdata/p3_spots"]:
    for i, r in enumerate(iter_rows(d)):
        if (d, i) in pick:
            w.add(r)
print(w.finish({"mix_of": str(hard)}, "empty")["counts"]["split"])
