"""First-order update rules, each ``rule(w, dw, config) -> (next_w, config)``.

config holds the hyperparameters and the rule's running state (velocity,
moment estimates); a missing entry gets its default on the first call. The keys
and defaults are CS231n's, so its assignments' known answers apply. The rules
update w in place and return it, so the training loop allocates no new weight
arrays on every step.

Plain SGD lives with the Solver (course.solver.sgd), so chapters that have not
written these rules yet still train; chapter 5 is where students write the others.
"""
import numpy as np

from course.solver import sgd


def sgd_momentum(w, dw, config=None):
    """SGD with momentum: v <- momentum * v - learning_rate * dw;  w <- w + v.

    config: learning_rate (default 1e-2), momentum (0.9), velocity (zeros like w).
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity")
    if v is None:
        v = config["velocity"] = np.zeros_like(w)
    v *= config["momentum"]
    v -= config["learning_rate"] * dw
    w += v
    return w, config


def rmsprop(w, dw, config=None):
    """RMSProp: divide the step by a running RMS of the gradient.

    cache <- decay_rate * cache + (1 - decay_rate) * dw^2;  w <- w - learning_rate * dw / (sqrt(cache) + epsilon)
    config: learning_rate (default 1e-2), decay_rate (0.99), epsilon (1e-8), cache (zeros like w).
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache")
    if cache is None:
        cache = config["cache"] = np.zeros_like(w)
    rho = config["decay_rate"]
    cache *= rho
    cache += (1 - rho) * dw * dw
    w -= config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    return w, config


def adam(w, dw, config=None):
    """Adam: momentum (m) and RMSProp (v) with bias correction for their zero start.

    t <- t + 1;  m <- beta1 m + (1 - beta1) dw;  v <- beta2 v + (1 - beta2) dw^2
    w <- w - learning_rate * m_hat / (sqrt(v_hat) + epsilon),  m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)
    config: learning_rate (default 1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), m, v (zeros like w), t (0).
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("t", 0)
    m, v = config.get("m"), config.get("v")
    if m is None:
        m = config["m"] = np.zeros_like(w)
    if v is None:
        v = config["v"] = np.zeros_like(w)
    beta1, beta2 = config["beta1"], config["beta2"]
    config["t"] += 1
    t = config["t"]
    # one scratch array for every intermediate: a fresh array per operation costs page faults on
    # every step for a large weight matrix
    scratch = np.multiply(dw, 1 - beta1)
    m *= beta1
    m += scratch
    np.multiply(dw, dw, out=scratch)
    scratch *= 1 - beta2
    v *= beta2
    v += scratch
    # both bias corrections folded into scalars, exactly: m_hat / (sqrt(v_hat) + eps)
    # = step * m / (sqrt(v) + eps * sqrt(1 - beta2^t)); two scalars instead of two arrays
    root = np.sqrt(1 - beta2**t)
    step = config["learning_rate"] * root / (1 - beta1**t)
    np.sqrt(v, out=scratch)
    scratch += config["epsilon"] * root
    np.divide(m, scratch, out=scratch)
    scratch *= step
    w -= scratch
    return w, config


UPDATE_RULES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}
