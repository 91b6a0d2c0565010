"""Dropout and batch norm against their definitions: numerical gradients, statistics, train and test modes."""
import time

import numpy as np
import pytest

from course import checks
from course.gradient_check import eval_numerical_gradient_array
from course.training_layers import (
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
)


def bn_case(rng, N=6, D=5):
    x = 3 * rng.standard_normal((N, D)) + rng.standard_normal(D)
    return x, rng.standard_normal(D), rng.standard_normal(D), rng.standard_normal((N, D))


def test_batchnorm_forward_standardises_each_feature_then_scales_and_shifts(rng):
    x, gamma, beta, _ = bn_case(rng, N=200)
    out, _ = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), np.abs(gamma), rtol=1e-3)  # eps makes it a hair smaller


@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_alt])
def test_batchnorm_backward_matches_numerical_gradients_below_1e_8(rng, backward):
    x, gamma, beta, dout = bn_case(rng)
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = backward(dout, cache)
    f = lambda x_, g_, b_: batchnorm_forward(x_, g_, b_, {"mode": "train"})[0]  # noqa: E731
    assert checks.relative_error(dx, eval_numerical_gradient_array(lambda v: f(v, gamma, beta), x.copy(), dout)) < 1e-8
    assert checks.relative_error(dgamma, eval_numerical_gradient_array(lambda v: f(x, v, beta), gamma.copy(), dout)) < 1e-8
    assert checks.relative_error(dbeta, eval_numerical_gradient_array(lambda v: f(x, gamma, v), beta.copy(), dout)) < 1e-8


def test_the_simplified_backward_agrees_and_is_faster(rng):
    x, gamma, beta, dout = bn_case(rng, N=500, D=800)
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    for a, b in zip(batchnorm_backward(dout, cache), batchnorm_backward_alt(dout, cache)):
        assert checks.relative_error(a, b) < 1e-12

    def best(backward):
        times = []
        for _ in range(15):
            start = time.perf_counter()
            backward(dout, cache)
            times.append(time.perf_counter() - start)
        return min(times)
    assert best(batchnorm_backward_alt) < best(batchnorm_backward)


def test_batchnorm_test_mode_uses_the_running_statistics_not_the_batch(rng):
    bn_param = {"mode": "train", "momentum": 0.9}
    gamma, beta = np.ones(4), np.zeros(4)
    for _ in range(200):
        batchnorm_forward(2.0 + 3.0 * rng.standard_normal((50, 4)), gamma, beta, bn_param)
    np.testing.assert_allclose(bn_param["running_mean"], 2.0, atol=0.3)
    np.testing.assert_allclose(bn_param["running_var"], 9.0, rtol=0.2)
    bn_param["mode"] = "test"
    one = np.full((1, 4), 5.0)  # a batch of one: batch statistics would give 0 / sqrt(eps)
    out, _ = batchnorm_forward(one, gamma, beta, bn_param)
    expected = (5.0 - bn_param["running_mean"]) / np.sqrt(bn_param["running_var"] + 1e-5)
    np.testing.assert_allclose(out[0], expected)


def test_dropout_keeps_a_fraction_p_scaled_by_1_over_p_and_is_the_identity_at_test_time(rng):
    x = rng.standard_normal((500, 400)) + 10
    for p in (0.25, 0.8):
        out, _ = dropout_forward(x, {"mode": "train", "p": p})
        kept = out != 0
        assert abs(kept.mean() - p) < 0.01
        np.testing.assert_allclose(out[kept], x[kept] / p)
        assert abs(out.mean() - x.mean()) < 0.05 * x.mean()  # the expected activation is unchanged
        test_out, _ = dropout_forward(x, {"mode": "test", "p": p})
        np.testing.assert_array_equal(test_out, x)


def test_dropout_with_a_seed_repeats_its_mask_and_backward_uses_it(rng):
    x, dout = rng.standard_normal((20, 30)), rng.standard_normal((20, 30))
    param = {"mode": "train", "p": 0.5, "seed": 3}
    out1, cache = dropout_forward(x, param)
    out2, _ = dropout_forward(x, param)
    np.testing.assert_array_equal(out1, out2)
    numeric = eval_numerical_gradient_array(lambda v: dropout_forward(v, param)[0], x.copy(), dout)
    assert checks.relative_error(dropout_backward(dout, cache), numeric) < 1e-9
    np.testing.assert_array_equal(dropout_backward(dout, dropout_forward(x, {"mode": "test", "p": 0.5})[1]), dout)


def test_dropout_p_outside_0_1_names_its_meaning():
    with pytest.raises(ValueError, match="probability of keeping"):
        dropout_forward(np.ones(3), {"mode": "train", "p": 0.0})
