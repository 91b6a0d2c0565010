"""What the loss-curve explorer costs: one run through the panel against the same Solver run without it.

`python -m benchmarks.explorer NAME` times one workload in a process of its own and prints a
JSON result, as benchmarks.workloads does. Kernel side only, no browser: the panel's widgets
still build every picture of the curves they would send.
"""
import json
import sys
import time

from course.data import load_mnist
from course.widgets import LossExplorer, default_model_factory, make_solver

# Adam 1e-3 with He initialisation on 5,000 MNIST images, 50 steps of 100 per epoch
RUNS = {
    "short": dict(hidden="256, 128", epochs=6),  # 300 steps, under a second of training
    "long": dict(hidden="1024, 512", epochs=10),  # 500 steps, several seconds
}
BUDGET = (1.3, 1.0)  # the explorer may take at most 1.3x the plain run's time, plus 1 s


def explorer_for(data, size):
    explorer = LossExplorer(data, num_train=5000, num_val=1000)
    explorer.hidden.value = RUNS[size]["hidden"]
    explorer.epochs.value = RUNS[size]["epochs"]
    explorer.optimizer.value = "adam"
    explorer.learning_rate.value = 1e-3
    explorer.weight_scale.value = "he"
    return explorer


def explorer_run(data, size):
    """Seconds from pressing Train to the finished run's last picture, and the pictures drawn while it trained."""
    explorer = explorer_for(data, size)
    pictures = []
    explorer.plot.observe(lambda change: pictures.append(time.perf_counter()), "value")
    start = time.perf_counter()
    explorer.train_button.click()
    explorer.wait()
    seconds = time.perf_counter() - start
    return seconds, len(pictures) - 1  # the last picture shows the finished run


def plain_run(data, size):
    """Seconds of the same run (same settings, data and Solver) without the panel."""
    explorer = explorer_for(data, size)
    settings = explorer.current_settings()
    model = default_model_factory(settings["hidden_dims"], settings["weight_scale"], settings["reg"],
                                  settings["activation"])
    solver = make_solver(model, explorer.data, settings)
    start = time.perf_counter()
    solver.train()
    return time.perf_counter() - start, solver.iteration


WORKLOADS = {f"{kind}_{size}": (function, size) for size in RUNS
             for kind, function in (("explorer", explorer_run), ("plain", plain_run))}


def rows(best, rounds):
    """Table rows from {workload: (seconds, count)}, the fastest of `rounds` turns each."""
    factor, extra = BUDGET
    lines = []
    for size, run in RUNS.items():
        explorer_seconds, pictures = best[f"explorer_{size}"]
        plain_seconds, steps = best[f"plain_{size}"]
        budget = factor * plain_seconds + extra
        verdict = "meets" if explorer_seconds <= budget else "MISSES"
        lines.append(
            f"| loss-curve explorer, 784-{run['hidden'].replace(', ', '-')}-10 Adam, {steps} steps, kernel side "
            f"(best of {rounds}) | explorer {explorer_seconds:.2f} s, {pictures} redraws during the run "
            f"| same Solver run without the panel: {plain_seconds:.2f} s "
            f"| {explorer_seconds / plain_seconds:.2f}x ({verdict} <= {factor}x + {extra:g} s = {budget:.2f} s) |")
    return lines


def main(name):
    function, size = WORKLOADS[name]
    first, second = function(load_mnist(), size)
    print(json.dumps({"name": name, "result": [first, second]}))


if __name__ == "__main__":
    main(sys.argv[1])
