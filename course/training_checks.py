"""Checks that teach for chapter 5: update rules, dropout and batch normalization.

Same contract as course.checks: each check takes the student's functions and a seed, draws
its inputs from ``np.random.default_rng(seed)``, returns a Report and never raises, and
verifies only the behaviour its name promises. The update rules are compared with their
equations written out as sums over the whole gradient history (not the step-by-step
recursion a student writes); dropout with the properties that define it (a fraction p kept,
scaled by 1 / p, the identity at test time), since its random mask is the student's own; batch
norm's gradients with central differences of its definition, in float64.
"""
import numpy as np

from course.check_base import (
    Report,
    _call,
    _check_unchanged,
    _floats,
    _known_mistake,
    _never_raises,
    _numerical_backward,
    _shape_of,
    _unpack,
    _with_either_cache,
    compare_gradient,
    relative_error,
)

MOMENTUM_TOL = 1e-8  # check_sgd_momentum: next_w and velocity against the equations
ADAPTIVE_TOL = 1e-7  # check_rmsprop, check_adam: a division by sqrt(...) + epsilon loses a little more
BATCHNORM_TOL = 1e-8  # batch norm's gradients against central differences in float64
KEEP_MARGIN = 0.05  # check_dropout_forward: the kept fraction may miss p by this much (about 5 standard errors)


# ---- update rules ------------------------------------------------------------------------------------

def _decayed_sum(rate, values, start):
    """rate^k start + (1 - rate) sum_j rate^(k - j) values_j, for k = 1 .. len(values): an exponential
    moving average written as one sum per step."""
    return [rate**k * start + (1 - rate) * sum(rate ** (k - j) * values[j - 1] for j in range(1, k + 1))
            for k in range(1, len(values) + 1)]


def _steps(w0, moves):
    """w after each step, for w_k = w_(k-1) + moves_k."""
    return list(w0 + np.cumsum(moves, axis=0))


def _run_rule(report, label, rule, w, grads, config):
    """[(next_w, config) after each call], or None (and a problem) when a call fails or returns something else."""
    results, w = [], w.copy()
    for dw in grads:
        ok, result = _call(report, label, rule, w, dw.copy(), config)
        result = _unpack(report, label, result, 2) if ok else None
        if result is None:
            return None
        w, config = result
        if not isinstance(config, dict):
            report.problem(f"{label} must return (next_w, config), config the dict it was given with its state "
                           f"updated; the second value is a {type(config).__name__}.")
            return None
        w = _floats(w)
        if w is None or w.shape != grads[0].shape:
            report.problem(f"next_w has {_shape_of(result[0])}, expected {grads[0].shape}, the shape of w.")
            return None
        results.append((w.copy(), config))
        w = w.copy()
    return results


def _compare_path(report, results, expected, tol, known):
    """next_w after every step against the expected path; True when all match."""
    for k, ((w, _), want) in enumerate(zip(results, expected), start=1):
        error = relative_error(w, want)
        if not error < tol or not np.all(np.isfinite(w)):
            report.measure(f"next_w after call {k}: relative error {error:.1e} (must be below {tol:.0e})")
            wrong = [(path[k - 1], message) for path, message in known]
            report.problem(_known_mistake(w, wrong, tol) or
                           f"next_w after call {k} does not follow the update equations in the docstring.")
            return False
    report.measure(f"next_w after each of {len(results)} calls: relative error below {tol:.0e}")
    return True


def _compare_state(report, config, key, want, tol, fix):
    got = _floats(config.get(key))
    if got is None or got.shape != np.shape(want) or not relative_error(got, want) < tol:
        report.problem(f"config[{key!r}] holds {_shape_of(config.get(key)) if key in config else 'nothing'} that "
                       f"is not the expected state: {fix}")
        return False
    return True


def _defaults(report, label, rule, w, dw, expected, defaults, tol):
    """One call with config=None: the defaults must be CS231n's."""
    ok, result = _call(report, label, rule, w.copy(), dw.copy(), None)
    result = _unpack(report, label, result, 2) if ok else None
    if result is None:
        return False
    next_w, config = _floats(result[0]), result[1]
    missing = [k for k, v in defaults.items() if not isinstance(config, dict) or config.get(k) != v]
    if missing or next_w is None or next_w.shape != w.shape or not relative_error(next_w, expected) < tol:
        report.problem(f"{label}(w, dw, None) must fill config with the defaults "
                       f"{', '.join(f'{k}={v}' for k, v in defaults.items())}"
                       + (f" (wrong or missing: {', '.join(missing)})" if missing else " and use them"))
        return False
    return True


def _draw_rule_case(rng):
    shape = (int(rng.integers(3, 6)), int(rng.integers(3, 6)))
    return rng.standard_normal(shape), [rng.standard_normal(shape) for _ in range(3)]


@_never_raises
def check_sgd_momentum(sgd_momentum, seed=0):
    """Three calls from a given velocity: v <- momentum v - learning_rate dw; w <- w + v; and the defaults."""
    report = Report("sgd_momentum")
    rng = np.random.default_rng(seed)
    w, grads = _draw_rule_case(rng)
    lr, mu, v0 = float(rng.uniform(0.01, 0.2)), float(rng.uniform(0.5, 0.95)), 0.1 * rng.standard_normal(w.shape)
    config = {"learning_rate": lr, "momentum": mu, "velocity": v0.copy()}
    results = _run_rule(report, "sgd_momentum", sgd_momentum, w, grads, config)
    if results is None:
        return report
    velocities = [mu**k * v0 - lr * sum(mu ** (k - j) * grads[j - 1] for j in range(1, k + 1)) for k in (1, 2, 3)]
    flipped = [mu**k * v0 + lr * sum(mu ** (k - j) * grads[j - 1] for j in range(1, k + 1)) for k in (1, 2, 3)]
    known = [(_steps(w, flipped), "next_w moves up the gradient: the momentum sign is wrong. The velocity "
                                  "subtracts the gradient step, v = momentum * v - learning_rate * dw, and w = w + v."),
             (_steps(w, [-v for v in flipped]), "The velocity has the opposite sign of CS231n's: keep "
                                               "v = momentum * v - learning_rate * dw and then w = w + v."),
             (_steps(w, [-lr * g for g in grads]), "next_w is a plain SGD step: keep the velocity in "
                                                   "config['velocity'] and add it to w."),
             (_steps(w, [mu * v0 - lr * g for g in grads]), "The velocity is not carried from one call to the "
                                                            "next: store the new v in config['velocity'].")]
    if _compare_path(report, results, _steps(w, velocities), MOMENTUM_TOL, known) and \
            _compare_state(report, results[-1][1], "velocity", velocities[-1], MOMENTUM_TOL,
                           "store v = momentum * v - learning_rate * dw in config['velocity']."):
        _defaults(report, "sgd_momentum", sgd_momentum, w, grads[0], w - 1e-2 * grads[0],
                  {"learning_rate": 1e-2, "momentum": 0.9}, MOMENTUM_TOL)
    return report


@_never_raises
def check_rmsprop(rmsprop, seed=0):
    """Three calls from a given cache: cache <- decay cache + (1 - decay) dw^2; w -= lr dw / (sqrt(cache) + eps)."""
    report = Report("rmsprop")
    rng = np.random.default_rng(seed)
    w, grads = _draw_rule_case(rng)
    lr, rho, c0 = float(rng.uniform(1e-3, 1e-1)), float(rng.uniform(0.8, 0.99)), rng.uniform(0.1, 1.0, w.shape)
    config = {"learning_rate": lr, "decay_rate": rho, "epsilon": 1e-8, "cache": c0.copy()}
    results = _run_rule(report, "rmsprop", rmsprop, w, grads, config)
    if results is None:
        return report
    squares = [g**2 for g in grads]
    caches = _decayed_sum(rho, squares, c0)
    swapped = [(1 - rho) ** k * c0 + rho * sum((1 - rho) ** (k - j) * squares[j - 1] for j in range(1, k + 1))
               for k in (1, 2, 3)]
    known = [(_steps(w, [-lr * g / (c + 1e-8) for g, c in zip(grads, caches)]),
              "The step divides by the cache itself: divide by its square root, np.sqrt(cache) + epsilon."),
             (_steps(w, [-lr * g / (np.sqrt(c) + 1e-8) for g, c in zip(grads, swapped)]),
              "decay_rate and 1 - decay_rate are swapped: cache = decay_rate * cache + (1 - decay_rate) * dw**2."),
             (_steps(w, [-lr * g / (np.sqrt(c) + 1e-8) for g, c in zip(grads, _decayed_sum(rho, squares, 0 * c0))]),
              "The cache given in config['cache'] was ignored: start from it, not from zeros.")]
    expected = _steps(w, [-lr * g / (np.sqrt(c) + 1e-8) for g, c in zip(grads, caches)])
    if _compare_path(report, results, expected, ADAPTIVE_TOL, known) and \
            _compare_state(report, results[-1][1], "cache", caches[-1], ADAPTIVE_TOL,
                           "store the running average of dw**2 in config['cache']."):
        first = w - 1e-2 * grads[0] / (np.sqrt(0.01 * grads[0] ** 2) + 1e-8)
        _defaults(report, "rmsprop", rmsprop, w, grads[0], first,
                  {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}, ADAPTIVE_TOL)
    return report


def _adam_path(w, grads, m0, v0, t0, lr, b1, b2, eps, correct=True, t_step=1):
    ms, vs = _decayed_sum(b1, grads, m0), _decayed_sum(b2, [g**2 for g in grads], v0)
    moves = []
    for k, (m, v) in enumerate(zip(ms, vs), start=1):
        t = t0 + t_step * k
        with np.errstate(divide="ignore", invalid="ignore"):
            m_hat, v_hat = (m / (1 - b1**t), v / (1 - b2**t)) if correct else (m, v)
            moves.append(-lr * m_hat / (np.sqrt(v_hat) + eps))
    return _steps(w, moves), ms, vs


@_never_raises
def check_adam(adam, seed=0):
    """Three calls from a given state (m, v, t = 5, as CS231n's known answer) and three from the defaults,
    against the bias-corrected equations; t must grow by one per call."""
    report = Report("adam")
    rng = np.random.default_rng(seed)
    w, grads = _draw_rule_case(rng)
    lr, b1, b2 = float(rng.uniform(1e-3, 1e-1)), float(rng.uniform(0.8, 0.95)), float(rng.uniform(0.99, 0.9999))
    m0, v0 = 0.5 * rng.standard_normal(w.shape), rng.uniform(0.1, 1.0, w.shape)
    for start in ("given", "zero"):
        m_start, v_start, t0 = (m0, v0, 5) if start == "given" else (0 * w, 0 * w, 0)
        config = {"learning_rate": lr, "beta1": b1, "beta2": b2, "epsilon": 1e-8, "m": m_start.copy(),
                  "v": v_start.copy(), "t": t0}
        results = _run_rule(report, "adam", adam, w, grads, config)
        if results is None:
            return report
        t = results[-1][1].get("t")
        if t != t0 + 3:
            report.problem(f"config['t'] went from {t0} to {t} in 3 calls: increment t by one on every call, "
                           f"before the bias correction uses it.")
            return report
        expected, ms, vs = _adam_path(w, grads, m_start, v_start, t0, lr, b1, b2, 1e-8)
        known = [(_adam_path(w, grads, m_start, v_start, t0, lr, b1, b2, 1e-8, correct=False)[0],
                  "next_w has no bias correction: divide m by (1 - beta1**t) and v by (1 - beta2**t) before the step."),
                 (_adam_path(w, grads, m_start, v_start, t0 - 1, lr, b1, b2, 1e-8)[0],
                  "The bias correction uses t before it was incremented: add 1 to t first, then correct.")]
        if not _compare_path(report, results, expected, ADAPTIVE_TOL, known):
            return report
        if not (_compare_state(report, results[-1][1], "m", ms[-1], ADAPTIVE_TOL,
                               "config['m'] must hold the uncorrected first moment beta1 * m + (1 - beta1) * dw.")
                and _compare_state(report, results[-1][1], "v", vs[-1], ADAPTIVE_TOL,
                                   "config['v'] must hold the uncorrected second moment "
                                   "beta2 * v + (1 - beta2) * dw**2.")):
            return report
    default_path, _, _ = _adam_path(w, grads[:1], 0 * w, 0 * w, 0, 1e-3, 0.9, 0.999, 1e-8)
    _defaults(report, "adam", adam, w, grads[0], default_path[0],
              {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, ADAPTIVE_TOL)
    return report


# ---- dropout ---------------------------------------------------------------------------------------

def _draw_dropout(rng):
    x = 1.0 + np.abs(rng.standard_normal((int(rng.integers(200, 300)), int(rng.integers(20, 40)))))  # never 0
    return x, float(rng.uniform(0.6, 0.85)), int(rng.integers(2**31))  # 1 - p is far from p


@_never_raises
def check_dropout_forward(dropout_forward, seed=0):
    """Train mode keeps a fraction p (the probability of keeping) scaled by 1 / p, repeats its mask for a
    repeated seed; test mode returns x unchanged."""
    report = Report("dropout_forward")
    rng = np.random.default_rng(seed)
    x, p, mask_seed = _draw_dropout(rng)
    outs = []
    for _ in range(2):
        seen = x.copy()
        ok, result = _call(report, "dropout_forward", dropout_forward, seen, {"mode": "train", "p": p, "seed": mask_seed})
        result = _unpack(report, "dropout_forward", result, 2) if ok else None
        if result is None:
            return report
        out = _floats(result[0])
        if out is None or out.shape != x.shape:
            report.problem(f"out has {_shape_of(result[0])}, expected {x.shape}, the shape of x.")
            return report
        _check_unchanged(report, "dropout_forward", x, seen, "x", "return x * mask, a new array")
        outs.append(out)
    out, kept = outs[0], outs[0] != 0
    fraction = float(kept.mean())
    report.measure(f"train mode, p={p:.2f}: kept a fraction {fraction:.3f} of the units (must be p within "
                   f"{KEEP_MARGIN})")
    if abs(fraction - p) > KEEP_MARGIN:
        report.problem("It drops a fraction p instead of keeping it: p is the probability of KEEPING a unit, "
                       "mask = rng.random(x.shape) < p." if abs(fraction - (1 - p)) <= KEEP_MARGIN else
                       f"It keeps a fraction {fraction:.2f} of the units, not p={p:.2f}.")
        return report
    ratio = out[kept] / x[kept]
    if not np.allclose(ratio, 1 / p, rtol=1e-9):
        report.problem("The kept units are not scaled at train time: inverted dropout divides them by p, "
                       "out = x * mask / p, so test time needs no change." if np.allclose(ratio, 1, rtol=1e-9) else
                       f"The kept units are multiplied by {np.median(ratio):.3g}: they must be divided by p "
                       f"(multiplied by {1 / p:.3g}).")
        return report
    report.measure("kept units are scaled by 1 / p")
    if not np.array_equal(outs[0], outs[1]):
        report.problem("Two calls with the same dropout_param['seed'] gave different masks: draw the mask from "
                       "np.random.default_rng(dropout_param.get('seed')) (or np.random.seed(seed) first).")
        return report
    ok, result = _call(report, "dropout_forward (test mode)", dropout_forward, x.copy(), {"mode": "test", "p": p})
    result = _unpack(report, "dropout_forward", result, 2) if ok else None
    if result is None:
        return report
    test_out = _floats(result[0])
    if test_out is None or test_out.shape != x.shape or not np.allclose(test_out, x, rtol=1e-12):
        scaled = test_out is not None and test_out.shape == x.shape and np.all(test_out != 0)
        report.problem("Test mode scales x: with inverted dropout the scaling happened at train time, so test "
                       "mode returns x unchanged." if scaled else
                       "Test mode must return x unchanged: no units are dropped at test time.")
        return report
    report.measure("test mode returns x unchanged")
    return report


@_never_raises
def check_dropout_backward(dropout_forward, dropout_backward, seed=0):
    """dx = dout * mask in train mode (the documented cache (dropout_param, mask), mask = kept / p), dout in test mode."""
    report = Report("dropout_backward")
    rng = np.random.default_rng(seed)
    x, p, mask_seed = _draw_dropout(rng)
    x = x[:8, :6]
    dout = rng.standard_normal(x.shape)
    mask = (rng.random(x.shape) < p) / p
    train_param = {"mode": "train", "p": p, "seed": mask_seed}

    documented = (dict(train_param), mask)

    def attempt(trial, cache):
        used = mask
        if cache is not documented:  # the student's own forward's cache holds its own mask: read it from out / x
            ok, forward = _call(trial, "dropout_forward", dropout_forward, x.copy(), dict(train_param))
            forward = _unpack(trial, "dropout_forward", forward, 2) if ok else None
            if forward is None or _floats(forward[0]) is None or np.shape(forward[0]) != x.shape:
                return False
            used = _floats(forward[0]) / x
        truth = _numerical_backward(lambda v: v * used, x, dout)
        seen = dout.copy()
        ok, dx = _call(trial, "dropout_backward", dropout_backward, seen, cache)
        if not ok:
            return False
        _check_unchanged(trial, "dropout_backward", dout, seen, "dout", "return dout * mask, a new array")
        known = [(dout, "dx is dout everywhere: in train mode only the kept units pass the gradient, dx = dout * mask."),
                 (dout * (used != 0), "dx is not scaled by 1 / p: the forward scaled the kept units, so the "
                                      "backward scales their gradient too, dx = dout * mask.")]
        return compare_gradient(trial, "dx (train mode)", dx, truth, MOMENTUM_TOL, known=known) or True

    _with_either_cache(report, attempt, lambda: documented,
                       lambda: dropout_forward(x.copy(), dict(train_param)))
    if not report.passed:
        return report
    ok, dx = _call(report, "dropout_backward (test mode)", dropout_backward, dout.copy(), ({"mode": "test", "p": p}, None))
    if ok:
        compare_gradient(report, "dx (test mode)", dx, dout, MOMENTUM_TOL,
                         known=[(dout * p, "Test mode scales the gradient: at test time the layer is the identity, "
                                           "so dx = dout.")])
    return report


# ---- batch normalization -------------------------------------------------------------------------

def _bn(x, gamma, beta, eps=1e-5):
    """The definition: each feature standardised over the batch (biased variance), then scaled and shifted."""
    return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta


def _draw_bn(rng, N=None, D=None):
    N, D = N or int(rng.integers(4, 9)), D or int(rng.integers(3, 7))
    x = rng.uniform(0.5, 3.0, D) * rng.standard_normal((N, D)) + rng.standard_normal(D)
    return x, rng.uniform(0.5, 2.0, D) * rng.choice((-1, 1), D), rng.standard_normal(D), rng.standard_normal((N, D))


@_never_raises
def check_batchnorm_forward(batchnorm_forward, seed=0):
    """Train mode: the definition and the running averages in bn_param; test mode: the running statistics."""
    report = Report("batchnorm_forward")
    rng = np.random.default_rng(seed)
    x, gamma, beta, _ = _draw_bn(rng, N=int(rng.integers(20, 40)))
    momentum = float(rng.uniform(0.5, 0.95))
    bn_param = {"mode": "train", "momentum": momentum}
    seen = x.copy()
    ok, result = _call(report, "batchnorm_forward", batchnorm_forward, seen, gamma.copy(), beta.copy(), bn_param)
    result = _unpack(report, "batchnorm_forward", result, 2) if ok else None
    if result is None:
        return report
    _check_unchanged(report, "batchnorm_forward", x, seen, "x", "compute a new array")
    out, expected = _floats(result[0]), _bn(x, gamma, beta)
    if out is None or out.shape != x.shape:
        report.problem(f"out has {_shape_of(result[0])}, expected {x.shape}, the shape of x.")
        return report
    error = relative_error(out, expected)
    report.measure(f"train mode out: relative error {error:.1e} (must be below {BATCHNORM_TOL:.0e})")
    if not error < BATCHNORM_TOL:
        centred = x - x.mean(axis=0)
        known = [(gamma * centred / np.sqrt(x.var(axis=0, ddof=1) + 1e-5) + beta,
                  "out uses the unbiased variance (ddof=1): batch norm divides by N, x.var(axis=0)."),
                 (gamma * centred / (np.sqrt(x.var(axis=0)) + 1e-5) + beta,
                  "eps is added outside the square root: divide by np.sqrt(var + eps)."),
                 (centred / np.sqrt(x.var(axis=0) + 1e-5),
                  "out is only standardised: scale by gamma and shift by beta, out = gamma * x_hat + beta.")]
        with np.errstate(all="ignore"):
            rows = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
        known.append((gamma * rows + beta, "The statistics are taken over each example (axis=1): batch norm "
                                           "takes them per feature, over the batch (axis=0)."))
        report.problem(_known_mistake(out, known, BATCHNORM_TOL) or
                       "out does not match gamma * (x - mean) / sqrt(var + eps) + beta with the batch's statistics.")
        return report
    for key, batch in (("running_mean", x.mean(axis=0)), ("running_var", x.var(axis=0))):
        want = (1 - momentum) * batch  # the running averages start at zero
        got = _floats(bn_param.get(key))
        if got is None or got.shape != want.shape or not relative_error(got, want) < BATCHNORM_TOL:
            swapped = got is not None and got.shape == want.shape and relative_error(got, momentum * batch) < 1e-9
            report.problem(f"bn_param[{key!r}] is not updated as running = momentum * running + (1 - momentum) * "
                           f"batch statistic" + (": momentum and 1 - momentum are swapped." if swapped else
                                                 ", starting from zeros; store it back in bn_param."))
            return report
    report.measure("train mode updates running_mean and running_var in bn_param")
    x_test = x[:int(rng.integers(2, 6))] + rng.standard_normal(x.shape[1])
    running_mean, running_var = rng.standard_normal(x.shape[1]), rng.uniform(0.5, 2.0, x.shape[1])
    test_param = {"mode": "test", "momentum": momentum, "running_mean": running_mean.copy(),
                  "running_var": running_var.copy()}
    ok, result = _call(report, "batchnorm_forward (test mode)", batchnorm_forward, x_test.copy(), gamma.copy(),
                       beta.copy(), test_param)
    result = _unpack(report, "batchnorm_forward", result, 2) if ok else None
    if result is None:
        return report
    out = _floats(result[0])
    expected = gamma * (x_test - running_mean) / np.sqrt(running_var + 1e-5) + beta
    if out is None or out.shape != expected.shape or not relative_error(out, expected) < BATCHNORM_TOL:
        batch = out is not None and out.shape == expected.shape and relative_error(out, _bn(x_test, gamma, beta)) < 1e-6
        report.problem("Test mode uses the batch's own statistics: at test time use bn_param['running_mean'] and "
                       "bn_param['running_var'], so an example's output does not depend on its batch." if batch else
                       "Test mode out must be gamma * (x - running_mean) / sqrt(running_var + eps) + beta.")
        return report
    report.measure("test mode uses the running statistics")
    return report


def _check_bn_backward(label, batchnorm_forward, backward, seed):
    report = Report(label)
    rng = np.random.default_rng(seed)
    x, gamma, beta, dout = _draw_bn(rng)
    N, eps = x.shape[0], 1e-5
    numeric = (_numerical_backward(lambda v: _bn(v, gamma, beta), x, dout),
               _numerical_backward(lambda v: _bn(x, v, beta), gamma, dout),
               _numerical_backward(lambda v: _bn(x, gamma, v), beta, dout))
    mean, var = x.mean(axis=0), x.var(axis=0)
    x_hat = (x - mean) / np.sqrt(var + eps)
    constant_statistics = dout * gamma / np.sqrt(var + eps)

    def attempt(trial, cache):
        seen = dout.copy()
        ok, grads = _call(trial, label, backward, seen, cache)
        grads = _unpack(trial, label, grads, 3) if ok else None
        if grads is None:
            return False
        _check_unchanged(trial, label, dout, seen, "dout", "compute new arrays")
        known = {"dx": [(constant_statistics, "dx treats the batch mean and variance as constants: they depend on "
                                              "x too, which adds the terms through dmean and dvar.")],
                 "dgamma": [(dout * x_hat, "dgamma is not summed over the batch: dgamma = (dout * x_hat).sum(axis=0).")],
                 "dbeta": [(dout, "dbeta is not summed over the batch: dbeta = dout.sum(axis=0).")]}
        for name, analytic, truth in zip(("dx", "dgamma", "dbeta"), grads, numeric):
            array = _floats(analytic)
            if array is not None and array.shape == (N, x.shape[1]) and truth.shape != array.shape:
                message = _known_mistake(array, known[name], 1e-9)
                if message:
                    trial.problem(message)
                    continue
            compare_gradient(trial, name, analytic, truth, BATCHNORM_TOL, known=known[name])
        return True

    _with_either_cache(report, attempt, lambda: (x.copy(), x_hat.copy(), mean.copy(), var.copy(), gamma.copy(), eps),
                       lambda: batchnorm_forward(x.copy(), gamma.copy(), beta.copy(), {"mode": "train"}))
    return report


@_never_raises
def check_batchnorm_backward(batchnorm_forward, batchnorm_backward, seed=0):
    """dx, dgamma, dbeta against central differences of the definition (float64), with the documented cache
    (x, x_hat, mean, var, gamma, eps) or the student's own forward's."""
    return _check_bn_backward("batchnorm_backward", batchnorm_forward, batchnorm_backward, seed)


@_never_raises
def check_batchnorm_backward_alt(batchnorm_forward, batchnorm_backward_alt, seed=0):
    """The simplified formula: the same gradients as check_batchnorm_backward asks for."""
    return _check_bn_backward("batchnorm_backward_alt", batchnorm_forward, batchnorm_backward_alt, seed)
