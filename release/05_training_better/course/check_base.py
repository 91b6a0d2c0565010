"""What every check is made of: the Report it returns, running a student's code without a traceback,
comparing arrays and gradients, fresh seeds for hidden tests, and the definitions the chapters state
(the checks compute the truth from these, never from the student's code).

The checks themselves live in layer_checks (chapters 1 and 2) and net_checks (chapters 3 and 4);
`course.checks` gathers them for the notebooks.
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


# ---- the definitions the chapters state ------------------------------------------------------------------------------------
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
