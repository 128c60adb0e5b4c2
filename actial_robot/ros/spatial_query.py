"""spatial_query: answers multi-view spatial questions for other nodes by asking the served model.

Subscribes to ``/NAME/image_raw`` (sensor-data QoS) for every camera in the ``cameras`` parameter and
keeps each one's latest frame. Serves
  ~/query   actial_interfaces/SpatialQuery   (service)
  ~/ask     actial_interfaces/AskSpatial     (action: feedback with the stage; cancel)
Each question names cameras (their latest frames are used) and/or carries images. At most
``queue_size`` questions are in flight; one more is answered at once with success=false and the
error "rejected: queue full" (an action goal is accepted and aborted with that error, so the caller
sees the reason). Unknown cameras, frames older than ``max_frame_age_s``, malformed images and a
model server that is down or too slow (``request_timeout_s``) all get an error response; the node
keeps serving.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSProfile, qos_profile_sensor_data
from sensor_msgs.msg import Image

from actial_interfaces.action import AskSpatial
from actial_interfaces.srv import SpatialQuery

from ..client import ImageError, SpatialClient, SpatialClientError, ros_image_to_array


REQUEST_DEPTH = 256  # callers sending bursts should give their clients the same depth


class QueryError(Exception):
    """A question this node cannot ask (the message goes back to the caller)."""


class SpatialQueryNode(Node):
    def __init__(self):
        super().__init__("spatial_query")
        self.declare_parameter("cameras", ["front", "left", "right", "wrist", "operator"])  # sim_bridge's rig
        self.declare_parameter("model_url", "http://127.0.0.1:8000/v1")
        self.declare_parameter("model_name", "")  # empty: the first model the server lists
        self.declare_parameter("api_key", "EMPTY")
        self.declare_parameter("request_timeout_s", 30.0)
        self.declare_parameter("max_retries", 1)
        self.declare_parameter("max_frame_age_s", 2.0)
        self.declare_parameter("queue_size", 4)
        p = {n: self.get_parameter(n).value for n in ("cameras", "model_url", "model_name", "api_key",
                                                       "request_timeout_s", "max_retries", "max_frame_age_s",
                                                       "queue_size")}
        self.timeout = float(p["request_timeout_s"])
        self.max_age = float(p["max_frame_age_s"])
        self.queue_size = int(p["queue_size"])
        self.client = SpatialClient(p["model_url"], model=p["model_name"] or None, api_key=p["api_key"],
                                    timeout=self.timeout, max_retries=int(p["max_retries"]),
                                    max_concurrency=self.queue_size)
        self.cameras = list(p["cameras"])
        self.frames: dict[str, tuple[Image, float]] = {}
        self._lock = threading.Lock()
        self._in_flight = 0
        self._pool = ThreadPoolExecutor(self.queue_size, thread_name_prefix="spatial-query")
        group = ReentrantCallbackGroup()  # questions run concurrently; frames keep arriving meanwhile
        for name in p["cameras"]:
            self.create_subscription(Image, f"/{name}/image_raw", lambda m, n=name: self._on_frame(n, m),
                                     qos_profile_sensor_data, callback_group=group)
        # Requests wait in DDS history before the node sees them: the default depth (10) silently drops a
        # burst of goals. Keep REQUEST_DEPTH, so every request reaches the queue logic and gets an answer.
        deep = QoSProfile(depth=REQUEST_DEPTH)
        self.create_service(SpatialQuery, "~/query", self._on_query, qos_profile=deep, callback_group=group)
        self._action = ActionServer(self, AskSpatial, "~/ask", execute_callback=self._execute,
                                    goal_service_qos_profile=deep, result_service_qos_profile=deep,
                                    cancel_service_qos_profile=deep,
                                    goal_callback=lambda goal: GoalResponse.ACCEPT,
                                    cancel_callback=lambda handle: CancelResponse.ACCEPT, callback_group=group)
        self.get_logger().info(f"cameras {list(p['cameras'])}, model {p['model_url']}, queue {self.queue_size}")

    # -- frames -----------------------------------------------------------------------------
    def _on_frame(self, name: str, msg: Image) -> None:
        self.frames[name] = (msg, time.monotonic())

    def collect(self, camera_names, images) -> list:
        """The images for a question: each named camera's latest frame, then the given images, all checked."""
        out = []
        for name in camera_names:
            if name not in self.cameras:
                raise QueryError(f"unknown camera {name!r}; this node listens to {self.cameras}")
            if name not in self.frames:
                raise QueryError(f"no frame from camera {name!r} yet (is /{name}/image_raw published?)")
            msg, received = self.frames[name]
            age = time.monotonic() - received
            if age > self.max_age:
                raise QueryError(f"stale frame from {name!r}: {age:.1f} s old (max_frame_age_s {self.max_age:g})")
            out.append((name, msg))
        out += [(f"images[{i}]", m) for i, m in enumerate(images)]
        if not out:
            raise QueryError("no images: give camera_names and/or images")
        arrays = []
        for label, msg in out:
            try:
                arrays.append(ros_image_to_array(msg))
            except ImageError as e:
                raise QueryError(f"malformed image {label}: {e}") from None
        return arrays

    # -- the queue --------------------------------------------------------------------------
    def _admit(self) -> bool:
        with self._lock:
            if self._in_flight >= self.queue_size:
                return False
            self._in_flight += 1
            return True

    def _release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _fill(self, out, *, success=False, answer="", choice="", reasoning="", error="", latency_s=0.0):
        out.success, out.answer, out.choice, out.reasoning, out.error = success, answer, choice or "", reasoning, error
        out.latency_s = float(latency_s)
        return out

    def _ask(self, request, stage=None):
        """Run one question; returns the answer fields as a dict (errors included, never raised)."""
        t0 = time.perf_counter()
        try:
            stage and stage("collecting_frames")
            arrays = self.collect(list(request.camera_names), list(request.images))
            stage and stage("asking_model")
            a = self.client.ask(arrays, request.question, list(request.options), reasoning=bool(request.reasoning),
                                timeout=float(request.timeout_s) or self.timeout)
            return {"success": True, "answer": a.answer, "choice": a.choice, "reasoning": a.reasoning,
                    "latency_s": time.perf_counter() - t0}
        except (QueryError, SpatialClientError, ValueError) as e:
            return {"error": str(e), "latency_s": time.perf_counter() - t0}

    # -- service ----------------------------------------------------------------------------
    def _on_query(self, request, response):
        if not self._admit():
            return self._fill(response, error=f"rejected: queue full ({self.queue_size} questions in flight)")
        try:
            return self._fill(response, **self._ask(request))
        finally:
            self._release()

    # -- action -----------------------------------------------------------------------------
    def _execute(self, goal_handle):
        result = AskSpatial.Result()
        if not self._admit():
            goal_handle.abort()
            return self._fill(result, error=f"rejected: queue full ({self.queue_size} questions in flight)")
        t0 = time.perf_counter()
        try:
            def stage(name):
                fb = AskSpatial.Feedback()
                fb.stage, fb.elapsed_s = name, time.perf_counter() - t0
                goal_handle.publish_feedback(fb)

            stage("queued")
            future = self._pool.submit(self._ask, goal_handle.request, stage)
            while not future.done():  # the model call blocks: watch for a cancel meanwhile
                if goal_handle.is_cancel_requested:
                    future.cancel()
                    goal_handle.canceled()
                    return self._fill(result, error="canceled", latency_s=time.perf_counter() - t0)
                time.sleep(0.01)
            fields = future.result()
            (goal_handle.succeed if fields.get("success") else goal_handle.abort)()
            return self._fill(result, **fields)
        finally:
            self._release()

    def destroy_node(self):
        self._action.destroy()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client.close()
        return super().destroy_node()


def main(args=None) -> None:
    from .spin import run_node

    # threads: every admitted question, plus some for frames and the rejects
    run_node(SpatialQueryNode, threads=lambda node: node.queue_size + 4, args=args)

if __name__ == "__main__":
    main()
