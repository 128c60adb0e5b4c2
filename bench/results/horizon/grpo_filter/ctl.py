"""ctl.py RUN OUT: the questions RUN's pass-rate filter kept, each in the style GRPO asked it, as a dataset (SFT control)."""
import json
import sys
from pathlib import Path

sys.path.insert(0, "/work/main")
from training import difficulty
from training.dataset import ShardWriter, iter_rows
from training.grpo import GRPORunConfig, pass_rate_filter, prompt_mix


def write_kept(cfg: GRPORunConfig, rates: dict, out: Path, generator: dict) -> dict:
    """The questions of cfg's prompt mix whose rate the filter keeps, each in the style the mix asks it, written
    to ``out``; returns the dataset's manifest."""
    filt = pass_rate_filter(cfg)
    mix = prompt_mix(cfg, tag=True)
    style = {difficulty.key(d, i): s for d, i, s in zip(mix["source_dataset"], mix["id"], mix["prompt_style"])}
    keep = {k for k, r in rates.items() if filt.keeps(r)}
    out.mkdir(parents=True)
    w = ShardWriter(out, 1000, {"source": "kept"})
    for d in [cfg.dataset, *cfg.extra_datasets]:
        for r in iter_rows(d):
            k = difficulty.key(d, r["id"])
            if k in keep:
                r["prompt_style"] = style[k]
                w.add(r)
    return w.finish(generator, "nothing kept")


if __name__ == "__main__":
    run, out = Path(sys.argv[1]), Path(sys.argv[2])
    cfg = GRPORunConfig.from_dict(json.loads((run / "actial_checkpoint.json").read_text())["train_config"])
    rates = json.loads((run / difficulty.RATES_FILE).read_text())["rates"]
    print(write_kept(cfg, rates, out, {"control_of": str(run)}))
