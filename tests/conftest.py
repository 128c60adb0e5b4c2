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
    from training.engine import GeneratorConfig, generate
    from training.presets import build_tiny, dataset_texts
    from training.sft import SFTRunConfig, run_sft

    root = tmp_path_factory.mktemp("served")
    data = root / "data"
    generate(GeneratorConfig(n_pairs=80, rows_per_shard=80, image_size=112, views_per_scene=6, reasoning_share=0.0,
                             shuffle_options=False, families={"ego_translation": 1.0, "ego_rotation": 1.0}),
             data, show_progress=False)
    tiny = build_tiny(root / "tiny", dataset_texts(data))
    ckpt = run_sft(SFTRunConfig(model=str(tiny), dataset=str(data), output_dir=str(root / "sft"), reasoning_ratio=0.0,
                                max_steps=40, batch_size=8, learning_rate=3e-3, warmup_steps=5, logging_steps=10,
                                save_steps=1000, threads=2))
    return ckpt, data
