"""SpatialClient: ask a served model a question about N camera images, over vLLM's OpenAI API.

The prompt is the one the model was trained on (``training.questions.prompt_text``'s question and
options, the images, then its answer-format instruction, as ``questions.user_content`` orders them),
so a served checkpoint answers exactly as it does in-process. Works against ``vllm serve`` and
``transformers serve`` alike.

    client = SpatialClient("http://127.0.0.1:8000/v1")
    a = client.ask([img_a, img_b], "The camera moved from the first photo to the second. Which way?",
                   ["left", "right", "no movement"])
    a.answer, a.choice, a.reasoning, a.latency_s   # "B", "right", "right", 0.07

Images may be numpy arrays (H x W x 3 RGB or H x W gray, uint8), PIL images, encoded JPEG/PNG bytes,
or ``sensor_msgs/msg/Image`` messages. Failures raise a ``SpatialClientError`` subclass:
``ServerUnavailable`` (down, timed out, HTTP 5xx after the retries), ``RequestRejected`` (HTTP 4xx:
retrying will not help), ``BadAnswer`` (the model's text has no valid answer), ``ImageError``.
"""

from __future__ import annotations

import base64
import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from training import questions as Q
from training.dataset import LETTERS
from training.rewards import NONE, format_ok, parse_answer


class SpatialClientError(RuntimeError):
    """Base class: anything that kept a question from getting a valid answer."""


class ServerUnavailable(SpatialClientError):
    """Nothing answered in time (connection refused, timeout, HTTP 5xx) after the bounded retries."""


class RequestRejected(SpatialClientError):
    """The server refused the request (HTTP 4xx: wrong model name, too many images, bad API key)."""


class BadAnswer(SpatialClientError):
    """The server answered, but not with one valid ``<answer>`` (the raw text is in ``.raw``)."""

    def __init__(self, message: str, raw: str = ""):
        super().__init__(message)
        self.raw = raw


class ImageError(SpatialClientError, ValueError):
    """An image that cannot be sent: unknown type or encoding, wrong shape, truncated data."""


# sensor_msgs/Image encodings we accept -> (channels, PIL mode of the raw bytes)
_ROS_ENCODINGS = {"rgb8": (3, "RGB"), "bgr8": (3, "BGR"), "rgba8": (4, "RGBA"), "bgra8": (4, "BGRA"),
                  "mono8": (1, "L")}


def ros_image_to_array(msg) -> np.ndarray:
    """A ``sensor_msgs/msg/Image`` (8-bit encodings) as an H x W x 3 RGB array; ``ImageError`` if malformed."""
    enc = str(getattr(msg, "encoding", "")).lower()
    if enc not in _ROS_ENCODINGS:
        raise ImageError(f"image encoding {enc!r} is not supported; use one of {sorted(_ROS_ENCODINGS)}")
    ch, mode = _ROS_ENCODINGS[enc]
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    data = bytes(msg.data)
    if h <= 0 or w <= 0:
        raise ImageError(f"image is {w} x {h} pixels; both sides must be positive")
    if step < w * ch:
        raise ImageError(f"image step {step} is shorter than a row ({w} px x {ch} bytes = {w * ch})")
    if len(data) != step * h:
        raise ImageError(f"image data is {len(data)} bytes; {enc} {w} x {h} with step {step} needs {step * h}")
    arr = np.frombuffer(data, np.uint8).reshape(h, step)[:, :w * ch].reshape(h, w, ch)
    if mode == "L":
        return np.repeat(arr, 3, axis=2)
    if mode.startswith("BGR"):
        arr = arr[:, :, [2, 1, 0]]
    return np.ascontiguousarray(arr[:, :, :3])


def _encode_array(arr: np.ndarray, quality: int) -> bytes:
    from PIL import Image

    if arr.dtype != np.uint8:
        raise ImageError(f"image array has dtype {arr.dtype}; send uint8 pixels (0-255)")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)) or min(arr.shape[:2]) < 1:
        raise ImageError(f"image array has shape {arr.shape}; expected H x W x 3 (RGB) or H x W (gray)")
    buf = io.BytesIO()
    Image.fromarray(arr).convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def image_to_data_url(image: Any, jpeg_quality: int = 90) -> str:
    """Any supported image as a base64 ``data:`` URL (arrays and messages are JPEG-encoded, as in training data)."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        if data[:3] == b"\xff\xd8\xff":
            mime = "image/jpeg"
        elif data[:8] == b"\x89PNG\r\n\x1a\n":
            mime = "image/png"
        else:
            raise ImageError("image bytes are neither JPEG nor PNG; pass decoded pixels (a numpy array) instead")
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    if isinstance(image, np.ndarray):
        data = _encode_array(image, jpeg_quality)
    elif hasattr(image, "encoding") and hasattr(image, "data"):  # sensor_msgs/msg/Image (duck-typed: no rclpy needed)
        data = _encode_array(ros_image_to_array(image), jpeg_quality)
    elif hasattr(image, "save") and hasattr(image, "mode"):  # PIL.Image.Image
        data = _encode_array(np.asarray(image.convert("RGB")), jpeg_quality)
    else:
        raise ImageError(f"cannot send an image of type {type(image).__name__}; use a numpy array, PIL image, "
                         f"JPEG/PNG bytes or sensor_msgs/msg/Image")
    return f"data:image/jpeg;base64,{base64.b64encode(data).decode('ascii')}"


@dataclass
class SpatialAnswer:
    answer: str  # the option letter ("B"), or the number for numeric questions
    choice: str | None  # the option's text ("right"); None for numeric questions
    reasoning: str  # what the model wrote inside <think></think> (its answer's text, for direct prompts)
    raw: str  # the whole completion
    format_ok: bool  # exactly one <think> block then one <answer> block
    latency_s: float  # from the first attempt to the answer, retries included
    attempts: int
    model: str
    timings: dict = field(default_factory=dict)  # per-attempt seconds, and the server's token usage


def _completion_text(message) -> str:
    """The model's whole text. Servers that parse reasoning (``transformers serve``; vLLM with a reasoning
    parser) move the ``<think>`` block into ``reasoning_content``: put it back where the model wrote it."""
    content = message.content or ""
    extra = getattr(message, "model_extra", None) or {}
    thought = extra.get("reasoning_content") or extra.get("reasoning")
    if thought and "<think>" not in content:
        return f"<think>{thought}</think>{content}"
    return content


def _think(text: str) -> str:
    a, b = text.find("<think>"), text.find("</think>")
    return text[a + len("<think>"):b].strip() if 0 <= a < b else ""


class SpatialClient:
    """An ``openai.OpenAI`` client that asks multi-view spatial questions (see the module docstring).

    ``timeout`` bounds one ``ask`` as a whole, retries included: a server killed mid-request yields
    ``ServerUnavailable`` within it. Up to ``max_retries`` further attempts follow connection errors,
    timeouts and HTTP 5xx, after ``backoff_s`` x 2^k seconds. At most ``max_concurrency`` requests are
    in flight from this client whichever threads call it (a robot node's callbacks included).
    ``constrained=True`` asks vLLM to pick among the well-formed direct answers
    (``structured_outputs: {"choice": ...}``); ``transformers serve`` ignores it.
    """

    def __init__(self, base_url: str = "http://127.0.0.1:8000/v1", model: str | None = None, api_key: str = "EMPTY",
                 timeout: float = 30.0, max_retries: int = 2, backoff_s: float = 0.25, max_concurrency: int = 8,
                 constrained: bool = False, jpeg_quality: int = 90):
        import openai

        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff_s = float(backoff_s)
        self.max_concurrency = int(max_concurrency)
        self.constrained = constrained
        self.jpeg_quality = jpeg_quality
        # the SDK's own retries are off: ours share one deadline per question
        self._client = openai.OpenAI(base_url=self.base_url, api_key=api_key or "EMPTY", timeout=self.timeout,
                                     max_retries=0)
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    # -- server ------------------------------------------------------------------------------
    def models(self, timeout: float | None = None) -> list[str]:
        """The model names the server serves; ``ServerUnavailable`` if nothing answers."""
        try:
            return [m.id for m in self._client.with_options(timeout=timeout or self.timeout).models.list()]
        except Exception as e:
            raise self._translate(e, "listing models") from e

    def healthy(self, timeout: float = 2.0) -> bool:
        try:
            return bool(self.models(timeout=timeout))
        except SpatialClientError:
            return False

    def resolve_model(self) -> str:
        """The model name to ask for: the one given, else the first one the server lists."""
        if self.model is None:
            served = self.models()
            if not served:
                raise RequestRejected(f"{self.base_url} lists no models; pass model=NAME")
            with self._lock:
                self.model = self.model or served[0]
        return self.model

    # -- asking ------------------------------------------------------------------------------
    def messages(self, images: Sequence[Any], question: str, options: Sequence[str] | None = None,
                 reasoning: bool = False) -> list[dict]:
        """The chat messages for a question: the question and options, one image part per image, the
        answer-format instruction (questions.user_content: the order the model was trained with)."""
        if not images:
            raise ImageError("a spatial question needs at least one image")
        parts = [{"type": "image_url", "image_url": {"url": image_to_data_url(im, self.jpeg_quality)}} for im in images]
        text = Q.prompt_text(question, list(options or []), len(images), reasoning)
        return [{"role": "user", "content": Q.user_content(text, parts)}]

    def ask(self, images: Sequence[Any], question: str, options: Sequence[str] | None = None, *,
            reasoning: bool = False, max_tokens: int | None = None, temperature: float = 0.0,
            seed: int | None = None, timeout: float | None = None) -> SpatialAnswer:
        """Ask one question; returns the parsed answer or raises a ``SpatialClientError``."""
        options = list(options or [])
        if len(options) > len(LETTERS):
            raise ValueError(f"at most {len(LETTERS)} options, got {len(options)}")
        messages = self.messages(images, question, options, reasoning)
        text, info = self.complete(messages, max_tokens=max_tokens or (256 if reasoning else 32),
                                   temperature=temperature, seed=seed, timeout=timeout,
                                   choices=self._choices(options) if self.constrained and options and not reasoning
                                   else None)
        return self._parse(text, options, info)

    def ask_many(self, requests: Sequence[dict]) -> list[SpatialAnswer | SpatialClientError]:
        """``ask(**r)`` for each request, ``max_concurrency`` at a time; errors are returned, not raised."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="spatial-client")

        def one(r):
            try:
                return self.ask(**r)
            except SpatialClientError as e:
                return e

        return list(self._pool.map(one, requests))

    def complete(self, messages: list[dict], *, max_tokens: int, temperature: float = 0.0, seed: int | None = None,
                 timeout: float | None = None, choices: list[str] | None = None) -> tuple[str, dict]:
        """One chat completion with the deadline, retries and concurrency limit; (text, timing info)."""
        budget = float(timeout or self.timeout)
        t0 = time.perf_counter()
        deadline = t0 + budget
        extra: dict[str, Any] = {}
        if choices:
            extra["extra_body"] = {"structured_outputs": {"choice": choices}}
        if seed is not None:
            extra["seed"] = int(seed)
        attempts, tries = 0, []
        while True:
            attempts += 1
            left = deadline - time.perf_counter()
            if not self._slots.acquire(timeout=max(left, 0.0)):
                raise ServerUnavailable(f"{self.base_url}: no free request slot within {budget:g} s "
                                        f"({self.max_concurrency} requests already in flight)")
            try:
                a0 = time.perf_counter()
                left = deadline - a0
                if left <= 0:
                    raise ServerUnavailable(f"{self.base_url}: no answer within {budget:g} s")
                resp = self._client.with_options(timeout=left).chat.completions.create(
                    model=self.resolve_model(), messages=messages, max_tokens=int(max_tokens),
                    temperature=float(temperature), **extra)
                tries.append(time.perf_counter() - a0)
                break
            except SpatialClientError:
                raise
            except Exception as e:
                tries.append(time.perf_counter() - a0)
                err = self._translate(e, f"after {attempts} attempt(s) in {time.perf_counter() - t0:.1f} s")
                wait = self.backoff_s * 2 ** (attempts - 1)
                if (isinstance(err, RequestRejected) or attempts > self.max_retries
                        or time.perf_counter() + wait >= deadline):
                    raise err from e
            finally:
                self._slots.release()
            time.sleep(wait)
        text = _completion_text(resp.choices[0].message) if resp.choices else ""
        usage = getattr(resp, "usage", None)
        return text or "", {
            "latency_s": time.perf_counter() - t0, "attempts": attempts, "attempt_s": tries,
            "model": getattr(resp, "model", None) or self.model or "",
            "prompt_tokens": getattr(usage, "prompt_tokens", None),
            "completion_tokens": getattr(usage, "completion_tokens", None),
        }

    # -- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _choices(options: list[str]) -> list[str]:
        return [Q.response(LETTERS[i], text) for i, text in enumerate(options)]

    def _parse(self, text: str, options: list[str], info: dict) -> SpatialAnswer:
        answer = parse_answer(text)
        if answer == NONE:
            raise BadAnswer(f"{self.base_url}: the model's reply has no single <answer> block: {text[:200]!r}", text)
        if options:
            letter = answer.upper()
            if letter not in LETTERS[:len(options)]:
                raise BadAnswer(f"{self.base_url}: the model answered {answer!r}, not one of the option letters "
                                f"{LETTERS[:len(options)]}", text)
            answer, choice = letter, options[LETTERS.index(letter)]
        else:
            try:
                float(answer)
            except ValueError:
                raise BadAnswer(f"{self.base_url}: expected a number, the model answered {answer!r}", text) from None
            choice = None
        return SpatialAnswer(answer=answer, choice=choice, reasoning=_think(text), raw=text,
                             format_ok=format_ok(text), latency_s=info["latency_s"], attempts=info["attempts"],
                             model=info["model"], timings=info)

    def _translate(self, e: Exception, what: str) -> SpatialClientError:
        import openai

        if isinstance(e, openai.APITimeoutError):
            return ServerUnavailable(f"{self.base_url}: timed out {what}; the server is overloaded or down "
                                     f"(timeout {self.timeout:g} s)")
        if isinstance(e, openai.APIConnectionError):
            return ServerUnavailable(f"{self.base_url}: nothing answers ({what}); start one with "
                                     f"`actial serve CHECKPOINT` or check the host, port and /v1 suffix")
        if isinstance(e, openai.APIStatusError):
            cls = ServerUnavailable if e.status_code >= 500 else RequestRejected
            return cls(f"{self.base_url}: HTTP {e.status_code} {what}: {str(e)[:400]}")
        return SpatialClientError(f"{self.base_url}: {type(e).__name__} {what}: {e}")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


__all__ = ["BadAnswer", "ImageError", "RequestRejected", "ServerUnavailable", "SpatialAnswer", "SpatialClient",
           "SpatialClientError", "image_to_data_url", "ros_image_to_array"]
