"""Grading on a real Dask cluster on 127.0.0.1: `dask scheduler` and `dask worker --nthreads 1`
processes started here from the project's environment (not an in-process cluster), compared row by
row with a local run of the same class; a worker killed mid-notebook, workers that must be refused,
a lost scheduler, and TLS with certificates made here. Every process a test starts, it stops."""
import csv
import datetime
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import corpus, sandbox
from autograder.cluster import GRADING_SETTINGS
from tests.helpers import free_port

pytest.importorskip("distributed", reason="Dask is missing: pip install -e '.[cluster]'")

CHAPTER = "02_backprop"
ROOT = Path(__file__).resolve().parent.parent
DASK = str(Path(sys.executable).parent / "dask")
SEED = 20261124  # the same probe inputs for the local run and the cluster's: grades must agree to the digit
pytestmark = [pytest.mark.slow, pytest.mark.skipif(sandbox.bubblewrap() is None,
                                                   reason="bubblewrap is missing: `make system-deps` installs it (root)")]


class Processes:
    """The dask processes a test starts, each in its own session so that stopping it stops its children."""

    def __init__(self, folder: Path):
        self.folder, self.started = folder, []

    def start(self, name, command, env=None, ready=r"$^", timeout=90):
        """Start command, logging to folder/name.log; wait for `ready` in the log. Returns (process, log text)."""
        log = self.folder / f"{name}.log"
        # started as the README says: with the grading settings, unless env says otherwise
        process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT,
                                   env={**os.environ, "DASK_CONFIG": str(GRADING_SETTINGS), **(env or {})},
                                   start_new_session=True)
        self.started.append(process)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if re.search(ready, text, re.M):
                return process, text
            assert process.poll() is None, f"{name} exited:\n{text[-3000:]}"
            time.sleep(0.1)
        raise AssertionError(f"{name} not ready within {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")

    def scheduler(self, tls=(), env=None):
        port = free_port()
        protocol = "tls" if tls else "tcp"
        self.start("scheduler", [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--protocol", protocol,
                                 "--no-dashboard", *tls], env=env, ready=r"Scheduler at:")
        return f"{protocol}://127.0.0.1:{port}"

    def worker(self, scheduler, name, env=None, tls=()):
        """A worker of one thread; returns (its process, its address)."""
        process, log = self.start(name, [DASK, "worker", scheduler, "--nthreads", "1", "--nworkers", "1", "--name", name,
                                         "--host", "127.0.0.1", "--no-dashboard", "--local-directory",
                                         str(self.folder / name), *tls], env=env, ready=r"Registered to:")
        return process, re.search(r"Start worker at:\s+(\S+)", log).group(1)

    def stop(self, process, sig=signal.SIGTERM):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass

    def stop_all(self):
        for process in self.started:
            self.stop(process)
        for process in self.started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.stop(process, signal.SIGKILL)
                process.wait()


@pytest.fixture
def processes(tmp_path):
    started = Processes(tmp_path)
    yield started
    started.stop_all()


def make_class(folder: Path, generated=4):
    """The five bundled examples (correct, mistakes, blank, two hostile) and `generated` more."""
    shutil.copytree(ROOT / "examples" / "submitted", folder)
    corpus.class_of(folder, generated)
    return folder


def grade_command(submitted, out, *options):
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text(json.dumps({"seed": SEED}))
    return [sys.executable, "-m", "autograder.cli", "grade", str(submitted), "--assignment", CHAPTER, "--out", str(out),
            *options]


def grade(submitted, out, *options):
    return subprocess.run(grade_command(submitted, out, *options), capture_output=True, text=True, timeout=900, cwd=ROOT)


def rows(out):
    """grades.csv as {student: row}, without the seconds each took."""
    return {r["student_id"]: {k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(open(out / "grades.csv"))}


def messages(out):
    """What went wrong, student by student, for an assertion's message."""
    return {student: (row["score"], row["status"], row["message"]) for student, row in rows(out).items()}


def results(out):
    return {json.loads(p.read_text())["student_id"]: json.loads(p.read_text()) for p in (out / "results").glob("*.json")}


def submissions_in_gradebook(out):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gradebook:
        return sorted(s.student.id for s in gradebook.find_assignment(CHAPTER).submissions)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The class graded on this machine, as today: what every cluster run must reproduce."""
    folder = tmp_path_factory.mktemp("local")
    submitted = make_class(folder / "submitted")
    run = grade(submitted, folder / "out", "--workers", "2")
    assert run.returncode == 0, run.stderr[-3000:]
    return submitted, rows(folder / "out")


def test_two_dask_workers_grade_the_class_exactly_as_a_local_run(tmp_path, processes, local_run):
    submitted, expected = local_run
    scheduler = processes.scheduler()
    addresses = {processes.worker(scheduler, name)[1] for name in ("w1", "w2")}
    out = tmp_path / "out"
    run = grade(submitted, out, "--scheduler", scheduler)
    assert run.returncode == 0, run.stderr[-3000:]
    assert rows(out) == expected, messages(out)
    assert {"ada_correct": "13", "ben_typical_mistakes": "5", "cy_blank": "0"}.items() <= \
        {k: v["score"] for k, v in expected.items()}.items()
    graded_by = {student: r["worker"] for student, r in results(out).items()}
    assert set(graded_by.values()) == addresses  # both workers took part, and the run's JSON says which graded whom
    assert "worker" not in next(iter(expected.values()))  # not a column of grades.csv
    assert sorted(p.stem for p in (out / "feedback").glob("*.html")) == sorted(expected)
    assert submissions_in_gradebook(out) == sorted(expected)  # the client recorded each student once
    assert "graded on" in run.stdout
    assert "note:" not in run.stderr  # the scheduler and workers run with the grading settings


def test_local_n_grades_on_a_cluster_of_its_own_with_the_grading_settings(tmp_path, local_run):
    submitted, expected = local_run
    out = tmp_path / "out"
    run = grade(submitted, out, "--scheduler", "local:2")
    assert run.returncode == 0, run.stderr[-3000:]
    assert rows(out) == expected, messages(out)
    assert len({r["worker"] for r in results(out).values()}) == 2
    assert "note:" not in run.stderr, run.stderr[-3000:]  # its scheduler and workers got autograder/dask.yaml


def test_a_cluster_without_the_grading_settings_grades_and_is_named_in_a_note(tmp_path, processes):
    plain_dask = {"DASK_CONFIG": str(tmp_path / "no settings here")}
    scheduler = processes.scheduler(env=plain_dask)
    _, plain = processes.worker(scheduler, "plain", env=plain_dask)
    submitted = tmp_path / "submitted"
    shutil.copytree(ROOT / "examples" / "submitted" / "ada_correct", submitted / "ada_correct")
    run = grade(submitted, tmp_path / "out", "--scheduler", scheduler)
    assert run.returncode == 0, run.stderr[-3000:]
    assert rows(tmp_path / "out")["ada_correct"]["score"] == "13"
    note = re.search(r"note: (.*)", run.stderr)
    assert note, run.stderr[-3000:]
    assert plain in note.group(1) and "the scheduler" in note.group(1)
    assert "distributed.worker.profile.enabled" in note.group(1) and str(GRADING_SETTINGS) in note.group(1)


def test_a_worker_killed_mid_notebook_loses_and_doubles_nothing(tmp_path, processes, local_run):
    submitted, expected = local_run
    scheduler = processes.scheduler()
    _, survivor = processes.worker(scheduler, "w1")
    victim, _ = processes.worker(scheduler, "w2")
    out = tmp_path / "out"
    client = subprocess.Popen(grade_command(submitted, out, "--scheduler", scheduler), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        # a notebook is running on the victim when its grading folder (.work/<student>) exists
        deadline = time.monotonic() + 300
        while not (running := list((tmp_path / "w2").glob("**/.work/*"))):
            assert client.poll() is None and time.monotonic() < deadline, "the victim never started a notebook"
            time.sleep(0.05)
        processes.stop(victim, signal.SIGKILL)  # the worker, its nanny and the sandbox it was running
        interrupted = running[0].name
        _, stderr = client.communicate(timeout=600)
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode == 0, stderr[-3000:]
    assert rows(out) == expected, messages(out)
    assert results(out)[interrupted]["worker"] == survivor  # rerun elsewhere
    assert submissions_in_gradebook(out) == sorted(expected)


def test_workers_that_cannot_sandbox_or_hold_another_course_are_refused_by_name(tmp_path, processes):
    scheduler = processes.scheduler()
    # no bubblewrap on this worker's PATH: as on a machine where it is not installed
    _, no_bwrap = processes.worker(scheduler, "no-bwrap", env={"PATH": str(Path(sys.executable).parent)})
    other = tmp_path / "other course"  # the same course, but its source notebook has one more byte
    shutil.copytree(ROOT / "source_notebooks", other / "source_notebooks")
    shutil.copy(ROOT / "nbgrader_config.py", other)
    source = other / "source_notebooks" / CHAPTER / f"{CHAPTER}.ipynb"
    source.write_bytes(source.read_bytes() + b"\n")
    _, stale = processes.worker(scheduler, "stale", env={"AUTOGRADER_COURSE": str(other)})
    submitted = make_class(tmp_path / "submitted", generated=0)
    run = grade(submitted, tmp_path / "out", "--scheduler", scheduler)
    assert run.returncode != 0
    assert re.search(rf"worker {re.escape(no_bwrap)} cannot sandbox", run.stderr), run.stderr[-3000:]
    assert re.search(rf"worker {re.escape(stale)} holds a different source notebook", run.stderr), run.stderr[-3000:]
    assert not (tmp_path / "out" / "results").exists()  # nothing was graded


def test_a_lost_scheduler_stops_the_client_and_a_rerun_resumes(tmp_path, processes, local_run):
    submitted, expected = local_run
    scheduler = processes.scheduler()
    processes.worker(scheduler, "w1")
    out = tmp_path / "out"
    client = subprocess.Popen(grade_command(submitted, out, "--scheduler", scheduler), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        deadline = time.monotonic() + 300
        while not list((out / "results").glob("*.json")):
            assert client.poll() is None and time.monotonic() < deadline, "nothing was graded"
            time.sleep(0.05)
        processes.stop(processes.started[0], signal.SIGKILL)
        _, stderr = client.communicate(timeout=180)
    finally:
        if client.poll() is None:
            client.kill()
    assert client.returncode != 0
    assert "lost the Dask scheduler" in stderr and "rerun the same command to resume" in stderr, stderr[-3000:]
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.json")}
    assert 0 < len(kept) < len(expected)

    scheduler = processes.scheduler()
    processes.worker(scheduler, "w2")
    run = grade(submitted, out, "--scheduler", scheduler)
    assert run.returncode == 0, run.stderr[-3000:]
    assert rows(out) == expected, messages(out)
    assert all((out / "results" / name).stat().st_mtime_ns == mtime for name, mtime in kept.items())  # not graded again


def certificates(folder: Path):
    """A CA and one certificate it signed for 127.0.0.1 (scheduler, worker and client alike): (ca, cert, key) paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def issue(subject, key, issuer, issuer_key, ca):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = (builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                               critical=False))
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "grading test CA")])
    ca = issue(ca_name, ca_key, ca_name, ca_key, ca=True)
    cert = issue(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), key, ca_name, ca_key, ca=False)
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def test_grading_over_tls_with_certificates(tmp_path, processes, local_run):
    submitted, expected = local_run
    ca, cert, key = certificates(tmp_path)
    tls = ("--tls-ca-file", str(ca), "--tls-cert", str(cert), "--tls-key", str(key))
    scheduler = processes.scheduler(tls)
    assert scheduler.startswith("tls://")
    _, worker = processes.worker(scheduler, "w1", tls=tls)
    assert worker.startswith("tls://")
    few = tmp_path / "few"
    for student in ("ada_correct", "ben_typical_mistakes"):
        shutil.copytree(submitted / student, few / student)
    out = tmp_path / "out"
    run = grade(few, out, "--scheduler", scheduler, *tls)
    assert run.returncode == 0, run.stderr[-3000:]
    assert rows(out) == {student: expected[student] for student in ("ada_correct", "ben_typical_mistakes")}, messages(out)
    assert {r["worker"] for r in results(out).values()} == {worker}


def mark_by_hand(db_url, students, comment):
    """What a grader does in formgrader: full points and a comment on every written answer."""
    from nbgrader.api import Gradebook
    with Gradebook(db_url) as gradebook:
        for student in students:
            notebook = gradebook.find_submission_notebook(CHAPTER, CHAPTER, student)
            for grade in notebook.grades:
                if grade.cell_type == "markdown":
                    grade.manual_score = grade.max_score
            for note in notebook.comments:
                note.manual_comment = comment
        gradebook.db.commit()


def page_scores(page: str):
    """The feedback page's scores: the notebook's total and each cell's, in the order shown."""
    return re.findall(r"\(Score: (-?[\d.]+) / ([\d.]+)\)", page)


def test_a_regrade_on_the_cluster_keeps_what_graders_marked_by_hand(tmp_path, processes, local_run):
    """Workers grade into private gradebooks: the written answers' marks must reach them, or the pages of a
    regrade after formgrader would drop the written points that a local regrade shows."""
    submitted, _ = local_run
    few = tmp_path / "few"
    for student in ("ada_correct", "ben_typical_mistakes"):
        shutil.copytree(submitted / student, few / student)
    scheduler = processes.scheduler()
    processes.worker(scheduler, "w1")
    pages = {}
    for where, options in (("local", ("--workers", "1")), ("cluster", ("--scheduler", scheduler))):
        out = tmp_path / where
        assert grade(few, out, *options).returncode == 0
        mark_by_hand(f"sqlite:///{out / 'gradebook.db'}", ["ada_correct", "ben_typical_mistakes"], "Clear and right.")
        run = grade(few, out, *options, "--regrade")
        assert run.returncode == 0, run.stderr[-3000:]
        pages[where] = {p.stem: p.read_text(encoding="utf-8") for p in (out / "feedback").glob("*.html")}
    assert pages["cluster"].keys() == pages["local"].keys() == {"ada_correct", "ben_typical_mistakes"}
    for student, page in pages["cluster"].items():
        assert page_scores(page) == page_scores(pages["local"][student])
        assert "Clear and right." in page
    # ada: 13 automatic points and 3 written answers of 2 points, each shown as given by hand
    assert page_scores(pages["cluster"]["ada_correct"])[0] == ("19.0", "19.0")
    assert pages["cluster"]["ada_correct"].count(">Written response</a> (Score: 2.0 / 2.0)") == 3


def test_a_postgresql_gradebook_shared_by_the_client_and_its_cluster(tmp_path, processes, local_run, postgres_url):
    """The gradebook lives in PostgreSQL: the workers' private copy is then one nbgrader fills beside it."""
    from nbgrader.api import Gradebook

    submitted, expected = local_run
    scheduler = processes.scheduler()
    for name in ("w1", "w2"):
        processes.worker(scheduler, name)
    out = tmp_path / "out"
    run = grade(submitted, out, "--scheduler", scheduler, "--db-url", postgres_url)
    assert run.returncode == 0, run.stderr[-3000:]
    assert rows(out) == expected, messages(out)
    assert not (out / "gradebook.db").exists()
    with Gradebook(postgres_url) as gradebook:
        graded = sorted(s.student.id for s in gradebook.find_assignment(CHAPTER).submissions)
        assert graded == sorted(expected)  # each student once
        ada = gradebook.find_submission(CHAPTER, "ada_correct")
        assert ada.score == float(expected["ada_correct"]["score"])
