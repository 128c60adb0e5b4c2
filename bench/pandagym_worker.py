"""Measured inside a throwaway venv that has panda-gym: prints one JSON line. Run by bench/sim.py."""

import json
import sys
import time

import gymnasium as gym
import numpy as np
import panda_gym  # noqa: F401

n_steps, n_frames = int(sys.argv[1]), int(sys.argv[2])
out = {"version": panda_gym.__version__ if hasattr(panda_gym, "__version__") else "3.x", "fps": {}}
env = gym.make("PandaPickAndPlace-v3")
env.reset(seed=0)
env.action_space.seed(0)
t = time.perf_counter()
for _ in range(n_steps):
    env.step(env.action_space.sample())
out["steps_per_s"] = n_steps / (time.perf_counter() - t)
env.close()
for size in (112, 224, 448):
    env = gym.make("PandaPickAndPlace-v3", render_mode="rgb_array", render_width=size, render_height=size)
    env.reset(seed=0)
    env.render()  # warm-up
    t = time.perf_counter()
    for _ in range(n_frames):
        img = env.render()
    out["fps"][str(size)] = n_frames / (time.perf_counter() - t)
    assert img.shape == (size, size, 3)
    env.close()
print(json.dumps(out))
