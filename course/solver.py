"""Minibatch training of a model with plain SGD or another update rule (course.optim, chapter 5)."""
import copy
import importlib
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from tqdm import std as text_tqdm
from tqdm.auto import tqdm as auto_tqdm

from course import runtime

RULE_NAMES = ("sgd", "sgd_momentum", "rmsprop", "adam")
PARALLEL_UPDATE_SIZE = 100_000  # a parameter this large is updated in a thread of its own (smaller: not worth a hand-off)


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: w <- w - learning_rate * dw (learning_rate defaults to 1e-2)."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def update_rule_named(name):
    """The update rule called `name`: plain SGD is built in, the others come from course.optim."""
    if name not in RULE_NAMES:
        raise ValueError(f"update_rule must be one of {sorted(RULE_NAMES)}, not {name!r}")
    if name == "sgd":
        return sgd
    try:
        optim = importlib.import_module("course.optim")
    except ModuleNotFoundError:  # a chapter folder before chapter 5 ships no optim: its rules are chapter 5's exercise
        raise ValueError(f"update_rule={name!r} is written in chapter 5 and this chapter's folder does not have it: "
                         f"use update_rule='sgd', or pass your own function (update_rule={name})") from None
    return optim.UPDATE_RULES[name]


def accuracy(model, X, y, batch_size=1000):
    """Fraction of examples whose highest score is the true label."""
    correct = 0
    for start in range(0, len(X), batch_size):
        scores = model.loss(X[start : start + batch_size])
        correct += int(np.sum(np.argmax(scores, axis=1) == y[start : start + batch_size]))
    return correct / max(1, len(X))


class Solver:
    """Trains a model by minibatch stochastic gradient descent.

    model: has ``params`` (dict of arrays) and ``loss(X, y=None)``.
    data: dict with X_train, y_train, X_val, y_val.
    update_rule: "sgd" (built in), "sgd_momentum", "rmsprop" or "adam" (from course.optim,
        where the chapter's folder has it), or a function (w, dw, config) -> (next_w, config).
    optim_config: hyperparameters for the rule, e.g. {"learning_rate": 0.1}.
    lr_decay: the learning rate is multiplied by this after every epoch.
    batch_size: examples per step, drawn at random (with replacement) from X_train.
    num_epochs: passes over the training set, N / batch_size steps each;
        num_iterations, if given, overrides it with an exact number of steps.
    num_train_samples, num_val_samples: how many examples the accuracy checks at
        the end of each epoch use (None: all of them).
    verbose: show a progress bar (a widget in Jupyter, text in a terminal).
    diverge_factor: a loss above this many times the first one (at least 1) counts as
        diverged, as does inf or NaN: training stops and says so.
    on_iteration, on_epoch: called with the solver after every step / every epoch;
        call ``solver.stop()`` from them to end training early.

    The batch handed to ``model.loss`` is one buffer reused on every step, so a
    model must not keep a reference to it between calls.

    After train(): loss_history (one entry per step), train_acc_history and
    val_acc_history (one per epoch), best_val_acc and best_params; the model's
    params are set to best_params (and its batch-norm running statistics, model.bn_params
    where it has them, to the ones of that epoch).
    """

    def __init__(
        self,
        model,
        data,
        update_rule="sgd",
        optim_config=None,
        lr_decay=1.0,
        batch_size=100,
        num_epochs=10,
        num_iterations=None,
        num_train_samples=1000,
        num_val_samples=None,
        verbose=True,
        diverge_factor=100.0,
        on_iteration=None,
        on_epoch=None,
        seed=None,
    ):
        missing = {"X_train", "y_train", "X_val", "y_val"} - set(data)
        if missing:
            raise ValueError(f"data is missing {sorted(missing)}; pass a dict like course.data.load_mnist() returns")
        if isinstance(update_rule, str):
            update_rule = update_rule_named(update_rule)
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule = update_rule
        self.lr_decay = lr_decay
        self.batch_size = batch_size
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.verbose = verbose
        self.diverge_factor = diverge_factor
        self.on_iteration = on_iteration
        self.on_epoch = on_epoch
        self.rng = np.random.default_rng(seed)
        self._X_batch = np.empty((batch_size, *self.X_train.shape[1:]), dtype=self.X_train.dtype)

        self.iterations_per_epoch = max(1, len(self.X_train) // batch_size)
        if num_iterations is None:
            num_iterations = num_epochs * self.iterations_per_epoch
        self.num_iterations = int(num_iterations)
        self.num_epochs = math.ceil(self.num_iterations / self.iterations_per_epoch)
        # every parameter keeps its own optimizer state (velocity, moments)
        self.optim_configs = {name: dict(optim_config or {}) for name in model.params}
        self._reset()

    def _reset(self):
        self.epoch = 0
        self.iteration = 0
        self.best_val_acc = 0.0
        self.best_params = {}
        self._best_bn_params = None
        self._pool = None
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.stop_reason = None
        self.diverged = False

    def stop(self, reason="stopped"):
        """Ask train() to return after the current step."""
        self.stop_reason = reason

    def _step(self):
        idx = self.rng.integers(0, len(self.X_train), self.batch_size)
        # gather into one reused buffer: a fresh batch array on every step costs
        # page faults each time the allocator hands the memory back to the system
        X_batch = np.take(self.X_train, idx, axis=0, out=self._X_batch, mode="clip")  # idx is in range; "raise" would buffer
        # a diverging run shows as a non-finite loss, which train() reports in words
        with np.errstate(over="ignore", invalid="ignore"):
            loss, grads = self.model.loss(X_batch, self.y_train[idx])
        self.loss_history.append(loss)
        params = self.model.params
        # an update is a few elementwise passes over each parameter, which NumPy runs on one core: the
        # largest parameter is updated in a second thread (ufuncs release the GIL) while the rest run here
        largest = max(params, key=lambda name: params[name].size)
        pending = None
        if self._pool is not None and params[largest].size >= PARALLEL_UPDATE_SIZE:
            pending = self._pool.submit(self._update, largest, grads)
        for name in params:
            if pending is None or name != largest:
                self._update(name, grads)
        if pending is not None:
            pending.result()
        return loss

    def _update(self, name, grads):
        params = self.model.params
        params[name], self.optim_configs[name] = self.update_rule(params[name], grads[name], self.optim_configs[name])

    def _diverging(self, loss):
        # a stable softmax keeps the loss finite even when training has blown up, so a
        # loss far above where it started counts too
        return not math.isfinite(loss) or loss > self.diverge_factor * max(1.0, self.loss_history[0])

    def check_accuracy(self, X, y, num_samples=None):
        """Accuracy of the model on (a random subset of num_samples of) X, y."""
        if num_samples is not None and len(X) > num_samples:
            idx = self.rng.choice(len(X), num_samples, replace=False)
            X, y = X[idx], y[idx]
        return accuracy(self.model, X, y)

    def _end_epoch(self):
        self.epoch += 1
        for config in self.optim_configs.values():
            if "learning_rate" in config:
                config["learning_rate"] *= self.lr_decay
        train_acc = self.check_accuracy(self.X_train, self.y_train, self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if val_acc > self.best_val_acc or not self.best_params:
            self.best_val_acc = val_acc
            self.best_params = {k: v.copy() for k, v in self.model.params.items()}
            # batch norm's running statistics belong to these parameters: restoring one without the other
            # would normalise the best weights with the last epoch's statistics
            self._best_bn_params = copy.deepcopy(getattr(self.model, "bn_params", None))
        if self.on_epoch is not None:
            self.on_epoch(self)

    def train(self):
        """Run the optimisation; returns the solver so calls can be chained."""
        # a widget bar in a notebook with a front end; plain text where no one is watching
        # (a widget executed headless can hang the run)
        tqdm = text_tqdm.tqdm if runtime.headless() else auto_tqdm
        bar = tqdm(total=self.num_iterations, disable=not self.verbose, desc="training", unit="step")
        self._pool = ThreadPoolExecutor(max_workers=1) if (os.cpu_count() or 1) > 1 else None
        try:
            while self.iteration < self.num_iterations and self.stop_reason is None:
                loss = self._step()
                self.iteration += 1
                if self._diverging(loss):
                    self.diverged = True
                    self.stop(f"the loss became {loss:.4g} at step {self.iteration} (it started at "
                              f"{self.loss_history[0]:.3g}): lower the learning rate")
                if self.iteration % self.iterations_per_epoch == 0 or self.iteration == self.num_iterations:
                    self._end_epoch()
                    bar.set_postfix(epoch=self.epoch, loss=f"{loss:.3f}", val_acc=f"{self.val_acc_history[-1]:.3f}",
                                    refresh=False)
                if self.on_iteration is not None:
                    self.on_iteration(self)
                bar.update(1)
        finally:
            bar.close()
            if self._pool is not None:
                self._pool.shutdown()
            self._pool = None
        if self.best_params:
            self.model.params = {k: v.copy() for k, v in self.best_params.items()}
            if self._best_bn_params is not None:
                self.model.bn_params = copy.deepcopy(self._best_bn_params)
        return self
