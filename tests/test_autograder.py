"""The autograder against a corpus of correct, wrong, broken and hostile submissions of 02_backprop,
generated from the release notebook. Every case has the exact score and status it must get, the
rest of the class is graded, and the host is unharmed."""
import csv
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import cli, sandbox
from autograder.corpus import TYPICAL_MISTAKES, answers, class_of, notebook, release, write

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "02_backprop"
FULL = 13
pytestmark = [pytest.mark.slow, pytest.mark.skipif(sandbox.bubblewrap() is None,
                                                   reason="bubblewrap is missing: `make system-deps` installs it (root)")]


WRONG_BUT_PATCHED = '''
import numpy as np
import course.checks, course.compare
class _Pass:
    passed, problems = True, []
    def __str__(self):
        return "PASSED"
for _name in dir(course.checks):
    if _name.startswith("check_"):
        setattr(course.checks, _name, lambda *a, **k: _Pass())
course.compare.rel_error = lambda *a, **k: 0.0
rel_error = lambda *a, **k: 0.0
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
import builtins
builtins.abs = lambda v: 0.0

def affine_forward(x, w, b):
    return np.zeros((x.shape[0], w.shape[1])), (x, w, b)
'''

ZERO = {
    "affine_backward": "def affine_backward(dout, cache):\n    x, w, b = cache\n"
                       "    return np.zeros(x.shape), np.zeros(w.shape), np.zeros(b.shape)",
    "relu_forward": "def relu_forward(x):\n    return np.zeros(x.shape), x",
    "relu_backward": "def relu_backward(dout, cache):\n    return np.zeros(dout.shape)",
    "sigmoid_forward": "def sigmoid_forward(x):\n    return np.zeros(x.shape), x",
    "sigmoid_backward": "def sigmoid_backward(dout, cache):\n    return np.zeros(dout.shape)",
    "softmax_loss": "def softmax_loss(scores, y):\n    return 0.0, np.zeros(scores.shape)",
}

TRANSFORMER = '''
def _silence(lines):
    return ["pass\\n"]
get_ipython().input_transformers_post.append(_silence)
'''

def snooping(out, port):
    return f'''
import os, socket
for _path in ["{ROOT}/source_notebooks/{CHAPTER}/{CHAPTER}.ipynb", "{out}/gradebook.db", "/root/.bashrc",
              "{ROOT}/course/layers.py", "/grader/submission.ipynb"]:
    try:
        print("READ" "-OK", _path, open(_path).read()[:2000])
    except OSError as _error:
        print("BLOCKED", _path, type(_error).__name__)
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3)
    print("NET" "WORK-OPEN")  # split, so that only output (not this source) holds the marker
except OSError:
    print("NET" "WORK-BLOCKED")
'''


DISK_FILLER = '''
import os
_written = 0
try:
    while True:  # megabyte files into the student's folder until something stops it
        with open(f"junk{_written}", "wb") as _f:
            _f.write(b"x" * 1_000_000)
        _written += 1
except OSError as _error:
    print("DISK" "-FULL after", _written, "MB:", type(_error).__name__)
for _path in ["/grader/extra.ipynb", "/grader/course/layers.py"]:
    try:
        open(_path, "w").write("planted")
        print("GRADER" "-WRITE-OK", _path)
    except OSError:
        print("GRADER" "-WRITE-BLOCKED", _path)
'''

STDERR_FLOOD = '''
import os
for _ in range(100_000):  # 10 GB at the process's own stderr, past any Python-level capture
    try:
        os.write(2, b"x" * 100_000)
    except OSError:
        break
'''


def detached(marker):
    return f'''
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(4); open({str(marker)!r}, 'w').write('escaped')"],
                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
'''


def edited_metadata():
    nb = notebook()
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    tests[0].metadata["nbgrader"]["points"] = 100  # inflated points
    tests[1].source = "pass"  # a test gutted
    tests[2].metadata["nbgrader"]["grade_id"] = "my_own_test"  # re-labelled
    nb.cells.remove(tests[3])  # a test deleted
    nb.cells.append(nbformat.v4.new_code_cell("pass", metadata={"nbgrader": dict(tests[4].metadata["nbgrader"])}))  # duplicated
    nb.cells.reverse()  # and everything out of order
    return nb


@pytest.fixture(scope="module")
def server():
    """A TCP server on the host's loopback: the sandbox must not reach it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    threading.Thread(target=lambda: [listener.accept() for _ in range(10)], daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, server):
    base = tmp_path_factory.mktemp("class")
    submitted, out = base / "submitted", base / "out"
    marker = base / "escaped.txt"
    layout = lambda student: submitted / student / CHAPTER / f"{CHAPTER}.ipynb"  # noqa: E731
    write(layout("correct"), notebook())
    write(layout("blank"), release())
    write(layout("mistakes"), notebook(replace=TYPICAL_MISTAKES))
    write(layout("patched_checks"), notebook(replace={"affine_forward": WRONG_BUT_PATCHED, **ZERO}))
    write(layout("input_transformer"), notebook(replace=ZERO, extra_first=TRANSFORMER))
    write(layout("snooping"), notebook(extra_first=snooping(out, server)))
    write(layout("detached"), notebook(replace=ZERO, extra_first=detached(marker)))
    write(layout("uses_reference"), notebook(replace={k: f"from course.layers import {k}" for k in answers()}))
    write(layout("infinite_loop"), notebook(extra_first="while True:\n    pass"))
    write(layout("sys_exit"), notebook(extra_first="import sys\nsys.exit(3)"))
    write(layout("os_exit"), notebook(extra_after={"relu_backward": "import os\nos._exit(1)"}))
    write(layout("segfault"), notebook(extra_first="import ctypes\nctypes.string_at(0)"))
    write(layout("memory_bomb"), notebook(extra_first="hog = bytearray(16 * 1024**3)"))
    write(layout("huge_output"), notebook(extra_first="for i in range(2_000_000):\n    print('spam' * 10)"))
    write(layout("disk_filler"), notebook(extra_first=DISK_FILLER))
    write(layout("stderr_flood"), notebook(extra_first=STDERR_FLOOD))
    write(layout("edited_metadata"), edited_metadata())
    write(layout("hidden_markers"), notebook(replace={"relu_forward": answers()["relu_forward"] +
                                                      "\n# ### BEGIN HIDDEN TESTS\n# ### END HIDDEN TESTS\n"},
                                             extra_first="# ### BEGIN SOLUTION\nx = 1\n# ### END SOLUTION"))
    (submitted / "missing" / CHAPTER).mkdir(parents=True)
    write(submitted / "wrong_name" / CHAPTER / "my work.ipynb", notebook())
    (submitted / "invalid_json.ipynb").write_text("{this is not json")
    (submitted / "empty.ipynb").write_text("")
    nbformat.write(nbformat.convert(notebook(), 3), submitted / "old_format.ipynb", version=3)
    write(submitted / "flat_correct.ipynb", notebook())
    before = {p: p.stat().st_mtime_ns for p in submitted.rglob("*") if p.is_file()}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(submitted), "--assignment", CHAPTER,
                             "--out", str(out), "--workers", "2", "--cell-timeout", "5", "--timeout", "120"],
                            capture_output=True, text=True, timeout=1200)
    seconds = time.perf_counter() - start
    time.sleep(5)  # give a detached process time to try its write
    after = {p: p.stat().st_mtime_ns for p in submitted.rglob("*") if p.is_file()}
    return {"out": out, "result": result, "seconds": seconds, "marker": marker, "unchanged": before == after,
            "rows": {row["student_id"]: row for row in csv.DictReader(open(out / "grades.csv"))}}


EXPECTED = {  # student: (status, score)
    "correct": ("ok", FULL), "flat_correct": ("ok", FULL), "blank": ("ok", 0), "mistakes": ("ok", 5),
    "patched_checks": ("ok", 0), "input_transformer": ("ok", 0), "snooping": ("ok", FULL), "detached": ("ok", 1),
    "uses_reference": ("ok", 0), "infinite_loop": ("ok", FULL), "sys_exit": ("ok", FULL), "os_exit": ("error", 0),
    "segfault": ("error", 0), "memory_bomb": ("ok", FULL), "huge_output": ("ok", FULL), "edited_metadata": ("ok", FULL),
    "disk_filler": ("ok", FULL), "stderr_flood": ("ok", FULL),
    "hidden_markers": ("ok", FULL), "missing": ("missing", 0), "wrong_name": ("ok", FULL),
    "invalid_json": ("invalid", 0), "empty": ("invalid", 0), "old_format": ("ok", FULL),
}


def test_the_whole_class_is_graded_and_summarised(graded):
    assert graded["result"].returncode == 0, graded["result"].stderr[-3000:]
    assert set(graded["rows"]) == set(EXPECTED)
    assert f"graded {len(EXPECTED)} submissions" in graded["result"].stdout


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_gets_its_exact_grade_and_status(graded, student):
    row = graded["rows"][student]
    status, score = EXPECTED[student]
    assert (row["status"], float(row["score"])) == (status, score), row["message"]
    assert float(row["max_score"]) == FULL
    if status != "ok":
        assert row["message"], "a submission that could not be graded says why"


def feedback(graded, student):
    return (graded["out"] / "feedback" / f"{student}.html").read_text()


def test_in_kernel_cheats_are_stopped_by_verification_outside(graded):
    # the patched helpers made every in-kernel test pass; only the outside comparison failed them
    row = graded["rows"]["patched_checks"]
    assert "verification on fresh inputs" in feedback(graded, "patched_checks")
    assert float(row["test_affine_backward"]) == 0


def test_the_sandbox_hides_files_and_network(graded):
    page = feedback(graded, "snooping")
    assert "NETWORK-BLOCKED" in page and "NETWORK-OPEN" not in page
    assert page.count("BLOCKED ") >= 5 and "READ-OK" not in page
    assert "BEGIN HIDDEN TESTS" not in page


def test_a_notebook_fills_only_its_own_small_disk(graded):
    page = feedback(graded, "disk_filler")
    full = re.search(r"DISK-FULL after (\d+) MB", page)
    assert full and int(full.group(1)) <= sandbox.Limits().home_bytes // 1_000_000
    assert page.count("GRADER-WRITE-BLOCKED") == 2 and "GRADER-WRITE-OK" not in page


def test_a_detached_process_dies_with_the_sandbox(graded):
    assert not graded["marker"].exists()


def test_submissions_are_never_modified(graded):
    assert graded["unchanged"]


def test_feedback_shows_diagnoses_but_no_hidden_tests_or_tracebacks(graded):
    page = feedback(graded, "mistakes")
    assert "is transposed" in page and "taken from the wrong tensor" in page and "subtract each row" in page
    source = nbformat.read(ROOT / "source_notebooks" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    hidden = [line.strip() for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")
              for line in c.source.split("### BEGIN HIDDEN TESTS")[-1].splitlines() if len(line.strip()) > 25]
    assert hidden and not any(line in page for line in hidden)
    assert "Traceback (most recent call last)" not in page
    # the sandbox's matplotlib has a writable cache (a private copy of the shared font cache): no warning
    assert "Matplotlib created a temporary cache" not in feedback(graded, "correct")


def test_huge_output_is_cut(graded):
    assert len(feedback(graded, "huge_output")) < 3_000_000


def test_class_report_has_histogram_pass_rates_and_a_page(graded):
    out = graded["out"]
    assert (out / "report.png").stat().st_size > 10_000
    page = (out / "report.html").read_text()
    assert "hardest tests" in page and "feedback/correct.html" in page


def scores(out):
    return {r["student_id"]: (r["score"], r["status"]) for r in csv.DictReader(open(out / "grades.csv"))}


def test_killed_midway_and_run_again_resumes_and_regrading_gives_identical_grades(tmp_path):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    class_of(submitted, 6)
    command = [sys.executable, "-m", "autograder.cli", "grade", str(submitted), "--assignment", CHAPTER,
               "--out", str(out), "--workers", "2"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not (out / "results").exists() or not any((out / "results").glob("*.json")):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    finished_before = {p.name for p in (out / "results").glob("*.json")}
    assert 0 < len(finished_before) < 6
    subprocess.run(command, capture_output=True, text=True, timeout=600, check=True)
    resumed = scores(out)
    subprocess.run(command + ["--regrade"], capture_output=True, text=True, timeout=600, check=True)
    assert scores(out) == resumed  # grading again from scratch gives identical grades
    assert len(resumed) == 6
    assert {s: v for s, v in resumed.items()} == {f"s{i:03d}": (("13", "ok") if i % 3 == 0 else ("0", "ok") if i % 3 == 1
                                                                else ("5", "ok")) for i in range(6)}


def test_a_zip_with_escaping_paths_and_symlinks_grades_the_rest(tmp_path):
    archive = tmp_path / "class.zip"
    good = nbformat.writes(notebook())
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"submitted/alice/{CHAPTER}/{CHAPTER}.ipynb", good)
        zf.writestr("../escape.ipynb", good)
        link = zipfile.ZipInfo(f"submitted/bob/{CHAPTER}/{CHAPTER}.ipynb")
        link.external_attr = 0o120777 << 16  # a symbolic link
        zf.writestr(link, "/etc/passwd")
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(archive), "--assignment", CHAPTER,
                    "--out", str(out), "--workers", "1"], capture_output=True, text=True, timeout=600, check=True)
    rows = scores(out)
    assert rows["alice"] == ("13", "ok")
    assert rows["bob"][1] == "unsafe" and rows["_archive"][1] == "unsafe"
    assert not (tmp_path / "escape.ipynb").exists()


def test_without_a_sandbox_grading_is_refused_unless_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "bubblewrap", lambda: None)
    with pytest.raises(SystemExit, match="--no-sandbox"):
        cli.main(["grade", str(tmp_path), "--assignment", CHAPTER, "--out", str(tmp_path / "out")])


def test_a_fork_bomb_is_contained_and_the_next_student_is_graded(tmp_path):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    write(submitted / "bomber" / CHAPTER / f"{CHAPTER}.ipynb",
          notebook(extra_first="import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"))
    write(submitted / "zz_after" / CHAPTER / f"{CHAPTER}.ipynb", notebook())
    subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(submitted), "--assignment", CHAPTER,
                    "--out", str(out), "--workers", "1", "--cell-timeout", "5", "--timeout", "90"],
                   capture_output=True, text=True, timeout=900, check=True)
    rows = scores(out)
    assert rows["zz_after"] == ("13", "ok")
    assert "bomber" in rows
    leftover = subprocess.run(["ps", "-u", str(sandbox.NOBODY), "-o", "pid="], capture_output=True, text=True).stdout
    assert leftover.strip() == ""
