bash job.sh grpo A1; bash job.sh sft K1; bash job.sh grpo A3; bash job.sh sft K3; bash job.sh sft K4
