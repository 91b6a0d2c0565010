"""The checks of chapters 3 and 4: a model's initialisation, its scores and loss, its gradients.

See course.checks for what every check promises.
"""
from dataclasses import dataclass

import numpy as np

from course.check_base import (
    KINK_MARGIN,
    NET_GRADIENT_TOL,
    STD_MARGIN,
    VALUE_TOL,
    Report,
    _call,
    _close,
    _crash,
    _floats,
    _known_mistake,
    _never_raises,
    _numerical_gradient,
    _scalar,
    _shape_of,
    _sigmoid,
    _softmax_loss_value,
    _try,
    _unpack,
    compare_gradient,
    relative_error,
)

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
    report.measure(f"{where}data loss (the model built with reg=0): {loss0:.6f}, expected {expected:.6f}")
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
