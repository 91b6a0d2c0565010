"""Find each student's notebook in a submission folder or zip, without trusting any of it.

Layouts: nbgrader's SUBMITTED/<student>/<assignment>/<notebook>.ipynb, a zip of that,
or an LMS export SUBMITTED/<student>.ipynb. Submissions are only read, never changed.
"""
import hashlib
import re
import stat
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

import nbformat

MAX_NOTEBOOK_BYTES = 20 * 1024**2
MAX_ZIP_BYTES = 2 * 1024**3
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")


@dataclass
class Submission:
    student_id: str
    path: Path | None  # the notebook to grade, or None
    status: str = "ok"  # ok, or why it cannot be graded
    message: str = ""

    @cached_property
    def digest(self):
        """SHA-256 of the notebook file ("" without one): a resumed run regrades only what changed."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest() if self.path is not None else ""


class UnsafeArchive(ValueError):
    pass


def safe_extract(archive: Path, target: Path):
    """Extract a zip, skipping entries with absolute paths, `..` or symlinks; refuse one that unpacks too large.

    Returns {entry name: reason} for the skipped entries, so the student they belong to gets
    a row that says why, while everyone else is graded.
    """
    skipped = {}
    with zipfile.ZipFile(archive) as zf:
        total = sum(info.file_size for info in zf.infolist())
        if total > MAX_ZIP_BYTES:
            raise UnsafeArchive(f"{archive.name} unpacks to more than {MAX_ZIP_BYTES // 1024**3} GiB")
        for info in zf.infolist():
            name = PurePosixPath(info.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts:
                skipped[info.filename] = f"the archive entry {info.filename!r} points outside the archive; not extracted"
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                skipped[info.filename] = f"the archive entry {info.filename!r} is a symbolic link; not extracted"
                continue
            destination = target / name
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as source, open(destination, "wb") as out:
                out.write(source.read(MAX_NOTEBOOK_BYTES + 1))
    return skipped


def _pick_notebook(student_id, folder: Path, assignment: str, notebook: str):
    expected = folder / f"{notebook}.ipynb"
    if expected.is_file() and not expected.is_symlink():
        return Submission(student_id, expected)
    candidates = sorted(p for p in folder.glob("*.ipynb") if p.is_file() and not p.is_symlink()
                        and ".ipynb_checkpoints" not in p.parts)
    if len(candidates) == 1:
        return Submission(student_id, candidates[0], "ok",
                          f"the notebook was named {candidates[0].name} instead of {notebook}.ipynb; graded anyway")
    if not candidates:
        return Submission(student_id, None, "missing", f"no notebook in the submission: expected {assignment}/{notebook}.ipynb")
    names = ", ".join(p.name for p in candidates)
    return Submission(student_id, None, "ambiguous",
                      f"several notebooks ({names}) and none named {notebook}.ipynb: rename the one to grade")


def discover(root: Path, assignment: str, notebook: str):
    """One Submission per student found under root (a folder in either layout)."""
    submissions = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.is_symlink():
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            submissions.append(Submission(entry.stem, entry))
        elif entry.is_dir():
            folder = entry / assignment if (entry / assignment).is_dir() else entry
            submissions.append(_pick_notebook(entry.name, folder, assignment, notebook))
    for submission in submissions:
        if not STUDENT_ID.match(submission.student_id):
            submission.status, submission.path = "invalid", None
            submission.message = f"{submission.student_id!r} is not a usable student id (letters, digits, _.@+- only)"
    return submissions


def mark_unsafe(submissions, skipped, assignment):
    """Students with a refused archive entry get status "unsafe" (an entry <student>/<assignment>/...
    names its student even when nothing of theirs was extracted); entries of no student share one row."""
    by_id = {s.student_id: s for s in submissions}
    unclaimed = []
    for name, reason in skipped.items():
        parts = PurePosixPath(name.replace("\\", "/")).parts
        owners = [s for s in by_id if s in parts]
        if not owners and assignment in parts[1:] and ".." not in parts[: parts.index(assignment)]:
            owners = [parts[parts.index(assignment) - 1]]
        if not owners:
            unclaimed.append(reason)
        for student_id in owners:
            by_id.setdefault(student_id, Submission(student_id, None))
            by_id[student_id].status, by_id[student_id].path, by_id[student_id].message = "unsafe", None, reason
    if unclaimed:
        by_id["_archive"] = Submission("_archive", None, "unsafe", "; ".join(unclaimed))
    return sorted(by_id.values(), key=lambda s: s.student_id)


def read_notebook(path: Path):
    """The notebook as nbformat v4, or a ValueError that says what is wrong with the file."""
    size = path.stat().st_size
    if size == 0:
        raise ValueError("the notebook file is empty")
    if size > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"the notebook is {size // 1024**2} MB, more than the {MAX_NOTEBOOK_BYTES // 1024**2} MB allowed")
    try:
        notebook = nbformat.read(path, as_version=4)  # upgrades nbformat 3 notebooks
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds for a broken file
        raise ValueError(f"the file is not a readable notebook ({type(error).__name__}: {str(error)[:200]})") from None
    if not isinstance(notebook.get("cells"), list):
        raise ValueError("the file is JSON but not a notebook (it has no cells)")
    return notebook
