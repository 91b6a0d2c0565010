"""Grading on a Dask cluster: the client keeps OUTDIR and the gradebook, the workers run the notebooks.

    client: read + hash the class -> one task per student (the notebook's bytes) -> record each result
    worker: pipeline.grade (rebuild, sandboxed run, verify, score, feedback) into a private gradebook
            (autograder.worker)

The scheduler does the bookkeeping: a task whose worker dies runs again on another worker (up to
`distributed.scheduler.allowed-failures` times), and the client records a student when the first
result for that student arrives, so a rerun task can neither lose nor double a gradebook row.
Before any work, every worker proves it can sandbox and holds the client's course and grader.
Dask's settings for grading live in autograder/dask.yaml (DASK_CONFIG for the scheduler and workers).
"""
import concurrent.futures
import dataclasses
import shutil
import sqlite3
import sys
from pathlib import Path

sys.modules.setdefault("rfc3987_syntax", None)  # as in cli.py

import nbformat

from autograder import pipeline, score
from autograder.coursedir import CourseDir
from autograder.worker import Plan, Shipment, WorkerRefused, fingerprint, grade_on_worker, unpacked, worker_problem

MACHINE_LOCAL = {"out", "db_url", "course", "source", "release", "bwrap", "workers", "db_lock"}  # each side has its own
WAIT_FOR_WORKERS = 60  # seconds a grading run waits for its first worker
GRADING_SETTINGS = Path(__file__).resolve().parent / "dask.yaml"  # DASK_CONFIG for the scheduler and workers


class ClusterError(RuntimeError):
    """The run cannot go on: no scheduler, no worker, or a worker that must not grade."""


def prepare(course: CourseDir, out: Path, assignment: str, db_url: str):
    """(source, release, Shipment): the client's gradebook filled by nbgrader as for local grading, and
    what the workers get instead of running nbgrader themselves.

    The workers' gradebook must hold this assignment and nothing else: it is the client's own file when
    this run creates it (the usual first run), else one nbgrader fills in a private folder, side by
    side with the real one (a gradebook in PostgreSQL, or a rerun's that already holds students).
    """
    named = pipeline.sqlite_file(db_url)
    created = named if named is not None and not named.exists() else None
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


def _sqlite_bytes(path: Path) -> bytes:
    """A consistent copy of an SQLite database, read through SQLite rather than as a file."""
    if not path.is_file():
        raise ClusterError(f"nbgrader left no gradebook at {path}: run `autograder release`, then grade again")
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
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


def grading_settings() -> dict:
    """autograder/dask.yaml as {dotted key: value}."""
    import yaml

    def leaves(tree, prefix):
        for key, value in tree.items():
            if isinstance(value, dict):
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value
    return dict(leaves(yaml.safe_load(GRADING_SETTINGS.read_text()), ""))


def _settings_here():
    """The grading settings applied to this process until the returned object's __exit__ (None without Dask)."""
    try:
        import dask
    except ImportError:
        return None  # connect() says what to install
    return dask.config.set(grading_settings())


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
        # local:N's scheduler lives in this process, and its nannies read the settings as they (re)start workers
        self.own_settings = _settings_here() if address.startswith("local:") else None
        self.client = self.cluster = None
        try:
            self.client, self.cluster = connect(address, tls)
            self.workers = check_workers(self.client, self.plan)
            self.note = untuned(self.client)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    def close(self):
        try:
            if self.client is not None:
                self.client.close()
            if self.cluster is not None:
                self.cluster.close()
        finally:
            if self.own_settings is not None:
                self.own_settings.__exit__(None, None, None)
                self.own_settings = None

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
        # sent once and handed from worker to worker, not once per task; as a task's result rather than
        # scattered data, so that the scheduler makes it again if every worker holding it has died
        shipped = self.client.submit(unpacked, shipment, key=f"shipment-{shipment.digest[:16]}", pure=False)
        marks = score.human_marks(ctx.db_url, ctx.assignment, ctx.db_lock)  # a regrade keeps them
        running = as_completed()
        by_key = {}

        def send(count):
            for submission in waiting[:count]:
                timestamp = submission.path.parent / "timestamp.txt"
                future = self.client.submit(grade_on_worker, self.plan, shipped, settings, submission.student_id,
                                            submission.path.read_bytes(),
                                            timestamp.read_bytes() if timestamp.is_file() else None,
                                            marks.get(submission.safe_id, {}),
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


def untuned(client) -> str | None:
    """A note naming the scheduler and workers that run without autograder/dask.yaml (or that could not
    say), or None. They grade as well, only slower: a note, never a refusal."""
    import dask

    try:
        wanted = grading_settings()
        # dask.config.get is all the far side runs: a scheduler needs Dask there, not this course
        found = client.run(dask.config.get, "distributed", on_error="return")
        try:
            found["the scheduler"] = client.run_on_scheduler(dask.config.get, "distributed")
        except Exception as error:  # noqa: BLE001 - e.g. a scheduler set to refuse functions from clients
            found["the scheduler"] = error
    except Exception as error:  # noqa: BLE001 - a note is not worth stopping a run for
        return f"could not compare the cluster's Dask settings with {GRADING_SETTINGS} ({type(error).__name__}: {error})"
    missing = {who: settings_left_out(wanted, tree) for who, tree in found.items() if isinstance(tree, dict)}
    slow = sorted(who for who, keys in missing.items() if keys)
    unknown = sorted(who for who, tree in found.items() if not isinstance(tree, dict))
    notes = []
    if slow:
        keys = sorted({key for who in slow for key in missing[who]})
        notes.append(f"{', '.join(slow)} run{'s' if len(slow) == 1 else ''} with Dask's defaults for {', '.join(keys)}: "
                     f"start {'it' if len(slow) == 1 else 'them'} with DASK_CONFIG={GRADING_SETTINGS} to grade faster "
                     f"(README: Grading on a cluster)")
    if unknown:
        notes.append(f"could not read the Dask settings of {', '.join(unknown)}")
    return "; ".join(notes) or None


def settings_left_out(wanted: dict, distributed: dict) -> list:
    """The keys of `wanted` ({dotted key: value}) that a process whose `distributed` configuration is
    given runs without."""
    import dask
    from dask.utils import parse_timedelta

    def same(theirs, value):
        if isinstance(theirs, str) and isinstance(value, str):  # "1s" is "1000ms"
            try:
                return parse_timedelta(theirs) == parse_timedelta(value)
            except Exception:  # noqa: BLE001 - not a duration: compared as it is written
                pass
        return theirs == value
    return [key for key, value in wanted.items()
            if not same(dask.config.get(key, None, config={"distributed": distributed}), value)]
