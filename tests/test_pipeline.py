"""The grader's steps one by one, on in-memory notebooks and without bubblewrap (the sandbox is
tested in test_autograder.py): ingest (any printable student id), rebuild, verify, score, feedback,
and the whole pipeline with --no-sandbox on a class whose ids are not ASCII."""
import csv
import shutil
import subprocess
import sys
import unicodedata

import nbformat
import numpy as np
import pytest

from autograder import corpus, execute, feedback, ingest, rebuild, score, verify
from autograder.coursedir import CourseDir
from course import exercises

COURSE = CourseDir.locate()
UNICODE_IDS = ["学生01", "学生 01", "Zhang San", "müller.anna", "O'Brien", "ada"]


# ---- ingest: student ids -------------------------------------------------------------------------

def test_any_printable_id_is_accepted_with_a_unique_file_safe_form(tmp_path):
    for student in UNICODE_IDS:
        corpus.write(tmp_path / f"{student}.ipynb", corpus.release("01_numerical_gradient"))
    found = ingest.discover(tmp_path, "01_numerical_gradient", "01_numerical_gradient")
    assert sorted(s.student_id for s in found) == sorted(UNICODE_IDS)
    assert all(s.status == "ok" for s in found), [(s.student_id, s.message) for s in found]
    safe = [s.safe_id for s in found]
    assert len(set(safe)) == len(safe)
    for form in safe:
        assert "/" not in form and " " not in form and "'" not in form and not form.startswith(".")
    assert ingest.safe_id("学生01") == "学生01" and ingest.safe_id("müller.anna") == "müller.anna"


@pytest.mark.parametrize("student_id, says", [
    ("a/b", "path separator"), ("a\\b", "path separator"), ("..", "'..'"), ("x..y", "'..'"),
    ("bell\x07", "control"), ("new\nline", "control"), ("   ", "empty"), ("x" * 101, "longer than"),
])
def test_an_id_that_could_name_another_path_is_refused_with_a_reason(student_id, says):
    assert says in ingest.id_problem(student_id)
    assert "/" not in ingest.safe_id(student_id) and "\n" not in ingest.safe_id(student_id)


def test_hostile_and_colliding_ids_still_get_a_row_that_says_why(tmp_path):
    nfd = unicodedata.normalize("NFD", "müller")
    for student in ["bell\x07", "back\\slash", "müller", nfd, "Anna", "anna", "fine"]:
        corpus.write(tmp_path / f"{student}.ipynb", corpus.release("01_numerical_gradient"))
    rows = {s.student_id: s for s in ingest.discover(tmp_path, "01_numerical_gradient", "01_numerical_gradient")}
    assert rows["fine"].status == "ok"
    assert rows["bell\x07"].status == "invalid" and "control" in rows["bell\x07"].message
    assert rows["back\\slash"].status == "invalid" and "path separator" in rows["back\\slash"].message
    assert rows["Anna"].status == rows["anna"].status == "invalid" and "would share one file" in rows["anna"].message
    same = [s for s in ingest.discover(tmp_path, "01_numerical_gradient", "01_numerical_gradient") if s.student_id == "müller"]
    assert len(same) == 2 and all(s.status == "invalid" and "rename one" in s.message for s in same)


# ---- rebuild ---------------------------------------------------------------------------------------

def source(chapter="02_backprop"):
    return nbformat.read(COURSE.source(chapter), as_version=4)


def test_rebuild_takes_answers_and_extra_cells_and_restores_everything_else():
    student = corpus.notebook()
    tests = [c for c in student.cells if rebuild.is_test(c)]
    tests[0].source = "pass  # gutted"
    student.cells.remove(tests[1])
    student.cells.insert(3, nbformat.v4.new_code_cell("helper = 42", metadata={"nbgrader": {"grade": True, "points": 99}}))
    rebuilt = rebuild.rebuild(student, source())
    original = source()
    assert [rebuild.nb_meta(c).get("grade_id") for c in rebuilt.cells if rebuild.nb_meta(c)] == \
        [rebuild.nb_meta(c).get("grade_id") for c in original.cells if rebuild.nb_meta(c)]
    assert [c.source for c in rebuilt.cells if rebuild.is_test(c)] == [c.source for c in original.cells if rebuild.is_test(c)]
    extra = next(c for c in rebuilt.cells if c.source == "helper = 42")
    assert "nbgrader" not in extra.metadata
    answers = corpus.answers()
    assert all(c.source == answers[rebuild.nb_meta(c)["grade_id"]] for c in rebuilt.cells
               if rebuild.is_answer(c) and c.cell_type == "code")


# ---- verify and score ------------------------------------------------------------------------------

def probe_outputs(replace=None, chapter="02_backprop"):
    namespace = {"np": np}
    for code in {**corpus.answers(chapter), **(replace or {})}.values():
        exec(code, namespace)  # noqa: S102
    inputs = exercises.draw_inputs(chapter, np.random.default_rng(7))
    return inputs, exercises.collect(chapter, namespace, inputs)


def test_verification_names_what_differs():
    inputs, outputs = probe_outputs({"relu_forward": "def relu_forward(x):\n    return np.abs(x), x"})
    verdicts = verify.verify("02_backprop", inputs, outputs)
    ok, message = verdicts["test_relu_forward"]
    assert not ok and message.startswith("out differs from the expected values (relative error")
    outputs = {k: v for k, v in outputs.items() if not k.startswith("test_softmax_loss")}
    assert "returned nothing" in verify.verify("02_backprop", inputs, outputs)["test_softmax_loss"][1]


def executed_copy(notebook, error_in=None):
    executed = nbformat.from_dict(nbformat.writes(notebook) and notebook)
    for cell in executed.cells:
        if cell.cell_type == "code":
            cell.execution_count, cell.outputs = 1, []
            if rebuild.nb_meta(cell).get("grade_id") == error_in:
                cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="FAILED: x", traceback=[])]
    return executed


def test_a_test_scores_only_when_it_ran_clean_and_its_verification_agreed():
    src = source()
    verified = {t.grade_id: (True, "") for t in exercises.tests_of("02_backprop")}
    verified["test_relu_backward"] = (False, "dx differs")
    tests = score.judge(src, executed_copy(source(), error_in="test_sigmoid_forward"), {"finished": True}, verified)
    lost = {g for g, t in tests.items() if not t["passed"]}
    assert lost == {"test_relu_backward", "test_sigmoid_forward"}
    assert sum(t["points"] for t in tests.values()) == 13 - 2 - 1
    assert "verification on fresh inputs: dx differs" in tests["test_relu_backward"]["message"]


def test_a_test_that_did_not_run_scores_zero_and_says_why():
    executed = executed_copy(source())
    executed.cells = [c for c in executed.cells if rebuild.nb_meta(c).get("grade_id") != "test_softmax_loss"]
    verified = {t.grade_id: (True, "") for t in exercises.tests_of("02_backprop")}
    tests = score.judge(source(), executed, {"finished": False, "error": "the kernel died"}, verified)
    assert tests["test_softmax_loss"]["points"] == 0 and "did not run: the kernel died" in tests["test_softmax_loss"]["message"]


def test_feedback_says_passed_and_failed_in_words_and_never_quotes_hidden_tests():
    src, release = source(), corpus.release()
    executed = executed_copy(source())
    hidden = feedback.hidden_test_lines(src, release)
    assert hidden, "the source has hidden test lines"
    student_cell = next(c for c in executed.cells if rebuild.is_answer(c) and c.cell_type == "code")
    student_cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=sorted(hidden)[0] + "\n")]
    tests = {t.grade_id: {"points": 0, "max": t.points, "passed": t.grade_id != "test_relu_forward", "message": "why"}
             for t in exercises.tests_of("02_backprop")}
    page = nbformat.writes(feedback.feedback_notebook(executed, tests, release, hidden))
    assert "PASSED" in page and "FAILED: why" in page
    assert not any(line in page for line in hidden)
    assert "quoted the grader's hidden tests" in page


# ---- the whole pipeline, unsandboxed, on a class with non-ASCII ids --------------------------------

@pytest.mark.slow
def test_a_class_with_unicode_ids_is_graded_from_a_course_folder_and_shown_as_given(tmp_path):
    chapter = "01_numerical_gradient"
    submitted, out = tmp_path / "提交", tmp_path / "out dir"
    right, blank = corpus.notebook(chapter=chapter), corpus.release(chapter)
    for student in ("学生 01", "müller.anna"):
        corpus.write(submitted / student / chapter / f"{chapter}.ipynb", right)
    corpus.write(submitted / "Zhang San.ipynb", blank)
    # a course folder elsewhere, holding only the sources and the configuration: the `course` package and
    # MNIST come from the installed package, as they would for an instructor who pip-installed the course
    course = tmp_path / "my course"
    shutil.copytree(COURSE.root / "source_notebooks", course / "source_notebooks")
    shutil.copy(COURSE.nbgrader_config, course)
    result = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(submitted), "--assignment", chapter,
                             "--out", str(out), "--workers", "2", "--no-sandbox", "--course", str(course)],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / "grades.csv", encoding="utf-8") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    full = sum(t.points for t in exercises.tests_of(chapter))
    assert {k: (r["status"], float(r["score"])) for k, r in rows.items()} == \
        {"学生 01": ("ok", full), "müller.anna": ("ok", full), "Zhang San": ("ok", 0)}
    assert (out / "feedback" / f"{ingest.safe_id('学生 01')}.html").is_file()
    assert (out / "feedback" / "müller.anna.html").is_file()
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "学生 01" in report and "Zhang San" in report
    assert "学生 01" in result.stdout


def test_the_probe_cell_calls_the_registry_and_nothing_else():
    cell = execute.probe_cell("02_backprop", "/grader")
    assert cell.source.startswith("from course.exercises import run_probes")
    assert "/grader/probe_inputs.npz" in cell.source and "/grader/probe_outputs.npz" in cell.source


def test_a_relative_sqlite_url_names_the_same_file_for_nbgrader_and_the_grader(tmp_path, monkeypatch):
    from autograder.cli import absolute_sqlite

    monkeypatch.chdir(tmp_path)  # nbgrader's subprocess runs elsewhere: a relative path would name another file there
    assert absolute_sqlite("sqlite:///grades/gradebook.db") == f"sqlite:///{tmp_path / 'grades' / 'gradebook.db'}"
    assert absolute_sqlite(f"sqlite:///{tmp_path}/gradebook.db") == f"sqlite:///{tmp_path}/gradebook.db"
    assert absolute_sqlite("postgresql+psycopg://grader@127.0.0.1:5432/gradebook") == \
        "postgresql+psycopg://grader@127.0.0.1:5432/gradebook"
