"""sim_bridge: a sim_envs PickPlace environment on ROS 2.

Publishes, for every rig camera NAME, at ``publish_rate_hz``:
  /NAME/image_raw     sensor_msgs/Image (rgb8)       sensor-data QoS (best effort, keep last 1)
  /NAME/camera_info   sensor_msgs/CameraInfo         reliable, keep last 1
  /NAME/pose          geometry_msgs/PoseStamped      reliable, keep last 1 (world <- optical frame)
Services:
  ~/reset             std_srvs/Trigger               new scene (seed parameter + reset count)
  ~/pick_place        actial_interfaces/PickPlace    scripted pick of an object, place at goal or (x, y)
  ~/describe          std_srvs/Trigger               JSON: objects (labels, positions), target, goal, cameras
  ~/new_task          std_srvs/Trigger               new scene with a viewpoint-dependent instruction (JSON:
                                                     the object question and options, the viewpoint question
                                                     and options, the object each viewpoint answer means,
                                                     the operator's camera, ground truth)
The rig includes the ``operator`` camera: the current task moves it to the operator's station, so a
node that asks about its frames is not told where the operator stands.
Topic ~/scene (std_msgs/String JSON, reliable + transient local): the current scene's id and objects,
so a recorder can tell scenes apart.
Frames keep flowing while the robot moves (the wrist camera included): the controller publishes
from inside its step loop.
"""

from __future__ import annotations

import json
import threading
import time

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String
from std_srvs.srv import Trigger

from actial_interfaces.srv import PickPlace

from .messages import camera_info_msg, image_msg, pose_msg

LATCHED = QoSProfile(depth=1)  # reliable, keep last: late subscribers still get the next one
SCENE_QOS = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)  # late joiners get the current scene


class SimBridge(Node):
    def __init__(self):
        super().__init__("sim_bridge")
        self.declare_parameter("env_id", "actial/PickPlace-v0")
        self.declare_parameter("seed", 0)
        self.declare_parameter("publish_rate_hz", 5.0)
        self.declare_parameter("image_size", 224)
        self.declare_parameter("world_frame", "world")
        import gymnasium as gym

        import sim_envs  # noqa: F401  (registers the environments)
        from sim_envs.pick_place import default_tabletop_cameras

        size = int(self.get_parameter("image_size").value)
        self.env = gym.make(self.get_parameter("env_id").value, cameras=default_tabletop_cameras(size, operator=True))
        self.base = self.env.unwrapped
        self._lock = threading.RLock()  # one PyBullet client: the timer and the services take turns
        self._resets = 0
        self._last_publish = 0.0
        self.scene_pub = self.create_publisher(String, "~/scene", SCENE_QOS)
        self.task = None
        self._reset()
        self.pubs = {}
        for name in self.base.rig.names:
            self.pubs[name] = (self.create_publisher(Image, f"{name}/image_raw", qos_profile_sensor_data),
                               self.create_publisher(CameraInfo, f"{name}/camera_info", LATCHED),
                               self.create_publisher(PoseStamped, f"{name}/pose", LATCHED))
        self.create_service(Trigger, "~/reset", self._on_reset)
        self.create_service(PickPlace, "~/pick_place", self._on_pick_place)
        self.create_service(Trigger, "~/describe", self._on_describe)
        self.create_service(Trigger, "~/new_task", self._on_new_task)
        rate = float(self.get_parameter("publish_rate_hz").value)
        self.timer = self.create_timer(1.0 / rate, self.publish_frames)
        self.get_logger().info(f"cameras {self.base.rig.names} at {rate:g} Hz, {size} px")

    def _reset(self) -> None:
        with self._lock:
            seed = int(self.get_parameter("seed").value) + self._resets
            self.obs, self.info = self.env.reset(seed=seed)
            self._resets += 1
            self.task = None
            self.scene_id = f"sim-{seed}"
            self.scene_pub.publish(String(data=json.dumps({"scene_id": self.scene_id, "objects": [
                o.label for o in self.base.objects]})))

    def _on_new_task(self, request, response):
        from ..tasks import OPERATOR_CAMERA, ROBOT_CAMERA, make_task

        with self._lock:
            for _ in range(20):
                self._reset()
                self.task = make_task(self.env, np.random.default_rng(self._resets))
                if self.task is not None:
                    break
            if self.task is None:
                response.success, response.message = False, "no unambiguous instruction in 20 scenes"
                return response
            self.base.target = self.task.answer_index
            self.publish_frames()  # frames of the new scene go out before the caller asks about them
            t = self.task
            response.success = True
            response.message = json.dumps({
                "scene_id": self.scene_id, "instruction": t.instruction, "family": t.family,
                "question": t.question, "options": t.options, "robot_camera": ROBOT_CAMERA,
                "operator_camera": OPERATOR_CAMERA, "viewpoint_question": t.viewpoint_question,
                "viewpoint_options": t.viewpoint_options, "answers_by_direction": t.answers_by_direction(),
                # ground truth, for the record: the station and the object meant
                "camera": t.camera, "answer_index": t.answer_index})
        return response

    def publish_frames(self) -> None:
        with self._lock:
            stamp = self.get_clock().now().to_msg()
            world = self.get_parameter("world_frame").value
            for name, (img, info, pose) in self.pubs.items():
                view = self.base.rig.render(name)
                frame = f"{name}_optical_frame"
                img.publish(image_msg(view.rgb, frame, stamp))
                info.publish(camera_info_msg(view.intrinsics, frame, stamp))
                pose.publish(pose_msg(view.pose, world, stamp))
            self._last_publish = time.monotonic()

    def describe(self) -> dict:
        with self._lock:
            objects = [{"index": i, "label": o.label,
                        "position": [float(v) for v in self.base.sim.body_pose(o.body)[0]]}
                       for i, o in enumerate(self.base.objects)]
            return {"objects": objects, "target": int(self.base.target), "goal": [float(v) for v in self.base.goal],
                    "cameras": list(self.base.rig.names)}

    # -- services ---------------------------------------------------------------------------
    def _on_reset(self, request, response):
        self._reset()
        response.success, response.message = True, json.dumps(self.describe())
        return response

    def _on_describe(self, request, response):
        response.success, response.message = True, json.dumps(self.describe())
        return response

    def _on_pick_place(self, request, response):
        from sim_envs.controller import ScriptedController

        labels = [o.label for o in self.base.objects]
        index = int(request.object_index)
        if index < 0:
            if request.object_label not in labels:
                response.success, response.message = False, f"no object {request.object_label!r}; scene has {labels}"
                return response
            index = labels.index(request.object_label)
        if index >= len(labels):
            response.success, response.message = False, f"object_index {index} out of range (0..{len(labels) - 1})"
            return response
        period = 1.0 / float(self.get_parameter("publish_rate_hz").value)

        def keep_publishing(obs, info):
            if time.monotonic() - self._last_publish >= period:
                self.publish_frames()

        with self._lock:
            ctl = ScriptedController(self.env, on_step=keep_publishing)
            if request.to_goal:  # run() waits for the object to settle and judges the goal zone
                ok = ctl.run(index)
            else:
                ok = ctl.pick(index) and ctl.place(np.array([request.place_x, request.place_y]))
        response.success = bool(ok)
        response.message = f"{labels[index]}: " + ("done" if ok else "failed (grasp slipped or missed the goal)")
        return response

    def destroy_node(self):
        self.env.close()
        return super().destroy_node()


def main(args=None) -> None:
    from .spin import run_node

    run_node(SimBridge, threads=3, args=args)  # frames keep flowing while a pick-and-place service runs

if __name__ == "__main__":
    main()
