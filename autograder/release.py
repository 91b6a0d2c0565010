"""Generate release/ from source_notebooks/.

1. Every graded test cell of the sources is regenerated from the exercise registry
   (course.exercises): its code and its points. A source whose graded cells the registry does not
   know, or that lacks a cell the registry declares, is refused.
2. nbgrader strips solutions and hidden tests.
3. Each chapter gets the part of `course` that earlier chapters taught (see course.curriculum).

Run with `make release` (or `autograder release`).
"""
import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from course import curriculum, exercises

# `python -m nbgrader` without its slowest import: jsonschema builds an IRI grammar with lark when
# rfc3987_syntax is installed (about 1 s of CPU) for a format check that nbgrader never makes.
# With the module marked absent, jsonschema skips that one check.
SKIP_IRI_GRAMMAR = "import sys; sys.modules['rfc3987_syntax'] = None"
NBGRADER = [sys.executable, "-c", f"{SKIP_IRI_GRAMMAR}; sys.argv[0] = 'nbgrader'; "
            "from nbgrader.apps.nbgraderapp import main; main()"]


class ReleaseError(ValueError):
    pass


def tool_env(**extra):
    """The environment for nbgrader's subprocesses: it runs `alembic` and kernels by name, so this
    Python's bin/ must lead PATH even when the virtual environment was not activated."""
    env = dict(os.environ, **extra)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


# ---- test cells from the registry ---------------------------------------------------------------

def graded_cell_source(test):
    """A graded test cell: the check on the notebook's own seed, then hidden, the same check on fresh seeds."""
    args, check = ", ".join(test.uses), test.check_path
    return (f"# Graded ({test.points} point{'s' if test.points != 1 else ''}): {test.behaviour}\n"
            f"report = {check}({args})\n"
            f"assert report.passed, str(report)\n"
            f"### BEGIN HIDDEN TESTS\n"
            f"report = checks.on_fresh_seeds({check}, {args})\n"
            f"assert report.passed, str(report)\n"
            f"### END HIDDEN TESTS")


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def sync_tests(notebook, chapter):
    """Write the registry's test cells (code and points) into a source notebook; refuse what does not match.

    Returns the notebook; raises ReleaseError naming every mismatch and its fix.
    """
    declared = {t.grade_id: t for t in exercises.tests_of(chapter)}
    problems, seen = [], set()
    for cell in notebook.cells:
        meta = _meta(cell)
        if not meta.get("grade") or meta.get("solution"):
            continue
        grade_id = meta.get("grade_id")
        test = declared.get(grade_id)
        if test is None:
            problems.append(f"the graded cell {grade_id!r} is not declared in course/exercises.py: declare its test "
                            f"there (points, check, probes) or make the cell ungraded")
            continue
        if grade_id in seen:
            problems.append(f"the graded cell {grade_id!r} appears twice")
        seen.add(grade_id)
        cell.source = graded_cell_source(test)
        meta["points"] = test.points
    problems += [f"the registry declares {g!r} but the notebook has no graded test cell with that grade id"
                 for g in declared if g not in seen]
    answers = {_meta(c).get("grade_id"): c.source for c in notebook.cells if _meta(c).get("solution")}
    for exercise in exercises.exercises_of(chapter):
        problem = _answer_problem(exercise, answers.get(exercise.name))
        if problem:
            problems.append(problem)
    if problems:
        raise ReleaseError(f"{chapter}: " + "; ".join(problems))
    return notebook


def _answer_problem(exercise, source):
    """Why the answer cell does not define the declared function or class with its signature, or None."""
    if source is None:
        return f"no answer cell with grade id {exercise.name!r} (the registry declares the exercise {exercise.name})"
    try:
        tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
    except SyntaxError as error:
        return f"the answer cell {exercise.name!r} is not valid Python: {error}"
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == exercise.name:
            found = f"({ast.unparse(node.args)})"
            return None if found == exercise.signature else \
                f"{exercise.name} has the signature {found} but the registry declares {exercise.signature}"
        if isinstance(node, ast.ClassDef) and node.name == exercise.name:
            init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
            args = ast.unparse(init.args).removeprefix("self, ") if init else ""
            return None if f"({args})" == exercise.signature else \
                f"{exercise.name}.__init__ takes ({args}) but the registry declares {exercise.signature}"
    return f"the answer cell {exercise.name!r} does not define {exercise.name}"


# ---- the release ----------------------------------------------------------------------------------

def generate_assignment(course_dir: Path, chapter: str, db_url: str | None = None):
    """nbgrader generate_assignment for one chapter, filling the gradebook at db_url (default: a throwaway one)."""
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [*NBGRADER, "generate_assignment", chapter, "--force", f"--CourseDirectory.root={course_dir}",
             f"--CourseDirectory.db_url={db_url or f'sqlite:///{tmp}/gradebook.db'}", "--log-level=WARN"],
            cwd=course_dir, env=tool_env(), capture_output=True, text=True,
        )
    if result.returncode != 0:
        raise ReleaseError(f"nbgrader generate_assignment {chapter} failed:\n{result.stderr[-3000:]}")


def copy_course_slice(chapter: curriculum.Chapter, target: Path, package: Path):
    """Copy the modules a chapter may ship from the `course` package at `package` into target/course/."""
    folder = target / "course"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for module in chapter.modules:
        shutil.copyfile(package / f"{module}.py", folder / f"{module}.py")


def build_release(course):
    """Regenerate the test cells of course.root/source_notebooks/ and then course.root/release/."""
    for chapter in curriculum.CHAPTERS:
        path = course.source(chapter.name)
        notebook = nbformat.read(path, as_version=4)
        synced = sync_tests(notebook, chapter.name)
        if nbformat.writes(synced) != path.read_text(encoding="utf-8"):
            nbformat.write(synced, path)
    for chapter in curriculum.CHAPTERS:
        generate_assignment(course.root, chapter.name)
        copy_course_slice(chapter, course.root / "release" / chapter.name, course.package)


def main(argv=None):
    from autograder.coursedir import CourseDir

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, help="course folder holding source_notebooks/ (default: this checkout)")
    args = parser.parse_args(argv)
    course = CourseDir.locate(args.course)
    try:
        build_release(course)
    except ReleaseError as error:
        raise SystemExit(f"release refused: {error}") from None
    print(f"release/ regenerated for {len(curriculum.CHAPTERS)} chapters in {course.root}")


if __name__ == "__main__":
    main()
