#!/bin/bash
# switch.sh VARIANT: seed 2's run (go.sh train 2) lost the cue at phase 3's switch to three families. Branch its
# Trainer checkpoint 800 (phase 2's gate passed at 800; phase 3 starts at 810) with phase 3 changed, and stop after
# the held-out check at step 1,050 (240 steps into phase 3). Variants:
#   keep_adam: reset_optimizer false (Adam's state kept across the switch)
#   lr5:       lr 5e-4 (200 warm-up steps as shipped)
#   warm400:   400 warm-up steps (the whole phase)
#   gate95:    phase 2's gate at 0.95 instead of 0.9 (branched at checkpoint 750, before that gate passed at 0.915;
#              stopped after the check at step 1,100)
#   ship:      as shipped (a replay of the run itself)
cd /work/main; export OMP_WAIT_POLICY=PASSIVE; B=/work/runs/s25; v=$1; out=$B/sw_$v
ck=800; stop=1050; [ $v = gate95 ] && ck=750 && stop=1100
.venv/bin/python - $B/s2.yaml $out $v <<'PY'
import sys, yaml
src, out, v = sys.argv[1:]
cfg = yaml.safe_load(open(src))
if v == "gate95":
    cfg["curriculum"][1]["until_accuracy"] = 0.95
p3 = cfg["curriculum"][2]
p3.update({"keep_adam": {"reset_optimizer": False}, "lr5": {"lr": 0.0005}, "warm400": {"warmup_steps": 400},
           "gate95": {}, "ship": {}}[v])
cfg.update(output_dir=out)
yaml.safe_dump(cfg, open(out + ".yaml", "w"), sort_keys=False)
PY
rm -rf $out; mkdir -p $out/trainer; cp -r $B/s2/trainer/checkpoint-$ck $out/trainer/
.venv/bin/actial train sft --config $out.yaml --out $out > $out.log 2>&1 &
pid=$!
until tr '\r' '\n' < $out.log | grep -q "step $stop: held-out" || ! kill -0 $pid 2>/dev/null; do sleep 10; done
kill $pid 2>/dev/null; wait $pid 2>/dev/null
echo "== $v"; tr '\r' '\n' < $out.log | grep -oE "step [0-9]+: held-out accuracy [0-9.]+ \([^)]*\)|curriculum phase.*"
