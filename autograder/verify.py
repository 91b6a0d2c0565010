"""Step 4: compare what the student's code returned on the run's fresh inputs with what the
reference implementation returns on the same inputs, outside the student's process.

The probes and tolerances come from the exercise registry (course.exercises); patching NumPy,
builtins, `assert` or the checks inside the kernel cannot change this comparison.
"""
import importlib

import numpy as np

from course import exercises
from course.checks import relative_error


def reference_namespace(chapter):
    """{graded name: reference implementation} for a chapter."""
    namespace = {}
    for exercise in exercises.exercises_of(chapter):
        module, attribute = exercise.reference.split(":")
        namespace[exercise.name] = getattr(importlib.import_module(module), attribute)
    return namespace


def verify(chapter, inputs, outputs):
    """{grade_id: (ok, message)} for every test of the chapter; a test with no output fails."""
    expected = exercises.collect(chapter, reference_namespace(chapter), inputs)
    verdicts = {}
    for test in exercises.tests_of(chapter):
        messages = []
        for index in range(len(test.probes)):
            prefix = f"{test.grade_id}.{index}."
            message = _compare(prefix, test, outputs, expected)
            if message is None:
                break
            messages.append(message)
        else:
            verdicts[test.grade_id] = (False, messages[0])
            continue
        verdicts[test.grade_id] = (True, "")
    return verdicts


def _compare(prefix, test, outputs, expected):
    """None when the student's outputs under prefix match the reference's, else what differs."""
    if prefix + "error" in outputs:
        return f"the code raised {outputs[prefix + 'error']}"
    if prefix + "error" in expected:
        raise RuntimeError(f"the reference failed its own probe {prefix}: {expected[prefix + 'error']}")
    for key, want in expected.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix):]
        if key not in outputs:
            return "it returned nothing the grader could read (did the notebook stop early?)"
        got = np.asarray(outputs[key], dtype=np.float64)
        if got.shape != want.shape:
            return f"{name} has shape {got.shape}, expected {want.shape}"
        if not np.all(np.isfinite(got)):
            return f"{name} contains NaN or inf"
        error = relative_error(got, want)  # the checks' measure: a near-zero entry cannot fail a right answer
        tolerance = test.tolerances.get(name.rsplit(".", 1)[-1], test.tolerance)
        if not error < tolerance:
            return f"{name} differs from the expected values (relative error {error:.1e})"
    return None
