"""Layers that behave differently while training and at test time: dropout and batch normalization.

Same contract as course.layers: ``x_forward(...) -> (out, cache)`` and a backward that takes
the upstream gradient and that cache. Each takes a param dict whose "mode" is "train" or
"test"; batch norm keeps its running statistics in that dict.

Dropout's ``p`` is the probability of KEEPING a unit, everywhere in this package
(FullyConnectedNet's ``dropout_keep_ratio`` is the same number).
"""
import numpy as np


def _mode(param, layer):
    mode = param.get("mode")
    if mode not in ("train", "test"):
        raise ValueError(f'{layer} needs mode "train" or "test" in its param dict, not {mode!r}')
    return mode


def dropout_forward(x, dropout_param):
    """Inverted dropout: keep each unit with probability p and scale the kept ones by 1 / p.

    x: inputs, any shape.
    dropout_param: "p", the probability of keeping a unit (0 < p <= 1); "mode", "train" or
        "test"; optional "seed", which makes the mask the same on every call (gradient checks).
    Returns out (shape of x) and cache (dropout_param, mask): mask has the shape of x and holds
    1 / p where a unit is kept and 0 where it is dropped, so out = x * mask; None in test mode.
    At test time out is x itself: the 1 / p at train time already keeps the expected activation.
    """
    p = dropout_param["p"]
    if not 0 < p <= 1:
        raise ValueError(f"dropout p is the probability of keeping a unit, in (0, 1], not {p}")
    if _mode(dropout_param, "dropout_forward") == "test":
        return x, (dropout_param, None)
    rng = np.random.default_rng(dropout_param.get("seed"))
    mask = (rng.random(x.shape, dtype=np.float32) < p).astype(x.dtype)  # float32 draws: half the work
    mask /= np.asarray(p, dtype=x.dtype)
    return x * mask, (dropout_param, mask)


def dropout_backward(dout, cache):
    """Backward pass for inverted dropout: the gradient flows through the kept units, scaled by 1 / p.

    dout: upstream gradient, shape of x.  cache: (dropout_param, mask) from dropout_forward.
    Returns dx, shape of dout.
    """
    dropout_param, mask = cache
    if _mode(dropout_param, "dropout_backward") == "test":
        return dout
    return dout * mask


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization: standardise each feature over the batch, then scale by gamma and shift by beta.

    x: inputs, shape (N, D).  gamma, beta: shape (D,).
    bn_param: "mode", "train" or "test"; "eps" (default 1e-5); "momentum" (default 0.9);
        "running_mean", "running_var" (shape (D,), zeros at first). In train mode the batch's
        mean and variance are used and the running averages updated in bn_param
        (running = momentum * running + (1 - momentum) * batch); in test mode the running ones are used.
    Returns out (N, D) and cache (x, x_hat, mean, var, gamma, eps), x_hat = (x - mean) / sqrt(var + eps);
    None in test mode.
    """
    mode = _mode(bn_param, "batchnorm_forward")
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    if mode == "test":
        out = (x - running_mean) * (gamma / np.sqrt(running_var + eps)) + beta
        return out, None
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    x_hat = (x - mean) / np.sqrt(var + eps)
    out = gamma * x_hat + beta
    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
    bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    return out, (x, x_hat, mean, var, gamma, eps)


def batchnorm_backward(dout, cache):
    """Backward pass for batch normalization, one node of the computational graph at a time.

    dout: upstream gradient, shape (N, D).  cache: (x, x_hat, mean, var, gamma, eps) from batchnorm_forward.
    Returns dx (N, D), dgamma (D,), dbeta (D,).
    """
    x, x_hat, mean, var, gamma, eps = cache
    N = x.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    centred = x - mean
    inv_std = 1.0 / np.sqrt(var + eps)
    dvar = -0.5 * inv_std**3 * (dx_hat * centred).sum(axis=0)
    dmean = -inv_std * dx_hat.sum(axis=0) - 2.0 / N * dvar * centred.sum(axis=0)
    dx = dx_hat * inv_std + 2.0 / N * dvar * centred + dmean / N
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Backward pass for batch normalization from the simplified formula

    dx = gamma / (N sqrt(var + eps)) * (N dout - sum(dout) - x_hat * sum(dout * x_hat)),

    the sums over the batch being dbeta and dgamma themselves. Same cache and returns as batchnorm_backward.
    """
    x, x_hat, mean, var, gamma, eps = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    scale = gamma / (N * np.sqrt(var + eps))
    dx = (N * dout - dbeta - x_hat * dgamma) * scale
    return dx, dgamma, dbeta
