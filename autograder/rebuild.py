"""Step 2: put the student's answers into the instructor's notebook, then let nbgrader's own
preprocessors sanitize it.

Test, locked and markdown cells always come from the source, in the source's order, whatever the
submission did to them (edited, deleted, moved, duplicated, re-labelled); the student's own extra
cells follow the cell they followed in the submission, stripped of any nbgrader metadata.
"""
import copy

import nbformat
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells, OverwriteKernelspec


def nb_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell.get("metadata"), dict) else {}


def is_test(cell):
    meta = nb_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_answer(cell):
    return bool(nb_meta(cell).get("solution"))


def rebuild(student, source):
    """The source notebook with the student's answer cells (and extra cells) put in."""
    by_id = {nb_meta(c).get("grade_id"): c for c in source.cells if nb_meta(c).get("grade_id")}
    answers, extras, anchor = {}, {}, None
    for cell in student.cells:
        grade_id = nb_meta(cell).get("grade_id")
        if grade_id in by_id:
            source_cell = by_id[grade_id]
            if is_answer(source_cell) and grade_id not in answers and cell.get("cell_type") == source_cell.cell_type:
                answers[grade_id] = cell.get("source", "")
            anchor = grade_id
        elif cell.get("cell_type") in ("code", "markdown"):
            extras.setdefault(anchor, []).append(cell)
    rebuilt = copy.deepcopy(source)
    cells = [_plain(c) for c in extras.get(None, [])]
    for cell in rebuilt.cells:
        meta = nb_meta(cell)
        if is_answer(cell):
            cell.source = answers.get(meta["grade_id"], _stub(cell))
        cells.append(cell)
        cells.extend(_plain(c) for c in extras.get(meta.get("grade_id"), []))
    rebuilt.cells = cells
    return rebuilt


def _stub(cell):
    return "# (this answer cell was missing from the submission)\n" if cell.cell_type == "code" else "(missing)"


def _plain(cell):
    """A student's extra cell, stripped of any nbgrader metadata it may claim."""
    if cell.get("cell_type") == "code":
        return nbformat.v4.new_code_cell(cell.get("source", ""))
    return nbformat.v4.new_markdown_cell(cell.get("source", ""))


def gradebook_resources(db_url, assignment, student):
    return {"nbgrader": {"db_url": db_url, "assignment": assignment, "notebook": assignment, "student": student}}


def sanitize(notebook, resources):
    for preprocessor in (ClearOutput(), DeduplicateIds(), OverwriteKernelspec(), OverwriteCells(), CheckCellMetadata()):
        notebook, resources = preprocessor.preprocess(notebook, resources)
    return notebook
