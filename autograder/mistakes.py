"""Submissions that differ from the solution in one thing: a mistake students make, or another right way.

A Variant replaces whole answer cells (by grade id) with a student's code. `loses` names the
graded tests it must fail and `says` a phrase the failing check's message contains; a correct
variant loses nothing. tests/test_checks.py runs each variant through every graded check of its
chapter: the tests in `loses` fail with `says`, every other test passes. That is what
"one bug costs one test" means, measured.

Most variants are edits of the solution (old text -> new text, each old text found exactly
once), so the one change is visible here and the rest of the cell is the solution as a student
would have written it. The chapter 3 and 4 cells run where `np` and `layers` (course.layers)
are imported, as in their notebooks.
"""
from dataclasses import dataclass
from functools import cache

from autograder import corpus

CH1, CH2, CH3, CH4 = "01_numerical_gradient", "02_backprop", "03_shallow_net", "04_deep_net"


@dataclass(frozen=True)
class Variant:
    chapter: str
    name: str
    answers: dict  # answer cell grade_id -> the full code of that cell
    loses: frozenset = frozenset()  # grade ids of the tests it must fail; empty for a correct variant
    says: str = ""  # a phrase the failing check's message contains ("" for a correct variant)

    @property
    def correct(self) -> bool:
        return not self.loses


@cache
def solution_cells(chapter):
    """grade_id -> the solution of each answer cell, as a student's cell (without nbgrader's markers)."""
    markers = ("### BEGIN SOLUTION", "### END SOLUTION")
    return {grade_id: "\n".join(line for line in code.splitlines() if line.strip() not in markers)
            for grade_id, code in corpus.answers(chapter).items()}


def _edited(chapter, grade_id, edits):
    code = solution_cells(chapter)[grade_id]
    for old, new in edits:
        if code.count(old) != 1:
            raise ValueError(f"{chapter} {grade_id}: {old!r} occurs {code.count(old)} times in the solution, not once")
        code = code.replace(old, new)
    return code


def _variant(chapter, name, changes, loses=(), says=""):
    """changes: grade_id -> a cell's full new code, or a list of (old, new) edits of its solution."""
    answers = {grade_id: change if isinstance(change, str) else _edited(chapter, grade_id, change)
               for grade_id, change in changes.items()}
    return Variant(chapter, name, answers, frozenset([loses] if isinstance(loses, str) else loses), says)


def mistake(chapter, name, test, says, changes):
    return _variant(chapter, name, changes, test, says)


def correct(chapter, name, changes):
    return _variant(chapter, name, changes)


# ---- chapter 1 ---------------------------------------------------------------------------

_FORWARD = "return (f(x + h) - f(x)) / h"
_CENTRAL = "return (f(x + h) - f(x - h)) / (2 * h)"
_QUOTIENT = "grad[ix] = (f_plus - f_minus) / (2 * h)"

CHAPTER_1 = (
    mistake(CH1, "forward difference written as a central one", "test_forward_difference",
            "behaves like a central difference", {"forward_difference": [(_FORWARD, _CENTRAL)]}),
    mistake(CH1, "forward difference divided by 2h", "test_forward_difference", "divides by 2h",
            {"forward_difference": [(_FORWARD, "return (f(x + h) - f(x)) / (2 * h)")]}),
    mistake(CH1, "backward difference instead of forward", "test_forward_difference", "backward difference",
            {"forward_difference": [(_FORWARD, "return (f(x) - f(x - h)) / h")]}),
    mistake(CH1, "central difference written as a forward one", "test_central_difference", "forward difference",
            {"central_difference": [(_CENTRAL, _FORWARD)]}),
    mistake(CH1, "central difference divided by h", "test_central_difference", "not by h",
            {"central_difference": [(_CENTRAL, "return (f(x + h) - f(x - h)) / h")]}),
    mistake(CH1, "numerical gradient leaves x nudged", "test_numerical_gradient", "restore each entry",
            {"numerical_gradient": [("        x[ix] = old\n", "")]}),
    mistake(CH1, "numerical gradient by forward differences", "test_numerical_gradient", "forward difference",
            {"numerical_gradient": [("x[ix] = old - h", "x[ix] = old"),
                                    (_QUOTIENT, "grad[ix] = (f_plus - f_minus) / h")]}),
    mistake(CH1, "numerical gradient divided by h", "test_numerical_gradient", "twice too large",
            {"numerical_gradient": [(_QUOTIENT, "grad[ix] = (f_plus - f_minus) / h")]}),
    correct(CH1, "numerical gradient with np.nditer", {"numerical_gradient": '''\
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        f_plus = f(x)
        x[ix] = old - h
        f_minus = f(x)
        x[ix] = old
        grad[ix] = (f_plus - f_minus) / (2 * h)
        it.iternext()
    return grad
'''}),
    correct(CH1, "numerical gradient over flat indices", {"numerical_gradient": '''\
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.size)
    flat = x.reshape(-1)  # a view: nudging it nudges x
    for i in range(x.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = f(x)
        flat[i] = old - h
        f_minus = f(x)
        flat[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad.reshape(x.shape)
'''}),
)

# ---- chapter 2 ---------------------------------------------------------------------------

_AFFINE_OUT = "out = x.reshape(x.shape[0], -1) @ w + b"
_LOSS = "loss = -log_probs[np.arange(N), y].mean()"

CHAPTER_2 = (
    mistake(CH2, "affine_forward does not flatten x", "test_affine_forward", "x.reshape(N, -1)",
            {"affine_forward": [(_AFFINE_OUT, "out = x @ w + b")]}),
    mistake(CH2, "affine_forward forgets the bias", "test_affine_forward", "missing the bias",
            {"affine_forward": [(_AFFINE_OUT, "out = x.reshape(x.shape[0], -1) @ w")]}),
    mistake(CH2, "dx not reshaped to x's shape", "test_affine_backward", "dx.reshape(x.shape)",
            {"affine_backward": [("dx = (dout @ w.T).reshape(x.shape)", "dx = dout @ w.T")]}),
    mistake(CH2, "dw transposed", "test_affine_backward", "transposed",
            {"affine_backward": [("dw = x.reshape(x.shape[0], -1).T @ dout",
                                  "dw = dout.T @ x.reshape(x.shape[0], -1)")]}),
    mistake(CH2, "bias gradient not summed", "test_affine_backward", "summed over the batch",
            {"affine_backward": [("db = dout.sum(axis=0)", "db = dout")]}),
    mistake(CH2, "bias gradient averaged", "test_affine_backward", "times too small, the batch size",
            {"affine_backward": [("db = dout.sum(axis=0)", "db = dout.mean(axis=0)")]}),
    mistake(CH2, "ReLU as min", "test_relu_forward", "min(0, x)",
            {"relu_forward": [("np.maximum(x, 0)", "np.minimum(x, 0)")]}),
    mistake(CH2, "relu_forward writes into x", "test_relu_forward", "in place",
            {"relu_forward": [("return np.maximum(x, 0), x", "x[x < 0] = 0\n    return x, x")]}),
    mistake(CH2, "ReLU mask taken from dout", "test_relu_backward", "wrong tensor",
            {"relu_backward": [("return dout * (x > 0)", "return dout * (dout > 0)")]}),
    mistake(CH2, "relu_backward writes into dout", "test_relu_backward", "changed its input array dout in place",
            {"relu_backward": [("return dout * (x > 0)", "dout[x <= 0] = 0\n    return dout")]}),
    mistake(CH2, "relu_backward returns only the mask", "test_relu_backward", "only the local derivative",
            {"relu_backward": [("return dout * (x > 0)", "return 1.0 * (x > 0)")]}),
    mistake(CH2, "sigmoid that overflows", "test_sigmoid_forward", "NaN or inf for inputs of +-1000",
            {"sigmoid_forward": [("out = 0.5 * (1 + np.tanh(0.5 * x))", "out = np.exp(x) / (1 + np.exp(x))")]}),
    mistake(CH2, "sigmoid with exp(x)", "test_sigmoid_forward", "sigmoid(-x)",
            {"sigmoid_forward": [("out = 0.5 * (1 + np.tanh(0.5 * x))", "out = 1 / (1 + np.exp(x))")]}),
    mistake(CH2, "sigmoid_backward applies the sigmoid to its cache again", "test_sigmoid_backward",
            "already holds out = sigmoid(x)",
            {"sigmoid_backward": [("return dout * out * (1 - out)",
                                   "s = 1 / (1 + np.exp(-out))\n    return dout * s * (1 - s)")]}),
    mistake(CH2, "sigmoid_backward forgets dout", "test_sigmoid_backward", "multiply it by the upstream gradient",
            {"sigmoid_backward": [("return dout * out * (1 - out)", "return out * (1 - out)")]}),
    mistake(CH2, "softmax without subtracting the maximum", "test_softmax_loss", "subtract each row's maximum",
            {"softmax_loss": [("shifted = scores - scores.max(axis=1, keepdims=True)", "shifted = scores")]}),
    mistake(CH2, "softmax indexed with [:, y]", "test_softmax_loss", "np.arange(N), y",
            {"softmax_loss": [(_LOSS, "loss = -log_probs[:, y].mean()"),
                              ("dscores[np.arange(N), y] -= 1", "dscores[:, y] -= 1")]}),
    mistake(CH2, "softmax loss indexed with [:, y]", "test_softmax_loss", "np.arange(N), y",
            {"softmax_loss": [(_LOSS, "loss = -log_probs[:, y].mean()")]}),
    mistake(CH2, "softmax loss summed, not averaged", "test_softmax_loss", "take the mean over the batch, not the sum",
            {"softmax_loss": [(_LOSS, "loss = -log_probs[np.arange(N), y].sum()")]}),
    mistake(CH2, "softmax loss left per example", "test_softmax_loss", "must be one number",
            {"softmax_loss": [(_LOSS, "loss = -log_probs[np.arange(N), y]"),
                              ("return float(loss), dscores / N", "return loss, dscores / N")]}),
    mistake(CH2, "dscores not divided by N", "test_softmax_loss", "times too large, the batch size",
            {"softmax_loss": [("return float(loss), dscores / N", "return float(loss), dscores")]}),
    mistake(CH2, "dscores without the one-hot", "test_softmax_loss", "subtract 1 at each example's correct class",
            {"softmax_loss": [("    dscores[np.arange(N), y] -= 1\n", "")]}),
    correct(CH2, "affine with np.dot and its own cache layout", {
        "affine_forward": '''\
def affine_forward(x, w, b):
    rows = np.reshape(x, (x.shape[0], -1))
    return np.dot(rows, w) + b, (x.shape, rows, w)
''',
        "affine_backward": '''\
def affine_backward(dout, cache):
    shape, rows, w = cache
    return np.dot(dout, w.T).reshape(shape), np.dot(rows.T, dout), np.sum(dout, axis=0)
'''}),
    correct(CH2, "ReLU with np.where", {
        "relu_forward": "def relu_forward(x):\n    return np.where(x > 0, x, 0.0), x\n",
        "relu_backward": "def relu_backward(dout, cache):\n    return np.where(cache > 0, dout, 0.0)\n"}),
    correct(CH2, "ReLU caching its mask", {
        "relu_forward": "def relu_forward(x):\n    mask = x > 0\n    return x * mask, mask\n",
        "relu_backward": "def relu_backward(dout, cache):\n    return dout * cache\n"}),
    correct(CH2, "sigmoid by separate formulas for the two signs", {"sigmoid_forward": '''\
def sigmoid_forward(x):
    e = np.exp(-np.abs(x))  # never overflows
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out, out
'''}),
    correct(CH2, "sigmoid caching x and recomputing it in the backward", {
        "sigmoid_forward": "def sigmoid_forward(x):\n    return 0.5 * (1 + np.tanh(0.5 * x)), x\n",
        "sigmoid_backward": '''\
def sigmoid_backward(dout, cache):
    s = 0.5 * (1 + np.tanh(0.5 * cache))
    return dout * s * (1 - s)
'''}),
    correct(CH2, "textbook softmax: subtract the maximum, normalise, index", {"softmax_loss": '''\
def softmax_loss(scores, y):
    N = len(y)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(N), y]).mean()
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    return loss, dscores / N
'''}),
    correct(CH2, "softmax that shifts the scores in place", {
        "softmax_loss": [("shifted = scores - scores.max(axis=1, keepdims=True)",
                          "scores -= scores.max(axis=1, keepdims=True)\n    shifted = scores")]}),
)

# ---- chapter 3 ---------------------------------------------------------------------------

_W1_INIT = 'self.params["W1"] = weight_scale * rng.standard_normal((input_dim, hidden_dim))'
_W2_INIT = 'self.params["W2"] = weight_scale * rng.standard_normal((hidden_dim, num_classes))'
_L2 = "loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))"
_REG_W1, _REG_W2 = 'grads["W1"] += self.reg * W1', 'grads["W2"] += self.reg * W2'
_AFFINE_RELU = "hidden, cache1 = layers.affine_relu_forward(X, W1, b1)"
_AFFINE_RELU_BACK = '_, grads["W1"], grads["b1"] = layers.affine_relu_backward(dhidden, cache1)'

CHAPTER_3 = (
    mistake(CH3, "random biases", "test_two_layer_init", "b1 must start at zero",
            {"TwoLayerNet": [('self.params["b1"] = np.zeros(hidden_dim)',
                              'self.params["b1"] = weight_scale * rng.standard_normal(hidden_dim)')]}),
    mistake(CH3, "weight_scale taken as the variance", "test_two_layer_init", "not the variance",
            {"TwoLayerNet": [(_W1_INIT, _W1_INIT.replace("weight_scale *", "np.sqrt(weight_scale) *")),
                             (_W2_INIT, _W2_INIT.replace("weight_scale *", "np.sqrt(weight_scale) *"))]}),
    mistake(CH3, "W1 created transposed", "test_two_layer_init", "transposed",
            {"TwoLayerNet": [(_W1_INIT, _W1_INIT.replace("(input_dim, hidden_dim)", "(hidden_dim, input_dim)"))]}),
    mistake(CH3, "uniform weights in [0, weight_scale)", "test_two_layer_init", "not 0",
            {"TwoLayerNet": [(_W1_INIT, _W1_INIT.replace("standard_normal", "random")),
                             (_W2_INIT, _W2_INIT.replace("standard_normal", "random"))]}),
    mistake(CH3, "L2 term missing from the loss", "test_two_layer_loss", "missing from the loss",
            {"TwoLayerNet": [(f"        {_L2}\n", "")]}),
    mistake(CH3, "L2 term without the 1/2", "test_two_layer_loss", "twice too large",
            {"TwoLayerNet": [(_L2, _L2.replace("0.5 * ", ""))]}),
    mistake(CH3, "L2 term over the biases too", "test_two_layer_loss", "biases are regularized too",
            {"TwoLayerNet": [(_L2, _L2[:-1] + " + np.sum(b1 * b1) + np.sum(b2 * b2))")]}),
    mistake(CH3, "hidden layer without ReLU, forward and backward", ("test_two_layer_loss", "test_two_layer_gradients"),
            "has no relu",
            {"TwoLayerNet": [(_AFFINE_RELU, _AFFINE_RELU.replace("affine_relu_forward", "affine_forward")),
                             (_AFFINE_RELU_BACK,
                              _AFFINE_RELU_BACK.replace("affine_relu_backward", "affine_backward"))]}),
    mistake(CH3, "loss(X) without labels does not return the scores", "test_two_layer_loss", "y=None",
            {"TwoLayerNet": [("        if y is None:\n            return scores\n", "")]}),
    mistake(CH3, "L2 gradient missing", "test_two_layer_gradients", "regularization gradient is missing",
            {"TwoLayerNet": [(f"        {_REG_W1}\n        {_REG_W2}\n", "")]}),
    mistake(CH3, "L2 gradient missing from W2", "test_two_layer_gradients", "missing from grads['W2']",
            {"TwoLayerNet": [(f"        {_REG_W2}\n", "")]}),
    mistake(CH3, "L2 gradient doubled", "test_two_layer_gradients", "regularization gradient twice",
            {"TwoLayerNet": [(_REG_W1, _REG_W1.replace("self.reg", "2 * self.reg")),
                             (_REG_W2, _REG_W2.replace("self.reg", "2 * self.reg"))]}),
    mistake(CH3, "backward skips the ReLU", "test_two_layer_gradients", "do not match the numerical gradient",
            {"TwoLayerNet": [(_AFFINE_RELU_BACK,
                              '_, grads["W1"], grads["b1"] = layers.affine_backward(dhidden, cache1[0])')]}),
    correct(CH3, "affine_forward + relu_forward instead of affine_relu_forward", {"TwoLayerNet": [
        (_AFFINE_RELU, "a, cache1 = layers.affine_forward(X, W1, b1)\n"
                       "        hidden, relu_cache = layers.relu_forward(a)"),
        (_AFFINE_RELU_BACK, "da = layers.relu_backward(dhidden, relu_cache)\n"
                            '        _, grads["W1"], grads["b1"] = layers.affine_backward(da, cache1)')]}),
    correct(CH3, "init with np.random.randn", {"TwoLayerNet": [
        ("        rng = np.random.default_rng()\n", ""),
        (_W1_INIT, 'self.params["W1"] = weight_scale * np.random.randn(input_dim, hidden_dim)'),
        (_W2_INIT, 'self.params["W2"] = weight_scale * np.random.randn(hidden_dim, num_classes)')]}),
    correct(CH3, "L2 term with np.linalg.norm", {"TwoLayerNet": [
        (_L2, "loss += 0.5 * self.reg * (np.linalg.norm(W1) ** 2 + np.linalg.norm(W2) ** 2)")]}),
)

# ---- chapter 4 ---------------------------------------------------------------------------

_HE = 'std = np.sqrt(2.0 / fan_in) if weight_scale == "he" else weight_scale'
_ACTIVATION = "self.activation_forward, self.activation_backward = ACTIVATIONS[activation]"
_LAST = 'scores, last_cache = layers.affine_forward(hidden, self.params[f"W{L}"], self.params[f"b{L}"])'
_LAST_BACK = 'dhidden, grads[f"W{L}"], grads[f"b{L}"] = layers.affine_backward(dscores, last_cache)'
_FC_L2 = "            loss += 0.5 * self.reg * float(np.sum(W * W))\n"
_FC_REG = '            grads[f"W{i}"] = grads[f"W{i}"] + self.reg * W\n'

CHAPTER_4 = (
    mistake(CH4, "he as sqrt(1 / fan_in)", "test_fc_init", "not sqrt(1 / fan_in)",
            {"FullyConnectedNet": [(_HE, _HE.replace("2.0", "1.0"))]}),
    mistake(CH4, "he from input_dim for every layer", "test_fc_init", "is per layer",
            {"FullyConnectedNet": [(_HE, _HE.replace("fan_in", "input_dim"))]}),
    mistake(CH4, "he without the square root", "test_fc_init", "take the square root",
            {"FullyConnectedNet": [(_HE, _HE.replace("np.sqrt(2.0 / fan_in)", "2.0 / fan_in"))]}),
    mistake(CH4, "he from fan_out", "test_fc_init", "not its outputs",
            {"FullyConnectedNet": [(_HE, _HE.replace("fan_in", "fan_out"))]}),
    mistake(CH4, "numeric weight_scale taken as the variance", "test_fc_init", "not the variance",
            {"FullyConnectedNet": [(_HE, _HE.replace("else weight_scale", "else np.sqrt(weight_scale)"))]}),
    mistake(CH4, "biases start at 0.01", "test_fc_init", "must start at zero",
            {"FullyConnectedNet": [("np.zeros(fan_out, dtype=dtype)", "np.full(fan_out, 0.01, dtype=dtype)")]}),
    mistake(CH4, "activation argument ignored", ("test_fc_loss", "test_fc_gradients"),
            "use the activation the constructor was given",
            {"FullyConnectedNet": [(_ACTIVATION, _ACTIVATION.replace("[activation]", '["relu"]'))]}),
    mistake(CH4, "activation after the last layer too, forward and backward", ("test_fc_loss", "test_fc_gradients"),
            "last layer must have no activation",
            {"FullyConnectedNet": [(_LAST, _LAST + "\n        scores, scores_cache = self.activation_forward(scores)"),
                                   (_LAST_BACK, "dscores = self.activation_backward(dscores, scores_cache)\n        "
                                                + _LAST_BACK)]}),
    mistake(CH4, "L2 term only of the last weights (added after the loop)", "test_fc_loss",
            "covers only the last weight matrix",
            {"FullyConnectedNet": [(_FC_L2 + _FC_REG, _FC_REG + _FC_L2[4:])]}),
    mistake(CH4, "L2 gradient missing", "test_fc_gradients", "regularization gradient is missing",
            {"FullyConnectedNet": [(_FC_REG, "")]}),
    mistake(CH4, "backward always through ReLU", "test_fc_gradients", "activation='sigmoid'",
            {"FullyConnectedNet": [("da = self.activation_backward(dhidden, act_cache)",
                                    "da = layers.relu_backward(dhidden, act_cache)")]}),
    mistake(CH4, "backward skips the activations", "test_fc_gradients", "do not match the numerical gradient",
            {"FullyConnectedNet": [("da = self.activation_backward(dhidden, act_cache)", "da = dhidden")]}),
    correct(CH4, "init with np.random.randn", {"FullyConnectedNet": [
        ("        rng = np.random.default_rng()\n", ""),
        ("(std * rng.standard_normal((fan_in, fan_out)))", "(std * np.random.randn(fan_in, fan_out))")]}),
    correct(CH4, "activation chosen with if/else", {"FullyConnectedNet": [
        (_ACTIVATION, 'if activation == "relu":\n'
                      "            self.activation_forward = layers.relu_forward\n"
                      "            self.activation_backward = layers.relu_backward\n"
                      "        else:\n"
                      "            self.activation_forward = layers.sigmoid_forward\n"
                      "            self.activation_backward = layers.sigmoid_backward")]}),
    correct(CH4, "L2 term with np.linalg.norm", {"FullyConnectedNet": [
        ("float(np.sum(W * W))", "float(np.linalg.norm(W)) ** 2")]}),
)


# ---- chapter 5 ---------------------------------------------------------------------------

CH5 = "05_training_better"
_VELOCITY = 'v = config["momentum"] * v - config["learning_rate"] * dw'
_BIAS = 'm_hat = config["m"] / (1 - beta1**t)\n    v_hat = config["v"] / (1 - beta2**t)'
_MASK = "mask = (rng.random(x.shape) < p) / p"
_BN_TEST = "return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta, None"
_BN_ALT_DX = "dx = gamma / (N * np.sqrt(var + eps)) * (N * dout - dbeta - x_hat * dgamma)"

CHAPTER_5 = (
    mistake(CH5, "momentum sign flipped", "test_sgd_momentum", "momentum sign is wrong",
            {"sgd_momentum": [(_VELOCITY, _VELOCITY.replace("- config", "+ config"))]}),
    mistake(CH5, "velocity not stored between calls", "test_sgd_momentum", "not carried",
            {"sgd_momentum": [('    config["velocity"] = v\n', "")]}),
    mistake(CH5, "rmsprop without the square root", "test_rmsprop", "square root",
            {"rmsprop": [("(np.sqrt(cache) + config", "(cache + config")]}),
    mistake(CH5, "rmsprop with the decay weights swapped", "test_rmsprop", "swapped",
            {"rmsprop": [("rho * config.get(\"cache\", np.zeros_like(w)) + (1 - rho) * dw**2",
                          "(1 - rho) * config.get(\"cache\", np.zeros_like(w)) + rho * dw**2")]}),
    mistake(CH5, "adam without bias correction", "test_adam", "no bias correction",
            {"adam": [(_BIAS, 'm_hat = config["m"]\n    v_hat = config["v"]')]}),
    mistake(CH5, "adam with t not incremented", "test_adam", "increment t",
            {"adam": [('    config["t"] += 1\n', "")]}),
    mistake(CH5, "dropout not scaled at train time", "test_dropout_forward", "not scaled at train time",
            {"dropout_forward": [(_MASK, "mask = (rng.random(x.shape) < p) * 1.0")]}),
    mistake(CH5, "dropout scaled at test time", "test_dropout_forward", "Test mode scales x",
            {"dropout_forward": [("return x, (dropout_param, None)", "return x * p, (dropout_param, None)")]}),
    mistake(CH5, "p taken as the probability of dropping", "test_dropout_forward", "probability of KEEPING",
            {"dropout_forward": [(_MASK, "mask = (rng.random(x.shape) >= p) / p")]}),
    mistake(CH5, "dropout backward ignores the mask", "test_dropout_backward", "dx is dout everywhere",
            {"dropout_backward": [("return dout * mask", "return dout")]}),
    mistake(CH5, "batch norm uses the batch statistics in test mode", "test_batchnorm_forward",
            "batch's own statistics",
            {"batchnorm_forward": [(_BN_TEST, "return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) "
                                              "+ beta, None")]}),
    mistake(CH5, "batch norm with the unbiased variance", "test_batchnorm_forward", "unbiased variance",
            {"batchnorm_forward": [("x.var(axis=0)", "x.var(axis=0, ddof=1)")]}),
    mistake(CH5, "running averages with momentum swapped", "test_batchnorm_forward", "swapped",
            {"batchnorm_forward": [("momentum * running_mean + (1 - momentum) * mean",
                                    "(1 - momentum) * running_mean + momentum * mean"),
                                   ("momentum * running_var + (1 - momentum) * var",
                                    "(1 - momentum) * running_var + momentum * var")]}),
    mistake(CH5, "dgamma not summed over the batch", "test_batchnorm_backward", "dgamma is not summed",
            {"batchnorm_backward": [("dgamma = (dout * x_hat).sum(axis=0)", "dgamma = dout * x_hat")]}),
    mistake(CH5, "dbeta not summed over the batch", "test_batchnorm_backward", "dbeta is not summed",
            {"batchnorm_backward": [("dbeta = dout.sum(axis=0)", "dbeta = dout")]}),
    mistake(CH5, "simplified dx with the batch statistics taken as constants", "test_batchnorm_backward_alt",
            "as constants", {"batchnorm_backward_alt": [(_BN_ALT_DX, "dx = gamma / np.sqrt(var + eps) * dout")]}),
    correct(CH5, "momentum updating w and the velocity in place", {"sgd_momentum": [
        (_VELOCITY + "\n    config[\"velocity\"] = v\n    return w + v, config",
         'v = config.setdefault("velocity", np.zeros_like(w))\n    v *= config["momentum"]\n'
         '    v -= config["learning_rate"] * dw\n    w += v\n    return w, config'),
        ('    v = config.get("velocity", np.zeros_like(w))\n', "")]}),
    correct(CH5, "adam with the bias correction folded into the step size", {"adam": [
        (_BIAS + "\n    return w - config[\"learning_rate\"] * m_hat / (np.sqrt(v_hat) + config[\"epsilon\"]), config",
         'root = np.sqrt(1 - beta2**t)\n    step = config["learning_rate"] * root / (1 - beta1**t)\n'
         '    return w - step * config["m"] / (np.sqrt(config["v"]) + config["epsilon"] * root), config')]}),
    correct(CH5, "dropout with np.random.seed and a boolean mask in the cache", {
        "dropout_forward": [("rng = np.random.default_rng(dropout_param.get(\"seed\"))\n    " + _MASK
                             + "\n    return x * mask, (dropout_param, mask)",
                             'if "seed" in dropout_param:\n        np.random.seed(dropout_param["seed"])\n'
                             "    keep = np.random.rand(*x.shape) < p\n    return x * keep / p, (dropout_param, keep)")],
        "dropout_backward": [("return dout * mask", "return dout * mask / dropout_param[\"p\"]")]}),
    correct(CH5, "batch norm caching the inverse std for its own backward", {
        "batchnorm_forward": [("return gamma * x_hat + beta, (x, x_hat, mean, var, gamma, eps)",
                               "return gamma * x_hat + beta, (x_hat, gamma, 1 / np.sqrt(var + eps))")],
        "batchnorm_backward_alt": [("    x, x_hat, mean, var, gamma, eps = cache\n    N = x.shape[0]\n",
                                    "    x_hat, gamma, inv_std = cache\n    N = x_hat.shape[0]\n"),
                                   (_BN_ALT_DX, "dx = gamma * inv_std / N * (N * dout - dbeta - x_hat * dgamma)")]}),
)

VARIANTS = CHAPTER_1 + CHAPTER_2 + CHAPTER_3 + CHAPTER_4 + CHAPTER_5
