"""pass.py MODEL DATA N K [r] [OUT]: the first look: N train questions of DATA answered K times at temperature 1
(direct prompts, or reasoning with ``r``) by MODEL (``difficulty.estimate_pass_rates``); their rates to OUT."""
import json
import sys
import time

import numpy as np
import torch

sys.path.insert(0, "/work/main")
from training import difficulty
from training.evaluate import EvalConfig, InProcessAnswerer, _load_rows, _select

model, data, n, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
reasoning = len(sys.argv) > 5 and sys.argv[5] == "r"
torch.set_num_threads(1)
rows = _load_rows(data, _select(EvalConfig(data, splits=["train"], max_samples=n, seed=1))[1])
t0 = time.perf_counter()
rates = difficulty.estimate_pass_rates(InProcessAnswerer.from_pretrained(model), [(data, r["id"], reasoning) for r in rows],
                                       difficulty.PassRateFilter(samples=k, max_questions=None))
dt = time.perf_counter() - t0
p = np.array(list(rates.values()))
print(f"{len(rows)} rows x {k} samples in {dt:.0f} s ({len(rows) * k / dt:.1f} completions/s)")
print("mean pass", p.mean().round(3), "all right", (p == 1).mean().round(3), "all wrong", (p == 0).mean().round(3),
      "mixed", ((p > 0) & (p < 1)).mean().round(3))
out = [{"id": r["id"], "family": r["family"], "p": rates[difficulty.key(data, r["id"])], "meta": r.get("meta")} for r in rows]
json.dump(out, open(sys.argv[6] if len(sys.argv) > 6 else "/tmp/pass.json", "w"))
