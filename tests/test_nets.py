"""Net gradients against central differences; losses against what theory says they must be."""
import numpy as np
import pytest

from course.gradient_check import eval_numerical_gradient, rel_error
from course.nets import FullyConnectedNet, TwoLayerNet
from course.solver import accuracy


def assert_gradients_match(model, X, y, tol=1e-6):
    loss, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name, param in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], param)
        assert grads[name].shape == param.shape
        assert rel_error(grads[name], numeric) < tol, name


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_two_layer_net_gradients(rng, activation, reg):
    model = TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=4, weight_scale=0.5, reg=reg,
                        activation=activation, dtype=np.float64, seed=1)
    X = rng.standard_normal((7, 6))
    y = rng.integers(0, 4, 7)
    assert_gradients_match(model, X, y)


@pytest.mark.parametrize("hidden_dims", [[], [8], [6, 5], [7, 6, 5, 4]])
@pytest.mark.parametrize("reg", [0.0, 3.14])
def test_fully_connected_net_gradients_for_several_depths(rng, hidden_dims, reg):
    model = FullyConnectedNet(hidden_dims, input_dim=9, num_classes=3, reg=reg, weight_scale=5e-1,
                              dtype=np.float64, seed=2)
    X = rng.standard_normal((5, 9))
    y = rng.integers(0, 3, 5)
    assert model.num_layers == len(hidden_dims) + 1
    assert_gradients_match(model, X, y)


def test_deep_sigmoid_net_gradients(rng):
    model = FullyConnectedNet([6, 5, 4], input_dim=5, num_classes=3, weight_scale=1.0,
                              activation="sigmoid", reg=0.1, dtype=np.float64, seed=3)
    assert_gradients_match(model, rng.standard_normal((4, 5)), rng.integers(0, 3, 4))


def test_regularization_adds_half_reg_times_squared_weights_but_not_biases(rng):
    X, y = rng.standard_normal((5, 4)), rng.integers(0, 3, 5)
    model = FullyConnectedNet([6], input_dim=4, num_classes=3, dtype=np.float64, seed=4)
    model.params["b1"] += 1.0  # biases must not count
    plain, _ = model.loss(X, y)
    model.reg = 2.0
    regularized, _ = model.loss(X, y)
    squares = sum(np.sum(model.params[k] ** 2) for k in ("W1", "W2"))
    assert regularized - plain == pytest.approx(0.5 * 2.0 * squares, rel=1e-10)


def test_initial_loss_is_log_of_num_classes(rng):
    model = TwoLayerNet(input_dim=50, hidden_dim=30, num_classes=10, weight_scale=1e-3, seed=5)
    loss, _ = model.loss(rng.standard_normal((200, 50)), rng.integers(0, 10, 200))
    assert loss == pytest.approx(np.log(10), abs=0.01)


def test_scores_have_one_row_per_example_and_the_default_dtype_is_float32(rng):
    model = FullyConnectedNet([10, 10], input_dim=12, num_classes=4, seed=6)
    scores = model.loss(rng.standard_normal((3, 3, 4)))  # reshaped like an image batch
    assert scores.shape == (3, 4)
    assert scores.dtype == np.float32
    assert all(p.dtype == np.float32 for p in model.params.values())


def test_a_deep_net_overfits_fifty_examples(rng):
    """A net that cannot memorise 50 examples has a bug; this is the classic sanity check."""
    X = rng.standard_normal((50, 30)).astype(np.float32)
    y = rng.integers(0, 10, 50)
    model = FullyConnectedNet([100, 100, 100], input_dim=30, num_classes=10, weight_scale="he", seed=7)
    from course import optim
    configs = {k: {"learning_rate": 1e-3} for k in model.params}
    for _ in range(300):
        _, grads = model.loss(X, y)
        for k in model.params:
            model.params[k], configs[k] = optim.adam(model.params[k], grads[k], configs[k])
    assert accuracy(model, X, y) == 1.0


def test_dropout_is_off_at_test_time_and_keeps_the_expected_activation(rng):
    model = FullyConnectedNet([200], input_dim=20, num_classes=5, dropout=0.5, weight_scale=0.1,
                              dtype=np.float64, seed=8)
    X = rng.standard_normal((400, 20))
    y = rng.integers(0, 5, 400)
    np.testing.assert_array_equal(model.loss(X), model.loss(X))  # deterministic without labels
    train_losses = {model.loss(X, y)[0] for _ in range(3)}
    assert len(train_losses) == 3  # a fresh mask on every training step


def test_unknown_activation_names_the_choices():
    with pytest.raises(ValueError, match="relu"):
        TwoLayerNet(activation="tanhh")


@pytest.mark.parametrize("scale,expected_std", [("he", np.sqrt(2 / 400)), ("xavier", np.sqrt(1 / 400)), (0.05, 0.05)])
def test_weight_initialisation_scales(scale, expected_std):
    model = FullyConnectedNet([300], input_dim=400, num_classes=10, weight_scale=scale, seed=9)
    assert np.std(model.params["W1"]) == pytest.approx(expected_std, rel=0.02)
