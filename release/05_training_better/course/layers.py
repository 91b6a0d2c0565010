"""Layers as forward/backward pairs.

Every forward returns ``(out, cache)``; the matching backward takes the upstream
gradient ``dout`` and that cache and returns the gradients of the layer's inputs.
Layers are pure: they never write into their arguments.
"""
import math

import numpy as np


def _check_affine_shapes(x, w, b):
    D = math.prod(x.shape[1:])
    if w.ndim != 2 or w.shape[0] != D:
        raise ValueError(
            f"x has shape {x.shape} ({D} features per example) but w has shape "
            f"{w.shape}; w must be ({D}, M). Did you flatten x or transpose w?"
        )
    if b.shape != (w.shape[1],):
        raise ValueError(f"b has shape {b.shape} but w has {w.shape[1]} outputs; b must be ({w.shape[1]},)")


def affine_forward(x, w, b):
    """Affine layer: out = x W + b, with each example flattened to a row.

    x: inputs, shape (N, d1, ..., dk), D = d1 * ... * dk.
    w: weights, shape (D, M).  b: biases, shape (M,).
    Returns out (N, M) and cache (x, w, b).
    """
    _check_affine_shapes(x, w, b)
    out = x.reshape(x.shape[0], -1) @ w
    out += b  # in place: one (N, M) array fewer per call
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Backward pass for an affine layer.

    dout: upstream gradient, shape (N, M).
    cache: (x, w, b) from affine_forward; x has shape (N, d1, ..., dk).
    Returns dx (shape of x), dw (D, M), db (M,).
    """
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    """ReLU: out = max(0, x), elementwise. Returns out (shape of x) and cache x."""
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """Backward pass for ReLU: the gradient flows only where the input was positive.

    Returns dx, shape of dout.
    """
    x = cache
    return dout * (x > 0)


def sigmoid(x):
    """Logistic function 1 / (1 + exp(-x)) that never overflows.

    tanh is bounded, and sigma(x) = (1 + tanh(x / 2)) / 2 is the same function,
    so large |x| cannot produce inf the way exp(-x) does.
    """
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def sigmoid_forward(x):
    """Sigmoid layer. Returns out (shape of x) and cache out (backward needs only it)."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    """Backward pass for sigmoid: d sigma / dx = sigma (1 - sigma). Returns dx."""
    out = cache
    return dout * out * (1 - out)


def affine_relu_forward(x, w, b):
    """Affine layer followed by ReLU. Returns out (N, M) and cache for the backward."""
    a, affine_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (affine_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Backward pass for affine -> ReLU. Returns dx (shape of x), dw (D, M), db (M,)."""
    affine_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, affine_cache)


def affine_sigmoid_forward(x, w, b):
    """Affine layer followed by sigmoid. Returns out (N, M) and cache for the backward."""
    a, affine_cache = affine_forward(x, w, b)
    out, sigmoid_cache = sigmoid_forward(a)
    return out, (affine_cache, sigmoid_cache)


def affine_sigmoid_backward(dout, cache):
    """Backward pass for affine -> sigmoid. Returns dx (shape of x), dw (D, M), db (M,)."""
    affine_cache, sigmoid_cache = cache
    da = sigmoid_backward(dout, sigmoid_cache)
    return affine_backward(da, affine_cache)


def softmax_loss(scores, y):
    """Mean cross-entropy of the softmax of the scores.

    scores: class scores, shape (N, C).  y: labels, shape (N,), 0 <= y[i] < C.
    Returns loss (float) and dscores (N, C), the gradient of the loss.
    """
    N, C = scores.shape
    if y.shape != (N,):
        raise ValueError(f"y has shape {y.shape} but scores has {N} rows; y must be ({N},)")
    shifted = scores - scores.max(axis=1, keepdims=True)  # exp() cannot overflow
    exp_shifted = np.exp(shifted)
    sums = exp_shifted.sum(axis=1)
    rows = np.arange(N)
    # -log p_y = log(sum_j e^{s_j}) - s_y, taken on the shifted scores so that
    # no probability is rounded to 0 before its log is taken
    loss = np.mean(np.log(sums) - shifted[rows, y])
    dscores = exp_shifted / sums[:, None]
    dscores[rows, y] -= 1
    dscores /= N
    return float(loss), dscores
