"""The numerical tools against functions whose gradients are known in closed form."""
import numpy as np
import pytest

from course.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, grad_check_sparse, rel_error


def test_rel_error_of_known_pairs():
    assert rel_error(np.array([1.0]), np.array([1.0])) == 0.0
    assert rel_error(np.array([1.0, 3.0]), np.array([1.0, 1.0])) == pytest.approx(0.5)
    # both zero: the floor in the denominator keeps this finite
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0


def test_rel_error_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes"):
        rel_error(np.zeros((2, 3)), np.zeros((3, 2)))


def test_numerical_gradient_of_a_quadratic_form(rng):
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    grad = eval_numerical_gradient(lambda v: v @ A @ v, x)
    assert rel_error(grad, (A + A.T) @ x) < 1e-8


def test_numerical_gradient_restores_its_input(rng):
    x = rng.standard_normal((3, 2))
    before = x.copy()
    eval_numerical_gradient(lambda v: np.sum(np.sin(v)), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_array_is_the_vector_jacobian_product(rng):
    x = rng.standard_normal((3, 5))
    dout = rng.standard_normal((3, 5))
    grad = eval_numerical_gradient_array(np.tanh, x, dout)
    assert rel_error(grad, dout * (1 - np.tanh(x) ** 2)) < 1e-8


def test_grad_check_sparse_reports_small_errors_for_right_and_large_for_wrong_gradients(rng):
    x = rng.standard_normal((6, 7))
    f = lambda v: np.sum(v**3)  # noqa: E731
    good = grad_check_sparse(f, x, 3 * x**2, num_checks=5)
    bad = grad_check_sparse(f, x, 2 * x**2, num_checks=5)
    assert len(good) == 5 and all(err < 1e-7 for *_, err in good)
    assert all(err > 0.1 for *_, err in bad)
