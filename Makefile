# Every target builds the environment it needs in .venv from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# PyTorch is only for the side-by-side timings of `make bench`. This pick is the
# CPU build that pip finds on this machine's disk; any torch>=2.2 works.
TORCH_SPEC ?= torch==2.13.*

.PHONY: demo test bench release lab browser clean

# editable in compat mode: a plain path entry, so a chapter's own course/ slice
# (release/<chapter>/course) shadows the whole package inside that chapter
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --config-settings editable_mode=compat -e '.[test]'
	touch $@

demo: $(STAMP)
	$(BIN)/python -m course.demo

test: $(STAMP) browser
	$(BIN)/python -m pytest

# Debian's Chromium for the JupyterLab browser test (tests/test_browser.py); where it
# cannot be installed (no root, no apt) that one test skips and says why
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "Chromium is not installed and could not be: the browser test will be skipped"

bench: $(STAMP)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install --quiet '$(TORCH_SPEC)' \
		|| echo "PyTorch could not be installed: the table will show NumPy only"
	$(BIN)/python -m benchmarks.run

release: $(STAMP)
	$(BIN)/python -m autograder.release

# JupyterLab on the student notebooks
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=release

clean:
	rm -rf $(VENV) out .pytest_cache
