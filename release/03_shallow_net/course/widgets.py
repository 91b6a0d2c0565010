"""LossExplorer: set hyperparameters, press Train, and watch the loss and accuracy curves of every run.

A thin layer over the Solver (its on_iteration hook) and course.plots: the panel
trains in a background thread so the kernel stays free to receive the Stop click,
and redraws the curves of all runs a few times a second.
"""
import io
import threading
import time

import ipywidgets as widgets

from course import plots
from course.data import subsample
from course.solver import Solver

REDRAW_SECONDS = 0.3


def default_model_factory(hidden_dims, weight_scale, reg, activation):
    from course.nets import FullyConnectedNet  # the reference net, where the full package is installed
    return FullyConnectedNet(hidden_dims, reg=reg, weight_scale=weight_scale, activation=activation)


def parse_hidden_dims(text, max_depth):
    """'100, 50' -> [100, 50]; a clear ValueError for anything else."""
    try:
        dims = [int(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"hidden sizes must be whole numbers separated by commas, like 100, 50 (not {text!r})") from None
    if not dims or any(d <= 0 for d in dims):
        raise ValueError("give at least one hidden layer size, each above 0, like 100")
    if len(dims) > max_depth:
        raise ValueError(f"this explorer takes at most {max_depth} hidden layer(s); you gave {len(dims)}")
    return dims


def png_of(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


class LossExplorer:
    """An ipywidgets panel that trains models on `data` with the chosen settings and plots every run.

    data: dict with X_train, y_train, X_val, y_val (a subset keeps each run to a few seconds).
    model_factory: (hidden_dims, weight_scale, reg, activation) -> model; the reference
        FullyConnectedNet by default.
    activations, weight_scales, max_depth: the choices offered (a chapter may narrow them to
        what its own model supports).
    """

    def __init__(self, data, model_factory=None, activations=("relu", "sigmoid"),
                 weight_scales=("he", 0.1, 0.01, 0.001), max_depth=4, num_train=5000, num_val=1000):
        self.data = subsample(data, num_train=num_train, num_val=num_val)
        self.model_factory = model_factory or default_model_factory
        self.max_depth = max_depth
        self.runs = {}  # label -> Solver, in the order they were trained
        self.settings = {}  # label -> the settings of that run
        self.messages = []
        self._stop = threading.Event()
        self._thread = None
        self._last_draw = 0.0

        style = {"description_width": "110px"}
        self.learning_rate = widgets.FloatLogSlider(value=1e-1, base=10, min=-4, max=1, step=0.1,
                                                    description="learning rate", readout_format=".4f", style=style)
        self.reg = widgets.FloatLogSlider(value=1e-6, base=10, min=-6, max=0, step=0.5,
                                          description="regularization", readout_format=".0e", style=style)
        self.hidden = widgets.Text(value="100", description="hidden sizes", style=style,
                                   placeholder="e.g. 100 or 256, 128")
        self.batch_size = widgets.Dropdown(options=[25, 50, 100, 200, 500], value=100, description="batch size", style=style)
        self.weight_scale = widgets.Dropdown(options=list(weight_scales), value=weight_scales[0],
                                             description="weight scale", style=style)
        self.activation = widgets.ToggleButtons(options=list(activations), value=activations[0], description="activation",
                                                style=style)
        self.optimizer = widgets.Dropdown(options=["sgd", "sgd_momentum", "rmsprop", "adam"], value="sgd_momentum",
                                          description="optimizer", style=style)
        self.epochs = widgets.IntSlider(value=2, min=1, max=10, description="epochs", style=style)
        self.train_button = widgets.Button(description="Train", button_style="success", icon="play")
        self.stop_button = widgets.Button(description="Stop", button_style="warning", icon="stop", disabled=True)
        self.clear_button = widgets.Button(description="Clear", icon="trash")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="progress", style=style)
        self.status = widgets.HTML(value="Choose settings and press <b>Train</b>.")
        self.best = widgets.HTML(value="")
        self.plot = widgets.Image(format="png", layout=widgets.Layout(width="880px"))
        self.train_button.on_click(lambda _: self.train())
        self.stop_button.on_click(lambda _: self.stop())
        self.clear_button.on_click(lambda _: self.clear())

        controls = widgets.VBox([self.learning_rate, self.reg, self.hidden, self.batch_size, self.weight_scale,
                                 self.activation, self.optimizer, self.epochs,
                                 widgets.HBox([self.train_button, self.stop_button, self.clear_button])])
        self.panel = widgets.VBox([controls, self.progress, self.status, self.best, self.plot])
        self._redraw()

    def _repr_mimebundle_(self, **kwargs):
        return self.panel._repr_mimebundle_(**kwargs)

    # ---- actions -----------------------------------------------------------------------

    def current_settings(self):
        return {
            "learning_rate": float(self.learning_rate.value), "reg": float(self.reg.value),
            "hidden_dims": parse_hidden_dims(self.hidden.value, self.max_depth),
            "batch_size": int(self.batch_size.value), "weight_scale": self.weight_scale.value,
            "activation": self.activation.value, "update_rule": self.optimizer.value, "num_epochs": int(self.epochs.value),
        }

    @staticmethod
    def label_of(settings):
        dims = "-".join(str(d) for d in settings["hidden_dims"])
        return (f"{settings['update_rule']} lr={settings['learning_rate']:.3g} {settings['activation']} {dims} "
                f"reg={settings['reg']:.0e} ws={settings['weight_scale']} bs={settings['batch_size']}")

    def train(self):
        """Start a run with the current settings in a background thread (one run at a time)."""
        if self.running:
            return
        try:
            settings = self.current_settings()
            model = self.model_factory(settings["hidden_dims"], settings["weight_scale"], settings["reg"],
                                       settings["activation"])
        except Exception as error:  # noqa: BLE001 - a bad setting is shown, not raised
            self._say(f"Cannot start: {error}", error=True)
            return
        label = f"run {len(self.runs) + 1}: {self.label_of(settings)}"
        solver = Solver(model, self.data, update_rule=settings["update_rule"],
                        optim_config={"learning_rate": settings["learning_rate"]},
                        batch_size=settings["batch_size"], num_epochs=settings["num_epochs"], verbose=False,
                        on_iteration=self._on_iteration)
        self.runs[label], self.settings[label] = solver, settings
        self._stop.clear()
        self.progress.max, self.progress.value = solver.num_iterations, 0
        self.train_button.disabled, self.stop_button.disabled = True, False
        self._say(f"Training {label} ...")
        self._thread = threading.Thread(target=self._run, args=(label, solver), daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()

    def clear(self):
        if self.running:
            return
        self.runs.clear()
        self.settings.clear()
        self.best.value = ""
        self._say("Cleared. Choose settings and press <b>Train</b>.")
        self._redraw()

    def wait(self, timeout=None):
        """Block until the current run ends (for scripts and tests)."""
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    # ---- the training thread -------------------------------------------------------------

    def _on_iteration(self, solver):
        if self._stop.is_set():
            solver.stop("stopped by you")
        now = time.monotonic()
        if now - self._last_draw > REDRAW_SECONDS:
            self.progress.value = solver.iteration
            self._redraw()

    def _run(self, label, solver):
        try:
            solver.train()
        except Exception as error:  # noqa: BLE001 - the message reaches the student, the panel keeps working
            solver.stop(f"failed: {type(error).__name__}: {error}")
            solver.diverged = True
        finally:
            self.progress.value = solver.iteration
            self._finish(label, solver)

    def _finish(self, label, solver):
        if solver.diverged:
            self._say(f"{label} stopped: {solver.stop_reason}", error=True)
        elif solver.stop_reason:
            self._say(f"{label} {solver.stop_reason} after {solver.iteration} steps; best validation accuracy "
                      f"{solver.best_val_acc:.2%}.")
        else:
            self._say(f"{label} done: best validation accuracy {solver.best_val_acc:.2%}.")
        finished = {k: s for k, s in self.runs.items() if not s.diverged and s.val_acc_history}
        if finished:
            best = max(finished, key=lambda k: finished[k].best_val_acc)
            self.best.value = f"<b>Best so far:</b> {best} &rarr; validation accuracy {finished[best].best_val_acc:.2%}"
        self._redraw()
        self.train_button.disabled, self.stop_button.disabled = False, True

    def _say(self, text, error=False):
        self.messages.append(text)
        color = "#b00020" if error else "inherit"
        self.status.value = f'<span style="color:{color}">{text}</span>'

    def _redraw(self):
        self._last_draw = time.monotonic()
        figure = plots.plot_histories(self.runs or {}, title="Loss-curve explorer", log_loss=True)
        self.plot.value = png_of(figure)
