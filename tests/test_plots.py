"""Figures are drawn from the numbers they are given."""
import numpy as np

from course.plots import plot_histories, plot_history, plot_weight_images, smooth


def test_smooth_is_a_trailing_running_mean():
    np.testing.assert_allclose(smooth([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])


def test_history_plot_draws_the_loss_and_both_accuracy_curves(tmp_path):
    history = {"loss_history": [2.3, 2.0, np.nan, 1.5], "train_acc_history": [0.5, 0.7], "val_acc_history": [0.4, 0.6]}
    fig = plot_history(history)
    ax_loss, ax_acc = fig.axes
    raw = ax_loss.lines[0]
    np.testing.assert_allclose(raw.get_ydata(), [2.3, 2.0, 1.5])  # the NaN step is left out, not drawn
    np.testing.assert_allclose(ax_acc.lines[1].get_ydata(), [0.4, 0.6])
    fig.savefig(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_several_runs_get_their_own_colour_and_label():
    run = {"loss_history": [1.0, 0.5], "train_acc_history": [0.9], "val_acc_history": [0.8]}
    fig = plot_histories({"lr 0.1": run, "lr 1.0": run})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["lr 0.1", "lr 1.0"]
    colours = {line.get_color() for line in fig.axes[0].lines}
    assert len(colours) == 2


def test_weight_images_show_one_tile_per_hidden_unit(rng):
    fig = plot_weight_images(rng.standard_normal((784, 12)))
    assert sum(1 for ax in fig.axes if ax.images) == 12
    fig = plot_weight_images(rng.standard_normal((3 * 32 * 32, 4)), image_shape=(3, 32, 32))
    assert fig.axes[0].images[0].get_array().shape == (32, 32, 3)
