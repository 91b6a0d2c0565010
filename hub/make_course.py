"""Lay out a JupyterHub class on this machine from a roster: nbgrader's exchange, the instructor's
course folder, and a home per user, each with the nbgrader settings its Jupyter server reads.

    .venv/bin/python hub/make_course.py --roster hub/roster.csv --root out/hub [--instructor instructor]

ROOT/users.json lists who may log in (read by hub/jupyterhub_config.py). Running it again keeps
every home and the gradebook, and only adds the users of a longer roster.
"""
import argparse
import csv
import json
import os
import stat
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COURSE_ID = "nn-from-scratch"

# what a student's Lab leaves out: the instructor's tools (they would only show an empty course)
STUDENT_PAGE_CONFIG = {"disabledExtensions": {"@jupyter/nbgrader:formgrader": True,
                                              "@jupyter/nbgrader:create-assignment": True}}
STUDENT_SERVER_CONFIG = {"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": False}}}
NO_NEWS = {"fetchNews": "false", "checkForUpdates": False}  # an offline class: no pop-up asking to fetch news


def read_roster(path):
    """The student ids of a roster CSV with a header `id, name, email` (any printable id, any script).

    JupyterHub lower-cases the name a user logs in with, so an id with capitals could never log in."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle, skipinitialspace=True))
    if not rows or "id" not in rows[0]:
        raise SystemExit(f"{path} has no `id` column: the roster's header is `id, name, email`")
    ids = [unicodedata.normalize("NFC", row["id"].strip()) for row in rows]
    for student in ids:
        if not student or student != student.lower() or any(ch in student for ch in "/+*") or not student.isprintable():
            raise SystemExit(f"roster id {student!r} cannot be a hub user: use lower case, printable, without / + *")
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{path} lists an id twice")
    return ids


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def course_folder(folder, exchange):
    """The instructor's nbgrader course: this repository's sources and release, its gradebook here."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("source_notebooks", "release"):
        link = folder / name
        if not link.exists():
            link.symlink_to(REPO / name, target_is_directory=True)
    write(folder / "nbgrader_config.py", f'''"""The hub's class: the repository's nbgrader settings, this folder the course."""
c = get_config()  # noqa: F821 - injected by nbgrader
load_subconfig({str(REPO / "nbgrader_config.py")!r})  # noqa: F821 - timeouts and ignores as in the repository
c.CourseDirectory.root = {str(folder)!r}
c.CourseDirectory.course_id = {COURSE_ID!r}
c.Exchange.root = {str(exchange)!r}
''')


def home(root, user, lab_settings):
    folder = root / "homes" / user
    for relative, content in lab_settings.items():
        write(folder / ".jupyter" / relative, json.dumps(content))
    return folder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roster", type=Path, required=True, help="CSV with a header `id, name, email`")
    parser.add_argument("--root", type=Path, required=True, help="where the exchange, the homes and the hub's state go")
    parser.add_argument("--instructor", default="instructor", help="the instructor's login (default: instructor)")
    args = parser.parse_args(argv)
    students = read_roster(args.roster)
    if args.instructor in students:
        raise SystemExit(f"{args.instructor!r} is both the instructor and a student")
    root = args.root.resolve()
    exchange = root / "exchange"
    # as nbgrader's docs ask: everyone writes into the exchange, nobody removes another's files
    exchange.mkdir(parents=True, exist_ok=True)
    exchange.chmod(0o777 | stat.S_ISVTX)
    lab = {"lab/user-settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings": NO_NEWS}

    teacher = home(root, args.instructor, lab)
    course = teacher / COURSE_ID
    course_folder(course, exchange)
    write(teacher / ".jupyter" / "nbgrader_config.py",
          f"load_subconfig({str(course / 'nbgrader_config.py')!r})  # noqa: F821 - the course's settings\n")

    for student in students:
        folder = home(root, student, {**lab, "labconfig/page_config.json": STUDENT_PAGE_CONFIG,
                                      "jupyter_server_config.json": STUDENT_SERVER_CONFIG})
        # nbgrader names a submission after the Unix user; every server here runs as one Unix user,
        # so each student's own settings name them (a system-user spawner makes this unnecessary)
        write(folder / ".jupyter" / "nbgrader_config.py", f'''c = get_config()  # noqa: F821
c.Exchange.root = {str(exchange)!r}
c.CourseDirectory.course_id = {COURSE_ID!r}
c.CourseDirectory.student_id = {student!r}
''')
    write(root / "users.json", json.dumps({"instructor": args.instructor, "students": students}, ensure_ascii=False))
    os.makedirs(root / "state", exist_ok=True)
    print(f"course {COURSE_ID} for {len(students)} students and {args.instructor!r} in {root}; "
          f"log in as {args.instructor} or a roster id, with the password HUB_PASSWORD (default: course)")


if __name__ == "__main__":
    main()
