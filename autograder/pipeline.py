"""One submission through the grader's steps, each in its own module:

    ingest -> rebuild -> execute (sandbox) -> verify -> score -> feedback      (report: the class)

Every step works on a copy in the grader's own folder; the submission is only read.
"""
import copy
import json
import os
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat

from autograder import execute, ingest, late, rebuild, sandbox, score
from autograder.coursedir import CourseDir
from autograder.feedback import feedback_html, hidden_test_lines
from autograder.release import generate_assignment
from autograder.verify import verify


@dataclass
class Context:
    """What every submission of one grading run shares."""
    assignment: str
    out: Path
    db_url: str
    course: CourseDir
    source: nbformat.NotebookNode  # the instructor's notebook: solutions and hidden tests
    release: nbformat.NotebookNode  # the student's version: what feedback may show
    bwrap: str | None  # None: --no-sandbox
    seed: int
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    workers: int = 1  # notebooks running at once, each in its own sandbox
    deadline: datetime | None = None  # UTC; None: no deadline
    late_policy: late.Policy = field(default_factory=late.Policy)
    db_lock: threading.Lock = field(default_factory=threading.Lock)
    sandboxes: threading.Semaphore = field(init=False)
    hidden_lines: set = field(init=False)  # lines of the hidden tests, which feedback must never quote

    def __post_init__(self):
        self.hidden_lines = hidden_test_lines(self.source, self.release)
        self.sandboxes = threading.Semaphore(self.workers)

    @property
    def late_terms(self):
        """The deadline and policy as one string: a result graded under other terms is graded again."""
        return f"{self.deadline.isoformat() if self.deadline else ''} {self.late_policy}"

    def resources(self, safe_id):
        return rebuild.gradebook_resources(self.db_url, self.assignment, safe_id)


@dataclass
class Result:
    student_id: str  # as the submission gave it
    status: str
    message: str
    score: float = 0.0
    max_score: float = 0.0
    tests: dict = field(default_factory=dict)  # grade_id -> {"points", "max", "passed", "message"}
    manual_max: float = 0.0
    seconds: float = 0.0
    submission_sha256: str = ""
    safe_id: str = ""  # the form of student_id in file names and the gradebook
    worker: str = ""  # the Dask worker that graded it ("" when graded on this machine)
    raw_score: float = 0.0  # before the late penalty; score is after it
    submitted_at: str = ""  # ISO 8601 UTC from nbgrader's timestamp.txt; "" when unknown
    seconds_late: float = 0.0
    penalty: float = 0.0  # points the late policy took (score never goes below 0)
    late_terms: str = ""  # Context.late_terms this result was graded under


def max_points(source):
    auto = sum(float(rebuild.nb_meta(c).get("points", 0)) for c in source.cells if rebuild.is_test(c))
    manual = sum(float(rebuild.nb_meta(c).get("points", 0)) for c in source.cells
                 if rebuild.nb_meta(c).get("grade") and rebuild.nb_meta(c).get("solution"))
    return auto, manual


@dataclass
class Graded:
    """One student's grading, before anything of it is written to OUTDIR."""
    result: Result
    executed: nbformat.NotebookNode | None = None  # what score.save recorded; None when nothing ran
    feedback: str | None = None  # the feedback page's HTML


def grade_submission(submission: ingest.Submission, ctx: Context) -> Result:
    """Grade one student into ctx's gradebook and write the feedback page to OUTDIR."""
    graded = grade(submission, ctx)
    if graded.feedback is not None:
        write_atomically(feedback_path(ctx.out, submission.safe_id), graded.feedback)
    return graded.result


def grade(submission: ingest.Submission, ctx: Context, marks: dict | None = None) -> Graded:
    """Every step for one student, the scores recorded in ctx's gradebook (the feedback page reads
    them there); the caller decides where the page goes. A cluster worker calls this with a private
    gradebook of its own and the human marks the real one holds (score.human_marks), and the client
    records the scores again in the real one."""
    start = time.perf_counter()
    auto, manual = max_points(ctx.source)
    result = Result(submission.student_id, submission.status, submission.message, max_score=auto, manual_max=manual,
                    submission_sha256=submission.digest, safe_id=submission.safe_id, late_terms=ctx.late_terms)
    if submission.status != "ok":
        return Graded(_finish(result, start))
    try:
        student = ingest.read_notebook(submission.path)
    except ValueError as error:
        result.status, result.message = "invalid", str(error)
        return Graded(_finish(result, start))
    resources = ctx.resources(submission.safe_id)
    score.put_human_marks(marks, resources, ctx.db_lock)
    notebook = rebuild.sanitize(rebuild.rebuild(student, ctx.source), resources)
    inputs = execute.draw_inputs(ctx.assignment, ctx.seed, submission.safe_id)
    # only the notebook's run holds a sandbox slot: rebuilding the next notebook and writing the last
    # one's feedback happen while the kernels start, which leaves the cores idle for a moment
    with ctx.sandboxes:
        run = execute.run(notebook, ctx.assignment, inputs, ctx.out / ".work" / submission.safe_id, course=ctx.course,
                          bwrap=ctx.bwrap, limits=ctx.limits, font_cache=ctx.out / ".mplcache")
    executed = run.notebook if run.notebook is not None else notebook
    verdicts = verify(ctx.assignment, run.inputs, run.outputs)
    result.tests = score.judge(ctx.source, executed, run.state, verdicts)
    score.save(executed, result.tests, resources, ctx.db_lock)
    result.raw_score = result.score = sum(t["points"] for t in result.tests.values())
    late_note = _apply_late_policy(result, submission, ctx, resources)
    if late_note:  # the page's first line; nbgrader's own header below it shows the penalty in points
        executed.cells.insert(0, nbformat.v4.new_markdown_cell(f"**Late work.** {late_note}"))
    if not run.state.get("finished"):
        result.status = "error"
        result.message = _joined(result.message, run.state.get("error") or "the notebook did not finish")
    page = feedback_html(executed, result.tests, ctx.release, ctx.hidden_lines, resources, ctx.db_lock)
    shutil.rmtree(ctx.out / ".work" / submission.safe_id, ignore_errors=True)
    return Graded(_finish(result, start), executed, page)


def record(graded: Graded, submission: ingest.Submission, ctx: Context):
    """Record in ctx's gradebook what grade() recorded elsewhere (a cluster worker's private gradebook)."""
    resources = ctx.resources(submission.safe_id)
    score.save(graded.executed, graded.result.tests, resources, ctx.db_lock)
    _apply_late_policy(copy.copy(graded.result), submission, ctx, resources)  # the copy: its message is already said


def _apply_late_policy(result, submission, ctx, resources):
    """Score after the late penalty, recorded in the gradebook as nbgrader records it; returns the feedback's line."""
    result.late_terms = ctx.late_terms
    try:
        submitted_at = late.read_timestamp(submission.path.parent)
    except ValueError as error:
        submitted_at, result.message = None, _joined(result.message, str(error))
    lateness = late.lateness(submitted_at, ctx.deadline, ctx.late_policy, result.max_score + result.manual_max)
    result.submitted_at = submitted_at.isoformat() if submitted_at else ""
    result.seconds_late, result.penalty = lateness.seconds_late, lateness.penalty
    result.score = max(0.0, result.raw_score - lateness.penalty)
    late.save_to_gradebook(resources, ctx.db_lock, ctx.deadline, lateness)
    note = late.note(lateness, ctx.deadline, ctx.late_policy)
    if ctx.deadline is not None and (submitted_at is None or lateness.seconds_late > 0):
        result.message = _joined(result.message, note)
    return note


def _joined(*messages):
    return "; ".join(m for m in messages if m)


def _finish(result, start):
    result.seconds = round(time.perf_counter() - start, 2)
    return result


def feedback_path(out: Path, safe_id: str) -> Path:
    return out / "feedback" / f"{safe_id}.html"


def write_atomically(path: Path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_result(out: Path, result: Result):
    write_atomically(out / "results" / f"{result.safe_id}.json",
                     json.dumps(asdict(result), indent=1, sort_keys=True, ensure_ascii=False))


def load_result(out: Path, safe_id: str):
    path = out / "results" / f"{safe_id}.json"
    try:
        return Result(**json.loads(path.read_text(encoding="utf-8")))
    except Exception:  # noqa: BLE001 - a missing or half-written result is simply graded again
        return None


def sqlite_file(db_url: str) -> Path | None:
    """The file an SQLite URL names (as written: maybe relative), or None for another database, an
    SQLite database in memory or one given as a `file:` URI."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:"):
        return None
    return Path(url.database)


def prepare_gradebook(course: CourseDir, work: Path, assignment: str, db_url: str):
    """A private nbgrader course folder holding only this assignment's source; fills the gradebook.

    Returns (source notebook, release notebook) as nbgrader generated them.
    """
    source = work / "source_notebooks" / assignment
    source.mkdir(parents=True, exist_ok=True)
    shutil.copy(course.source(assignment), source)
    shutil.copy(course.nbgrader_config, work)
    generate_assignment(work, assignment, db_url)
    return (nbformat.read(source / f"{assignment}.ipynb", as_version=4),
            nbformat.read(work / "release" / assignment / f"{assignment}.ipynb", as_version=4))
