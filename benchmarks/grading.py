"""Grading 50 generated submissions of 02_backprop: plain `nbgrader autograde` against `autograder grade`."""
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.corpus import class_of
from autograder.release import tool_env

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = "02_backprop"


def plain_nbgrader(submitted: Path, work: Path):
    course = work / "nbgrader_course"
    (course / "source_notebooks").mkdir(parents=True)
    shutil.copytree(ROOT / "source_notebooks" / CHAPTER, course / "source_notebooks" / CHAPTER)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(submitted, course / "submitted")
    common = [f"--CourseDirectory.root={course}", f"--CourseDirectory.db_url=sqlite:///{course}/gradebook.db"]
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", CHAPTER, "--force", *common],
                   cwd=course, env=tool_env(), check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", CHAPTER, "--create", *common],
                   cwd=course, env=tool_env(), check=True, capture_output=True)
    autograde = time.perf_counter() - start
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", CHAPTER, *common],
                   cwd=course, env=tool_env(), check=True, capture_output=True)
    return autograde, time.perf_counter() - start


def course_autograder(submitted: Path, work: Path, workers: int):
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(submitted), "--assignment", CHAPTER,
                    "--out", str(work / f"out{workers}"), "--workers", str(workers)],
                   env=tool_env(), check=True, capture_output=True)
    return time.perf_counter() - start


def measure(count=50, workers=2):
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        class_of(work / "submitted", count)
        plain, plain_with_feedback = plain_nbgrader(work / "submitted", work)
        ours = course_autograder(work / "submitted", work, workers)
    return {"count": count, "workers": workers, "plain": plain, "plain_with_feedback": plain_with_feedback, "ours": ours}


def rows(result):
    n, plain, full, ours = result["count"], result["plain"], result["plain_with_feedback"], result["ours"]
    ratio = ours / plain
    return [f"| grade {n} generated submissions of 02_backprop (a third correct, blank, typical mistakes), "
            f"grades and feedback | autograder grade, sandbox on, --workers {result['workers']}: {ours:.1f} s "
            f"({ours / n:.2f} s per submission) | plain nbgrader autograde: {plain:.1f} s ({plain / n:.2f} s per "
            f"submission); autograde + generate_feedback: {full:.1f} s | {ratio:.2f}x of autograde "
            f"({'meets' if ratio <= 0.75 else 'MISSES'} <= 0.75x); {ours / full:.2f}x of autograde + feedback |"]


if __name__ == "__main__":
    print("\n".join(rows(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 50))))
