"""Figures are drawn from the numbers they are given."""
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from course.plots import CurvesFigure, plot_histories, plot_history, plot_weight_images, smooth


def run_of(steps, epochs, start=2.3):
    return {"loss_history": list(start * np.exp(-np.arange(steps) / steps)),
            "train_acc_history": list(np.linspace(0.8, 0.95, epochs)),
            "val_acc_history": list(np.linspace(0.8, 0.9, epochs))}


def test_smooth_is_a_trailing_running_mean():
    np.testing.assert_allclose(smooth([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])


def test_history_plot_draws_the_loss_and_both_accuracy_curves(tmp_path):
    history = {"loss_history": [2.3, 2.0, np.nan, 1.5], "train_acc_history": [0.5, 0.7], "val_acc_history": [0.4, 0.6]}
    fig = plot_history(history)
    ax_loss, ax_acc = fig.axes
    raw = ax_loss.lines[0]
    np.testing.assert_allclose(raw.get_ydata(), [2.3, 2.0, 1.5])  # the NaN step is left out, not drawn
    np.testing.assert_allclose(ax_acc.lines[1].get_ydata(), [0.4, 0.6])
    assert fig.legends == []  # one unnamed run needs no legend
    fig.savefig(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_several_runs_get_their_own_colour_and_a_legend_outside_the_curves():
    fig = plot_histories({"lr 0.1": run_of(100, 2), "lr 1.0": run_of(100, 2), "lr 10": run_of(50, 1)})
    ax_loss, ax_acc = fig.axes
    legend, = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["lr 0.1", "lr 1.0", "lr 10"]
    assert len({tuple(line.get_color()) for line in ax_loss.lines}) == 3
    smoothed = ax_loss.lines[1::2]  # each run draws its raw loss, then the smoothed one the legend names
    assert [tuple(h.get_color()) for h in legend.legend_handles] == [tuple(line.get_color()) for line in smoothed]
    FigureCanvasAgg(fig).draw()
    box = legend.get_window_extent()
    for ax in (ax_loss, ax_acc):  # below both panels, covering neither
        assert box.y1 <= ax.get_window_extent().y0


def test_accuracy_has_a_fixed_axis_from_0_to_1_before_the_first_epoch_ends():
    fig = plot_histories({"starting": {"loss_history": [2.3, 2.2]}})
    ax_acc = fig.axes[1]
    assert ax_acc.get_ylim() == (0, 1)
    FigureCanvasAgg(fig).draw()
    low, high = ax_acc.get_xlim()
    assert [tick for tick in ax_acc.get_xticks() if low <= tick <= high] == [1]  # whole epochs only


def test_a_log_loss_axis_is_labelled_with_plain_numbers():
    for start, end in ((2.4, 1.9), (2.4, 0.3), (2.4, 0.01)):  # less than a decade, about one, several
        fig = plot_histories({"run": {"loss_history": list(np.geomspace(start, end, 50))}}, log_loss=True)
        FigureCanvasAgg(fig).draw()
        ax_loss = fig.axes[0]
        labels = [t.get_text() for t in ax_loss.get_yticklabels() + ax_loss.get_yticklabels(minor=True)]
        shown = [float(text) for text in labels if text]  # "2", "0.5", never "2x10^0" or "$10^{-1}$"
        assert len(shown) >= 2


def test_a_live_figure_keeps_its_lines_and_spans_the_whole_planned_run():
    class HalfwayRun:
        num_iterations, num_epochs = 400, 4
        loss_history, train_acc_history, val_acc_history = [2.3] * 200, [0.5, 0.6], [0.5, 0.6]

    curves = CurvesFigure(log_loss=True).update({"a": HalfwayRun()})
    lines = list(curves.figure.axes[0].lines)
    first = curves.png()
    HalfwayRun.loss_history = [2.3] * 200 + [1.0] * 100
    curves.update({"a": HalfwayRun()})
    assert list(curves.figure.axes[0].lines) == lines and len(lines[0].get_xdata()) == 300
    assert curves.figure.axes[0].get_xlim() == (0, 400) and curves.figure.axes[1].get_xlim() == (0.5, 4.5)
    second = curves.png()
    assert second[:4] == b"\x89PNG" and second != first
    curves.update({})
    assert list(curves.figure.axes[0].lines) == [] and curves.figure.legends == []


def test_weight_images_show_one_tile_per_hidden_unit(rng):
    fig = plot_weight_images(rng.standard_normal((784, 12)))
    assert sum(1 for ax in fig.axes if ax.images) == 12
    fig = plot_weight_images(rng.standard_normal((3 * 32 * 32, 4)), image_shape=(3, 32, 32))
    assert fig.axes[0].images[0].get_array().shape == (32, 32, 3)
