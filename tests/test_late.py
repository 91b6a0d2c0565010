"""Late work: the policy as a pure function (boundary, partial days, cap, time zones), nbgrader's
timestamp.txt, and a class submitted through nbgrader's exchange and graded with a deadline: grades.csv,
the feedback page and the gradebook agree."""
import csv
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default import ExchangeCollect, ExchangeSubmit
from traitlets.config import Config

from autograder import corpus, ingest, late
from course import exercises

DEADLINE = datetime(2026, 3, 1, 23, 59, tzinfo=timezone.utc)
PER_DAY = late.parse_policy("per-day:10,cap:50")


def lost(seconds_late, policy=PER_DAY, possible=20.0):
    return late.lateness(DEADLINE + timedelta(seconds=seconds_late), DEADLINE, policy, possible)


def test_the_deadline_itself_is_on_time_and_a_microsecond_after_is_a_day_late():
    assert lost(0).penalty == 0 and lost(0).late_by == ""
    assert lost(-3600).penalty == 0 and lost(-3600).seconds_late == 0
    just_late = late.lateness(DEADLINE + timedelta(microseconds=1), DEADLINE, PER_DAY, 20.0)
    assert just_late.percent == 10 and just_late.penalty == 2.0


@pytest.mark.parametrize("hours_late, percent", [(1, 10), (24, 10), (24.01, 20), (47, 20), (72, 30), (24 * 30, 50)])
def test_a_partial_day_counts_as_a_day_up_to_the_cap(hours_late, percent):
    late_by = lost(hours_late * 3600)
    assert late_by.percent == percent
    assert late_by.penalty == pytest.approx(20.0 * percent / 100)


def test_per_hour_counts_started_hours_and_zero_takes_everything():
    per_hour = late.parse_policy("per-hour:2")
    assert lost(90 * 60, per_hour, 50).percent == 4 and lost(90 * 60, per_hour, 50).penalty == 2.0
    assert lost(1000 * 3600, per_hour, 50).percent == 100  # no cap given: at most everything
    assert lost(1, late.parse_policy("zero"), 50).penalty == 50
    assert lost(10**6, late.parse_policy("none"), 50).penalty == 0


def test_time_zones_compare_the_same_instant():
    berlin = timezone(timedelta(hours=1))
    deadline = late.parse_deadline("2026-03-02T00:59:00+01:00")  # = DEADLINE
    assert deadline == DEADLINE and late.parse_deadline("2026-03-01T23:59:00") == DEADLINE  # no zone: UTC
    assert late.parse_deadline("2026-03-01T23:59Z") == DEADLINE
    on_time = datetime(2026, 3, 2, 0, 30, tzinfo=berlin)  # 23:30 UTC
    assert late.lateness(on_time, deadline, PER_DAY, 10).penalty == 0
    late_in_tokyo = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=9)))  # 00:00 UTC, one minute late
    assert late.lateness(late_in_tokyo, deadline, PER_DAY, 10).seconds_late == 60


def test_without_a_timestamp_a_submission_is_on_time():
    unknown = late.lateness(None, DEADLINE, late.parse_policy("zero"), 10)
    assert unknown.penalty == 0
    assert "unknown" in late.note(unknown, DEADLINE, late.parse_policy("zero"))


@pytest.mark.parametrize("text", ["per-week:10", "per-day", "per-day:150", "zero,cap:10", "per-day:10,cap:-1"])
def test_a_malformed_policy_names_the_accepted_forms(text):
    with pytest.raises(ValueError, match="per-day:PERCENT|between 0 and 100"):
        late.parse_policy(text)


def test_nbgraders_timestamp_formats_are_read_in_utc(tmp_path):
    for text, expected in [("2026-03-01 17:04:05.123456 UTC", datetime(2026, 3, 1, 17, 4, 5, 123456)),
                           ("2026-03-01 18:04:05.123456 CET", datetime(2026, 3, 1, 17, 4, 5, 123456)),
                           ("2026-03-01 18:04:05.123456 +0100", datetime(2026, 3, 1, 17, 4, 5, 123456))]:
        (tmp_path / "timestamp.txt").write_text(text)
        assert late.read_timestamp(tmp_path) == expected.replace(tzinfo=timezone.utc), text
    (tmp_path / "timestamp.txt").write_text("yesterday-ish")
    with pytest.raises(ValueError, match="timestamp.txt"):
        late.read_timestamp(tmp_path)
    (tmp_path / "timestamp.txt").unlink()
    assert late.read_timestamp(tmp_path) is None


def test_the_readable_delay():
    assert late.readable(12) == "12 s" and late.readable(61) == "2 min"
    assert late.readable(86400 + 3 * 3600 + 300) == "1 d 3 h 5 min"


# ---- a class submitted through nbgrader's exchange and graded with a deadline ------------------------

def submit_and_collect(root, chapter, students, monkeypatch):
    """Students submit with nbgrader's own exchange (in Berlin time, as a course may configure it) and the
    instructor collects: SUBMITTED as `nbgrader collect` leaves it. Returns (SUBMITTED, the moment between
    the first student's submission and the others')."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # the gradebook runs alembic
    exchange = root / "exchange"
    (exchange / "course101" / "outbound" / chapter).mkdir(parents=True)
    (exchange / "course101" / "inbound").mkdir(parents=True)

    def config(**coursedir):
        c = Config()
        c.Exchange.root, c.Exchange.cache, c.Exchange.timezone = str(exchange), str(root / "cache"), "Europe/Berlin"
        c.CourseDirectory.root, c.CourseDirectory.course_id = str(root / "course"), "course101"
        c.CourseDirectory.db_url, c.CourseDirectory.assignment_id = f"sqlite:///{root / 'collect.db'}", chapter
        for key, value in coursedir.items():
            setattr(c.CourseDirectory, key, value)
        return c

    between = None
    for student in students:
        home = root / "home" / student
        corpus.write(home / chapter / f"{chapter}.ipynb", corpus.notebook(chapter=chapter))
        c = config(student_id=student)
        c.Exchange.assignment_dir = str(home)
        ExchangeSubmit(coursedir=CourseDirectory(config=c), authenticator=Authenticator(config=c), config=c).start()
        between = between or datetime.now(timezone.utc)
    c = config()
    ExchangeCollect(coursedir=CourseDirectory(config=c), authenticator=Authenticator(config=c), config=c).start()
    return root / "course" / "submitted", between


@pytest.mark.slow
def test_a_class_from_the_exchange_shows_the_penalty_in_grades_feedback_and_gradebook(tmp_path, monkeypatch):
    chapter = "01_numerical_gradient"
    submitted, deadline = submit_and_collect(tmp_path, chapter, ["ontime", "late"], monkeypatch)
    assert (submitted / "late" / chapter / "timestamp.txt").read_text().endswith(("CET", "CEST"))
    corpus.write(submitted / "学生 plain.ipynb", corpus.notebook(chapter=chapter))  # an LMS export: no time
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "autograder.cli", "grade", str(submitted), "--assignment", chapter,
                             "--out", str(out), "--workers", "2", "--no-sandbox",
                             "--deadline", deadline.isoformat(), "--late-policy", "per-hour:5,cap:50"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out / "grades.csv", encoding="utf-8") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    full = sum(t.points for t in exercises.tests_of(chapter))
    possible = full + float(rows["ontime"]["manual_max"])
    expected_penalty = {"ontime": 0, "late": 0.05 * possible, "学生 plain": 0}  # late by a moment: one started hour
    for student, penalty in expected_penalty.items():
        row = rows[student]
        assert float(row["raw_score"]) == full, row
        assert float(row["penalty"]) == pytest.approx(penalty), row
        assert float(row["score"]) == pytest.approx(full - penalty), row
    assert rows["ontime"]["late_by"] == "" and rows["late"]["late_by"].endswith(" s")
    submitted_at = {k: datetime.fromisoformat(rows[k]["submitted_at"]) for k in ("ontime", "late")}
    assert submitted_at["ontime"] <= deadline < submitted_at["late"] < deadline + timedelta(minutes=5)
    assert rows["学生 plain"]["submitted_at"] == "" and "unknown" in rows["学生 plain"]["message"]

    page = (out / "feedback" / "late.html").read_text(encoding="utf-8")
    assert "Late work." in page and f"{rows['late']['late_by']} after the deadline" in page and "per-hour:5,cap:50" in page
    assert "Late submission penalty" in page  # nbgrader's own header, read from the gradebook
    assert "on time" in (out / "feedback" / "ontime.html").read_text(encoding="utf-8")
    assert "unknown" in (out / "feedback" / f"{ingest.safe_id('学生 plain')}.html").read_text(encoding="utf-8")

    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gradebook:
        assert gradebook.find_assignment(chapter).duedate == deadline.replace(tzinfo=None)
        for student, penalty in expected_penalty.items():
            submission = gradebook.find_submission(chapter, ingest.safe_id(student))
            assert submission.late_submission_penalty == pytest.approx(penalty)
        assert 0 < gradebook.find_submission(chapter, "late").total_seconds_late < 300
        assert gradebook.find_submission(chapter, "ontime").total_seconds_late == 0
