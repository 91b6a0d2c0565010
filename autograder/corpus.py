"""Submissions built from a chapter's release notebook (correct, blank, typical mistakes, ...):
the demo's examples, the grading benchmark and the autograder's tests all start from these."""
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent

TYPICAL_MISTAKES = {  # 02_backprop: a transposed dw, a ReLU mask on dout, a softmax that overflows
    "affine_backward": "def affine_backward(dout, cache):\n    x, w, b = cache\n    dx = (dout @ w.T).reshape(x.shape)\n"
                       "    return dx, dout.T @ x.reshape(x.shape[0], -1), dout.sum(axis=0)",
    "relu_backward": "def relu_backward(dout, cache):\n    return dout * (dout > 0)",
    "softmax_loss": "def softmax_loss(scores, y):\n    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)\n"
                    "    N = len(y)\n    d = probs.copy()\n    d[np.arange(N), y] -= 1\n"
                    "    return -np.mean(np.log(probs[np.arange(N), y])), d / N",
}


def release(chapter="02_backprop"):
    return nbformat.read(ROOT / "release" / chapter / f"{chapter}.ipynb", as_version=4)


def answers(chapter="02_backprop"):
    """grade_id -> the solution's code, for every answer cell."""
    source = nbformat.read(ROOT / "source_notebooks" / chapter / f"{chapter}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}


def notebook(replace=None, extra_first=None, extra_after=None, correct=True, chapter="02_backprop"):
    """The release notebook with the right answers (or stubs), some answers replaced, extra cells added."""
    nb = release(chapter)
    right = answers(chapter)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if correct and grade_id in right:
            cell.source = right[grade_id]
        if replace and grade_id in replace:
            cell.source = replace[grade_id]
    for grade_id, code in (extra_after or {}).items():
        index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code))
    if extra_first:
        nb.cells.insert(2, nbformat.v4.new_code_cell(extra_first))
    return nb


def write(path: Path, nb):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def class_of(folder: Path, count: int, chapter="02_backprop"):
    """count students in nbgrader's layout: a third correct, a third blank, a third with the typical mistakes."""
    for i in range(count):
        nb = notebook(chapter=chapter) if i % 3 == 0 else release(chapter) if i % 3 == 1 else notebook(replace=TYPICAL_MISTAKES)
        write(folder / f"s{i:03d}" / chapter / f"{chapter}.ipynb", nb)
