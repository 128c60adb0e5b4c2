"""actial_robot builds in a colcon workspace (ament_python) and its nodes start the way ros2 run starts them.

PyPI has colcon but neither ``ros2 run`` nor ``ros2 launch``; what they do to find a node is look up
the package's prefix in the ament index and run ``<prefix>/lib/<package>/<executable>``. These tests do
exactly that with the real colcon build and ament_index_python.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy", reason="ROS 2 wheels not installed (make ros)")

from std_srvs.srv import Trigger  # noqa: E402

from actial_robot.ros.graph import MODULES, load_launch, ros_env, start, stop  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
COLCON = Path(sys.executable).with_name("colcon")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """``colcon build`` of this repository (the package at its root) into a fresh build and install base."""
    ws = tmp_path_factory.mktemp("colcon")
    if not COLCON.exists():
        pytest.fail(f"{COLCON} missing: install the ros extra (pip install -e '.[ros]')")
    proc = subprocess.run([str(COLCON), "--log-base", str(ws / "log"), "build", "--base-paths", str(REPO),
                           "--packages-select", "actial_robot", "--build-base", str(ws / "build"),
                           "--install-base", str(ws / "install")],
                          cwd=ws, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return ws / "install"


def test_colcon_installs_the_nodes_where_ros2_run_looks(workspace, monkeypatch):
    from ament_index_python.packages import get_package_prefix, get_package_share_directory

    prefix = workspace / "actial_robot"
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    assert Path(get_package_prefix("actial_robot")) == prefix
    share = Path(get_package_share_directory("actial_robot"))
    assert (share / "package.xml").read_text() == (REPO / "package.xml").read_text()
    assert (share / "launch" / "actial.launch.py").is_file()
    # every node the launch file starts, and every node `actial ros up` knows, is an executable there
    launch = load_launch(REPO / "launch" / "actial.launch.py")
    for name in {n["executable"] for n in launch.NODES} | set(MODULES):
        exe = prefix / "lib" / "actial_robot" / name
        assert exe.is_file() and os.access(exe, os.X_OK), f"{exe} missing or not executable"


def test_pyproject_declares_every_node():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert {k: v.split(":")[0] for k, v in scripts.items() if k in MODULES} == MODULES


def test_a_colcon_installed_node_runs_and_answers(workspace, tmp_path):
    """Start lib/actial_robot/sim_bridge as ros2 run would (with the workspace's environment) and call it."""
    prefix = workspace / "actial_robot"
    site = next(prefix.glob("lib/python3*/site-packages"))
    domain = random.Random(os.getpid() + 1).randint(1, 200)
    env = ros_env(domain)  # as `source install/setup.bash` would add the workspace:
    env.update(AMENT_PREFIX_PATH=f"{prefix}:{env.get('AMENT_PREFIX_PATH', '')}",
               PYTHONPATH=f"{site}:{env.get('PYTHONPATH', '')}")
    log = tmp_path / "sim_bridge.log"
    node_proc = start([str(prefix / "lib" / "actial_robot" / "sim_bridge"), "--ros-args", "-p", "image_size:=64",
                       "-p", "publish_rate_hz:=2.0"], log, env)
    os.environ.update(ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    rclpy.init()
    node = rclpy.create_node("colcon_caller")
    try:
        client = node.create_client(Trigger, "/sim_bridge/describe")
        assert client.wait_for_service(timeout_sec=90.0), log.read_text()[-2000:]
        future = client.call_async(Trigger.Request())
        rclpy.spin_until_future_complete(node, future, timeout_sec=60.0)
        assert future.done() and future.result().success, log.read_text()[-2000:]
    finally:
        node.destroy_node()
        rclpy.shutdown()
        stop(node_proc)
