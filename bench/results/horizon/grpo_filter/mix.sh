#!/bin/bash
# mix.sh NAME MODEL: hard_NAME's questions + as many recipe rows (mix.py), the control config at seeds 0 and 1, evaluated
cd /work/main; S=/work/runs/s18
rm -rf $S/mix_$1; .venv/bin/python $S/mix.py $S/hard_$1 $S/mix_$1 > $S/mix_$1.log 2>&1
bash $S/control.sh $S/mix_$1 $2 M_$1 0 1
