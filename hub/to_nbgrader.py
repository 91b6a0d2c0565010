"""Hand `autograder grade`'s work on a collected class to nbgrader's formgrader and exchange.

    .venv/bin/python hub/to_nbgrader.py formgrader COURSE --assignment 02_backprop
        before grading by hand: formgrader shows each submission from COURSE/autograded/, so each
        student's answers go there, in the source notebook (test cells as the grader ran them)
    .venv/bin/python hub/to_nbgrader.py feedback COURSE --assignment 02_backprop --out OUTDIR
        after: OUTDIR/feedback/<student>.html becomes COURSE/feedback/<student>/<assignment>/,
        with the submission's timestamp and secret, where `nbgrader release_feedback` looks

COURSE is the nbgrader course folder that `nbgrader collect` filled (COURSE/submitted/).
"""
import argparse
import shutil
from pathlib import Path

import nbformat

from autograder import ingest, rebuild
from autograder.coursedir import CourseDir


def submissions(course: Path, assignment: str):
    """(student id, its folder in COURSE/submitted) for every collected submission of the assignment."""
    for folder in sorted((course / "submitted").glob(f"*/{assignment}")):
        yield folder.parent.name, folder


def to_formgrader(course: Path, assignment: str):
    source = nbformat.read(CourseDir.locate(course).source(assignment), as_version=4)
    for student, folder in submissions(course, assignment):
        notebook = rebuild.rebuild(ingest.read_notebook(folder / f"{assignment}.ipynb"), source)
        # the gradebook knows a student by the safe form of their id (see autograder.ingest.safe_id)
        target = course / "autograded" / ingest.safe_id(student) / assignment
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target / f"{assignment}.ipynb")


def to_feedback(course: Path, assignment: str, out: Path):
    for student, folder in submissions(course, assignment):
        page = out / "feedback" / f"{ingest.safe_id(student)}.html"
        if not page.exists():
            raise SystemExit(f"{page} is missing: run `autograder grade` on {course / 'submitted'} with --out {out}")
        target = course / "feedback" / student / assignment
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(page, target / f"{assignment}.html")
        # release_feedback files the page under a hash of this secret, which only the student's own
        # copy of their submission holds: nobody else can fetch it
        for name in ("timestamp.txt", "submission_secret.txt"):
            shutil.copy(folder / name, target / name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["formgrader", "feedback"])
    parser.add_argument("course", type=Path, help="the nbgrader course folder (holds submitted/)")
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--out", type=Path, help="autograder grade's --out (for feedback)")
    args = parser.parse_args(argv)
    course = args.course.resolve()
    if args.step == "formgrader":
        to_formgrader(course, args.assignment)
    elif args.out is None:
        parser.error("feedback needs --out, the folder `autograder grade` wrote")
    else:
        to_feedback(course, args.assignment, args.out.resolve())


if __name__ == "__main__":
    main()
