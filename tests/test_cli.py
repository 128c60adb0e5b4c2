"""The `actial` command line, run as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

ACTIAL = [sys.executable, "-m", "actial_robot.cli"]


def test_help_teaches():
    out = subprocess.run([*ACTIAL, "--help"], capture_output=True, text=True, check=True).stdout
    assert "demo" in out and "sim" in out
    # Defaults stated in a help text survive rich's markup, which reads an unescaped "[default: 1000]" as a
    # style tag and prints nothing (every stated default was missing until session 32)
    gen = subprocess.run([*ACTIAL, "data", "generate", "--help"], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "COLUMNS": "200"}).stdout
    assert "[default: 1000]" in gen and "[default: viewpoint_orbit]" in gen


def test_demo_writes_a_multiview_picture(tmp_path: Path):
    res = subprocess.run([*ACTIAL, "demo", "--out", str(tmp_path), "--seed", "1", "--size", "96", "--data-pairs", "40"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    pic = Image.open(tmp_path / "episode_multiview.png")
    # 4 cameras (rows) x 5 moments (columns) of 96 px tiles
    assert pic.size[0] > 5 * 96 and pic.size[1] > 4 * 96
    gif = Image.open(tmp_path / "episode_multiview.gif")
    assert gif.n_frames > 10
    assert (tmp_path / "viewpoint_data_preview.png").is_file() and (tmp_path / "viewpoint_data" / "manifest.json").is_file()
    meta = json.loads((tmp_path / "episode_cameras.json").read_text())
    assert meta["success"] is True
    assert set(meta["cameras"]) == {"front", "left", "right", "wrist"}
    assert len(meta["cameras"]["wrist"]["pose_world_from_camera"]) == 4


def test_model_build_and_eval_commands(tmp_path: Path):
    from training.engine import GeneratorConfig, generate

    data = tmp_path / "data"
    generate(GeneratorConfig(n_pairs=30, rows_per_shard=30, image_size=112, views_per_scene=6,
                             splits={"train": 1.0}), data, show_progress=False)
    env = {**__import__("os").environ, "OMP_WAIT_POLICY": "PASSIVE"}
    built = subprocess.run([*ACTIAL, "model", "build-tiny", "--data", str(data), "--out", str(tmp_path / "tiny")],
                           capture_output=True, text=True, timeout=300, env=env)
    assert built.returncode == 0, built.stdout + built.stderr
    cmd = [*ACTIAL, "eval", "--model-path", str(tmp_path / "tiny"), "--data", str(data),
           "--max-samples", "4", "--out", str(tmp_path / "ev"), "--stage", "untrained"]
    no_test = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert no_test.returncode == 2 and "no test split" in " ".join(no_test.stdout.split())  # rich wraps lines
    ev = subprocess.run([*cmd, "--split", "train"], capture_output=True, text=True, timeout=300, env=env)
    assert ev.returncode == 0, ev.stdout + ev.stderr
    report = json.loads((tmp_path / "ev" / "eval_untrained.json").read_text())
    assert report["metrics"]["train"]["all"]["n"] == 4
    # the same questions again, paired against the first report: nothing gained or lost; a bad report refused
    vs = subprocess.run([*cmd, "--split", "train", "--stage", "again", "--against", str(tmp_path / "ev" / "eval_untrained.json")],
                        capture_output=True, text=True, timeout=300, env=env)
    assert vs.returncode == 0, vs.stdout + vs.stderr
    paired = (tmp_path / "ev" / "eval_again_paired.md").read_text()
    assert "| train | **all** | 4 |" in paired and "+0.0 [+0.0, +0.0] | 0 | 0 |" in paired, paired
    (tmp_path / "not_a_report.json").write_text("{}")
    bad_vs = subprocess.run([*cmd, "--split", "train", "--against", str(tmp_path / "not_a_report.json")],
                            capture_output=True, text=True, timeout=60, env=env)
    assert bad_vs.returncode == 2 and "not a readable evaluation report" in " ".join(bad_vs.stdout.split())
    # an evaluation-only set (no train split) takes its image-blind level from another set's train split
    only = tmp_path / "eval_only"
    generate(GeneratorConfig(n_pairs=8, rows_per_shard=8, image_size=112, views_per_scene=6, splits={"test": 1.0},
                             seed=5), only, show_progress=False)
    ev = subprocess.run([*ACTIAL, "eval", "--model-path", str(tmp_path / "tiny"), "--data", str(only), "--max-samples",
                         "4", "--out", str(tmp_path / "ev"), "--stage", "only", "--blind-data", str(data)],
                        capture_output=True, text=True, timeout=300, env=env)
    assert ev.returncode == 0, ev.stdout + ev.stderr
    blind = json.loads((tmp_path / "ev" / "eval_only.json").read_text())["metrics"]["test"]["all"]["image_blind"]
    assert blind is not None and 0.0 <= blind <= 1.0, blind
    bad = subprocess.run([*ACTIAL, "eval", "--data", str(data)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "exactly one of --model-path" in " ".join(bad.stdout.split())


def test_train_flags_override_the_config(tmp_path: Path):
    """`actial train sft --no-bf16` / `--bf16` override the shipped config's `bf16: auto`: False is an override, not
    "unset"; without a flag the config's value stands."""
    from actial_robot.cli import _train_config
    from training.sft import SFTRunConfig

    config = Path(__file__).resolve().parent.parent / "training" / "configs" / "sft_tiny_horizon.yaml"
    paths = {"model": str(tmp_path), "dataset": str(tmp_path)}
    assert _train_config(SFTRunConfig, config, {**paths, "bf16": False}).bf16 is False
    assert _train_config(SFTRunConfig, config, {**paths, "bf16": None}).bf16 == "auto"
    assert _train_config(SFTRunConfig, config, {**paths, "bf16": True}).bf16 is True
