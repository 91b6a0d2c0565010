"""Figures of training runs and weights.

Each function is a pure function of its data and returns a matplotlib Figure
(built without pyplot, so nothing global changes): Jupyter shows a returned
figure, and ``fig.savefig(path)`` writes it to a file. ``CurvesFigure`` is the
same loss-and-accuracy figure kept alive between redraws, for a live view.
"""
import io

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, MaxNLocator
from PIL import Image

RUN_COLOURS = colormaps["tab10"].colors  # run i gets colour i; past ten they repeat
HISTORY_KEYS = ("loss_history", "train_acc_history", "val_acc_history")


def history_of(run):
    """The curves of a run: a Solver, or a dict with loss_history, train_acc_history, val_acc_history."""
    if isinstance(run, dict):
        return {k: list(run.get(k, [])) for k in HISTORY_KEYS}
    return {k: list(getattr(run, k)) for k in HISTORY_KEYS}


def planned_length(run, history):
    """(steps, epochs) the run will take: a Solver knows in advance, a history dict is complete."""
    steps = getattr(run, "num_iterations", None) or len(history["loss_history"])
    epochs = getattr(run, "num_epochs", None) or len(history["val_acc_history"])
    return steps, epochs


def smooth(values, window):
    """Running mean over the last `window` values (shorter at the start), same length as values."""
    values = np.asarray(values, dtype=np.float64)
    if window <= 1 or len(values) == 0:
        return values
    sums = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


class PlainLogFormatter(LogFormatter):
    """Labels a log axis 0.5, 1, 2 rather than 5x10^-1, 10^0, 2x10^0; LogFormatter still picks which ticks get one."""

    def __call__(self, x, pos=None):
        return f"{x:.3g}" if super().__call__(x, pos) else ""


class CurvesFigure:
    """Loss per step and train/validation accuracy per epoch of several runs, redrawn as they grow.

    Each run gets its colour and lines once; later calls to update() only replace the
    lines' data, so a live view costs a few tens of milliseconds per redraw.
    title: shown above both panels; log_loss: the loss on a log axis.
    """

    def __init__(self, title=None, log_loss=False):
        self.figure = Figure(figsize=(11, 4), layout="constrained")
        self.canvas = FigureCanvasAgg(self.figure)
        self.ax_loss, self.ax_acc = self.figure.subplots(1, 2)
        self.ax_loss.set(xlabel="step", ylabel="training loss", title="Loss")
        if log_loss:
            self.ax_loss.set_yscale("log")
            self.ax_loss.yaxis.set_major_formatter(PlainLogFormatter())
            self.ax_loss.yaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))
        # accuracy is a fraction: a fixed axis keeps runs and epochs comparable at a glance
        self.ax_acc.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1),
                        title="Accuracy (dashed: train, solid: validation)")
        for ax in (self.ax_loss, self.ax_acc):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
            ax.grid(alpha=0.3)
        if title:
            self.figure.suptitle(title)
        self.lines = {}  # label -> (raw loss, smoothed loss, train accuracy, validation accuracy)
        self._legend_labels = ()

    def update(self, histories):
        """Show exactly these runs: histories maps a label (or None) to a Solver or history dict."""
        for label in [label for label in self.lines if label not in histories]:
            for line in self.lines.pop(label):
                line.remove()
        most_steps, most_epochs = 1, 1
        for label, run in histories.items():
            history = history_of(run)
            if label not in self.lines:
                self.lines[label] = self._new_lines(label, RUN_COLOURS[len(self.lines) % len(RUN_COLOURS)])
            self._set_data(self.lines[label], history)
            steps, epochs = planned_length(run, history)
            most_steps, most_epochs = max(most_steps, steps), max(most_epochs, epochs)
        # the axes span whole runs from the start, so a live run grows from left to right
        self.ax_loss.set_xlim(0, most_steps)
        self.ax_loss.relim()
        self.ax_loss.autoscale_view(scalex=False)
        self.ax_acc.set_xlim(0.5, most_epochs + 0.5)
        self._update_legend([label for label in histories if label is not None])
        return self

    def _new_lines(self, label, colour):
        raw, = self.ax_loss.plot([], [], color=colour, alpha=0.25, linewidth=0.8)
        smoothed, = self.ax_loss.plot([], [], color=colour, label=label)
        train, = self.ax_acc.plot([], [], "--", color=colour, marker=".")
        val, = self.ax_acc.plot([], [], "-", color=colour, marker="o")
        return raw, smoothed, train, val

    @staticmethod
    def _set_data(lines, history):
        raw, smoothed, train, val = lines
        loss = np.asarray(history["loss_history"], dtype=np.float64)
        steps = np.arange(1, len(loss) + 1)
        finite = np.isfinite(loss)
        raw.set_data(steps[finite], loss[finite])
        smoothed.set_data(steps[finite], smooth(loss[finite], max(1, len(loss) // 50)))
        for line, key in ((train, "train_acc_history"), (val, "val_acc_history")):
            line.set_data(np.arange(1, len(history[key]) + 1), history[key])

    def _update_legend(self, labels):
        if tuple(labels) == self._legend_labels:
            return
        self._legend_labels = tuple(labels)
        for legend in list(self.figure.legends):
            legend.remove()
        # below the panels, one row per run: a legend inside an axis hides the curves it names
        self.figure.set_size_inches(11, 4 + 0.2 * len(labels))
        if labels:
            self.figure.legend(handles=[self.lines[label][1] for label in labels], loc="outside lower center",
                               fontsize="small", frameon=False)

    def png(self, dpi=80):
        """The figure as PNG bytes (at 80 dpi it is 880 pixels wide)."""
        self.figure.set_dpi(dpi)
        self.canvas.draw()
        buffer = io.BytesIO()
        # the fastest zlib level: a live view sends a fresh image every second
        Image.frombuffer("RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba()).save(
            buffer, format="png", compress_level=1)
        return buffer.getvalue()


def plot_history(history, title=None, log_loss=False):
    """Loss per step and train/validation accuracy per epoch of one run (a Solver or a history dict)."""
    return CurvesFigure(title=title, log_loss=log_loss).update({None: history}).figure


def plot_histories(histories, title=None, log_loss=False):
    """Several runs side by side: histories maps a label to a Solver or history dict."""
    return CurvesFigure(title=title, log_loss=log_loss).update(histories).figure


def plot_weight_images(W, image_shape=(28, 28), max_images=100, title="First-layer weights"):
    """Each column of W (D, H) drawn as an image of image_shape, e.g. (28, 28) or (3, 32, 32).

    Each image is scaled to its own range, so what shows is the pattern a hidden unit
    responds to, not its magnitude.
    """
    W = np.asarray(W, dtype=np.float64)
    count = min(W.shape[1], max_images)
    cols = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / cols))
    fig = Figure(figsize=(cols * 0.9, rows * 0.9 + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= count:
            continue
        image = W[:, i].reshape(image_shape)
        if image.ndim == 3:  # channels first, as CIFAR stores them
            image = image.transpose(1, 2, 0)
        low, high = image.min(), image.max()
        image = (image - low) / (high - low + 1e-12)
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
    fig.suptitle(title)
    return fig


def plot_examples(X, y, image_shape=(28, 28), class_names=None, count=20, seed=0):
    """A grid of random examples with their labels."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(X), min(count, len(X)), replace=False)
    cols = min(10, len(idx))
    rows = int(np.ceil(len(idx) / cols))
    fig = Figure(figsize=(cols * 1.1, rows * 1.3), layout="constrained")
    for ax, i in zip(np.atleast_1d(fig.subplots(rows, cols)).ravel(), idx):
        image = np.asarray(X[i]).reshape(image_shape)
        if image.ndim == 3:
            image = image.transpose(1, 2, 0)
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
        ax.set_title(class_names[y[i]] if class_names else str(y[i]), fontsize="small")
        ax.axis("off")
    return fig


def plot_computational_graph():
    """The graph of affine -> ReLU -> affine -> softmax loss: values flow right, gradients flow back left."""
    fig = Figure(figsize=(11, 3.2), layout="constrained")
    ax = fig.subplots()
    ax.set(xlim=(-0.3, 13.3), ylim=(-1.7, 1.5))
    ax.axis("off")
    centres = [2.0, 5.0, 8.0, 11.0]
    boxes = ["affine\n$a = xW_1 + b_1$", "ReLU\n$h = \\max(0, a)$", "affine\n$s = hW_2 + b_2$",
             "softmax loss\n$L(s, y)$"]
    half = 0.95
    gaps = ([(0.0, centres[0] - half)] + [(c + half, n - half) for c, n in zip(centres, centres[1:])]
            + [(centres[-1] + half, 13.0)])
    values = ["$x$", "$a$", "$h$", "$s$", "$L$"]
    grads = ["$\\partial L/\\partial x$", "$\\partial L/\\partial a$", "$\\partial L/\\partial h$",
             "$\\partial L/\\partial s$", "$1$"]
    for x, text in zip(centres, boxes):
        ax.text(x, 0, text, ha="center", va="center", fontsize=10,
                bbox=dict(boxstyle="round,pad=0.5", facecolor="#e8f0fe", edgecolor="#3465a4"))
    for (start, end), value, grad in zip(gaps, values, grads):
        ax.annotate("", xy=(end, 0.3), xytext=(start, 0.3), arrowprops=dict(arrowstyle="->", color="black"))
        ax.annotate("", xy=(start, -0.3), xytext=(end, -0.3), arrowprops=dict(arrowstyle="->", color="#c00000"))
        ax.text((start + end) / 2, 0.5, value, ha="center", fontsize=12)
        ax.text((start + end) / 2, -0.75, grad, ha="center", fontsize=10, color="#c00000")
    for x, w, b in ((2.0, "W_1", "b_1"), (8.0, "W_2", "b_2")):
        ax.text(x, 0.9, f"${w}, {b}$", ha="center", fontsize=10, color="#3465a4")
        ax.text(x, -1.25, f"$\\partial L/\\partial {w},\\ \\partial L/\\partial {b}$", ha="center", fontsize=10,
                color="#c00000")
    ax.text(11.0, 0.9, "labels $y$", ha="center", fontsize=10, color="#3465a4")
    ax.set_title("Forward pass (black, left to right) and backward pass (red, right to left)")
    return fig
