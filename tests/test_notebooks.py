"""The chapters under real nbgrader commands: sources validate and earn full marks, blank releases earn
zero without stopping the grader, typical mistakes earn partial credit with their diagnosis, and
widget cells stay inert headless."""
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.api import Gradebook

from autograder import corpus
from autograder.release import tool_env
from course import curriculum

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = [c.name for c in curriculum.CHAPTERS]

def nbgrader(*args, course_dir):
    return subprocess.run([sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course_dir}",
                           f"--CourseDirectory.db_url=sqlite:///{course_dir}/gradebook.db"],
                          cwd=course_dir, env=tool_env(), capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A course directory where every chapter was autograded for three kinds of student."""
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "source_notebooks", course / "source_notebooks")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    seconds = {}
    for chapter in CHAPTERS:
        assert nbgrader("generate_assignment", chapter, "--force", course_dir=course).returncode == 0
        for student, notebook in (("solution", course / "source_notebooks" / chapter / f"{chapter}.ipynb"),
                                  ("blank", ROOT / "release" / chapter / f"{chapter}.ipynb")):
            target = course / "submitted" / student / chapter
            target.mkdir(parents=True)
            shutil.copy(notebook, target / f"{chapter}.ipynb")
        if chapter == "02_backprop":
            target = course / "submitted" / "mistakes" / chapter
            target.mkdir(parents=True)
            nbformat.write(corpus.notebook(replace=corpus.TYPICAL_MISTAKES), target / f"{chapter}.ipynb")
        start = time.perf_counter()
        result = nbgrader("autograde", chapter, "--create", course_dir=course)
        seconds[chapter] = time.perf_counter() - start
        assert result.returncode == 0, result.stderr[-3000:]
    assert nbgrader("generate_feedback", "02_backprop", course_dir=course).returncode == 0
    return course, seconds


def code_score(course, chapter, student):
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gradebook:
        notebook = gradebook.find_submission_notebook(chapter, chapter, student)
        return notebook.code_score, notebook.max_code_score


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_solution_gets_full_marks(graded, chapter):
    score, max_score = code_score(graded[0], chapter, "solution")
    assert max_score > 0 and score == max_score


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_an_unmodified_release_scores_zero_without_stopping_the_grader(graded, chapter):
    score, max_score = code_score(graded[0], chapter, "blank")
    assert max_score > 0 and score == 0


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_grading_a_chapter_for_two_students_stays_within_two_minutes(graded, chapter):
    assert graded[1][chapter] < 120  # two notebooks; each executes in well under 60 s


def test_typical_mistakes_earn_partial_credit_and_their_diagnosis_in_the_feedback(graded):
    course, _ = graded
    score, max_score = code_score(course, "02_backprop", "mistakes")
    # affine_backward (3), relu_backward (2) and softmax_loss (3) fail; the other 5 points remain
    assert (score, max_score) == (5, 13)
    feedback = (course / "feedback" / "mistakes" / "02_backprop" / "02_backprop.html").read_text()
    assert "is transposed" in feedback
    assert "taken from the wrong tensor" in feedback
    assert "subtract each row" in feedback


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_source_notebook_validates_within_60_seconds(chapter):
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "nbgrader", "validate",
                             str(ROOT / "source_notebooks" / chapter / f"{chapter}.ipynb")],
                            env=tool_env(), capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    assert "Success! Your notebook passes all the tests." in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
    assert elapsed < 60


def test_widget_cells_execute_headless_in_bounded_time(tmp_path):
    notebook = nbformat.read(ROOT / "release" / "01_numerical_gradient" / "01_numerical_gradient.ipynb", as_version=4)
    widget_cells = [c for c in notebook.cells if "widget" in c.metadata.get("tags", [])]
    assert widget_cells, "chapter 1 has an interactive widget cell"
    client = NotebookClient(notebook, timeout=30, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "release" / "01_numerical_gradient")}})
    start = time.perf_counter()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NBGRADER_EXECUTION", "autograde")
        patch.setenv("PATH", tool_env()["PATH"])
        client.execute()
    assert time.perf_counter() - start < 60
    outputs = "".join(o.get("text", "") for c in widget_cells for o in c.outputs)
    assert "Interactive figure skipped" in outputs
