"""Figures of training runs and weights.

Each function is a pure function of its data and returns a matplotlib Figure
(built without pyplot, so nothing global changes): Jupyter shows a returned
figure, and ``fig.savefig(path)`` writes it to a file.
"""
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def history_of(run):
    """The curves of a run: a Solver, or a dict with loss_history, train_acc_history, val_acc_history."""
    keys = ("loss_history", "train_acc_history", "val_acc_history")
    if isinstance(run, dict):
        return {k: list(run.get(k, [])) for k in keys}
    return {k: list(getattr(run, k)) for k in keys}


def smooth(values, window):
    """Running mean over the last `window` values (shorter at the start), same length as values."""
    values = np.asarray(values, dtype=np.float64)
    if window <= 1 or len(values) == 0:
        return values
    sums = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


def draw_history(ax_loss, ax_acc, history, label=None, color=None, iterations_per_epoch=None):
    """Draw one run's loss (per step, raw and smoothed) and accuracies (per epoch) on two axes."""
    loss = np.asarray(history["loss_history"], dtype=np.float64)
    steps = np.arange(1, len(loss) + 1)
    finite = np.isfinite(loss)
    lines = ax_loss.plot(steps[finite], loss[finite], alpha=0.25, color=color, linewidth=0.8)
    color = lines[0].get_color()
    window = max(1, len(loss) // 50)
    ax_loss.plot(steps[finite], smooth(loss[finite], window), color=color, label=label)
    epochs = np.arange(1, len(history["train_acc_history"]) + 1)
    ax_acc.plot(epochs, history["train_acc_history"], "--", color=color, marker=".")
    ax_acc.plot(epochs, history["val_acc_history"], "-", color=color, marker="o",
                label=None if label is None else f"{label} (val)")
    return color


def _format_axes(ax_loss, ax_acc, log_loss):
    ax_loss.set(xlabel="step", ylabel="training loss", title="Loss")
    if log_loss:
        ax_loss.set_yscale("log")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy (dashed: train, solid: validation)")
    ax_acc.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)


def plot_history(history, title=None, log_loss=False):
    """Loss per step and train/validation accuracy per epoch of one run (a Solver or a history dict)."""
    return plot_histories({None: history_of(history)}, title=title, log_loss=log_loss)


def plot_histories(histories, title=None, log_loss=False):
    """Several runs side by side: histories maps a label to a Solver or history dict."""
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    for label, run in histories.items():
        draw_history(ax_loss, ax_acc, history_of(run), label=label)
    _format_axes(ax_loss, ax_acc, log_loss)
    if any(label is not None for label in histories):
        ax_loss.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


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
    boxes = ["affine\n$a = xW_1 + b_1$", "ReLU\n$h = \\max(0, a)$", "affine\n$s = hW_2 + b_2$", "softmax loss\n$L(s, y)$"]
    half = 0.95
    gaps = [(0.0, centres[0] - half)] + [(c + half, n - half) for c, n in zip(centres, centres[1:])] + [(centres[-1] + half, 13.0)]
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
        ax.text(x, -1.25, f"$\\partial L/\\partial {w},\\ \\partial L/\\partial {b}$", ha="center", fontsize=10, color="#c00000")
    ax.text(11.0, 0.9, "labels $y$", ha="center", fontsize=10, color="#3465a4")
    ax.set_title("Forward pass (black, left to right) and backward pass (red, right to left)")
    return fig
