"""A class graded into a PostgreSQL gradebook by two workers: the instructor's route for a large class.

The test starts a throwaway PostgreSQL server of its own (Debian's `postgresql` package, which
`make system-deps` installs) and stops it afterwards.
"""
import csv
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.corpus import class_of
from tests.helpers import free_port

CHAPTER = "02_backprop"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(sandbox.bubblewrap() is None,
                                                   reason="bubblewrap is missing: `make system-deps` installs it (root)")]


def postgres_bin():
    """The folder holding initdb and pg_ctl: Debian keeps them off PATH, one folder per major version."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="module")
def postgres_url():
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed: `make system-deps` installs it (root with apt-get)")
    pytest.importorskip("psycopg", reason="psycopg is missing: pip install -e '.[postgres]'")
    home = Path(tempfile.mkdtemp(prefix="gradebook-pg-"))
    home.chmod(0o755)
    as_user = []
    if os.geteuid() == 0:  # the server refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            user = pwd.getpwuid(sandbox.NOBODY)
        os.chown(home, user.pw_uid, user.pw_gid)
        as_user = [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                   "--clear-groups"]
    port = free_port()
    data = home / "data"

    def run(*command):
        return subprocess.run([*as_user, *map(str, command)], cwd=home, capture_output=True, text=True, check=True,
                              timeout=120)

    run(bindir / "initdb", "-D", data, "-U", "grader", "--auth=trust", "-E", "UTF8")
    run(bindir / "pg_ctl", "-D", data, "-l", home / "server.log", "-w", "-o",
        f"-p {port} -k {home} -c listen_addresses=127.0.0.1", "start")
    try:
        run(bindir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "grader", "gradebook")
        yield f"postgresql+psycopg://grader@127.0.0.1:{port}/gradebook"
    finally:
        run(bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(home, ignore_errors=True)


def grade(submitted, out, db_url):
    return subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(submitted), "--assignment", CHAPTER,
                           "--out", str(out), "--workers", "2", "--db-url", db_url],
                          capture_output=True, text=True, timeout=600)


def scores(out):
    return {r["student_id"]: float(r["score"]) for r in csv.DictReader(open(out / "grades.csv"))}


def test_two_workers_share_a_postgresql_gradebook(tmp_path, postgres_url):
    from nbgrader.api import Gradebook

    submitted = tmp_path / "submitted"
    class_of(submitted, 6)  # correct 13, blank 0, typical mistakes 5, twice
    first = grade(submitted, tmp_path / "out", postgres_url)
    assert first.returncode == 0, first.stderr[-3000:]
    expected = {f"s{i:03d}": (13.0, 0.0, 5.0)[i % 3] for i in range(6)}
    assert scores(tmp_path / "out") == expected
    assert not (tmp_path / "out" / "gradebook.db").exists()  # nothing went to the default SQLite file

    # an instructor grading again (a new output folder, the same database) finds the gradebook as it was left
    again = grade(submitted, tmp_path / "again", postgres_url)
    assert again.returncode == 0, again.stderr[-3000:]
    assert scores(tmp_path / "again") == expected

    with Gradebook(postgres_url) as gradebook:
        assert sorted(s.id for s in gradebook.students) == sorted(expected)
        assignment = gradebook.find_assignment(CHAPTER)
        assert len(assignment.submissions) == len(expected)  # graded twice, still one submission each
        for student, score in expected.items():
            submission = gradebook.find_submission(CHAPTER, student)
            assert submission.score == score
            tests = [g for g in submission.notebooks[0].grades if g.cell_type == "code"]
            assert tests and all(g.auto_score is not None for g in tests)
