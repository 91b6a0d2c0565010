"""`autograder similarity`: a copy with renamed variables and reordered functions is flagged; an
independently written correct answer and a blank notebook are not; the release's code matches nobody."""
import csv
import subprocess
import sys

import nbformat
import pytest

from autograder import corpus, ingest, similarity

CHAPTER = "02_backprop"

# one student's correct answers, with a helper of their own in the first cell
ORIGINAL = {
    "affine_forward": "def rows(x):\n    return x.reshape(x.shape[0], -1)\n\n\n"
                      "def affine_forward(x, w, b):\n    out = rows(x) @ w + b\n    return out, (x, w, b)\n",
    "affine_backward": "def affine_backward(dout, cache):\n    x, w, b = cache\n    dx = (dout @ w.T).reshape(x.shape)\n"
                       "    dw = rows(x).T @ dout\n    db = dout.sum(axis=0)\n    return dx, dw, db\n",
    "relu_forward": "def relu_forward(x):\n    return np.maximum(x, 0), x\n",
    "relu_backward": "def relu_backward(dout, cache):\n    return dout * (cache > 0)\n",
    "sigmoid_forward": "def sigmoid_forward(x):\n    out = 0.5 * (1 + np.tanh(0.5 * x))\n    return out, out\n",
    "sigmoid_backward": "def sigmoid_backward(dout, cache):\n    out = cache\n    return dout * out * (1 - out)\n",
    "softmax_loss": "def softmax_loss(scores, y):\n    N = scores.shape[0]\n"
                    "    shifted = scores - scores.max(axis=1, keepdims=True)\n"
                    "    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))\n"
                    "    loss = -log_probs[np.arange(N), y].mean()\n    dscores = np.exp(log_probs)\n"
                    "    dscores[np.arange(N), y] -= 1\n    return float(loss), dscores / N\n",
}

# the same, every name changed, the helper moved below its caller, comments added
COPIED = {
    "affine_forward": "def affine_forward(inputs, weights, bias):\n    # my own affine layer\n"
                      "    result = as_matrix(inputs) @ weights + bias\n    return result, (inputs, weights, bias)\n\n\n"
                      "def as_matrix(arr):\n    return arr.reshape(arr.shape[0], -1)\n",
    "affine_backward": "def affine_backward(upstream, saved):\n    inputs, weights, bias = saved\n"
                       "    d_in = (upstream @ weights.T).reshape(inputs.shape)\n"
                       "    d_weights = as_matrix(inputs).T @ upstream\n    d_bias = upstream.sum(axis=0)\n"
                       "    return d_in, d_weights, d_bias\n",
    "relu_forward": "def relu_forward(z):\n    return np.maximum(z, 0), z\n",
    "relu_backward": "def relu_backward(grad, z):\n    return grad * (z > 0)\n",
    "sigmoid_forward": "def sigmoid_forward(z):\n    s = 0.5 * (1 + np.tanh(0.5 * z))\n    return s, s\n",
    "sigmoid_backward": "def sigmoid_backward(grad, saved):\n    s = saved\n    return grad * s * (1 - s)\n",
    "softmax_loss": "def softmax_loss(logits, labels):\n    n = logits.shape[0]\n"
                    "    centred = logits - logits.max(axis=1, keepdims=True)\n"
                    "    logp = centred - np.log(np.exp(centred).sum(axis=1, keepdims=True))\n"
                    "    total = -logp[np.arange(n), labels].mean()\n    grad = np.exp(logp)\n"
                    "    grad[np.arange(n), labels] -= 1\n    return float(total), grad / n\n",
}

# correct too, but written from scratch another way
INDEPENDENT = {
    "affine_forward": "def affine_forward(x, w, b):\n    n = len(x)\n    flat = np.reshape(x, (n, np.prod(x.shape[1:])))\n"
                      "    return np.dot(flat, w) + b[None, :], (x, w, b)\n",
    "affine_backward": "def affine_backward(dout, cache):\n    x, w, _ = cache\n    n = len(x)\n"
                       "    dw = np.dot(np.reshape(x, (n, -1)).T, dout)\n    db = np.sum(dout, axis=0)\n"
                       "    dx = np.reshape(np.dot(dout, np.transpose(w)), np.shape(x))\n    return dx, dw, db\n",
    "relu_forward": "def relu_forward(x):\n    out = np.where(x > 0, x, 0.0)\n    return out, x\n",
    "relu_backward": "def relu_backward(dout, cache):\n    dx = dout.copy()\n    dx[cache <= 0] = 0\n    return dx\n",
    "sigmoid_forward": "def sigmoid_forward(x):\n    e = np.exp(-np.abs(x))\n"
                       "    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))\n    return out, out\n",
    "sigmoid_backward": "def sigmoid_backward(dout, cache):\n    return dout * (cache - cache ** 2)\n",
    "softmax_loss": "def softmax_loss(scores, y):\n    z = scores - np.max(scores, axis=1)[:, None]\n"
                    "    p = np.exp(z)\n    p /= p.sum(axis=1)[:, None]\n    n = len(y)\n"
                    "    picked = p[range(n), y]\n    loss = -np.sum(np.log(picked)) / n\n"
                    "    onehot = np.zeros_like(p)\n    onehot[range(n), y] = 1\n    return loss, (p - onehot) / n\n",
}


def write_class(folder):
    for student, answers in [("ada", ORIGINAL), ("bob copy", COPIED), ("陈 independent", INDEPENDENT)]:
        corpus.write(folder / student / CHAPTER / f"{CHAPTER}.ipynb", corpus.notebook(replace=answers))
    corpus.write(folder / "dora_blank" / CHAPTER / f"{CHAPTER}.ipynb", corpus.release(CHAPTER))


def test_a_renamed_copy_is_flagged_and_independent_or_blank_work_is_not(tmp_path):
    write_class(tmp_path / "submitted")
    source = nbformat.read(f"source_notebooks/{CHAPTER}/{CHAPTER}.ipynb", as_version=4)
    submissions = ingest.discover(tmp_path / "submitted", CHAPTER, CHAPTER)
    pairs = similarity.similarity_report(submissions, source, corpus.release(CHAPTER), CHAPTER, tmp_path, threshold=0.7)
    scores = {frozenset((p.a.student_id, p.b.student_id)): p.similarity for p in pairs}
    assert len(scores) == 6
    assert scores[frozenset(("ada", "bob copy"))] >= 0.9
    for pair, score in scores.items():
        if pair != {"ada", "bob copy"}:
            assert score < 0.5, (sorted(pair), score)
    assert max(score for pair, score in scores.items() if "dora_blank" in pair) == 0  # the release is boilerplate

    rows = list(csv.DictReader(open(tmp_path / "similarity.csv", encoding="utf-8")))
    assert [r["flagged"] for r in rows].count("yes") == 1 and {rows[0]["student_a"], rows[0]["student_b"]} == {"ada", "bob copy"}
    page = (tmp_path / "similarity.html").read_text(encoding="utf-8")
    assert "ada &amp; bob copy" in page and "as_matrix" in page and "<mark>" in page
    assert "independent</h2>" not in page and "陈" not in page.split("<h2>", 1)[1]


def test_the_answer_cells_are_escaped_in_the_report(tmp_path):
    hostile = {**ORIGINAL, "relu_forward": "def relu_forward(x):\n    s = '</pre><script>alert(1)</script>'\n"
                                           "    return np.maximum(x, 0), x\n"}
    for student in ("a<b>", "c&d"):
        corpus.write(tmp_path / "in" / f"{student}.ipynb", corpus.notebook(replace=hostile))
    source = nbformat.read(f"source_notebooks/{CHAPTER}/{CHAPTER}.ipynb", as_version=4)
    similarity.similarity_report(ingest.discover(tmp_path / "in", CHAPTER, CHAPTER), source, corpus.release(CHAPTER),
                                 CHAPTER, tmp_path)
    page = (tmp_path / "similarity.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;/pre&gt;&lt;script&gt;" in page and "a&lt;b&gt;" in page


@pytest.mark.slow
def test_the_command_reads_a_class_and_writes_both_files(tmp_path):
    write_class(tmp_path / "submitted")
    corpus.write(tmp_path / "submitted" / "eve_missing" / CHAPTER / "notes.txt", nbformat.v4.new_notebook())
    result = subprocess.run([sys.executable, "-m", "autograder.cli", "similarity", str(tmp_path / "submitted"),
                             "--assignment", CHAPTER, "--out", str(tmp_path / "out")], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ada" in result.stdout and "bob copy" in result.stdout
    assert (tmp_path / "out" / "similarity.csv").is_file()
    assert "eve_missing" in (tmp_path / "out" / "similarity.html").read_text(encoding="utf-8")
