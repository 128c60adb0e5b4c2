import sys, time, json, numpy as np, torch
sys.path.insert(0, "/work/main")
from training.evaluate import InProcessAnswerer, EvalConfig, _select, _load_rows
from training.rewards import parse_answer, is_correct
model, data, n, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
reasoning = len(sys.argv) > 5 and sys.argv[5] == "r"
torch.set_num_threads(1)
a = InProcessAnswerer.from_pretrained(model)
_, pos = _select(EvalConfig(data, splits=["train"], max_samples=n, seed=1))
rows = _load_rows(data, pos)
t0 = time.perf_counter()
hits = np.zeros((len(rows), k))
for s in range(k):
    for b in range(0, len(rows), 32):
        batch = rows[b:b+32]
        for i, t in enumerate(a.answer(batch, reasoning, temperature=1.0, seed=s * 1000 + b)):
            hits[b + i, s] = is_correct(parse_answer(t), batch[i]["answer"])
dt = time.perf_counter() - t0
p = hits.mean(1)
print(f"{len(rows)} rows x {k} samples in {dt:.0f} s ({len(rows)*k/dt:.1f} completions/s)")
print("mean pass", p.mean().round(3), "all right", (p == 1).mean().round(3), "all wrong", (p == 0).mean().round(3), "mixed", ((p > 0) & (p < 1)).mean().round(3))
out = [{"id": r["id"], "family": r["family"], "p": float(q), "yaw": r.get("yaw_deg"), "meta": r.get("meta")} for r, q in zip(rows, p)]
json.dump(out, open(sys.argv[6] if len(sys.argv) > 6 else "/tmp/pass.json", "w"))
