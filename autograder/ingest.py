"""Find each student's notebook in a submission folder or zip, without trusting any of it.

Layouts: nbgrader's SUBMITTED/<student>/<assignment>/<notebook>.ipynb, a zip of that,
or an LMS export SUBMITTED/<student>.ipynb. Submissions are only read, never changed.
"""
import hashlib
import stat
import unicodedata
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath

import nbformat

MAX_NOTEBOOK_BYTES = 20 * 1024**2
MAX_ZIP_BYTES = 2 * 1024**3
MAX_ID_LENGTH = 100
SAFE_PUNCTUATION = "_.@+-"


def id_problem(student_id):
    """Why a student id cannot be used as given, or None. Any printable id in any script is fine
    (`müller.anna`, `学生 01`, `Zhang San`): only what could name another path is refused."""
    if not student_id.strip():
        return "the student id is empty"
    if "/" in student_id or "\\" in student_id:
        return f"the student id {student_id!r} contains a path separator"
    if ".." in student_id:
        return f"the student id {student_id!r} contains '..'"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for ch in student_id):
        return f"the student id {student_id!r} contains a control or unprintable character"
    if len(student_id) > MAX_ID_LENGTH:
        return f"the student id is longer than {MAX_ID_LENGTH} characters"
    return None


def safe_id(student_id):
    """The form of an id in file names and the gradebook: the id itself when it is letters (any
    script), digits and _.@+- only; otherwise those characters with '_' for the rest, followed
    by 8 hex digits of the id's SHA-256, so no two ids share a safe form."""
    if all(ch.isalnum() or ch in SAFE_PUNCTUATION for ch in student_id) and not student_id.startswith((".", "-")) \
            and student_id and len(student_id) <= MAX_ID_LENGTH:
        return student_id
    kept = "".join(ch if ch.isalnum() or ch in SAFE_PUNCTUATION else "_" for ch in student_id[:60]).lstrip(".-")
    return f"{kept}~{hashlib.sha256(student_id.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


@dataclass
class Submission:
    student_id: str  # as given (in Unicode's composed form)
    path: Path | None  # the notebook to grade, or None
    status: str = "ok"  # ok, or why it cannot be graded
    message: str = ""

    def __post_init__(self):
        self.student_id = unicodedata.normalize("NFC", self.student_id)

    @property
    def safe_id(self):
        return safe_id(self.student_id)

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
    return check_ids(submissions)


def check_ids(submissions):
    """Refuse, each with its own row and message, ids that could name another path and ids that
    would share a file with another student (the same letters on a case-insensitive disk)."""
    for submission in submissions:
        problem = id_problem(submission.student_id)
        if problem:
            submission.status, submission.path = "invalid", None
            submission.message = f"{problem}: rename the submission's folder or file"
    by_file = {}
    for submission in submissions:
        by_file.setdefault(submission.safe_id.casefold(), []).append(submission)
    for clash in (group for group in by_file.values() if len(group) > 1):
        names = " and ".join(repr(s.student_id) for s in clash)
        for submission in clash:
            submission.status, submission.path = "invalid", None
            submission.message = f"the ids {names} differ only in case or form and would share one file: rename one"
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
