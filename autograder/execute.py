"""Step 3: run the rebuilt notebook, then the grader's probe cell, inside the sandbox.

The grader's folder holds the chapter's `course/` slice, the probe's inputs and the empty result
files the runner writes back; the notebook itself (with the hidden tests) reaches the runner on
its stdin and is never on disk where the student's code runs.
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from autograder import sandbox
from autograder.release import copy_course_slice
from course import curriculum, exercises

RUNNER = Path(__file__).resolve().parent / "runner.py"
PYTHON_IN_SANDBOX = sys.executable
INPUTS_FILE, OUTPUTS_FILE = "probe_inputs.npz", "probe_outputs.npz"
RESULT_FILES = ("executed.ipynb", "status.json", OUTPUTS_FILE)  # what the runner hands back
MAX_PROBE_BYTES = 5 * 1024**2


@dataclass
class Execution:
    notebook: nbformat.NotebookNode | None  # the executed notebook, None when the run left nothing readable
    state: dict  # the runner's {"finished": bool, "error": str | None}
    inputs: dict  # the probe's inputs, drawn for this student
    outputs: dict  # what the probe saved; {} when nothing trustworthy came back


def draw_inputs(chapter, seed, safe_id):
    """The probe's inputs: fresh for each grading run (seed) and each student, identical on a rerun."""
    return exercises.draw_inputs(chapter, np.random.default_rng([seed, zlib.crc32(safe_id.encode())]))


def probe_cell(chapter, folder):
    """The grader's last cell: it calls the student's code on the inputs in `folder` (the grader's
    folder, not the student's: a notebook that filled its own disk still gets its code verified)."""
    source = (f"from course.exercises import run_probes as _grader_run_probes\n"
              f"_grader_run_probes({chapter!r}, globals(), {folder + '/' + INPUTS_FILE!r}, "
              f"{folder + '/' + OUTPUTS_FILE!r})\n")
    return nbformat.v4.new_code_cell(source, metadata={"grader": "probe"})


def run(notebook, chapter, inputs, workdir: Path, *, course, bwrap, limits, font_cache: Path):
    """Execute notebook + probe cell in the sandbox (or, with bwrap None, only under limits)."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    copy_course_slice(curriculum.BY_NAME[chapter], workdir, course.package)
    np.savez(workdir / INPUTS_FILE, **inputs)
    for name in RESULT_FILES:
        (workdir / name).touch()
    shutil.copy(RUNNER, workdir / ".runner.py")
    folder = sandbox.GRADER_DIR if bwrap else str(workdir)  # the grader's folder, as the runner sees it
    stdin = nbformat.writes(nbformat.from_dict({**notebook, "cells": notebook.cells + [probe_cell(chapter, folder)]}))
    env = {"PYTHONPATH": folder, "PATH": f"{Path(PYTHON_IN_SANDBOX).parent}:/usr/bin:/bin", "HOME": sandbox.SANDBOX_HOME,
           "MPLBACKEND": "Agg", "NBGRADER_EXECUTION": "autograde", "COURSE_MNIST_DIR": "/data/mnist",
           "PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": "/tmp", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1"}
    if not bwrap:
        env.update(HOME=str(workdir / "home"), COURSE_MNIST_DIR=str(course.mnist), MPLCONFIGDIR=str(font_cache))
        Path(env["HOME"]).mkdir()
    command = [PYTHON_IN_SANDBOX, f"{folder}/.runner.py", folder, env["HOME"], str(limits.cell_seconds)]
    if bwrap:
        sandbox.hand_over([workdir / name for name in RESULT_FILES])
        # matplotlib wants a writable folder: the runner copies the shared font cache into a private one
        env.update(MPLCONFIGDIR="/tmp/matplotlib", COURSE_FONT_CACHE="/mplcache")
        command = sandbox.sandbox_command(bwrap, workdir, RESULT_FILES,
                                          {course.mnist: "/data/mnist", font_cache: "/mplcache"}, limits, env, command)
        outcome = sandbox.run(command, workdir, limits, {"PATH": "/usr/bin:/bin"}, stdin.encode())
    else:
        outcome = sandbox.run(sandbox.unsandboxed_command(workdir, limits, command), workdir, limits, env, stdin.encode())
    executed = state = None
    try:
        executed = nbformat.read(workdir / "executed.ipynb", as_version=4)
        state = json.loads((workdir / "status.json").read_text())
    except Exception:  # noqa: BLE001 - a killed run leaves nothing (or garbage) behind
        pass
    if not isinstance(state, dict):
        reason = (f"the notebook did not finish within {limits.wall_seconds} s" if outcome.timed_out else
                  f"the notebook's process was killed (exit {outcome.returncode}): it may have used too much memory, "
                  f"CPU time or disk")
        state = {"finished": False, "error": reason}
    return Execution(executed, state, inputs, read_probe_outputs(workdir))


def read_probe_outputs(workdir):
    path = workdir / OUTPUTS_FILE
    if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_PROBE_BYTES:
        return {}
    try:
        with np.load(path, allow_pickle=False) as saved:
            return {k: saved[k] for k in saved.files}
    except Exception:  # noqa: BLE001 - whatever the student's process left there, it proves nothing
        return {}


def matplotlib_cache(out: Path):
    """A matplotlib font cache built once per grading run and shared read-only: without it every
    sandbox, starting with an empty home, spends a second or more rebuilding it."""
    cache = out / ".mplcache"
    with _FONT_CACHE_LOCK:
        if not (cache / "ready").exists():
            cache.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"],
                           env={**os.environ, "MPLCONFIGDIR": str(cache)}, check=True, capture_output=True)
            (cache / "ready").write_text("")
    return cache


_FONT_CACHE_LOCK = threading.Lock()
