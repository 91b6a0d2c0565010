"""Self-checks for the exercises: they measure, and when something is off they say what is most likely wrong.

Each check takes the student's functions and a seed, draws every input from
``np.random.default_rng(seed)`` and returns a Report: Jupyter shows it when it is a
cell's last expression, graders read ``report.passed`` and ``str(report)``. A check
never raises for a mistake in the student's code.

A check verifies only the behaviour its name promises. Whatever else it needs comes
from the definitions the chapters state, never from the student's other functions:
a backward pass gets the documented cache built here, and its gradients are compared
with the numerical gradient of the forward's *definition*, so a broken forward cannot
fail a backward check. Gradients are compared with central differences in float64,
never with a reference implementation, so these checks ship with every chapter
without giving an answer away.

"Relative error" in a report is the largest difference divided by the largest entry
of either array: unlike an entry-by-entry ratio, it cannot fail a correct answer
because one entry happens to be almost zero.
"""
import functools
from dataclasses import dataclass, field

import numpy as np

# Tolerances: one place for each, read by the checks below and by the grader's registry.
QUOTIENT_TOL = 1e-8  # check_forward_difference, check_central_difference: exact answers for polynomials
VALUE_TOL = 1e-9  # forward outputs, scores and loss values against their definitions
GRADIENT_TOL = 1e-7  # check_numerical_gradient (against the exact gradient) and every layer's backward check
NET_GRADIENT_TOL = 1e-6  # check_two_layer_gradients, check_fc_gradients, and the nets' check-cell checks
STD_MARGIN = 6.0  # init checks: a weight std may miss its target by this many standard errors of the estimate
KINK_MARGIN = 1e-3  # ReLU inputs stay this far from 0, so no central difference straddles the kink


@dataclass
class Report:
    name: str
    measurements: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def measure(self, text):
        self.measurements.append(text)

    def problem(self, text):
        if text not in self.problems:
            self.problems.append(text)

    def absorb(self, other):
        self.measurements += other.measurements
        for text in other.problems:
            self.problem(text)

    def __str__(self):
        head = f"{'PASSED' if self.passed else 'FAILED'}: {self.name}"
        body = [f"  {m}" for m in self.measurements] + [f"  -> {p}" for p in self.problems]
        return "\n".join([head, *body])

    __repr__ = __str__

    def _repr_markdown_(self):
        verdict = "✅ PASSED" if self.passed else "❌ FAILED"
        lines = [f"**{verdict}: {self.name}**", ""] + [f"- {m}" for m in self.measurements]
        lines += [f"- **{p}**" for p in self.problems]
        return "\n".join(lines)


# ---- running student code --------------------------------------------------------------------

def _never_raises(check):
    """Whatever the student's code returns, the check answers with a Report, never a traceback."""
    @functools.wraps(check)
    def guarded(*args, **kwargs):
        try:
            return check(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - a result the check cannot read is the student's problem
            report = Report(check.__name__.removeprefix("check_"))
            report.problem(f"The check could not use what your code returned ({type(error).__name__}: {error}); "
                           f"compare its return values with the docstring.")
            return report
    return guarded


def _try(function, *args, **kwargs):
    """(True, result), or (False, the exception the student's code raised)."""
    try:
        return True, function(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - any error in student code is reported, not raised
        return False, error


def _crash(label, error):
    if isinstance(error, NotImplementedError):
        return f"{label} is not implemented yet: replace `raise NotImplementedError()` with your code."
    return f"{label} raised {type(error).__name__}: {error}"


def _call(report, label, function, *args, **kwargs):
    ok, result = _try(function, *args, **kwargs)
    if not ok:
        report.problem(_crash(label, result))
    return ok, result if ok else None


def _unpack(report, label, result, count):
    if not isinstance(result, tuple) or len(result) != count:
        got = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        report.problem(f"{label} must return {count} values, but it returned {got}.")
        return None
    return result


def _floats(value):
    """value as a float64 array, or None when it is not an array of numbers."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _shape_of(value):
    array = _floats(value)
    return f"shape {array.shape}" if array is not None else type(value).__name__


def _scalar(report, label, value):
    """A loss as a float, or None (and a problem) when it is not one number."""
    array = _floats(value)
    if array is None or array.size != 1:
        report.problem(f"{label} must be a single number, the mean over the batch; it has {_shape_of(value)}.")
        return None
    return float(array.reshape(()))


def _check_unchanged(report, label, before, seen, argument, fix):
    if not np.array_equal(before, seen):
        report.problem(f"{label} changed its input array {argument} in place: layers must not modify their "
                       f"arguments ({fix}).")


# ---- comparing -----------------------------------------------------------------------------------

def relative_error(actual, expected, floor=0.0):
    """Largest |actual - expected| divided by the largest entry of either array, or by floor if that is larger.

    0 for two zero arrays.
    """
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    scale = max(np.max(np.abs(actual), initial=0.0), np.max(np.abs(expected), initial=0.0), floor)
    return float(np.max(np.abs(actual - expected)) / scale) if scale > 0 else 0.0


def _close(value, expected, tol=VALUE_TOL):
    return abs(value - expected) <= tol * max(1.0, abs(expected))


def _known_mistake(actual, known, tol):
    """The message of the first typical wrong result that `actual` equals, or None."""
    for candidate, message in known:
        candidate = np.asarray(candidate, dtype=np.float64)
        if candidate.shape == actual.shape and relative_error(actual, candidate) < tol:
            return message
    return None


def compare_gradient(report, label, analytic, expected, tol, batch_size=None, truth="the numerical gradient",
                     known=(), reshape_hint=None, measure=True, floor=0.0):
    """Compare one gradient with the truth and name the usual mistakes. Returns True if it matches.

    known: (array, message) pairs, the results of typical wrong formulas; a gradient equal to one gets its message.
    floor: the smallest scale errors are measured against (see relative_error).
    """
    if analytic is None:
        report.problem(f"{label} is None: did you forget to return it?")
        return False
    actual = _floats(analytic)
    if actual is None:
        report.problem(f"{label} is not an array of numbers (it is a {type(analytic).__name__}).")
        return False
    if actual.shape != expected.shape:
        if actual.ndim == 2 and actual.shape == expected.shape[::-1] and relative_error(actual.T, expected) < tol:
            report.problem(f"{label} is transposed: it has shape {actual.shape} but must have the shape of its "
                           f"variable, {expected.shape}. Swap the order of the product (e.g. x.T @ dout).")
        elif actual.ndim == expected.ndim + 1 and actual.shape[1:] == expected.shape:
            report.problem(f"{label} has shape {actual.shape} but must be {expected.shape}: a bias gradient is "
                           f"summed over the batch (dout.sum(axis=0)), one value per output.")
        elif actual.size == expected.size and relative_error(actual.reshape(expected.shape), expected) < tol:
            hint = reshape_hint or f"reshape it to {expected.shape}"
            report.problem(f"{label} has shape {actual.shape}, expected {expected.shape}: {hint}.")
        else:
            report.problem(f"{label} has shape {actual.shape}, expected {expected.shape}.")
        return False
    if not np.all(np.isfinite(actual)):
        report.problem(f"{label} contains NaN or inf.")
        return False
    error = relative_error(actual, expected, floor)
    if measure:
        report.measure(f"{label}: relative error {error:.1e} (must be below {tol:.0e})")
    if error < tol:
        return True
    report.problem(_known_mistake(actual, known, tol) or _gradient_mistake(label, actual, expected, tol, batch_size,
                                                                           truth))
    return False


def _gradient_mistake(label, actual, expected, tol, batch_size, truth):
    if batch_size and relative_error(actual, batch_size * expected) < tol:
        return (f"{label} is exactly {batch_size} times too large, the batch size: the loss is a mean over the "
                f"batch, so its gradient must be divided by N.")
    if batch_size and relative_error(actual, expected / batch_size) < tol:
        return (f"{label} is exactly {batch_size} times too small, the batch size: it is divided by N once too "
                f"often (or averaged where it should be summed over the batch).")
    if actual.ndim == 2 and actual.shape[0] == actual.shape[1] and relative_error(actual.T, expected) < tol:
        return f"{label} is transposed: swap the order of the product (e.g. x.T @ dout)."
    if relative_error(actual, -expected) < tol:
        return f"{label} has the wrong sign."
    return f"{label} does not match {truth}."


def _numerical_gradient(f, x):
    """Central-difference gradient of the scalar function f at x (a copy of x is nudged)."""
    from course.gradient_check import eval_numerical_gradient  # not in chapter 1's release, whose checks need none
    return eval_numerical_gradient(f, np.array(x, dtype=np.float64))


def _numerical_backward(f, x, dout):
    """What a layer's backward must return: the gradient of sum(f(x) * dout), by central differences."""
    from course.gradient_check import eval_numerical_gradient_array
    return eval_numerical_gradient_array(f, np.array(x, dtype=np.float64), dout)


# ---- fresh inputs ------------------------------------------------------------------------------------

def on_fresh_seeds(check, *functions, attempts=3):
    """Run check(*functions, seed=s) on up to `attempts` fresh seeds; the first passing report, else the last.

    A correct answer fails a numerical comparison only by bad luck, which does not happen
    three draws running; a wrong answer fails every draw. The report names its seed, so a
    failure can be reproduced with the same call and that seed.
    """
    report = None
    for seed in np.random.default_rng().integers(2**32, size=attempts):
        report = check(*functions, seed=int(seed))
        report.measure(f"inputs drawn with seed={int(seed)}")
        if report.passed:
            break
    return report


def on_fresh_inputs(trial, attempts=3):
    """Run trial() (which draws its own inputs and returns None or a message) up to `attempts` times.

    None if one run passes, else the last message.
    """
    message = None
    for _ in range(attempts):
        message = trial()
        if message is None:
            return None
    return message


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


# ---- chapter 2: layers ------------------------------------------------------------------------------------
# The definitions the chapter states; the checks compute the truth from these, never from the student's code.

def _affine(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b


def _sigmoid(x):  # only ever called on moderate inputs, where exp(-x) cannot overflow
    return 1 / (1 + np.exp(-x))


def _softmax(scores):
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _softmax_loss_value(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(y)), y].mean())


def _away_from_zero(rng, shape, low):
    """Random entries with |value| in [low, 2] and random signs; the first is positive, the second negative."""
    values = rng.uniform(low, 2, shape) * rng.choice([-1.0, 1.0], shape)
    values.flat[0], values.flat[1] = abs(values.flat[0]), -abs(values.flat[1])
    return values


def _with_either_cache(report, attempt, documented_cache, own_forward):
    """Run attempt(trial_report, cache) with the documented cache; if that fails, with the student's own forward's.

    A student may cache differently and still be right, so the second passing is a pass. When
    both fail, the diagnosis comes from the documented cache (independent of the forward),
    unless the backward could not even use that cache and got further with its own.
    """
    first = Report(report.name)
    usable = attempt(first, documented_cache())
    if not first.passed:
        ok, forward = _try(own_forward)
        if ok and isinstance(forward, tuple) and len(forward) == 2:
            second = Report(report.name)
            second_usable = attempt(second, forward[1])
            if second.passed:
                second.measure("(checked with the cache your own forward returns, which differs from the "
                               "documented one: that is fine)")
            if second.passed or (second_usable and not usable):
                first = second
    report.absorb(first)


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


# ---- chapters 3 and 4: nets ---------------------------------------------------------------------------

_ACTIVATIONS = {"relu": lambda a: np.maximum(a, 0), "sigmoid": _sigmoid, "none": lambda a: a}


def _net_scores(params, X, activation, last=None):
    """The scores of {affine -> activation} x (L - 1) -> affine, by the definition.

    last: an activation put on the scores too (a typical mistake the checks recognise).
    """
    L = sum(1 for k in params if k.startswith("W"))
    hidden = X
    for i in range(1, L):
        hidden = _ACTIVATIONS[activation](hidden @ params[f"W{i}"] + params[f"b{i}"])
    scores = hidden @ params[f"W{L}"] + params[f"b{L}"]
    return _ACTIVATIONS[last](scores) if last else scores


def _net_loss(params, X, y, reg, activation):
    l2 = sum(float(np.sum(v * v)) for k, v in params.items() if k.startswith("W"))
    return _softmax_loss_value(_net_scores(params, X, activation), y) + 0.5 * reg * l2


def _drawn_well(params, X):
    """Do the parameters suit a gradient check, with ReLU or sigmoid hidden layers alike?

    Every layer's inputs, scores included, stay KINK_MARGIN away from 0, so no central difference
    straddles a ReLU kink (even in a student's net that uses ReLU where sigmoid was asked for, or
    puts one on the scores); and every layer's inputs have both signs, so a missing ReLU shows
    and a ReLU on the scores cannot kill them all.
    """
    L = sum(1 for k in params if k.startswith("W"))
    for activation in ("relu", "sigmoid"):
        hidden = X
        for i in range(1, L + 1):
            a = hidden @ params[f"W{i}"] + params[f"b{i}"]
            if np.min(np.abs(a)) < KINK_MARGIN or not (np.any(a < 0) and np.any(a > 0)):
                return False
            hidden = _ACTIVATIONS[activation](a)
    return True


@dataclass
class _NetCase:
    """One configuration a net is checked on: sizes, data, and parameters chosen by the check."""
    dims: list  # [D, H1, ..., C]
    activation: str
    X: np.ndarray
    y: np.ndarray
    params: dict
    reg: float

    @property
    def hidden_dims(self):
        return self.dims[1:-1]


def _draw_case(rng, hidden_dims, activation, reg):
    D, C, N = (int(v) for v in rng.integers(3, 7, 3))
    X, y = rng.standard_normal((N, D)), rng.integers(0, C, N)
    dims = [D, *(int(h) for h in hidden_dims), C]
    for _ in range(100):
        params = {}
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            params[f"W{i}"] = rng.normal(0, 1.2 / np.sqrt(fan_in), (fan_in, fan_out))
            params[f"b{i}"] = rng.normal(0, 0.5, fan_out)
        if _drawn_well(params, X):
            break
    return _NetCase(dims, activation, X, y, params, reg)


def _model(report, label, make, case, reg):
    """The student's model for reg, holding the case's parameters in float64; None (and a problem) if not built."""
    ok, model = _call(report, label, make, reg)
    if not ok:
        return None
    if hasattr(model, "dtype"):
        model.dtype = np.float64  # gradient checks are noise in float32
    if not isinstance(getattr(model, "params", None), dict):
        model.params = {}
    for name, value in case.params.items():  # the check's values, not the student's initialisation
        model.params[name] = value.copy()
    return model


def _check_scores(report, model, case, where, chosen):
    """loss(X) against the definition's scores; chosen: the net takes its activation as an argument."""
    ok, scores = _try(model.loss, case.X.copy())
    if not ok:
        report.problem(where + (_crash("loss", scores) if isinstance(scores, NotImplementedError) else
                                f"loss(X) without labels raised {type(scores).__name__}: {scores}. With y=None, "
                                f"return the scores (N, C) before computing any loss."))
        return None
    expected = _net_scores(case.params, case.X, case.activation)
    actual = _floats(scores)
    if actual is None or actual.shape != expected.shape:
        report.problem(f"{where}loss(X) without labels must return the scores, shape (N, C) = {expected.shape}; "
                       f"it returned {_shape_of(scores) if actual is not None else type(scores).__name__}.")
        return None
    error = relative_error(actual, expected)
    report.measure(f"{where}scores: relative error {error:.1e} (must be below {VALUE_TOL:.0e})")
    if error < VALUE_TOL:
        return actual
    other = "sigmoid" if case.activation == "relu" else "relu"
    act = case.activation
    with np.errstate(all="ignore"):
        known = [(_net_scores(case.params, case.X, "none"),
                  f"The hidden layers have no activation: apply {act} after every affine layer but the last."
                  if chosen else f"The hidden layer has no {act}: hidden = {act}(X W1 + b1)."),
                 (_net_scores(case.params, case.X, other),
                  f"The net uses {other} although activation={act!r}: use the activation the constructor was given."
                  if chosen else f"The hidden layer must use {act}, not {other}."),
                 (_net_scores(case.params, case.X, act, last=act),
                  "The last layer must have no activation: the scores are h W + b of the last layer, fed straight "
                  "to the softmax.")]
    mistake = _known_mistake(actual, known if case.hidden_dims else known[2:], VALUE_TOL)
    report.problem(where + (mistake or f"The scores are wrong: each hidden layer is {act}(h W + b), the last "
                                       f"layer h W + b."))
    return actual


def _check_loss_value(report, model0, model_r, case, student_scores, where):
    """The data loss at reg = 0, then what regularization adds to it (0.5 * reg * sum of W**2)."""
    ok, result = _call(report, f"{where}loss(X, y)", model0.loss, case.X.copy(), case.y.copy())
    result = _unpack(report, f"{where}loss(X, y)", result, 2) if ok else None
    loss0 = _scalar(report, f"{where}The loss", result[0]) if result else None
    if loss0 is None:
        return
    expected = _softmax_loss_value(_net_scores(case.params, case.X, case.activation), case.y)
    report.measure(f"{where}loss at reg=0: {loss0:.6f}, expected {expected:.6f}")
    # wrong scores have their own message: a loss that is the softmax loss of those scores gets no second one
    consistent = student_scores is not None and np.all(np.isfinite(student_scores)) and \
        _close(loss0, _softmax_loss_value(student_scores, case.y))
    if not (_close(loss0, expected) or consistent):
        N = len(case.y)
        message = (f"The loss is {N} times too large, the batch size: take the mean over the batch, not the sum."
                   if _close(loss0, N * expected) else
                   "The data loss is wrong: it is the softmax loss (the mean over the batch) of the scores.")
        report.problem(where + message)
    if case.reg == 0:
        return
    ok, result = _call(report, f"{where}loss(X, y) with reg={case.reg:.2f}", model_r.loss, case.X.copy(), case.y.copy())
    result = _unpack(report, f"{where}loss(X, y)", result, 2) if ok else None
    loss_r = _scalar(report, f"{where}The loss", result[0]) if result else None
    if loss_r is not None:
        _check_l2_term(report, loss_r - loss0, case, where)


def _check_l2_term(report, added, case, where):
    squares = {k: float(np.sum(v * v)) for k, v in case.params.items()}
    weights = [k for k in squares if k.startswith("W")]
    l2 = 0.5 * case.reg * sum(squares[k] for k in weights)
    report.measure(f"{where}regularization adds {added:.6f} to the loss, expected 0.5 * reg * sum(W**2) = {l2:.6f}")
    if _close(added, l2):
        return
    known = [(0.0, "The regularization term is missing from the loss: add 0.5 * reg * sum(W**2) for every weight "
                   "matrix."),
             (2 * l2, "The regularization term is twice too large: use 0.5 * reg * sum(W**2), whose gradient is "
                      "reg * W."),
             (0.5 * case.reg * sum(squares.values()), "The biases are regularized too: the L2 term covers the weights "
                                                      "W only.")]
    if len(weights) > 1:
        known += [(0.5 * case.reg * squares[weights[-1]], f"The L2 term covers only the last weight matrix, "
                                                          f"{weights[-1]}: sum 0.5 * reg * sum(W**2) over every W."),
                  (0.5 * case.reg * squares["W1"], "The L2 term covers only W1: sum 0.5 * reg * sum(W**2) over "
                                                   "every W.")]
    report.problem(where + next((m for v, m in known if _close(added, v)),
                                "The regularization term has the wrong value: 0.5 * reg * sum(W**2) over all weight "
                                "matrices."))


def _data_gradients(case):
    """The numerical gradient of the data loss (reg = 0) of the definition, for every parameter."""
    def data_loss(name, value):
        return _net_loss({**case.params, name: value}, case.X, case.y, 0.0, case.activation)

    return {k: _numerical_gradient(lambda v, k=k: data_loss(k, v), p) for k, p in case.params.items()}


def _check_net_gradients(report, model, case, reg, data_gradients, where):
    """Every gradient of the student's loss(X, y) at reg; True if they are right."""
    ok, result = _call(report, f"{where}loss(X, y)", model.loss, case.X.copy(), case.y.copy())
    result = _unpack(report, f"{where}loss(X, y)", result, 2) if ok else None
    if result is None:
        return False
    loss, grads = result
    if not isinstance(grads, dict) or set(case.params) - set(grads):
        missing = sorted(set(case.params) - set(grads)) if isinstance(grads, dict) else sorted(case.params)
        report.problem(f"{where}grads has no entry for {missing}: every parameter needs a gradient, under its key.")
        return False
    truth = {k: g + reg * case.params[k] if k.startswith("W") else g for k, g in data_gradients.items()}
    checked = _compare_net_gradients(grads, truth, data_gradients, case, reg)
    if checked.passed:
        worst = max(relative_error(grads[k], truth[k], _net_floor(truth)) for k in case.params)
        report.measure(f"{where}gradients at reg={reg:.2f}: largest relative error {worst:.1e} "
                       f"(must be below {NET_GRADIENT_TOL:.0e})")
        return True
    for problem in checked.problems:
        report.problem(where + problem)
    return False


def _net_floor(gradients):
    """A thousandth of a model's largest gradient entry: the least scale any of its gradients is measured on.

    In a deep sigmoid net the first layer's gradients can be a thousand times smaller than the
    last's, so that the rounding noise of the numerical gradient would be a sizeable part of them.
    """
    return 1e-3 * max(float(np.max(np.abs(g), initial=0.0)) for g in gradients.values())


_NET_MISTAKES = {  # one message for all the parameters that share a mistake
    "missing": "The regularization gradient is missing from {names}: add reg * W to the gradient of each weight W.",
    "twice": "{names} {have} the regularization gradient twice: the gradient of 0.5 * reg * sum(W**2) is reg * W.",
    "biases": "{names} {have} reg * b added: the biases are not regularized.",
    "mismatch": "{names} {do} not match the numerical gradient of the loss.",
}


def _compare_net_gradients(grads, truth, data_gradients, case, reg):
    """A report on every gradient, one problem per kind of mistake (naming all the parameters it affects)."""
    wrong = {}
    floor = _net_floor(truth)
    for name, param in case.params.items():
        label, actual = f"grads['{name}']", _floats(grads[name])
        kind = None
        if reg > 0 and actual is not None and actual.shape == param.shape and \
                relative_error(actual, truth[name], floor) >= NET_GRADIENT_TOL:
            known = [(data_gradients[name], "missing"), (truth[name] + reg * param, "twice")] \
                if name.startswith("W") else [(truth[name] + reg * param, "biases")]
            kind = _known_mistake(actual, known, NET_GRADIENT_TOL)
        if kind is None:
            scratch = Report("")
            if compare_gradient(scratch, label, grads[name], truth[name], NET_GRADIENT_TOL, batch_size=len(case.y),
                                truth="the numerical gradient of the loss", measure=False, floor=floor):
                continue
            kind = "mismatch" if scratch.problems[0].startswith(f"{label} does not match") else scratch.problems[0]
        wrong.setdefault(kind, []).append(label)
    checked = Report("")
    for kind, labels in wrong.items():
        many = len(labels) > 1
        checked.problem(_NET_MISTAKES[kind].format(names=", ".join(labels), have="have" if many else "has",
                                                   do="do" if many else "does") if kind in _NET_MISTAKES else kind)
    return checked


def _two_layer_maker(TwoLayerNet, case):
    D, H, C = case.dims
    return lambda reg: TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=0.1, reg=reg)


def _fc_maker(FullyConnectedNet, case):
    D, C = case.dims[0], case.dims[-1]
    return lambda reg: FullyConnectedNet(list(case.hidden_dims), input_dim=D, num_classes=C, reg=reg,
                                         weight_scale=0.1, activation=case.activation, dtype=np.float64)


def _two_layer_case(rng, reg=None):
    return _draw_case(rng, [int(rng.integers(3, 7))], "relu", float(rng.uniform(0.5, 1.5)) if reg is None else reg)


def _fc_cases(rng):
    """The depths (0, 1 and 3 hidden layers) and activations chapter 4's nets are checked with."""
    layouts = ((0, "relu"), (1, "relu"), (1, "sigmoid"), (3, "relu"), (3, "sigmoid"))
    return [_draw_case(rng, rng.integers(3, 7, depth), activation, float(rng.uniform(0.5, 1.5)))
            for depth, activation in layouts]


def _fc_where(case):
    return f"With hidden_dims={case.hidden_dims}, activation={case.activation!r}: "


def _check_loss_case(report, make, case, where, chosen):
    model0, model_r = (_model(report, f"{where}the constructor", make, case, reg) for reg in (0.0, case.reg))
    if model0 is None or model_r is None:
        return
    scores = _check_scores(report, model0, case, where, chosen)
    _check_loss_value(report, model0, model_r, case, scores, where)


def _check_gradient_case(report, make, case, where, regs):
    data_gradients = _data_gradients(case)
    for reg in regs:
        model = _model(report, f"{where}the constructor", make, case, reg)
        if model is None or not _check_net_gradients(report, model, case, reg, data_gradients, where):
            return False
    return True


def _std_matches(report, label, W, target, alternatives=()):
    """Is the standard deviation of the weights W `target` (within STD_MARGIN standard errors, mean near 0)?"""
    W = _floats(W)
    if W is None or W.size < 2:
        report.problem(f"{label} is not an array of weights.")
        return False
    std, mean, n = float(W.std()), float(W.mean()), W.size
    margin = STD_MARGIN / np.sqrt(2 * n)  # the relative standard error of a sample std is 1 / sqrt(2n)
    report.measure(f"std of {label}: {std:.4g}, expected {target:.4g} (+-{margin:.0%})")
    if std == 0:
        report.problem(f"{label} is constant: draw random weights (they break the symmetry between units).")
    elif abs(mean) > STD_MARGIN * std / np.sqrt(n):
        report.problem(f"The weights of {label} have mean {mean:.3g}, not 0: draw them from a Gaussian centred at 0, "
                       f"scale * standard_normal(shape).")
    elif abs(std / target - 1) > margin:
        report.problem(next((m for value, m in alternatives if abs(std / value - 1) <= margin),
                            f"{label} has standard deviation {std:.3g}, expected {target:.3g}."))
    else:
        return True
    return False


def _check_param_shapes(report, params, expected, where=""):
    if not isinstance(params, dict):
        report.problem(f"{where}model.params must be a dict of arrays, not {type(params).__name__}.")
        return False
    for name, shape in expected.items():
        if name not in params:
            report.problem(f"{where}params has no {name!r}: the keys are {', '.join(expected)}.")
        elif np.shape(params[name]) != shape:
            turned = " (transposed: a weight matrix is (inputs, outputs))" \
                if np.shape(params[name]) == shape[::-1] else ""
            report.problem(f"{where}params[{name!r}] has shape {np.shape(params[name])}, expected {shape}{turned}.")
        elif name.startswith("b") and np.any(_floats(params[name]) != 0):
            report.problem(f"{where}{name} must start at zero: initialise the biases with np.zeros.")
    return report.passed


def _numeric_scale_alternatives(scale):
    return [(np.sqrt(scale), "weight_scale is the standard deviation, not the variance: multiply the standard "
                             "normal draws by weight_scale itself."),
            (1.0, "The weights have standard deviation 1: multiply the standard normal draws by weight_scale.")]


@_never_raises
def check_two_layer_init(TwoLayerNet, seed=0):
    """TwoLayerNet's parameters: W1 (D, H), b1 (H,), W2 (H, C), b2 (C,), zero biases, weights of std weight_scale."""
    report = Report("TwoLayerNet initialisation")
    rng = np.random.default_rng(seed)
    D, H, C = int(rng.integers(60, 100)), int(rng.integers(20, 50)), int(rng.integers(8, 15))  # no two alike
    scale = float(np.exp(rng.uniform(np.log(0.01), np.log(0.2))))
    ok, model = _call(report, "TwoLayerNet(...)", TwoLayerNet, input_dim=D, hidden_dim=H, num_classes=C,
                      weight_scale=scale, reg=0.0)
    if not ok:
        return report
    params = getattr(model, "params", None)
    _check_param_shapes(report, params, {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)})
    for name in ("W1", "W2"):  # after the first wrong one, the second would only repeat its message
        if isinstance(params, dict) and name in params and \
                not _std_matches(report, name, params[name], scale, _numeric_scale_alternatives(scale)):
            break
    return report


@_never_raises
def check_two_layer_loss(TwoLayerNet, seed=0):
    """TwoLayerNet.loss with the check's parameters: the scores, the data loss and the L2 term 0.5 * reg * sum(W**2)."""
    report = Report("TwoLayerNet.loss: scores and loss value")
    case = _two_layer_case(np.random.default_rng(seed))
    _check_loss_case(report, _two_layer_maker(TwoLayerNet, case), case, "", chosen=False)
    return report


@_never_raises
def check_two_layer_gradients(TwoLayerNet, seed=0):
    """Every gradient of TwoLayerNet.loss(X, y), at reg = 0 and reg > 0, against the numerical gradient of the loss."""
    report = Report("TwoLayerNet.loss: gradients")
    case = _two_layer_case(np.random.default_rng(seed))
    _check_gradient_case(report, _two_layer_maker(TwoLayerNet, case), case, "", (0.0, case.reg))
    return report


@_never_raises
def check_two_layer_net(TwoLayerNet, reg=0.7, seed=0):
    """Scores, loss and gradients of TwoLayerNet at one reg, for the notebook's check cell."""
    report = Report(f"TwoLayerNet loss and gradients (reg={reg})")
    case = _two_layer_case(np.random.default_rng(seed), reg)
    make = _two_layer_maker(TwoLayerNet, case)
    _check_loss_case(report, make, case, "", chosen=False)
    _check_gradient_case(report, make, case, "", (reg,))
    return report


@_never_raises
def check_fc_init(FullyConnectedNet, seed=0):
    """Shapes for 0, 1 and 3 hidden layers, zero biases, std weight_scale, and "he": sqrt(2 / fan_in) per layer."""
    report = Report("FullyConnectedNet initialisation")
    rng = np.random.default_rng(seed)
    D, C = int(rng.integers(5, 12)), int(rng.integers(2, 6))
    for depth in (0, 1, 3):
        hidden = [int(h) for h in rng.integers(3, 9, depth)]
        dims = [D, *hidden, C]
        where = f"With hidden_dims={hidden}: "
        ok, model = _call(report, f"{where}FullyConnectedNet({hidden}, input_dim={D}, num_classes={C})",
                          FullyConnectedNet, hidden, input_dim=D, num_classes=C, weight_scale=0.1)
        expected = {}
        for i in range(1, len(dims)):
            expected.update({f"W{i}": (dims[i - 1], dims[i]), f"b{i}": (dims[i],)})
        if not ok or not _check_param_shapes(report, getattr(model, "params", None), expected, where):
            return report

    D, H, C = int(rng.integers(60, 120)), int(rng.integers(40, 80)), int(rng.integers(10, 20))
    scale = float(np.exp(rng.uniform(np.log(0.01), np.log(0.2))))
    ok, model = _call(report, "FullyConnectedNet(...)", FullyConnectedNet, [H], input_dim=D, num_classes=C,
                      weight_scale=scale)
    if not ok or not all(_std_matches(report, f"W{i} (weight_scale={scale:.3g})", model.params[f"W{i}"], scale,
                                      _numeric_scale_alternatives(scale)) for i in (1, 2)):
        return report

    # fan-ins far apart, so that every wrong fan-in gives a clearly different std
    dims = [int(rng.integers(lo, hi)) for lo, hi in ((300, 500), (60, 120), (15, 30), (5, 10))]
    ok, model = _call(report, 'FullyConnectedNet(..., weight_scale="he")', FullyConnectedNet, dims[1:-1],
                      input_dim=dims[0], num_classes=dims[-1], weight_scale="he")
    if not ok:
        return report
    for i in range(1, len(dims)):
        fan_in, fan_out = dims[i - 1], dims[i]
        alternatives = [(np.sqrt(1 / fan_in), 'weight_scale="he" means std sqrt(2 / fan_in), not sqrt(1 / fan_in).'),
                        (2 / fan_in, 'weight_scale="he" means std sqrt(2 / fan_in): take the square root of '
                                     '2 / fan_in.'),
                        (np.sqrt(2 / dims[0]), 'weight_scale="he" is per layer: use each layer\'s own fan_in (the '
                                               'number of rows of its W), not input_dim.'),
                        (np.sqrt(2 / fan_out), "fan_in is the number of inputs of a layer (the rows of its W), "
                                               "not its outputs: std sqrt(2 / fan_in).")]
        if not _std_matches(report, f'W{i} (weight_scale="he", fan_in={fan_in})', model.params[f"W{i}"],
                            np.sqrt(2 / fan_in), alternatives):
            return report
    return report


@_never_raises
def check_fc_loss(FullyConnectedNet, seed=0):
    """FullyConnectedNet.loss with the check's parameters: scores, data loss and L2 term, for depths 0, 1, 3."""
    report = Report("FullyConnectedNet.loss: scores and loss value")
    for case in _fc_cases(np.random.default_rng(seed)):
        _check_loss_case(report, _fc_maker(FullyConnectedNet, case), case, _fc_where(case), chosen=True)
        if not report.passed:
            break
    return report


@_never_raises
def check_fc_gradients(FullyConnectedNet, seed=0):
    """Every gradient of FullyConnectedNet.loss(X, y), for depths 0, 1, 3, ReLU and sigmoid, reg = 0 and reg > 0."""
    report = Report("FullyConnectedNet.loss: gradients")
    for case in _fc_cases(np.random.default_rng(seed)):
        if not _check_gradient_case(report, _fc_maker(FullyConnectedNet, case), case, _fc_where(case),
                                    (0.0, case.reg)):
            break
    return report


@_never_raises
def check_fully_connected_net(FullyConnectedNet, hidden_dims, reg=0.7, seed=0):
    """Scores, loss and gradients of FullyConnectedNet(hidden_dims, ...) with ReLU, for the check cell."""
    report = Report(f"FullyConnectedNet{list(hidden_dims)} loss and gradients (reg={reg})")
    case = _draw_case(np.random.default_rng(seed), hidden_dims, "relu", reg)
    make = _fc_maker(FullyConnectedNet, case)
    _check_loss_case(report, make, case, "", chosen=True)
    _check_gradient_case(report, make, case, "", (reg,))
    return report
