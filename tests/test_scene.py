"""Scenes: randomised under the seed, and backgrounds that a viewpoint question can use."""

import numpy as np
import pytest

from sim_envs import ViewpointOrbitEnv
from sim_envs.backgrounds import BACKGROUNDS, make_background


@pytest.mark.parametrize("style", BACKGROUNDS)
def test_backgrounds_are_not_rotationally_symmetric(style):
    # A checkerboard differs from its 90-degree turn by 0 on average; these must differ clearly.
    # Threshold: 20 grey levels of mean absolute difference, about a third of what we measure.
    for seed in range(5):
        tex = make_background(style, np.random.default_rng(seed)).astype(np.int16)
        for k in (1, 2, 3):
            assert np.abs(tex - np.rot90(tex, k)).mean() > 20, (style, seed, k)


def test_orbit_views_differ_with_azimuth():
    """Turning the camera around the same object changes what the background shows."""
    env = ViewpointOrbitEnv()
    try:
        env.reset(seed=5)
        views = [env.step(np.array([az, 30, 0.6, 0], np.float32))[0] for az in (0, 90, 180, -90)]
        obj_body = env.objects[0].body
        for a in range(4):
            for b in range(a + 1, 4):
                bg = (views[a]["segmentation"] != obj_body) & (views[b]["segmentation"] != obj_body)
                diff = np.abs(views[a]["rgb"].astype(int) - views[b]["rgb"].astype(int))[bg].mean()
                assert diff > 15, (a, b, diff)
    finally:
        env.close()


def test_object_colours_sizes_and_yaws_vary_with_seed():
    env = ViewpointOrbitEnv(scene={"objects": ["cube"], "workspace_low": [-0.05, -0.05], "workspace_high": [0.05, 0.05]})
    try:
        seen = set()
        for seed in range(6):
            env.reset(seed=seed)
            o = env.objects[0]
            _, orn = env.sim.body_pose(o.body)
            seen.add((o.color, round(o.size, 4), round(float(orn[2]), 3)))
        assert len(seen) == 6
    finally:
        env.close()
