"""Every diagnosis the checks make is triggered by the typical wrong implementation it names,
and the reference implementations pass every check."""
import numpy as np
import pytest

from course import checks, layers
from course.gradient_check import eval_numerical_gradient
from course.nets import FullyConnectedNet, TwoLayerNet


def messages(report):
    return " ".join(report.problems)


# ---- the reference passes --------------------------------------------------------------------

def test_reference_layers_pass_every_check():
    reports = [
        checks.check_affine_forward(layers.affine_forward),
        checks.check_affine_backward(layers.affine_forward, layers.affine_backward),
        checks.check_relu(layers.relu_forward, layers.relu_backward),
        checks.check_sigmoid(layers.sigmoid_forward, layers.sigmoid_backward),
        checks.check_softmax_loss(layers.softmax_loss),
        checks.check_numerical_gradient(eval_numerical_gradient),
        checks.check_two_layer_net(TwoLayerNet),
        checks.check_fully_connected_net(FullyConnectedNet, [6, 5]),
    ]
    for report in reports:
        assert report.passed, str(report)
        assert "relative error" in str(report) or "out" in str(report)


def test_a_report_shows_its_numbers_as_text_and_markdown():
    report = checks.check_affine_backward(layers.affine_forward, layers.affine_backward)
    assert str(report).startswith("PASSED: affine_backward")
    assert "dw: relative error" in report._repr_markdown_()


# ---- chapter 1 ---------------------------------------------------------------------------

def forward(f, x, h):
    return (f(x + h) - f(x)) / h


def central(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def test_difference_quotients_pass_and_a_swapped_pair_is_named():
    assert checks.check_difference_quotients(forward, central).passed
    report = checks.check_difference_quotients(central, forward)
    assert "behaves like a central difference" in messages(report)
    assert "shrank only" in messages(report)


def test_numerical_gradient_that_forgets_to_restore_x_is_named():
    def leaky(f, x, h=1e-5):
        grad = np.zeros_like(x)
        for ix in np.ndindex(x.shape):
            x[ix] += h
            plus = f(x)
            x[ix] -= 2 * h
            grad[ix] = (plus - f(x)) / (2 * h)  # x[ix] is left h below where it was
        return grad

    assert "restore each entry" in messages(checks.check_numerical_gradient(leaky))


def test_numerical_gradient_by_forward_differences_is_named():
    def one_sided(f, x, h=1e-5):
        grad = np.zeros_like(x)
        base = f(x)
        for ix in np.ndindex(x.shape):
            old = x[ix]
            x[ix] = old + h
            grad[ix] = (f(x) - base) / h
            x[ix] = old
        return grad

    assert "forward difference" in messages(checks.check_numerical_gradient(one_sided))


def test_an_unimplemented_exercise_gets_a_message_not_a_traceback():
    def stub(f, x):
        raise NotImplementedError()

    assert "not implemented yet" in messages(checks.check_numerical_gradient(stub))


# ---- chapter 2: typical wrong layers -----------------------------------------------------------

def affine_backward_transposed(dout, cache):
    x, w, b = cache
    dx, dw, db = layers.affine_backward(dout, cache)
    return dx, dw.T, db


def affine_backward_bias_not_summed(dout, cache):
    dx, dw, _ = layers.affine_backward(dout, cache)
    return dx, dw, dout


def affine_backward_averaged(dout, cache):
    dx, dw, db = layers.affine_backward(dout, cache)
    return dx, dw / len(dout), db / len(dout)


def affine_forward_unflattened(x, w, b):
    return x @ w + b, (x, w, b)


@pytest.mark.parametrize("backward,expected", [
    (affine_backward_transposed, "transposed"),
    (affine_backward_bias_not_summed, "summed over the batch"),
    (affine_backward_averaged, "times too small, the batch size"),
])
def test_affine_backward_mistakes_are_named(backward, expected):
    report = checks.check_affine_backward(layers.affine_forward, backward)
    assert not report.passed
    assert expected in messages(report)


def test_affine_forward_without_flattening_is_named():
    report = checks.check_affine_forward(affine_forward_unflattened)
    assert "flatten each example" in messages(report) or "raised" in messages(report)


def test_affine_forward_wrong_shape_names_the_expected_shape():
    report = checks.check_affine_forward(lambda x, w, b: (np.zeros((3, 2)), None))
    assert "expected (2, 3)" in messages(report)


def relu_backward_mask_on_dout(dout, cache):
    return dout * (dout > 0)


def relu_backward_in_place(dout, cache):
    dout[cache <= 0] = 0
    return dout


def test_relu_mask_on_the_wrong_tensor_is_named():
    report = checks.check_relu(layers.relu_forward, relu_backward_mask_on_dout)
    assert "wrong tensor" in messages(report)


def test_relu_backward_that_writes_into_dout_is_named():
    report = checks.check_relu(layers.relu_forward, relu_backward_in_place)
    assert "changed its input array in place" in messages(report)


def naive_sigmoid_forward(x):
    out = np.exp(x) / (1 + np.exp(x))
    return out, out


def test_sigmoid_overflow_is_named():
    report = checks.check_sigmoid(naive_sigmoid_forward, layers.sigmoid_backward)
    assert "NaN or inf for inputs of +-1000" in messages(report)


def softmax_loss_naive(scores, y):
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    N = len(y)
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    return -np.mean(np.log(probs[np.arange(N), y])), dscores / N


def softmax_loss_not_divided(scores, y):
    loss, dscores = layers.softmax_loss(scores, y)
    return loss, dscores * len(y)


def test_softmax_overflow_is_named():
    report = checks.check_softmax_loss(softmax_loss_naive)
    assert "subtract each row's maximum" in messages(report)


def test_softmax_gradient_off_by_the_batch_size_is_named():
    report = checks.check_softmax_loss(softmax_loss_not_divided)
    assert "8 times too large, the batch size" in messages(report)


def test_a_layer_that_crashes_is_reported_with_its_error():
    def broken(x, w, b):
        return x.reshape(-1) @ w, None

    assert "raised ValueError" in messages(checks.check_affine_forward(broken))


# ---- chapters 3 and 4: regularization mistakes ------------------------------------------------

class NoRegLoss(TwoLayerNet):
    def loss(self, X, y=None):
        saved, self.reg = self.reg, 0.0
        try:
            result = super().loss(X, y)
        finally:
            self.reg = saved
        return result


class NoRegGradient(TwoLayerNet):
    def loss(self, X, y=None):
        if y is None:
            return super().loss(X)
        loss, grads = super().loss(X, y)
        for k in ("W1", "W2"):
            grads[k] = grads[k] - self.reg * self.params[k]
        return loss, grads


class FullRegTerm(TwoLayerNet):
    def loss(self, X, y=None):
        if y is None:
            return super().loss(X)
        loss, grads = super().loss(X, y)
        return loss + 0.5 * self.reg * sum(float(np.sum(self.params[k] ** 2)) for k in ("W1", "W2")), grads


@pytest.mark.parametrize("model_class,expected", [
    (NoRegLoss, "regularization term is missing"),
    (NoRegGradient, "regularization gradient is missing from W1"),
    (FullRegTerm, "twice too large"),
])
def test_regularization_mistakes_are_named(model_class, expected):
    report = checks.check_two_layer_net(model_class)
    assert not report.passed
    assert expected in messages(report)


def test_without_regularization_no_regularization_problem_is_reported():
    report = checks.check_two_layer_net(TwoLayerNet, reg=0.0)
    assert report.passed, str(report)
    assert "regularization" not in str(report)


def test_on_fresh_inputs_forgives_bad_luck_but_not_a_wrong_answer():
    draws = iter(["unlucky", None])
    assert checks.on_fresh_inputs(lambda: next(draws)) is None
    assert checks.on_fresh_inputs(lambda: "dw is wrong") == "dw is wrong"
