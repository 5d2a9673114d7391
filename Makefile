# The README's two commands. Both bootstrap .venv (finding a Python >= 3.12) first.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bootstrap lint clean

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap
	$(BIN)/gauntlet run --matrix smoke

test: bootstrap
	@scripts/ensure-test-deps.sh
	$(BIN)/ruff check harness proxies tests
	$(BIN)/mypy -p gauntlet
	$(BIN)/python -m pytest

lint: bootstrap
	$(BIN)/ruff check harness proxies tests
	$(BIN)/mypy -p gauntlet

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis
