"""reasoning_share.py DATA: the share of DATA's rows asked with the reasoning prompt, a hair under (SFT's
reasoning_ratio for a mix that reads every row once: hybrid_indices draws reasoning rows to make the share)."""
import glob
import sys

import pyarrow.parquet as pq

styles = [x for f in glob.glob(f"{sys.argv[1]}/shard-*.parquet")
          for x in pq.read_table(f, columns=["prompt_style"]).column("prompt_style").to_pylist()]
print(round(styles.count("reasoning") / len(styles) - 0.005, 3))
