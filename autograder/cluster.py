"""Grading on a Dask cluster: the client keeps OUTDIR and the gradebook, the workers run the notebooks.

    client: read + hash the class -> one task per student (the notebook's bytes) -> record each result
    worker: pipeline.grade (rebuild, sandboxed run, verify, score, feedback) into a private gradebook

The scheduler does the bookkeeping: a task whose worker dies runs again on another worker (up to
`distributed.scheduler.allowed-failures` times), and the client records a student when the first
result for that student arrives, so a rerun task can neither lose nor double a gradebook row.
Before any work, every worker proves it can sandbox and holds the client's course and grader.
"""
import concurrent.futures
import dataclasses
import functools
import hashlib
import os
import shutil
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

from autograder import execute, feedback, ingest, pipeline, sandbox, score
from autograder.coursedir import CourseDir

AUTOGRADER_DIR = Path(__file__).resolve().parent
MACHINE_LOCAL = {"out", "db_url", "course", "source", "release", "bwrap", "workers", "db_lock"}  # each side has its own
WAIT_FOR_WORKERS = 60  # seconds a grading run waits for its first worker


class ClusterError(RuntimeError):
    """The run cannot go on: no scheduler, no worker, or a worker that must not grade."""


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


# ---- on the worker --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shipment:
    """What the client prepared once for every worker of a run (scattered to them by Dask): nbgrader's
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
    """This process's folder for the plan's assignment, with matplotlib's font cache built in it and the
    feedback page's templates compiled (in a thread, started by the check before any work: the worker
    gets ready while the client prepares)."""
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
                    feedback.feedback_exporter()  # compiling its templates costs more than a page
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
    with _LOCK:
        if key not in _COURSES:
            # nbgrader's gradebook trips SQLAlchemy warnings that say nothing to anyone (as cli.main does)
            warnings.filterwarnings("ignore", message=".*not in session.*")
            gradebook = folder / f"gradebook-{shipment.digest[:16]}.db"
            gradebook.write_bytes(shipment.gradebook)
            _scratch(gradebook)
            _COURSES[key] = WorkerCourse(course, folder, f"sqlite:///{gradebook}",
                                         nbformat.reads(shipment.source, as_version=4),
                                         nbformat.reads(shipment.release, as_version=4), _bubblewrap(), threading.Lock())
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


_BWRAP = {}


def _bubblewrap():
    """sandbox.bubblewrap(), probed once per worker process."""
    if "path" not in _BWRAP:
        _BWRAP["path"] = sandbox.bubblewrap()
    return _BWRAP["path"]


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


# ---- on the client --------------------------------------------------------------------------------

def prepare(course: CourseDir, out: Path, assignment: str, db_url: str):
    """(source, release, Shipment): the client's gradebook filled by nbgrader as for local grading, and
    what the workers get instead of running nbgrader themselves.

    The workers' gradebook must hold this assignment and nothing else: it is the client's own file when
    this run creates it (the usual first run), else one nbgrader fills in a private folder, side by
    side with the real one (a gradebook in PostgreSQL, or a rerun's that already holds students).
    """
    created = _new_sqlite_file(db_url)
    private = out / ".nbgrader-workers"
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as side:
        if created is None:
            shutil.rmtree(private, ignore_errors=True)
            beside = side.submit(pipeline.prepare_gradebook, course, private, assignment,
                                 f"sqlite:///{private / 'gradebook.db'}")
        source, release = pipeline.prepare_gradebook(course, out / ".nbgrader", assignment, db_url)
        if created is None:
            beside.result()
    gradebook = _sqlite_bytes(created or private / "gradebook.db")
    return source, release, Shipment(nbformat.writes(source), nbformat.writes(release), gradebook)


def _new_sqlite_file(db_url):
    """The path of db_url's SQLite file when it does not exist yet, else None."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    path = Path(url.database)
    return None if path.exists() else path


def _sqlite_bytes(path: Path) -> bytes:
    """A consistent copy of an SQLite database, read through SQLite rather than as a file."""
    connection = sqlite3.connect(path)
    try:
        return connection.serialize()
    finally:
        connection.close()


def security(ca_file=None, cert=None, key=None):
    """distributed.security.Security from the three files, or from Dask's configuration when none is given."""
    try:
        from distributed.security import Security
    except ImportError:
        return None  # connect() says what to install
    given = [ca_file, cert, key]
    if not any(given):
        return Security()  # DASK_DISTRIBUTED__COMM__TLS__* or ~/.config/dask/*.yaml, if set
    if not all(given):
        raise ClusterError("TLS needs all three of --tls-ca-file, --tls-cert and --tls-key")
    return Security(tls_ca_file=str(ca_file), tls_client_cert=str(cert), tls_client_key=str(key), require_encryption=True)


def connect(address: str, tls=None):
    """(client, cluster or None) for `tcp://host:port`, `tls://host:port`, or `local:N` (a LocalCluster
    of N single-thread worker processes on this machine, closed with the client)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as error:
        raise ClusterError(f"--scheduler needs Dask ({error}): pip install -e '.[cluster]'") from None
    if address.startswith("local:"):
        try:
            count = int(address.split(":", 1)[1])
        except ValueError:
            raise ClusterError(f"--scheduler {address!r}: write local:N with N the number of workers, e.g. local:2") from None
        cluster = LocalCluster(n_workers=count, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(address, security=tls or security(), timeout="20s"), None
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"cannot reach the Dask scheduler at {address} ({error}); start it with "
                           f"`dask scheduler` and check the address (tls:// needs --tls-ca-file, --tls-cert, "
                           f"--tls-key)") from None


class Session:
    """A connection to the cluster for one grading run, its workers checked (which starts their preparation)."""

    def __init__(self, address: str, course: CourseDir, assignment: str, sandboxed: bool, tls=None):
        self.address = address
        self.plan = Plan(assignment, str(course.root), fingerprint(course, assignment), sandboxed)
        self.client, self.cluster = connect(address, tls)
        try:
            self.workers = check_workers(self.client, self.plan)
        except BaseException:
            self.close()
            raise

    def close(self):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def grade(self, submissions, ctx: pipeline.Context, shipment: Shipment):
        """Yield one Result per submission, graded on the cluster and recorded by this client in ctx's
        gradebook and OUTDIR (feedback page), in the order they finish.

        Only `ok` submissions travel; the others get their row here at once. Tasks go out a few per
        worker ahead of the results, so the scheduler never holds the whole class's notebooks.
        """
        from distributed import as_completed
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        settings = {f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx) if f.init and f.name not in MACHINE_LOCAL}
        for submission in submissions:
            if submission.status != "ok":
                yield pipeline.grade_submission(submission, ctx)
        waiting = [s for s in submissions if s.status == "ok"]
        if not waiting:
            return
        # once to every worker (and from them to any worker that joins later), not once per task
        shipped = self.client.scatter(shipment, broadcast=True, hash=False)
        running = as_completed()
        by_key = {}

        def send(count):
            for submission in waiting[:count]:
                timestamp = submission.path.parent / "timestamp.txt"
                future = self.client.submit(grade_on_worker, self.plan, shipped, settings, submission.student_id,
                                            submission.path.read_bytes(),
                                            timestamp.read_bytes() if timestamp.is_file() else None,
                                            score.human_marks(ctx.resources(submission.safe_id), ctx.db_lock),
                                            key=f"grade-{submission.safe_id}-{submission.digest[:16]}", pure=False)
                by_key[future.key] = submission
                running.add(future)
            del waiting[:count]

        send(2 * len(self.workers) + 2)
        for future in running:
            submission = by_key.pop(future.key)
            executed = page = None
            try:
                result, executed, page = future.result()
            except WorkerRefused as error:
                raise ClusterError(str(error)) from None
            except KilledWorker:
                result = pipeline.Result(submission.student_id, "error", "the workers grading this notebook died "
                                         "again and again (distributed.scheduler.allowed-failures): see their logs",
                                         submission_sha256=submission.digest, safe_id=submission.safe_id)
            except (FutureCancelledError, concurrent.futures.CancelledError, OSError) as error:
                raise ClusterError(f"lost the Dask scheduler at {self.address} ({type(error).__name__}: {error}); "
                                   f"what was graded is kept in {ctx.out / 'results'}: rerun the same command to "
                                   f"resume") from None
            except Exception as error:  # noqa: BLE001 - one broken submission never stops the class, as locally
                result = pipeline.Result(submission.student_id, "error",
                                         f"the grader failed: {type(error).__name__}: {error}",
                                         submission_sha256=submission.digest, safe_id=submission.safe_id)
            future.release()
            if executed is not None:
                graded = pipeline.Graded(result, nbformat.reads(executed, as_version=4), page)
                pipeline.record(graded, submission, ctx)
            if page is not None:
                pipeline.write_atomically(pipeline.feedback_path(ctx.out, submission.safe_id), page)
            send(1)
            yield result


def check_workers(client, plan: Plan):
    """Refuse the run unless every connected worker can grade it; names each one that cannot."""
    try:
        client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS)
    except TimeoutError:
        raise ClusterError(f"no Dask worker joined the scheduler within {WAIT_FOR_WORKERS} s: start one on each "
                           f"machine with `dask worker {client.scheduler.address} --nthreads 1`") from None
    problems = client.run(worker_problem, plan, on_error="return")
    refused = {address: problem if not isinstance(problem, BaseException) else f"the check failed: {problem!r}"
               for address, problem in problems.items() if problem}
    if refused:
        raise ClusterError("refusing to grade: " + "; ".join(f"worker {address} {problem}"
                                                             for address, problem in sorted(refused.items())))
    return sorted(problems)
