"""A class on JupyterHub, from release to feedback, as its people do it in a browser.

JupyterHub with its proxy (hub/jupyterhub_config.py, the course laid out by hub/make_course.py
from hub/roster.csv) on free loopback ports; headless Chromium driven by Playwright. The instructor
releases 02_backprop; one student fetches it in the Assignments tab, answers, validates and submits
on time, a second one after the deadline; the instructor collects, grades with `autograder grade`
(sandbox and outside verification as always) into nbgrader's gradebook, grades the written answer
in formgrader and releases feedback; each student fetches and opens their own feedback page and
reaches nobody else's; `autograder export` gives the LMS the same totals. Every process the hub
started is gone at the end. Screenshots go to out/ (hub-assignments.png and hub-feedback.png are
the README's pictures).

Every server runs as this one Unix user (JupyterHub's SimpleLocalProcessSpawner), so students are
kept apart by the hub's access rules, their own homes and nbgrader's exchange, not by Unix
permissions; the README says what a real class runs instead.
"""
import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest

from autograder.ingest import safe_id
from autograder.release import tool_env
from tests.helpers import free_port
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out"
HUB = ROOT / "hub"
PROXY = HUB / "node_modules" / ".bin" / "configurable-http-proxy"
BIN = Path(sys.executable).parent
ASSIGNMENT = "02_backprop"
COURSE_ID = "nn-from-scratch"
ON_TIME, LATE = "ada", "müller.anna"  # both in hub/roster.csv; the second id is not ASCII
PASSWORD = "a test password"


def process_stat(pid):
    """(state, parent pid, start time) of a process from /proc, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1]), int(fields[19])


def descendants(pid):
    """Every living process below pid (children, their children, ...) as (pid, start time): a pid
    alone could be reused by someone else's process once ours is gone."""
    stats = {int(e.name): process_stat(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()}
    children = {}
    for child, stat in stats.items():
        if stat is not None:
            children.setdefault(stat[1], []).append(child)
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add((child, stats[child][2]))
            todo.append(child)
    return found


def alive(process):
    pid, started = process
    stat = process_stat(pid)
    return stat is not None and stat[2] == started and stat[0] != "Z"


def wait_for_http(url, process, log, seconds=60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            pytest.fail(f"{url} did not answer:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: `make system-deps` installs Debian's chromium (needs root and apt-get)")
    if not PROXY.exists():
        pytest.skip("configurable-http-proxy is not installed: `make test` (or `npm ci --prefix hub`) installs it")
    root = tmp_path_factory.mktemp("hub")
    subprocess.run([sys.executable, HUB / "make_course.py", "--roster", HUB / "roster.csv", "--root", root],
                   check=True, capture_output=True)
    port = free_port()
    env = tool_env(HUB_ROOT=str(root), HUB_PORT=str(port), HUB_API_PORT=str(free_port()),
                   HUB_PROXY_API_PORT=str(free_port()), HUB_PASSWORD=PASSWORD)
    log_path = root / "jupyterhub.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([BIN / "jupyterhub", "-f", HUB / "jupyterhub_config.py"], cwd=root, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    started = set()
    try:
        wait_for_http(f"{base}/hub/api/", process, log_path)
        from playwright.sync_api import sync_playwright
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            course = root / "homes" / "instructor" / COURSE_ID
            yield {"base": base, "browser": browser, "root": root, "course": course, "log": log_path,
                   "started": started, "process": process}
            browser.close()
    finally:
        started.update(descendants(process.pid))  # the proxy, each user's server and its kernels
        process.send_signal(signal.SIGTERM)  # the hub stops the servers and the proxy it started
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
        deadline = time.monotonic() + 30
        while any(alive(process) for process in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [process for process in started if alive(process)]
        for pid, _ in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert not left, f"processes the hub started outlived it: {left}\n{log_path.read_text()[-3000:]}"


def log_in(hub, user):
    """A browser of the user's own (cookies apart from everyone else's), on their JupyterLab."""
    context = hub["browser"].new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.goto(f"{hub['base']}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_selector(".jp-LabShell", timeout=120_000)
    hub["started"].update(descendants(hub["process"].pid))
    return page


def server(hub, user):
    return f"{hub['base']}/user/{quote(user)}"


def open_assignments(page):
    """The Assignments tab (nbgrader's assignment list), opened from the Nbgrader menu."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator("li.lm-Menu-item[data-command='nbgrader:open-assignment-list']").click()
    page.locator("#nbgrader-assignment-list").wait_for(timeout=30_000)
    return page.locator("#nbgrader-assignment-list")


def api(page, method, url, data=None):
    """A call to the user's own server as their Lab makes it: their cookie, their XSRF token."""
    xsrf = next(c["value"] for c in page.context.cookies() if c["name"] == "_xsrf" and c["path"].startswith("/user/"))
    return page.request.fetch(url, method=method, headers={"X-XSRFToken": xsrf},
                              data=json.dumps(data) if data is not None else None)


def answered(released):
    """The released notebook with every answer cell (code and written) filled in from the source."""
    source = nbformat.read(ROOT / "source_notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    answers = {c.metadata.nbgrader["grade_id"]: c.source for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in released.cells:
        cell.source = answers.get(cell.metadata.get("nbgrader", {}).get("grade_id"), cell.source)
    return released


def student_submits(hub, user, screenshot=None):
    page = log_in(hub, user)
    assignments = open_assignments(page)
    released = assignments.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT)
    released.locator("button", has_text="Fetch").click(timeout=30_000)
    fetched = assignments.locator("#fetched_assignments_list > .list_item", has_text=ASSIGNMENT)
    fetched.wait_for(timeout=30_000)
    # the answers, saved into the fetched notebook as Lab saves a notebook (the contents API)
    url = f"{server(hub, user)}/api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    model = api(page, "GET", url).json()
    notebook = answered(nbformat.from_dict(model["content"]))
    saved = api(page, "PUT", url, {"type": "notebook", "format": "json", "content": notebook})
    assert saved.ok, saved.text()
    fetched.locator(".assignment-notebooks-link").click()
    fetched.locator("button", has_text="Validate").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=120_000)
    assert "Success! Your notebook passes all the tests." in dialog.inner_text(), dialog.inner_text()
    dialog.locator("button").last.click()
    if screenshot:
        page.screenshot(path=str(OUT / screenshot))
    fetched.locator("button", has_text="Submit").first.click()
    submitted = assignments.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT)
    submitted.first.wait_for(timeout=60_000)
    return page


def instructor(hub, *command):
    """An nbgrader command the instructor runs in the course folder (a terminal in their Lab)."""
    result = subprocess.run([BIN / "nbgrader", *command], cwd=hub["course"], capture_output=True, text=True,
                            env=tool_env(HOME=str(hub["course"].parent)))
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def written_answers():
    """{grade id: points} of the chapter's answers graded by hand (in formgrader)."""
    source = nbformat.read(ROOT / "source_notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    meta = [c.metadata.get("nbgrader", {}) for c in source.cells]
    return {m["grade_id"]: float(m["points"]) for m in meta if m.get("grade") and m.get("solution")}


def hand_off(hub, step, *args):
    result = subprocess.run([sys.executable, HUB / "to_nbgrader.py", step, hub["course"], "--assignment", ASSIGNMENT,
                             *args], capture_output=True, text=True, env=tool_env())
    assert result.returncode == 0, result.stdout + result.stderr


def grade(hub, deadline, *args):
    """`autograder grade` on what `nbgrader collect` gathered, into formgrader's gradebook."""
    course = hub["course"]
    result = subprocess.run(
        [BIN / "autograder", "grade", course / "submitted", "--assignment", ASSIGNMENT, "--out", course / "autograder",
         "--workers", "2", "--db-url", f"sqlite:///{course / 'gradebook.db'}", "--course", course,
         "--deadline", deadline.isoformat(), "--late-policy", "per-hour:10", *args],
        cwd=course, capture_output=True, text=True, env=tool_env())
    assert result.returncode == 0, result.stdout + result.stderr


def grades(course):
    with open(course / "autograder" / "grades.csv", encoding="utf-8") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def own_assignments(page, hub, user):
    """What nbgrader's assignment list tells this user's Lab (its own server's API)."""
    listing = api(page, "GET", f"{server(hub, user)}/assignments?course_id={COURSE_ID}")
    assert listing.ok, listing.text()
    return listing.json()["value"]


def sees_own_feedback(hub, page, student, screenshot=None):
    """The student fetches their feedback in the Assignments tab and opens it; returns the page's text."""
    assignments = page.locator("#nbgrader-assignment-list")
    assignments.locator("#refresh_assignments_list").click()
    submitted = assignments.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first
    submitted.locator("button", has_text="Fetch Feedback").click(timeout=30_000)
    view = assignments.locator("a", has_text="view feedback")
    view.wait_for(timeout=30_000)
    view.click()  # the file browser goes to the feedback folder
    page.locator(".jp-DirListing-item", has_text=f"{ASSIGNMENT}.html").wait_for(timeout=30_000)
    mine = [s for a in own_assignments(page, hub, student) if a["status"] == "submitted" for s in a["submissions"]]
    assert [s["student_id"] for s in mine] == [student]
    folder = mine[0]["local_feedback_path"]  # relative to the home
    page.goto(f"{server(hub, student)}/files/{quote(folder)}/{ASSIGNMENT}.html")
    page.get_by_text("Written response").first.wait_for(timeout=30_000)
    if screenshot:
        page.screenshot(path=str(OUT / screenshot), clip={"x": 0, "y": 0, "width": 1300, "height": 620})
    # the very page the grader wrote for this student, and nobody else's
    fetched = hub["root"] / "homes" / student / folder / f"{ASSIGNMENT}.html"
    written = hub["course"] / "autograder" / "feedback" / f"{safe_id(student)}.html"
    assert fetched.read_bytes() == written.read_bytes()
    return page.inner_text("body")


def assert_cannot_reach_others(hub, page, viewer, other):
    """Logged in as `viewer`: another student's server, files and feedback are out of reach."""
    elsewhere = page.request.get(f"{server(hub, other)}/api/contents/{ASSIGNMENT}")
    assert elsewhere.status == 403, (elsewhere.status, elsewhere.text()[:300])
    upward = api(page, "GET", f"{server(hub, viewer)}/api/contents/..%2F{quote(other)}")
    assert upward.status in (403, 404), (upward.status, upward.text()[:300])
    listed = json.dumps(own_assignments(page, hub, viewer), ensure_ascii=False)
    assert other not in listed
    formgrader = page.request.get(f"{server(hub, viewer)}/formgrader/api/assignments")
    assert formgrader.status == 404, "a student's server offers formgrader"  # switched off in their settings


def test_a_class_from_release_to_feedback(hub):
    OUT.mkdir(exist_ok=True)
    course = hub["course"]
    instructor(hub, "release_assignment", ASSIGNMENT)

    students = {ON_TIME: student_submits(hub, ON_TIME, screenshot="hub-assignments.png")}
    deadline = datetime.now(timezone.utc)
    students[LATE] = student_submits(hub, LATE)

    instructor(hub, "collect", ASSIGNMENT)
    assert sorted(p.name for p in (course / "submitted").iterdir()) == sorted([ON_TIME, LATE])
    grade(hub, deadline)
    rows = grades(course)
    assert rows[ON_TIME]["status"] == "ok" and rows[ON_TIME]["late_by"] == "", rows[ON_TIME]
    assert float(rows[ON_TIME]["score"]) == float(rows[ON_TIME]["max_score"])
    assert rows[LATE]["late_by"] != "" and float(rows[LATE]["penalty"]) > 0, rows[LATE]

    # grading by hand, in formgrader, on the gradebook the autograder filled
    hand_off(hub, "formgrader")
    written = written_answers()
    from playwright.sync_api import expect
    page = log_in(hub, "instructor")
    formgrader = f"{server(hub, 'instructor')}/formgrader"
    page.goto(f"{formgrader}/gradebook/{ASSIGNMENT}/{ASSIGNMENT}")
    expect(page.locator("td.name")).to_have_count(2, timeout=30_000)  # both submissions listed
    notebooks = api(page, "GET", f"{formgrader}/api/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}").json()
    assert sorted(n["student"] for n in notebooks) == sorted([ON_TIME, LATE])
    for submission in notebooks:
        page.goto(f"{formgrader}/submissions/{submission['id']}")
        # the boxes take a score once formgrader has loaded this submission's grades (its own flag)
        page.wait_for_function("() => window.formgrader && formgrader.grades && formgrader.grades.loaded",
                               timeout=30_000)
        for grade_id, points in written.items():
            score = page.locator(f"input.score#{grade_id}")
            with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
                score.fill(f"{points:g}")
                score.press("Tab")  # formgrader saves a score when its box loses focus
            assert saved.value.ok
    page.close()

    # feedback: the pages again, now with the written answer's points, released through the exchange
    grade(hub, deadline, "--regrade")
    hand_off(hub, "feedback", "--out", course / "autograder")
    instructor(hub, "release_feedback", ASSIGNMENT)

    rows = grades(course)
    for student, page in students.items():
        text = sees_own_feedback(hub, page, student, screenshot="hub-feedback.png" if student == ON_TIME else None)
        # the feedback's total: the autograder's score (less any late penalty) and the written answer's points
        total = float(rows[student]["score"]) + sum(written.values())
        possible = float(rows[student]["max_score"]) + float(rows[student]["manual_max"])
        assert f"{ASSIGNMENT} (Score: {total:.1f} / {possible:.1f})" in text, (student, text[:300])
        for points in written.values():
            assert f"Written response (Score: {points:.1f} / {points:.1f})" in text
    assert "points deducted" in text  # the late student's page says why
    # and the same totals, written answers included, for the LMS
    exported = subprocess.run([BIN / "autograder", "export", course / "autograder", "--format", "csv", "--roster",
                               HUB / "roster.csv", "--db-url", f"sqlite:///{course / 'gradebook.db'}"],
                              capture_output=True, text=True, env=tool_env())
    assert exported.returncode == 0, exported.stdout + exported.stderr
    with open(course / "autograder" / f"{ASSIGNMENT}-csv.csv", encoding="utf-8") as handle:
        totals = {row["student_id"]: row for row in csv.DictReader(handle)}
    for student in (ON_TIME, LATE):
        assert float(totals[student]["total"]) == float(rows[student]["score"]) + sum(written.values()), totals[student]
    assert_cannot_reach_others(hub, students[ON_TIME], ON_TIME, LATE)
