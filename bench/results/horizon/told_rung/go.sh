#!/bin/bash
# go.sh NAME SEED FROM [key=value ...]: sft_tiny_horizon.yaml as bench/train.py runs it (its tiny model, the
# recipe's datasets at /work/runs/data, one thread, a checkpoint every 50 steps), at SEED, from scratch
# (FROM `-`) or resumed from the Trainer checkpoint FROM (a run of the same seed whose phase 1 is the config's,
# e.g. session 27's p3short_sN at its phase 1's end), with curriculum keys overridden (`p2.steps=300`) or the
# config's own (`cfg.key=value`).
# `notold=1`: the config without the told-motion rung (as shipped until session 29); `told=2,3`: the rung in
# phases 2 and 3 (phase 2 alone as shipped). Phase 1 reads no rung, so its rows are the same either way.
# Writes $B/NAME, $B/NAME.log and the held-out checks and gates to $H/checks_NAME.txt (defaults: /work/runs/s29,
# this folder; ../switch_seeds/go.sh runs through here with its own). The tiny model: bench/train.py's, built
# once at /work/runs/s27/tiny.
cd /work/main; export OMP_WAIT_POLICY=PASSIVE; B=${B:-/work/runs/s29}; H=${H:-bench/results/horizon/told_rung}
name=$1; seed=$2; from=$3; shift 3; mkdir -p $B/$name/trainer
[ -d /work/runs/s27/tiny ] || .venv/bin/python -c "
from training.presets import TOKENIZER_ROWS, build_tiny, dataset_texts
build_tiny('/work/runs/s27/tiny', dataset_texts('/work/runs/data/p3_horizon', limit=TOKENIZER_ROWS))"
[ -f /work/runs/data/told_motion/manifest.json ] || .venv/bin/python -c "
from training.sanity import told_motion_dataset; told_motion_dataset('/work/runs/data/told_motion')"
[ "$from" = - ] || [ -d $B/$name/trainer/$(basename $from) ] || cp -r $from $B/$name/trainer/
.venv/bin/python - $B/$name $seed "$@" <<'PY'
import sys, yaml
from training.recipe import sft_config
out, seed, *sets = sys.argv[1:]
cfg = sft_config("/work/runs/data")
here = lambda name: "/work/runs/data/" + name
for s in sets:  # pN.key=value
    k, v = s.split("=", 1)
    if k in ("told", "notold"):
        for n, p in enumerate(cfg["curriculum"], 1):
            p["extra_datasets"] = [d for d in p["extra_datasets"] if not d.endswith("told_motion")]
            if "families" in p:
                p["families"] = [f for f in p["families"] if f != "told_motion"]
            if k == "told" and str(n) in v.split(","):
                p["extra_datasets"].append(here("told_motion"))
                if p.get("families"):
                    p["families"].append("told_motion")
        continue
    ph, key = k.split(".", 1)
    if ph == "cfg":  # cfg.key=value: a top-level key (session 31: cfg.extra={bf16: true})
        cfg[key] = yaml.safe_load(v)
        continue
    cfg["curriculum"][int(ph[1:]) - 1][key] = yaml.safe_load(v)
cfg.update(model="/work/runs/s27/tiny", output_dir=out, seed=int(seed),
           threads=1, save_steps=50, save_total_limit=100)
yaml.safe_dump(cfg, open(out + ".yaml", "w"), sort_keys=False)
PY
.venv/bin/actial train sft --config $B/$name.yaml --out $B/$name > $B/$name.log 2>&1
tr '\r' '\n' < $B/$name.log | grep -oE "step [0-9]+: held-out accuracy [0-9.]+ \([^)]*\)|curriculum phase.*|train_runtime[^,]*" \
  > $H/checks_$name.txt
