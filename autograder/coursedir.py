"""Where a course lives: its source notebooks, its nbgrader configuration, the `course` package
its chapters slice, and MNIST. Every step of the grader asks this object, never a module path,
so `autograder grade --course DIR` works from an installed package as well as from a checkout."""
import os
from dataclasses import dataclass
from pathlib import Path

import course as course_package
from course import data

CHECKOUT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class CourseDir:
    root: Path

    @classmethod
    def locate(cls, given=None):
        """The course at `given`, else the working folder if it is one, else the checkout this package runs from."""
        candidates = [Path(given)] if given else [Path.cwd(), CHECKOUT]
        for candidate in candidates:
            if (candidate / "source_notebooks").is_dir() and (candidate / "nbgrader_config.py").is_file():
                return cls(candidate.resolve())
        where = given or f"{Path.cwd()} or {CHECKOUT}"
        raise FileNotFoundError(f"no course found at {where}: a course folder holds source_notebooks/ and "
                                f"nbgrader_config.py; pass --course DIR")

    def source(self, chapter) -> Path:
        return self.root / "source_notebooks" / chapter / f"{chapter}.ipynb"

    def release(self, chapter) -> Path:
        return self.root / "release" / chapter / f"{chapter}.ipynb"

    @property
    def nbgrader_config(self) -> Path:
        return self.root / "nbgrader_config.py"

    @property
    def package(self) -> Path:
        """The `course` package whose modules the chapters' release folders carry."""
        local = self.root / "course"
        return local if (local / "__init__.py").is_file() else Path(os.path.dirname(course_package.__file__))

    @property
    def mnist(self) -> Path:
        local = self.root / "data" / "mnist"
        return local if local.is_dir() else data.MNIST_DIR
