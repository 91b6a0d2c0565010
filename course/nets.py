"""Fully connected classifiers built from the layers in ``course.layers``.

A model keeps its parameters in ``model.params`` (W1, b1, W2, b2, ...) and has one
method, ``loss``: ``loss(X)`` returns class scores, ``loss(X, y)`` returns the
loss and a dict of gradients with the same keys as ``params``.
"""
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


class FullyConnectedNet:
    """{affine -> activation [-> dropout]} x (L - 1) -> affine -> softmax loss.

    hidden_dims: list of hidden layer sizes H1, ..., H(L-1).
    input_dim: D, the number of features of one (flattened) example.
    num_classes: C.
    reg: L2 strength; the loss gains 0.5 * reg * sum(W**2) over all weights.
    weight_scale: std of the initial weights, or "he" / "xavier".
    dropout: probability of dropping a hidden unit while training (0 disables it).
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
        dropout=0.0,
        seed=None,
    ):
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout is a probability of dropping a unit, in [0, 1), not {dropout}")
        self.forward_act, self.backward_act = _activation(activation)
        self.activation = activation
        self.reg = reg
        self.dtype = dtype
        self.dropout = dropout
        self.num_layers = len(hidden_dims) + 1
        self.rng = np.random.default_rng(seed)
        dims = [input_dim, *hidden_dims, num_classes]
        self.params = {}
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            self.params[f"W{i}"] = init_weights(fan_in, fan_out, weight_scale, self.rng, dtype)
            self.params[f"b{i}"] = np.zeros(fan_out, dtype=dtype)

    def loss(self, X, y=None):
        """X: (N, D) or (N, d1, ..., dk).  y: labels (N,), or None for scores (N, C)."""
        X = np.asarray(X, dtype=self.dtype)
        training = y is not None
        L, params = self.num_layers, self.params
        hidden, caches = X, []
        for i in range(1, L):
            a, affine_cache = layers.affine_forward(hidden, params[f"W{i}"], params[f"b{i}"])
            hidden, act_cache = self.forward_act(a)
            mask = None
            if training and self.dropout:
                # inverted dropout: scale at train time so test time needs no change
                keep = 1.0 - self.dropout
                mask = (self.rng.random(hidden.shape) < keep) / np.asarray(keep, self.dtype)
                hidden = hidden * mask
            caches.append((affine_cache, act_cache, mask))
        scores, last_cache = layers.affine_forward(hidden, params[f"W{L}"], params[f"b{L}"])
        if not training:
            return scores

        loss, dscores = layers.softmax_loss(scores, y)
        grads = {}
        dhidden, grads[f"W{L}"], grads[f"b{L}"] = layers.affine_backward(dscores, last_cache)
        for i in range(L - 1, 0, -1):
            affine_cache, act_cache, mask = caches[i - 1]
            if mask is not None:
                dhidden = dhidden * mask
            da = self.backward_act(dhidden, act_cache)
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
