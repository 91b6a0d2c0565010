"""First-order update rules, each ``rule(w, dw, config) -> (next_w, config)``.

config holds the hyperparameters and the rule's running state (velocity,
moment estimates); a missing entry gets its default on the first call. The
rules update w in place and return it, so the training loop allocates no new
weight arrays on every step.
"""
import numpy as np


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: w <- w - learning_rate * dw."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum: v <- mu v - learning_rate * dw;  w <- w + v."""
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

    cache <- rho cache + (1 - rho) dw^2;  w <- w - learning_rate * dw / (sqrt(cache) + eps)
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

    m <- beta1 m + (1 - beta1) dw;  v <- beta2 v + (1 - beta2) dw^2
    w <- w - learning_rate * m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - beta1^t), ...
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
        v = config["v"] = np.zeros_like(w)
    beta1, beta2 = config["beta1"], config["beta2"]
    config["t"] += 1
    t = config["t"]
    m *= beta1
    m += (1 - beta1) * dw
    v *= beta2
    v += (1 - beta2) * dw * dw
    # fold both bias corrections into the step size: one scalar instead of two arrays
    step = config["learning_rate"] * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    w -= step * m / (np.sqrt(v) + config["epsilon"])
    return w, config


UPDATE_RULES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}
