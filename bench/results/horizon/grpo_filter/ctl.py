"""ctl.py RUN OUT: the questions RUN's pass-rate filter kept, each in the style GRPO asked it, as a dataset (SFT control)."""
import sys, json, yaml
sys.path.insert(0, "/work/main")
from pathlib import Path
from training.grpo import GRPORunConfig, prompt_mix, pass_rate_filter
from training.dataset import iter_rows, ShardWriter, load_manifest
from training import difficulty
run, out = Path(sys.argv[1]), Path(sys.argv[2])
m = json.loads((run / "actial_checkpoint.json").read_text())
tc = m["train_config"]
cfg = GRPORunConfig.from_dict(tc)
filt = pass_rate_filter(cfg)
rates = json.loads((run / difficulty.RATES_FILE).read_text())["rates"]
mix = prompt_mix(cfg, tag=True)
style = {difficulty.key(d, i): s for d, i, s in zip(mix["source_dataset"], mix["id"], mix["prompt_style"])}
keep = {k for k, r in rates.items() if filt.keeps(r)}
out.mkdir(parents=True)
w = ShardWriter(out, 1000, {"source": "ctl"})
for d in [cfg.dataset, *cfg.extra_datasets]:
    for r in iter_rows(d):
        k = difficulty.key(d, r["id"])
        if k in keep:
            r["prompt_style"] = style[k]
            w.add(r)
print(w.finish({"control_of": str(run)}, "nothing kept"))
