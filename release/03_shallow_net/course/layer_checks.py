"""The checks of chapters 1 and 2: difference quotients, the numerical gradient, and the layers.

See course.checks for what every check promises.
"""
import numpy as np

from course.check_base import (
    GRADIENT_TOL,
    QUOTIENT_TOL,
    VALUE_TOL,
    Report,
    _affine,
    _away_from_zero,
    _call,
    _check_unchanged,
    _close,
    _crash,
    _floats,
    _known_mistake,
    _never_raises,
    _numerical_backward,
    _numerical_gradient,
    _scalar,
    _shape_of,
    _sigmoid,
    _softmax,
    _softmax_loss_value,
    _try,
    _unpack,
    _with_either_cache,
    compare_gradient,
    relative_error,
)

# ---- chapter 1: numerical derivatives --------------------------------------------------------------

@_never_raises
def check_difference_quotients(forward_difference, central_difference):
    """forward_difference(f, x, h) and central_difference(f, x, h) on sin at x = 1, whose derivative is cos(1)."""
    report = Report("forward_difference and central_difference")
    exact = np.cos(1.0)
    for label, fn, order in (("forward_difference", forward_difference, 1),
                             ("central_difference", central_difference, 2)):
        errors = []
        for h in (1e-2, 1e-3):
            ok, value = _call(report, label, fn, np.sin, 1.0, h)
            if not ok:
                break
            errors.append(abs(float(value) - exact))
        if len(errors) < 2:
            continue
        report.measure(f"{label}: error {errors[0]:.1e} at h=1e-2, {errors[1]:.1e} at h=1e-3")
        shrink = errors[0] / max(errors[1], 1e-300)
        if errors[0] > 0.1:
            report.problem(f"{label} is far from cos(1) = {exact:.4f}: check the formula (divide by h, or by 2h "
                           f"for central).")
        elif order == 1 and shrink > 50:
            report.problem("forward_difference behaves like a central difference (error shrinks like h^2): "
                           "use (f(x + h) - f(x)) / h.")
        elif order == 2 and shrink < 50:
            report.problem(f"central_difference's error shrank only {shrink:.0f}x when h shrank 10x; a central "
                           f"difference shrinks about 100x: use (f(x + h) - f(x - h)) / (2h).")
    return report


def _polynomial(coefficients):
    return lambda t: sum(c * t**k for k, c in enumerate(coefficients))


def _check_quotient(report, label, quotient, rng, degree, known):
    """quotient(f, x, h) on random polynomials of `degree`, for which every difference quotient is known exactly.

    known(c, x, h) -> [(exact value, None), (typical wrong value, message), ...] for f = sum c[k] t^k.
    """
    worst = 0.0
    for _ in range(4):
        c = rng.uniform(-2, 2, degree + 1)
        c[degree] = rng.choice([-1, 1]) * rng.uniform(0.5, 2)  # the term that separates the quotients
        x, h = float(rng.uniform(-3, 3)), float(rng.uniform(0.01, 0.5))
        ok, value = _call(report, label, quotient, _polynomial(c), x, h)
        if not ok:
            return report
        value = _scalar(report, f"{label}'s result", value)
        if value is None:
            return report
        (expected, _), *wrong = known(c, x, h)
        if not _close(value, expected, QUOTIENT_TOL):
            message = next((m for v, m in wrong if _close(value, v, QUOTIENT_TOL)), None)
            report.problem(message or f"{label}(f, {x:.3f}, {h:.3f}) returned {value:.6g} for a polynomial f, "
                                      f"expected {expected:.6g}.")
            return report
        worst = max(worst, abs(value - expected) / max(1.0, abs(expected)))
    report.measure(f"{label} on 4 random polynomials: largest relative error {worst:.1e} "
                   f"(must be below {QUOTIENT_TOL:.0e})")
    return report


@_never_raises
def check_forward_difference(forward_difference, seed=0):
    """forward_difference(f, x, h) on quadratics, whose forward difference is exactly f'(x) + h f''(x) / 2."""
    def known(c, x, h):
        slope = 2 * c[2] * x + c[1]
        return [(slope + c[2] * h, None),
                (slope, "forward_difference behaves like a central difference (it is exact for a quadratic): "
                        "use (f(x + h) - f(x)) / h."),
                (slope - c[2] * h, "That is the backward difference (f(x) - f(x - h)) / h; the forward "
                                   "difference steps forward: (f(x + h) - f(x)) / h."),
                ((slope + c[2] * h) / 2, "forward_difference divides by 2h: the forward difference divides by h."),
                (h * (slope + c[2] * h), "forward_difference does not divide by h: (f(x + h) - f(x)) / h."),
                (-(slope + c[2] * h), "forward_difference has the wrong sign: f(x + h) - f(x), not f(x) - f(x + h).")]

    return _check_quotient(Report("forward_difference"), "forward_difference", forward_difference,
                           np.random.default_rng(seed), 2, known)


@_never_raises
def check_central_difference(central_difference, seed=0):
    """central_difference(f, x, h) on cubics, whose central difference is exactly f'(x) + h^2 f'''(x) / 6."""
    def known(c, x, h):
        slope = 3 * c[3] * x**2 + 2 * c[2] * x + c[1]
        central = slope + c[3] * h**2
        forward = slope + (3 * c[3] * x + c[2]) * h + c[3] * h**2
        return [(central, None),
                (forward, "central_difference computes a forward difference (error O(h)): use "
                          "(f(x + h) - f(x - h)) / (2h)."),
                (2 * forward - central, "That is the backward difference (f(x) - f(x - h)) / h: use "
                                        "(f(x + h) - f(x - h)) / (2h)."),
                (2 * central, "central_difference is twice too large: divide f(x + h) - f(x - h) by 2h, not by h."),
                (-central, "central_difference has the wrong sign: f(x + h) - f(x - h), not f(x - h) - f(x + h).")]

    return _check_quotient(Report("central_difference"), "central_difference", central_difference,
                           np.random.default_rng(seed), 3, known)


@_never_raises
def check_numerical_gradient(numerical_gradient, seed=0):
    """numerical_gradient(f, x) against the exact gradient of f(x) = sum(c * sin(x)), and x left as it was."""
    report = Report("numerical_gradient")
    rng = np.random.default_rng(seed)
    shape = tuple(int(d) for d in rng.integers(2, 5, int(rng.integers(1, 4))))
    x = rng.uniform(-1, 1, shape)  # cos(x) >= 0.54 here, so every entry of the gradient is sizeable
    c = rng.uniform(0.5, 2.0, shape)
    before = x.copy()
    # f is a sum of one-entry terms: an x that is not restored still gets an exact gradient,
    # so that mistake has its own message and no second one
    ok, grad = _call(report, "numerical_gradient", numerical_gradient, lambda v: float(np.sum(c * np.sin(v))), x)
    if not ok:
        return report
    if not np.array_equal(x, before):
        report.problem("numerical_gradient left x changed: restore each entry after nudging it "
                       "(x[ix] = old), or later entries are measured at the wrong point.")
    h = 1e-5
    exact = c * np.cos(before)
    known = [(c * (np.sin(before + h) - np.sin(before)) / h,
              "The error looks like a forward difference (about h): use central differences "
              "(f(x + h) - f(x - h)) / (2h)."),
             (2 * exact, "The gradient is twice too large: a central difference divides by 2h.")]
    compare_gradient(report, "gradient", grad, exact, GRADIENT_TOL, truth="the exact gradient c * cos(x)", known=known)
    return report


@_never_raises
def check_affine_forward(affine_forward, seed=0):
    """out = x.reshape(N, -1) @ w + b, for x of shape (N, D) and of shape (N, d1, ..., dk)."""
    report = Report("affine_forward")
    rng = np.random.default_rng(seed)
    N, M = int(rng.integers(2, 6)), int(rng.integers(2, 6))
    rows = (N, int(rng.integers(2, 7)))
    images = (N, *(int(d) for d in rng.integers(2, 4, int(rng.integers(2, 4)))))
    for shape in (rows, images):
        x = rng.standard_normal(shape)
        w, b = rng.standard_normal((int(np.prod(shape[1:])), M)), rng.standard_normal(M)
        flatten = (f"affine_forward fails for x of shape {shape}, one example per row of {shape[1:]} numbers: "
                   f"flatten each example to a row first, x.reshape(N, -1) @ w + b.")
        seen = x.copy()
        ok, result = _try(affine_forward, seen, w.copy(), b.copy())
        if not ok:
            report.problem(flatten if shape is images and not isinstance(result, NotImplementedError)
                           else _crash("affine_forward", result))
            return report
        result = _unpack(report, "affine_forward", result, 2)
        if result is None:
            return report
        out, expected = _floats(result[0]), _affine(x, w, b)
        if out is None or out.shape != expected.shape:
            report.problem(flatten if shape is images else
                           f"out has {_shape_of(result[0])}, expected {expected.shape}, (N, M) for x of shape "
                           f"{shape} and w of shape {w.shape}.")
            return report
        error = relative_error(out, expected)
        report.measure(f"out for x of shape {shape}: relative error {error:.1e} (must be below {VALUE_TOL:.0e})")
        if error >= VALUE_TOL:
            known = [(x.reshape(N, -1) @ w, "out is missing the bias: add b, one value per output, to every row.")]
            report.problem(_known_mistake(out, known, VALUE_TOL) or
                           "out is wrong: it must be x.reshape(N, -1) @ w + b.")
            return report
        _check_unchanged(report, "affine_forward", x, seen, "x", "compute a new array")
    return report


@_never_raises
def check_affine_backward(affine_forward, affine_backward, seed=0):
    """dx, dw, db of the affine layer for x of shape (N, d1, ..., dk), with the documented cache (x, w, b)."""
    report = Report("affine_backward")
    rng = np.random.default_rng(seed)
    N, M = int(rng.integers(2, 6)), int(rng.integers(2, 6))
    shape = (N, *(int(d) for d in rng.integers(2, 4, int(rng.integers(2, 4)))))
    x, w = rng.standard_normal(shape), rng.standard_normal((int(np.prod(shape[1:])), M))
    b, dout = rng.standard_normal(M), rng.standard_normal((N, M))
    numeric = (_numerical_backward(lambda v: _affine(v, w, b), x, dout),
               _numerical_backward(lambda v: _affine(x, v, b), w, dout),
               _numerical_backward(lambda v: _affine(x, w, v), b, dout))

    def attempt(trial, cache):
        seen = dout.copy()
        ok, grads = _call(trial, "affine_backward", affine_backward, seen, cache)
        grads = _unpack(trial, "affine_backward", grads, 3) if ok else None
        if grads is None:
            return False
        _check_unchanged(trial, "affine_backward", dout, seen, "dout", "compute new arrays")
        for label, analytic, truth in zip(("dx", "dw", "db"), grads, numeric):
            compare_gradient(trial, label, analytic, truth, GRADIENT_TOL, batch_size=N,
                             reshape_hint="reshape it back to the shape of x, dx.reshape(x.shape)")
        return True

    _with_either_cache(report, attempt, lambda: (x.copy(), w.copy(), b.copy()),
                       lambda: affine_forward(x.copy(), w.copy(), b.copy()))
    return report


def _check_elementwise_forward(report, label, forward, x, expected, known):
    seen = x.copy()
    ok, result = _call(report, label, forward, seen)
    result = _unpack(report, label, result, 2) if ok else None
    if result is None:
        return None
    out = _floats(result[0])
    if out is None or out.shape != expected.shape:
        report.problem(f"{label}'s out has {_shape_of(result[0])}, expected {expected.shape}, the shape of x.")
        return None
    error = relative_error(out, expected)
    report.measure(f"out: relative error {error:.1e} (must be below {VALUE_TOL:.0e})")
    if error >= VALUE_TOL:
        report.problem(_known_mistake(out, known, VALUE_TOL) or known[-1][1])
        return None
    _check_unchanged(report, label, x, seen, "x", "compute a new array rather than writing into x")
    return out


@_never_raises
def check_relu_forward(relu_forward, seed=0):
    """out = max(0, x) elementwise, for x of a random shape that contains exact zeros."""
    report = Report("relu_forward")
    rng = np.random.default_rng(seed)
    shape = tuple(int(d) for d in rng.integers(3, 6, int(rng.integers(1, 4))))
    x = rng.standard_normal(shape)
    x.flat[0], x.flat[1], x.flat[-1] = abs(x.flat[0]), -abs(x.flat[1]), 0.0
    known = [((x > 0).astype(float), "relu_forward returns the mask (x > 0), not the values: out = max(0, x)."),
             (np.minimum(x, 0), "That is min(0, x): ReLU keeps the positive entries, out = max(0, x)."),
             (x, "relu_forward leaves negative entries unchanged: they must become 0, out = max(0, x)."),
             (np.maximum(x, 0), "relu_forward's out is wrong: it must be max(0, x), elementwise.")]
    _check_elementwise_forward(report, "relu_forward", relu_forward, x, np.maximum(x, 0), known)
    return report


def _check_elementwise_backward(report, label, backward, forward, x, dout, documented_cache, definition, known):
    """dx of an elementwise layer against the numerical gradient of its definition, dout left unchanged."""
    truth = _numerical_backward(definition, x, dout)
    local = _numerical_backward(definition, x, np.ones_like(x))
    known = [(candidate(dout), message) for candidate, message in known]
    known.append((local, "dx is only the local derivative: multiply it by the upstream gradient dout."))

    def attempt(trial, cache):
        seen = dout.copy()
        ok, dx = _call(trial, label, backward, seen, cache)
        if not ok:
            return False
        _check_unchanged(trial, label, dout, seen, "dout", "use `dout * mask`, not `dout[mask] = 0`")
        compare_gradient(trial, "dx", dx, truth, GRADIENT_TOL, known=known)
        return True

    _with_either_cache(report, attempt, documented_cache, lambda: forward(x.copy()))


@_never_raises
def check_relu_backward(relu_forward, relu_backward, seed=0):
    """dx = dout * (x > 0), with the documented cache x, on inputs kept off the kink at 0."""
    report = Report("relu_backward")
    rng = np.random.default_rng(seed)
    x = _away_from_zero(rng, tuple(int(d) for d in rng.integers(2, 5, int(rng.integers(2, 4)))), 0.05)
    dout = rng.standard_normal(x.shape)
    dout.flat[0], dout.flat[1] = -abs(dout.flat[0]), abs(dout.flat[1])  # signs unlike x's: a mask from dout shows
    known = [(lambda dout: dout * (dout > 0), "The ReLU mask is taken from the wrong tensor: it must be where the "
                                              "*input* x was positive (x > 0), not where dout is positive.")]
    _check_elementwise_backward(report, "relu_backward", relu_backward, relu_forward, x, dout, x.copy,
                                lambda v: np.maximum(v, 0), known)
    return report


@_never_raises
def check_sigmoid_forward(sigmoid_forward, seed=0):
    """out = 1 / (1 + exp(-x)) for moderate x, and finite (about 0 and 1) for x = -1000, +1000 and beyond."""
    report = Report("sigmoid_forward")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-8, 8, tuple(int(d) for d in rng.integers(2, 5, int(rng.integers(1, 4)))))
    known = [(_sigmoid(-x), "That is 1 / (1 + exp(x)) = sigmoid(-x): the exponent must be -x, "
                            "out = 1 / (1 + exp(-x))."),
             (_sigmoid(x), "sigmoid_forward's out is wrong: it must be 1 / (1 + exp(-x)).")]
    if _check_elementwise_forward(report, "sigmoid_forward", sigmoid_forward, x, _sigmoid(x), known) is None:
        return report
    far = float(rng.uniform(1000, 5000))
    big = np.array([-1000.0, 1000.0, -far, far])
    with np.errstate(all="ignore"):
        ok, result = _try(sigmoid_forward, big.copy())
    out = _floats(result[0]) if ok and isinstance(result, tuple) and len(result) == 2 else None
    if out is None or out.shape != big.shape or not np.all(np.isfinite(out)):
        report.problem("sigmoid_forward gives NaN or inf for inputs of +-1000 (or raises): compute it so that exp() "
                       "never sees a large positive number (e.g. via tanh, or separate formulas for x >= 0 and "
                       "x < 0).")
    elif np.max(np.abs(out - (big > 0))) > 1e-12:
        report.problem(f"sigmoid_forward({big.tolist()}) gives {out.tolist()}: it must be about 0 for large negative "
                       f"and about 1 for large positive inputs.")
    else:
        report.measure(f"finite at +-1000 and +-{far:.0f}")
    return report


@_never_raises
def check_sigmoid_backward(sigmoid_forward, sigmoid_backward, seed=0):
    """dx = dout * out * (1 - out), with the documented cache out = sigmoid(x)."""
    report = Report("sigmoid_backward")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-4, 4, tuple(int(d) for d in rng.integers(2, 5, int(rng.integers(2, 4)))))
    dout = rng.standard_normal(x.shape)
    out = _sigmoid(x)
    again = _sigmoid(out) * (1 - _sigmoid(out))
    known = [(lambda dout: dout * again,
              "sigmoid_backward applies the sigmoid to its cache again: the cache already holds out = sigmoid(x), "
              "the forward's output, so dx = dout * out * (1 - out).")]
    _check_elementwise_backward(report, "sigmoid_backward", sigmoid_backward, sigmoid_forward, x, dout, out.copy,
                                _sigmoid, known)
    return report


def check_relu(relu_forward, relu_backward, seed=0):
    """relu_forward and relu_backward together, for the notebook's check cell."""
    report = Report("relu_forward and relu_backward")
    report.absorb(check_relu_forward(relu_forward, seed=seed))
    report.absorb(check_relu_backward(relu_forward, relu_backward, seed=seed))
    return report


def check_sigmoid(sigmoid_forward, sigmoid_backward, seed=0):
    """sigmoid_forward and sigmoid_backward together, for the notebook's check cell."""
    report = Report("sigmoid_forward and sigmoid_backward")
    report.absorb(check_sigmoid_forward(sigmoid_forward, seed=seed))
    report.absorb(check_sigmoid_backward(sigmoid_forward, sigmoid_backward, seed=seed))
    return report


_FANCY_INDEXING = ("probs[:, y] picks every row at every label (an N x N block), not one entry per example: "
                   "index with probs[np.arange(N), y] (and dscores[np.arange(N), y]).")


@_never_raises
def check_softmax_loss(softmax_loss, seed=0):
    """The mean softmax cross-entropy and its gradient dscores, and both unchanged when every score grows by ~1000."""
    report = Report("softmax_loss")
    rng = np.random.default_rng(seed)
    N, C = int(rng.integers(3, 9)), int(rng.integers(3, 7))
    scores, y = 1.5 * rng.standard_normal((N, C)), rng.integers(0, C, N)
    if np.all(y == y[0]):  # with a single label, probs[:, y] would happen to give the right loss
        y[0] = (y[0] + 1) % C
    ok, result = _call(report, "softmax_loss", softmax_loss, scores.copy(), y.copy())
    result = _unpack(report, "softmax_loss", result, 2) if ok else None
    if result is None:
        return report
    probs, expected = _softmax(scores), _softmax_loss_value(scores, y)
    loss = _check_softmax_value(report, result[0], expected, probs, y)
    fancy = probs.copy()
    fancy[:, y] -= 1
    known = [(fancy / N, _FANCY_INDEXING),
             (probs / N, "dscores is the probabilities only: subtract 1 at each example's correct class, "
                         "dscores[np.arange(N), y] -= 1, then divide by N.")]
    numeric = _numerical_gradient(lambda s: _softmax_loss_value(s, y), scores)
    gradient_ok = compare_gradient(report, "dscores", result[1], numeric, GRADIENT_TOL, batch_size=N, known=known)

    offset = float(rng.uniform(800, 1200))  # exp(710) already overflows; the spread stays moderate
    with np.errstate(all="ignore"):
        ok, big = _try(softmax_loss, scores + offset, y.copy())
    big = big if ok and isinstance(big, tuple) and len(big) == 2 else None
    big_loss, big_grad = (_floats(big[0]), _floats(big[1])) if big else (None, None)
    shift = f"every score is shifted by +{offset:.0f} (the softmax does not change)"
    if big_loss is None or big_grad is None or not (np.all(np.isfinite(big_loss)) and np.all(np.isfinite(big_grad))):
        report.problem(f"softmax_loss overflows to NaN or inf (or raises) when {shift}: subtract each row's maximum "
                       f"from the scores before exp().")
    elif loss is not None and gradient_ok and big_loss.size == 1 and big_grad.shape == numeric.shape and \
            not (_close(float(big_loss.reshape(())), loss) and relative_error(big_grad, result[1]) < GRADIENT_TOL):
        report.problem(f"softmax_loss gives a different answer when {shift}: subtract each row's maximum from the "
                       f"scores before exp().")
    else:
        report.measure(f"finite and unchanged when {shift.split(' (')[0]}")
    return report


def _check_softmax_value(report, loss, expected, probs, y):
    """The loss value against its definition; returns it as a float, or None when it is not one number."""
    N = len(y)
    array = _floats(loss)
    if array is not None and array.shape == (N,) and _close(float(array.mean()), expected):
        report.problem("The loss must be one number: the mean over the batch of the per-example losses (take .mean()).")
        return None
    value = _scalar(report, "The loss", loss)
    if value is None:
        return None
    report.measure(f"loss: {value:.6f}, expected {expected:.6f}")
    if not _close(value, expected):
        with np.errstate(all="ignore"):
            known = [(N * expected, f"The loss is {N} times too large, the batch size: take the mean over the batch, "
                                    f"not the sum."),
                     (float(-np.mean(np.log(probs[:, y]))), _FANCY_INDEXING),
                     (-expected, "The loss has the wrong sign: it is the mean of -log(probability of the correct "
                                 "class).")]
        report.problem(next((m for v, m in known if _close(value, v)), None) or
                       "The loss is wrong: it is the mean over the batch of -log(softmax(scores)[i, y[i]]).")
    return value
