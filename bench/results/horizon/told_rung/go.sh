#!/bin/bash
# go.sh NAME SEED FROM [key=value ...]: sft_tiny_horizon.yaml as bench/train.py runs it (its tiny model, the
# recipe's datasets at /work/runs/data, one thread, a checkpoint every 50 steps), at SEED, resumed from the
# Trainer checkpoint FROM (a run of the same config and seed, e.g. session 27's p3short_sN at its phase 1's
# end: phases 1 and 2 there are the shipped config's), with curriculum keys overridden (`p2.families=[...]`).
# `told=1` adds the told-motion rung (sanity.told_motion_dataset) to phase 2. Writes $B/NAME, $B/NAME.log and
# the held-out checks and gates to checks_NAME.txt beside this script.
cd /work/main; export OMP_WAIT_POLICY=PASSIVE; B=/work/runs/s29; H=bench/results/horizon/told_rung
name=$1; seed=$2; from=$3; shift 3; mkdir -p $B/$name/trainer
[ -f /work/runs/data/told_motion/manifest.json ] || .venv/bin/python -c "
from training.sanity import told_motion_dataset; told_motion_dataset('/work/runs/data/told_motion')"
[ -d $B/$name/trainer/$(basename $from) ] || cp -r $from $B/$name/trainer/
.venv/bin/python - $B/$name $seed "$@" <<'PY'
import sys, yaml
out, seed, *sets = sys.argv[1:]
cfg = yaml.safe_load(open("training/configs/sft_tiny_horizon.yaml"))
here = lambda d: "/work/runs/data/" + d.split("/")[-1]
for p in cfg["curriculum"]:
    if "extra_datasets" in p:
        p["extra_datasets"] = [here(d) for d in p["extra_datasets"]]
for s in sets:  # pN.key=value
    k, v = s.split("=", 1)
    if k == "told":
        for n in map(int, v.split(",")):
            p = cfg["curriculum"][n - 1]
            p["extra_datasets"].append(here("told_motion"))
            if p.get("families"):
                p["families"].append("told_motion")
        continue
    ph, key = k.split(".", 1)
    cfg["curriculum"][int(ph[1:]) - 1][key] = yaml.safe_load(v)
cfg.update(model="/work/runs/s27/tiny", dataset="/work/runs/data/p3_horizon", output_dir=out, seed=int(seed),
           threads=1, save_steps=50, save_total_limit=100)
yaml.safe_dump(cfg, open(out + ".yaml", "w"), sort_keys=False)
PY
.venv/bin/actial train sft --config $B/$name.yaml --out $B/$name > $B/$name.log 2>&1
tr '\r' '\n' < $B/$name.log | grep -oE "step [0-9]+: held-out accuracy [0-9.]+ \([^)]*\)|curriculum phase.*|train_runtime[^,]*" \
  > $H/checks_$name.txt
