import sys, dataclasses
from training.recipe import rendered_config
from training.engine import generate
if __name__ == "__main__":
  name, lo, hi, n, seed = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
  cfg = rendered_config("p3_tiles")
  cfg = dataclasses.replace(cfg, angle_range=(lo, hi), n_pairs=n, seed=seed,
                            splits={"test": 0.5, "test_backgrounds": 0.5})
  generate(cfg, f"/work/runs/rdata/{name}", workers=2, show_progress=False)
  print("done", name)
