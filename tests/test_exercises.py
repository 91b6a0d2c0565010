"""The exercise registry is the one definition of every graded test: the notebooks' test cells are
generated from it, `make release` refuses what it does not declare, and every chapter's probes agree
with the reference and with the notebook solutions and fail the release's empty stubs."""
import copy
import inspect

import nbformat
import numpy as np
import pytest

from autograder import corpus, score, verify
from autograder.coursedir import CourseDir
from autograder.release import ReleaseError, graded_cell_source, sync_tests
from course import curriculum, exercises, layers

COURSE = CourseDir.locate()
CHAPTERS = exercises.CHAPTER_NAMES


def solution_namespace(chapter, replace=None):
    """The notebook's answer cells executed as a student's kernel would (np and course.layers imported)."""
    namespace = {"np": np, "layers": layers}
    for code in {**corpus.answers(chapter), **(replace or {})}.values():
        exec(code, namespace)  # noqa: S102 - the instructor's own solutions
    return namespace


def release_namespace(chapter):
    namespace = {"np": np, "layers": layers}
    for cell in corpus.release(chapter).cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            exec(cell.source, namespace)  # noqa: S102 - the release's stubs
    return namespace


def verdicts(chapter, namespace, seed=0):
    inputs = exercises.draw_inputs(chapter, np.random.default_rng(seed))
    return verify.verify(chapter, inputs, exercises.collect(chapter, namespace, inputs, seconds_per_probe=5))


def test_the_chapters_of_the_registry_are_the_curriculum():
    assert CHAPTERS == tuple(c.name for c in curriculum.CHAPTERS)
    for chapter in curriculum.CHAPTERS:
        assert chapter.graded == tuple(e.name for e in exercises.exercises_of(chapter.name))


def test_every_declared_check_exists_and_takes_a_seed():
    for test in exercises.TESTS.values():
        try:
            check = exercises.check_function(test)
        except AttributeError:
            check = None
        assert callable(check), f"{test.grade_id} names {test.check}, which does not exist"
        assert "seed" in inspect.signature(check).parameters, f"{test.check} must take seed= for the hidden test"


def test_every_reference_implementation_resolves():
    for chapter in CHAPTERS:
        assert set(verify.reference_namespace(chapter)) == set(curriculum.BY_NAME[chapter].graded)


@pytest.mark.parametrize("chapter", CHAPTERS)
@pytest.mark.parametrize("seed", range(5))
def test_probes_pass_the_reference_and_the_notebook_solutions(chapter, seed):
    for name, namespace in (("reference", verify.reference_namespace(chapter)), ("solution", solution_namespace(chapter))):
        failed = {k: m for k, (ok, m) in verdicts(chapter, namespace, seed).items() if not ok}
        assert failed == {}, f"{name}: {failed}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_probes_fail_every_test_of_the_release_stubs_and_say_why(chapter):
    results = verdicts(chapter, release_namespace(chapter))
    assert set(results) == {t.grade_id for t in exercises.tests_of(chapter)}
    for grade_id, (ok, message) in results.items():
        assert not ok and "NotImplementedError" in message, (grade_id, message)


def test_a_missing_function_is_named_and_costs_only_its_own_tests():
    namespace = solution_namespace("02_backprop")
    del namespace["relu_backward"]
    failed = {k: m for k, (ok, m) in verdicts("02_backprop", namespace).items() if not ok}
    assert set(failed) == {"test_relu_backward"} and "relu_backward is not defined" in failed["test_relu_backward"]


def test_an_endless_loop_in_one_function_costs_only_its_own_test():
    namespace = solution_namespace("02_backprop", {"relu_forward": "def relu_forward(x):\n    while True:\n        pass"})
    inputs = exercises.draw_inputs("02_backprop", np.random.default_rng(0))
    outputs = exercises.collect("02_backprop", namespace, inputs, seconds_per_probe=0.5)
    failed = {k: m for k, (ok, m) in verify.verify("02_backprop", inputs, outputs).items() if not ok}
    assert set(failed) == {"test_relu_forward"} and "did not finish" in failed["test_relu_forward"]


def test_a_backward_pass_is_graded_on_the_documented_cache_whatever_the_forward_does():
    broken_forward = "def affine_forward(x, w, b):\n    return x @ w + b, (x, w, b)"  # no flattening
    failed = {k for k, (ok, m) in verdicts("02_backprop", solution_namespace(
        "02_backprop", {"affine_forward": broken_forward})).items() if not ok}
    assert failed == {"test_affine_forward"}


def test_a_backward_pass_with_its_own_cache_layout_gets_full_marks():
    own = {"sigmoid_forward": "def sigmoid_forward(x):\n    return 0.5 * (1 + np.tanh(0.5 * x)), x",
           "sigmoid_backward": "def sigmoid_backward(dout, cache):\n    s = 0.5 * (1 + np.tanh(0.5 * cache))\n"
                               "    return dout * s * (1 - s)"}
    results = verdicts("02_backprop", solution_namespace("02_backprop", own))
    assert all(ok for ok, _ in results.values()), results


def test_the_committed_sources_carry_exactly_the_registry_test_cells():
    for chapter in CHAPTERS:
        source = nbformat.read(COURSE.source(chapter), as_version=4)
        assert nbformat.writes(sync_tests(copy.deepcopy(source), chapter)) == nbformat.writes(source), \
            f"{chapter}: the test cells differ from course/exercises.py: run `make release`"
        cells = {c.metadata["nbgrader"]["grade_id"]: c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")
                 and not c.metadata["nbgrader"].get("solution")}
        for test in exercises.tests_of(chapter):
            assert cells[test.grade_id].source == graded_cell_source(test)
            assert cells[test.grade_id].metadata["nbgrader"]["points"] == test.points


def _source(chapter="02_backprop"):
    return nbformat.read(COURSE.source(chapter), as_version=4)


def test_release_refuses_a_graded_cell_the_registry_does_not_know():
    notebook = _source()
    notebook.cells.append(nbformat.v4.new_code_cell("assert True", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": "test_my_extra", "points": 2, "schema_version": 3}}))
    with pytest.raises(ReleaseError, match="'test_my_extra' is not declared in course/exercises.py"):
        sync_tests(notebook, "02_backprop")


def test_release_refuses_a_source_missing_a_declared_test_or_answer():
    notebook = _source()
    notebook.cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                      not in ("test_relu_forward", "softmax_loss")]
    with pytest.raises(ReleaseError) as refused:
        sync_tests(notebook, "02_backprop")
    assert "no graded test cell with that grade id" in str(refused.value)
    assert "no answer cell with grade id 'softmax_loss'" in str(refused.value)


def test_release_refuses_an_answer_whose_signature_differs_from_the_registry():
    notebook = _source()
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "affine_forward")
    cell.source = cell.source.replace("def affine_forward(x, w, b):", "def affine_forward(x, weights, b):")
    with pytest.raises(ReleaseError, match=r"affine_forward has the signature \(x, weights, b\)"):
        sync_tests(notebook, "02_backprop")


def test_scoring_fails_closed_for_a_test_with_no_declared_verification():
    source = _source()
    extra = nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": "test_unknown", "points": 5, "schema_version": 3}})
    source.cells.append(extra)
    executed = copy.deepcopy(source)
    for cell in executed.cells:
        if cell.cell_type == "code":
            cell.execution_count, cell.outputs = 1, []
    every_test_verified = {t.grade_id: (True, "") for t in exercises.tests_of("02_backprop")}
    tests = score.judge(source, executed, {"finished": True}, every_test_verified)
    assert tests["test_unknown"]["points"] == 0 and "no verification is declared" in tests["test_unknown"]["message"]
    assert all(t["passed"] for g, t in tests.items() if g != "test_unknown")
