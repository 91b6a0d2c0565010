"""release/ is generated from source_notebooks/, is up to date, and hands no student an answer."""
import ast
import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.coursedir import CourseDir
from autograder.release import build_release
from course import curriculum

ROOT = Path(__file__).resolve().parent.parent


def forbidden_names(chapter_name):
    names = set(curriculum.graded_from(chapter_name))
    for name in list(names):
        names.update(curriculum.REFERENCE_NAMES.get(name, ()))
    return names


def python_cells(notebook_path):
    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            # IPython magics are not Python
            yield "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))


def is_stub(function):
    """A function whose body (after its docstring) ends in `raise NotImplementedError()`: an exercise skeleton."""
    last = function.body[-1]
    return isinstance(last, ast.Raise) and "NotImplementedError" in ast.unparse(last)


def implementations(source, names):
    """Functions and classes named in `names` that carry code rather than an exercise stub."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name in names and not is_stub(node):
            found.append(node.name)
        if isinstance(node, ast.ClassDef) and node.name in names:
            methods = [n for n in node.body if isinstance(n, ast.FunctionDef)]
            if any(m.name != "__init__" and not is_stub(m) for m in methods) or \
                    any(m.name == "__init__" and not is_stub(m) for m in methods):
                found.append(node.name)
    return found


def release_leaks(chapter_name, folder):
    names = forbidden_names(chapter_name)
    leaks = []
    for path in folder.rglob("*.py"):
        leaks += [f"{path.relative_to(folder)}: {n}" for n in implementations(path.read_text(), names)]
    for path in folder.rglob("*.ipynb"):
        for source in python_cells(path):
            leaks += [f"{path.name}: {n}" for n in implementations(source, names)]
            if "BEGIN SOLUTION" in source or "BEGIN HIDDEN TESTS" in source:
                leaks.append(f"{path.name}: solution or hidden-test markers")
    return leaks


@pytest.mark.parametrize("chapter", curriculum.CHAPTERS, ids=lambda c: c.name)
def test_release_carries_no_reference_answer_for_this_chapter_or_later(chapter):
    folder = ROOT / "release" / chapter.name
    assert (folder / f"{chapter.name}.ipynb").exists()
    assert release_leaks(chapter.name, folder) == []


@pytest.mark.parametrize("chapter", curriculum.CHAPTERS, ids=lambda c: c.name)
def test_the_leak_search_finds_the_answers_in_the_sources(chapter):
    """The search above is not vacuous: run on the instructor's sources it finds every graded answer."""
    source = ROOT / "source_notebooks" / chapter.name
    found = {leak.split(": ")[1] for leak in release_leaks(chapter.name, source)}
    assert set(chapter.graded) <= found


def test_the_search_finds_a_reference_module_copied_into_a_release(tmp_path):
    shutil.copytree(ROOT / "release" / "02_backprop", tmp_path / "02_backprop")
    shutil.copy(ROOT / "course" / "layers.py", tmp_path / "02_backprop" / "course" / "layers.py")
    leaks = release_leaks("02_backprop", tmp_path / "02_backprop")
    assert "course/layers.py: affine_backward" in leaks


def test_a_chapter_imports_its_own_slice_of_the_course_package():
    probe = ("import course, course.gradient_check\ntry:\n import course.layers\n print('leak')\n"
             "except ModuleNotFoundError:\n print('ok', course.__file__)")
    result = subprocess.run([sys.executable, "-B", "-c", probe], cwd=ROOT / "release" / "02_backprop",
                            capture_output=True, text=True, check=True)
    assert result.stdout.startswith("ok") and "release/02_backprop/course" in result.stdout


@pytest.mark.slow
def test_release_is_in_step_with_the_sources(tmp_path):
    shutil.copytree(ROOT / "source_notebooks", tmp_path / "source_notebooks")
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    build_release(CourseDir(tmp_path))
    for chapter in curriculum.CHAPTERS:  # the test cells were regenerated from the registry: no change
        path = Path("source_notebooks") / chapter.name / f"{chapter.name}.ipynb"
        assert filecmp.cmp(tmp_path / path, ROOT / path, shallow=False), f"{path} is stale: run `make release`"
    fresh, committed = tmp_path / "release", ROOT / "release"
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*")
                             if p.is_file() and "__pycache__" not in p.parts)
    assert fresh_files == committed_files, "release/ has other files than a fresh `make release` would write"
    stale = [str(p) for p in fresh_files if not filecmp.cmp(fresh / p, committed / p, shallow=False)]
    assert stale == [], f"release/ is out of step with source_notebooks/ for {stale}: run `make release`"
