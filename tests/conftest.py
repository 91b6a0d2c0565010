import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from autograder import sandbox
from tests.helpers import free_port


@pytest.fixture
def rng():
    """A seeded generator, so every failure reproduces."""
    return np.random.default_rng(231)


def postgres_bin():
    """The folder holding initdb and pg_ctl: Debian keeps them off PATH, one folder per major version."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL server of this test module's own, and the URL of an empty database in it."""
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
