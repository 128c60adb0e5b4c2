#!/bin/bash
# d2.sh RUN: the SFT control for RUN (the questions its filter kept, in the form GRPO asked them; GRPO's steps, rows per step and lr), then ev16
cd /work/main; export OMP_WAIT_POLICY=PASSIVE
cp /work/runs/s18/D.yaml /work/runs/s18/D_$1.yaml
rm -rf /work/runs/s18/ctl_$1 /work/runs/s18/D$1
.venv/bin/python /work/runs/s18/ctl.py /work/runs/s18/$1 /work/runs/s18/ctl_$1 > /work/runs/s18/ctl_$1.log 2>&1
r=$(.venv/bin/python /work/runs/s18/reasoning_share.py /work/runs/s18/ctl_$1)
sed -i "s/^reasoning_ratio: .*/reasoning_ratio: $r/" /work/runs/s18/D_$1.yaml
.venv/bin/actial train sft --config /work/runs/s18/D_$1.yaml --model /work/runs/s18/sft0 --dataset /work/runs/s18/ctl_$1 --out /work/runs/s18/D$1 > /work/runs/s18/D$1.log 2>&1
bash /work/runs/s16/ev16.sh /work/runs/s18/D$1 /work/runs/s18/ev_D$1 1 > /work/runs/s18/ev_D$1.txt 2>&1
