"""Viewpoint-dependent instructions: ground truth, the operator's hidden station, and the training pairs.

Real PyBullet scenes (the episodes' rig at 112 px). The viewpoint mode only works if (1) the operator's
photo is the view from their station, (2) the two stations get different answers to the viewpoint
question, (3) the robot's resolution of the true station's answer is the meant object, and (4) the data
engine's rig pairs carry the same answers the episodes expect.
"""

import json

import numpy as np
import pytest

from actial_robot.episodes import EpisodeConfig, make_env, random_station_chooser
from actial_robot.tasks import OPERATOR_CAMERA, OPERATOR_CAMERAS, make_task, station_direction


@pytest.fixture(scope="module")
def env():
    e = make_env(EpisodeConfig(image_size=112))
    yield e
    e.close()


def _tasks(env, n=6):
    """Seeded tasks, each yielded while its scene is still the environment's."""
    found = 0
    for seed in range(40):
        env.reset(seed=seed)
        t = make_task(env, np.random.default_rng(seed))
        if t is not None:
            found += 1
            yield t
        if found == n:
            return
    raise AssertionError(f"only {found} tasks in 40 scenes")


def test_operator_photo_is_the_station_view_and_the_answer_resolves_to_the_meant_object(env):
    cameras_seen = set()
    for t in _tasks(env):
        rig = env.unwrapped.rig
        cameras_seen.add(t.camera)
        # the operator's camera stands at the station: same pose, same picture as the station's own camera
        np.testing.assert_allclose(rig.pose(OPERATOR_CAMERA), rig.pose(t.camera), atol=1e-9)
        assert np.array_equal(t.images[1], rig.render(t.camera).rgb)
        assert len(set(t.station_directions.values())) == len(OPERATOR_CAMERAS) == 2
        assert t.object_for(t.viewpoint_answer) == t.answer_index
        assert t.station_answers[t.camera] == t.answer_index
        assert t.object_for("no movement") is None  # no station there: the robot picks nothing
        assert t.viewpoint_answer in t.viewpoint_options[:2]
    assert cameras_seen == set(OPERATOR_CAMERAS), cameras_seen  # both stations come up in a few tasks


def test_random_station_picks_only_objects_a_station_means(env):
    choose = random_station_chooser(0)
    for t in _tasks(env, n=4):
        assert choose(t) in set(t.station_answers.values())


def test_bad_ask_mode_is_refused():
    with pytest.raises(ValueError, match="ask must be one of"):
        EpisodeConfig(ask="telepathy")


def test_engine_rig_pairs_ask_what_the_episodes_ask(tmp_path, env):
    from training.dataset import iter_rows
    from training.engine import GeneratorConfig, generate

    cfg = GeneratorConfig(n_pairs=32, image_size=64, source="pick_place", families={"ego_translation": 1.0},
                          shuffle_options=False, angle_range=(20.0, 120.0), views_per_scene=4, pairs_per_scene=8,
                          rig_share=0.5, pan_share=0.0, slide_share=0.0, seed=3)
    generate(cfg, tmp_path / "d", workers=1, show_progress=False)
    env.reset(seed=0)
    expected = {c: station_direction(env, c) for c in OPERATOR_CAMERAS}  # robot's view first
    flip = {"left": "right", "right": "left"}
    rig_rows = 0
    for row in iter_rows(tmp_path / "d"):
        names = [v.split("/")[-1] for v in json.loads(row["meta"])["views"]]
        if "front" not in names:
            continue
        rig_rows += 1
        station = names[1] if names[0] == "front" else names[0]
        want = expected[station] if names[0] == "front" else flip[expected[station]]
        assert row["answer_text"] == want, (names, row["answer_text"])
    assert rig_rows == 16  # half of each scene's 8 pairs

    with pytest.raises(ValueError, match="rig_share"):
        GeneratorConfig(rig_share=0.5)  # the object-centric source has no robot rig
