"""LossExplorer: set hyperparameters, press Train, and watch the loss and accuracy curves of every run.

A thin layer over the Solver (its on_iteration hook) and course.plots. A run trains
in a thread of its own, so the kernel stays free to receive the Stop click, and a
second thread redraws the curves about once a second. Training never waits for a
drawing: all it does for the panel is look at the Stop flag after each step.
"""
import html
import importlib.util
import threading
import time

import ipywidgets as widgets

from course import curriculum, plots
from course.data import subsample
from course.solver import Solver

FIRST_DRAW_SECONDS = 0.5  # a run's first curves: early, so that even a 2-second run is seen moving twice
REDRAW_SECONDS = 1.0  # from the end of one drawing to the start of the next
PROGRESS_SECONDS = 0.25  # the progress bar is cheap to move, so it moves more often


def default_model_factory(hidden_dims, weight_scale, reg, activation):
    from course.nets import FullyConnectedNet  # the reference net, where the full package is installed
    return FullyConnectedNet(hidden_dims, reg=reg, weight_scale=weight_scale, activation=activation)


def parse_hidden_dims(text, max_depth):
    """'100, 50' -> [100, 50]; a clear ValueError for anything else."""
    try:
        dims = [int(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"hidden sizes must be whole numbers separated by commas, like 100, 50 (not {text!r})"
                         ) from None
    if not dims or any(d <= 0 for d in dims):
        raise ValueError("give at least one hidden layer size, each above 0, like 100")
    if len(dims) > max_depth:
        raise ValueError(f"this explorer takes at most {max_depth} hidden layer(s); you gave {len(dims)}")
    return dims


def available_update_rules():
    """The update rules the Solver can run here: plain SGD always, the others where the full package is installed
    (no chapter's release folder ships course.optim: chapter 5 grades it)."""
    if importlib.util.find_spec("course.optim") is None:
        return ("sgd",)
    from course import optim
    return tuple(optim.UPDATE_RULES)


def make_solver(model, data, settings, on_iteration=None):
    """The Solver of one explorer run with these settings (a benchmark times the same run without the panel)."""
    return Solver(model, data, update_rule=settings["update_rule"],
                  optim_config={"learning_rate": settings["learning_rate"]}, batch_size=settings["batch_size"],
                  num_epochs=settings["num_epochs"], verbose=False, on_iteration=on_iteration)


def raised_in(error):
    """The name of the function that raised `error`, with its class (like 'TwoLayerNet.__init__'), or None."""
    tb = error.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_qualname.split("<locals>.")[-1]


def describe_error(error):
    """What went wrong in words a student can act on: the exception's type, what it says, and what to do."""
    kind, where, said = type(error).__name__, raised_in(error), str(error)
    if isinstance(error, NotImplementedError):
        owner = where.split(".")[0] if where else "a function it calls"
        chapters = [c.name for c in curriculum.CHAPTERS if owner in c.graded]
        todo = (f"finish its exercise in chapter {int(chapters[0][:2])}, run that cell again" if chapters
                else "replace its `raise NotImplementedError` with your code, run its cell again")
        return f"{kind}: {owner} is not implemented yet: {todo}, then press Train." + (f" ({said})" if said else "")
    if not said:
        said = f"raised in {where}, without a message" if where else "raised without a message"
    return f"{kind}: {said}"


class LossExplorer:
    """An ipywidgets panel that trains models on `data` with the chosen settings and plots every run.

    data: dict with X_train, y_train, X_val, y_val (a subset keeps each run to a few seconds).
    model_factory: (hidden_dims, weight_scale, reg, activation) -> model; the reference
        FullyConnectedNet by default.
    activations, weight_scales, max_depth: the choices offered (a chapter may narrow them to
        what its own model supports). The optimizer menu offers the update rules the chapter's
        folder has: plain SGD only inside a chapter's release folder, every rule with the full package.
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
        self._threads = ()  # (training, drawing) of the current or last run
        self._curves = plots.CurvesFigure(title="Loss-curve explorer", log_loss=True)
        self._drawing = threading.Lock()

        style = {"description_width": "110px"}
        self.learning_rate = widgets.FloatLogSlider(value=1e-1, base=10, min=-4, max=1, step=0.1,
                                                    description="learning rate", readout_format=".4f", style=style)
        self.reg = widgets.FloatLogSlider(value=1e-6, base=10, min=-6, max=0, step=0.5,
                                          description="regularization", readout_format=".0e", style=style)
        self.hidden = widgets.Text(value="100", description="hidden sizes", style=style,
                                   placeholder="e.g. 100 or 256, 128")
        self.batch_size = widgets.Dropdown(options=[25, 50, 100, 200, 500], value=100, description="batch size",
                                           style=style)
        self.weight_scale = widgets.Dropdown(options=list(weight_scales), value=weight_scales[0],
                                             description="weight scale", style=style)
        self.activation = widgets.ToggleButtons(options=list(activations), value=activations[0],
                                                description="activation", style=style)
        rules = available_update_rules()
        self.optimizer = widgets.Dropdown(options=rules, value="sgd_momentum" if "sgd_momentum" in rules else rules[0],
                                          description="optimizer", style=style)
        self.epochs = widgets.IntSlider(value=2, min=1, max=10, description="epochs", style=style)
        self.train_button = widgets.Button(description="Train", button_style="success", icon="play")
        self.stop_button = widgets.Button(description="Stop", button_style="warning", icon="stop", disabled=True)
        self.clear_button = widgets.Button(description="Clear", icon="trash")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="progress", style=style)
        self.status = widgets.HTML(value="Choose settings and press <b>Train</b>.")
        self.best = widgets.HTML(value="")
        self.plot = widgets.Image(format="png", layout=widgets.Layout(width="880px", max_width="100%"))
        self.train_button.on_click(lambda _: self.train())
        self.stop_button.on_click(lambda _: self.stop())
        self.clear_button.on_click(lambda _: self.clear())

        controls = widgets.VBox([self.learning_rate, self.reg, self.hidden, self.batch_size, self.weight_scale,
                                 self.activation, self.optimizer, self.epochs,
                                 widgets.HBox([self.train_button, self.stop_button, self.clear_button])])
        self.panel = widgets.VBox([controls, self.progress, self.status, self.best, self.plot])
        self._draw()

    def _repr_mimebundle_(self, **kwargs):
        return self.panel._repr_mimebundle_(**kwargs)

    # ---- actions -----------------------------------------------------------------------

    def current_settings(self):
        return {
            "learning_rate": float(self.learning_rate.value), "reg": float(self.reg.value),
            "hidden_dims": parse_hidden_dims(self.hidden.value, self.max_depth),
            "batch_size": int(self.batch_size.value), "weight_scale": self.weight_scale.value,
            "activation": self.activation.value, "update_rule": self.optimizer.value,
            "num_epochs": int(self.epochs.value),
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
            solver = make_solver(model, self.data, settings, on_iteration=self._on_iteration)
        except Exception as error:  # noqa: BLE001 - a bad setting or unfinished model is shown, not raised
            self._say(f"FAILED: cannot start: {describe_error(error)}", error=True)
            return
        label = f"run {len(self.runs) + 1}: {self.label_of(settings)}"
        self.runs[label], self.settings[label] = solver, settings
        self._stop.clear()
        self.progress.max, self.progress.value = solver.num_iterations, 0
        self.train_button.disabled, self.stop_button.disabled = True, False
        self._say(f"Training {label} ...")
        trained = threading.Event()
        self._threads = (threading.Thread(target=self._train, args=(label, solver, trained), daemon=True),
                         threading.Thread(target=self._paint, args=(solver, trained), daemon=True))
        for thread in self._threads:
            thread.start()

    def stop(self):
        self._stop.set()

    def clear(self):
        if self.running:
            return
        self.runs.clear()
        self.settings.clear()
        self.best.value = ""
        self._say("Cleared. Choose settings and press Train.")
        self._draw()

    def wait(self, timeout=None):
        """Block until the current run has ended and its last curves are drawn (for scripts and tests)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    @property
    def running(self):
        return any(thread.is_alive() for thread in self._threads)

    # ---- the training thread -------------------------------------------------------------

    def _on_iteration(self, solver):
        if self._stop.is_set():
            solver.stop("stopped by you")

    def _train(self, label, solver, trained):
        try:
            solver.train()
        except Exception as error:  # noqa: BLE001 - the message reaches the student, the panel keeps working
            solver.stop(f"failed: {describe_error(error)}")
            solver.diverged = True
        finally:
            try:
                self._report(label, solver)
            finally:
                trained.set()

    def _report(self, label, solver):
        if solver.diverged:
            self._say(f"FAILED: {label} stopped: {solver.stop_reason}", error=True)
        elif solver.stop_reason:
            accuracy = (f"best validation accuracy {solver.best_val_acc:.2%}" if solver.val_acc_history
                        else "no epoch finished, so no accuracy yet")
            self._say(f"{label} {solver.stop_reason} after {solver.iteration} steps; {accuracy}.")
        else:
            self._say(f"{label} done: best validation accuracy {solver.best_val_acc:.2%}.")
        finished = {k: s for k, s in self.runs.items() if not s.diverged and s.val_acc_history}
        if finished:
            best = max(finished, key=lambda k: finished[k].best_val_acc)
            self.best.value = (f"<b>Best so far:</b> {html.escape(best)} &rarr; validation accuracy "
                               f"{finished[best].best_val_acc:.2%}")

    # ---- the drawing thread --------------------------------------------------------------

    def _paint(self, solver, trained):
        """Move the progress bar and redraw the curves until the run ends, then draw them once more."""
        try:
            next_draw = time.monotonic() + FIRST_DRAW_SECONDS
            while not trained.wait(min(PROGRESS_SECONDS, max(0.0, next_draw - time.monotonic()))):
                self.progress.value = solver.iteration
                if time.monotonic() >= next_draw:
                    self._draw()
                    next_draw = time.monotonic() + REDRAW_SECONDS
            self.progress.value = solver.iteration
            self._draw()
        finally:
            self.train_button.disabled, self.stop_button.disabled = False, True

    def _draw(self):
        with self._drawing:
            self.plot.value = self._curves.update(dict(self.runs)).png()

    def _say(self, text, error=False):
        self.messages.append(text)
        color = "#b00020" if error else "inherit"
        self.status.value = f'<span style="color:{color}">{html.escape(text)}</span>'
