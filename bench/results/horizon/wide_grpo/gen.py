"""A GRPO prompt set on the second training floor (`horizon_spots`) with other camera turns than SFT's 20-100
degrees: the recipe's generator settings (training/recipe.py) with ``angle_range`` LO..HI.

    python gen.py OUT LO HI SEED N_PAIRS
"""
import sys

from training.engine import GeneratorConfig, generate
from training.questions import PAPER_FAMILIES

out, lo, hi, seed, n = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
cfg = GeneratorConfig(image_size=112, shuffle_options=False, families={f: 1.0 for f in PAPER_FAMILIES},
                      pan_share=0, slide_share=0, multi_object_share=0.6, n_pairs=n, angle_range=(lo, hi),
                      train_backgrounds=["horizon_spots"], heldout_backgrounds=["horizon_tiles"],
                      splits={"train": 0.9, "test": 0.1}, seed=seed)
print(generate(cfg, out, workers=1, show_progress=False).out)
