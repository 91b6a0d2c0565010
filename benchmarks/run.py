"""`make bench`: run every workload in its own process, interleaved, and print one table.

The machine is noisy (identical runs differ by 50% here), so the workloads that are
compared take turns for several rounds and each keeps its fastest time; ratios
are taken between those.
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


def run_workload(name):
    proc = subprocess.run([sys.executable, "-m", "benchmarks.workloads", name], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"workload {name} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["result"]


def best_of(names, rounds):
    """Fastest (seconds, accuracy) of each workload over rounds taken in turn."""
    best = {}
    for _ in range(rounds):
        for name in names:
            seconds, acc = run_workload(name)
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, acc)
    return best


def ratio_cell(numpy_seconds, other, target):
    if other is None:
        return "n/a"
    ratio = numpy_seconds / other[0]
    verdict = "meets" if ratio <= target else "MISSES"
    return f"{ratio:.2f}x ({verdict} <= {target}x)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="turns each compared workload takes (default 3)")
    parser.add_argument("--submissions", type=int, default=50, help="submissions in the grading section (0 skips it)")
    args = parser.parse_args(argv)
    has_torch = importlib.util.find_spec("torch") is not None
    torch_note = "" if has_torch else " (PyTorch is not installed: `pip install -e '.[bench]'` for the comparison)"

    textbook = ["textbook_numpy"] + (["textbook_torch_manual", "textbook_torch"] if has_torch else [])
    best = best_of(textbook, args.rounds)
    deep = best_of(["deep_numpy"] + (["deep_torch"] if has_torch else []), 1)
    numerical, backprop = run_workload("numerical_vs_backprop")

    np_s, np_acc = best["textbook_numpy"]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; best of {args.rounds} "
        f"interleaved rounds, each run in its own process{torch_note}",
        "",
        "| workload | course (NumPy) | PyTorch CPU | ratio (course / PyTorch) |",
        "|---|---|---|---|",
    ]
    for name, label in (("textbook_torch", "autograd, nn.Linear + optim.SGD"),
                        ("textbook_torch_manual", "same manual backprop loop")):
        other = best.get(name)
        torch_cell = f"{other[0]:.2f} s, test acc {other[1]:.2%} ({label})" if other else "n/a"
        lines.append(f"| 784-100-10 sigmoid, SGD 0.1, batch 100, 10k steps (TwoLayerNet + Solver) "
                     f"| {np_s:.2f} s, test acc {np_acc:.2%} ({'meets' if np_acc >= 0.94 else 'MISSES'} >= 94%) | {torch_cell} | {ratio_cell(np_s, other, TARGETS[name])} |")
    deep_s, deep_acc = deep["deep_numpy"]
    other = deep.get("deep_torch")
    torch_cell = f"{other[0]:.2f} s, test acc {other[1]:.2%} (autograd + Adam)" if other else "n/a"
    ratio = f"{deep_s / other[0]:.2f}x" if other else "n/a"
    deep_verdict = "meets" if deep_acc >= 0.98 and deep_s <= 60 else "MISSES"
    lines.append(f"| deep net 784-512-256-10 ReLU, He init, Adam 1e-3, decay 0.85/epoch, 10 epochs "
                 f"| {deep_s:.2f} s, test acc {deep_acc:.2%} ({deep_verdict} >= 98% in <= 60 s) | {torch_cell} | {ratio} |")
    lines.append(f"| one gradient of a 784-50-10 net on 100 examples (float64): central differences vs backprop "
                 f"| numerical {numerical:.2f} s, backprop {backprop * 1e3:.2f} ms | | "
                 f"backprop is {numerical / backprop:,.0f}x faster |")
    if args.submissions:
        from benchmarks import grading
        lines += grading.rows(grading.measure(args.submissions))
    table = "\n".join(lines)
    print(table)
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    (out / "bench.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
