"""The checks grade exactly what their names say.

The reference package and the notebooks' solutions pass every check for several seeds; every
single-bug submission of autograder.mistakes fails exactly the tests it names, with its diagnosis
and no second one, and passes all the others; every correct variant passes everything.
"""
from functools import cache

import numpy as np
import pytest

from autograder import mistakes
from course import checks, exercises, gradient_check, layers, optim, training_checks, training_layers
from course.nets import FullyConnectedNet, TwoLayerNet

# chapter -> graded test -> (its check, the student's names it is given), as the exercise registry declares
TESTS = {chapter: {test.grade_id: (exercises.check_function(test), test.uses) for test in exercises.tests_of(chapter)}
         for chapter in exercises.CHAPTER_NAMES}
SEEDS = (0, 1, 2)


def messages(report):
    return " ".join(report.problems)


@cache
def solution(chapter):
    return mistakes.solution_cells(chapter)


def student(chapter, answers=None):
    """The names a notebook defines when its answer cells are the solution, except `answers` (grade_id -> code)."""
    namespace = {"np": np, "layers": layers}
    for grade_id, code in solution(chapter).items():
        exec(compile((answers or {}).get(grade_id, code), f"<{chapter} {grade_id}>", "exec"), namespace)
    return namespace


def run(chapter, test, namespace, seed):
    check, names = TESTS[chapter][test]
    return check(*(namespace[name] for name in names), seed=seed)


# ---- what passes ---------------------------------------------------------------------------------

REFERENCE = [
    (checks.check_forward_difference, (gradient_check.forward_difference,)),
    (checks.check_central_difference, (gradient_check.central_difference,)),
    (checks.check_numerical_gradient, (gradient_check.eval_numerical_gradient,)),
    (checks.check_affine_forward, (layers.affine_forward,)),
    (checks.check_affine_backward, (layers.affine_forward, layers.affine_backward)),
    (checks.check_relu_forward, (layers.relu_forward,)),
    (checks.check_relu_backward, (layers.relu_forward, layers.relu_backward)),
    (checks.check_sigmoid_forward, (layers.sigmoid_forward,)),
    (checks.check_sigmoid_backward, (layers.sigmoid_forward, layers.sigmoid_backward)),
    (checks.check_softmax_loss, (layers.softmax_loss,)),
    (checks.check_two_layer_init, (TwoLayerNet,)),
    (checks.check_two_layer_loss, (TwoLayerNet,)),
    (checks.check_two_layer_gradients, (TwoLayerNet,)),
    (checks.check_fc_init, (FullyConnectedNet,)),
    (checks.check_fc_loss, (FullyConnectedNet,)),
    (checks.check_fc_gradients, (FullyConnectedNet,)),
    (training_checks.check_sgd_momentum, (optim.sgd_momentum,)),
    (training_checks.check_rmsprop, (optim.rmsprop,)),
    (training_checks.check_adam, (optim.adam,)),
    (training_checks.check_dropout_forward, (training_layers.dropout_forward,)),
    (training_checks.check_dropout_backward, (training_layers.dropout_forward, training_layers.dropout_backward)),
    (training_checks.check_batchnorm_forward, (training_layers.batchnorm_forward,)),
    (training_checks.check_batchnorm_backward, (training_layers.batchnorm_forward, training_layers.batchnorm_backward)),
    (training_checks.check_batchnorm_backward_alt, (training_layers.batchnorm_forward,
                                                    training_layers.batchnorm_backward_alt)),
]


@pytest.mark.parametrize("check,functions", REFERENCE, ids=[c.__name__ for c, _ in REFERENCE])
def test_the_reference_package_passes_for_every_seed(check, functions):
    for seed in range(8):
        report = check(*functions, seed=seed)
        assert report.passed, f"seed={seed}\n{report}"
        assert any(said in str(report) for said in ("relative error", "std of", "finite", "kept a fraction"))


@pytest.mark.parametrize("chapter", list(TESTS))
def test_the_notebooks_solutions_pass_every_graded_check(chapter):
    namespace = student(chapter)
    for test in TESTS[chapter]:
        for seed in range(5):
            report = run(chapter, test, namespace, seed)
            assert report.passed, f"{test}, seed={seed}\n{report}"


def test_the_check_cells_pass_the_reference():
    quotients = gradient_check.forward_difference, gradient_check.central_difference
    for report in (checks.check_difference_quotients(*quotients),
                   checks.check_relu(layers.relu_forward, layers.relu_backward),
                   checks.check_sigmoid(layers.sigmoid_forward, layers.sigmoid_backward),
                   checks.check_two_layer_net(TwoLayerNet, reg=0.0),
                   checks.check_two_layer_net(TwoLayerNet, reg=0.7),
                   checks.check_fully_connected_net(FullyConnectedNet, [6, 5]),
                   checks.check_fully_connected_net(FullyConnectedNet, [5, 4, 3], reg=0.0)):
        assert report.passed, str(report)


# ---- one bug, one test -------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", mistakes.VARIANTS, ids=lambda v: f"{v.chapter[:2]}: {v.name}")
def test_a_variant_fails_exactly_the_tests_of_its_bug_and_says_why(variant):
    namespace = student(variant.chapter, variant.answers)
    for seed in SEEDS:
        said = []
        for test in TESTS[variant.chapter]:
            report = run(variant.chapter, test, namespace, seed)
            if test in variant.loses:
                assert not report.passed, f"{test} passed, seed={seed}\n{report}"
                assert len(report.problems) == 1, f"one bug, one diagnosis: {test}, seed={seed}\n{report}"
                said.append(messages(report))
            else:
                assert report.passed, f"{test} failed, seed={seed}\n{report}"
        # a forward bug also makes the gradients wrong: the test that names the bug says so
        assert not variant.loses or any(variant.says in text for text in said), f"seed={seed}: {said}"


def test_the_corpus_covers_every_graded_test_with_single_changes():
    assert sum(not v.correct for v in mistakes.VARIANTS) >= 25 and sum(v.correct for v in mistakes.VARIANTS) >= 8
    assert {v.chapter for v in mistakes.VARIANTS} == set(TESTS)
    for variant in mistakes.VARIANTS:
        assert variant.loses <= set(TESTS[variant.chapter]), variant.name
        assert bool(variant.says) != variant.correct, variant.name
        assert variant.answers and set(variant.answers) <= set(solution(variant.chapter)), variant.name
        assert all(code != solution(variant.chapter)[gid] for gid, code in variant.answers.items()), variant.name
    for chapter, tests in TESTS.items():
        lost = set().union(*(v.loses for v in mistakes.VARIANTS if v.chapter == chapter))
        assert lost == set(tests), f"{chapter}: no mistake fails {set(tests) - lost}"


def test_a_loss_summed_instead_of_averaged_gets_that_diagnosis_alone():
    def summed(scores, y):
        loss, dscores = layers.softmax_loss(scores, y)
        return loss * len(y), dscores

    report = checks.check_softmax_loss(summed)
    assert report.problems == [f"The loss is {report.problems[0].split()[3]} times too large, the batch size: "
                               f"take the mean over the batch, not the sum."]


# ---- checks never raise, and say what they measured --------------------------------------------------

def test_an_unimplemented_exercise_gets_a_message_not_a_traceback():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    for check, functions in REFERENCE:
        report = check(*(stub for _ in functions))
        assert not report.passed and "not implemented yet" in messages(report), check.__name__


@pytest.mark.parametrize("returned", [None, "text", (1, 2, 3), (np.zeros(2), None), {"a": 1}])
def test_whatever_a_student_returns_the_checks_answer_with_a_report(returned):
    for check, functions in REFERENCE:
        report = check(*(lambda *a, **k: returned for _ in functions))
        assert not report.passed, check.__name__


def test_a_layer_that_crashes_is_reported_with_its_error():
    def broken(x, w, b):
        return x.reshape(-1) @ w, None

    assert "raised ValueError" in messages(checks.check_affine_forward(broken))


def test_a_report_reads_as_text_and_as_markdown_without_an_emoji_font():
    report = checks.check_affine_backward(layers.affine_forward, layers.affine_backward)
    assert str(report).startswith("PASSED: affine_backward")
    assert "PASSED: affine_backward" in report._repr_markdown_()
    assert "dw: relative error" in report._repr_markdown_()
    failed = checks.check_relu_backward(layers.relu_forward, lambda dout, cache: dout)
    assert str(failed).startswith("FAILED: relu_backward") and "FAILED: relu_backward" in failed._repr_markdown_()


def test_different_seeds_draw_different_inputs():
    shapes = set()

    def record(x, w, b):
        shapes.add(x.shape)
        return layers.affine_forward(x, w, b)

    for seed in range(6):
        checks.check_affine_forward(record, seed=seed)
    assert len(shapes) > 4


def test_the_tolerances_are_named_module_constants():
    for name in ("QUOTIENT_TOL", "VALUE_TOL", "GRADIENT_TOL", "NET_GRADIENT_TOL", "STD_MARGIN", "KINK_MARGIN"):
        assert isinstance(getattr(checks, name), float)
    report = checks.check_two_layer_gradients(TwoLayerNet)
    assert f"must be below {checks.NET_GRADIENT_TOL:.0e}" in str(report)


# ---- chapter-specific diagnoses --------------------------------------------------------------------

def test_a_numerical_gradient_is_compared_with_the_exact_gradient_and_says_so():
    report = checks.check_numerical_gradient(lambda f, x, h=1e-5: np.ones_like(x))
    assert "does not match the exact gradient" in messages(report)
    assert "numerical gradient" not in messages(report)


def test_the_difference_quotients_check_cell_names_a_swapped_pair():
    forward, central = gradient_check.forward_difference, gradient_check.central_difference
    assert checks.check_difference_quotients(forward, central).passed
    report = checks.check_difference_quotients(central, forward)
    assert "behaves like a central difference" in messages(report)
    assert "shrank only" in messages(report)


def test_a_broken_forward_does_not_fail_its_backward():
    def forward_without_bias(x, w, b):
        return x.reshape(len(x), -1) @ w, (x, w, b)

    assert not checks.check_affine_forward(forward_without_bias).passed
    assert checks.check_affine_backward(forward_without_bias, layers.affine_backward).passed
    assert checks.check_relu_backward(lambda x: (np.abs(x), x), layers.relu_backward).passed
    assert checks.check_sigmoid_backward(lambda x: (np.tanh(x), 0.5 * (1 + np.tanh(0.5 * x))),
                                         layers.sigmoid_backward).passed


def test_the_large_scores_test_asks_only_for_the_row_maximum():
    def shifted_by_the_global_maximum(scores, y):
        return layers.softmax_loss(scores - scores.max(), y)

    assert checks.check_softmax_loss(shifted_by_the_global_maximum).passed


def test_without_regularization_no_regularization_problem_is_reported():
    report = checks.check_two_layer_net(TwoLayerNet, reg=0.0)
    assert report.passed, str(report)
    assert "regularization" not in str(report)


def test_a_model_that_keeps_float32_is_checked_in_float64():
    report = checks.check_fully_connected_net(FullyConnectedNet, [6, 5], reg=0.7)
    assert report.passed and "largest relative error" in str(report)


# ---- fresh seeds --------------------------------------------------------------------------------------

def test_on_fresh_seeds_forgives_bad_luck_but_not_a_wrong_answer():
    seen = []

    def unlucky_once(function, seed=0):
        seen.append(seed)
        report = checks.Report("unlucky once")
        if len(seen) == 1:
            report.problem("bad luck")
        return report

    report = checks.on_fresh_seeds(unlucky_once, None)
    assert report.passed and len(seen) == 2 and seen[0] != seen[1]
    assert f"seed={seen[1]}" in str(report)

    wrong = checks.on_fresh_seeds(checks.check_relu_backward, layers.relu_forward, lambda dout, cache: dout)
    assert not wrong.passed and "seed=" in str(wrong)


def test_on_fresh_inputs_forgives_bad_luck_but_not_a_wrong_answer():
    draws = iter(["unlucky", None])
    assert checks.on_fresh_inputs(lambda: next(draws)) is None
    assert checks.on_fresh_inputs(lambda: "dw is wrong") == "dw is wrong"
