"""Run a command on a student's notebook inside bubblewrap, as an unprivileged user, with limits.

The sandbox sees: its own folder (a size-limited tmpfs, so a notebook can fill neither the host's
disk nor its inodes), what the grader hands in (read-only, but for the few result files the grader
reads back), the Python environment and system libraries (read-only), MNIST (read-only). No network,
no other files, no instructor's home, no source notebooks, no gradebook, no other student.
"""
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

NOBODY = 65534
SANDBOX_HOME = "/student"  # the student's folder inside: a private tmpfs
GRADER_DIR = "/grader"  # what the grader hands in; read-only but for the result files


@dataclass(frozen=True)
class Limits:
    wall_seconds: int = 300  # the whole notebook, kernel start to last output
    cell_seconds: int = 30  # one cell: nbgrader's default, kept on purpose (graded cells take seconds)
    cpu_seconds: int = 600  # RLIMIT_CPU per process (two cores)
    memory_bytes: int = 2 * 1024**3  # RLIMIT_AS per process
    processes: int = 128  # RLIMIT_NPROC for the sandbox's user
    file_bytes: int = 64 * 1024**2  # RLIMIT_FSIZE: the largest file a notebook may write
    tmp_bytes: int = 256 * 1024**2  # size of the private /tmp
    home_bytes: int = 256 * 1024**2  # size of the student's folder (also a private tmpfs)


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


def sandbox_command(bwrap, grader_dir: Path, results: list, readonly: dict, limits: Limits, env: dict, command: list):
    """The bwrap command line: grader_dir read-only at GRADER_DIR but for its files named in `results`,
    a private tmpfs at SANDBOX_HOME, `readonly` {host path: sandbox path}, limits via prlimit."""
    args = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--clearenv"]
    if os.geteuid() != 0:
        # unprivileged: a user namespace; the sandbox's processes count against this user's limits
        args += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    # the private tmpfs mounts first: mounted after the binds, /tmp would hide an environment that lives under /tmp
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp",
             "--perms", "1777", "--size", str(limits.home_bytes), "--tmpfs", SANDBOX_HOME]
    binds = {p: p for p in ("/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc/alternatives", "/etc/fonts",
                            "/etc/ld.so.cache") if os.path.exists(p)}
    binds.update({root: root for root in _python_roots()})
    binds.update({str(host): str(inside) for host, inside in readonly.items()})
    binds[str(grader_dir)] = GRADER_DIR
    # bwrap makes the folders leading to a mount private (0700); the sandbox's user must pass through them
    parents = {str(parent) for inside in binds.values() for parent in Path(inside).parents if str(parent) != "/"}
    for parent in sorted(parents - set(binds.values()), key=lambda p: p.count("/")):
        args += ["--perms", "0755", "--dir", parent]
    for host, inside in binds.items():
        args += ["--ro-bind", host, inside]
    # writable files, not a writable folder: the notebook can rewrite what it reports (the grader trusts
    # none of it) but cannot create files on the host; RLIMIT_FSIZE bounds each one
    for name in results:
        args += ["--bind", str(grader_dir / name), f"{GRADER_DIR}/{name}"]
    args += ["--chdir", SANDBOX_HOME]
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


def hand_over(paths):
    """Give the result files to the sandbox's user, so the notebook's runner can write them."""
    if os.geteuid() != 0:
        return
    for path in paths:
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)


def unsandboxed_command(workdir: Path, limits: Limits, command: list):
    """--no-sandbox: the same limits where they apply, and nothing else between the student and this machine."""
    rlimits = [f"--cpu={limits.cpu_seconds}", f"--as={limits.memory_bytes}", f"--fsize={limits.file_bytes}", "--core=0"]
    return [shutil.which("prlimit") or "/usr/bin/prlimit", *rlimits, "--", *command]


def run(command, workdir: Path, limits: Limits, env: dict, stdin: bytes = b""):
    """Run to completion or to the wall-clock limit, killing the whole process group on timeout."""
    # stderr goes to a file, not a pipe: a notebook writing to it without end fills the file up to
    # its own RLIMIT_FSIZE, where a pipe would fill this process's memory
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=stderr, start_new_session=True)
        try:
            proc.communicate(stdin, timeout=limits.wall_seconds)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            timed_out = True
        stderr.seek(max(0, stderr.seek(0, os.SEEK_END) - 4000))
        return Outcome(proc.returncode, timed_out, stderr.read().decode(errors="replace"))
