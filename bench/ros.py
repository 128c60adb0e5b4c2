"""ROS 2 overhead: a question through spatial_query vs the same question straight to the server, and
image throughput per camera at 224 px.

    .venv/bin/python bench/ros.py                      # builds a format-trained tiny checkpoint (~1 min)
    .venv/bin/python bench/ros.py --checkpoint outputs/demo/grpo --engine vllm

sim_bridge publishes the rig at ``--rate`` Hz (224 px); spatial_query runs as its own process. The
bench node asks the same two-camera question ``--n`` times each way, alternating (A, B, A, B, ...)
so drift hits both alike: through ROS (``/spatial_query/query`` with camera names; the node takes its
latest frames, converts them and calls the server) and directly (``SpatialClient.ask`` with the two
latest frames it received itself). Throughput counts frames received per camera over 10 s.
Writes ``bench/results/ros.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("ROS_DOMAIN_ID", str(150 + os.getpid() % 50))
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

QUESTION = ("From the camera's perspective, did the camera that took the second photo move relative to the first "
            "one? If so, in which direction?")
OPTIONS = ["left", "right", "no movement"]


def main() -> None:
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from rich.console import Console
    from rich.table import Table
    from sensor_msgs.msg import Image

    from actial_interfaces.srv import SpatialQuery
    from actial_robot.client import SpatialClient, ros_image_to_array
    from actial_robot.ros.graph import node_command, ros_env, start, stop
    from actial_robot.serve import ModelServer, ServeConfig, free_port

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path)
    ap.add_argument("--engine", default="transformers")
    ap.add_argument("--n", type=int, default=100, help="questions each way")
    ap.add_argument("--rate", type=float, default=30.0, help="sim_bridge publish rate (Hz) asked for")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ros.json")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="actial-bench-ros-"))
    if args.checkpoint is None:
        from training.sft import smoke_checkpoint

        args.checkpoint, _ = smoke_checkpoint(tmp)
    env = ros_env(int(os.environ["ROS_DOMAIN_ID"]))
    cams = ["front", "left", "right", "wrist"]
    with ModelServer(ServeConfig(checkpoint=str(args.checkpoint), engine=args.engine, port=free_port(),
                                 log_file=str(tmp / "server.log"), device="cpu")) as server:
        procs = [start(node_command("sim_bridge", {"image_size": 224, "publish_rate_hz": args.rate}),
                       tmp / "sim_bridge.log", env),
                 start(node_command("spatial_query", {"model_url": server.base_url, "model_name": server.model_name,
                                                      "max_frame_age_s": 10.0}), tmp / "spatial_query.log", env)]
        rclpy.init()
        node = rclpy.create_node("bench_ros")
        latest, counts = {}, {c: 0 for c in cams}

        def on_image(cam, msg):
            latest[cam] = msg
            counts[cam] += 1

        for c in cams:
            node.create_subscription(Image, f"/{c}/image_raw", lambda m, c=c: on_image(c, m), qos_profile_sensor_data)
        try:
            t0 = time.time()
            while len(latest) < len(cams) and time.time() - t0 < 120:
                rclpy.spin_once(node, timeout_sec=0.1)
            # throughput: frames per camera over 10 s
            for c in cams:
                counts[c] = 0
            t0 = time.time()
            while time.time() - t0 < 10.0:
                rclpy.spin_once(node, timeout_sec=0.05)
            fps = {c: counts[c] / (time.time() - t0) for c in cams}

            srv = node.create_client(SpatialQuery, "/spatial_query/query")
            srv.wait_for_service(timeout_sec=60)
            client = SpatialClient(server.base_url, model=server.model_name, timeout=60)
            ros_ms, direct_ms, failures = [], [], 0
            for i in range(args.n + 5):  # 5 warm-up rounds
                rclpy.spin_once(node, timeout_sec=0.0)
                t = time.perf_counter()
                fut = srv.call_async(SpatialQuery.Request(question=QUESTION, camera_names=["front", "left"],
                                                          options=OPTIONS))
                rclpy.spin_until_future_complete(node, fut, timeout_sec=60)
                r_ms = (time.perf_counter() - t) * 1000
                ok = fut.result() is not None and fut.result().success
                imgs = [ros_image_to_array(latest["front"]), ros_image_to_array(latest["left"])]
                t = time.perf_counter()
                client.ask(imgs, QUESTION, OPTIONS)
                d_ms = (time.perf_counter() - t) * 1000
                if i >= 5:
                    failures += not ok
                    ros_ms.append(r_ms)
                    direct_ms.append(d_ms)
        finally:
            node.destroy_node()
            rclpy.shutdown()
            for p in procs:
                stop(p)

    def stats(v):
        return {"p50_ms": float(np.percentile(v, 50)), "p99_ms": float(np.percentile(v, 99)), "n": len(v)}

    result = {"engine": args.engine, "through_ros": stats(ros_ms), "direct": stats(direct_ms),
              "ros_overhead_p50_ms": float(np.percentile(ros_ms, 50) - np.percentile(direct_ms, 50)),
              "ros_failures": failures, "fps_per_camera_224px": fps, "asked_rate_hz": args.rate,
              "cpu_count": os.cpu_count()}
    t = Table(title=f"ROS 2 overhead ({args.engine} serving the tiny model; {args.n} questions each way)")
    for col in ("path", "p50 ms", "p99 ms"):
        t.add_column(col, justify="right")
    t.add_row("direct SpatialClient.ask", f"{result['direct']['p50_ms']:.1f}", f"{result['direct']['p99_ms']:.1f}")
    t.add_row("through /spatial_query/query", f"{result['through_ros']['p50_ms']:.1f}",
              f"{result['through_ros']['p99_ms']:.1f}")
    t.add_row("ROS overhead at p50", f"{result['ros_overhead_p50_ms']:+.1f}", "")
    Console().print(t)
    Console().print("frames/s per camera at 224 px (4 cameras, one sim): "
                    + ", ".join(f"{c} {v:.1f}" for c, v in fps.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
