"""Fully connected classifiers built from the layers in ``course.layers``.

A model keeps its parameters in ``model.params`` (W1, b1, W2, b2, ...) and has one
method, ``loss``: ``loss(X)`` returns class scores, ``loss(X, y)`` returns the
loss and a dict of gradients with the same keys as ``params``.
"""
import importlib
from types import SimpleNamespace

import numpy as np

from course import layers

ACTIVATIONS = {
    "relu": (layers.relu_forward, layers.relu_backward),
    "sigmoid": (layers.sigmoid_forward, layers.sigmoid_backward),
}


def _activation(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {name!r}")
    return ACTIVATIONS[name]


def init_weights(fan_in, fan_out, weight_scale, rng, dtype):
    """Gaussian weights, shape (fan_in, fan_out).

    weight_scale is the standard deviation, or "he" for sqrt(2 / fan_in), which
    keeps the variance of ReLU activations constant from layer to layer, or
    "xavier" for sqrt(1 / fan_in), the same idea for tanh-like units.
    """
    if weight_scale == "he":
        std = np.sqrt(2.0 / fan_in)
    elif weight_scale == "xavier":
        std = np.sqrt(1.0 / fan_in)
    elif isinstance(weight_scale, str):
        raise ValueError(f'weight_scale must be a number, "he" or "xavier", not {weight_scale!r}')
    else:
        std = float(weight_scale)
    return (std * rng.standard_normal((fan_in, fan_out))).astype(dtype)


def _add_l2(loss, grads, params, reg, num_layers):
    """Add 0.5 * reg * sum(W**2) over the weights (not the biases) and its gradient reg * W."""
    if reg == 0:
        return loss
    for i in range(1, num_layers + 1):
        W = params[f"W{i}"]
        loss += 0.5 * reg * float(np.sum(W * W))
        grads[f"W{i}"] += reg * W
    return loss


def _training_layers(layer_functions):
    """Where dropout and batch norm come from: the given object, else course.training_layers."""
    if layer_functions is not None:
        return layer_functions
    try:
        reference = importlib.import_module("course.training_layers")
    except ModuleNotFoundError:  # chapter 5's folder: the student's own functions are the layers
        raise ValueError("this chapter's folder has no course.training_layers (dropout and batch norm are "
                         "chapter 5's exercises): pass layer_functions=, an object with your dropout_forward, "
                         "dropout_backward, batchnorm_forward and batchnorm_backward") from None
    # the simplified batch-norm backward: the same gradients in fewer passes over the batch
    return SimpleNamespace(dropout_forward=reference.dropout_forward, dropout_backward=reference.dropout_backward,
                           batchnorm_forward=reference.batchnorm_forward,
                           batchnorm_backward=reference.batchnorm_backward_alt)


class FullyConnectedNet:
    """{affine -> [batch norm] -> activation -> [dropout]} x (L - 1) -> affine -> softmax loss.

    hidden_dims: list of hidden layer sizes H1, ..., H(L-1).
    input_dim: D, the number of features of one (flattened) example.
    num_classes: C.
    reg: L2 strength; the loss gains 0.5 * reg * sum(W**2) over all weights (not gamma, beta or biases).
    weight_scale: std of the initial weights, or "he" / "xavier".
    normalization: None, or "batchnorm" for batch norm before every hidden activation, with
        parameters gamma1, beta1, ... (ones and zeros at first).
    dropout_keep_ratio: the probability of KEEPING a hidden unit while training (1 disables dropout),
        the p of course.training_layers.dropout_forward.
    dropout_seed: None draws fresh masks on every training step; a number fixes them (gradient checks).
    layer_functions: where dropout_forward, dropout_backward, batchnorm_forward and batchnorm_backward come
        from (any object with those attributes); course.training_layers by default.
    loss(X) is test mode (running batch-norm statistics, no dropout); loss(X, y) is train mode.
    """

    def __init__(
        self,
        hidden_dims,
        input_dim=28 * 28,
        num_classes=10,
        reg=0.0,
        weight_scale=1e-2,
        dtype=np.float32,
        activation="relu",
        normalization=None,
        dropout_keep_ratio=1.0,
        dropout_seed=None,
        layer_functions=None,
        seed=None,
    ):
        if not 0 < dropout_keep_ratio <= 1:
            raise ValueError(f"dropout_keep_ratio is the probability of keeping a unit, in (0, 1], "
                             f"not {dropout_keep_ratio}")
        if normalization not in (None, "batchnorm"):
            raise ValueError(f'normalization must be None or "batchnorm", not {normalization!r}')
        self.forward_act, self.backward_act = _activation(activation)
        self.activation = activation
        self.reg = reg
        self.dtype = dtype
        self.normalization = normalization
        self.dropout_keep_ratio = dropout_keep_ratio
        self.use_dropout = dropout_keep_ratio < 1
        self.num_layers = len(hidden_dims) + 1
        self.rng = np.random.default_rng(seed)
        self.training_layers = (_training_layers(layer_functions) if normalization or self.use_dropout
                                else layer_functions)
        dims = [input_dim, *hidden_dims, num_classes]
        self.params = {}
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            self.params[f"W{i}"] = init_weights(fan_in, fan_out, weight_scale, self.rng, dtype)
            self.params[f"b{i}"] = np.zeros(fan_out, dtype=dtype)
            if normalization and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(fan_out, dtype=dtype)
                self.params[f"beta{i}"] = np.zeros(fan_out, dtype=dtype)
        # running statistics live here, not in params: the optimizer must not update them
        self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)] if normalization else []
        self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
        if dropout_seed is not None:
            self.dropout_param["seed"] = dropout_seed

    def loss(self, X, y=None):
        """X: (N, D) or (N, d1, ..., dk).  y: labels (N,), or None for scores (N, C)."""
        X = np.asarray(X, dtype=self.dtype)
        mode = "test" if y is None else "train"
        L, params, layers_ = self.num_layers, self.params, self.training_layers
        for bn_param in self.bn_params:
            bn_param["mode"] = mode
        dropout_param = self.dropout_param
        dropout_param["mode"] = mode
        hidden, caches = X, []
        for i in range(1, L):
            a, affine_cache = layers.affine_forward(hidden, params[f"W{i}"], params[f"b{i}"])
            bn_cache = drop_cache = None
            if self.normalization:
                a, bn_cache = layers_.batchnorm_forward(a, params[f"gamma{i}"], params[f"beta{i}"],
                                                        self.bn_params[i - 1])
            hidden, act_cache = self.forward_act(a)
            if self.use_dropout and mode == "train":
                if "seed" not in self.dropout_param:  # fresh masks on every step, reproducible from the net's seed
                    dropout_param = {**self.dropout_param, "seed": int(self.rng.integers(2**32))}
                hidden, drop_cache = layers_.dropout_forward(hidden, dropout_param)
            caches.append((affine_cache, bn_cache, act_cache, drop_cache))
        scores, last_cache = layers.affine_forward(hidden, params[f"W{L}"], params[f"b{L}"])
        if mode == "test":
            return scores

        loss, dscores = layers.softmax_loss(scores, y)
        grads = {}
        dhidden, grads[f"W{L}"], grads[f"b{L}"] = layers.affine_backward(dscores, last_cache)
        for i in range(L - 1, 0, -1):
            affine_cache, bn_cache, act_cache, drop_cache = caches[i - 1]
            if drop_cache is not None:
                dhidden = layers_.dropout_backward(dhidden, drop_cache)
            da = self.backward_act(dhidden, act_cache)
            if bn_cache is not None:
                da, grads[f"gamma{i}"], grads[f"beta{i}"] = layers_.batchnorm_backward(da, bn_cache)
            if i > 1:
                dhidden, grads[f"W{i}"], grads[f"b{i}"] = layers.affine_backward(da, affine_cache)
            else:
                # nothing upstream of the input needs a gradient: skip dx, a third of the work
                grads["W1"] = X.reshape(X.shape[0], -1).T @ da
                grads["b1"] = da.sum(axis=0)
        return _add_l2(loss, grads, params, self.reg, L), grads


class TwoLayerNet(FullyConnectedNet):
    """affine -> ReLU or sigmoid -> affine -> softmax: D -> H -> C.

    The two-layer special case of FullyConnectedNet, with the small default
    weight_scale that suits a shallow net.
    """

    def __init__(
        self,
        input_dim=28 * 28,
        hidden_dim=100,
        num_classes=10,
        weight_scale=1e-3,
        reg=0.0,
        activation="relu",
        dtype=np.float32,
        seed=None,
    ):
        super().__init__(
            [hidden_dim],
            input_dim=input_dim,
            num_classes=num_classes,
            reg=reg,
            weight_scale=weight_scale,
            dtype=dtype,
            activation=activation,
            seed=seed,
        )
