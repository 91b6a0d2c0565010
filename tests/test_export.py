"""`autograder export`: each LMS file has the columns its import documents, and every student's total is
auto + manual - penalty, with manual points counted once an instructor graded them in the gradebook."""
import csv
import subprocess
import sys

import pytest
from nbgrader.api import Gradebook

from autograder import corpus, export, ingest
from course import exercises

CHAPTER = "01_numerical_gradient"
# the documented header of each format (see autograder/export.py for the documents): fixed columns, then the assignment
DOCUMENTED = {
    "canvas": ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", CHAPTER],
    "moodle": ["Email address", "Username", "Full name", CHAPTER],
    "csv": ["student_id", "name", "email", "assignment", "auto_score", "manual_score", "penalty", "total", "max_total",
            "ungraded_manual", "status"],
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A graded class of four: right and on time, right and two days late, blank, and a missing notebook;
    then an instructor gives manual points to two of them, as formgrader would."""
    root = tmp_path_factory.mktemp("export")
    submitted, out = root / "submitted", root / "out"
    right = corpus.notebook(chapter=CHAPTER)
    for student, notebook, stamp in [("ada", right, "2026-03-01 10:00:00.000000 UTC"),
                                     ("学生 late", right, "2026-03-03 10:00:00.000000 UTC"),
                                     ("blank", corpus.release(CHAPTER), "2026-03-01 10:00:00.000000 UTC")]:
        corpus.write(submitted / student / CHAPTER / f"{CHAPTER}.ipynb", notebook)
        (submitted / student / CHAPTER / "timestamp.txt").write_text(stamp)
    (submitted / "nobody" / CHAPTER).mkdir(parents=True)
    result = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(submitted), "--assignment", CHAPTER,
                             "--out", str(out), "--workers", "2", "--no-sandbox",
                             "--deadline", "2026-03-01T23:59:00Z", "--late-policy", "per-day:10"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    share = {"ada": 1.0, "学生 late": 0.5}  # of each manual answer's points; "blank" stays ungraded
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gradebook:
        manual_cells = {c.name for c in gradebook.find_notebook(CHAPTER, CHAPTER).solution_cells}
        for student, fraction in share.items():
            notebook = gradebook.find_submission_notebook(CHAPTER, CHAPTER, ingest.safe_id(student))
            graded_cells = [g for g in notebook.grades if g.name in manual_cells]
            assert graded_cells, "chapter 1 should have a manually graded answer"
            for grade in graded_cells:
                grade.manual_score, grade.needs_manual_grade = fraction * grade.max_score, False
        gradebook.db.commit()
    with open(out / "grades.csv", encoding="utf-8") as f:
        manual_max = float(next(csv.DictReader(f))["manual_max"])
    full = sum(t.points for t in exercises.tests_of(CHAPTER))
    late_penalty = 0.2 * (full + manual_max)  # two started days at 10% of the possible points
    expected = {"ada": full + manual_max, "学生 late": max(0.0, full + 0.5 * manual_max - late_penalty), "blank": 0.0,
                "nobody": 0.0}
    roster = root / "roster.csv"
    roster.write_text("\ufeffid,name,email,canvas_id,section\nada,Ada Lovelace,ada@example.org,101,A\n"
                      "学生 late,陈 学生,chen@example.org,102,B\nblank,Bea Blank,bea@example.org,103,A\n", encoding="utf-8")
    return out, roster, expected, manual_max


def read(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


@pytest.mark.slow
@pytest.mark.parametrize("fmt", export.FORMATS)
def test_each_format_has_the_documented_columns_and_the_right_totals(graded, fmt, tmp_path):
    out, roster, expected, manual_max = graded
    target, notes = export.export(out, fmt, roster=roster, target=tmp_path / f"{fmt}.csv")
    assert any("not graded yet" in note and "blank" in note for note in notes)
    header, *rows = read(target)
    assert header == DOCUMENTED[fmt]
    if fmt == "canvas":
        assert rows[0][0] == "Points Possible" and float(rows[0][-1]) == pytest.approx(expected["ada"])
        rows = rows[1:]
        by_id = {row[1]: row for row in rows}
        assert by_id["102"][0] == "陈 学生" and by_id["102"][4] == "B"
        totals = {"ada": by_id["101"][-1], "学生 late": by_id["102"][-1], "blank": by_id["103"][-1],
                  "nobody": next(r for r in rows if r[0] == "nobody")[-1]}
    elif fmt == "moodle":
        totals = {row[1]: row[-1] for row in rows}
        assert {row[1]: row[0] for row in rows}["学生 late"] == "chen@example.org"
    else:
        totals = {row[0]: row[header.index("total")] for row in rows}
        by_id = {row[0]: dict(zip(header, row)) for row in rows}
        assert float(by_id["学生 late"]["manual_score"]) == pytest.approx(0.5 * manual_max)
        assert int(by_id["blank"]["ungraded_manual"]) >= 1 and by_id["ada"]["ungraded_manual"] == "0"
    assert {k: float(v) for k, v in totals.items()} == pytest.approx(expected)


@pytest.mark.slow
def test_the_command_writes_next_to_the_grades_and_says_who_waits_for_manual_grading(graded):
    out, roster, _, _ = graded
    result = subprocess.run([sys.executable, "-m", "autograder.cli", "export", str(out), "--format", "moodle",
                             "--roster", str(roster)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "not graded yet, counted as 0: blank" in result.stdout
    assert read(out / f"{CHAPTER}-moodle.csv")[0] == DOCUMENTED["moodle"]


@pytest.mark.slow
def test_without_a_roster_the_ids_are_used_and_the_instructor_is_told_what_to_check(graded, tmp_path):
    out, _, expected, _ = graded
    path, notes = export.export(out, "canvas", target=tmp_path / "c.csv")
    header, points_possible, *rows = read(path)
    assert {row[3]: float(row[-1]) for row in rows} == pytest.approx(expected)  # SIS Login ID = the student id
    assert any("SIS Login ID" in note for note in notes)


def test_a_roster_without_an_id_column_is_refused_with_the_columns_it_needs(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email\nAda,ada@example.org\n")
    with pytest.raises(ValueError, match="needs at least id"):
        export.read_roster(roster)


def test_an_output_folder_without_grades_says_to_grade_first(tmp_path):
    with pytest.raises(FileNotFoundError, match="autograder grade"):
        export.export(tmp_path, "csv")
