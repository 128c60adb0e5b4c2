# Two commands do everything: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
STAMP := $(VENV)/.installed
OUT ?= outputs

.PHONY: install demo test bench-sim clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -U pip 2>&1 | grep -v "is ignored" || true
	$(PIP) install -e '.[test]' 2>&1 | grep -v -e "is ignored" -e "^ *$$" || true
	$(PY) -c "import sim_envs, pybullet, gymnasium, torch" >/dev/null
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/actial demo --out $(OUT)/demo

test: $(STAMP)
	OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest -q tests  # torch threads wait passively: 2 shared cores

bench-sim: $(STAMP)
	$(PY) bench/sim.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
