"""Net gradients against central differences; losses against what theory says they must be."""
import numpy as np
import pytest

from course.checks import relative_error
from course.gradient_check import eval_numerical_gradient, rel_error
from course.nets import FullyConnectedNet, TwoLayerNet
from course.solver import accuracy


def assert_gradients_match(model, X, y, tol=1e-6, error=rel_error):
    loss, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name, param in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], param)
        assert grads[name].shape == param.shape
        assert error(grads[name], numeric) < tol, name


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


def test_dropout_is_off_at_test_time_and_draws_a_fresh_mask_on_every_training_step(rng):
    model = FullyConnectedNet([200], input_dim=20, num_classes=5, dropout_keep_ratio=0.5, weight_scale=0.1,
                              dtype=np.float64, seed=8)
    X = rng.standard_normal((400, 20))
    y = rng.integers(0, 5, 400)
    np.testing.assert_array_equal(model.loss(X), model.loss(X))  # deterministic without labels
    train_losses = {model.loss(X, y)[0] for _ in range(3)}
    assert len(train_losses) == 3


def against_largest(analytic, numeric):
    """Error relative to the largest entry (at least 1e-4): a bias before batch norm has a zero gradient, which
    central differences give as 1e-11 and backprop as 1e-17, a huge ratio of two roundoffs."""
    return relative_error(analytic, numeric, floor=1e-4)


@pytest.mark.parametrize("hidden_dims", [[7], [6, 5, 4]])
@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_batchnorm_net_gradients_as_in_cs231n(rng, hidden_dims, reg):
    model = FullyConnectedNet(hidden_dims, input_dim=8, num_classes=4, reg=reg, weight_scale=0.5,
                              normalization="batchnorm", dtype=np.float64, seed=4)
    assert {f"gamma{i}" for i in range(1, len(hidden_dims) + 1)} <= set(model.params)
    assert_gradients_match(model, rng.standard_normal((6, 8)), rng.integers(0, 4, 6), error=against_largest)


@pytest.mark.parametrize("normalization", [None, "batchnorm"])
@pytest.mark.parametrize("keep", [0.25, 0.5, 1.0])
def test_dropout_net_gradients_with_a_fixed_mask(rng, normalization, keep):
    model = FullyConnectedNet([10, 9], input_dim=8, num_classes=4, reg=0.1, weight_scale=0.5, dtype=np.float64,
                              normalization=normalization, dropout_keep_ratio=keep, dropout_seed=123, seed=5)
    for i in (1, 2, 3):  # an example whose units are all dropped would sit on ReLU's kink with zero biases
        model.params[f"b{i}"] += 0.3 * rng.standard_normal(model.params[f"b{i}"].shape)
    assert_gradients_match(model, rng.standard_normal((6, 8)), rng.integers(0, 4, 6), error=against_largest)


def test_batchnorm_net_scores_at_test_time_use_the_running_statistics(rng):
    model = FullyConnectedNet([6], input_dim=4, num_classes=3, normalization="batchnorm", dtype=np.float64, seed=6)
    X, y = rng.standard_normal((30, 4)), rng.integers(0, 3, 30)
    model.loss(X, y)
    one, many = model.loss(X[:1]), model.loss(X)[:1]
    np.testing.assert_allclose(one, many)  # no batch statistics: an example's scores do not depend on its batch


def test_dropout_keep_ratio_outside_0_1_names_its_meaning():
    with pytest.raises(ValueError, match="probability of keeping"):
        FullyConnectedNet([5], dropout_keep_ratio=0.0)


def test_unknown_activation_names_the_choices():
    with pytest.raises(ValueError, match="relu"):
        TwoLayerNet(activation="tanhh")


@pytest.mark.parametrize("scale,expected_std", [("he", np.sqrt(2 / 400)), ("xavier", np.sqrt(1 / 400)), (0.05, 0.05)])
def test_weight_initialisation_scales(scale, expected_std):
    model = FullyConnectedNet([300], input_dim=400, num_classes=10, weight_scale=scale, seed=9)
    assert np.std(model.params["W1"]) == pytest.approx(expected_std, rel=0.02)


def test_the_solver_restores_batchnorm_statistics_with_the_best_parameters(rng):
    from course.solver import Solver

    X = rng.standard_normal((200, 6)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    data = {"X_train": X, "y_train": y, "X_val": X[:50], "y_val": y[:50]}
    model = FullyConnectedNet([8], input_dim=6, num_classes=2, normalization="batchnorm", weight_scale="he", seed=0)
    seen = []
    solver = Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 0.05}, batch_size=20, num_epochs=6,
                    verbose=False, seed=0, on_epoch=lambda s: seen.append((s.val_acc_history[-1],
                                                                           s.model.bn_params[0]["running_mean"].copy())))
    solver.train()
    best = max(range(len(seen)), key=lambda i: (seen[i][0], -i))  # the first epoch with the best accuracy
    np.testing.assert_array_equal(model.bn_params[0]["running_mean"], seen[best][1])
