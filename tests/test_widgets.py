"""The loss-curve explorer driven as a student would, without a browser: set controls, press buttons."""
import numpy as np
import pytest

from course.data import load_mnist
from course.widgets import LossExplorer, parse_hidden_dims


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


@pytest.fixture
def explorer(mnist):
    return LossExplorer(mnist, num_train=2000, num_val=500)


def test_train_records_a_run_with_the_chosen_settings_and_draws_its_curves(explorer):
    empty_plot = explorer.plot.value
    explorer.learning_rate.value = 0.05
    explorer.hidden.value = "64, 32"
    explorer.optimizer.value = "adam"
    explorer.activation.value = "sigmoid"
    explorer.weight_scale.value = 0.1
    explorer.batch_size.value = 50
    explorer.epochs.value = 2
    explorer.train_button.click()
    explorer.wait(60)
    (label, solver), = explorer.runs.items()
    settings = explorer.settings[label]
    assert settings["learning_rate"] == pytest.approx(0.05) and settings["hidden_dims"] == [64, 32]
    assert settings["update_rule"] == "adam" and settings["activation"] == "sigmoid"
    assert settings["weight_scale"] == 0.1 and settings["batch_size"] == 50
    assert "adam lr=0.05 sigmoid 64-32" in label
    assert len(solver.loss_history) == 2 * 2000 // 50 and len(solver.val_acc_history) == 2
    assert solver.model.num_layers == 3
    assert explorer.plot.value != empty_plot and explorer.plot.value[:4] == b"\x89PNG"
    assert "done: best validation accuracy" in explorer.status.value
    assert "Best so far" in explorer.best.value and label in explorer.best.value
    assert explorer.progress.value == explorer.progress.max


def test_runs_are_kept_side_by_side_and_the_best_one_is_named(explorer):
    for learning_rate in (1e-4, 0.1):
        explorer.learning_rate.value = learning_rate
        explorer.train_button.click()
        explorer.wait(60)
    assert len(explorer.runs) == 2
    slow, fast = explorer.runs
    assert explorer.runs[fast].best_val_acc > explorer.runs[slow].best_val_acc
    assert fast in explorer.best.value
    explorer.clear_button.click()
    assert explorer.runs == {} and explorer.best.value == ""


def test_a_diverging_run_stops_with_a_visible_message(explorer):
    explorer.learning_rate.value = 10.0
    explorer.optimizer.value = "sgd"
    explorer.weight_scale.value = 0.1
    explorer.epochs.value = 5
    explorer.train_button.click()
    explorer.wait(60)
    solver, = explorer.runs.values()
    assert solver.diverged
    assert "stopped: the loss became" in explorer.status.value and "lower the learning rate" in explorer.status.value
    assert len(solver.loss_history) < solver.num_iterations
    assert explorer.best.value == ""  # a diverged run is never the best
    assert not explorer.train_button.disabled  # the panel is ready for the next run


def test_stop_ends_a_run_early(explorer):
    explorer.epochs.value = 10
    explorer.train_button.click()
    explorer.stop_button.click()
    explorer.wait(60)
    solver, = explorer.runs.values()
    assert solver.stop_reason == "stopped by you"
    assert solver.iteration < solver.num_iterations
    assert "stopped by you" in explorer.status.value


def test_bad_hidden_sizes_are_explained_and_start_nothing(explorer):
    explorer.hidden.value = "100, wide"
    explorer.train_button.click()
    assert explorer.runs == {}
    assert "hidden sizes must be whole numbers" in explorer.status.value


def test_parse_hidden_dims_limits_depth():
    assert parse_hidden_dims("256, 128", 4) == [256, 128]
    with pytest.raises(ValueError, match="at most 1 hidden layer"):
        parse_hidden_dims("10, 10", 1)


def test_a_chapter_can_plug_in_its_own_model(mnist):
    built = []

    def factory(hidden_dims, weight_scale, reg, activation):
        from course.nets import TwoLayerNet
        built.append((hidden_dims, weight_scale, reg, activation))
        return TwoLayerNet(hidden_dim=hidden_dims[0], weight_scale=weight_scale, reg=reg)

    explorer = LossExplorer(mnist, factory, activations=("relu",), weight_scales=(0.01,), max_depth=1,
                            num_train=1000, num_val=200)
    explorer.train_button.click()
    explorer.wait(60)
    assert built == [([100], 0.01, pytest.approx(1e-6), "relu")]
    assert np.isfinite(next(iter(explorer.runs.values())).loss_history).all()
