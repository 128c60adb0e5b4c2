"""Bad configuration fails at once with a message that says what was wrong and what would be right."""

import gymnasium as gym
import pytest

from sim_envs import CameraConfig, PickPlaceEnv, SceneConfig, ViewpointOrbitEnv
from sim_envs.backgrounds import make_background


def test_unknown_camera_names_the_rig():
    with pytest.raises(ValueError, match=r"unknown camera 'ceiling'.*front, left, right, wrist"):
        PickPlaceEnv(obs_cameras=["ceiling"])
    env = PickPlaceEnv()
    try:
        env.reset(seed=0)
        with pytest.raises(KeyError, match="unknown camera 'ceiling'"):
            env.capture(["ceiling"])
    finally:
        env.close()


@pytest.mark.parametrize("width,height", [(0, 224), (224, 0), (-5, 10), (22.5, 10)])
def test_bad_resolution(width, height):
    with pytest.raises(ValueError, match="must be a positive integer number of pixels"):
        CameraConfig("c", width=width, height=height)


def test_bad_camera_kind_and_geometry():
    with pytest.raises(ValueError, match="unknown kind 'fisheye'"):
        CameraConfig("c", kind="fisheye")
    with pytest.raises(ValueError, match="orbit distance must be > 0"):
        CameraConfig("c", kind="orbit", distance=0)
    with pytest.raises(ValueError, match="need 0 < near < far"):
        CameraConfig("c", near=2.0, far=1.0)
    with pytest.raises(ValueError, match="unknown keys"):
        CameraConfig.from_dict({"name": "c", "fov_deg": 50})


def test_wrist_camera_needs_a_robot():
    with pytest.raises(ValueError, match="wrist-mounted but this scene has no robot"):
        env = ViewpointOrbitEnv(camera=CameraConfig("orbit", "orbit"))
        try:
            env.reset(seed=0)
            from sim_envs.camera import CameraRig

            CameraRig(env.sim, [CameraConfig("w", "wrist")])
        finally:
            env.close()


def test_unknown_object_lists_the_catalogue():
    with pytest.raises(ValueError, match=r"unknown object 'banana'; known objects: .*duck"):
        SceneConfig(objects=["cube", "banana"])
    with pytest.raises(ValueError, match="unknown object 'random_1000'"):
        SceneConfig(objects=["random_1000"])
    with pytest.raises(ValueError, match="n_objects=9 but object_pool has only 2"):
        SceneConfig(object_pool=["cube", "duck"], n_objects=9)


@pytest.mark.parametrize("seed", ["42", 4.2, True, [1]])
def test_bad_seed_type(seed):
    env = gym.make("actial/PickPlace-v0")
    try:
        with pytest.raises(TypeError, match="seed must be a non-negative int or None"):
            env.reset(seed=seed)
        with pytest.raises(ValueError, match="non-negative"):
            env.reset(seed=-1)
    finally:
        env.close()


def test_bad_background_and_reward():
    with pytest.raises(ValueError, match="unknown background 'checker'"):
        SceneConfig(background="checker")
    with pytest.raises(ValueError, match="unknown background"):
        import numpy as np

        make_background("checker", np.random.default_rng(0))
    with pytest.raises(ValueError, match="reward_type must be one of"):
        PickPlaceEnv(reward_type="shaped")


def test_yaml_config(tmp_path):
    good = tmp_path / "pp.yaml"
    good.write_text("scene:\n  objects: [duck, cube]\ncameras:\n  - {name: top, kind: fixed, width: 64, height: 48,"
                    " position: [0, 0, 1], target: [0.01, 0, 0]}\nrender_camera: top\n")
    env = PickPlaceEnv(config=str(good), render_mode="rgb_array")
    try:
        env.reset(seed=0)
        assert [o.name for o in env.objects] == ["duck", "cube"]
        assert env.render().shape == (48, 64, 3)
    finally:
        env.close()
    bad = tmp_path / "bad.yaml"
    bad.write_text("scene:\n  objekts: [duck]\n")
    with pytest.raises(ValueError, match=r"unknown keys \['objekts'\]"):
        PickPlaceEnv(config=str(bad))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        PickPlaceEnv(config=str(tmp_path / "missing.yaml"))


def test_shipped_yaml_configs_match_the_defaults():
    from pathlib import Path

    import sim_envs
    from sim_envs import PickPlaceConfig, ViewpointOrbitConfig
    from sim_envs.config import coerce

    folder = Path(sim_envs.__file__).parent / "configs"
    assert coerce(PickPlaceConfig, folder / "pick_place.yaml") == PickPlaceConfig()
    assert coerce(ViewpointOrbitConfig, folder / "viewpoint_orbit.yaml") == ViewpointOrbitConfig()


def test_yaml_exponents_without_a_dot_are_numbers(tmp_path):
    """PyYAML (YAML 1.1) reads `3e-5` as a string; a training config with it crashed inside torch's optimiser."""
    from sim_envs.config import load_yaml
    from training.grpo import GRPORunConfig

    path = tmp_path / "grpo.yaml"
    path.write_text("learning_rate: 3e-5\nbeta: 1e-2\n")
    assert isinstance(load_yaml(path)["learning_rate"], str)  # the quirk this guards against
    cfg = GRPORunConfig.from_dict(load_yaml(path))
    assert (cfg.learning_rate, cfg.beta) == (3e-5, 1e-2)
    with pytest.raises(ValueError, match="learning_rate must be a number, got 'fast'"):
        GRPORunConfig.from_dict({"learning_rate": "fast"})
