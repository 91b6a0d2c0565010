"""One timed workload per call: `python -m benchmarks.workloads NAME` prints a JSON result.

Each workload runs in a process of its own, because NumPy's OpenBLAS threads and
PyTorch's OpenMP threads starve each other on a small machine.
"""
import json
import sys
import time

import numpy as np

from course.data import load_mnist

# The textbook two-layer configuration (784-100-10, sigmoid, weight std 0.01,
# SGD 0.1, random batches of 100, 10,000 steps)
TEXTBOOK = dict(hidden_dim=100, weight_scale=0.01, learning_rate=0.1, batch_size=100, num_iterations=10_000)
# The deep net the course recommends for MNIST
DEEP = dict(hidden_dims=[512, 256], learning_rate=1e-3, lr_decay=0.85, batch_size=100, num_epochs=10, weight_scale="he")
# Chapter 5's final model: the same numbers as its notebook's last cell (tests/test_training.py says so)
# (trained on all 60,000 training images: the 5,000 validation images join the 55,000)
FINAL = dict(hidden_dims=[1024, 512], normalization="batchnorm", dropout_keep_ratio=0.9, learning_rate=1e-3,
             lr_decay=0.8, batch_size=100, num_epochs=10, weight_scale="he")


def with_validation_in_training(data):
    """The data dict with the validation images added to the training set (still measured as validation)."""
    return dict(data, X_train=np.concatenate([data["X_train"], data["X_val"]]),
                y_train=np.concatenate([data["y_train"], data["y_val"]]))


def timed_training(solver, model, data):
    """(seconds of solver.train(), test accuracy of model)."""
    from course.solver import accuracy

    start = time.perf_counter()
    solver.train()
    seconds = time.perf_counter() - start
    return seconds, accuracy(model, data["X_test"], data["y_test"])


def textbook_numpy(data):
    from course.nets import TwoLayerNet
    from course.solver import Solver

    model = TwoLayerNet(784, TEXTBOOK["hidden_dim"], 10, weight_scale=TEXTBOOK["weight_scale"],
                        activation="sigmoid", seed=0)
    solver = Solver(model, data, update_rule="sgd", optim_config={"learning_rate": TEXTBOOK["learning_rate"]},
                    batch_size=TEXTBOOK["batch_size"], num_iterations=TEXTBOOK["num_iterations"],
                    num_val_samples=1000, verbose=False, seed=0)
    return timed_training(solver, model, data)


def deep_numpy(data):
    from course.nets import FullyConnectedNet
    from course.solver import Solver

    model = FullyConnectedNet(DEEP["hidden_dims"], weight_scale=DEEP["weight_scale"], seed=0)
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": DEEP["learning_rate"]},
                    lr_decay=DEEP["lr_decay"], batch_size=DEEP["batch_size"], num_epochs=DEEP["num_epochs"],
                    verbose=False, seed=0)
    return timed_training(solver, model, data)


def final_numpy(data):
    """Chapter 5's final model: the reference FullyConnectedNet with batch norm and dropout, Adam, through the Solver."""
    from course.nets import FullyConnectedNet
    from course.solver import Solver

    model = FullyConnectedNet(FINAL["hidden_dims"], weight_scale=FINAL["weight_scale"],
                              normalization=FINAL["normalization"], dropout_keep_ratio=FINAL["dropout_keep_ratio"],
                              seed=0)
    solver = Solver(model, with_validation_in_training(data), update_rule="adam",
                    optim_config={"learning_rate": FINAL["learning_rate"]},
                    lr_decay=FINAL["lr_decay"], batch_size=FINAL["batch_size"], num_epochs=FINAL["num_epochs"],
                    verbose=False, seed=0)
    return timed_training(solver, model, data)


def numerical_vs_backprop(data):
    """One full central-difference gradient of a 784-50-10 net on 100 examples, and one backprop."""
    from course.gradient_check import eval_numerical_gradient
    from course.nets import TwoLayerNet

    model = TwoLayerNet(784, 50, 10, weight_scale=0.01, dtype=np.float64, seed=0)
    X, y = data["X_train"][:100].astype(np.float64), data["y_train"][:100]
    start = time.perf_counter()
    for _ in range(100):
        model.loss(X, y)
    backprop = (time.perf_counter() - start) / 100
    start = time.perf_counter()
    for param in model.params.values():
        eval_numerical_gradient(lambda _: model.loss(X, y)[0], param)
    numerical = time.perf_counter() - start
    return numerical, backprop


WORKLOADS = {"textbook_numpy": textbook_numpy, "deep_numpy": deep_numpy, "final_numpy": final_numpy,
             "numerical_vs_backprop": numerical_vs_backprop}


def main(name):
    if name.endswith("_torch") or name.endswith("_torch_manual"):
        from benchmarks import torch_workloads as module
        workload = getattr(module, name)
    else:
        workload = WORKLOADS[name]
    data = load_mnist()
    first, second = workload(data)
    print(json.dumps({"name": name, "result": [first, second]}))


if __name__ == "__main__":
    main(sys.argv[1])
