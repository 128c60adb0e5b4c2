#!/bin/bash
# Device run: 4 SFT runs of the phase-2-gated recipe side by side (seeds 0 2 3 4), 1 torch thread + 3 data workers each.
# usage: bash .gpu/run.sh LIMIT_S [PY]
LIMIT=${1:-470}; PY=${2:-python3}
export OMP_WAIT_POLICY=PASSIVE PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD
OUT=${OUT:-/tmp/gpuout}; mkdir -p $OUT
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1 | head -2
$PY -c "import torch, transformers, trl, datasets; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'tf', transformers.__version__, 'trl', trl.__version__, 'ds', datasets.__version__)" || exit 1
t0=$(date +%s)
$PY -c "
from training.recipe import RUNGS
from training.sanity import hue_turn_dataset
import sys
name = sys.argv[1]; hue_turn_dataset('.gpu/data/' + name, **RUNGS[name])" hue_turn_ego &
$PY -c "
from training.recipe import RUNGS
from training.sanity import hue_turn_dataset
import sys
name = sys.argv[1]; hue_turn_dataset('.gpu/data/' + name, **RUNGS[name])" hue_turn &
wait; echo "hue data: $(( $(date +%s) - t0 )) s"; ls .gpu/data
for s in ${SEEDS:-0 2 3 4}; do
  timeout $LIMIT $PY -m actial_robot.cli train sft --config .gpu/g$s.yaml --model .gpu/tiny --dataset .gpu/data/p3_horizon \
      --out /tmp/r/g$s ${MAXSTEPS:+--max-steps $MAXSTEPS} > /tmp/r_g$s.log 2>&1 &
done
wait; echo "runs: $(( $(date +%s) - t0 )) s"
nvidia-smi --query-gpu=memory.used --format=csv,noheader
for s in ${SEEDS:-0 2 3 4}; do
  tr '\r' '\n' < /tmp/r_g$s.log | grep -v -E "examples/s\]|Loading weights|^ *$" | awk '!/(it\/s|s\/it)\]/ || /[ |][0-9]*[05]0\/[0-9]+ \[/' > $OUT/g$s.txt
  tail -3 $OUT/g$s.txt
  if [ -f /tmp/r/g$s/model.safetensors ]; then tar -C /tmp/r -czf $OUT/g$s.tgz --exclude=trainer g$s
  else c=$(ls -d /tmp/r/g$s/trainer/checkpoint-* 2>/dev/null | sort -t- -k2 -n | tail -1); [ -n "$c" ] && tar -C $(dirname $c) -czf $OUT/g$s.tgz --exclude=optimizer.pt $(basename $c); fi
done
ls -la $OUT
