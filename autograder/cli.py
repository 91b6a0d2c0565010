"""`autograder`: release the chapters, and grade a class safely, in parallel, losing nothing."""
import argparse
import json
import os
import secrets
import shutil
import sys
import warnings
import time
import zipfile

sys.modules.setdefault("rfc3987_syntax", None)  # a second less to start: see autograder.release.SKIP_IRI_GRAMMAR
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from autograder import execute, ingest, pipeline, report, sandbox
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


def grade(args):
    assignment = args.assignment
    if assignment not in curriculum.BY_NAME:
        raise SystemExit(f"unknown assignment {assignment!r}; choose one of {', '.join(curriculum.BY_NAME)}")
    try:
        course = CourseDir.locate(args.course)
    except FileNotFoundError as error:
        raise SystemExit(str(error))
    bwrap = None if args.no_sandbox else sandbox.bubblewrap()
    if bwrap is None and not args.no_sandbox:
        raise SystemExit("No sandbox is available (bubblewrap, `apt-get install bubblewrap`, with user namespaces). "
                         "Student code would run with your rights: refusing. Pass --no-sandbox to accept that.")
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    try:
        submissions = collect(args.submitted.resolve(), out, assignment)
    except (ingest.UnsafeArchive, zipfile.BadZipFile) as error:
        raise SystemExit(f"refusing the archive: {error}")
    db_url = args.db_url or f"sqlite:///{out / 'gradebook.db'}"
    with ThreadPoolExecutor(max_workers=1) as setup:  # two subprocesses of a few seconds each, side by side
        font_cache = setup.submit(execute.matplotlib_cache, out)
        source, release = pipeline.prepare_gradebook(course, out / ".nbgrader", assignment, db_url)
        font_cache.result()
    limits = sandbox.Limits(wall_seconds=args.timeout, cell_seconds=args.cell_timeout)
    ctx = pipeline.Context(assignment, out, db_url, course, source, release, bwrap, run_seed(out), limits, args.workers)
    start = time.perf_counter()
    results, todo = [], []
    for submission in submissions:
        done = pipeline.load_result(out, submission.safe_id)
        if done is not None and done.submission_sha256 == submission.digest and not args.regrade:
            results.append(done)  # resumed: graded before this run was interrupted
        else:
            todo.append(submission)
    with ThreadPoolExecutor(max_workers=args.workers + 1) as pool, \
            tqdm(total=len(submissions), initial=len(results), desc=f"grading {assignment}", unit="student") as bar:
        futures = {pool.submit(pipeline.grade_submission, s, ctx): s for s in todo}
        for future in as_completed(futures):
            submission = futures[future]
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - one broken submission never stops the class
                result = pipeline.Result(submission.student_id, "error",
                                         f"the grader failed: {type(error).__name__}: {error}", safe_id=submission.safe_id)
            pipeline.save_result(out, result)
            results.append(result)
            bar.update(1)
    report.write_report(out, assignment, results)
    print(report.table(results))
    failed = sum(r.status != "ok" for r in results)
    print(f"graded {len(results)} submissions of {assignment} ({len(results) - failed} ok, {failed} with problems) "
          f"in {time.perf_counter() - start:.1f} s; grades in {out / 'grades.csv'}, report in {out / 'report.html'}")
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
    g.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2)), help="notebooks run at once, each in its own sandbox (default: one per core)")
    g.add_argument("--db-url", help="nbgrader gradebook URL (default: sqlite in OUT; e.g. postgresql://user@host/db)")
    g.add_argument("--no-sandbox", action="store_true", help="run student code without bubblewrap (unsafe)")
    g.add_argument("--cell-timeout", type=int, default=30, help="seconds one cell may run (default 30)")
    g.add_argument("--timeout", type=int, default=300, help="seconds one notebook may run in all (default 300)")
    g.add_argument("--regrade", action="store_true", help="grade again even what an earlier run finished")
    g.add_argument("--course", type=Path, help="the course folder (source_notebooks/, nbgrader_config.py); "
                                               "default: the working folder if it is one, else this checkout")
    r = commands.add_parser("release", help="regenerate the test cells and release/ from the registry and "
                                            "source_notebooks/ (same as `make release`)")
    r.add_argument("--course", type=Path, help="the course folder (default: as for grade)")
    args = parser.parse_args(argv)
    if args.command == "release":
        try:
            course = CourseDir.locate(args.course)
            build_release(course)
        except (FileNotFoundError, ReleaseError) as error:
            raise SystemExit(f"release refused: {error}")
        print(f"release/ regenerated in {course.root}")
        return 0
    return grade(args)


if __name__ == "__main__":
    sys.exit(main())
