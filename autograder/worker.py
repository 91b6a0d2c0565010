"""What runs on a Dask worker when the class is graded on a cluster (autograder.cluster is the client's side).

    check (before any work): can this worker sandbox, does it hold the client's course and grader?
    task (one per student): pipeline.grade into a private copy of the client's gradebook -> result, page

A worker runs no nbgrader of its own: the client's Shipment brings nbgrader's notebooks and a
gradebook holding the assignment alone.
"""
import concurrent.futures
import functools
import hashlib
import os
import socket
import sqlite3
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

sys.modules.setdefault("rfc3987_syntax", None)  # as in cli.py: a worker validates notebooks too

import nbformat

from autograder import execute, ingest, pipeline, sandbox
from autograder.coursedir import CourseDir

AUTOGRADER_DIR = Path(__file__).resolve().parent


class WorkerRefused(RuntimeError):
    """Raised on a worker that cannot sandbox or whose course or grader differ from the client's."""


@dataclass(frozen=True)
class Plan:
    """What every task of one run carries to its worker (the notebook's bytes travel beside it)."""
    assignment: str
    course_root: str  # the client's --course; a worker uses it where that folder exists
    fingerprint: dict  # the client's, which each worker must match
    sandboxed: bool  # False only with --no-sandbox


def fingerprint(course: CourseDir, assignment: str) -> dict:
    """{what: SHA-256} of everything that decides a grade: the source notebook and the nbgrader
    configuration (read when a run starts), the registry, the reference package and the grader (code)."""
    return {**_digests(_data_files(course, assignment)), **_digests(_code_files(course))}


def _data_files(course, assignment):
    return {"source notebook": [course.source(assignment)], "nbgrader_config.py": [course.nbgrader_config]}


def _code_files(course):
    return {"exercise registry (course/exercises.py)": [course.package / "exercises.py"],
            "course package": sorted(course.package.glob("*.py")),
            "autograder package": sorted(AUTOGRADER_DIR.glob("*.py"))}


def _digests(parts):
    digests = {}
    for what, paths in parts.items():
        digest = hashlib.sha256()
        for path in paths:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        digests[what] = digest.hexdigest()
    return digests


def worker_course(course_root: str) -> CourseDir:
    """The course a worker grades with: $AUTOGRADER_COURSE, else the client's --course folder where
    it exists on this machine, else the worker's working folder or checkout (CourseDir.locate)."""
    for candidate in (os.environ.get("AUTOGRADER_COURSE"), course_root):
        if candidate and Path(candidate).is_dir():
            return CourseDir.locate(candidate)
    return CourseDir.locate()


@dataclass(frozen=True)
class Shipment:
    """What the client prepared once for every worker of a run (one task's result, handed on between them): nbgrader's
    source and release notebooks and a gradebook holding this assignment alone, so that no worker runs
    nbgrader's generate_assignment of its own."""
    source: str  # notebook JSON
    release: str
    gradebook: bytes  # an SQLite file, as nbgrader's generate_assignment filled it

    @functools.cached_property
    def digest(self):
        return hashlib.sha256(self.gradebook + b"\0" + self.source.encode() + b"\0" + self.release.encode()).hexdigest()


@dataclass
class WorkerCourse:
    """One worker process's copy of what a run needs: the client's notebooks and a private gradebook
    (for the feedback pages; the client records the scores in the real one), the font cache."""
    course: CourseDir
    folder: Path
    db_url: str
    source: object
    release: object
    bwrap: str | None
    db_lock: threading.Lock


_WORKSPACES: dict = {}  # (assignment, course root) -> Future of (course, folder with the font cache), per process
_COURSES: dict = {}  # (assignment, course root, shipment digest) -> WorkerCourse
_LOCK = threading.Lock()


def workspace(plan: Plan, local_directory=None) -> concurrent.futures.Future:
    """This process's folder for the plan's assignment, with matplotlib's font cache built in it (in a
    thread, started by the check before any work: the worker gets ready while the client prepares)."""
    course = worker_course(plan.course_root)
    key = (plan.assignment, str(course.root))
    with _LOCK:
        if key not in _WORKSPACES:
            future = concurrent.futures.Future()
            _WORKSPACES[key] = future

            def work():
                try:
                    folder = Path(tempfile.mkdtemp(prefix=f"autograder-{plan.assignment}-", dir=local_directory))
                    execute.matplotlib_cache(folder)
                    future.set_result((course, folder))
                except BaseException as error:  # noqa: BLE001 - handed to the task that waits for it
                    with _LOCK:
                        del _WORKSPACES[key]  # the next task tries again
                    future.set_exception(error)
            threading.Thread(target=work, name="autograder-workspace", daemon=True).start()
        return _WORKSPACES[key]


def worker_copy(plan: Plan, shipment: Shipment) -> WorkerCourse:
    """The WorkerCourse for a run: its gradebook written from the shipment once per process."""
    course, folder = workspace(plan).result()
    key = (plan.assignment, str(course.root), shipment.digest)
    bwrap = _bubblewrap()  # probed once per process, outside the lock
    with _LOCK:
        if key not in _COURSES:
            # nbgrader's gradebook trips SQLAlchemy warnings that say nothing to anyone (as cli.main does)
            warnings.filterwarnings("ignore", message=".*not in session.*")
            gradebook = folder / f"gradebook-{shipment.digest[:16]}.db"
            gradebook.write_bytes(shipment.gradebook)
            _scratch(gradebook)
            _COURSES[key] = WorkerCourse(course, folder, f"sqlite:///{gradebook}",
                                         nbformat.reads(shipment.source, as_version=4),
                                         nbformat.reads(shipment.release, as_version=4), bwrap, threading.Lock())
        return _COURSES[key]


_SCRATCH_FILES: set = set()


def _scratch(gradebook: Path):
    """Let SQLite skip waiting for the disk on this file: a worker's gradebook is a scratch copy, rebuilt
    from the shipment after a crash, and nbgrader commits once per cell (some 30 commits a student)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not _SCRATCH_FILES:
        event.listen(Engine, "connect", _no_sync)
    _SCRATCH_FILES.add(str(gradebook.resolve()))


def _no_sync(dbapi_connection, _record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        try:
            if {row[2] for row in cursor.execute("PRAGMA database_list")} & _SCRATCH_FILES:
                cursor.execute("PRAGMA synchronous = OFF")
                cursor.execute("PRAGMA journal_mode = MEMORY")
        finally:
            cursor.close()


def worker_problem(plan: Plan, dask_worker=None) -> str | None:
    """Why this worker must not grade the plan, or None. Runs on the worker: by `client.run` before
    any work (which also starts the worker's font cache), and again before each task."""
    try:
        course = worker_course(plan.course_root)
    except FileNotFoundError as error:
        return f"finds no course: {error} (or set AUTOGRADER_COURSE in the worker's environment)"
    if plan.sandboxed and _bubblewrap() is None:
        return ("cannot sandbox: bubblewrap is missing or cannot create namespaces there; install it "
                "(`apt-get install bubblewrap`) and restart the worker, or stop it (--no-sandbox accepts "
                "grading without a sandbox)")
    mine = {**_digests(_data_files(course, plan.assignment)), **_own_code(course)}
    differ = [what for what, digest in plan.fingerprint.items() if mine.get(what) != digest]
    if differ:
        return (f"holds a different {' and '.join(differ)} than the client (its course: {course.root}): give "
                f"every machine the same checkout and environment, or point AUTOGRADER_COURSE at the right one")
    workspace(plan, getattr(dask_worker, "local_directory", None))
    return None


@functools.lru_cache(maxsize=8)
def _own_code(course: CourseDir) -> dict:
    """The digests of this worker's code, taken at its first check: the code it runs is what it
    imported then (after updating a machine's checkout, restart its workers)."""
    return _digests(_code_files(course))


@functools.cache
def _bubblewrap():
    """sandbox.bubblewrap(), probed once per worker process."""
    return sandbox.bubblewrap()


class LeavePoolAfterRun:
    """The sandbox slot of a task on a worker: one of the worker's threads. Once the notebook has run,
    the task leaves the worker's thread pool (distributed.secede), so the worker starts the next
    student's notebook while this one is verified, scored and its page written: the overlap local
    grading gets from its extra thread."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        from distributed import secede
        secede()
        return False


def grade_on_worker(plan: Plan, shipment: Shipment, settings: dict, student_id: str, notebook: bytes,
                    timestamp: bytes | None, marks: dict):
    """One task: the student's notebook through pipeline.grade on this worker; settings are the
    client's Context fields that are not machine-local (seed, limits, deadline, ...), marks what
    graders gave this student by hand in the client's gradebook (a regrade keeps them, as locally).

    Returns (Result, executed notebook as JSON text or None, feedback HTML or None).
    """
    from distributed import get_worker
    worker = get_worker()
    problem = worker_problem(plan, worker)
    if problem:
        raise WorkerRefused(f"worker {worker.address} ({socket.gethostname()}) refuses to grade: {problem}")
    mine = worker_copy(plan, shipment)
    submission = ingest.Submission(student_id, None)
    # the notebook gets a folder of its own, as in SUBMITTED, for what the steps read beside it
    folder = mine.folder / "submitted" / submission.safe_id
    folder.mkdir(parents=True, exist_ok=True)
    submission.path = folder / f"{plan.assignment}.ipynb"
    submission.path.write_bytes(notebook)
    if timestamp is not None:
        (folder / "timestamp.txt").write_bytes(timestamp)
    ctx = pipeline.Context(**settings, out=mine.folder, db_url=mine.db_url, course=mine.course,
                           source=mine.source, release=mine.release, bwrap=mine.bwrap if plan.sandboxed else None,
                           workers=worker.state.nthreads, db_lock=mine.db_lock)
    ctx.sandboxes = LeavePoolAfterRun()
    try:
        graded = pipeline.grade(submission, ctx, marks)
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    graded.result.worker = worker.address
    executed = nbformat.writes(graded.executed) if graded.executed is not None else None
    return graded.result, executed, graded.feedback


def unpacked(shipment: Shipment) -> Shipment:
    """The shipment as a task's result, which the scheduler can make again (scattered data it cannot)."""
    return shipment
