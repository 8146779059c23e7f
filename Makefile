# The README's two commands: `make demo` and `make test`. Each sets up what it needs from scratch.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
LC     := $(VENV)/bin/liqcascade

.PHONY: install demo test bench lint redis clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## demo: simulator + full pipeline, signals live in this terminal (Ctrl-C stops everything)
demo: install
	@PY=$(PY) scripts/ensure_redis.sh --optional
	$(LC) up --demo

## test: the whole suite against a real Redis (started, and installed with apt, if missing)
test: install
	@PY=$(PY) scripts/ensure_redis.sh --install
	@scripts/ensure_test_tools.sh
	$(PY) -m pytest

bench: install
	@PY=$(PY) scripts/ensure_redis.sh --install
	$(LC) bench

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
