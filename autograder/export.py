"""Grades for a learning management system: one CSV in the import format the LMS documents.

Each student's total is auto + manual - penalty (never below 0): the autograded points from the
gradebook (so a score an instructor overrode in formgrader counts as overridden), the points of the
manually graded answers once an instructor has graded them, and the late penalty of grades.csv
(see late.py). Answers still waiting for a manual grade count 0, and the command says who has them.

Formats, and the documents they follow:

- canvas: Canvas's Gradebook CSV import, as described in the Canvas Instructor Guide "How do I
  import grades in the Gradebook?" (community.canvaslms.com): columns Student, ID, SIS User ID,
  SIS Login ID, Section, then one column per assignment. A column named just the assignment
  creates a new assignment on import; "Name (canvas id)" updates that existing one. Canvas
  matches a row to a student by ID (Canvas's own number), else SIS User ID, else SIS Login ID.
  The second row is Canvas's "Points Possible" row, as in a Canvas export. Canvas's importer
  (canvas-lms, app/models/gradebook_importer.rb) reads exactly this: "Student" and "ID" first,
  "Section" as the last student column, and a first cell "Points Possible" for the points row.
- moodle: Moodle's "Grade import" from a CSV file (docs.moodle.org/en/Grade_import): one column
  that identifies the user (matched to Moodle's email address, username, ID number or user id
  at import, "Map from" / "Map to") and one column per grade item, which is mapped to an
  existing grade item or a new one. Headers as Moodle's own grade export names them.
- csv: every part of the total, for a spreadsheet or any other LMS.

The roster (optional, UTF-8 CSV) supplies what the submissions do not: columns id (as the
submission named the student; any script), name, email, and for Canvas optionally canvas_id,
sis_user_id, sis_login_id and section.
"""
import csv
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder.ingest import safe_id
from autograder.pipeline import write_atomically

FORMATS = ("canvas", "moodle", "csv")
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Email address", "Username", "Full name"]
CSV_COLUMNS = ["student_id", "name", "email", "assignment", "auto_score", "manual_score", "penalty", "total",
               "max_total", "ungraded_manual", "status"]


@dataclass
class Grade:
    student_id: str
    auto: float
    manual: float
    penalty: float
    max_total: float
    ungraded: int  # manual answers an instructor has not graded yet
    status: str

    @property
    def total(self):
        return max(0.0, self.auto + self.manual - self.penalty)


def read_grades(out: Path, db_url=None):
    """(assignment, [Grade]) from out/grades.csv and the gradebook (default out/gradebook.db)."""
    path = out / "grades.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run `autograder grade ... --out {out}` first")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path} has no students")
    assignment = rows[0]["assignment"]
    db_url = db_url or f"sqlite:///{out / 'gradebook.db'}"
    grades = []
    with Gradebook(db_url) as gradebook:
        manual_cells = {c.name for c in gradebook.find_notebook(assignment, assignment).solution_cells}
        for row in rows:
            if row["student_id"] == "_archive" and row["status"] == "unsafe":
                continue  # ingest's row for refused archive entries of no student: nobody to grade
            auto = float(row.get("raw_score") or row["score"])  # raw_score: grades.csv before late work
            manual, ungraded = 0.0, 0
            try:
                submitted = gradebook.find_submission_notebook(assignment, assignment, safe_id(row["student_id"]))
            except MissingEntry:
                submitted = None  # never graded (missing, invalid): grades.csv is all there is
            if submitted is not None:
                auto = 0.0
                for grade in submitted.grades:
                    if grade.name not in manual_cells:
                        auto += grade.score
                    elif grade.manual_score is not None:
                        manual += grade.score
                    else:
                        ungraded += 1
            grades.append(Grade(row["student_id"], auto, manual, float(row.get("penalty") or 0),
                                float(row["max_score"]) + float(row["manual_max"]), ungraded, row["status"]))
    return assignment, grades


def read_roster(path: Path | None):
    """{student id: row} from a roster CSV with at least an id column (a byte-order mark is fine)."""
    if path is None:
        return {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        columns = [c.strip().lower() for c in reader.fieldnames or []]
        if "id" not in columns:
            raise ValueError(f"the roster {path} has columns {reader.fieldnames}; it needs at least id (and name, email)")
        reader.fieldnames = columns
        return {unicodedata.normalize("NFC", row["id"].strip()): {k: (v or "").strip() for k, v in row.items()}
                for row in reader if row.get("id")}


def points(value):
    return f"{value:.2f}".rstrip("0").rstrip(".")


def canvas_rows(assignment, grades, roster):
    header = CANVAS_COLUMNS + [assignment]
    rows = [["Points Possible", "", "", "", "", points(max((g.max_total for g in grades), default=0))]]
    for g in grades:
        person = roster.get(g.student_id, {})
        rows.append([person.get("name") or g.student_id, person.get("canvas_id", ""), person.get("sis_user_id", ""),
                     person.get("sis_login_id") or g.student_id, person.get("section", ""), points(g.total)])
    return header, rows


def moodle_rows(assignment, grades, roster):
    header = MOODLE_COLUMNS + [assignment]
    rows = []
    for g in grades:
        person = roster.get(g.student_id, {})
        rows.append([person.get("email", ""), g.student_id, person.get("name") or g.student_id, points(g.total)])
    return header, rows


def csv_rows(assignment, grades, roster):
    rows = []
    for g in grades:
        person = roster.get(g.student_id, {})
        rows.append([g.student_id, person.get("name", ""), person.get("email", ""), assignment, points(g.auto),
                     points(g.manual), points(g.penalty), points(g.total), points(g.max_total), g.ungraded, g.status])
    return CSV_COLUMNS, rows


def notes_for(fmt, grades, roster):
    """What the instructor must know or check before importing."""
    notes = []
    waiting = [g.student_id for g in grades if g.ungraded]
    if waiting:
        named = ", ".join(waiting[:10]) + (" ..." if len(waiting) > 10 else "")
        notes.append(f"{len(waiting)} students have manual answers not graded yet, counted as 0: {named} "
                     "(grade them in formgrader, then export again)")
    problems = [f"{g.student_id} ({g.status})" for g in grades if g.status != "ok"]
    if problems:
        notes.append(f"not graded normally, exported with the points they have: {', '.join(problems[:10])}")
    unknown = [g.student_id for g in grades if roster and g.student_id not in roster]
    if unknown:
        notes.append(f"not in the roster: {', '.join(unknown[:10])}")
    if fmt == "canvas" and not any(r.get("canvas_id") or r.get("sis_user_id") for r in roster.values()):
        notes.append("Canvas matches students by ID, SIS User ID or SIS Login ID: without canvas_id or sis_user_id "
                     "in the roster, the SIS Login ID column holds the submission's student id; check it is the "
                     "Canvas login. The assignment column creates a new assignment; rename it 'Name (id)' to "
                     "update an existing one.")
    if fmt == "moodle":
        notes.append("at import choose 'Map from' Username (or Email address) and 'Map to' username (or email "
                     "address), then map the assignment column to its grade item" +
                     ("" if roster else "; with no --roster the Email address column is empty"))
    return notes


def export(out: Path, fmt: str, roster=None, db_url=None, target=None):
    """Write the import file; returns (its path, notes for the instructor)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    assignment, grades = read_grades(out, db_url)
    people = read_roster(roster)
    header, rows = {"canvas": canvas_rows, "moodle": moodle_rows, "csv": csv_rows}[fmt](assignment, grades, people)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    target = Path(target) if target else out / f"{assignment}-{fmt}.csv"
    write_atomically(target, buffer.getvalue())
    return target, notes_for(fmt, grades, people)
