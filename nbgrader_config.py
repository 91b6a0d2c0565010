"""nbgrader configuration: the repository root is the course directory."""
c = get_config()  # noqa: F821 - injected by nbgrader

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "source_notebooks"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.course_id = "nn-from-scratch"
# Every graded cell of this course finishes in a few seconds headless (training uses
# small configurations there); 30 s per cell is chosen, not inherited, to stop loops.
c.Execute.timeout = 30
c.Execute.interrupt_on_timeout = True
# The course's own folders are copied with each chapter by `make release`, not by nbgrader.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
