# ragspace: the README's commands. `make test` and `make run` set everything up on a fresh machine.
VENV   ?= .venv
PYTHON ?= python3
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: install sysdeps lint ruff mypy test run bench clean


$(STAMP): pyproject.toml scripts/install_llama_cpp.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# llama-cpp-python first, built for any AVX2 CPU (never -march=native) and installed from our own
	# wheel cache, so nothing below can pull in a native build from pip's cache (~10 min the first time).
	scripts/install_llama_cpp.sh $(PY)
	$(PY) -m pip install --quiet -e '.[test,dev]'
	# again, to prove the portable build is what the venv ended up with (checks the installed libraries' hashes)
	scripts/install_llama_cpp.sh $(PY)
	touch $(STAMP)

install: $(STAMP)

# The browser tests drive Debian's chromium through Playwright (Playwright's own browser
# download does not work offline); installed here so `make test` works on a fresh machine.
sysdeps:
	@test -x /usr/bin/chromium || { SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# The lint and type gate (.ci/run runs it before the tests; .pre-commit-config.yaml runs the same two).
# The rules and their reasoned exceptions live in pyproject.toml.
lint: ruff mypy

ruff: $(STAMP)
	$(PY) -m ruff check .

mypy: $(STAMP)
	$(PY) -m mypy

test: $(STAMP) sysdeps
	$(PY) -m pytest

# The chat UI on the built-in sample documents (ragspace's own guide, FAQ and architecture notes),
# indexed on first run. Open http://127.0.0.1:7860
run: $(STAMP)
	$(VENV)/bin/rag doctor
	$(VENV)/bin/rag chat --collection samples

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/query.py
	$(PY) benchmarks/space.py
	$(PY) benchmarks/api.py
	$(PY) benchmarks/cli_start.py

clean:
	rm -rf $(VENV) .pytest_cache
