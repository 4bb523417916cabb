# One command to set up and run the main job (`make demo`), one to run the tests (`make test`).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint fixtures bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

demo: setup
	$(VENV)/bin/docintel inspect fixtures/invoice-1-scan.pdf --out overlay.png

# pytest exits 5 when it collects no test: say so instead of failing the run.
test: setup
	$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

fixtures: setup
	$(PY) fixtures/generate.py

bench: setup
	$(PY) bench/preprocess.py && $(PY) bench/deskew.py && $(PY) bench/tables.py
