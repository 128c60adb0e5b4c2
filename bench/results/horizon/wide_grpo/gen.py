"""A GRPO prompt set on the second training floor (`horizon_spots`) with other camera turns than SFT's 20-100
degrees: the recipe's `p3_spots` (training/recipe.py) with ``angle_range`` LO..HI, N_PAIRS pairs and SEED.

    python gen.py OUT LO HI SEED N_PAIRS
"""
import dataclasses
import sys

from training.engine import generate
from training.recipe import rendered_config

out, lo, hi, seed, n = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
cfg = dataclasses.replace(rendered_config("p3_spots"), n_pairs=n, angle_range=(lo, hi), seed=seed)
print(generate(cfg, out, workers=1, show_progress=False).out)
