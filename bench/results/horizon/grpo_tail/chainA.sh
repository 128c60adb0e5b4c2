bash job.sh grpo A0; bash job.sh sft K0; bash job.sh grpo A2; bash job.sh sft K2; bash job.sh grpo A4
