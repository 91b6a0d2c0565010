"""Grading on Dask against grading here: 50 generated submissions of 02_backprop, `autograder grade
--workers 2` against `autograder grade --scheduler` on a `dask scheduler` with two `dask worker
--nthreads 1` processes on this machine (started before the clock starts, as an instructor's cluster
would be, with the grading settings of autograder/dask.yaml), in one run. The cluster's time includes
connecting, checking and preparing its workers.

The two are timed in turns, local first, ROUNDS times each, and the best time of each is compared: on
a machine whose speed drifts by a few percent from one minute to the next, a single pair of runs
measures the drift as much as the grader. Each turn also counts the machine's busy CPU-seconds (Linux's
/proc/stat), which drift less than the clock.

`python -m benchmarks.cluster N --dask-defaults` starts the cluster without autograder/dask.yaml, to see
what those settings are worth."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.cluster import GRADING_SETTINGS
from autograder.corpus import class_of
from autograder.release import tool_env

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "02_backprop"
DASK = str(Path(sys.executable).parent / "dask")
TARGET = 1.10  # the cluster path's time over the local one's
ROUNDS = 2
CLASS_SIZE = 5000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command, log: Path, ready: str, settings=True, timeout=120):
    """A process in its own session, once `ready` shows in its log; with Dask's settings for grading, or
    its defaults."""
    env = tool_env(DASK_CONFIG=str(GRADING_SETTINGS) if settings else str(log.parent / "no settings"))
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT, env=env,
                               start_new_session=True)
    deadline = time.monotonic() + timeout
    while not re.search(ready, log.read_text(errors="replace")):
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            raise RuntimeError(f"{command[:2]} did not start:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    return process


def busy_seconds():
    """CPU-seconds this machine's processes have run since it started: user, nice, system, irq and softirq
    (not idle, iowait, or steal, the time the hypervisor gave to other machines)."""
    user, nice, system, _idle, _iowait, irq, softirq = map(int, Path("/proc/stat").read_text().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def grade(submitted: Path, out: Path, *options):
    """(seconds, busy CPU-seconds) of one `autograder grade`."""
    start_time, start_cpu = time.perf_counter(), busy_seconds()
    subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(submitted), "--assignment", CHAPTER,
                    "--out", str(out), *options], env=tool_env(), check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start_time, busy_seconds() - start_cpu


def measure(count=50, rounds=ROUNDS, settings=True):
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        class_of(work / "submitted", count)
        local, cluster = [], []
        for turn in range(rounds):  # each run grades the whole class afresh, into an empty folder
            local.append(grade(work / "submitted", work / f"local{turn}", "--workers", "2"))
            cluster.append(on_new_cluster(work / f"cluster{turn}", lambda address, turn=turn: grade(
                work / "submitted", work / f"cluster{turn}" / "out", "--scheduler", address), settings))
        shutil.rmtree(work / "submitted")
    return {"count": count, "local": min(local)[0], "cluster": min(cluster)[0], "rounds": rounds, "settings": settings,
            "all": {"local": local, "cluster": cluster}}


def on_new_cluster(folder: Path, work, settings=True):
    """work(address) with a scheduler and two single-thread workers started for it (nothing of an earlier
    turn warm in them), stopped afterwards."""
    folder.mkdir()
    address = f"tcp://127.0.0.1:{free_port()}"
    started = [start([DASK, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
                     folder / "scheduler.log", r"Scheduler at:", settings)]
    try:
        for name in ("w1", "w2"):
            started.append(start([DASK, "worker", address, "--nthreads", "1", "--nworkers", "1", "--name", name,
                                  "--no-dashboard", "--local-directory", str(folder / name)],
                                 folder / f"{name}.log", r"Registered to:", settings))
        return work(address)
    finally:
        for process in started:
            os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            process.wait()


def rows(result):
    n, local, cluster = result["count"], result["local"], result["cluster"]
    ratio = cluster / local
    per = cluster / n  # seconds per submission of one machine like this one, with its two workers
    machines = ", ".join(f"{m} machine{'s' if m > 1 else ''}: {readable(CLASS_SIZE * per / m)}" for m in (1, 10, 50))
    turns = {side: ", ".join(f"{t:.1f} s ({cpu:.0f} CPU-s)" for t, cpu in result["all"][side])
             for side in ("local", "cluster")}
    settings = "autograder/dask.yaml" if result["settings"] else "Dask's default settings"
    return [f"| grade {n} generated submissions of 02_backprop on Dask: `dask scheduler` + two `dask worker --nthreads 1` "
            f"with {settings} on this machine vs local --workers 2, best of {result['rounds']} turns each "
            f"(local {turns['local']}; cluster {turns['cluster']}) "
            f"| --scheduler: {cluster:.1f} s ({per:.2f} s per submission) "
            f"| local --workers 2: {local:.1f} s ({local / n:.2f} s per submission) "
            f"| {ratio:.2f}x ({'meets' if ratio <= TARGET else 'MISSES'} <= {TARGET:.2f}x); {CLASS_SIZE:,} submissions "
            f"at {per:.2f} s per submission per machine: {machines} |"]


def readable(seconds):
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


if __name__ == "__main__":
    counts = [int(arg) for arg in sys.argv[1:] if arg.isdigit()]
    print("\n".join(rows(measure(counts[0] if counts else 50, settings="--dask-defaults" not in sys.argv))))
