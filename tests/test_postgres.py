"""A class graded into a PostgreSQL gradebook by two workers: the instructor's route for a large class.

The test starts a throwaway PostgreSQL server of its own (conftest.postgres_url: Debian's
`postgresql` package, which `make system-deps` installs) and stops it afterwards.
"""
import csv
import subprocess
import sys

import pytest

from autograder import sandbox
from autograder.corpus import class_of

CHAPTER = "02_backprop"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(sandbox.bubblewrap() is None,
                                                   reason="bubblewrap is missing: `make system-deps` installs it (root)")]


def grade(submitted, out, db_url):
    return subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(submitted), "--assignment", CHAPTER,
                           "--out", str(out), "--workers", "2", "--db-url", db_url],
                          capture_output=True, text=True, timeout=600)


def scores(out):
    return {r["student_id"]: float(r["score"]) for r in csv.DictReader(open(out / "grades.csv"))}


def test_two_workers_share_a_postgresql_gradebook(tmp_path, postgres_url):
    from nbgrader.api import Gradebook

    submitted = tmp_path / "submitted"
    class_of(submitted, 6)  # correct 13, blank 0, typical mistakes 5, twice
    first = grade(submitted, tmp_path / "out", postgres_url)
    assert first.returncode == 0, first.stderr[-3000:]
    expected = {f"s{i:03d}": (13.0, 0.0, 5.0)[i % 3] for i in range(6)}
    assert scores(tmp_path / "out") == expected
    assert not (tmp_path / "out" / "gradebook.db").exists()  # nothing went to the default SQLite file

    # an instructor grading again (a new output folder, the same database) finds the gradebook as it was left
    again = grade(submitted, tmp_path / "again", postgres_url)
    assert again.returncode == 0, again.stderr[-3000:]
    assert scores(tmp_path / "again") == expected

    with Gradebook(postgres_url) as gradebook:
        assert sorted(s.id for s in gradebook.students) == sorted(expected)
        assignment = gradebook.find_assignment(CHAPTER)
        assert len(assignment.submissions) == len(expected)  # graded twice, still one submission each
        for student, score in expected.items():
            submission = gradebook.find_submission(CHAPTER, student)
            assert submission.score == score
            tests = [g for g in submission.notebooks[0].grades if g.cell_type == "code"]
            assert tests and all(g.auto_score is not None for g in tests)
