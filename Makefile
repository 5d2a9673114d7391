# The README's commands. Each bootstraps .venv (finding a Python >= 3.12) first.
#   make test    the fast loop: lint, types, and every test but the `slow` ones, side by side
#   make check   what CI runs (.ci/run): lint, types, and the whole suite
VENV := .venv
BIN := $(VENV)/bin
PYTEST := $(BIN)/python -m pytest

# Independent tests run side by side in JOBS pytest-xdist workers, as the runner runs cells
# (2 at a time by default; this machine has 2 cores). `--dist loadscope` hands a module to one
# worker whole, so a module fixture that runs a whole matrix runs once, not once per worker
# (`loadgroup` and its xdist_group marks group nothing with pytest 9.2: pytest-xdist#1386).
# Tests marked `serial` (browsers, load, benchmarks, calibration, the server beside hostile
# clients, busy loops on every core, the package build) measure the machine or load it: they run
# after, one at a time, with nothing beside them.
JOBS ?= 2
SIDE_BY_SIDE := -n $(JOBS) --dist loadscope
# pyproject.toml's addopts deselect `matrix`; a -m given here replaces that one, so each
# expression says it again. Every `serial` test is also `slow` (tests/conftest.py fails one
# that an xdist worker is handed), so the fast loop is one side-by-side run.
FAST := not matrix and not slow
SIDE_BY_SIDE_PART := not matrix and not serial
ALONE_PART := not matrix and serial

.PHONY: demo test check bootstrap lint format clean

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap
	$(BIN)/gauntlet run --matrix smoke

# Formatting (one formatter, ruff format: run `make format` to apply it), lint and types.
lint: bootstrap
	$(BIN)/ruff format --check harness proxies tests scripts setup.py
	$(BIN)/ruff check harness proxies tests
	$(BIN)/mypy -p gauntlet

test: lint
	@scripts/ensure-test-deps.sh
	$(PYTEST) $(SIDE_BY_SIDE) -m "$(FAST)"

# The side-by-side part, then the part alone; the second runs even if the first failed, so
# one run shows every failure. CI runs this (.ci/run).
check: lint
	@scripts/ensure-test-deps.sh
	status=0; \
	$(PYTEST) $(SIDE_BY_SIDE) -m "$(SIDE_BY_SIDE_PART)" || status=$$?; \
	$(PYTEST) -m "$(ALONE_PART)" || status=$$?; \
	exit $$status

format: bootstrap
	$(BIN)/ruff format harness proxies tests scripts setup.py

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis
