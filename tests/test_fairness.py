"""A grade means exactly what its test names: a class of single-bug submissions of every chapter, graded
in one run per chapter under the sandbox and the outside verification. Each bug loses the points of its
own test(s) and nothing else, every correct variant gets full marks, and the feedback names the bug."""
import csv
import html
import json
import subprocess
import sys

import pytest

from autograder import corpus, sandbox
from autograder.mistakes import VARIANTS
from course import exercises

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sandbox.bubblewrap() is None,
                                                   reason="bubblewrap is missing: `make system-deps` installs it (root)")]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{chapter: (grades.csv rows by student, out folder)}, one grading run per chapter."""
    results = {}
    for chapter in exercises.CHAPTER_NAMES:
        base = tmp_path_factory.mktemp(chapter)
        submitted, out = base / "submitted", base / "out"
        corpus.write(submitted / "solution" / chapter / f"{chapter}.ipynb", corpus.notebook(chapter=chapter))
        for variant in (v for v in VARIANTS if v.chapter == chapter):
            corpus.write(submitted / student_of(variant) / chapter / f"{chapter}.ipynb",
                         corpus.notebook(chapter=chapter, replace=variant.answers))
        run = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(submitted), "--assignment", chapter,
                              "--out", str(out), "--workers", "2", "--cell-timeout", "20"],
                             capture_output=True, text=True, timeout=1200)
        assert run.returncode == 0, run.stderr[-3000:]
        with open(out / "grades.csv", encoding="utf-8") as f:
            results[chapter] = ({row["student_id"]: row for row in csv.DictReader(f)}, out)
    return results


def student_of(variant):
    """A student id for a variant (its name may hold a slash, which no folder name can)."""
    return f"v{VARIANTS.index(variant):03d}"


def lost_tests(row, chapter):
    return {t.grade_id for t in exercises.tests_of(chapter) if float(row[t.grade_id]) < t.points}


@pytest.mark.parametrize("chapter", exercises.CHAPTER_NAMES)
def test_the_solution_gets_full_marks(graded, chapter):
    row = graded[chapter][0]["solution"]
    assert (row["status"], lost_tests(row, chapter)) == ("ok", set()), row["message"]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: f"{v.chapter[:2]}-{v.name}")
def test_a_bug_costs_exactly_its_own_tests_and_a_correct_variant_nothing(graded, variant):
    rows, out = graded[variant.chapter]
    row = rows[student_of(variant)]
    assert row["status"] == "ok", row["message"]
    result = json.loads((out / "results" / f"{student_of(variant)}.json").read_text(encoding="utf-8"))
    why = {k: t["message"] for k, t in result["tests"].items() if not t["passed"]}
    assert lost_tests(row, variant.chapter) == set(variant.loses), why
    if variant.says:
        page = html.unescape((out / "feedback" / f"{student_of(variant)}.html").read_text(encoding="utf-8"))
        assert variant.says in page, f"the feedback of {variant.name} does not name the bug ({variant.says!r})"
