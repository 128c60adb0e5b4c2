import gymnasium as gym
import pytest

import sim_envs  # noqa: F401  (registers the environments)


@pytest.fixture
def make_env():
    """gym.make that closes every environment it made when the test ends."""
    made = []

    def _make(env_id, **kwargs):
        env = gym.make(env_id, **kwargs)
        made.append(env)
        return env

    yield _make
    for env in made:
        env.close()
