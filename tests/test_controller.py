"""The scripted controller must be reliable enough to act on a model's answers later."""

import numpy as np
import pytest

from sim_envs.controller import ScriptedController

N_EPISODES = 20


def test_scripted_pick_and_place_success_rate(make_env):
    env = make_env("actial/PickPlace-v0")
    results = []
    for seed in range(100, 100 + N_EPISODES):
        env.reset(seed=seed)
        results.append(ScriptedController(env).run())
    # Issue target: >= 95% of seeded episodes. Measured 200/200 on seeds 0..199 (README); 19/20 is the
    # lowest count that still meets the target on 20 episodes.
    assert sum(results) >= 19, f"{sum(results)}/{N_EPISODES} succeeded"


def test_success_ends_the_episode_and_is_reported(make_env):
    env = make_env("actial/PickPlace-v0")
    env.reset(seed=1)
    seen = []
    controller = ScriptedController(env, on_step=lambda obs, info: seen.append(info["is_success"]))
    assert controller.run()
    assert seen[-1] is True and not any(seen[:10])
    # the target left its start and is inside the goal zone
    base = env.unwrapped
    pos = base.sim.body_pose(base.objects[base.target].body)[0]
    assert np.linalg.norm(pos[:2] - base.goal[:2]) <= base.config.goal_radius


def test_placing_the_wrong_object_is_not_success(make_env):
    env = make_env("actial/PickPlace-v0")
    env.reset(seed=1)
    base = env.unwrapped
    other = (base.target + 1) % len(base.objects)
    seen = []
    assert ScriptedController(env, on_step=lambda obs, info: seen.append(info["is_success"])).run(index=other)
    assert base.is_success(other) and not base.is_success() and not any(seen)


def test_pick_rejects_unknown_object(make_env):
    env = make_env("actial/PickPlace-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="no object 7"):
        ScriptedController(env).pick(7)
