"""Run a command on a student's notebook inside bubblewrap, as an unprivileged user, with limits.

The sandbox sees: the student's own work folder (read-write), the Python environment
and system libraries (read-only), MNIST (read-only). No network, no other files, no
instructor's home, no source notebooks, no gradebook.
"""
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

NOBODY = 65534
SANDBOX_HOME = "/student"  # where the student's folder appears inside


@dataclass(frozen=True)
class Limits:
    wall_seconds: int = 300  # the whole notebook, kernel start to last output
    cell_seconds: int = 30  # one cell: nbgrader's default, kept on purpose (graded cells take seconds)
    cpu_seconds: int = 600  # RLIMIT_CPU per process (two cores)
    memory_bytes: int = 2 * 1024**3  # RLIMIT_AS per process
    processes: int = 128  # RLIMIT_NPROC for the sandbox's user
    file_bytes: int = 64 * 1024**2  # RLIMIT_FSIZE: the largest file a notebook may write
    tmp_bytes: int = 256 * 1024**2  # size of the private /tmp


@dataclass
class Outcome:
    returncode: int
    timed_out: bool
    stderr: str


def bubblewrap():
    """Path of bwrap, or None where it is missing or cannot create namespaces here."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    probe = subprocess.run([path, "--unshare-all", "--ro-bind", "/", "/", "true"], capture_output=True)
    return path if probe.returncode == 0 else None


def _python_roots():
    """Folders that hold this Python: the environment, and the interpreter it was made from."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parent.parent}
    return sorted(str(r) for r in roots)


def sandbox_command(bwrap, workdir: Path, readonly: dict, limits: Limits, env: dict, command: list):
    """The bwrap command line: workdir at SANDBOX_HOME, `readonly` {host path: sandbox path}, limits via prlimit."""
    args = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--clearenv"]
    if os.geteuid() != 0:
        # unprivileged: a user namespace; the sandbox's processes count against this user's limits
        args += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    # the private /tmp first: mounted after the binds, it would hide an environment that lives under /tmp
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    binds = {p: p for p in ("/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc/alternatives", "/etc/fonts",
                            "/etc/ld.so.cache") if os.path.exists(p)}
    binds.update({root: root for root in _python_roots()})
    binds.update({str(host): str(inside) for host, inside in readonly.items()})
    # bwrap makes the folders leading to a mount private (0700); the sandbox's user must pass through them
    parents = {str(parent) for inside in binds.values() for parent in Path(inside).parents if str(parent) != "/"}
    for parent in sorted(parents - set(binds.values()), key=lambda p: p.count("/")):
        args += ["--perms", "0755", "--dir", parent]
    for host, inside in binds.items():
        args += ["--ro-bind", host, inside]
    args += ["--bind", str(workdir), SANDBOX_HOME, "--chdir", SANDBOX_HOME]
    for key, value in env.items():
        args += ["--setenv", key, value]
    rlimits = [f"--cpu={limits.cpu_seconds}", f"--as={limits.memory_bytes}", f"--nproc={limits.processes}",
               f"--fsize={limits.file_bytes}", "--core=0"]
    drop = []
    if os.geteuid() == 0:
        # as root, a user namespace would map "nobody" back to root, whose process count no
        # limit restricts: become the real uid 65534 instead, with no capabilities left
        drop = [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    return args + ["--", *drop, shutil.which("prlimit") or "/usr/bin/prlimit", *rlimits, "--", *command]


def hand_over(workdir: Path):
    """Give the student's folder to the sandbox's user, so the notebook can write its outputs there."""
    if os.geteuid() != 0:
        return
    for path in [workdir, *workdir.rglob("*")]:
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)


def unsandboxed_command(workdir: Path, limits: Limits, command: list):
    """--no-sandbox: the same limits where they apply, and nothing else between the student and this machine."""
    rlimits = [f"--cpu={limits.cpu_seconds}", f"--as={limits.memory_bytes}", f"--fsize={limits.file_bytes}", "--core=0"]
    return [shutil.which("prlimit") or "/usr/bin/prlimit", *rlimits, "--", *command]


def run(command, workdir: Path, limits: Limits, env: dict):
    """Run to completion or to the wall-clock limit, killing the whole process group on timeout."""
    proc = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=limits.wall_seconds)
        return Outcome(proc.returncode, False, stderr.decode(errors="replace")[-4000:])
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        _, stderr = proc.communicate()
        return Outcome(proc.returncode, True, stderr.decode(errors="replace")[-4000:])
