"""Retraining from captured views: before/after on a held-out split, and resuming an interrupted run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from training.checkpoint import read_manifest
from training.dataset import read_table
from training.interchange import write_views_dataset
from training.retrain import NotEnoughCaptures, RetrainConfig, run_retrain
from training.views import SceneInfo, View, encode_image


def _orbit_views(scene_id: str, split: str, n: int = 8) -> list[View]:
    """Posed views around a scene, as the recorder would keep them (synthetic pixels: labels come from poses)."""
    from sim_envs import geometry as geo

    rng = np.random.default_rng(abs(hash(scene_id)) % 2**32)
    scene = SceneInfo(scene_id=scene_id, split=split, source="ros_capture", background="", objects=("red cube",))
    views = []
    for k in range(n):
        T = geo.orbit_pose((0, 0, 0), azimuth_deg=25.0 * k, elevation_deg=35, distance=0.7)
        img = rng.integers(0, 255, (112, 112, 3), dtype=np.uint8)
        views.append(View(view_id=f"{scene_id}/v{k}", image=encode_image(img), pose=T,
                          intrinsics=(100.0, 100.0, 55.5, 55.5, 112, 112), scene=scene, camera="front"))
    return views


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    out = tmp_path_factory.mktemp("captured") / "data"
    scenes = {f"s{i}": _orbit_views(f"s{i}", "test" if i % 2 else "train") for i in range(4)}
    return write_views_dataset(scenes, out, shuffle_options=False, name="test-capture")


def test_captured_views_load_as_a_dataset(captured):
    rows = read_table(captured, columns=["split", "family", "meta", "answer", "options"]).to_pylist()
    assert {r["split"] for r in rows} == {"train", "test"}
    assert {r["family"] for r in rows} <= {"ego_translation", "object_translation", "ego_rotation"}
    # pairs never cross scenes
    for r in rows:
        v1, v2 = json.loads(r["meta"])["views"]
        assert v1.split("/")[0] == v2.split("/")[0]


def test_retrain_reports_before_after_and_resumes(served_checkpoint, captured, tmp_path):
    out = tmp_path / "retrained"
    cfg = dict(checkpoint=str(served_checkpoint[0]), dataset=str(captured), output_dir=str(out), max_steps=3,
               batch_size=4, max_eval_samples=16, threads=2)
    first = run_retrain(RetrainConfig(**cfg))
    assert first["before"]["n"] == first["after"]["n"] > 0
    assert (out / "retrain.md").exists() and "before" in (out / "retrain.md").read_text()
    m = read_manifest(out)
    assert m["base_model"] == str(served_checkpoint[0]) and "retrain" in m["evaluation"]
    # a longer second run continues from the first one's last Trainer checkpoint
    second = run_retrain(RetrainConfig(**{**cfg, "max_steps": 6}))
    m = read_manifest(out)
    assert m["resumed"] is True
    assert max(h["step"] for h in m["log_history"] if "loss" in h or "train_loss" in h) == 6
    assert second["checkpoint"] == first["checkpoint"]


def test_retrain_needs_a_held_out_split(served_checkpoint, tmp_path):
    scenes = {"only": _orbit_views("only", "train")}
    data = write_views_dataset(scenes, tmp_path / "d", name="t")
    with pytest.raises(NotEnoughCaptures, match="needs rows in 'train' and 'test'"):
        run_retrain(RetrainConfig(checkpoint=str(served_checkpoint[0]), dataset=str(data),
                                  output_dir=str(tmp_path / "o"), max_steps=1))


def test_replay_mixes_in_as_many_old_rows_as_asked(captured, tmp_path):
    """Replay (RetrainConfig.replay -> SFT extra_datasets + extra_rows): a seeded sample of the old train rows."""
    from training.sft import SFTRunConfig, train_split

    old = write_views_dataset({f"o{i}": _orbit_views(f"o{i}", "train") for i in range(3)}, tmp_path / "old", name="t")
    n_new = len(train_split(SFTRunConfig(dataset=str(captured)), "sft"))
    n_old = len(train_split(SFTRunConfig(dataset=str(old)), "sft"))
    assert n_old > 5
    mixed = train_split(SFTRunConfig(dataset=str(captured), extra_datasets=[str(old)], extra_rows=5), "sft")
    assert len(mixed) == n_new + 5
    everything = train_split(SFTRunConfig(dataset=str(captured), extra_datasets=[str(old)]), "sft")
    assert len(everything) == n_new + n_old
