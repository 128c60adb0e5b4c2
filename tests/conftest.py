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


@pytest.fixture(scope="session")
def served_checkpoint(tmp_path_factory):
    """A tiny checkpoint after a few real SFT steps: it answers in the trained format, so served and
    in-process answers can be compared token for token (an untrained model emits byte soup)."""
    from training.sft import smoke_checkpoint

    return smoke_checkpoint(tmp_path_factory.mktemp("served"))
