"""Generate release/ from source_notebooks/: nbgrader strips solutions and hidden tests, then each
chapter gets the part of `course` that earlier chapters taught (see course.curriculum).

Run with `make release` (or `python -m autograder.release`).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from course import curriculum

ROOT = Path(__file__).resolve().parent.parent

# `python -m nbgrader` without its slowest import: jsonschema builds an IRI grammar with lark when
# rfc3987_syntax is installed (about 1 s of CPU) for a format check that nbgrader never makes.
# With the module marked absent, jsonschema skips that one check.
SKIP_IRI_GRAMMAR = "import sys; sys.modules['rfc3987_syntax'] = None"
NBGRADER = [sys.executable, "-c", f"{SKIP_IRI_GRAMMAR}; sys.argv[0] = 'nbgrader'; "
            "from nbgrader.apps.nbgraderapp import main; main()"]


def tool_env(**extra):
    """The environment for nbgrader's subprocesses: it runs `alembic` and kernels by name, so this
    Python's bin/ must lead PATH even when the virtual environment was not activated."""
    env = dict(os.environ, **extra)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def generate_assignment(course_dir: Path, chapter: str):
    """nbgrader generate_assignment for one chapter, with a throwaway gradebook."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [*NBGRADER, "generate_assignment", chapter, "--force",
             f"--CourseDirectory.root={course_dir}", f"--CourseDirectory.db_url=sqlite:///{tmp}/gradebook.db",
             "--log-level=WARN"],
            cwd=course_dir, env=tool_env(), check=True, capture_output=True, text=True,
        )


def copy_course_slice(chapter: curriculum.Chapter, target: Path):
    """Copy the modules a chapter may ship into target/course/."""
    package = target / "course"
    shutil.rmtree(package, ignore_errors=True)
    package.mkdir(parents=True)
    for module in chapter.modules:
        shutil.copyfile(ROOT / "course" / f"{module}.py", package / f"{module}.py")


def build_release(course_dir: Path = ROOT):
    """Regenerate course_dir/release/ from course_dir/source_notebooks/."""
    for chapter in curriculum.CHAPTERS:
        generate_assignment(course_dir, chapter.name)
        copy_course_slice(chapter, course_dir / "release" / chapter.name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--course-dir", type=Path, default=ROOT,
                        help="nbgrader course directory holding source_notebooks/ (default: this repository)")
    args = parser.parse_args(argv)
    build_release(args.course_dir.resolve())
    print(f"release/ regenerated for {len(curriculum.CHAPTERS)} chapters in {args.course_dir.resolve()}")


if __name__ == "__main__":
    main()
