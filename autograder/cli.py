"""`autograder`: release the chapters, and grade a class safely, in parallel, losing nothing."""
import argparse
import contextlib
import json
import os
import secrets
import shutil
import sys
import time
import warnings
import zipfile

sys.modules.setdefault("rfc3987_syntax", None)  # a second less to start: see autograder.release.SKIP_IRI_GRAMMAR
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat
from tqdm import tqdm

from autograder import cluster, execute, export, ingest, late, pipeline, report, sandbox
from autograder.coursedir import CourseDir
from autograder.release import ReleaseError, build_release
from course import curriculum


def run_seed(out: Path):
    """The seed of this output folder's probe inputs: drawn once, so a resumed or repeated run gives identical grades."""
    path = out / "run.json"
    if path.exists():
        return json.loads(path.read_text())["seed"]
    seed = secrets.randbits(63)
    pipeline.write_atomically(path, json.dumps({"seed": seed}))
    return seed


def collect(submitted: Path, out: Path, assignment: str):
    if submitted.is_file() and zipfile.is_zipfile(submitted):
        unpacked = out / ".ingest"
        skipped_file = out / ".ingest-skipped.json"
        if not unpacked.exists():
            staging = out / ".ingest.partial"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            pipeline.write_atomically(skipped_file, json.dumps(ingest.safe_extract(submitted, staging)))
            os.replace(staging, unpacked)
        skipped = json.loads(skipped_file.read_text())
        entries = [p for p in unpacked.iterdir() if not p.name.startswith(".")]
        # a zip of the layout often has one top folder (e.g. submitted/) around the students
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() and not (entries[0] / assignment).is_dir() else unpacked
        return ingest.mark_unsafe(ingest.discover(root, assignment, assignment), skipped, assignment)
    if not submitted.is_dir():
        raise SystemExit(f"{submitted} is neither a folder of submissions nor a zip of one")
    return ingest.discover(submitted, assignment, assignment)


def known_chapter(name):
    if name not in curriculum.BY_NAME:
        raise SystemExit(f"unknown assignment {name!r}; choose one of {', '.join(curriculum.BY_NAME)}")
    return name


def collect_or_exit(submitted: Path, out: Path, assignment: str):
    try:
        return collect(submitted.resolve(), out, assignment)
    except (ingest.UnsafeArchive, zipfile.BadZipFile) as error:
        raise SystemExit(f"refusing the archive: {error}") from None


def grade(args):
    assignment = known_chapter(args.assignment)
    try:
        course = CourseDir.locate(args.course)
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None
    try:
        deadline = late.parse_deadline(args.deadline) if args.deadline else None
        late_policy = late.parse_policy(args.late_policy)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    if late_policy.kind != "none" and deadline is None:
        raise SystemExit(f"--late-policy {late_policy} needs a --deadline to count from")
    bwrap = None if args.no_sandbox else sandbox.bubblewrap()
    if bwrap is None and not args.no_sandbox and not args.scheduler:  # on a cluster, each worker proves it can sandbox
        raise SystemExit("No sandbox is available (bubblewrap, `apt-get install bubblewrap`, with user namespaces). "
                         "Student code would run with your rights: refusing. Pass --no-sandbox to accept that.")
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    submissions = collect_or_exit(args.submitted, out, assignment)
    db_url = absolute_sqlite(args.db_url) if args.db_url else f"sqlite:///{out / 'gradebook.db'}"
    session = shipment = None
    with ThreadPoolExecutor(max_workers=1) as setup:  # a few seconds of work each, side by side
        if args.scheduler:  # the workers build their font caches while they are checked; they get our gradebook's copy
            beside = setup.submit(open_cluster, args, course)
            try:
                source, release, shipment = cluster.prepare(course, out, assignment, db_url)
            except BaseException as error:
                beside.add_done_callback(lambda opened: opened.exception() or opened.result().close())
                if isinstance(error, cluster.ClusterError):
                    raise SystemExit(f"grading on the cluster refused: {error}") from None
                raise
            session = beside.result()
        else:
            beside = setup.submit(execute.matplotlib_cache, out)
            source, release = pipeline.prepare_gradebook(course, out / ".nbgrader", assignment, db_url)
            beside.result()
    with session or contextlib.nullcontext():  # the cluster's connection, closed however the run ends
        limits = sandbox.Limits(wall_seconds=args.timeout, cell_seconds=args.cell_timeout)
        ctx = pipeline.Context(assignment, out, db_url, course, source, release, bwrap, run_seed(out), limits, args.workers,
                               deadline, late_policy)
        start = time.perf_counter()
        results, todo = [], []
        for submission in submissions:
            done = pipeline.load_result(out, submission.safe_id)
            if done is not None and done.submission_sha256 == submission.digest and done.late_terms == ctx.late_terms \
                    and not args.regrade:
                results.append(done)  # resumed: graded before this run was interrupted
            else:
                todo.append(submission)
        with ThreadPoolExecutor(max_workers=args.workers + 1) as pool, \
                tqdm(total=len(submissions), initial=len(results), desc=f"grading {assignment}", unit="student") as bar:
            try:
                for result in session.grade(todo, ctx, shipment) if session else grade_here(pool, todo, ctx):
                    pipeline.save_result(out, result)
                    results.append(result)
                    bar.update(1)
            except cluster.ClusterError as error:
                raise SystemExit(f"grading stopped: {error}") from None
    report.write_report(out, assignment, results)
    print(report.table(results))
    failed = sum(r.status != "ok" for r in results)
    print(f"graded {len(results)} submissions of {assignment} ({len(results) - failed} ok, {failed} with problems) "
          f"in {time.perf_counter() - start:.1f} s; grades in {out / 'grades.csv'}, report in {out / 'report.html'}")
    if session:
        by_worker = Counter(r.worker for r in results if r.worker)
        print("graded on " + ", ".join(f"{worker} ({count})" for worker, count in sorted(by_worker.items())))
    return 0


def absolute_sqlite(db_url: str) -> str:
    """db_url with an SQLite file's path made absolute: nbgrader's subprocess, which fills the gradebook,
    runs in another folder, and would otherwise create a second file there."""
    from sqlalchemy.engine import make_url

    path = pipeline.sqlite_file(db_url)
    if path is None or path.is_absolute():
        return db_url
    return make_url(db_url).set(database=str(path.resolve())).render_as_string(hide_password=False)


def grade_here(pool, todo, ctx):
    """Results as this machine's pool finishes them."""
    futures = {pool.submit(pipeline.grade_submission, s, ctx): s for s in todo}
    for future in as_completed(futures):
        submission = futures[future]
        try:
            yield future.result()
        except Exception as error:  # noqa: BLE001 - one broken submission never stops the class
            yield pipeline.Result(submission.student_id, "error",
                                  f"the grader failed: {type(error).__name__}: {error}", safe_id=submission.safe_id)


def open_cluster(args, course):
    """A checked connection to the Dask cluster at --scheduler (see autograder.cluster)."""
    try:
        tls = cluster.security(args.tls_ca_file, args.tls_cert, args.tls_key)
        session = cluster.Session(args.scheduler, course, args.assignment, sandboxed=not args.no_sandbox, tls=tls)
    except cluster.ClusterError as error:
        raise SystemExit(f"grading on the cluster refused: {error}") from None
    if session.note:
        print(f"note: {session.note}", file=sys.stderr)
    return session


def find_similar(args):
    from autograder import similarity  # copydetect loads pyplot and more: a second that `grade` need not pay

    known_chapter(args.assignment)
    try:
        course = CourseDir.locate(args.course)
        source = nbformat.read(course.source(args.assignment), as_version=4)
        release = nbformat.read(course.release(args.assignment), as_version=4)
    except FileNotFoundError as error:
        raise SystemExit(f"{error}; run `autograder release` if release/ is missing") from None
    if not 0 < args.threshold <= 1:
        raise SystemExit(f"--threshold {args.threshold} is a share of tokens: give a number in (0, 1], e.g. 0.7")
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    submissions = collect_or_exit(args.submitted, out, args.assignment)
    pairs = similarity.similarity_report(submissions, source, release, args.assignment, out, args.threshold)
    flagged = [p for p in pairs if p.similarity >= args.threshold]
    for p in flagged:
        print(f"{p.similarity:5.0%}  {p.a.student_id}  &  {p.b.student_id}")
    print(f"{len(pairs)} pairs compared, {len(flagged)} at or above {args.threshold:.0%}; "
          f"side by side in {out / 'similarity.html'}, all pairs in {out / 'similarity.csv'}")
    return 0


def export_grades(args):
    try:
        written, notes = export.export(args.outdir.resolve(), args.format, roster=args.roster, db_url=args.db_url,
                                       target=args.out)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"export refused: {error}") from None
    for line in notes:
        print(f"note: {line}")
    print(f"{args.format} grade import written to {written}")
    return 0


def main(argv=None):
    # nbgrader's gradebook trips SQLAlchemy warnings that say nothing to an instructor
    warnings.filterwarnings("ignore", message=".*not in session.*")
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    g = commands.add_parser("grade", help="grade a class's submissions of one chapter")
    g.add_argument("submitted", type=Path, help="SUBMITTED/<student>/<assignment>/<notebook>.ipynb, a zip of it, "
                                                "or a folder of <student>.ipynb")
    g.add_argument("--assignment", required=True, help="chapter, e.g. 02_backprop")
    g.add_argument("--out", type=Path, required=True, help="where grades.csv, feedback/ and the report go")
    g.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2)),
                   help="notebooks run at once, each in its own sandbox (default: one per core)")
    g.add_argument("--db-url", help="nbgrader gradebook URL (default: sqlite in OUT; e.g. postgresql://user@host/db)")
    g.add_argument("--no-sandbox", action="store_true", help="run student code without bubblewrap (unsafe)")
    g.add_argument("--cell-timeout", type=int, default=30, help="seconds one cell may run (default 30)")
    g.add_argument("--timeout", type=int, default=300, help="seconds one notebook may run in all (default 300)")
    g.add_argument("--regrade", action="store_true", help="grade again even what an earlier run finished")
    g.add_argument("--deadline", help="ISO 8601 date-time, e.g. 2026-03-01T23:59+01:00 (UTC without a zone); "
                                      "lateness counts from nbgrader's timestamp.txt of each submission")
    g.add_argument("--late-policy", default="none", help="none (default), zero, per-day:PERCENT[,cap:PERCENT] or "
                                                         "per-hour:PERCENT[,cap:PERCENT], of the possible points")
    g.add_argument("--course", type=Path, help="the course folder (source_notebooks/, nbgrader_config.py); "
                                               "default: the working folder if it is one, else this checkout")
    g.add_argument("--scheduler", help="grade on a Dask cluster: tcp://HOST:8786, tls://HOST:8786, or local:N for N "
                                       "worker processes here (needs pip install -e '.[cluster]'); --workers is then unused")
    g.add_argument("--tls-ca-file", type=Path, help="with a tls:// scheduler: the CA certificate (as for `dask worker`)")
    g.add_argument("--tls-cert", type=Path, help="with a tls:// scheduler: this client's certificate")
    g.add_argument("--tls-key", type=Path, help="with a tls:// scheduler: this client's private key")
    r = commands.add_parser("release", help="regenerate the test cells and release/ from the registry and "
                                            "source_notebooks/ (same as `make release`)")
    r.add_argument("--course", type=Path, help="the course folder (default: as for grade)")
    s = commands.add_parser("similarity", help="pairwise similarity of the students' answer cells, as an HTML report")
    s.add_argument("submitted", type=Path, help="as for grade: a folder of submissions or a zip of one")
    s.add_argument("--assignment", required=True, help="chapter, e.g. 02_backprop")
    s.add_argument("--out", type=Path, required=True, help="where similarity.html and similarity.csv go")
    s.add_argument("--threshold", type=float, default=0.7, help="report pairs at or above this similarity (default 0.7)")
    s.add_argument("--course", type=Path, help="the course folder (default: as for grade)")
    e = commands.add_parser("export", help="grades.csv and the gradebook's manual points as an LMS's grade import file")
    e.add_argument("outdir", type=Path, metavar="OUTDIR", help="the --out folder of `autograder grade`")
    e.add_argument("--format", required=True, choices=export.FORMATS, help="canvas, moodle or csv")
    e.add_argument("--roster", type=Path, help="UTF-8 CSV with columns id, name, email (id as in the submissions; "
                                               "for Canvas also canvas_id, sis_user_id, sis_login_id, section)")
    e.add_argument("--db-url", help="the gradebook, if not OUTDIR/gradebook.db (as given to grade)")
    e.add_argument("--out", type=Path, help="the file to write (default: OUTDIR/<assignment>-<format>.csv)")
    args = parser.parse_args(argv)
    if args.command == "similarity":
        return find_similar(args)
    if args.command == "export":
        return export_grades(args)
    if args.command == "release":
        try:
            course = CourseDir.locate(args.course)
            build_release(course)
        except (FileNotFoundError, ReleaseError) as error:
            raise SystemExit(f"release refused: {error}") from None
        print(f"release/ regenerated in {course.root}")
        return 0
    return grade(args)


if __name__ == "__main__":
    sys.exit(main())
