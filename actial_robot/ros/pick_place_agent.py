"""pick_place_agent: runs viewpoint-dependent pick-and-place episodes over ROS 2.

Per episode: sim_bridge/new_task gives a scene and an instruction ("hand me the object on my left",
said from the operator's camera); the agent asks spatial_query/query about the robot's camera and the
operator's camera by name, then calls sim_bridge/pick_place on the object it settles on. Parameter
``ask`` (as ``actial episodes --ask``): "viewpoint" asks where the operator's photo was taken and takes
the object that answer means (from new_task's ``answers_by_direction``: the robot's own geometry);
"object" asks which object is meant. Success = the meant object ends in the goal zone. Parameters:
episodes, ask, out (a JSON file with every episode and the success rate). The node exits when done.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import rclpy
from rclpy.node import Node
from std_srvs.srv import Trigger

from actial_interfaces.srv import PickPlace, SpatialQuery


class PickPlaceAgent(Node):
    def __init__(self):
        super().__init__("pick_place_agent")
        self.declare_parameter("episodes", 5)
        self.declare_parameter("ask", "viewpoint")
        self.declare_parameter("out", "outputs/ros_episodes.json")
        self.declare_parameter("frame_settle_s", 0.3)  # new frames reach spatial_query over DDS meanwhile
        self.declare_parameter("service_timeout_s", 120.0)
        self.new_task = self.create_client(Trigger, "/sim_bridge/new_task")
        self.pick_place = self.create_client(PickPlace, "/sim_bridge/pick_place")
        self.query = self.create_client(SpatialQuery, "/spatial_query/query")

    def call(self, client, request):
        timeout = float(self.get_parameter("service_timeout_s").value)
        if not client.wait_for_service(timeout_sec=timeout):
            raise RuntimeError(f"{client.srv_name} is not available (is the node running?)")
        future = client.call_async(request)
        rclpy.spin_until_future_complete(self, future, timeout_sec=timeout)
        if not future.done():
            raise RuntimeError(f"{client.srv_name}: no response within {timeout:g} s")
        return future.result()

    def episode(self, i: int) -> dict:
        r = self.call(self.new_task, Trigger.Request())
        if not r.success:
            return {"episode": i, "error": r.message, "success": False}
        task = json.loads(r.message)
        time.sleep(float(self.get_parameter("frame_settle_s").value))
        viewpoint = self.get_parameter("ask").value == "viewpoint"
        question, options = ((task["viewpoint_question"], task["viewpoint_options"]) if viewpoint
                             else (task["question"], task["options"]))
        request = SpatialQuery.Request(question=question, options=options,
                                       camera_names=[task["robot_camera"], task["operator_camera"]])
        deadline = time.monotonic() + float(self.get_parameter("service_timeout_s").value)
        while True:  # right after start-up spatial_query may not have a frame of every camera yet
            q = self.call(self.query, request)
            if q.success or not q.error.startswith("no frame from camera") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        out = {"episode": i, **{k: task[k] for k in ("scene_id", "instruction", "options", "camera", "family",
                                                     "answer_index", "answers_by_direction")},
               "model_ok": q.success, "model_error": q.error, "model_answer": q.choice, "choice": None,
               "latency_s": q.latency_s}
        if q.success and q.choice in options:
            out["choice"] = task["answers_by_direction"].get(q.choice) if viewpoint else options.index(q.choice)
        if out["choice"] is not None:
            p = self.call(self.pick_place, PickPlace.Request(object_index=out["choice"], to_goal=True))
            out["placed"], out["message"] = p.success, p.message
        else:
            out["placed"] = False
        out["success"] = bool(out["placed"] and out["choice"] == task["answer_index"])
        chose = task["options"][out["choice"]] if out["choice"] is not None else q.error or repr(q.choice)
        self.get_logger().info(f"episode {i}: {task['instruction']} -> {chose} "
                               f"({'success' if out['success'] else 'failure'})")
        return out

    def run(self) -> dict:
        n = int(self.get_parameter("episodes").value)
        episodes = [self.episode(i) for i in range(n)]
        summary = {"episodes": n, "success_rate": sum(e["success"] for e in episodes) / max(n, 1),
                   "chose_right": sum(e.get("choice") == e.get("answer_index") for e in episodes) / max(n, 1),
                   "results": episodes}
        path = Path(self.get_parameter("out").value)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=1) + "\n")
        self.get_logger().info(f"success {summary['success_rate']:.0%} over {n} episodes; wrote {path}")
        return summary


def main(args=None) -> None:
    from .spin import run_node

    run_node(PickPlaceAgent, task=lambda node: node.run(), args=args)

if __name__ == "__main__":
    main()
