# Every target builds the environment it needs in .venv from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HUB_PROXY := hub/node_modules/.installed
# the class `make hub` serves: a CSV with a header `id, name, email`
ROSTER ?= hub/roster.csv
# PyTorch is only for the side-by-side timings of `make bench`. This pick is the
# CPU build that pip finds on this machine's disk; any torch>=2.2 works.
TORCH_SPEC ?= torch==2.13.*

.PHONY: demo test lint bench release lab hub system-deps clean

# editable in compat mode: a plain path entry, so a chapter's own course/ slice
# (release/<chapter>/course) shadows the whole package inside that chapter
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --config-settings editable_mode=compat -e '.[test]'
	touch $@

demo: $(STAMP) system-deps
	$(BIN)/python -m course.demo
	@echo; echo "Grading the bundled example submissions of 02_backprop (examples/submitted/) in the sandbox:"
	$(BIN)/autograder grade examples/submitted --assignment 02_backprop --out out/grading --workers 2 --regrade

test: $(STAMP) system-deps lint $(HUB_PROXY)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

# Debian packages the tests need: chromium (the JupyterLab browser test), bubblewrap
# (the autograder's sandbox), postgresql (a throwaway server for the shared-gradebook test) and
# npm (installs JupyterHub's proxy for the hub test).
# Installed where missing and possible (root with apt-get); elsewhere the tests that need
# them skip and say why.
system-deps:
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
		|| missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null \
			|| echo "could not install$$missing: the tests that need it will skip"; \
		else echo "missing$$missing (needs root and apt-get): the tests that need it will skip"; fi; \
	fi

bench: $(STAMP)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install --quiet '$(TORCH_SPEC)' \
		|| echo "PyTorch could not be installed: the table will show NumPy only"
	$(BIN)/python -m benchmarks.run

release: $(STAMP)
	$(BIN)/python -m autograder.release

# JupyterLab on the student notebooks
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=release $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# JupyterHub's proxy, from npm into hub/node_modules (make hub, tests/test_hub.py)
$(HUB_PROXY): hub/package.json hub/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd hub && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "npm is missing: no proxy for JupyterHub, so tests/test_hub.py will skip"; fi

# JupyterHub on 127.0.0.1:8000 for the class of ROSTER (README: Running a class on JupyterHub)
hub: $(STAMP) $(HUB_PROXY)
	$(BIN)/python hub/make_course.py --roster $(ROSTER) --root out/hub
	$(BIN)/jupyterhub -f hub/jupyterhub_config.py

clean:
	rm -rf $(VENV) out .pytest_cache hub/node_modules
