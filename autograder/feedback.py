"""Step 6: nbgrader's feedback page, with test cells as the student saw them, the verdict of each
test in words, the checks' diagnoses, and never a hidden test or a traceback."""
import copy
import functools
import threading
from pathlib import Path

import nbformat
import nbgrader
from jupyter_core.paths import jupyter_config_dir
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades
from traitlets.config import Config

from autograder.rebuild import is_test, nb_meta


def feedback_html(executed, tests, release, hidden_lines, resources, lock: threading.Lock):
    """The page, with the scores nbgrader's GetGrades reads from the gradebook (under `lock`)."""
    notebook = feedback_notebook(executed, tests, release, hidden_lines)
    resources = {**resources, "config_dir": jupyter_config_dir()}
    with lock:
        notebook, resources = GetGrades().preprocess(notebook, resources)
    with _EXPORTER_LOCK:
        notebook, resources = CSSHTMLHeaderPreprocessor().preprocess(notebook, resources)
        html, _ = feedback_exporter().from_notebook_node(notebook, resources=resources)
    return html


def feedback_notebook(executed, tests, release, hidden_lines):
    """The executed notebook as feedback shows it: test cells as released with their verdict in
    words, outputs without tracebacks or anything quoted from the hidden tests, no probe cell."""
    released = {nb_meta(c).get("grade_id"): c.source for c in release.cells if is_test(c)}
    notebook = copy.deepcopy(executed)
    notebook.cells = [c for c in notebook.cells if c.get("metadata", {}).get("grader") != "probe"]
    for cell in notebook.cells:
        if is_test(cell):
            grade_id = nb_meta(cell)["grade_id"]
            cell.source = released.get(grade_id, "")
            test = tests.get(grade_id, {})
            text = "PASSED" if test.get("passed") else f"FAILED: {test.get('message', '')}"
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text + "\n")]
        elif cell.cell_type == "code":
            cell.outputs = [_scrubbed(o, hidden_lines) for o in cell.outputs]
    return notebook


_EXPORTER_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def feedback_exporter():
    """nbgrader's feedback page exporter, built once: compiling its templates costs more than rendering."""
    templates = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [str(templates / "templates")]
    config.HTMLExporter.extra_template_paths = [str(templates / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
    return HTMLExporter(config=config)


def hidden_test_lines(source, release):
    """Lines of the source's test cells that the release shows nowhere: the hidden tests."""
    shown = {line.strip() for c in release.cells for line in c.source.splitlines()}
    return {line.strip() for c in source.cells if is_test(c) for line in c.source.splitlines()
            if len(line.strip()) >= 20 and line.strip() not in shown and "HIDDEN TESTS" not in line}


def _scrubbed(output, hidden_lines):
    """An output with no traceback and nothing quoted from the hidden tests."""
    if output.get("output_type") == "error":
        output["traceback"] = [f"{output.get('ename')}: {output.get('evalue')}"]
    data = output.get("data", {})
    text = "".join([str(output.get("text", "")), str(output.get("evalue", "")),
                    *(v if isinstance(v, str) else "".join(v) for v in data.values() if isinstance(v, (str, list)))])
    if any(line in text for line in hidden_lines):
        return nbformat.v4.new_output("stream", name="stdout", text="[output removed: it quoted the grader's hidden tests]\n")
    return output
