"""hard.py MODEL OUT: the pass-rate filter as B's config asks it of MODEL (4,000 prompts of p3_horizon + p3_spots,
8 answers each), then the kept questions written as a dataset in the form GRPO would ask them (OUT)."""
import sys
from pathlib import Path

import torch
import yaml

sys.path.insert(0, "/work/main")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from ctl import write_kept
from training import difficulty
from training.evaluate import InProcessAnswerer
from training.grpo import GRPORunConfig, pass_rate_filter, prompt_mix

model, out = sys.argv[1], Path(sys.argv[2])
c = yaml.safe_load(open("/work/runs/s18/B.yaml"))
c.update(model=model, dataset="/work/runs/rdata/p3_horizon", extra_datasets=["/work/runs/rdata/p3_spots"],
         output_dir=str(out) + "_rates")
cfg = GRPORunConfig.from_dict(c)
torch.set_num_threads(1)
filt = pass_rate_filter(cfg)
mix = prompt_mix(cfg, tag=True)
prompts = [(d, i, s == "reasoning") for d, i, s in zip(mix["source_dataset"], mix["id"], mix["prompt_style"])]
ans = InProcessAnswerer.from_pretrained(model)
rates = difficulty.load_or_estimate(Path(cfg.output_dir), model, lambda: ans, difficulty.sample_prompts(prompts, filt), filt)
print(difficulty.summary(rates, filt))
print(write_kept(cfg, rates, out, {"hard_of": model})["counts"]["split"])
