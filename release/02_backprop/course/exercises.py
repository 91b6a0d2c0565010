"""Every graded exercise of the course, declared once.

An exercise is a function or class the student writes. Each of its graded tests says how many
points it is worth, which check teaches it (the visible check and the hidden in-notebook test
both call that check from `course.checks`, the hidden one on fresh seeds), and how the grader
verifies it outside the student's process: `draw` makes fresh inputs for one grading run, and
each of `probes` calls the student's code on them. The grader runs the same probes on the
reference implementation and compares; a test passes when any one of its probes agrees.

The notebooks' test cells, the grader's probes and verification, the chapters' graded names
and the test suite's expectations are all read from here. This module ships with every
chapter: it holds no answer, only the calls and the inputs.
"""
import signal
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from course import checks, training_checks


@dataclass(frozen=True)
class Test:
    grade_id: str
    points: int
    behaviour: str  # what a pass means, in one line
    check: str  # the function of course.checks that teaches and tests it, or "training_checks.<name>"
    uses: tuple  # the student's names that check takes, in order
    draw: Callable  # rng -> {key: array}: inputs for the outside verification
    probes: tuple  # each (namespace, inputs) -> {key: array}; a test passes when any one matches the reference
    tolerance: float = checks.GRADIENT_TOL  # largest checks.relative_error against the reference
    tolerances: dict = field(default_factory=dict)  # key -> a tolerance of its own

    @property
    def check_path(self):
        """The check as a notebook calls it: checks.<name>, or training_checks.<name>."""
        return self.check if "." in self.check else f"checks.{self.check}"


@dataclass(frozen=True)
class Exercise:
    name: str  # the function or class the student writes; also its answer cell's grade_id
    chapter: str
    signature: str  # the parameters of the function, or of the class's constructor
    reference: str  # "module:attribute" of the reference implementation (never in a release)
    tests: tuple


# ---- chapter 1: numerical derivatives --------------------------------------------------------

def _draw_points(rng):
    return {"x": rng.uniform(-3, 3, 5), "h": rng.uniform(0.01, 0.5, 5)}


def _probe_difference(name, f):
    def probe(ns, inp):
        quotient = ns[name]
        return {"value": [quotient(f, float(x), float(h)) for x, h in zip(inp["x"], inp["h"])]}
    return probe


def _draw_gradient_point(rng):
    shape = tuple(int(d) for d in rng.integers(2, 5, int(rng.integers(1, 4))))
    return {"x": rng.uniform(-1, 1, shape), "c": rng.uniform(0.5, 2.0, shape)}


def _probe_numerical_gradient(ns, inp):
    x, c = inp["x"].copy(), inp["c"]
    grad = ns["numerical_gradient"](lambda v: float(np.sum(c * np.sin(v))), x)
    return {"grad": grad, "x_moved": np.max(np.abs(x - inp["x"]))}


# ---- chapter 2: layers ------------------------------------------------------------------------

def _draw_affine(rng):
    N, M = int(rng.integers(2, 7)), int(rng.integers(2, 6))
    shape = (N, *(int(d) for d in rng.integers(1, 4, int(rng.integers(1, 4)))))
    D = int(np.prod(shape[1:]))
    return {"x": rng.standard_normal(shape), "w": rng.standard_normal((D, M)), "b": rng.standard_normal(M),
            "dout": rng.standard_normal((N, M))}


def _probe_affine_forward(ns, inp):
    return {"out": ns["affine_forward"](inp["x"], inp["w"], inp["b"])[0]}


def _probe_affine_backward_documented(ns, inp):
    x, w, b = inp["x"], inp["w"], inp["b"]
    return dict(zip(("dx", "dw", "db"), ns["affine_backward"](inp["dout"], (x, w, b))))


def _probe_affine_backward_own_cache(ns, inp):
    cache = ns["affine_forward"](inp["x"], inp["w"], inp["b"])[1]
    return dict(zip(("dx", "dw", "db"), ns["affine_backward"](inp["dout"], cache)))


def _off_kink(rng, shape):
    x = rng.standard_normal(shape)
    x[np.abs(x) < 0.05] += 0.1
    return x


def _draw_activation(rng):
    shape = tuple(int(d) for d in rng.integers(2, 6, int(rng.integers(2, 4))))
    return {"x": _off_kink(rng, shape), "dout": rng.standard_normal(shape),
            "out": rng.uniform(0.01, 0.99, shape)}  # a sigmoid's output, the cache its backward takes


def _probe_relu_forward(ns, inp):
    return {"out": ns["relu_forward"](inp["x"])[0]}


def _relu_backward_with(ns, inp, cache):
    dout = inp["dout"].copy()
    dx = ns["relu_backward"](dout, cache)
    return {"dx": dx, "dout_changed": float(not np.array_equal(dout, inp["dout"]))}


def _probe_relu_backward_documented(ns, inp):
    return _relu_backward_with(ns, inp, inp["x"].copy())


def _probe_relu_backward_own_cache(ns, inp):
    return _relu_backward_with(ns, inp, ns["relu_forward"](inp["x"].copy())[1])


def _draw_sigmoid(rng):
    return {"x": rng.uniform(-20, 20, (int(rng.integers(2, 6)), int(rng.integers(2, 6))))}


def _probe_sigmoid_forward(ns, inp):
    with np.errstate(all="ignore"):
        big = ns["sigmoid_forward"](np.array([-1e4, -800.0, 800.0, 1e4]))[0]
    return {"out": ns["sigmoid_forward"](inp["x"])[0], "big": big}


def _probe_sigmoid_backward_documented(ns, inp):
    return {"dx": ns["sigmoid_backward"](inp["dout"], inp["out"].copy())}


def _probe_sigmoid_backward_own_cache(ns, inp):
    return {"dx": ns["sigmoid_backward"](inp["dout"], ns["sigmoid_forward"](3 * inp["x"])[1])}


def _draw_scores(rng):
    N, C = int(rng.integers(3, 9)), int(rng.integers(3, 8))
    scores = rng.standard_normal((N, C))
    # a large common offset, as the chapter teaches: without subtracting each row's maximum exp()
    # overflows; the spread stays small enough that no probability underflows to 0
    return {"scores": scores, "big": 1000.0 + 30.0 * rng.standard_normal((N, C)), "y": rng.integers(0, C, N)}


def _probe_softmax_loss(ns, inp):
    loss, dscores = ns["softmax_loss"](inp["scores"], inp["y"].astype(int))
    with np.errstate(all="ignore"):
        big_loss, big_dscores = ns["softmax_loss"](inp["big"], inp["y"].astype(int))
    return {"loss": loss, "dscores": dscores, "big_loss": big_loss, "big_dscores": big_dscores}


# ---- chapters 3 and 4: nets, with parameters set by the grader ----------------------------------

def _net_params(rng, dims):
    params = {}
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        params[f"W{i}"] = rng.normal(0, 0.5, (fan_in, fan_out))
        params[f"b{i}"] = rng.normal(0, 0.1, fan_out)
    return params


def _build(make, params, reg):
    """A student's model holding the grader's parameters in float64. A constructor that fails
    does not stop the loss or gradients from being tested: the model is then built bare, and
    its constructor's error is what the test reports if the loss fails too."""
    try:
        model = make(reg)
    except Exception as error:  # noqa: BLE001 - the init test grades the constructor
        model = object.__new__(make.cls)
        model.reg, model.dtype, model._grader_init_error = reg, np.float64, error
    if hasattr(model, "dtype"):
        model.dtype = np.float64
    model.params = {k: v.copy() for k, v in params.items()}
    return model


def _loss(model, *args):
    try:
        return model.loss(*args)
    except Exception:
        init_error = getattr(model, "_grader_init_error", None)
        if init_error is not None:
            raise init_error from None
        raise


class _Maker:
    def __init__(self, cls, **kwargs):
        self.cls, self.kwargs = cls, kwargs

    def __call__(self, reg):
        return self.cls(**self.kwargs, reg=reg)


TWO_LAYER_CASES = ((1,), (1,))  # two nets of one hidden layer, of sizes drawn per run
FC_CASES = ((), (1,), (1, 1, 1), (1, 1))  # hidden-layer counts; the last net uses sigmoid
FC_ACTIVATIONS = ("relu", "relu", "relu", "sigmoid")


def _draw_nets(rng, cases):
    inputs = {}
    for i, hidden in enumerate(cases):
        D, C, N = int(rng.integers(3, 8)), int(rng.integers(2, 6)), int(rng.integers(3, 7))
        dims = [D, *(int(rng.integers(3, 7)) for _ in hidden), C]
        inputs.update({f"net{i}.{k}": v for k, v in _net_params(rng, dims).items()})
        inputs[f"net{i}.X"] = rng.standard_normal((N, D))
        inputs[f"net{i}.y"] = rng.integers(0, C, N)
        inputs[f"net{i}.reg"] = np.array(rng.uniform(0.1, 1.0))
    return inputs


def _nets(inp):
    """(index, params, X, y, reg, hidden sizes) of every net in the inputs."""
    count = len({k.split(".")[0] for k in inp})
    for i in range(count):
        params = {k.split(".", 1)[1]: v for k, v in inp.items() if k.startswith(f"net{i}.") and k.split(".")[1][0] in "Wb"}
        layers = len(params) // 2
        hidden = [params[f"W{j}"].shape[1] for j in range(1, layers)]
        yield i, params, inp[f"net{i}.X"], inp[f"net{i}.y"].astype(int), float(inp[f"net{i}.reg"]), hidden


def _two_layer_maker(ns, X, params, hidden, i):
    return _Maker(ns["TwoLayerNet"], input_dim=X.shape[1], hidden_dim=hidden[0],
                  num_classes=params["b2"].shape[0], weight_scale=0.1)


def _fc_maker(ns, X, params, hidden, i):
    return _Maker(ns["FullyConnectedNet"], hidden_dims=hidden, input_dim=X.shape[1],
                  num_classes=params[f"b{len(hidden) + 1}"].shape[0], weight_scale=0.1,
                  activation=FC_ACTIVATIONS[i], dtype=np.float64)


def _probe_loss(maker):
    def probe(ns, inp):
        result = {}
        for i, params, X, y, reg, hidden in _nets(inp):
            make = maker(ns, X, params, hidden, i)
            plain, regularized = _build(make, params, 0.0), _build(make, params, reg)
            result[f"net{i}.scores"] = _loss(plain, X)
            result[f"net{i}.loss"] = _loss(plain, X, y)[0]
            result[f"net{i}.loss_reg"] = _loss(regularized, X, y)[0]
        return result
    return probe


def _probe_gradients(maker):
    def probe(ns, inp):
        result = {}
        for i, params, X, y, reg, hidden in _nets(inp):
            make = maker(ns, X, params, hidden, i)
            for label, strength in (("plain", 0.0), ("reg", reg)):
                grads = _loss(_build(make, params, strength), X, y)[1]
                result.update({f"net{i}.{label}.d{k}": grads[k] for k in params})
        return result
    return probe


def _draw_two_layer_init(rng):
    return {"dims": np.array([rng.integers(150, 250), rng.integers(100, 150), rng.integers(10, 20)]),
            "weight_scale": np.array(rng.uniform(0.01, 0.5))}


def _init_summary(params, stds):
    """Shapes, weight standard deviations relative to the expected ones, and the largest bias."""
    summary = {}
    for k, v in params.items():
        summary[f"{k}.shape"] = np.array(np.shape(v), dtype=float)
        if k.startswith("W"):
            summary[f"{k}.std"] = float(np.std(v)) / stds[k]
        else:
            summary[f"{k}.max"] = float(np.max(np.abs(v)))
    return summary


def _probe_two_layer_init(ns, inp):
    D, H, C = (int(d) for d in inp["dims"])
    scale = float(inp["weight_scale"])
    model = ns["TwoLayerNet"](input_dim=D, hidden_dim=H, num_classes=C, weight_scale=scale)
    return _init_summary(model.params, {"W1": scale, "W2": scale})


def _draw_fc_init(rng):
    return {"dims": rng.integers(60, 200, 5), "weight_scale": np.array(rng.uniform(0.01, 0.5))}


def _probe_fc_init(ns, inp):
    D, H1, H2, H3, C = (int(d) for d in inp["dims"])
    scale = float(inp["weight_scale"])
    result = {}
    for label, hidden in (("none", []), ("one", [H1]), ("three", [H1, H2, H3])):
        model = ns["FullyConnectedNet"](hidden, input_dim=D, num_classes=C, weight_scale=scale)
        layer_dims = [D, *hidden, C]
        stds = {f"W{i}": scale for i in range(1, len(layer_dims))}
        result.update({f"{label}.{k}": v for k, v in _init_summary(model.params, stds).items()})
    he = ns["FullyConnectedNet"]([H1, H2], input_dim=D, num_classes=C, weight_scale="he")
    stds = {f"W{i}": np.sqrt(2.0 / fan_in) for i, fan_in in enumerate((D, H1, H2), start=1)}
    result.update({f"he.{k}": v for k, v in _init_summary(he.params, stds).items()})
    return result


# a standard deviation measured on at least a thousand draws is within 10% of the truth
# (about 4 standard errors); using the variance, or Xavier's sqrt(1 / fan_in) for He's, is not
INIT_TOLERANCES = {"std": 0.1}


# ---- chapter 5: update rules, dropout, batch normalization ----------------------------------------

def _draw_rule(rng):
    shape = (int(rng.integers(3, 6)), int(rng.integers(3, 6)))
    return {"w": rng.standard_normal(shape), "dw": rng.standard_normal((3, *shape)),
            "learning_rate": np.array(rng.uniform(1e-3, 1e-1)), "rate": np.array(rng.uniform(0.8, 0.95)),
            "state": rng.uniform(0.1, 1.0, shape), "state2": rng.uniform(0.1, 1.0, shape)}


def _probe_rule(name, hyper, state):
    """The defaults (one call with config=None), then three calls from a given state (CS231n's config keys)."""
    def probe(ns, inp):
        rule = ns[name]
        result = {"default.w": rule(inp["w"].copy(), inp["dw"][0].copy(), None)[0]}
        w, config = inp["w"].copy(), {"learning_rate": float(inp["learning_rate"]), **hyper(inp), **state(inp)}
        for k, dw in enumerate(inp["dw"]):
            w, config = rule(np.array(w, dtype=np.float64), dw.copy(), config)
            result[f"step{k}.w"] = np.array(w, dtype=np.float64)
        result.update({f"state.{key}": config[key] for key in state(inp)})
        return result
    return probe


_MOMENTUM = _probe_rule("sgd_momentum", lambda inp: {"momentum": float(inp["rate"])},
                        lambda inp: {"velocity": inp["state"] - 0.5})
_RMSPROP = _probe_rule("rmsprop", lambda inp: {"decay_rate": float(inp["rate"]), "epsilon": 1e-8},
                       lambda inp: {"cache": inp["state"].copy()})
_ADAM = _probe_rule("adam", lambda inp: {"beta1": float(inp["rate"]), "beta2": 0.999, "epsilon": 1e-8},
                    lambda inp: {"m": inp["state"] - 0.5, "v": inp["state2"].copy(), "t": 5})


def _draw_dropout(rng):
    x = 1.0 + np.abs(rng.standard_normal((int(rng.integers(300, 400)), int(rng.integers(20, 30)))))
    p = rng.uniform(0.6, 0.85)  # far from 1 - p, so a mask that drops a fraction p is told apart
    return {"x": x, "p": np.array(p), "seed": np.array(rng.integers(2**31)), "dout": rng.standard_normal(x.shape),
            "mask": (rng.random(x.shape) < p) / p}


def _probe_dropout_forward(ns, inp):
    """Properties rather than values: the mask comes from the student's own random numbers."""
    x, p = inp["x"], float(inp["p"])
    param = {"mode": "train", "p": p, "seed": int(inp["seed"])}
    out = np.asarray(ns["dropout_forward"](x.copy(), dict(param))[0], dtype=np.float64)
    again = np.asarray(ns["dropout_forward"](x.copy(), dict(param))[0], dtype=np.float64)
    kept = out != 0
    return {"kept_fraction": kept.mean() / p,
            "scaled": float(np.allclose(out[kept], x[kept] / p, rtol=1e-9)),
            "repeatable": float(np.array_equal(out, again)),
            "test_out": ns["dropout_forward"](x.copy(), {"mode": "test", "p": p})[0]}


def _probe_dropout_backward_documented(ns, inp):
    p = float(inp["p"])
    return {"dx": ns["dropout_backward"](inp["dout"].copy(), ({"mode": "train", "p": p}, inp["mask"].copy())),
            "dx_test": ns["dropout_backward"](inp["dout"].copy(), ({"mode": "test", "p": p}, None))}


def _probe_dropout_backward_own_cache(ns, inp):
    x, dout, p = inp["x"], inp["dout"], float(inp["p"])
    out, cache = ns["dropout_forward"](x.copy(), {"mode": "train", "p": p, "seed": int(inp["seed"])})
    dx = np.asarray(ns["dropout_backward"](dout.copy(), cache), dtype=np.float64)
    _, test_cache = ns["dropout_forward"](x.copy(), {"mode": "test", "p": p})
    return {"follows_mask": float(np.allclose(dx * x, dout * np.asarray(out, dtype=np.float64), rtol=1e-9)),
            "dx_test": ns["dropout_backward"](dout.copy(), test_cache)}


def _draw_batchnorm(rng):
    N, D = int(rng.integers(4, 9)), int(rng.integers(3, 7))
    return {"x": rng.uniform(0.5, 3.0, D) * rng.standard_normal((N, D)) + rng.standard_normal(D),
            "x2": rng.standard_normal((N, D)) + 1.0, "gamma": rng.uniform(0.5, 2.0, D), "beta": rng.standard_normal(D),
            "momentum": np.array(rng.uniform(0.5, 0.95)), "running_mean": rng.standard_normal(D),
            "running_var": rng.uniform(0.5, 2.0, D), "dout": rng.standard_normal((N, D))}


def _probe_batchnorm_forward(ns, inp):
    forward, gamma, beta = ns["batchnorm_forward"], inp["gamma"], inp["beta"]
    bn_param = {"mode": "train", "momentum": float(inp["momentum"])}
    out = forward(inp["x"].copy(), gamma.copy(), beta.copy(), bn_param)[0]
    forward(inp["x2"].copy(), gamma.copy(), beta.copy(), bn_param)
    test_param = {"mode": "test", "running_mean": inp["running_mean"].copy(), "running_var": inp["running_var"].copy()}
    return {"out": out, "running_mean": bn_param["running_mean"], "running_var": bn_param["running_var"],
            "test_out": forward(inp["x2"].copy(), gamma.copy(), beta.copy(), test_param)[0]}


def _bn_cache(inp):
    x, eps = inp["x"], 1e-5
    mean, var = x.mean(axis=0), x.var(axis=0)
    return x.copy(), (x - mean) / np.sqrt(var + eps), mean, var, inp["gamma"].copy(), eps


def _probe_bn_backward_documented(name):
    def probe(ns, inp):
        return dict(zip(("dx", "dgamma", "dbeta"), ns[name](inp["dout"].copy(), _bn_cache(inp))))
    return probe


def _probe_bn_backward_own_cache(name):
    def probe(ns, inp):
        cache = ns["batchnorm_forward"](inp["x"].copy(), inp["gamma"].copy(), inp["beta"].copy(), {"mode": "train"})[1]
        return dict(zip(("dx", "dgamma", "dbeta"), ns[name](inp["dout"].copy(), cache)))
    return probe


# a kept fraction measured on thousands of units is within 10% of p (many standard errors); dropping
# a fraction p instead (p between 0.6 and 0.85) misses it by far more
DROPOUT_TOLERANCES = {"kept_fraction": 0.1}


# ---- the registry -------------------------------------------------------------------------------

EXERCISES = (
    Exercise("forward_difference", "01_numerical_gradient", "(f, x, h)", "course.gradient_check:forward_difference", (
        Test("test_forward_difference", 1, "(f(x + h) - f(x)) / h on fresh points and steps",
             "check_forward_difference", ("forward_difference",), _draw_points,
             (_probe_difference("forward_difference", lambda t: t**2),), tolerance=checks.QUOTIENT_TOL),
    )),
    Exercise("central_difference", "01_numerical_gradient", "(f, x, h)", "course.gradient_check:central_difference", (
        Test("test_central_difference", 1, "(f(x + h) - f(x - h)) / (2h) on fresh points and steps",
             "check_central_difference", ("central_difference",), _draw_points,
             (_probe_difference("central_difference", lambda t: t**3),), tolerance=checks.QUOTIENT_TOL),
    )),
    Exercise("numerical_gradient", "01_numerical_gradient", "(f, x, h=1e-05)",
             "course.gradient_check:eval_numerical_gradient", (
        Test("test_numerical_gradient", 3, "central-difference gradient of an array of any shape, x left unchanged",
             "check_numerical_gradient", ("numerical_gradient",), _draw_gradient_point, (_probe_numerical_gradient,)),
    )),
    Exercise("affine_forward", "02_backprop", "(x, w, b)", "course.layers:affine_forward", (
        Test("test_affine_forward", 1, "out = x W + b with each example flattened, for inputs of any shape",
             "check_affine_forward", ("affine_forward",), _draw_affine, (_probe_affine_forward,), tolerance=checks.VALUE_TOL),
    )),
    Exercise("affine_backward", "02_backprop", "(dout, cache)", "course.layers:affine_backward", (
        Test("test_affine_backward", 3, "dx, dw and db, from the cache (x, w, b)",
             "check_affine_backward", ("affine_forward", "affine_backward"), _draw_affine,
             (_probe_affine_backward_documented, _probe_affine_backward_own_cache)),
    )),
    Exercise("relu_forward", "02_backprop", "(x)", "course.layers:relu_forward", (
        Test("test_relu_forward", 1, "out = max(0, x) elementwise",
             "check_relu_forward", ("relu_forward",), _draw_activation, (_probe_relu_forward,), tolerance=checks.VALUE_TOL),
    )),
    Exercise("relu_backward", "02_backprop", "(dout, cache)", "course.layers:relu_backward", (
        Test("test_relu_backward", 2, "dx = dout where the input was positive, dout left unchanged",
             "check_relu_backward", ("relu_forward", "relu_backward"), _draw_activation,
             (_probe_relu_backward_documented, _probe_relu_backward_own_cache)),
    )),
    Exercise("sigmoid_forward", "02_backprop", "(x)", "course.layers:sigmoid_forward", (
        Test("test_sigmoid_forward", 1, "out = 1 / (1 + exp(-x)), finite for inputs of any size",
             "check_sigmoid_forward", ("sigmoid_forward",), _draw_sigmoid, (_probe_sigmoid_forward,), tolerance=checks.VALUE_TOL),
    )),
    Exercise("sigmoid_backward", "02_backprop", "(dout, cache)", "course.layers:sigmoid_backward", (
        Test("test_sigmoid_backward", 2, "dx = dout * out * (1 - out), from the cached output",
             "check_sigmoid_backward", ("sigmoid_forward", "sigmoid_backward"), _draw_activation,
             (_probe_sigmoid_backward_documented, _probe_sigmoid_backward_own_cache)),
    )),
    Exercise("softmax_loss", "02_backprop", "(scores, y)", "course.layers:softmax_loss", (
        Test("test_softmax_loss", 3, "mean cross-entropy and dscores, also for scores offset by 1000",
             "check_softmax_loss", ("softmax_loss",), _draw_scores, (_probe_softmax_loss,)),
    )),
    Exercise("TwoLayerNet", "03_shallow_net", "(input_dim=784, hidden_dim=100, num_classes=10, weight_scale=0.001, reg=0.0)",
             "course.nets:TwoLayerNet", (
        Test("test_two_layer_init", 1, "parameter shapes, zero biases, weights of standard deviation weight_scale",
             "check_two_layer_init", ("TwoLayerNet",), _draw_two_layer_init, (_probe_two_layer_init,),
             tolerances=INIT_TOLERANCES),
        Test("test_two_layer_loss", 1, "scores and loss (with and without L2) on parameters set by the grader",
             "check_two_layer_loss", ("TwoLayerNet",), lambda rng: _draw_nets(rng, TWO_LAYER_CASES),
             (_probe_loss(_two_layer_maker),), tolerance=checks.VALUE_TOL),
        Test("test_two_layer_gradients", 3, "every gradient (with and without L2) on parameters set by the grader",
             "check_two_layer_gradients", ("TwoLayerNet",), lambda rng: _draw_nets(rng, TWO_LAYER_CASES),
             (_probe_gradients(_two_layer_maker),), tolerance=checks.NET_GRADIENT_TOL),
    )),
    Exercise("FullyConnectedNet", "04_deep_net",
             "(hidden_dims, input_dim=784, num_classes=10, reg=0.0, weight_scale=0.01, activation='relu', "
             "dtype=np.float32)", "course.nets:FullyConnectedNet", (
        Test("test_fc_init", 1, "parameter shapes for any depth, zero biases, weight_scale as a number and \"he\"",
             "check_fc_init", ("FullyConnectedNet",), _draw_fc_init, (_probe_fc_init,), tolerances=INIT_TOLERANCES),
        Test("test_fc_loss", 1, "scores and loss (with and without L2) for depths 0 to 3, ReLU and sigmoid",
             "check_fc_loss", ("FullyConnectedNet",), lambda rng: _draw_nets(rng, FC_CASES), (_probe_loss(_fc_maker),),
             tolerance=checks.VALUE_TOL),
        Test("test_fc_gradients", 3, "every gradient (with and without L2) for depths 0 to 3, ReLU and sigmoid",
             "check_fc_gradients", ("FullyConnectedNet",), lambda rng: _draw_nets(rng, FC_CASES),
             (_probe_gradients(_fc_maker),), tolerance=checks.NET_GRADIENT_TOL),
    )),
    Exercise("sgd_momentum", "05_training_better", "(w, dw, config=None)", "course.optim:sgd_momentum", (
        Test("test_sgd_momentum", 2, "v = momentum v - learning_rate dw, w + v, over three calls; CS231n's defaults",
             "training_checks.check_sgd_momentum", ("sgd_momentum",), _draw_rule, (_MOMENTUM,),
             tolerance=training_checks.MOMENTUM_TOL),
    )),
    Exercise("rmsprop", "05_training_better", "(w, dw, config=None)", "course.optim:rmsprop", (
        Test("test_rmsprop", 2, "the step divided by the running RMS of dw, over three calls; CS231n's defaults",
             "training_checks.check_rmsprop", ("rmsprop",), _draw_rule, (_RMSPROP,),
             tolerance=training_checks.ADAPTIVE_TOL),
    )),
    Exercise("adam", "05_training_better", "(w, dw, config=None)", "course.optim:adam", (
        Test("test_adam", 3, "bias-corrected moments with t incremented per call, over three calls; CS231n's defaults",
             "training_checks.check_adam", ("adam",), _draw_rule, (_ADAM,), tolerance=training_checks.ADAPTIVE_TOL),
    )),
    Exercise("dropout_forward", "05_training_better", "(x, dropout_param)", "course.training_layers:dropout_forward", (
        Test("test_dropout_forward", 2, "keeps a fraction p scaled by 1 / p, a seed repeats the mask; identity in test mode",
             "training_checks.check_dropout_forward", ("dropout_forward",), _draw_dropout, (_probe_dropout_forward,),
             tolerance=checks.VALUE_TOL, tolerances=DROPOUT_TOLERANCES),
    )),
    Exercise("dropout_backward", "05_training_better", "(dout, cache)", "course.training_layers:dropout_backward", (
        Test("test_dropout_backward", 1, "dx = dout * mask from the cache (dropout_param, mask); dout in test mode",
             "training_checks.check_dropout_backward", ("dropout_forward", "dropout_backward"), _draw_dropout,
             (_probe_dropout_backward_documented, _probe_dropout_backward_own_cache)),
    )),
    Exercise("batchnorm_forward", "05_training_better", "(x, gamma, beta, bn_param)",
             "course.training_layers:batchnorm_forward", (
        Test("test_batchnorm_forward", 3, "train mode out and running averages; test mode from the running statistics",
             "training_checks.check_batchnorm_forward", ("batchnorm_forward",), _draw_batchnorm,
             (_probe_batchnorm_forward,)),
    )),
    Exercise("batchnorm_backward", "05_training_better", "(dout, cache)", "course.training_layers:batchnorm_backward", (
        Test("test_batchnorm_backward", 3, "dx, dgamma, dbeta from the cache (x, x_hat, mean, var, gamma, eps)",
             "training_checks.check_batchnorm_backward", ("batchnorm_forward", "batchnorm_backward"), _draw_batchnorm,
             (_probe_bn_backward_documented("batchnorm_backward"), _probe_bn_backward_own_cache("batchnorm_backward"))),
    )),
    Exercise("batchnorm_backward_alt", "05_training_better", "(dout, cache)",
             "course.training_layers:batchnorm_backward_alt", (
        Test("test_batchnorm_backward_alt", 2, "the same gradients from the simplified formula",
             "training_checks.check_batchnorm_backward_alt", ("batchnorm_forward", "batchnorm_backward_alt"),
             _draw_batchnorm, (_probe_bn_backward_documented("batchnorm_backward_alt"),
                               _probe_bn_backward_own_cache("batchnorm_backward_alt"))),
    )),
)

CHAPTER_NAMES = tuple(dict.fromkeys(e.chapter for e in EXERCISES))
BY_NAME = {e.name: e for e in EXERCISES}
TESTS = {t.grade_id: t for e in EXERCISES for t in e.tests}


def exercises_of(chapter):
    return [e for e in EXERCISES if e.chapter == chapter]


def tests_of(chapter):
    return [t for e in exercises_of(chapter) for t in e.tests]


def draw_inputs(chapter, rng):
    """{grade_id.key: array}: every test's fresh inputs for one submission."""
    return {f"{t.grade_id}.{k}": np.asarray(v) for t in tests_of(chapter) for k, v in t.draw(rng).items()}


# ---- running the probes (in the student's kernel, and outside on the reference) -------------------

class ProbeTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise ProbeTimeout("it took too long")


def collect(chapter, namespace, inputs, seconds_per_probe=0):
    """{grade_id.index.key: float64 array}, or {grade_id.index.error: message}, for every probe.

    One probe's crash or endless loop (with seconds_per_probe, in the main thread) costs only its
    own test: the others still run.
    """
    outputs, notebook = {}, _Namespace(namespace)
    for test in tests_of(chapter):
        prefix = f"{test.grade_id}."
        own = {k[len(prefix):]: v for k, v in inputs.items() if k.startswith(prefix)}
        for index, probe in enumerate(test.probes):
            key = f"{test.grade_id}.{index}"
            previous = signal.signal(signal.SIGALRM, _on_alarm) if seconds_per_probe else None
            try:
                if seconds_per_probe:
                    signal.setitimer(signal.ITIMER_REAL, seconds_per_probe)
                values = probe(notebook, {k: np.array(v) for k, v in own.items()})
                outputs.update({f"{key}.{k}": np.asarray(v, dtype=np.float64) for k, v in values.items()})
            except BaseException as error:  # noqa: BLE001 - whatever the student's code does is recorded
                if isinstance(error, ProbeTimeout):
                    error = ProbeTimeout(f"did not finish within {seconds_per_probe} s")
                outputs = {k: v for k, v in outputs.items() if not k.startswith(key + ".")}
                outputs[f"{key}.error"] = np.array(f"{type(error).__name__}: {str(error)[:300]}")
            finally:
                if seconds_per_probe:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    signal.signal(signal.SIGALRM, previous)
    return outputs


class _Namespace(dict):
    """The notebook's globals, with a message that names a missing exercise."""

    def __missing__(self, name):
        raise NameError(f"{name} is not defined: did its cell run without an error?")


def run_probes(chapter, namespace, inputs_path, outputs_path, seconds_per_probe=5):
    """The grader's last cell: call the student's code on the run's inputs and save what comes back."""
    with np.load(inputs_path, allow_pickle=False) as saved:
        inputs = {k: saved[k] for k in saved.files}
    np.savez(outputs_path, **collect(chapter, namespace, inputs, seconds_per_probe))


def check_function(test):
    """The check a test names: "check_x" in course.checks, "training_checks.check_x" in course.training_checks."""
    module, name = test.check_path.split(".")
    return getattr({"checks": checks, "training_checks": training_checks}[module], name)
