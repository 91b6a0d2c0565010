"""Verification outside the student's process.

After the notebook has run, one grader cell calls each graded function on inputs drawn
fresh for this grading run and saves what comes back as plain arrays. The grader then
compares those arrays with the reference package, outside the sandbox: patching NumPy,
builtins, `assert` or the check helpers inside the kernel cannot change that comparison.
"""
import numpy as np

from course import layers
from course.compare import rel_error
from course.nets import FullyConnectedNet, TwoLayerNet

INPUTS_FILE = "probe_inputs.npz"
OUTPUTS_FILE = "probe_outputs.npz"

# Runs in the student's kernel after the last cell. It only calls the student's functions and
# writes arrays; nothing it does is trusted. Names start with _grader_ to stay out of the way.
PROBE_PRELUDE = '''
import numpy as _grader_np
_grader_in = dict(_grader_np.load({inputs!r}, allow_pickle=False))
_grader_out = {{}}


def _grader_record(name, call):
    try:
        for key, value in call().items():
            _grader_out[name + "." + key] = _grader_np.asarray(value, dtype=_grader_np.float64)
    except BaseException as error:
        _grader_out[name + ".error"] = _grader_np.array(type(error).__name__ + ": " + str(error)[:300])
'''
PROBE_EPILOGUE = '\n_grader_np.savez({outputs!r}, **_grader_out)\n'


# ---- chapter 1 ---------------------------------------------------------------------------

def inputs_01(rng):
    return {"x0": rng.uniform(-3, 3, 4), "h": rng.uniform(0.01, 0.5, 4),
            "grad_x": rng.uniform(-1, 1, tuple(rng.integers(2, 5, 2))), "grad_c": rng.uniform(0.5, 2, 1)}


PROBE_01 = '''
_grader_record("forward_difference", lambda: {"value": [forward_difference(lambda t: t**2, a, h)
    for a, h in zip(_grader_in["x0"], _grader_in["h"])]})
_grader_record("central_difference", lambda: {"value": [central_difference(lambda t: t**3, a, h)
    for a, h in zip(_grader_in["x0"], _grader_in["h"])]})
_grader_record("numerical_gradient", lambda: {"grad": numerical_gradient(
    lambda v: float(_grader_np.sum(_grader_in["grad_c"][0] * _grader_np.sin(v))), _grader_in["grad_x"].copy())})
'''


def verify_01(inp, out):
    x0, h = inp["x0"], inp["h"]
    return {
        "forward_difference": _close(out, "forward_difference.value", 2 * x0 + h, 1e-8),
        "central_difference": _close(out, "central_difference.value", 3 * x0**2 + h**2, 1e-8),
        "numerical_gradient": _close(out, "numerical_gradient.grad", inp["grad_c"][0] * np.cos(inp["grad_x"]), 1e-6),
    }


# ---- chapter 2 ---------------------------------------------------------------------------

def inputs_02(rng):
    N, M = int(rng.integers(3, 7)), int(rng.integers(2, 6))
    shape = (N, *(int(d) for d in rng.integers(1, 4, int(rng.integers(1, 3)))))
    D = int(np.prod(shape[1:]))
    x = rng.standard_normal(shape)
    act = rng.standard_normal((N, M))
    act[np.abs(act) < 0.05] += 0.1  # off the ReLU kink
    C = int(rng.integers(3, 8))
    return {"x": x, "w": rng.standard_normal((D, M)), "b": rng.standard_normal(M), "dout": rng.standard_normal((N, M)),
            "act": act, "scores": rng.standard_normal((N, C)), "big_scores": 1e3 * rng.standard_normal((N, C)),
            "y": rng.integers(0, C, N).astype(np.float64)}


PROBE_02 = '''
_x, _w, _b, _dout, _act = (_grader_in[k] for k in ("x", "w", "b", "dout", "act"))
_y = _grader_in["y"].astype(int)
_grader_record("affine_forward", lambda: {"out": affine_forward(_x, _w, _b)[0]})
_grader_record("affine_backward", lambda: dict(zip(("dx", "dw", "db"),
    affine_backward(_dout, affine_forward(_x, _w, _b)[1]))))
_grader_record("relu_forward", lambda: {"out": relu_forward(_act)[0]})
_grader_record("relu_backward", lambda: {"dx": relu_backward(_dout.copy(), relu_forward(_act)[1])})
_grader_record("sigmoid_forward", lambda: {"out": sigmoid_forward(_act)[0],
                                           "big": sigmoid_forward(_grader_np.array([-1e4, 1e4]))[0]})
_grader_record("sigmoid_backward", lambda: {"dx": sigmoid_backward(_dout, sigmoid_forward(_act)[1])})
_grader_record("softmax_loss", lambda: dict(zip(("loss", "dscores"), softmax_loss(_grader_in["scores"], _y))))
_grader_record("softmax_loss_big", lambda: dict(zip(("loss", "dscores"), softmax_loss(_grader_in["big_scores"], _y))))
'''


def verify_02(inp, out):
    x, w, b, dout, act = (inp[k] for k in ("x", "w", "b", "dout", "act"))
    y = inp["y"].astype(int)
    ref_out, cache = layers.affine_forward(x, w, b)
    dx, dw, db = layers.affine_backward(dout, cache)
    relu_out, relu_cache = layers.relu_forward(act)
    sig_out, sig_cache = layers.sigmoid_forward(act)
    loss, dscores = layers.softmax_loss(inp["scores"], y)
    big_loss, big_dscores = layers.softmax_loss(inp["big_scores"], y)
    return {
        "affine_forward": _close(out, "affine_forward.out", ref_out, 1e-9),
        "affine_backward": _all(_close(out, "affine_backward.dx", dx, 1e-9), _close(out, "affine_backward.dw", dw, 1e-9),
                                _close(out, "affine_backward.db", db, 1e-9)),
        "relu_forward": _close(out, "relu_forward.out", relu_out, 1e-12),
        "relu_backward": _close(out, "relu_backward.dx", layers.relu_backward(dout, relu_cache), 1e-12),
        "sigmoid_forward": _all(_close(out, "sigmoid_forward.out", sig_out, 1e-9),
                                _close(out, "sigmoid_forward.big", np.array([0.0, 1.0]), 1e-9)),
        "sigmoid_backward": _close(out, "sigmoid_backward.dx", layers.sigmoid_backward(dout, sig_cache), 1e-9),
        "softmax_loss": _all(_close(out, "softmax_loss.loss", loss, 1e-9), _close(out, "softmax_loss.dscores", dscores, 1e-9),
                             _close(out, "softmax_loss_big.loss", big_loss, 1e-9),
                             _close(out, "softmax_loss_big.dscores", big_dscores, 1e-9)),
    }


# ---- chapters 3 and 4: nets with parameters set by the grader ------------------------------

NET_CASES_03 = [dict(hidden_dims=[7]), dict(hidden_dims=[5])]
NET_CASES_04 = [dict(hidden_dims=[]), dict(hidden_dims=[6]), dict(hidden_dims=[6, 5, 4]),
                dict(hidden_dims=[5, 4], activation="sigmoid")]


def _net_inputs(rng, cases):
    inputs = {}
    for i, case in enumerate(cases):
        D, C, N = int(rng.integers(3, 8)), int(rng.integers(2, 6)), int(rng.integers(3, 7))
        dims = [D, *case["hidden_dims"], C]
        for layer, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            inputs[f"net{i}.W{layer}"] = rng.normal(0, 0.5, (fan_in, fan_out))
            inputs[f"net{i}.b{layer}"] = rng.normal(0, 0.1, fan_out)
        inputs[f"net{i}.X"] = rng.standard_normal((N, D))
        inputs[f"net{i}.y"] = rng.integers(0, C, N).astype(np.float64)
        inputs[f"net{i}.reg"] = np.array([rng.uniform(0.1, 1.0)])
    return inputs


def _net_probe(construct, cases, name):
    lines = []
    for i, case in enumerate(cases):
        lines.append(f'''
def _grader_net{i}():
    _p = {{k.split(".", 1)[1]: v for k, v in _grader_in.items() if k.startswith("net{i}.") and k.split(".")[1][0] in "Wb"}}
    _X, _y, _reg = _grader_in["net{i}.X"], _grader_in["net{i}.y"].astype(int), float(_grader_in["net{i}.reg"][0])
    _D, _C = _X.shape[1], _p["b{len(case["hidden_dims"]) + 1}"].shape[0]
    _model = {construct.format(i=i, dims=case["hidden_dims"], activation=case.get("activation", "relu"))}
    if hasattr(_model, "dtype"):
        _model.dtype = _grader_np.float64
    _model.params = {{k: v.copy() for k, v in _p.items()}}
    _result = {{"scores": _model.loss(_X)}}
    _loss, _grads = _model.loss(_X, _y)
    _result["loss"] = _loss
    _result.update({{"d" + k: v for k, v in _grads.items()}})
    return _result


_grader_record("{name}{i}", _grader_net{i})
''')
    return "".join(lines)


def _verify_nets(inp, out, cases, name):
    results = []
    for i, case in enumerate(cases):
        params = {k.split(".", 1)[1]: v for k, v in inp.items() if k.startswith(f"net{i}.") and k.split(".")[1][0] in "Wb"}
        X, y, reg = inp[f"net{i}.X"], inp[f"net{i}.y"].astype(int), float(inp[f"net{i}.reg"][0])
        model = FullyConnectedNet(case["hidden_dims"], input_dim=X.shape[1], num_classes=len(params[f"b{len(case['hidden_dims']) + 1}"]),
                                  reg=reg, activation=case.get("activation", "relu"), dtype=np.float64)
        model.params = {k: v.copy() for k, v in params.items()}
        loss, grads = model.loss(X, y)
        checks = [_close(out, f"{name}{i}.scores", model.loss(X), 1e-8), _close(out, f"{name}{i}.loss", loss, 1e-8)]
        checks += [_close(out, f"{name}{i}.d{k}", g, 1e-7) for k, g in grads.items()]
        results.append(_all(*checks))
    return _all(*results)


def inputs_03(rng):
    return _net_inputs(rng, NET_CASES_03)


PROBE_03 = _net_probe("TwoLayerNet(input_dim=_D, hidden_dim={dims}[0], num_classes=_C, weight_scale=0.1, reg=_reg)",
                      NET_CASES_03, "TwoLayerNet")


def verify_03(inp, out):
    return {"TwoLayerNet": _verify_nets(inp, out, NET_CASES_03, "TwoLayerNet")}


def inputs_04(rng):
    return _net_inputs(rng, NET_CASES_04)


PROBE_04 = _net_probe("FullyConnectedNet({dims}, input_dim=_D, num_classes=_C, reg=_reg, weight_scale=0.1, "
                      "activation='{activation}', dtype=_grader_np.float64)", NET_CASES_04, "FullyConnectedNet")


def verify_04(inp, out):
    return {"FullyConnectedNet": _verify_nets(inp, out, NET_CASES_04, "FullyConnectedNet")}


# ---- comparisons --------------------------------------------------------------------------

def _close(out, key, expected, tol):
    """(ok, message) for one saved output against the reference value."""
    name = key.split(".")[0]
    if f"{name}.error" in out:
        return False, f"{name} raised {out[f'{name}.error']}"
    if key not in out:
        return False, f"{key.split('.')[0]} returned nothing the grader could read (did the notebook stop early?)"
    got, expected = np.asarray(out[key], dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        return False, f"{key} has shape {got.shape}, expected {expected.shape}"
    if not np.all(np.isfinite(got)):
        return False, f"{key} contains NaN or inf"
    error = rel_error(got, expected)
    return (True, "") if error < tol else (False, f"{key} differs from the expected values (relative error {error:.1e})")


def _all(*results):
    failures = [message for ok, message in results if not ok]
    return (not failures), "; ".join(failures)


PROBES = {
    "01_numerical_gradient": (inputs_01, PROBE_01, verify_01),
    "02_backprop": (inputs_02, PROBE_02, verify_02),
    "03_shallow_net": (inputs_03, PROBE_03, verify_03),
    "04_deep_net": (inputs_04, PROBE_04, verify_04),
}


def probe_source(chapter, folder="."):
    """The probe cell; it reads INPUTS_FILE from `folder` and writes OUTPUTS_FILE there (the grader's
    folder, not the student's: a notebook that filled its own disk still gets its functions verified)."""
    return (PROBE_PRELUDE.format(inputs=f"{folder}/{INPUTS_FILE}") + PROBES[chapter][1]
            + PROBE_EPILOGUE.format(outputs=f"{folder}/{OUTPUTS_FILE}"))


def draw_inputs(chapter, rng):
    return PROBES[chapter][0](rng)


def verify(chapter, inputs, outputs):
    """{graded name: (ok, message)} comparing the saved outputs with the reference package."""
    return PROBES[chapter][2](inputs, outputs)
