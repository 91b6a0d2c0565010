"""Late work: when a submission came in, how late that is, and the penalty a late policy gives it.

The submission time is the one nbgrader's exchange records: `nbgrader submit` writes
`timestamp.txt` (e.g. "2026-03-01 17:04:05.123456 UTC") beside the notebook and `nbgrader collect`
copies it to SUBMITTED/<student>/<assignment>/. A submission without one (a plain folder, an LMS
export) is on time, and says that its time is unknown.

A policy is `none`, `zero`, `per-day:PERCENT[,cap:PERCENT]` or `per-hour:PERCENT[,cap:PERCENT]`.
PERCENT is of the assignment's possible points (auto + manual), as Canvas's late policies count it,
so the penalty in points is fixed when the work is graded, before any manual grading; a partial day
or hour counts as a whole one; the score never goes below zero.
"""
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dateutil.parser
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

UNITS = {"per-day": timedelta(days=1), "per-hour": timedelta(hours=1)}


@dataclass(frozen=True)
class Policy:
    kind: str = "none"  # none, zero, per-day, per-hour
    percent: float = 0.0  # of the possible points, per day or hour late
    cap: float = 100.0  # the most percent a late submission can lose

    def __str__(self):
        if self.kind in ("none", "zero"):
            return self.kind
        return f"{self.kind}:{self.percent:g}" + (f",cap:{self.cap:g}" if self.cap < 100 else "")


@dataclass(frozen=True)
class Lateness:
    submitted_at: datetime | None  # UTC; None: unknown
    seconds_late: float  # 0 when on time or unknown
    percent: float  # of the possible points lost
    penalty: float  # points lost

    @property
    def late_by(self):
        """The delay in words ("1 d 3 h 5 min"), "" when on time."""
        return readable(self.seconds_late) if self.seconds_late > 0 else ""


def parse_policy(text: str) -> Policy:
    """`none`, `zero`, `per-day:10`, `per-hour:2,cap:50` -> Policy; a ValueError names the accepted forms."""
    text = (text or "none").strip().lower()
    if text in ("none", "zero"):
        return Policy(text)
    match = re.fullmatch(r"(per-day|per-hour):(\d+(?:\.\d+)?)(?:,cap:(\d+(?:\.\d+)?))?", text.replace(" ", ""))
    if not match:
        raise ValueError(f"late policy {text!r} is not one of: none, zero, per-day:PERCENT[,cap:PERCENT], "
                         "per-hour:PERCENT[,cap:PERCENT] (e.g. per-day:10,cap:50)")
    kind, percent, cap = match.group(1), float(match.group(2)), float(match.group(3) or 100)
    if not (0 <= percent <= 100 and 0 <= cap <= 100):
        raise ValueError(f"late policy {text!r}: percentages must lie between 0 and 100")
    return Policy(kind, percent, cap)


def parse_deadline(text: str) -> datetime:
    """An ISO 8601 date-time ("2026-03-01T23:59:00+01:00", "...Z"); without a zone it is UTC."""
    try:
        deadline = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"deadline {text!r} is not an ISO 8601 date-time; write e.g. 2026-03-01T23:59:00+01:00") from None
    return as_utc(deadline)


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def read_timestamp(folder: Path) -> datetime | None:
    """The submission time nbgrader's exchange left in folder/timestamp.txt (UTC), or None without one.

    A file that is there but unreadable raises a ValueError that names it.
    """
    path = folder / "timestamp.txt"
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        if re.search(r" [+-]\d{4}$", text):  # parse_utc would read "+0100" as 100 seconds
            return as_utc(dateutil.parser.parse(text))
        return as_utc(parse_utc(text))  # nbgrader's own parser, for zone names: naive UTC
    except (ValueError, OverflowError):
        raise ValueError(f"{path} does not hold a time nbgrader can read ({text[:60]!r}); fix or delete it") from None


def lateness(submitted_at: datetime | None, deadline: datetime | None, policy: Policy, possible_points: float) -> Lateness:
    """How late a submission is and what it loses, in points of possible_points.

    On time when submitted_at <= deadline (the deadline itself is on time), when either is unknown
    (None) or when the policy is none.
    """
    if submitted_at is None or deadline is None:
        return Lateness(submitted_at, 0.0, 0.0, 0.0)
    seconds_late = max(0.0, (as_utc(submitted_at) - as_utc(deadline)).total_seconds())
    if seconds_late == 0 or policy.kind == "none":
        return Lateness(submitted_at, seconds_late, 0.0, 0.0)
    if policy.kind == "zero":
        percent = 100.0
    else:
        units = math.ceil(seconds_late / UNITS[policy.kind].total_seconds())  # a partial day is a day
        percent = min(policy.cap, units * policy.percent)
    return Lateness(submitted_at, seconds_late, percent, round(possible_points * percent / 100, 6))


def readable(seconds: float) -> str:
    """1 d 3 h 5 min; under a minute: 12 s."""
    if seconds < 60:
        return f"{math.ceil(seconds)} s"
    minutes = math.ceil(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return " ".join(f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min")) if n)


def note(late: Lateness, deadline: datetime | None, policy: Policy) -> str:
    """One sentence for the student's feedback and the grade table's message."""
    if deadline is None:
        return ""
    due = f"the deadline {deadline:%Y-%m-%d %H:%M} UTC"
    if late.submitted_at is None:
        return f"Submission time unknown (no timestamp from nbgrader's exchange): counted as on time for {due}."
    when = f"Submitted {late.submitted_at:%Y-%m-%d %H:%M:%S} UTC"
    if late.seconds_late == 0:
        return f"{when}, on time for {due}."
    penalty = f"late policy {policy}: {late.percent:g}% of the possible points, {late.penalty:g} points deducted" \
        if late.penalty else f"late policy {policy}: no penalty"
    return f"{when}, {late.late_by} after {due}; {penalty}."


def save_to_gradebook(resources, lock, deadline: datetime | None, late: Lateness):
    """Record the deadline, the submission time and the penalty where nbgrader keeps them
    (Assignment.duedate, SubmittedAssignment.timestamp, SubmittedNotebook.late_submission_penalty,
    all naive UTC), so formgrader and the feedback header show the same penalty. Like nbgrader's
    AssignLatePenalties, the penalty stored there is at most the notebook's score.
    """
    meta = resources["nbgrader"]
    with lock, Gradebook(meta["db_url"]) as gradebook:
        if deadline is not None:
            gradebook.update_or_create_assignment(meta["assignment"], duedate=deadline.replace(tzinfo=None))
        submission = gradebook.find_submission(meta["assignment"], meta["student"])
        submission.timestamp = late.submitted_at.astimezone(timezone.utc).replace(tzinfo=None) if late.submitted_at else None
        notebook = gradebook.find_submission_notebook(meta["notebook"], meta["assignment"], meta["student"])
        notebook.late_submission_penalty = min(late.penalty, notebook.score) if late.penalty else None
        gradebook.db.commit()
