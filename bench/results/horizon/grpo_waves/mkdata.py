"""The recipe's datasets, plus p3_waves (GRPO's third floor): as p3_spots, on horizon_waves."""
import sys
sys.path.insert(0, "/work/main")
from training.recipe import horizon_data, RENDERED, rendered_config
from training.engine import generate
if __name__ == "__main__":
    root = "/work/runs/data"
    print(horizon_data(root, workers=2))
    RENDERED["p3_waves"] = dict(n_pairs=6000, train_backgrounds=["horizon_waves"], heldout_backgrounds=["horizon_tiles"],
                                splits={"train": 0.9, "test": 0.1}, seed=29)
    print(generate(rendered_config("p3_waves"), f"{root}/p3_waves", workers=2).out)
