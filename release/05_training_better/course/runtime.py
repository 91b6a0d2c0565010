"""Where a notebook is running: with a student at a front end, or headless under a grader or a test.

Graded and test runs execute every cell with no one watching: training uses small
configurations there, and widgets are not built (a widget executed without a
front end can hang nbclient).
"""
import os


def headless() -> bool:
    """True under nbgrader (it sets NBGRADER_EXECUTION) or when COURSE_HEADLESS=1."""
    return bool(os.environ.get("NBGRADER_EXECUTION")) or os.environ.get("COURSE_HEADLESS") == "1"


def pick(full, quick):
    """`full` for a student's run, `quick` for a headless one: ``num_epochs = runtime.pick(10, 1)``."""
    return quick if headless() else full
