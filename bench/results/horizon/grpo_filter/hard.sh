#!/bin/bash
# hard.sh MODEL NAME: hard.py, then the SFT control config at seeds 0 and 1 on the kept questions, each evaluated
cd /work/main; S=/work/runs/s18
rm -rf $S/hard_$2 $S/hard_${2}_rates
.venv/bin/python $S/hard.py $1 $S/hard_$2 > $S/hard_$2.log 2>&1
bash $S/control.sh $S/hard_$2 $1 H_$2 0 1
