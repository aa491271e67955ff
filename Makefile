# ragspace: the README's commands. `make test` and `make run` set everything up on a fresh machine.
VENV   ?= .venv
PYTHON ?= python3
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: install test run bench clean

QUESTION ?= How do I add my own folder?

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# llama-cpp-python compiles from source the first time (about 10 minutes on 2 cores);
	# pip caches the wheel, so later installs take seconds.
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

# The built-in sample documents (ragspace's own guide, FAQ and architecture notes), then a first question.
run: $(STAMP)
	$(VENV)/bin/rag ingest samples --collection samples
	$(VENV)/bin/rag ask "$(QUESTION)" --collection samples

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) benchmarks/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache
