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
