"""hard.py MODEL OUT: the pass-rate filter as B's config asks it of MODEL (4,000 prompts of p3_horizon + p3_spots,
8 answers each), then the kept questions written as a dataset in the form GRPO would ask them (OUT)."""
import sys
sys.path.insert(0, "/work/main")
import yaml, torch
from pathlib import Path
from training.grpo import GRPORunConfig, prompt_mix, pass_rate_filter
from training.dataset import iter_rows, ShardWriter
from training.evaluate import InProcessAnswerer
from training import difficulty
model, out = sys.argv[1], Path(sys.argv[2])
c = yaml.safe_load(open("/work/runs/s18/B.yaml"))
c.update(model=model, dataset="/work/runs/rdata/p3_horizon", extra_datasets=["/work/runs/rdata/p3_spots"], output_dir=str(out) + "_rates")
cfg = GRPORunConfig.from_dict(c)
torch.set_num_threads(1)
filt = pass_rate_filter(cfg)
mix = prompt_mix(cfg, tag=True)
prompts = [(d, i, s == "reasoning") for d, i, s in zip(mix["source_dataset"], mix["id"], mix["prompt_style"])]
ans = InProcessAnswerer.from_pretrained(model)
rates = difficulty.load_or_estimate(Path(cfg.output_dir), model, lambda: ans, difficulty.sample_prompts(prompts, filt), filt)
print(difficulty.summary(rates, filt))
style = {difficulty.key(d, i): s for d, i, s in zip(mix["source_dataset"], mix["id"], mix["prompt_style"])}
keep = {k for k, r in rates.items() if filt.keeps(r)}
out.mkdir(parents=True)
w = ShardWriter(out, 1000, {"source": "hard"})
for d in [cfg.dataset, *cfg.extra_datasets]:
    for r in iter_rows(d):
        k = difficulty.key(d, r["id"])
        if k in keep:
            r["prompt_style"] = style[k]
            w.add(r)
print(w.finish({"hard_of": model}, "nothing kept")["counts"]["split"])
