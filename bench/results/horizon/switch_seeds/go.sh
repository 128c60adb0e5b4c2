#!/bin/bash
# go.sh NAME SEED [key=value ...]: sft_tiny_horizon.yaml from scratch as bench/train.py runs it (its tiny model,
# the recipe's datasets at /work/runs/data), at SEED, one thread, with curriculum keys overridden:
# `p2.until_accuracy=0.95` sets phase 2's key. Writes $B/NAME (the run), $B/NAME.log, and the held-out checks and
# gates to checks_NAME.txt beside this script. Session 25's seeds 1 and 2 passed phase 2's gate at 0.904 and
# 0.915 (seed 0: 0.968) and then struggled at phase 3's switch to three families (1,660 and 1,860 steps
# against seed 0's 910); does a firmer phase 2 carry them across?
# (Session 27 ran the config as it was then, without phase 2's told-motion rung of session 29: add
# `p2.families=[ego_translation,hue_turn] p2.extra_datasets=[/work/runs/data/hue_turn_ego]` to replay it.)
cd /work/main; export OMP_WAIT_POLICY=PASSIVE; B=/work/runs/s27; H=bench/results/horizon/switch_seeds
name=$1; seed=$2; shift 2; mkdir -p $B
[ -d $B/tiny ] || .venv/bin/python -c "
from training.presets import TOKENIZER_ROWS, build_tiny, dataset_texts
build_tiny('$B/tiny', dataset_texts('/work/runs/data/p3_horizon', limit=TOKENIZER_ROWS))"
.venv/bin/python - $B/$name $seed "$@" <<'PY'
import sys, yaml
from training.recipe import sft_config
out, seed, *sets = sys.argv[1:]
cfg = sft_config("/work/runs/data")
for s in sets:  # pN.key=value
    k, v = s.split("=", 1)
    ph, key = k.split(".", 1)
    cfg["curriculum"][int(ph[1:]) - 1][key] = yaml.safe_load(v)
cfg.update(model="/work/runs/s27/tiny", output_dir=out, seed=int(seed),
           threads=1, save_steps=50, save_total_limit=100)
yaml.safe_dump(cfg, open(out + ".yaml", "w"), sort_keys=False)
PY
.venv/bin/actial train sft --config $B/$name.yaml --out $B/$name > $B/$name.log 2>&1
tr '\r' '\n' < $B/$name.log | grep -oE "step [0-9]+: held-out accuracy [0-9.]+ \([^)]*\)|curriculum phase.*|train_runtime[^,]*" \
  > $H/checks_$name.txt
