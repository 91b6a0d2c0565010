"""Update rules against their defining equations, written out step by step."""
import numpy as np
import pytest

from course import optim
from course.gradient_check import rel_error


def run(rule, w, grads, config):
    w = w.copy()
    for dw in grads:
        w, config = rule(w, dw, config)
    return w, config


@pytest.fixture
def problem(rng):
    w = rng.standard_normal((4, 5))
    grads = [rng.standard_normal((4, 5)) for _ in range(3)]
    return w, grads


def test_sgd(problem):
    w, grads = problem
    result, _ = run(optim.sgd, w, grads, {"learning_rate": 0.1})
    assert rel_error(result, w - 0.1 * sum(grads)) < 1e-12


def test_sgd_momentum(problem):
    w, grads = problem
    v, expected = np.zeros_like(w), w.copy()
    for dw in grads:
        v = 0.9 * v - 0.05 * dw
        expected = expected + v
    result, config = run(optim.sgd_momentum, w, grads, {"learning_rate": 0.05, "momentum": 0.9})
    assert rel_error(result, expected) < 1e-12
    assert rel_error(config["velocity"], v) < 1e-12


def test_rmsprop(problem):
    w, grads = problem
    cache, expected = np.zeros_like(w), w.copy()
    for dw in grads:
        cache = 0.99 * cache + 0.01 * dw**2
        expected = expected - 1e-2 * dw / (np.sqrt(cache) + 1e-8)
    result, _ = run(optim.rmsprop, w, grads, {"learning_rate": 1e-2})
    assert rel_error(result, expected) < 1e-9


def test_adam_follows_the_bias_corrected_equations(problem):
    w, grads = problem
    m, v, expected = np.zeros_like(w), np.zeros_like(w), w.copy()
    for t, dw in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * dw
        v = 0.999 * v + 0.001 * dw**2
        m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
        expected = expected - 1e-2 * m_hat / (np.sqrt(v_hat) + 1e-8)
    result, config = run(optim.adam, w, grads, {"learning_rate": 1e-2})
    assert config["t"] == 3
    assert rel_error(result, expected) < 1e-6


@pytest.mark.parametrize("name", sorted(optim.UPDATE_RULES))
def test_every_rule_minimises_a_quadratic(rng, name):
    target = rng.standard_normal(10)
    w = np.zeros(10)
    # rules that normalise the step (rmsprop, adam) hover about learning_rate / 2 from the minimum
    config = {"learning_rate": 0.01}
    for _ in range(3000):
        w, config = optim.UPDATE_RULES[name](w, w - target, config)  # gradient of |w - target|^2 / 2
    assert np.max(np.abs(w - target)) < 1e-2
