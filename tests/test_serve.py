"""Serving: real vLLM (CPU build, .venv-vllm) and real `transformers serve` on 127.0.0.1, the SpatialClient
against both, a server killed mid-request, and `actial serve` shutting down on SIGTERM. No mocks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from actial_robot.client import (BadAnswer, ImageError, RequestRejected, ServerUnavailable, SpatialClient,
                                 image_to_data_url, ros_image_to_array)
from actial_robot.serve import ModelServer, ServeConfig, ServeError, check_servable, free_port, port_free
from training import evaluate as E
from training.dataset import iter_rows
from training.views import decode_image

REPO = Path(__file__).resolve().parent.parent
VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"


def _server(checkpoint, engine, tmp_path_factory, **kw):
    log = tmp_path_factory.mktemp(f"serve-{engine}") / "server.log"
    return ModelServer(ServeConfig(checkpoint=str(checkpoint), engine=engine, port=free_port(), log_file=str(log),
                                   device="cpu", **kw))


@pytest.fixture(scope="module")
def vllm_server(served_checkpoint, tmp_path_factory):
    if not VLLM_PYTHON.exists():
        pytest.fail("no .venv-vllm: `make test` creates it (make vllm)")
    with _server(served_checkpoint[0], "vllm", tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="module")
def tf_server(served_checkpoint, tmp_path_factory):
    with _server(served_checkpoint[0], "transformers", tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="module")
def rows(served_checkpoint):
    return list(iter_rows(served_checkpoint[1], columns=["id", "images", "question", "options", "answer"]))[:8]


def test_checkpoint_problems_are_named(tmp_path, served_checkpoint):
    with pytest.raises(ServeError, match="does not exist"):
        check_servable(tmp_path / "nope")
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "adapter_config.json").write_text("{}")
    with pytest.raises(ServeError, match="LoRA adapter"):
        check_servable(tmp_path / "adapter")
    (tmp_path / "trainer").mkdir()
    with pytest.raises(ServeError, match="no config.json"):
        check_servable(tmp_path / "trainer")
    (tmp_path / "trainer" / "config.json").write_text("{}")
    with pytest.raises(ServeError, match="no weights"):
        check_servable(tmp_path / "trainer")
    assert check_servable(served_checkpoint[0]) == served_checkpoint[0]


@pytest.mark.parametrize("engine", ["vllm", "transformers"])
def test_two_images_in_any_form_get_a_parsed_answer(engine, request, rows):
    server = request.getfixturevalue("vllm_server" if engine == "vllm" else "tf_server")
    client = SpatialClient(server.base_url, model=server.model_name, timeout=60)
    row = rows[0]
    arrays = [decode_image(b) for b in row["images"]]
    for images in (arrays, [Image.fromarray(a) for a in arrays], list(row["images"])):
        a = client.ask(images, row["question"], row["options"])
        # trained for 40 steps: the format is learned, the content not necessarily
        assert a.format_ok and a.answer in "ABC"[:len(row["options"])] and a.choice in row["options"]
        assert a.reasoning == a.choice  # direct answers name the option before its letter
        assert a.attempts == 1 and 0 < a.latency_s < 60
    assert client.healthy()


def test_vllm_constrained_choice_is_one_of_the_options(vllm_server, rows):
    client = SpatialClient(vllm_server.base_url, model=vllm_server.model_name, timeout=60, constrained=True)
    for row in rows[:4]:
        a = client.ask([decode_image(b) for b in row["images"]], row["question"], row["options"])
        assert a.raw in SpatialClient._choices(list(row["options"]))


@pytest.mark.parametrize("engine", ["vllm", "transformers"])
def test_served_evaluation_matches_in_process(engine, request, served_checkpoint):
    server = request.getfixturevalue("vllm_server" if engine == "vllm" else "tf_server")
    cfg = E.EvalConfig(served_checkpoint[1], splits=["train"], max_samples=24, batch_size=8, bootstrap=10)
    served = E.evaluate(cfg, E.OpenAIAnswerer(server.base_url, server.model_name, concurrency=4))
    local = E.evaluate(cfg, E.InProcessAnswerer.from_pretrained(served_checkpoint[0]))
    # greedy decoding of the same float32 weights and the same prompt: the same answers, row by row
    same = [a["predicted"] == b["predicted"] for a, b in zip(served.predictions, local.predictions)]
    assert [p["id"] for p in served.predictions] == [p["id"] for p in local.predictions]
    assert sum(same) == len(same), [(a["completion"], b["completion"]) for a, b in
                                    zip(served.predictions, local.predictions) if a["predicted"] != b["predicted"]]
    assert served.accuracy("train") == local.accuracy("train")


def test_client_errors_are_typed(tf_server, rows):
    client = SpatialClient(tf_server.base_url, model=tf_server.model_name, timeout=30)
    imgs = [decode_image(b) for b in rows[0]["images"]]
    with pytest.raises(ImageError, match="dtype"):
        client.ask([imgs[0].astype(np.float32), imgs[1]], "q?", ["a", "b"])
    with pytest.raises(ImageError, match="neither JPEG nor PNG"):
        image_to_data_url(b"GIF89a....")
    with pytest.raises(ImageError, match="at least one image"):
        client.ask([], "q?", ["a", "b"])
    # the model answers A/B/C; with a single option only A is valid -> a clear BadAnswer when it says B or C
    wrong = SpatialClient(tf_server.base_url, model="no-such-model", timeout=30)
    with pytest.raises((RequestRejected, ServerUnavailable, BadAnswer)):
        wrong.ask(imgs, rows[0]["question"], rows[0]["options"])


class _RosImage:
    """The fields of sensor_msgs/msg/Image (the ROS tests use the real message)."""

    def __init__(self, rgb, encoding="rgb8", pad=0):
        self.height, self.width = rgb.shape[:2]
        self.encoding = encoding
        px = rgb[:, :, ::-1] if encoding == "bgr8" else rgb
        rows = np.concatenate([px.reshape(self.height, -1), np.zeros((self.height, pad), np.uint8)], axis=1)
        self.step = rows.shape[1]
        self.data = rows.tobytes()


def test_client_asks_in_the_trained_order():
    """Served questions must look like the training ones: question, images, instruction (questions.user_content)."""
    rgb = np.zeros((8, 8, 3), np.uint8)
    (msg,) = SpatialClient("http://127.0.0.1:9/v1", model="m").messages([rgb, rgb], "Which way?", ["left", "right"])
    assert [p["type"] for p in msg["content"]] == ["text", "image_url", "image_url", "text"]
    assert msg["content"][0]["text"] == "Which way?\nOptions:\nA. left\nB. right\n"
    assert msg["content"][-1]["text"].startswith("Name the answer inside <think></think>")


def test_ros_image_conversion_and_malformed_messages():
    rgb = np.random.default_rng(0).integers(0, 255, (6, 5, 3), dtype=np.uint8)
    assert np.array_equal(ros_image_to_array(_RosImage(rgb)), rgb)
    assert np.array_equal(ros_image_to_array(_RosImage(rgb, "bgr8", pad=3)), rgb)
    bad = _RosImage(rgb)
    bad.data = bad.data[:-7]
    with pytest.raises(ImageError, match="bytes"):
        ros_image_to_array(bad)
    with pytest.raises(ImageError, match="not supported"):
        ros_image_to_array(_RosImage(rgb, "32FC1"))


def test_server_down_errors_within_the_timeout_after_bounded_retries(rows):
    port = free_port()
    client = SpatialClient(f"http://127.0.0.1:{port}/v1", model="m", timeout=3.0, max_retries=2, backoff_s=0.1)
    t0 = time.perf_counter()
    with pytest.raises(ServerUnavailable, match="nothing answers"):
        client.ask([decode_image(b) for b in rows[0]["images"]], rows[0]["question"], rows[0]["options"])
    assert time.perf_counter() - t0 < 3.0 + 0.5
    assert not client.healthy(timeout=0.5)


def test_killed_server_gives_a_clear_error_and_the_client_recovers(served_checkpoint, tmp_path_factory, rows):
    server = _server(served_checkpoint[0], "transformers", tmp_path_factory).start()
    client = SpatialClient(server.base_url, model=server.model_name, timeout=8.0, max_retries=1, backoff_s=0.1,
                           max_concurrency=4)
    images = [decode_image(b) for b in rows[0]["images"]]
    requests = [dict(images=images, question=rows[0]["question"], options=rows[0]["options"], reasoning=True,
                     max_tokens=256)] * 48
    try:
        import threading

        killer = threading.Timer(0.5, lambda: os.killpg(server.proc.pid, signal.SIGKILL))
        killer.start()
        t0 = time.perf_counter()
        results = client.ask_many(requests)
        elapsed = time.perf_counter() - t0
        killer.join()
        errors = [r for r in results if isinstance(r, Exception)]
        assert len(results) == 48 and errors, "the server was killed mid-batch: some requests must fail"
        assert all(isinstance(e, (ServerUnavailable, BadAnswer)) for e in errors), errors[:3]
        # each request is bounded by its own timeout; 48 requests, 4 at a time, most failing fast
        assert elapsed < 8.0 * 48 / 4
        server.stop()
        server.start()  # same port: the client needs nothing new
        a = client.ask(images, rows[0]["question"], rows[0]["options"])
        assert a.format_ok
    finally:
        server.stop()


def test_actial_serve_stops_cleanly_on_sigterm(served_checkpoint):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "actial_robot.cli", "serve", str(served_checkpoint[0]),
                             "--engine", "transformers", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "serving" in line:
                break
        assert any(f"127.0.0.1:{port}/v1" in line for line in lines), lines
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=60)[0]
        assert proc.returncode == 0 and "stopped" in rest, rest
        assert port_free("127.0.0.1", port)
    finally:
        proc.kill()


def test_actial_serve_explains_a_missing_checkpoint(tmp_path):
    r = subprocess.run([sys.executable, "-m", "actial_robot.cli", "serve", str(tmp_path / "missing")],
                       capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "300"})
    assert r.returncode != 0 and "does not exist" in r.stdout + r.stderr
