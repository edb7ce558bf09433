# lifhw: the two commands of the README do all set-up on a fresh Debian 12 machine.
#   make demo   -- install what is missing, then run the co-design demo (out/report.html)
#   make test   -- install what is missing, then lint, type-check and run the full suite
# Re-running is fast: system packages and the virtualenv are only installed when missing
# or when pyproject.toml / requirements.lock changed.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lifhw-installed
LAVA_VENV := .venv-lava
LAVA_STAMP := $(LAVA_VENV)/.lifhw-installed
# Debian packages: simulators, synthesis, shared libngspice for PySpice, lz4 for FST
# waves, chromium for the report screenshot test.
APT_PACKAGES := ngspice libngspice0-dev iverilog yosys liblz4-dev perl g++ make chromium
PYTEST_ARGS ?=
JOBS ?= 2

.PHONY: all setup sysdeps venv lava demo test lint unit verify bench figures clean

all: demo

sysdeps:
	@missing=""; \
	for pkg in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "lifhw: installing system packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev,nest]'
	@touch $(STAMP)

venv: $(STAMP)

# Lava (Intel's Loihi framework) needs Python < 3.11: its own venv, used only by
# verification/ as an independent bit-accurate reference.
$(LAVA_STAMP):
	@py310=""; \
	for cand in "$$(command -v pyenv >/dev/null 2>&1 && pyenv root)/versions/3.10.13/bin/python3" \
	            $(HOME)/.pyenv/versions/3.10*/bin/python3 /usr/bin/python3.10 /usr/local/bin/python3.10; do \
	  if [ -x "$$cand" ] && "$$cand" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then \
	    py310="$$cand"; break; \
	  fi; \
	done; \
	if [ -z "$$py310" ]; then \
	  echo "lifhw: no Python 3.10 here; the Lava cross-check of the Loihi model cannot run"; \
	else \
	  ( test -x $(LAVA_VENV)/bin/python || "$$py310" -m venv $(LAVA_VENV) ) && \
	  $(LAVA_VENV)/bin/python -m pip install -q lava-nc==0.10.0 && touch $(LAVA_STAMP); \
	fi

lava: $(LAVA_STAMP)

setup: sysdeps venv lava

demo: setup
	$(BIN)/lifhw demo -o out

lint: venv
	$(BIN)/ruff check lifhw tests verification benchmarks
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -q tests $(PYTEST_ARGS)

verify: setup
	$(BIN)/pytest -q verification $(PYTEST_ARGS)

test: setup lint
	@mkdir -p out
	$(BIN)/pytest -q -n $(JOBS) --junitxml=out/junit.xml tests verification $(PYTEST_ARGS)

# Brian2 2.9.0 fails to import with numpy >= 2.4: the golden benchmark runs it from
# its own venv.
.venv-brian2/.lifhw-installed:
	$(PYTHON) -m venv .venv-brian2
	.venv-brian2/bin/python -m pip install -q "brian2==2.9.0" "numpy<2.4" cython
	@touch $@

# snnTorch (PyTorch CPU 2.13.0, from the machine's wheel directory when present) for the
# SNN training-time comparison; never installed into .venv.
TORCH_WHEEL := $(firstword $(wildcard /opt/wheels/torch-2.13.0+cpu-*.whl) torch==2.13.0)
.venv-snntorch/.lifhw-installed:
	$(PYTHON) -m venv .venv-snntorch
	.venv-snntorch/bin/python -m pip install -q "$(TORCH_WHEEL)" snntorch numpy scikit-learn
	@touch $@

bench: setup .venv-brian2/.lifhw-installed .venv-snntorch/.lifhw-installed
	$(BIN)/python -m benchmarks

# Regenerate the documentation figures of the theory page.
figures: venv
	$(BIN)/python -m lifhw.app.stages.theory docs/figures --full

clean:
	rm -rf out build .pytest_cache .mypy_cache .ruff_cache sim_build
