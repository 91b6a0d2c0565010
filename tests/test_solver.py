"""The Solver trains, keeps its histories, calls its hooks and stops when asked or when the loss blows up."""
import numpy as np
import pytest

from course.nets import TwoLayerNet
from course.solver import Solver, accuracy


def blobs(rng, n, num_classes=3, dim=5):
    """Gaussian clusters around fixed centres: learnable, and held-out data is easy to draw."""
    centres = np.random.default_rng(0).standard_normal((num_classes, dim)) * 3
    y = rng.integers(0, num_classes, n)
    return (centres[y] + rng.standard_normal((n, dim))).astype(np.float32), y


@pytest.fixture
def data(rng):
    X_train, y_train = blobs(rng, 600)
    X_val, y_val = blobs(rng, 200)
    return {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}


def make_solver(data, **kwargs):
    model = TwoLayerNet(input_dim=5, hidden_dim=20, num_classes=3, weight_scale=0.1, seed=0)
    options = dict(update_rule="sgd_momentum", optim_config={"learning_rate": 0.05}, batch_size=50,
                   num_epochs=5, verbose=False, seed=0)
    options.update(kwargs)
    return Solver(model, data, **options)


def test_training_reaches_high_accuracy_on_held_out_data(data, rng):
    solver = make_solver(data).train()
    X_test, y_test = blobs(rng, 500)
    assert accuracy(solver.model, X_test, y_test) > 0.9
    assert np.mean(solver.loss_history[-10:]) < 0.5 * solver.loss_history[0]


def test_histories_have_one_loss_per_step_and_one_accuracy_per_epoch(data):
    solver = make_solver(data, num_epochs=4).train()
    assert solver.iterations_per_epoch == 12
    assert len(solver.loss_history) == 48
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 4
    assert solver.best_val_acc == max(solver.val_acc_history)


def test_num_iterations_overrides_epochs_and_ends_with_a_partial_epoch(data):
    solver = make_solver(data, num_iterations=30).train()
    assert len(solver.loss_history) == 30
    assert len(solver.val_acc_history) == 3  # after steps 12, 24 and the last one


def test_model_ends_with_the_best_validation_parameters(data):
    solver = make_solver(data, num_epochs=6).train()
    for name, value in solver.best_params.items():
        np.testing.assert_array_equal(solver.model.params[name], value)
    assert accuracy(solver.model, data["X_val"], data["y_val"]) == pytest.approx(solver.best_val_acc)


def test_hooks_are_called_every_step_and_every_epoch_and_can_stop_training(data):
    steps, epochs = [], []

    def on_iteration(solver):
        steps.append(solver.iteration)
        if solver.iteration == 20:
            solver.stop("enough")

    solver = make_solver(data, on_iteration=on_iteration, on_epoch=lambda s: epochs.append(s.epoch)).train()
    assert steps == list(range(1, 21))
    assert epochs == [1]
    assert solver.stop_reason == "enough" and not solver.diverged


def test_a_diverging_loss_stops_training_with_a_reason(data):
    solver = make_solver(data, update_rule="sgd", optim_config={"learning_rate": 1e6}, num_epochs=50).train()
    assert solver.diverged
    assert "lower the learning rate" in solver.stop_reason
    assert len(solver.loss_history) < 50 * solver.iterations_per_epoch


def test_learning_rate_decays_once_per_epoch(data):
    solver = make_solver(data, lr_decay=0.5, num_epochs=3).train()
    assert all(c["learning_rate"] == pytest.approx(0.05 * 0.5**3) for c in solver.optim_configs.values())


def test_each_parameter_keeps_its_own_optimizer_state(data):
    solver = make_solver(data, update_rule="adam", optim_config={"learning_rate": 1e-2}, num_epochs=1).train()
    shapes = {name: c["m"].shape for name, c in solver.optim_configs.items()}
    assert shapes == {name: p.shape for name, p in solver.model.params.items()}


def test_seeded_training_is_reproducible(data):
    first = make_solver(data).train().loss_history
    second = make_solver(data).train().loss_history
    assert first == second


def test_bad_arguments_name_the_fix(data):
    with pytest.raises(ValueError, match="sgd_momentum"):
        make_solver(data, update_rule="sgdd")
    with pytest.raises(ValueError, match="X_val"):
        make_solver({k: v for k, v in data.items() if k != "X_val"})


def test_a_loss_that_explodes_but_stays_finite_counts_as_diverged(data):
    solver = make_solver(data, update_rule="adam", optim_config={"learning_rate": 50.0}, num_epochs=20).train()
    assert solver.diverged
    assert "it started at" in solver.stop_reason
    assert max(solver.loss_history) > 100 * solver.loss_history[0]
