"""What the instructor reads: grades.csv, and a class report (score histogram, pass rate per test)."""
import csv
import html
import io
from pathlib import Path
from urllib.parse import quote

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from autograder import late
from autograder.pipeline import write_atomically

COLUMNS = ["student_id", "assignment", "score", "max_score", "manual_max", "status", "message", "seconds",
           "raw_score", "submitted_at", "late_by", "penalty"]  # score = max(0, raw_score - penalty): see late.py


def write_grades(out: Path, assignment: str, results):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS + sorted({k for r in results for k in r.tests}))
    writer.writeheader()
    for r in sorted(results, key=lambda r: r.student_id):
        row = {"student_id": r.student_id, "assignment": assignment, "score": f"{r.score:g}",
               "max_score": f"{r.max_score:g}", "manual_max": f"{r.manual_max:g}", "status": r.status,
               "message": r.message, "seconds": f"{r.seconds:.1f}", "raw_score": f"{r.raw_score:g}",
               "submitted_at": r.submitted_at, "late_by": late.readable(r.seconds_late) if r.seconds_late else "",
               "penalty": f"{r.penalty:g}"}
        row.update({k: f"{t['points']:g}" for k, t in r.tests.items()})
        writer.writerow(row)
    write_atomically(out / "grades.csv", buffer.getvalue())


def table(results, width=70):
    """A plain-text grade table for the terminal."""
    lines = [f"{'student':28s} {'score':>9s}  {'status':8s} message", "-" * (50 + width // 2)]
    for r in sorted(results, key=lambda r: r.student_id):
        failed = [k for k, t in r.tests.items() if not t["passed"]]
        note = r.message or (f"failed: {', '.join(failed)}" if failed else "")
        lines.append(f"{r.student_id[:28]:28s} {r.score:4g} / {r.max_score:<3g} {r.status:8s} {note[:width]}")
    return "\n".join(lines)


def pass_rates(results):
    """{test: fraction of graded students who passed it}, in the order the tests appear."""
    graded = [r for r in results if r.tests]
    names = list(dict.fromkeys(k for r in graded for k in r.tests))
    return {n: float(np.mean([r.tests[n]["passed"] for r in graded if n in r.tests])) for n in names}


def plot_report(results, assignment):
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax_hist, ax_rate = fig.subplots(1, 2)
    scores = [r.score for r in results]
    top = max([r.max_score for r in results] + [1])
    ax_hist.hist(scores, bins=np.arange(0, top + 2) - 0.5, color="#3465a4", edgecolor="white")
    ax_hist.set(xlabel=f"autograded score (of {top:g})", ylabel="students", title=f"{assignment}: scores")
    ax_hist.yaxis.set_major_locator(MaxNLocator(integer=True))
    rates = pass_rates(results)
    names = list(rates)[::-1]
    ax_rate.barh(names, [rates[n] for n in names], color=["#c00000" if rates[n] < 0.5 else "#4e9a06" for n in names])
    ax_rate.set(xlim=(0, 1), xlabel="fraction of students who passed", title="Pass rate per test")
    return fig


def write_report(out: Path, assignment: str, results):
    write_grades(out, assignment, results)
    fig = plot_report(results, assignment)
    fig.savefig(out / "report.png", dpi=90)
    rates = pass_rates(results)
    rows = "".join(f"<tr><td>{html.escape(r.student_id)}</td><td>{r.score:g} / {r.max_score:g}</td>"
                   f"<td>{html.escape(r.status)}</td><td>{html.escape(r.message)}</td>"
                   f"<td><a href='feedback/{quote(r.safe_id or r.student_id)}.html'>feedback</a></td></tr>"
                   for r in sorted(results, key=lambda r: r.student_id))
    worst = sorted(rates, key=rates.get)[:3]
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{assignment}: class report</title>
<style>body{{font-family:sans-serif;margin:2em}} td,th{{padding:2px 8px;text-align:left}}
tr:nth-child(even){{background:#f4f4f4}}</style>
</head><body><h1>{html.escape(assignment)}: class report</h1>
<p>{len(results)} submissions; mean autograded score {np.mean([r.score for r in results]) if results else 0:.2f};
hardest tests: {", ".join(f"{html.escape(n)} ({rates[n]:.0%} passed)" for n in worst)}.</p>
<img src="report.png" alt="score histogram and pass rate per test">
<table><tr><th>student</th><th>score</th><th>status</th><th>message</th><th></th></tr>{rows}</table>
</body></html>"""
    write_atomically(out / "report.html", page)
