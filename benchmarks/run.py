"""`make bench`: run every workload in its own process, interleaved, and print one table.

The machine is noisy (identical runs differ by 50% here), so the workloads that are
compared take turns for several rounds and each keeps its fastest time; ratios
are taken between those. `--only explorer` (or training, gradient, grading, cluster) runs one
section of the table.
"""
import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"textbook_torch": 0.8, "textbook_torch_manual": 1.0}


def run_workload(name, module="benchmarks.workloads"):
    proc = subprocess.run([sys.executable, "-m", module, name], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"workload {name} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["result"]


def best_of(names, rounds, module="benchmarks.workloads"):
    """Fastest (seconds, accuracy or count) of each workload over rounds taken in turn."""
    best = {}
    for _ in range(rounds):
        for name in names:
            seconds, acc = run_workload(name, module)
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, acc)
    return best


def ratio_cell(numpy_seconds, other, target):
    if other is None:
        return "n/a"
    ratio = numpy_seconds / other[0]
    verdict = "meets" if ratio <= target else "MISSES"
    return f"{ratio:.2f}x ({verdict} <= {target}x)"


def training_rows(rounds, has_torch):
    textbook = ["textbook_numpy"] + (["textbook_torch_manual", "textbook_torch"] if has_torch else [])
    best = best_of(textbook, rounds)
    deep = best_of(["deep_numpy"] + (["deep_torch"] if has_torch else []), 1)
    np_s, np_acc = best["textbook_numpy"]
    lines = []
    for name, label in (("textbook_torch", "autograd, nn.Linear + optim.SGD"),
                        ("textbook_torch_manual", "same manual backprop loop")):
        other = best.get(name)
        torch_cell = f"{other[0]:.2f} s, test acc {other[1]:.2%} ({label})" if other else "n/a"
        verdict = "meets" if np_acc >= 0.94 else "MISSES"
        lines.append(f"| 784-100-10 sigmoid, SGD 0.1, batch 100, 10k steps (TwoLayerNet + Solver) "
                     f"| {np_s:.2f} s, test acc {np_acc:.2%} ({verdict} >= 94%) | {torch_cell} "
                     f"| {ratio_cell(np_s, other, TARGETS[name])} |")
    deep_s, deep_acc = deep["deep_numpy"]
    other = deep.get("deep_torch")
    torch_cell = f"{other[0]:.2f} s, test acc {other[1]:.2%} (autograd + Adam)" if other else "n/a"
    ratio = f"{deep_s / other[0]:.2f}x" if other else "n/a"
    deep_verdict = "meets" if deep_acc >= 0.98 and deep_s <= 60 else "MISSES"
    lines.append(f"| deep net 784-512-256-10 ReLU, He init, Adam 1e-3, decay 0.85/epoch, 10 epochs "
                 f"| {deep_s:.2f} s, test acc {deep_acc:.2%} ({deep_verdict} >= 98% in <= 60 s) "
                 f"| {torch_cell} | {ratio} |")
    lines.append(final_row(has_torch))
    return lines


def final_row(has_torch):
    """Chapter 5's final model against the same net, optimizer and epochs in PyTorch, each in its own process."""
    from benchmarks.workloads import FINAL

    best = best_of(["final_numpy"] + (["final_torch"] if has_torch else []), 1)
    seconds, acc = best["final_numpy"]
    other = best.get("final_torch")
    torch_cell = f"{other[0]:.2f} s, test acc {other[1]:.2%} (autograd, BatchNorm1d + Adam)" if other else "n/a"
    verdict = "meets" if acc >= 0.985 and seconds <= 60 else "MISSES"
    dims = "-".join(str(d) for d in [784, *FINAL["hidden_dims"], 10])
    return (f"| chapter 5's final model {dims} ReLU + batch norm + dropout (keep {FINAL['dropout_keep_ratio']}), He init, "
            f"Adam {FINAL['learning_rate']:g}, decay "
            f"{FINAL['lr_decay']}/epoch, batch {FINAL['batch_size']}, {FINAL['num_epochs']} epochs "
            f"| {seconds:.2f} s, test acc {acc:.2%} ({verdict} >= 98.5% in <= 60 s) | {torch_cell} "
            f"| {ratio_cell(seconds, other, 1.0)} |")


def gradient_rows():
    numerical, backprop = run_workload("numerical_vs_backprop")
    return [f"| one gradient of a 784-50-10 net on 100 examples (float64): central differences vs backprop "
            f"| numerical {numerical:.2f} s, backprop {backprop * 1e3:.2f} ms | | "
            f"backprop is {numerical / backprop:,.0f}x faster |"]


def explorer_rows(rounds):
    from benchmarks import explorer
    return explorer.rows(best_of(list(explorer.WORKLOADS), rounds, module="benchmarks.explorer"), rounds)


def grading_rows(submissions):
    from benchmarks import grading
    return grading.rows(grading.measure(submissions)) if submissions else []


def cluster_rows(submissions):
    from benchmarks import cluster
    return cluster.rows(cluster.measure(submissions)) if submissions else []


SECTIONS = ("training", "gradient", "explorer", "grading", "cluster")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="turns each compared workload takes (default 3)")
    parser.add_argument("--submissions", type=int, default=50, help="submissions in the grading section (0 skips it)")
    parser.add_argument("--only", choices=SECTIONS, action="append",
                        help="run only this section of the table (may be given more than once); "
                             "out/bench.md is then left as it was")
    args = parser.parse_args(argv)
    sections = args.only or SECTIONS
    has_torch = importlib.util.find_spec("torch") is not None
    torch_note = "" if has_torch else " (PyTorch is not installed: `pip install -e '.[bench]'` for the comparison)"

    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; best of {args.rounds} "
        f"interleaved rounds, each run in its own process{torch_note}",
        "",
        "| workload | course (NumPy) | PyTorch CPU | ratio (course / PyTorch) |",
        "|---|---|---|---|",
    ]
    if "training" in sections:
        lines += training_rows(args.rounds, has_torch)
    if "gradient" in sections:
        lines += gradient_rows()
    if "explorer" in sections:
        lines += explorer_rows(args.rounds)
    if "grading" in sections:
        lines += grading_rows(args.submissions)
    if "cluster" in sections:
        lines += cluster_rows(args.submissions)
    table = "\n".join(lines)
    print(table)
    if not args.only:
        out = ROOT / "out"
        out.mkdir(exist_ok=True)
        (out / "bench.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
