"""The project's own files install what it needs: conda's list matches pip's, and the README's commands exist."""
import re
import subprocess
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def normalise(requirement):
    name, spec = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", requirement.strip()).groups()
    spec = re.sub(r"^\[[^\]]*\]", "", spec)  # pip extras such as psycopg[binary]: conda's package has them built in
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_deps = {normalise(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    pip_section = next((d["pip"] for d in conda if isinstance(d, dict)), [])  # what conda-forge does not package
    conda_deps = {normalise(d) for d in conda + [p for p in pip_section if not p.startswith("-")] if isinstance(d, str)} \
        - {normalise("pip"), normalise("python>=3.11")}
    assert conda_deps == pip_deps
    assert f"python{project['requires-python']}" in conda


def test_readme_names_two_commands_that_the_makefile_and_ci_run():
    readme = (ROOT / "README.md").read_text()
    head = readme[: readme.index("\n## ", readme.index("\n## ") + 1)]  # up to the second section
    assert "make demo" in head and "make test" in head
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_make_command_the_readme_mentions_is_a_makefile_target():
    mentioned = set(re.findall(r"`make ([a-z-]+)`|^make ([a-z-]+)", (ROOT / "README.md").read_text(), re.M))
    mentioned = {a or b for a, b in mentioned}
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.M))
    assert {"demo", "test", "bench", "release", "lab"} <= mentioned
    assert mentioned <= targets, f"the README names make targets the Makefile lacks: {sorted(mentioned - targets)}"


def test_the_example_submissions_that_make_demo_grades_are_in_the_repository():
    tracked = subprocess.run(["git", "ls-files", "examples/submitted"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert len([p for p in tracked if p.endswith("/02_backprop/02_backprop.ipynb")]) == 5


def test_every_file_the_packages_read_besides_python_is_declared_package_data():
    """A plain (not editable) install copies only .py files unless told: autograder/dask.yaml would go missing."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = {f"{package}/{pattern}" for package, patterns in setuptools.get("package-data", {}).items()
                for pattern in patterns}
    for package in ("course", "autograder"):
        others = {str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*")
                  if p.is_file() and p.suffix not in {".py", ".pyc"} and "__pycache__" not in p.parts}
        assert others <= declared, f"declare {sorted(others - declared)} in pyproject's [tool.setuptools.package-data]"
    assert "autograder/dask.yaml" in declared
