"""Start and stop the node graph as processes: what ``actial ros up`` and the demo loop use.

PyPI has no ``ros2 launch``. A launch file here (``launch/actial.launch.py``) keeps the graph as data:
``ARGUMENTS`` (name -> default), ``PROCESSES`` (plain commands: the model server) and ``NODES``
(executable + parameters), with ``{argument}`` placeholders. Its ``generate_launch_description()``
turns the same data into launch / launch_ros actions for ``ros2 launch``; ``up()`` here starts the
same processes directly. One definition, two launchers.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

MODULES = {  # executable name -> module (``python -m``)
    "sim_bridge": "actial_robot.ros.sim_bridge",
    "spatial_query": "actial_robot.ros.spatial_query",
    "viewpoint_recorder": "actial_robot.ros.viewpoint_recorder",
    "pick_place_agent": "actial_robot.ros.pick_place_agent",
}


def ros_env(domain_id: int | None = None, localhost_only: bool = True) -> dict:
    env = dict(os.environ)
    if domain_id is not None:
        env["ROS_DOMAIN_ID"] = str(domain_id)
    if localhost_only:
        env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def node_command(executable: str, params: dict | None = None) -> list[str]:
    if executable not in MODULES:
        raise ValueError(f"unknown node {executable!r}; known: {sorted(MODULES)}")
    cmd = [sys.executable, "-m", MODULES[executable], "--ros-args"]
    for k, v in (params or {}).items():
        cmd += ["-p", f"{k}:={_param_text(v)}"]
    return cmd


def _param_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_param_text(x) for x in v) + "]"
    return str(v)


def start(cmd: list[str], log: Path, env: dict) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as f:  # the child keeps its own handle
        return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def stop(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGINT (rclpy shuts down cleanly), then SIGKILL, to the process group."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, grace_s), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def load_launch(path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"launch file {path} not found (try launch/actial.launch.py)")
    spec = importlib.util.spec_from_file_location(f"actial_launch_{path.stem.replace('.', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("ARGUMENTS", "PROCESSES", "NODES"):
        if not hasattr(module, name):
            raise ValueError(f"{path} defines no {name}; see launch/actial.launch.py for the format")
    return module


def resolve(launch, overrides: dict[str, str]) -> tuple[list[tuple[str, list[str]]], dict]:
    """[(name, command)] for the launch file with ``overrides`` (name -> value) applied."""
    unknown = set(overrides) - set(launch.ARGUMENTS)
    if unknown:
        raise ValueError(f"unknown launch arguments {sorted(unknown)}; this file takes {sorted(launch.ARGUMENTS)}")
    args = {**launch.ARGUMENTS, **overrides}
    out = [(p["name"], process_command([c.format(**args) for c in p["cmd"]])) for p in launch.PROCESSES
           if str(p.get("if", "true")).format(**args).lower() == "true"]
    for n in launch.NODES:
        if str(n.get("if", "true")).format(**args).lower() != "true":
            continue
        params = {k: (v.format(**args) if isinstance(v, str) else v) for k, v in n.get("parameters", {}).items()}
        out.append((n["executable"], node_command(n["executable"], params)))
    return out, args


def process_command(cmd: list[str]) -> list[str]:
    """``cmd``, with "actial" run by this Python: the venv's bin may not be on PATH, and a colcon install
    puts the script in lib/actial_robot, not on PATH (the launch file's ros2 launch path uses this too)."""
    return [sys.executable, "-m", "actial_robot.cli", *cmd[1:]] if cmd and cmd[0] == "actial" else cmd


def up(launch_file: str | Path, overrides: dict[str, str], log_dir: str | Path, echo=print) -> int:
    """Start every process of the launch file; wait until one exits or Ctrl-C / SIGTERM; stop them all."""
    launch = load_launch(launch_file)
    commands, _ = resolve(launch, overrides)
    env = ros_env()
    procs = []

    def _term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _term)
    try:
        for name, cmd in commands:
            log = Path(log_dir) / f"{name}.log"
            procs.append((name, start(cmd, log, env)))
            echo(f"started {name} (pid {procs[-1][1].pid}): {shlex.join(cmd)}\n  log: {log}")
        while all(p.poll() is None for _, p in procs):
            time.sleep(0.5)
        name, p = next((n, p) for n, p in procs if p.poll() is not None)
        echo(f"{name} exited with code {p.returncode}; stopping the graph")
        return p.returncode or 1
    except KeyboardInterrupt:
        echo("stopping the graph ...")
        return 0
    finally:
        for _, p in reversed(procs):
            stop(p)
