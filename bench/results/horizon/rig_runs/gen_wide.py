import dataclasses
from training.recipe import rendered_config
from training.engine import generate
if __name__ == "__main__":
  cfg = rendered_config("p3_spots")
  cfg = dataclasses.replace(cfg, angle_range=(5.0, 170.0), n_pairs=8000, seed=47,
                            train_backgrounds=["horizon", "horizon_spots"])
  generate(cfg, "/work/runs/rdata/p3_wide", workers=1, show_progress=False)
  print("done")
