"""Every backward pass agrees with central differences of its forward pass (float64)."""
import numpy as np
import pytest

from course import layers
from course.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, rel_error

TOL = 1e-7


def numeric_grads(forward, inputs, dout):
    """Numerical gradient of sum(forward(*inputs) * dout) for each input."""
    grads = []
    for i, arg in enumerate(inputs):
        def f(a, i=i):
            args = list(inputs)
            args[i] = a
            return forward(*args)[0]
        grads.append(eval_numerical_gradient_array(f, arg, dout))
    return grads


def test_affine_forward_flattens_each_example_and_adds_bias():
    x = np.arange(12, dtype=np.float64).reshape(2, 3, 2)
    w = np.ones((6, 2))
    w[:, 1] = 2
    b = np.array([10.0, -1.0])
    out, _ = layers.affine_forward(x, w, b)
    np.testing.assert_allclose(out, [[15 + 10, 30 - 1], [51 + 10, 102 - 1]])


def test_affine_backward_matches_numerical_gradient_on_odd_shapes(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    w = rng.standard_normal((60, 7))
    b = rng.standard_normal(7)
    out, cache = layers.affine_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = layers.affine_backward(dout, cache)
    dx_num, dw_num, db_num = numeric_grads(layers.affine_forward, [x, w, b], dout)
    assert dx.shape == x.shape
    assert rel_error(dx, dx_num) < TOL
    assert rel_error(dw, dw_num) < TOL
    assert rel_error(db, db_num) < TOL


def test_affine_forward_names_the_fix_for_unflattened_weights(rng):
    with pytest.raises(ValueError, match="did you flatten|Did you flatten"):
        layers.affine_forward(rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 5)), np.zeros(5))


def away_from_zero(rng, shape):
    """Inputs at least 0.1 from the ReLU's kink, where the numerical gradient is exact."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.1, 0.1 * np.sign(x) + x, x)


def test_relu_forward_clips_negatives():
    out, _ = layers.relu_forward(np.array([[-2.0, 0.0, 3.0]]))
    np.testing.assert_array_equal(out, [[0.0, 0.0, 3.0]])


@pytest.mark.parametrize("name", ["relu", "sigmoid"])
def test_activation_backward_matches_numerical_gradient(rng, name):
    forward = getattr(layers, f"{name}_forward")
    backward = getattr(layers, f"{name}_backward")
    x = away_from_zero(rng, (3, 4, 5))
    out, cache = forward(x)
    dout = rng.standard_normal(out.shape)
    dx = backward(dout, cache)
    (dx_num,) = numeric_grads(forward, [x], dout)
    assert dx.shape == x.shape
    assert rel_error(dx, dx_num) < TOL


@pytest.mark.parametrize("name", ["affine_relu", "affine_sigmoid"])
def test_affine_activation_sandwich_matches_numerical_gradient(rng, name):
    forward = getattr(layers, f"{name}_forward")
    backward = getattr(layers, f"{name}_backward")
    x = rng.standard_normal((4, 3, 2))
    w = rng.standard_normal((6, 5))
    b = rng.standard_normal(5)
    out, cache = forward(x, w, b)
    if name == "affine_relu":  # keep pre-activations off the kink
        assert np.min(np.abs(layers.affine_forward(x, w, b)[0])) > 1e-4
    dout = rng.standard_normal(out.shape)
    grads = backward(dout, cache)
    for analytic, numeric in zip(grads, numeric_grads(forward, [x, w, b], dout)):
        assert rel_error(analytic, numeric) < TOL


def test_layers_do_not_change_their_inputs(rng):
    x = rng.standard_normal((3, 4))
    w = rng.standard_normal((4, 2))
    b = rng.standard_normal(2)
    dout = rng.standard_normal((3, 2))
    copies = [a.copy() for a in (x, w, b, dout)]
    out, cache = layers.affine_relu_forward(x, w, b)
    layers.affine_relu_backward(dout, cache)
    out, cache = layers.affine_sigmoid_forward(x, w, b)
    layers.affine_sigmoid_backward(dout, cache)
    scores = rng.standard_normal((3, 5))
    scores_copy = scores.copy()
    layers.softmax_loss(scores, np.array([0, 4, 2]))
    for original, copy in zip((x, w, b, dout, scores), (*copies, scores_copy)):
        np.testing.assert_array_equal(original, copy)


def test_sigmoid_of_huge_inputs_is_finite_and_saturated():
    x = np.array([-1e4, -800.0, 0.0, 800.0, 1e4])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        out, cache = layers.sigmoid_forward(x)
        dx = layers.sigmoid_backward(np.ones_like(x), cache)
    np.testing.assert_allclose(out, [0, 0, 0.5, 1, 1], atol=1e-300)
    np.testing.assert_allclose(dx, [0, 0, 0.25, 0, 0], atol=1e-300)


def test_sigmoid_matches_its_definition_where_exp_is_safe(rng):
    x = rng.uniform(-30, 30, 1000)
    np.testing.assert_allclose(layers.sigmoid_forward(x)[0], 1 / (1 + np.exp(-x)), rtol=1e-12, atol=1e-15)


def test_softmax_loss_gradient_matches_numerical_gradient(rng):
    N, C = 9, 6
    scores = rng.standard_normal((N, C))
    y = rng.integers(0, C, N)
    loss, dscores = layers.softmax_loss(scores, y)
    dscores_num = eval_numerical_gradient(lambda s: layers.softmax_loss(s, y)[0], scores)
    assert rel_error(dscores, dscores_num) < TOL


def test_softmax_loss_is_log_of_num_classes_for_tiny_scores(rng):
    C = 10
    scores = 1e-3 * rng.standard_normal((500, C))
    loss, _ = layers.softmax_loss(scores, rng.integers(0, C, 500))
    assert abs(loss - np.log(C)) < 1e-2


def test_softmax_loss_matches_the_textbook_formula(rng):
    scores = rng.standard_normal((7, 4))
    y = rng.integers(0, 4, 7)
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(probs[np.arange(7), y]))
    assert abs(layers.softmax_loss(scores, y)[0] - expected) < 1e-12


def test_softmax_loss_is_stable_for_huge_scores():
    scores = np.array([[1e4, 0.0, -1e4], [1000.0, 1000.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        loss, dscores = layers.softmax_loss(scores, np.array([1, 2]))
    # row 1: the true class is 1e4 below the best, loss 1e4; row 2: uniform, log 3
    assert loss == pytest.approx((1e4 + np.log(3)) / 2)
    assert np.all(np.isfinite(dscores))


def test_softmax_loss_rejects_labels_of_the_wrong_shape(rng):
    with pytest.raises(ValueError, match=r"y must be \(4,\)"):
        layers.softmax_loss(rng.standard_normal((4, 3)), np.zeros((4, 1), dtype=int))
