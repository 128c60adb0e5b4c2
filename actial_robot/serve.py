"""Serve a checkpoint behind an OpenAI-compatible API: vLLM (the paper's server) or ``transformers serve``.

``ModelServer`` starts the server as a child process in its own process group, waits until
``/v1/models`` answers, and stops it on exit (SIGINT, then SIGTERM, then SIGKILL). vLLM runs from
its own virtualenv (``make vllm`` creates ``.venv-vllm``; on GPU hosts point ``vllm_python`` at any
Python with ``vllm`` installed), because it pins versions that clash with training.

    with ModelServer(ServeConfig(checkpoint="outputs/sft")) as server:
        client = SpatialClient(server.base_url)
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from sim_envs.config import FromDict

ENGINES = ("vllm", "transformers")
REPO = Path(__file__).resolve().parent.parent


class ServeError(RuntimeError):
    """The checkpoint cannot be served, or the server did not come up (the message says which and why)."""


@dataclass
class ServeConfig(FromDict):
    checkpoint: str = ""  # a servable directory (training/checkpoint.py), or a Hugging Face model directory
    engine: str = "vllm"  # vllm | transformers
    host: str = "127.0.0.1"  # loopback by default: no API key means anyone who can reach the port can use it
    port: int = 8000
    served_model_name: str | None = None  # default: the checkpoint directory's name
    api_key: str | None = None  # vLLM: require this bearer token
    max_model_len: int = 2048
    images_per_prompt: int = 4  # vLLM --limit-mm-per-prompt (the data engine's questions use 2)
    tensor_parallel_size: int = 1
    data_parallel_size: int = 1
    lora_modules: dict = field(default_factory=dict)  # name -> adapter directory (vLLM --lora-modules)
    max_lora_rank: int = 16
    dtype: str = "auto"  # vLLM: float32 on CPU for the tiny model (chosen automatically there)
    cpu_kv_cache_gib: int = 1  # VLLM_CPU_KVCACHE_SPACE for the CPU build
    enforce_eager: bool = False  # vLLM --enforce-eager: no torch.compile at start (bench/serve.py: the trade)
    vllm_python: str = str(REPO / ".venv-vllm" / "bin" / "python")
    device: str = "auto"  # transformers serve --device
    extra_args: list = field(default_factory=list)  # appended to the server's command line as is
    startup_timeout_s: float = 600.0
    log_file: str | None = None  # default: <checkpoint>/serve-<engine>.log

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise ServeError(f"engine must be one of {ENGINES}, got {self.engine!r}")

    @property
    def name(self) -> str:
        return self.served_model_name or Path(self.checkpoint).resolve().name

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}/v1"


def check_servable(path: str | Path) -> Path:
    """The checkpoint directory, or ``ServeError`` saying what is missing and what to do."""
    p = Path(path)
    if not p.exists():
        raise ServeError(f"checkpoint {p} does not exist; train one with `actial train sft ...` or pass the "
                         f"directory that holds config.json")
    if not p.is_dir():
        raise ServeError(f"checkpoint {p} is a file; pass the directory that holds config.json")
    if (p / "adapter_config.json").exists() and not (p / "config.json").exists():
        raise ServeError(f"{p} holds a LoRA adapter, not a model: serve its base model with "
                         f"--lora-module NAME={p}, or merge it first (training checkpoints are saved merged)")
    if not (p / "config.json").exists():
        raise ServeError(f"{p} has no config.json: not a model directory (a Trainer's checkpoint-N folder? "
                         f"serve the run's output directory instead)")
    if not any(p.glob("*.safetensors")) and not any(p.glob("*.bin")):
        raise ServeError(f"{p} has no weights (*.safetensors); the save was interrupted — save the checkpoint again")
    missing = [f for f in ("tokenizer_config.json",) if not (p / f).exists()]
    if not (p / "processor_config.json").exists() and not (p / "preprocessor_config.json").exists():
        missing.append("processor_config.json")
    if missing:
        raise ServeError(f"{p} lacks {', '.join(missing)}: servers need the processor saved with the model "
                         f"(training/checkpoint.py saves it)")
    return p


def _dtype(cfg: ServeConfig, checkpoint: Path) -> str:
    if cfg.dtype != "auto":
        return cfg.dtype
    preset = None
    for name in ("actial_checkpoint.json", "actial_preset.json"):
        try:
            preset = preset or json.loads((checkpoint / name).read_text()).get("preset")
        except (OSError, ValueError):
            pass
    # the tiny model trains in float32; serving it in float32 keeps served answers equal to in-process ones
    return "float32" if preset == "tiny" else "auto"


def vllm_command(cfg: ServeConfig) -> list[str]:
    """The vLLM OpenAI server's command line for ``cfg`` (``python -m``: the console script fails for vllm-cpu)."""
    ckpt = Path(cfg.checkpoint).resolve()
    cmd = [cfg.vllm_python, "-m", "vllm.entrypoints.openai.api_server", "--model", str(ckpt),
           "--served-model-name", cfg.name, "--host", cfg.host, "--port", str(cfg.port),
           "--max-model-len", str(cfg.max_model_len),
           "--limit-mm-per-prompt", json.dumps({"image": cfg.images_per_prompt}),
           "--dtype", _dtype(cfg, ckpt)]
    if cfg.enforce_eager:
        cmd += ["--enforce-eager"]
    if cfg.tensor_parallel_size > 1:
        cmd += ["--tensor-parallel-size", str(cfg.tensor_parallel_size)]
    if cfg.data_parallel_size > 1:
        cmd += ["--data-parallel-size", str(cfg.data_parallel_size)]
    if cfg.lora_modules:
        cmd += ["--enable-lora", "--max-lora-rank", str(cfg.max_lora_rank), "--lora-modules",
                *[f"{k}={v}" for k, v in cfg.lora_modules.items()]]
    if cfg.api_key:
        cmd += ["--api-key", cfg.api_key]
    return cmd + [str(a) for a in cfg.extra_args]


def transformers_command(cfg: ServeConfig) -> list[str]:
    exe = Path(sys.executable).with_name("transformers")
    return [str(exe) if exe.exists() else "transformers", "serve", str(Path(cfg.checkpoint).resolve()),
            "--host", cfg.host, "--port", str(cfg.port), "--device", cfg.device, "--dtype", cfg.dtype,
            "--log-level", "info", *[str(a) for a in cfg.extra_args]]


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ModelServer:
    """A model server child process (see the module docstring). Use as a context manager or start()/stop()."""

    def __init__(self, cfg: ServeConfig):
        self.cfg = cfg
        self.checkpoint = check_servable(cfg.checkpoint)
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(cfg.log_file) if cfg.log_file else self.checkpoint / f"serve-{cfg.engine}.log"
        self.command = vllm_command(cfg) if cfg.engine == "vllm" else transformers_command(cfg)
        self.startup_s: float | None = None

    @property
    def base_url(self) -> str:
        return self.cfg.base_url

    @property
    def model_name(self) -> str:
        # transformers serve names the model by the path it was given
        return self.cfg.name if self.cfg.engine == "vllm" else str(self.checkpoint)

    def _env(self) -> dict:
        env = dict(os.environ)
        if self.cfg.engine == "vllm":
            if not Path(self.cfg.vllm_python).exists():
                raise ServeError(f"no vLLM Python at {self.cfg.vllm_python}: run `make vllm` (CPU build) or pass "
                                 f"--vllm-python to a Python with vllm installed")
            env.setdefault("VLLM_CPU_KVCACHE_SPACE", str(self.cfg.cpu_kv_cache_gib))
            env.setdefault("VLLM_LOGGING_LEVEL", "INFO")
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        env.pop("PYTHONPATH", None)  # the server's own environment, not ours
        return env

    def start(self) -> "ModelServer":
        if not port_free(self.cfg.host, self.cfg.port):
            raise ServeError(f"port {self.cfg.port} on {self.cfg.host} is taken; pass another --port or stop "
                             f"what is using it")
        env = self._env()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")
        t0 = time.perf_counter()
        # own session: a Ctrl-C in the terminal reaches us, and we stop the whole server group in order
        self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        log.close()
        try:
            self._wait_healthy(t0)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.perf_counter() - t0
        return self

    def _wait_healthy(self, t0: float) -> None:
        url = self.base_url + "/models"
        headers = {"Authorization": f"Bearer {self.cfg.api_key}"} if self.cfg.api_key else {}
        while True:
            code = self.proc.poll()
            if code is not None:
                raise ServeError(f"the {self.cfg.engine} server exited with code {code} while starting; "
                                 f"last lines of {self.log_path}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            if time.perf_counter() - t0 > self.cfg.startup_timeout_s:
                raise ServeError(f"the {self.cfg.engine} server did not answer {url} within "
                                 f"{self.cfg.startup_timeout_s:g} s; last lines of {self.log_path}:\n{self.log_tail()}")
            time.sleep(0.5)

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace_s: float = 15.0) -> int | None:
        """SIGINT (servers shut down cleanly on it), then SIGTERM, then SIGKILL, to the whole process group."""
        if self.proc is None:
            return None
        for sig, wait in ((signal.SIGINT, grace_s), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        try:  # workers left behind in the group (vLLM's engine core) go too
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return self.proc.poll()

    def __enter__(self) -> "ModelServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def describe(self) -> str:
        return " ".join(shlex.quote(c) for c in self.command)


__all__ = ["ENGINES", "ModelServer", "ServeConfig", "ServeError", "check_servable", "free_port", "port_free",
           "transformers_command", "vllm_command"]
