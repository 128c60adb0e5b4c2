# go.sh NAME SEED [key=value ...]: one GRPO run of grpo_tiny_horizon.yaml (keys overridden) from s26/sft,
# then p3_tiles direct + reasoning evaluations (test, test_backgrounds) into s26/ev_NAME
set -e
cd /work/runs
export OMP_WAIT_POLICY=PASSIVE
A=/work/main/.venv/bin/actial
N=$1; S=$2; shift 2
/work/main/.venv/bin/python - "$N" "$@" <<'PY'
import sys, yaml
cfg = yaml.safe_load(open("/work/main/training/configs/grpo_tiny_horizon.yaml"))
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    cfg[k] = yaml.safe_load(v)
yaml.safe_dump(cfg, open(f"/work/runs/s26/grpo_{sys.argv[1]}.yaml", "w"))
PY
date
[ -f s26/g_$N/model.safetensors ] || $A train grpo --config s26/grpo_$N.yaml --seed $S --model s26/sft --dataset data/p3_horizon --extra-dataset data/p3_spots --out s26/g_$N
date
for P in direct reasoning; do
  $A eval --model-path s26/g_$N --data data/p3_tiles --split test --split test_backgrounds --prompt-style $P --stage tiles_$P --out s26/ev_$N --batch-size 64
done
date
