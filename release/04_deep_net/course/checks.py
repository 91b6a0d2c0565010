"""Self-checks for the exercises: they measure, and when something is off they say what is most likely wrong.

Each check takes the student's functions, runs them on seeded inputs, and returns
a Report: Jupyter shows it when it is a cell's last expression, and graders read
``report.passed`` and ``report.problems``. Gradients are compared with central
differences in float64, never with a reference implementation, so these checks
ship with every chapter without giving an answer away.
"""
from dataclasses import dataclass, field

import numpy as np

from course.compare import rel_error


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
        self.problems.append(text)

    def __str__(self):
        head = f"{'PASSED' if self.passed else 'FAILED'}: {self.name}"
        body = [f"  {m}" for m in self.measurements] + [f"  -> {p}" for p in self.problems]
        return "\n".join([head, *body])

    __repr__ = __str__

    def _repr_markdown_(self):
        mark = "✅" if self.passed else "❌"
        lines = [f"{mark} **{self.name}**", ""] + [f"- {m}" for m in self.measurements]
        lines += [f"- **{p}**" for p in self.problems]
        return "\n".join(lines)


def _call(report, label, function, *args):
    """Call a student's function; a crash becomes a problem in the report instead of a traceback."""
    try:
        return True, function(*args)
    except NotImplementedError:
        report.problem(f"{label} is not implemented yet: replace `raise NotImplementedError` with your code.")
    except Exception as error:  # noqa: BLE001 - any error in student code is reported, not raised
        report.problem(f"{label} raised {type(error).__name__}: {error}")
    return False, None


def _unpack(report, label, result, count):
    if not isinstance(result, tuple) or len(result) != count:
        got = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        report.problem(f"{label} must return {count} values, but it returned {got}.")
        return None
    return result


def compare_gradient(report, label, analytic, numeric, tol, batch_size=None):
    """Compare one gradient with its numerical value and diagnose the usual mistakes. Returns True if it matches."""
    if analytic is None:
        report.problem(f"{label} is None: did you forget to return it?")
        return False
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != numeric.shape:
        if analytic.shape == numeric.shape[::-1] and rel_error(analytic.T, numeric) < tol:
            report.problem(f"{label} is transposed: it has shape {analytic.shape} but must have the shape of its "
                           f"parameter, {numeric.shape}. Swap the order of the product (e.g. x.T @ dout).")
        elif analytic.ndim == numeric.ndim + 1 and analytic.shape[1:] == numeric.shape:
            report.problem(f"{label} has shape {analytic.shape} but must be {numeric.shape}: a bias gradient is "
                           f"summed over the batch (dout.sum(axis=0)), one value per output.")
        else:
            report.problem(f"{label} has shape {analytic.shape}, expected {numeric.shape}.")
        return False
    if not np.all(np.isfinite(analytic)):
        report.problem(f"{label} contains NaN or inf.")
        return False
    error = rel_error(analytic, numeric)
    report.measure(f"{label}: relative error {error:.2e} (must be below {tol:.0e})")
    if error < tol:
        return True
    big = np.abs(numeric) > 1e-6 * np.max(np.abs(numeric))
    ratios = analytic[big] / numeric[big] if np.any(big) else np.array([])
    if batch_size and ratios.size and np.allclose(ratios, batch_size, rtol=1e-3):
        report.problem(f"{label} is exactly {batch_size} times too large, the batch size: the loss is a mean over "
                       f"the batch, so its gradient must be divided by N.")
    elif batch_size and ratios.size and np.allclose(ratios, 1 / batch_size, rtol=1e-3):
        report.problem(f"{label} is exactly {batch_size} times too small, the batch size: it is divided by N once "
                       f"too often (or averaged where it should be summed over the batch).")
    elif analytic.ndim == 2 and analytic.shape[0] == analytic.shape[1] and rel_error(analytic.T, numeric) < tol:
        report.problem(f"{label} is transposed: swap the order of the product (e.g. x.T @ dout).")
    elif ratios.size and np.allclose(ratios, -1, rtol=1e-3):
        report.problem(f"{label} has the wrong sign.")
    else:
        report.problem(f"{label} does not match the numerical gradient.")
    return False


def on_fresh_inputs(trial, attempts=3):
    """Run trial() on up to `attempts` fresh random draws; None if one passes, else its failure message.

    trial draws its own inputs and returns None or a message. A correct gradient fails a
    numerical comparison only by bad luck (an input on a ReLU kink, an entry that is almost
    zero), which does not happen three draws running; a wrong gradient fails every draw.
    """
    message = None
    for _ in range(attempts):
        message = trial()
        if message is None:
            return None
    return message


def _numeric_grad_array(f, x, dout):
    from course.gradient_check import eval_numerical_gradient_array
    return eval_numerical_gradient_array(f, x.copy(), dout)


def _numeric_grad(f, x):
    from course.gradient_check import eval_numerical_gradient
    return eval_numerical_gradient(f, x.copy())


def _check_unchanged(report, label, before, after):
    if not np.array_equal(before, after):
        report.problem(f"{label} changed its input array in place; layers must not modify their arguments "
                       f"(use `dout * mask`, not `dout[mask] = 0`).")


# ---- chapter 1: numerical derivatives ----------------------------------------------------

def check_difference_quotients(forward_difference, central_difference):
    """forward_difference(f, x, h) and central_difference(f, x, h) on sin at x = 1, where the true derivative is cos(1)."""
    report = Report("forward_difference and central_difference")
    exact = np.cos(1.0)
    for label, fn, order in (("forward_difference", forward_difference, 1), ("central_difference", central_difference, 2)):
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
            report.problem(f"{label} is far from cos(1) = {exact:.4f}: check the formula (divide by h, or by 2h for central).")
        elif order == 1 and shrink > 50:
            report.problem("forward_difference behaves like a central difference (error shrinks like h^2): "
                           "use (f(x + h) - f(x)) / h.")
        elif order == 2 and shrink < 50:
            report.problem(f"central_difference's error shrank only {shrink:.0f}x when h shrank 10x; a central "
                           f"difference shrinks about 100x: use (f(x + h) - f(x - h)) / (2h).")
    return report


def check_numerical_gradient(numerical_gradient):
    """numerical_gradient(f, x) against the exact gradient of f(x) = sum(c * sin(x)) on an array of odd shape."""
    report = Report("numerical_gradient")
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (3, 4, 2))  # cos(x) >= 0.54 here, so relative errors stay meaningful
    c = rng.uniform(0.5, 2.0, x.shape)
    before = x.copy()
    ok, grad = _call(report, "numerical_gradient", numerical_gradient, lambda v: float(np.sum(c * np.sin(v))), x)
    if not ok:
        return report
    if not np.array_equal(x, before):
        report.problem("numerical_gradient left x changed: restore each entry after nudging it "
                       "(x[ix] = old), or later entries are measured at the wrong point.")
    exact = c * np.cos(before)
    if compare_gradient(report, "gradient", grad, exact, tol=1e-7):
        return report
    if grad is not None and np.shape(grad) == exact.shape and rel_error(grad, exact) < 1e-3:
        report.problem("The error looks like a forward difference (about h): use central differences "
                       "(f(x + h) - f(x - h)) / (2h).")
    return report


# ---- chapter 2: layers ---------------------------------------------------------------------

def check_affine_forward(affine_forward):
    report = Report("affine_forward")
    x = np.linspace(-0.1, 0.5, 2 * 4 * 3).reshape(2, 4, 3)
    w = np.linspace(-0.2, 0.3, 12 * 3).reshape(12, 3)
    b = np.array([-0.3, 0.1, 0.2])
    ok, result = _call(report, "affine_forward", affine_forward, x, w, b)
    result = _unpack(report, "affine_forward", result, 2) if ok else None
    if result is None:
        return report
    out = np.asarray(result[0])
    expected = x.reshape(2, -1) @ w + b  # the definition itself, on fixed numbers
    if out.shape != expected.shape:
        report.problem(f"out has shape {out.shape}, expected {expected.shape}: flatten each example of x to a row "
                       f"of {w.shape[0]} numbers (x.reshape(N, -1)) before multiplying by w.")
        return report
    error = rel_error(out, expected)
    report.measure(f"out: relative error {error:.2e} (must be below 1e-9)")
    if error > 1e-9:
        report.problem("out is wrong: it must be x (one row per example) @ w + b.")
    return report


def check_affine_backward(affine_forward, affine_backward, seed=0):
    report = Report("affine_backward")
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((6, 2, 5)), rng.standard_normal((10, 4)), rng.standard_normal(4)
    dout = rng.standard_normal((6, 4))
    ok, forward = _call(report, "affine_forward", affine_forward, x, w, b)
    if not ok or _unpack(report, "affine_forward", forward, 2) is None:
        return report
    ok, grads = _call(report, "affine_backward", affine_backward, dout, forward[1])
    grads = _unpack(report, "affine_backward", grads, 3) if ok else None
    if grads is None:
        return report
    numeric = [_numeric_grad_array(lambda v, i=i: affine_forward(*[v if j == i else a for j, a in enumerate((x, w, b))])[0],
                                   (x, w, b)[i], dout) for i in range(3)]
    for label, analytic, num in zip(("dx", "dw", "db"), grads, numeric):
        compare_gradient(report, label, analytic, num, tol=1e-7, batch_size=len(x))
    return report


def check_relu(relu_forward, relu_backward, seed=0):
    report = Report("relu_forward and relu_backward")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((5, 7))
    x[np.abs(x) < 0.05] += 0.1  # stay off the kink, where the numerical gradient is exact
    dout = rng.standard_normal(x.shape)
    ok, forward = _call(report, "relu_forward", relu_forward, x)
    if not ok or _unpack(report, "relu_forward", forward, 2) is None:
        return report
    if rel_error(np.asarray(forward[0], dtype=float), np.maximum(x, 0)) > 1e-12:
        report.problem("relu_forward's out is wrong: it must be max(0, x), elementwise.")
        return report
    dout_before = dout.copy()
    ok, dx = _call(report, "relu_backward", relu_backward, dout, forward[1])
    if not ok:
        return report
    _check_unchanged(report, "relu_backward", dout_before, dout)
    numeric = _numeric_grad_array(lambda v: relu_forward(v)[0], x, dout_before)
    if not compare_gradient(report, "dx", dx, numeric, tol=1e-9) and np.shape(dx) == x.shape:
        dx = np.asarray(dx, dtype=float)
        if np.allclose(dx, dout_before * (dout_before > 0)):
            report.problem("The ReLU mask is taken from the wrong tensor: it must be where the *input* x was "
                           "positive (x > 0), not where dout is positive.")
        elif np.allclose(dx, (x > 0).astype(float)):
            report.problem("dx is only the mask: multiply it by the upstream gradient dout.")
    return report


def check_sigmoid(sigmoid_forward, sigmoid_backward, seed=0):
    report = Report("sigmoid_forward and sigmoid_backward")
    rng = np.random.default_rng(seed)
    x = 3 * rng.standard_normal((4, 6))
    dout = rng.standard_normal(x.shape)
    ok, forward = _call(report, "sigmoid_forward", sigmoid_forward, x)
    if not ok or _unpack(report, "sigmoid_forward", forward, 2) is None:
        return report
    if rel_error(np.asarray(forward[0], dtype=float), 1 / (1 + np.exp(-x))) > 1e-9:
        report.problem("sigmoid_forward's out is wrong: it must be 1 / (1 + exp(-x)).")
        return report
    ok, dx = _call(report, "sigmoid_backward", sigmoid_backward, dout, forward[1])
    if ok:
        numeric = _numeric_grad_array(lambda v: sigmoid_forward(v)[0], x, dout)
        compare_gradient(report, "dx", dx, numeric, tol=1e-7)
    with np.errstate(all="ignore"):
        ok, big = _call(report, "sigmoid_forward", sigmoid_forward, np.array([-1000.0, 1000.0]))
    if ok and not np.all(np.isfinite(np.asarray(big[0], dtype=float))):
        report.problem("sigmoid_forward gives NaN or inf for inputs of +-1000: compute it so that exp() never "
                       "sees a large positive number (e.g. via tanh, or separate formulas for x >= 0 and x < 0).")
    return report


def check_softmax_loss(softmax_loss, seed=0):
    report = Report("softmax_loss")
    rng = np.random.default_rng(seed)
    N, C = 8, 5
    scores, y = rng.standard_normal((N, C)), rng.integers(0, C, N)
    ok, result = _call(report, "softmax_loss", softmax_loss, scores, y)
    result = _unpack(report, "softmax_loss", result, 2) if ok else None
    if result is None:
        return report
    loss, dscores = result
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(probs[np.arange(N), y]))
    report.measure(f"loss: {float(loss):.6f}, expected {expected:.6f}")
    if abs(float(loss) - expected) > 1e-9:
        if abs(float(loss) - N * expected) < 1e-6:
            report.problem(f"The loss is {N} times too large, the batch size: take the mean over the batch, not the sum.")
        else:
            report.problem("The loss is wrong: it is the mean over the batch of -log(softmax(scores)[i, y[i]]).")
    numeric = _numeric_grad(lambda s: softmax_loss(s, y)[0], scores)
    compare_gradient(report, "dscores", dscores, numeric, tol=1e-7, batch_size=N)
    with np.errstate(all="ignore"):
        ok, big = _call(report, "softmax_loss", softmax_loss, scores * 1000, y)
    if ok and not (np.isfinite(float(big[0])) and np.all(np.isfinite(big[1]))):
        report.problem("softmax_loss overflows to NaN or inf for large scores (x1000): subtract each row's "
                       "maximum from the scores before exp(); the softmax does not change.")
    return report


# ---- chapters 3 and 4: nets -----------------------------------------------------------------

def check_net(make_model, input_dim, num_classes, reg=0.7, seed=0, label="model"):
    """Gradients of make_model(reg).loss(X, y) against central differences, and its L2 term.

    make_model: reg -> a model with .params and .loss(X, y=None).
    """
    report = Report(f"{label} loss and gradients (reg={reg})")
    rng = np.random.default_rng(seed)
    N = 5
    X, y = rng.standard_normal((N, input_dim)), rng.integers(0, num_classes, N)
    ok, plain = _call(report, f"{label}(reg=0)", make_model, 0.0)
    ok = ok and _call(report, f"{label}(reg={reg})", make_model, reg)[0]
    if not ok:
        return report
    regularized = make_model(reg)
    for model in (plain, regularized):
        if hasattr(model, "dtype"):
            model.dtype = np.float64  # gradient checks are noise in float32
    # seeded values, not the model's own initialisation: zero biases can put a ReLU input
    # exactly on its kink, where no numerical gradient is exact
    plain.params = {k: rng.normal(0, 0.5 if k.startswith("W") else 0.1, np.shape(v)) for k, v in plain.params.items()}
    regularized.params = {k: v.copy() for k, v in plain.params.items()}
    ok, scores = _call(report, "loss(X)", plain.loss, X)
    if ok and np.shape(scores) != (N, num_classes):
        report.problem(f"loss(X) without labels must return scores of shape (N, C) = {(N, num_classes)}, "
                       f"got {np.shape(scores)}.")
    results = []
    for model in (plain, regularized):
        ok, result = _call(report, "loss(X, y)", model.loss, X, y)
        result = _unpack(report, "loss(X, y)", result, 2) if ok else None
        if result is None:
            return report
        results.append(result)
    (loss0, grads0), (loss_r, grads_r) = results
    weights = [k for k in plain.params if k.startswith("W")]
    l2 = 0.5 * reg * sum(float(np.sum(plain.params[k] ** 2)) for k in weights)
    l2_biases = 0.5 * reg * sum(float(np.sum(v**2)) for k, v in plain.params.items() if not k.startswith("W"))
    added = float(loss_r) - float(loss0)
    if reg > 0:
        report.measure(f"regularization adds {added:.6f} to the loss, expected 0.5 * reg * sum(W**2) = {l2:.6f}")
        _diagnose_l2_term(report, added, l2, l2_biases)
    missing = set(plain.params) - set(grads_r)
    if missing:
        report.problem(f"grads has no entry for {sorted(missing)}: every parameter needs a gradient.")
        return report
    for name in weights:
        if np.shape(grads_r[name]) == np.shape(grads0[name]) and \
                np.allclose(np.asarray(grads_r[name]) - np.asarray(grads0[name]), 0) and reg > 0:
            report.problem(f"The regularization gradient is missing from {name}: add reg * {name} to grads['{name}'].")
    for name, param in regularized.params.items():
        numeric = _numeric_grad(lambda p, name=name: _loss_with(regularized, name, p, X, y), param)
        compare_gradient(report, f"grads['{name}']", grads_r[name], numeric, tol=1e-6, batch_size=N)
    return report


def _diagnose_l2_term(report, added, l2, l2_biases):
    close = lambda a, b: abs(a - b) < 1e-6 * max(1, b)  # noqa: E731
    if abs(added) < 1e-12:
        report.problem("The regularization term is missing from the loss: add 0.5 * reg * sum(W**2) for every weight matrix.")
    elif close(added, 2 * l2):
        report.problem("The regularization term is twice too large: use 0.5 * reg * sum(W**2), whose gradient is reg * W.")
    elif l2_biases > 0 and close(added, l2 + l2_biases):
        report.problem("The biases are regularized too: the L2 term covers the weights W only.")
    elif not close(added, l2):
        report.problem("The regularization term has the wrong value: 0.5 * reg * sum(W**2) over all weight matrices.")


def _loss_with(model, name, value, X, y):
    saved = model.params[name]
    model.params[name] = value
    try:
        return model.loss(X, y)[0]
    finally:
        model.params[name] = saved


def check_two_layer_net(TwoLayerNet, reg=0.7, seed=0):
    """The student's TwoLayerNet(input_dim, hidden_dim, num_classes, weight_scale, reg) on a tiny problem."""
    return check_net(lambda r: TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=4, weight_scale=0.5, reg=r),
                     input_dim=6, num_classes=4, reg=reg, seed=seed, label="TwoLayerNet")


def check_fully_connected_net(FullyConnectedNet, hidden_dims, reg=0.7, seed=0):
    """The student's FullyConnectedNet(hidden_dims, input_dim, num_classes, reg, weight_scale) on a tiny problem."""
    return check_net(lambda r: FullyConnectedNet(hidden_dims, input_dim=7, num_classes=3, reg=r, weight_scale=0.5),
                     input_dim=7, num_classes=3, reg=reg, seed=seed, label=f"FullyConnectedNet{list(hidden_dims)}")
