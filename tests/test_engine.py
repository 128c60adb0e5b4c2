"""The data engine end to end: real rendering, real parquet, real worker processes, a real local Ray."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from training import dataset as D
from training.engine import GeneratorConfig, build_shard, generate

SMALL = dict(n_pairs=60, rows_per_shard=20, image_size=64, views_per_scene=6, pairs_per_scene=12)


def content(directory) -> list[dict]:
    """Every row, in shard order: what "same dataset" means."""
    return D.read_table(directory).to_pylist()


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "small"
    generate(GeneratorConfig(**SMALL), out, workers=1, show_progress=False)
    return out


def test_dataset_loads_with_hf_datasets(small):
    manifest = D.load_manifest(small)
    ds = datasets.load_dataset("parquet", data_files=str(small / "shard-*.parquet"), split="train")
    assert len(ds) == manifest["rows"] == 60
    row = ds[0]
    assert len(row["images"]) == 2 and len(row["poses"][0]) == 16 and len(row["intrinsics"][0]) == 6
    assert row["response"].endswith(f"<answer>{row['answer']}</answer>")
    assert manifest["generator"]["seed"] == 0 and manifest["generator"]["config"]["image_size"] == 64
    assert sum(manifest["counts"]["family"].values()) == 60
    assert [s["rows"] for s in manifest["shards"]] == [20, 20, 20]


def test_rows_keep_poses_and_angles_consistent_with_labels(small):
    from training import labels as L

    for row in content(small):
        if row["family"] not in ("ego_translation", "object_translation", "ego_rotation"):
            continue
        T1, T2 = (np.array(p).reshape(4, 4) for p in row["poses"])
        m = L.relative_motion(T1, T2)
        assert m.yaw_deg == pytest.approx(row["yaw_deg"]) and m.lateral_m == pytest.approx(row["lateral_m"])
        rule = {"ego_translation": L.ego_translation, "object_translation": L.object_translation,
                "ego_rotation": L.ego_rotation}[row["family"]]
        assert row["answer_text"] == rule(m)
        assert row["options"][D.LETTERS.index(row["answer"])] == row["answer_text"]


def test_answer_letters_are_balanced(small):
    for fam, letters in D.load_manifest(small)["counts"]["answer"].items():
        if len(letters) >= 3:
            # letters cycle within each of the 3 shards: at most one extra per shard
            assert max(letters.values()) - min(letters.values()) <= 3, (fam, letters)


def test_same_dataset_whatever_the_workers(small, tmp_path):
    two = tmp_path / "two"
    generate(GeneratorConfig(**SMALL), two, workers=2, show_progress=False)
    assert content(two) == content(small)


def test_unguarded_script_with_workers_fails_clearly(tmp_path):
    """generate(workers=2) from a script without a __main__ guard: spawn re-runs the script in each worker.

    mp.Pool respawned the dying workers forever (a job hung at 0% for minutes); now the job stops and says
    what to do. 120 s is ample: it fails in ~5 s.
    """
    script = tmp_path / "unguarded.py"
    script.write_text(f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})\n"
                      "from training.engine import GeneratorConfig, generate\n"
                      f"generate(GeneratorConfig(n_pairs=20, rows_per_shard=10, image_size=32, views_per_scene=4, "
                      f"pairs_per_scene=6), {str(tmp_path / 'out')!r}, workers=2, show_progress=False)\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "__main__" in proc.stderr and "workers=1" in proc.stderr


def test_ray_sharding_gives_the_same_dataset(small, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    generate(GeneratorConfig(**SMALL), out, workers=2, ray_address="local", show_progress=False)
    assert content(out) == content(small)


def test_kill_and_resume_gives_the_same_dataset(small, tmp_path):
    out = tmp_path / "killed"
    cfg_file = tmp_path / "gen.yaml"
    cfg_file.write_text(yaml.safe_dump({k: v for k, v in SMALL.items() if k != "n_pairs"}))
    cmd = [sys.executable, "-m", "actial_robot.cli", "data", "generate", "--out", str(out), "-n", "60",
           "--config", str(cfg_file), "--workers", "1", "--size", "64"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (out / D.shard_name(0)).exists():  # kill it once the first shard is in place
        assert proc.poll() is None, "generator exited before it could be killed"
        assert time.time() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / D.MANIFEST).exists(), "a killed job must not look finished"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "already there" in done.stdout
    assert not list(out.glob("*.tmp"))
    assert content(out) == content(small)


def test_truncated_shard_is_reported_and_regenerated(small, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(small, copy)
    shard = copy / D.shard_name(1)
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    with pytest.raises(D.DatasetError, match="not a readable parquet shard"):
        D.read_table(copy)
    with pytest.raises(D.DatasetError, match="delete it and re-run"):
        D.check_shard(shard)
    res = generate(GeneratorConfig(**SMALL), copy, workers=1, show_progress=False)
    assert res.shards_written == 1 and res.shards_skipped == 2
    assert content(copy) == content(small)


def test_another_job_in_the_same_directory_is_refused(small, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(small, copy)
    with pytest.raises(D.DatasetError, match="holds a different job"):
        generate(GeneratorConfig(**{**SMALL, "seed": 1}), copy, show_progress=False)


def test_fixed_option_order(tmp_path):
    rows = build_shard(GeneratorConfig(**{**SMALL, "n_pairs": 30, "rows_per_shard": 30, "shuffle_options": False}), 0)
    from training.questions import OPTIONS

    for r in rows:
        if r["family"] in OPTIONS:
            assert list(r["options"]) == OPTIONS[r["family"]]  # canonical order: the letter follows from the answer
            assert r["options"]["ABCDEF".index(r["answer"])] == r["answer_text"]


def test_reasoning_share_and_format(tmp_path):
    cfg = GeneratorConfig(**{**SMALL, "n_pairs": 40, "rows_per_shard": 40, "reasoning_share": 0.5})
    rows = build_shard(cfg, 0)
    reasoning = [r for r in rows if r["prompt_style"] == "reasoning"]
    assert 8 <= len(reasoning) <= 32  # 50% of 40, binomial 99.9% range
    for r in reasoning:
        assert r["response"].startswith("<think>") and r["response"].count("<answer>") == 1
        assert f"<answer>{r['answer']}</answer>" in r["response"]
    for r in rows:
        if r["prompt_style"] == "direct":  # the option's text, then its letter
            assert r["response"] == f"<think>{r['answer_text']}</think><answer>{r['answer']}</answer>"


def test_pick_place_source(tmp_path):
    cfg = GeneratorConfig(**{**SMALL, "n_pairs": 20, "source": "pick_place"})
    rows = build_shard(cfg, 0)
    assert len(rows) == 20 and {r["source"] for r in rows} == {"pick_place"}
    assert all(len(r["objects"]) == 3 for r in rows)
    # the tabletop catalogue holds fewer held-out objects than a scene has: each such scene takes them all
    held = GeneratorConfig(**{**SMALL, "n_pairs": 10, "source": "pick_place", "splits": {"test_objects": 1.0}})
    rows = build_shard(held, 0)
    assert len(rows) == 10 and {r["split"] for r in rows} == {"test_objects"}
    assert all(any(label.split()[-1] in held.heldout_objects for label in r["objects"])  # "yellow teddy"
               for r in rows), [r["objects"] for r in rows]


@pytest.mark.parametrize("bad,match", [
    ({"families": {"ego_yaw": 1.0}}, "unknown question families"),
    ({"angle_range": (100, 20)}, "angle_range"),
    ({"source": "mvimgnet"}, "source must be one of"),
    ({"n_pairs": 0}, "n_pairs must be a positive integer"),
    ({"splits": {"val": 1.0}}, "unknown splits"),
])
def test_bad_generator_config(bad, match):
    with pytest.raises(ValueError, match=match):
        GeneratorConfig(**bad)


def test_shards_are_written_whole(small):
    for s in D.shard_paths(small):
        assert pq.read_metadata(s).num_rows == 20
        assert D.shard_metadata(s)["digest"] == GeneratorConfig(**SMALL).digest()


def test_teacher_down_is_a_clear_error(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = GeneratorConfig(**{**SMALL, "n_pairs": 5, "reasoning_share": 1.0,
                             "teacher": {"base_url": f"http://127.0.0.1:{port}/v1", "model": "t", "timeout": 2}})
    with pytest.raises(RuntimeError, match="teacher model .* failed .* re-run to resume"):
        generate(cfg, tmp_path / "t", show_progress=False)
    assert not (tmp_path / "t" / D.MANIFEST).exists()
