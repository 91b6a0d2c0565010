"""Numerical gradients by central differences, and the relative error to compare them.

Run these in float64: with float32 the difference f(x + h) - f(x - h) drowns in
rounding error and the "numerical gradient" is noise.
"""
import numpy as np

from course.compare import rel_error  # noqa: F401  (part of this module's API)


def _nudged(x, ix, h):
    """Yield f-evaluation points x[ix] + h and x[ix] - h, restoring x afterwards."""
    old = x[ix]
    x[ix] = old + h
    yield
    x[ix] = old - h
    yield
    x[ix] = old


def forward_difference(f, x, h):
    """f'(x) ~ (f(x + h) - f(x)) / h for a scalar function f; the error shrinks like h."""
    return (f(x + h) - f(x)) / h


def central_difference(f, x, h):
    """f'(x) ~ (f(x + h) - f(x - h)) / 2h for a scalar function f; the error shrinks like h^2."""
    return (f(x + h) - f(x - h)) / (2 * h)


def eval_numerical_gradient(f, x, verbose=False, h=1e-5):
    """Gradient of a scalar function f at x: df/dx[i] ~ (f(x + h e_i) - f(x - h e_i)) / 2h.

    f: takes the array x (which this function perturbs in place and restores).
    x: point, any shape.  Returns grad, shape of x.
    With verbose=True, returns also a list of (index, value) for inspection.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    trace = []
    for ix in np.ndindex(x.shape):
        values = [f(x) for _ in _nudged(x, ix, h)]
        grad[ix] = (values[0] - values[1]) / (2 * h)
        if verbose:
            trace.append((ix, grad[ix]))
    return (grad, trace) if verbose else grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Gradient of sum(f(x) * df) with respect to x, for an array-valued f.

    This is the backward pass a layer should compute: df is the upstream gradient
    dout, shape of f(x). Returns dx, shape of x.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        pos, neg = (np.array(f(x), dtype=np.float64) for _ in _nudged(x, ix, h))
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=0):
    """Compare analytic_grad with central differences at num_checks random entries.

    Returns a list of (index, numerical, analytic, relative error): the caller
    decides how to show it, so this works in a notebook, a test or a grader.
    """
    rng = np.random.default_rng(seed)
    results = []
    for _ in range(num_checks):
        ix = tuple(int(rng.integers(n)) for n in x.shape)
        values = [f(x) for _ in _nudged(x, ix, h)]
        numerical = (values[0] - values[1]) / (2 * h)
        analytic = float(analytic_grad[ix])
        results.append((ix, numerical, analytic, rel_error(numerical, analytic)))
    return results
