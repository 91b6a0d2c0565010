"""Grade one submission: rebuild -> sandbox run -> verify -> score (nbgrader's gradebook) -> feedback.

Every step works on a copy in the grader's own folder; the submission is only read.
"""
import copy
import functools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
import nbgrader
import numpy as np
from jupyter_core.paths import jupyter_config_dir
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from traitlets.config import Config
from nbgrader.api import Gradebook
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, GetGrades, LimitOutput, \
    OverwriteCells, OverwriteKernelspec, SaveAutoGrades
from nbgrader.utils import determine_grade

from autograder import ingest, probes, sandbox
from autograder.release import NBGRADER, copy_course_slice, tool_env
from course import curriculum

ROOT = Path(__file__).resolve().parent.parent
RUNNER = Path(__file__).resolve().parent / "runner.py"
PYTHON_IN_SANDBOX = sys.executable
MAX_PROBE_BYTES = 5 * 1024**2

# which graded functions a test cell's points depend on
VERIFIED_BY = {
    "test_forward_difference": ("forward_difference",), "test_central_difference": ("central_difference",),
    "test_numerical_gradient": ("numerical_gradient",),
    "test_affine_forward": ("affine_forward",), "test_affine_backward": ("affine_backward",),
    "test_relu_forward": ("relu_forward",), "test_relu_backward": ("relu_backward",),
    "test_sigmoid_forward": ("sigmoid_forward",), "test_sigmoid_backward": ("sigmoid_backward",),
    "test_softmax_loss": ("softmax_loss",),
    "test_two_layer_init": ("TwoLayerNet",), "test_two_layer_initial_loss": ("TwoLayerNet",),
    "test_two_layer_gradients": ("TwoLayerNet",),
    "test_fc_init": ("FullyConnectedNet",), "test_fc_gradients": ("FullyConnectedNet",),
}


@dataclass
class Context:
    """What every submission of one grading run shares."""
    assignment: str
    out: Path
    db_url: str
    source: nbformat.NotebookNode  # the instructor's notebook: solutions and hidden tests
    release: nbformat.NotebookNode  # the student's version: what feedback may show
    bwrap: str | None  # None: --no-sandbox
    seed: int
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    workers: int = 1  # notebooks running at once, each in its own sandbox
    db_lock: threading.Lock = field(default_factory=threading.Lock)
    sandboxes: threading.Semaphore = field(init=False)
    hidden_lines: set = field(init=False)  # lines of the hidden tests, which feedback must never quote

    def __post_init__(self):
        self.hidden_lines = hidden_test_lines(self.source, self.release)
        self.sandboxes = threading.Semaphore(self.workers)


@dataclass
class Result:
    student_id: str
    status: str
    message: str
    score: float = 0.0
    max_score: float = 0.0
    tests: dict = field(default_factory=dict)  # grade_id -> {"points", "max", "passed", "message"}
    manual_max: float = 0.0
    seconds: float = 0.0
    submission_sha256: str = ""


def nb_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell.get("metadata"), dict) else {}


def is_test(cell):
    meta = nb_meta(cell)
    return cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution")


# ---- step 1: rebuild the notebook from the instructor's skeleton ------------------------------

def rebuild(student, source):
    """The source notebook with the student's answer cells (and extra cells) put in.

    Test, locked and markdown cells always come from the source, in the source's order,
    whatever the submission did to them (edited, deleted, moved, duplicated, re-labelled);
    the student's own extra cells follow the cell they followed in the submission.
    """
    source_ids = {nb_meta(c).get("grade_id") for c in source.cells}
    answers, extras, anchor = {}, {}, None
    for cell in student.cells:
        grade_id = nb_meta(cell).get("grade_id")
        if grade_id in source_ids:
            source_cell = next(c for c in source.cells if nb_meta(c).get("grade_id") == grade_id)
            if nb_meta(source_cell).get("solution") and grade_id not in answers and \
                    cell.get("cell_type") == source_cell.cell_type:
                answers[grade_id] = cell.get("source", "")
            anchor = grade_id
        elif cell.get("cell_type") in ("code", "markdown"):
            extras.setdefault(anchor, []).append(cell)
    rebuilt = copy.deepcopy(source)
    cells = [_plain(c) for c in extras.get(None, [])]
    for cell in rebuilt.cells:
        meta = nb_meta(cell)
        if meta.get("solution"):
            cell.source = answers.get(meta["grade_id"], _stub(cell))
        cells.append(cell)
        cells.extend(_plain(c) for c in extras.get(meta.get("grade_id"), []))
    rebuilt.cells = cells
    return rebuilt


def _stub(cell):
    return "# (this answer cell was missing from the submission)\n" if cell.cell_type == "code" else "(missing)"


def _plain(cell):
    """A student's extra cell, stripped of any nbgrader metadata it may claim."""
    new = nbformat.v4.new_code_cell(cell.get("source", "")) if cell.get("cell_type") == "code" \
        else nbformat.v4.new_markdown_cell(cell.get("source", ""))
    return new


# ---- step 2: nbgrader's sanitizing preprocessors ---------------------------------------------

def resources_for(ctx, student_id):
    return {"nbgrader": {"db_url": ctx.db_url, "assignment": ctx.assignment, "notebook": ctx.assignment,
                         "student": student_id}}


def sanitize(notebook, ctx, student_id):
    resources = resources_for(ctx, student_id)
    for preprocessor in (ClearOutput(), DeduplicateIds(), OverwriteKernelspec(), OverwriteCells(), CheckCellMetadata()):
        notebook, resources = preprocessor.preprocess(notebook, resources)
    return notebook


# ---- step 3: run in the sandbox -----------------------------------------------------------------

RESULT_FILES = ("executed.ipynb", "status.json", probes.OUTPUTS_FILE)  # what the runner hands back


def run_in_sandbox(notebook, ctx, student_id, workdir: Path):
    """Execute notebook + probe cell in the sandbox.

    Returns (executed notebook or None, runner state, probe inputs, probe outputs).
    """
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    copy_course_slice(curriculum.BY_NAME[ctx.assignment], workdir)
    rng = np.random.default_rng([ctx.seed, zlib.crc32(student_id.encode())])
    inputs = probes.draw_inputs(ctx.assignment, rng)
    np.savez(workdir / probes.INPUTS_FILE, **inputs)
    for name in RESULT_FILES:
        (workdir / name).touch()
    shutil.copy(RUNNER, workdir / ".runner.py")
    folder = sandbox.GRADER_DIR if ctx.bwrap else str(workdir)  # the grader's folder, as the runner sees it
    probe_cell = nbformat.v4.new_code_cell(probes.probe_source(ctx.assignment, folder), metadata={"grader": "probe"})
    # on the runner's stdin: the notebook holds the hidden tests, so it is never written where the student's code runs
    stdin = nbformat.writes(nbformat.from_dict({**notebook, "cells": notebook.cells + [probe_cell]})).encode()
    env = {"PYTHONPATH": folder, "PATH": f"{Path(PYTHON_IN_SANDBOX).parent}:/usr/bin:/bin", "HOME": sandbox.SANDBOX_HOME,
           "MPLBACKEND": "Agg", "NBGRADER_EXECUTION": "autograde", "COURSE_MNIST_DIR": "/data/mnist",
           "PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": "/tmp", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1"}
    if not ctx.bwrap:
        env.update(HOME=str(workdir / "home"), COURSE_MNIST_DIR=str(ROOT / "data" / "mnist"))
        Path(env["HOME"]).mkdir()
    command = [PYTHON_IN_SANDBOX, f"{folder}/.runner.py", folder, env["HOME"], str(ctx.limits.cell_seconds)]
    if ctx.bwrap:
        sandbox.hand_over([workdir / name for name in RESULT_FILES])
        env["MPLCONFIGDIR"] = "/mplcache"
        command = sandbox.sandbox_command(ctx.bwrap, workdir, RESULT_FILES,
                                          {ROOT / "data" / "mnist": "/data/mnist", matplotlib_cache(ctx.out): "/mplcache"},
                                          ctx.limits, env, command)
        outcome = sandbox.run(command, workdir, ctx.limits, {"PATH": "/usr/bin:/bin"}, stdin)
    else:
        outcome = sandbox.run(sandbox.unsandboxed_command(workdir, ctx.limits, command), workdir, ctx.limits, env, stdin)
    executed = state = None
    try:
        executed = nbformat.read(workdir / "executed.ipynb", as_version=4)
        state = json.loads((workdir / "status.json").read_text())
    except Exception:  # noqa: BLE001 - a killed run leaves nothing (or garbage) behind
        pass
    if not isinstance(state, dict):
        reason = (f"the notebook did not finish within {ctx.limits.wall_seconds} s" if outcome.timed_out else
                  f"the notebook's process was killed (exit {outcome.returncode}): it may have used too much memory, "
                  f"CPU time or disk")
        state = {"finished": False, "error": reason}
    return executed, state, inputs, read_probe_outputs(workdir)


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


def read_probe_outputs(workdir):
    path = workdir / probes.OUTPUTS_FILE
    if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_PROBE_BYTES:
        return {}
    try:
        with np.load(path, allow_pickle=False) as saved:
            return {k: saved[k] for k in saved.files}
    except Exception:  # noqa: BLE001 - whatever the student's process left there, it proves nothing
        return {}


# ---- step 4: verify and score ------------------------------------------------------------------

def score(executed, state, verdicts, ctx, student_id):
    """Mark every test cell that did not run, failed, or whose functions failed verification as an error
    (so nbgrader's own grading gives it 0), then save the grades in nbgrader's gradebook."""
    tests = {}
    by_id = {nb_meta(c).get("grade_id"): c for c in executed.cells if is_test(c)}
    for cell in ctx.source.cells:
        if not is_test(cell):
            continue
        grade_id, points = nb_meta(cell)["grade_id"], float(nb_meta(cell).get("points", 0))
        ran = by_id.get(grade_id)
        problems = []
        if ran is None or ran.get("execution_count") is None:
            problems.append("this test did not run" + (f": {state['error']}" if state.get("error") else ""))
        else:
            errors = [o for o in ran.outputs if o.get("output_type") == "error"]
            if errors:
                problems.append(f"{errors[0].get('ename')}: {errors[0].get('evalue', '')}".strip())
            for name in VERIFIED_BY.get(grade_id, ()):
                ok, message = verdicts.get(name, (False, f"{name} was not verified"))
                if not ok:
                    problems.append(f"verification on fresh inputs: {message}")
        if ran is not None and problems and not any(o.get("output_type") == "error" for o in ran.outputs):
            ran.outputs = [nbformat.v4.new_output("error", ename="GradingError", evalue="; ".join(problems), traceback=[])]
        tests[grade_id] = {"points": 0.0 if problems else points, "max": points, "passed": not problems,
                           "message": "; ".join(problems)}
    with ctx.db_lock, Gradebook(ctx.db_url) as gradebook:
        gradebook.update_or_create_student(student_id)
        gradebook.update_or_create_submission(ctx.assignment, student_id)
    with ctx.db_lock:
        LimitOutput().preprocess(executed, {})
        SaveAutoGrades().preprocess(executed, resources_for(ctx, student_id))
        with Gradebook(ctx.db_url) as gradebook:  # tests the rebuild could not place still count as 0
            for grade_id, test in tests.items():
                grade = gradebook.find_grade(grade_id, ctx.assignment, ctx.assignment, student_id)
                grade.auto_score = test["points"]
                grade.needs_manual_grade = False
            gradebook.db.commit()
    return tests


# ---- step 5: feedback without hidden tests -------------------------------------------------------

def feedback_html(executed, tests, ctx, student_id):
    """nbgrader's feedback page, with test cells as the student saw them and no tracebacks."""
    released = {nb_meta(c).get("grade_id"): c.source for c in ctx.release.cells if is_test(c)}
    notebook = copy.deepcopy(executed)
    notebook.cells = [c for c in notebook.cells if c.get("metadata", {}).get("grader") != "probe"]
    for cell in notebook.cells:
        if is_test(cell):
            grade_id = nb_meta(cell)["grade_id"]
            cell.source = released.get(grade_id, "")
            test = tests.get(grade_id, {})
            text = "Passed." if test.get("passed") else f"Failed: {test.get('message', '')}"
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text + "\n")]
        elif cell.cell_type == "code":
            cell.outputs = [_scrubbed(o, ctx.hidden_lines) for o in cell.outputs]
    exporter = feedback_exporter()
    resources = {**resources_for(ctx, student_id), "config_dir": jupyter_config_dir()}
    with ctx.db_lock:
        notebook, resources = GetGrades().preprocess(notebook, resources)
    with _EXPORTER_LOCK:
        notebook, resources = CSSHTMLHeaderPreprocessor().preprocess(notebook, resources)
        html, _ = exporter.from_notebook_node(notebook, resources=resources)
    return html


_EXPORTER_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def feedback_exporter():
    """nbgrader's feedback page exporter, built once: compiling its templates costs more than rendering."""
    templates = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [str(templates / "templates")]
    config.HTMLExporter.extra_template_paths = [str(templates / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
    return HTMLExporter(config=config)


def hidden_test_lines(source, release):
    """Lines of the source's test cells that the release does not show: the hidden tests."""
    shown = {line.strip() for c in release.cells if is_test(c) for line in c.source.splitlines()}
    return {line.strip() for c in source.cells if is_test(c) for line in c.source.splitlines()
            if len(line.strip()) >= 20 and line.strip() not in shown and "HIDDEN TESTS" not in line}


def _scrubbed(output, hidden_lines):
    """An output with no traceback and nothing quoted from the hidden tests."""
    if output.get("output_type") == "error":
        output["traceback"] = [f"{output.get('ename')}: {output.get('evalue')}"]
    data = output.get("data", {})
    text = "".join([str(output.get("text", "")), str(output.get("evalue", "")),
                    *(v if isinstance(v, str) else "".join(v) for v in data.values() if isinstance(v, (str, list)))])
    if any(line in text for line in hidden_lines):
        return nbformat.v4.new_output("stream", name="stdout", text="[output removed: it quoted the grader's hidden tests]\n")
    return output


# ---- the whole pipeline for one student ----------------------------------------------------------

def grade_submission(submission: ingest.Submission, ctx: Context) -> Result:
    start = time.perf_counter()
    result = Result(submission.student_id, submission.status, submission.message,
                    max_score=sum(float(nb_meta(c).get("points", 0)) for c in ctx.source.cells if is_test(c)),
                    manual_max=sum(float(nb_meta(c).get("points", 0)) for c in ctx.source.cells
                                   if nb_meta(c).get("grade") and nb_meta(c).get("solution")))
    result.submission_sha256 = submission.digest
    if submission.status != "ok":
        return _finish(result, start)
    try:
        student = ingest.read_notebook(submission.path)
    except ValueError as error:
        result.status, result.message = "invalid", str(error)
        return _finish(result, start)
    notebook = sanitize(rebuild(student, ctx.source), ctx, submission.student_id)
    # only the notebook's run holds a sandbox slot: rebuilding the next notebook and writing the last
    # one's feedback happen while the kernels start, which leaves the cores idle for a moment
    with ctx.sandboxes:
        executed, state, inputs, outputs = run_in_sandbox(notebook, ctx, submission.student_id,
                                                          ctx.out / ".work" / submission.student_id)
    if executed is None:
        executed = notebook
    verdicts = probes.verify(ctx.assignment, inputs, outputs)
    result.tests = score(executed, state, verdicts, ctx, submission.student_id)
    result.score = sum(t["points"] for t in result.tests.values())
    if not state.get("finished"):
        result.status = "error"
        result.message = "; ".join(filter(None, [result.message, state.get("error") or "the notebook did not finish"]))
    feedback = ctx.out / "feedback" / f"{submission.student_id}.html"
    feedback.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(feedback, feedback_html(executed, result.tests, ctx, submission.student_id))
    shutil.rmtree(ctx.out / ".work" / submission.student_id, ignore_errors=True)
    return _finish(result, start)


def _finish(result, start):
    result.seconds = round(time.perf_counter() - start, 2)
    return result


def write_atomically(path: Path, text: str):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_result(out: Path, result: Result):
    path = out / "results" / f"{result.student_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(asdict(result), indent=1, sort_keys=True))


def load_result(out: Path, student_id: str):
    path = out / "results" / f"{student_id}.json"
    try:
        return Result(**json.loads(path.read_text()))
    except Exception:  # noqa: BLE001 - a missing or half-written result is simply graded again
        return None


def prepare_gradebook(course_dir: Path, assignment: str, db_url: str):
    """A private nbgrader course folder holding only this assignment's source; fills the gradebook."""
    source = course_dir / "source_notebooks" / assignment
    source.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "source_notebooks" / assignment / f"{assignment}.ipynb", source)
    shutil.copy(ROOT / "nbgrader_config.py", course_dir)
    result = subprocess.run([*NBGRADER, "generate_assignment", assignment, "--force",
                             f"--CourseDirectory.root={course_dir}", f"--CourseDirectory.db_url={db_url}",
                             "--log-level=WARN"], cwd=course_dir, env=tool_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.stderr[-2000:]}")
    return (nbformat.read(source / f"{assignment}.ipynb", as_version=4),
            nbformat.read(course_dir / "release" / assignment / f"{assignment}.ipynb", as_version=4))
