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


def test_the_rules_keep_cs231ns_config_keys_and_defaults():
    w, dw = np.ones(3), np.ones(3)
    assert {k: v for k, v in optim.sgd_momentum(w.copy(), dw, None)[1].items() if k != "velocity"} == \
        {"learning_rate": 1e-2, "momentum": 0.9}
    assert {k: v for k, v in optim.rmsprop(w.copy(), dw, None)[1].items() if k != "cache"} == \
        {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}
    config = optim.adam(w.copy(), dw, None)[1]
    assert {k: config[k] for k in ("learning_rate", "beta1", "beta2", "epsilon", "t")} == \
        {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 1}
    assert {"m", "v"} <= set(config)


def test_a_chapter_folder_without_optim_trains_with_sgd_and_says_where_the_other_rules_are():
    """Chapters 3 and 4 ship no course.optim (chapter 5 grades it): the Solver's own sgd runs there."""
    import subprocess
    import sys
    from pathlib import Path

    probe = ("from course.solver import update_rule_named\n"
             "assert update_rule_named('sgd').__module__ == 'course.solver'\n"
             "try:\n    update_rule_named('adam')\nexcept ValueError as error:\n    print(error)\n")
    folder = Path(__file__).resolve().parent.parent / "release" / "04_deep_net"
    result = subprocess.run([sys.executable, "-B", "-c", probe], cwd=folder, capture_output=True, text=True, check=True)
    assert "chapter 5" in result.stdout and "update_rule='sgd'" in result.stdout
