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


@pytest.mark.parametrize("style", ["horizon", "horizon_tiles", "horizon_spots", "horizon_waves"])
def test_horizon_floor_average_colour_follows_the_heading(style):
    """On ``horizon`` the view's average colour turns one way as the camera goes around the object.

    Over 4 scenes x 2 elevations x 8 steps of 40 degrees (the paper's pairs differ by 20-100), the colour
    angle must turn the majority's way in >= 85% of the steps (measured 95%: a large coloured object or
    the light can outweigh the floor; bench/cues.py's rule gets ~93-95% of orbit pairs right). Measured on
    ``blobs``, a floor without the cue: 61%. ``horizon_tiles``, the held-out look with the same cue, must
    keep it too (measured 100% for both styles on 2026-11-26, after the object-size changes), and so must
    ``horizon_waves``, the look GRPO adds.
    """
    from sim_envs.backgrounds import colour_angle

    def same_way(style: str) -> float:
        turns = []
        for seed in range(4):
            env = ViewpointOrbitEnv(scene={"background": style})
            try:
                env.reset(seed=seed)
                for el in (15, 45):
                    angles = [colour_angle(env.step(np.array([az, el, 0.5, 0], np.float32))[0]["rgb"])
                              for az in range(-160, 161, 40)]
                    turns += list(np.angle(np.exp(1j * np.diff(angles))))
            finally:
                env.close()
        signs = np.sign(turns)
        return max(np.mean(signs > 0), np.mean(signs < 0))

    assert same_way(style) >= 0.85


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
