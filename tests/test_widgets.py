"""The loss-curve explorer driven as a student would, without a browser: set controls, press buttons."""
import time

import numpy as np
import pytest

from course import plots, widgets
from course.data import load_mnist
from course.nets import FullyConnectedNet
from course.widgets import LossExplorer, describe_error, parse_hidden_dims


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


@pytest.fixture
def explorer(mnist):
    return LossExplorer(mnist, num_train=2000, num_val=500)


class PacedNet:
    """A small reference net whose every training step takes at least `seconds`, with the time each step ended."""

    def __init__(self, seconds):
        self.net = FullyConnectedNet([20], weight_scale="he")
        self.seconds = seconds
        self.step_ends = []

    @property
    def params(self):
        return self.net.params

    @params.setter
    def params(self, value):
        self.net.params = value

    def loss(self, X, y=None):
        if y is None:
            return self.net.loss(X)
        time.sleep(self.seconds)
        self.step_ends.append(time.monotonic())
        return self.net.loss(X, y)


def paced_explorer(mnist, step_seconds, epochs):
    """An explorer whose runs take about 20 * epochs * step_seconds (20 steps of 50 per epoch)."""
    models = []

    def factory(hidden_dims, weight_scale, reg, activation):
        models.append(PacedNet(step_seconds))
        return models[-1]

    explorer = LossExplorer(mnist, factory, num_train=1000, num_val=200)
    explorer.batch_size.value = 50
    explorer.epochs.value = epochs
    return explorer, models


def record_draws(explorer):
    """The times at which a new picture of the curves reached the panel."""
    times = []
    explorer.plot.observe(lambda change: times.append(time.monotonic()), "value")
    return times


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
    assert not explorer.running and not explorer.train_button.disabled and explorer.stop_button.disabled


def test_runs_are_kept_side_by_side_and_the_best_one_is_named(explorer):
    for learning_rate in (1e-4, 0.1):
        explorer.learning_rate.value = learning_rate
        explorer.train_button.click()
        explorer.wait(60)
    assert len(explorer.runs) == 2
    slow, fast = explorer.runs
    assert explorer.runs[fast].best_val_acc > explorer.runs[slow].best_val_acc
    assert fast in explorer.best.value
    legend = explorer._curves.figure.legends[0]
    assert [text.get_text() for text in legend.get_texts()] == [slow, fast]
    explorer.clear_button.click()
    assert explorer.runs == {} and explorer.best.value == ""
    assert explorer._curves.figure.legends == []


def test_training_never_waits_for_a_drawing(mnist, monkeypatch):
    draw, drawings = plots.CurvesFigure.png, []

    def slow_draw(curves, *args, **kwargs):
        start = time.monotonic()
        time.sleep(0.6)
        picture = draw(curves, *args, **kwargs)
        drawings.append((start, time.monotonic()))
        return picture

    monkeypatch.setattr(plots.CurvesFigure, "png", slow_draw)
    explorer, models = paced_explorer(mnist, step_seconds=0.015, epochs=10)  # about 3 s of training
    explorer.train_button.click()
    explorer.wait(60)
    step_ends = models[0].step_ends
    assert len(step_ends) == 200
    during = [(start, end) for start, end in drawings if step_ends[0] < start and end < step_ends[-1]]
    assert len(during) >= 2
    # training went on while each picture was drawn: had it waited, no step could end inside a drawing
    for start, end in during:
        assert any(start < t < end for t in step_ends)


def test_a_run_is_redrawn_live_about_once_a_second(mnist):
    explorer, models = paced_explorer(mnist, step_seconds=0.015, epochs=10)  # about 3 s of training
    draws = record_draws(explorer)
    started = time.monotonic()
    explorer.train_button.click()
    explorer.wait(60)
    ended = models[0].step_ends[-1]
    during = [t for t in draws if t < ended]
    assert len(during) >= 2
    assert during[0] - started < widgets.FIRST_DRAW_SECONDS + 1.0  # the first picture comes early
    # each drawing waits a full interval after the end of the one before: never back to back
    assert min(np.diff(during)) >= widgets.REDRAW_SECONDS
    assert len(during) <= (ended - started) / widgets.REDRAW_SECONDS + 1
    assert draws[-1] > ended  # and once more with the finished run


def test_stop_ends_a_run_within_a_second(mnist):
    explorer, models = paced_explorer(mnist, step_seconds=0.01, epochs=10)
    explorer.train_button.click()
    time.sleep(1.0)  # mid-run, with a drawing behind it
    pressed = time.monotonic()
    explorer.stop_button.click()
    while "stopped by you" not in explorer.status.value and time.monotonic() - pressed < 5:
        time.sleep(0.01)
    assert time.monotonic() - pressed < 1.0  # the message is out before the last picture is drawn
    explorer.wait(10)
    solver, = explorer.runs.values()
    assert solver.stop_reason == "stopped by you"
    assert 0 < solver.iteration < solver.num_iterations
    assert "stopped by you" in explorer.status.value
    assert not explorer.train_button.disabled


def test_a_diverging_run_stops_with_a_visible_message(explorer):
    explorer.learning_rate.value = 10.0
    # Adam moves every weight by about the learning rate on every step, so this run always blows up; plain SGD
    # sometimes kills every ReLU on its first step instead and then idles at a finite loss (3 runs in 40)
    explorer.optimizer.value = "adam"
    explorer.weight_scale.value = 0.1
    explorer.epochs.value = 5
    explorer.train_button.click()
    explorer.wait(60)
    solver, = explorer.runs.values()
    assert solver.diverged, explorer.messages
    assert "FAILED" in explorer.status.value
    assert "stopped: the loss became" in explorer.status.value and "lower the learning rate" in explorer.status.value
    assert len(solver.loss_history) < solver.num_iterations
    assert explorer.best.value == ""  # a diverged run is never the best
    assert not explorer.train_button.disabled  # the panel is ready for the next run


def test_an_unfinished_model_is_named_with_the_chapter_to_finish(mnist):
    class TwoLayerNet:  # as chapter 3 hands it out
        def __init__(self, hidden_dim=100, weight_scale=0.001, reg=0.0):
            # YOUR CODE HERE
            raise NotImplementedError()

    explorer = LossExplorer(mnist, lambda dims, scale, reg, act: TwoLayerNet(dims[0], scale, reg),
                            num_train=1000, num_val=200)
    explorer.train_button.click()
    assert explorer.runs == {} and not explorer.running
    message = explorer.messages[-1]
    assert message == ("FAILED: cannot start: NotImplementedError: TwoLayerNet is not implemented yet: "
                       "finish its exercise in chapter 3, run that cell again, then press Train.")
    assert message in explorer.status.value


def test_an_error_in_training_names_its_type_and_where_it_came_from(mnist):
    class ShapelessNet(PacedNet):
        def loss(self, X, y=None):
            raise ValueError()

    explorer = LossExplorer(mnist, lambda *settings: ShapelessNet(0.0), num_train=1000, num_val=200)
    explorer.train_button.click()
    explorer.wait(60)
    assert "FAILED" in explorer.messages[-1]
    assert explorer.messages[-1].endswith("stopped: failed: ValueError: raised in ShapelessNet.loss, without a message")


def test_describe_error_keeps_a_message_and_hints_for_functions_outside_the_course():
    def helper():
        raise NotImplementedError("the momentum term")

    with pytest.raises(NotImplementedError) as caught:
        helper()
    assert describe_error(caught.value) == (
        "NotImplementedError: helper is not implemented yet: replace its `raise NotImplementedError` with your code, "
        "run its cell again, then press Train. (the momentum term)")
    assert describe_error(KeyError("W3")) == "KeyError: 'W3'"


def test_a_chapter_folder_without_optim_offers_plain_sgd_and_trains_with_it(mnist, monkeypatch):
    find_spec = widgets.importlib.util.find_spec
    monkeypatch.setattr(widgets.importlib.util, "find_spec",
                        lambda name, *args: None if name == "course.optim" else find_spec(name, *args))
    explorer = LossExplorer(mnist, num_train=1000, num_val=200)
    assert explorer.optimizer.options == ("sgd",) and explorer.optimizer.value == "sgd"
    explorer.train_button.click()
    explorer.wait(60)
    assert "done: best validation accuracy" in explorer.messages[-1]


def test_bad_hidden_sizes_are_explained_and_start_nothing(explorer):
    explorer.hidden.value = "100, <i>wide</i>"
    explorer.train_button.click()
    assert explorer.runs == {}
    assert "hidden sizes must be whole numbers" in explorer.status.value
    assert "&lt;i&gt;wide" in explorer.status.value  # shown as typed, not taken for HTML


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
