"""viewpoint_recorder: records posed views from the running camera rig as a training dataset.

Subscribes, per camera NAME in ``cameras``: /NAME/image_raw (sensor-data QoS), /NAME/pose and
/NAME/camera_info, plus /sim_bridge/scene (which scene the views belong to). Every
``record_period_s`` per camera it keeps one view: the image with the pose of the same stamp. The
fixed cameras pair with each other within a scene (front vs left/right: 110 degrees apart); the
wrist camera moves with the arm but looks straight down while grasping, and a view with no heading
is left out of yaw questions (``viewpoint_rows_from_views``).
Service ~/save (std_srvs/Trigger) writes what was recorded to ``out_dir`` in the data engine's format
(viewpoint questions, labels from the poses; every ``test_every``-th scene goes to the "test"
split: a held-out captured set) and answers with the path and the row count.
"""

from __future__ import annotations

import json
import threading

from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from rclpy.qos import QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String
from std_srvs.srv import Trigger

from ..client import ImageError, ros_image_to_array
from .messages import pose_matrix
from .sim_bridge import LATCHED, SCENE_QOS


def _stamp(msg) -> tuple[int, int]:
    return msg.header.stamp.sec, msg.header.stamp.nanosec


class ViewpointRecorder(Node):
    def __init__(self):
        super().__init__("viewpoint_recorder")
        self.declare_parameter("cameras", ["front", "left", "right", "wrist"])
        self.declare_parameter("record_period_s", 1.0)
        self.declare_parameter("out_dir", "outputs/captured")
        self.declare_parameter("test_every", 4)
        self.declare_parameter("families", ["ego_translation", "object_translation", "ego_rotation"])
        self.declare_parameter("shuffle_options", False)  # as the tiny preset's training data (engine default: true)
        # the paper uses 20-100 degrees; the tabletop rig's side cameras sit 110 degrees from the front one
        self.declare_parameter("angle_range", [20.0, 120.0])
        self.cameras = list(self.get_parameter("cameras").value)
        self.period = float(self.get_parameter("record_period_s").value)
        self._lock = threading.Lock()
        self.scene = {"scene_id": "unknown", "objects": []}
        self.scene_index = 0
        self.scenes: dict[str, list] = {}
        self.info: dict[str, CameraInfo] = {}
        self.poses: dict[str, dict] = {c: {} for c in self.cameras}
        self.pending: dict[str, dict] = {c: {} for c in self.cameras}
        self.last: dict[str, float] = {}
        self.dropped = 0
        self.received = 0
        for cam in self.cameras:
            self.create_subscription(Image, f"/{cam}/image_raw", lambda m, c=cam: self._on_image(c, m),
                                     qos_profile_sensor_data)
            self.create_subscription(PoseStamped, f"/{cam}/pose", lambda m, c=cam: self._on_pose(c, m),
                                     QoSProfile(depth=10))
            self.create_subscription(CameraInfo, f"/{cam}/camera_info", lambda m, c=cam: self.info.__setitem__(c, m),
                                     LATCHED)
        self.create_subscription(String, "/sim_bridge/scene", self._on_scene, SCENE_QOS)
        self.create_service(Trigger, "~/save", self._on_save)

    def _on_scene(self, msg: String) -> None:
        with self._lock:
            self.scene = json.loads(msg.data)
            self.scene_index += 1

    def _on_pose(self, cam: str, msg: PoseStamped) -> None:
        with self._lock:
            key = _stamp(msg)
            image = self.pending[cam].pop(key, None)
            if image is not None:
                self._keep(cam, image, msg)
            else:
                self.poses[cam][key] = msg
                if len(self.poses[cam]) > 20:
                    self.poses[cam].pop(next(iter(self.poses[cam])))

    def _on_image(self, cam: str, msg: Image) -> None:
        now = self.get_clock().now().nanoseconds * 1e-9
        with self._lock:
            self.received += 1
            if now - self.last.get(cam, -1e9) < self.period:
                return
            self.last[cam] = now
            pose = self.poses[cam].pop(_stamp(msg), None)
            if pose is not None:
                self._keep(cam, msg, pose)
            else:  # the pose of this stamp has not arrived yet
                self.pending[cam] = {_stamp(msg): msg}

    def _keep(self, cam: str, image: Image, pose: PoseStamped) -> None:
        from training.views import SceneInfo, View, encode_image

        info = self.info.get(cam)
        if info is None:
            self.dropped += 1
            return
        try:
            rgb = ros_image_to_array(image)
        except ImageError as e:
            self.get_logger().warning(f"dropping a malformed frame from {cam}: {e}")
            self.dropped += 1
            return
        test_every = int(self.get_parameter("test_every").value)
        split = "test" if test_every > 0 and self.scene_index % test_every == 0 else "train"
        scene = SceneInfo(scene_id=self.scene["scene_id"], split=split, source="ros_capture", background="",
                          objects=tuple(self.scene["objects"]))
        k = info.k
        sec, nsec = _stamp(image)
        self.scenes.setdefault(scene.scene_id, []).append(View(
            view_id=f"{scene.scene_id}/{cam}/{sec}.{nsec:09d}", image=encode_image(rgb), pose=pose_matrix(pose),
            intrinsics=(k[0], k[4], k[2], k[5], int(info.width), int(info.height)), scene=scene, camera=cam))

    def save(self):
        from training.interchange import write_views_dataset

        with self._lock:
            scenes = {k: list(v) for k, v in self.scenes.items()}
        out = self.get_parameter("out_dir").value
        path = write_views_dataset(scenes, out, families=list(self.get_parameter("families").value),
                                   angle_range=tuple(self.get_parameter("angle_range").value),
                                   shuffle_options=bool(self.get_parameter("shuffle_options").value), overwrite=True, name="ros-recorder", cameras=self.cameras,
                                   record_period_s=self.period)
        return path, sum(len(v) for v in scenes.values())

    def _on_save(self, request, response):
        try:
            path, views = self.save()
            from training.dataset import load_manifest

            rows = load_manifest(path).get("rows")
            response.success, response.message = True, json.dumps({"path": str(path), "views": views, "rows": rows,
                                                                    "scenes": len(self.scenes)})
        except Exception as e:  # nothing recorded yet, disk full ...: the caller gets the reason
            response.success, response.message = False, (f"{type(e).__name__}: {e} ({self.received} frames "
                                                          f"received, {self.dropped} dropped)")
        return response


def main(args=None) -> None:
    from .spin import run_node

    run_node(ViewpointRecorder, args=args)

if __name__ == "__main__":
    main()
