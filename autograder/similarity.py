"""Pairwise similarity of the students' answers, for an instructor to read, never to grade by.

Only the answer cells count (nbgrader solution code cells, found by grade id), and the release's
own code in them (signature, docstring, stub) is boilerplate that matches nobody. The comparison
is copydetect's (https://github.com/blingenf/copydetect): it tokenises the code with Pygments,
replaces every variable name by V and function name by F, and fingerprints the result with
winnowing (Schleimer, Wilkerson and Aiken, SIGMOD 2003). Renamed variables therefore change
nothing, and since fingerprints form a set, neither does reordering the functions in a cell.

A pair's similarity is the larger of its two sides' shares (shared tokens / that side's tokens),
as copydetect's own report ranks them: a student who copied a classmate's whole answer and added
more of their own still shows up through the classmate's side.
"""
import csv
import html
import io
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
from copydetect import CodeFingerprint, compare_files

from autograder import ingest
from autograder.pipeline import write_atomically
from autograder.rebuild import is_answer, nb_meta

NOISE_CHARS = 25  # copydetect's default noise threshold: shorter matches (after V/F filtering) are chance
GUARANTEE_CHARS = 25  # and its default guarantee threshold: every match this long is found


@dataclass
class Answers:
    student_id: str
    cells: dict = field(default_factory=dict)  # grade_id -> the student's code
    problem: str = ""  # why this submission was not compared

    @property
    def text(self):
        """The answer cells as one file, each under a comment naming its grade id (comments are not compared)."""
        return "".join(f"# ---- {grade_id} ----\n{code.rstrip()}\n\n" for grade_id, code in self.cells.items())


@dataclass
class Pair:
    a: Answers
    b: Answers
    share_a: float  # of a's tokens found in b
    share_b: float
    shared_tokens: int
    slices_a: np.ndarray  # (2, K) start, end of copied spans in a.text
    slices_b: np.ndarray

    @property
    def similarity(self):
        return max(self.share_a, self.share_b)


def answer_ids(source):
    """Grade ids of the source's answer code cells, in notebook order."""
    return [nb_meta(c)["grade_id"] for c in source.cells if is_answer(c) and c.cell_type == "code"]


def answers_of(notebook, student_id, ids):
    """The notebook's code in the answer cells named by ids (the first cell of each id; missing ones empty)."""
    found = {}
    for cell in notebook.cells:
        grade_id = nb_meta(cell).get("grade_id")
        if grade_id in ids and grade_id not in found and cell.get("cell_type") == "code":
            found[grade_id] = cell.get("source", "")
    return Answers(student_id, {grade_id: found.get(grade_id, "") for grade_id in ids})


def read_answers(submissions, ids):
    """Answers for every submission; unreadable or missing ones carry their problem instead."""
    answers = []
    for submission in submissions:
        if submission.status != "ok":
            answers.append(Answers(submission.student_id, problem=submission.message or submission.status))
            continue
        try:
            notebook = ingest.read_notebook(submission.path)
        except ValueError as error:
            answers.append(Answers(submission.student_id, problem=str(error)))
            continue
        answers.append(answers_of(notebook, submission.student_id, ids))
    return answers


def fingerprint(text, boilerplate=None):
    return CodeFingerprint("answers.py", NOISE_CHARS, GUARANTEE_CHARS - NOISE_CHARS + 1, boilerplate=boilerplate,
                           language="python", fp=io.StringIO(text))


def compare(answers, release_answers):
    """Every pair of comparable answers, most similar first.

    release_answers: Answers of the release notebook, whose fingerprints are removed from everyone's.
    """
    boilerplate = np.array(sorted(fingerprint(release_answers.text).hashes), dtype=np.int64)
    comparable = [a for a in answers if not a.problem]
    prints = {id(a): fingerprint(a.text, boilerplate) for a in comparable}
    pairs = []
    for a, b in combinations(comparable, 2):
        shared, (share_a, share_b), (slices_a, slices_b) = compare_files(prints[id(a)], prints[id(b)])
        pairs.append(Pair(a, b, float(share_a), float(share_b), int(shared), slices_a, slices_b))
    return sorted(pairs, key=lambda p: (-p.similarity, p.a.student_id, p.b.student_id))


def marked(text, slices):
    """text as HTML, with the spans in slices (2, K) wrapped in <mark>."""
    parts, last = [], 0
    spans = sorted(zip(np.asarray(slices[0], int).tolist(), np.asarray(slices[1], int).tolist()))
    for start, end in spans:
        start, end = max(start, last), min(end, len(text))
        if start >= end:
            continue
        parts += [html.escape(text[last:start]), f"<mark>{html.escape(text[start:end])}</mark>"]
        last = end
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def write_csv(path: Path, pairs, threshold):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student_a", "student_b", "similarity", "share_a", "share_b", "shared_tokens", "flagged"])
    for p in pairs:
        writer.writerow([p.a.student_id, p.b.student_id, f"{p.similarity:.3f}", f"{p.share_a:.3f}", f"{p.share_b:.3f}",
                         p.shared_tokens, "yes" if p.similarity >= threshold else "no"])
    write_atomically(path, buffer.getvalue())


def write_html(path: Path, assignment, pairs, answers, threshold):
    flagged = [p for p in pairs if p.similarity >= threshold]
    skipped = [a for a in answers if a.problem]
    sections = "".join(f"""<section><h2>{html.escape(p.a.student_id)} &amp; {html.escape(p.b.student_id)}:
{p.similarity:.0%}</h2><p>{p.share_a:.0%} of {html.escape(p.a.student_id)}'s answer tokens and {p.share_b:.0%} of
{html.escape(p.b.student_id)}'s are shared ({p.shared_tokens} tokens); shared spans are marked.</p>
<div class="pair"><div><h3>{html.escape(p.a.student_id)}</h3><pre>{marked(p.a.text, p.slices_a)}</pre></div>
<div><h3>{html.escape(p.b.student_id)}</h3><pre>{marked(p.b.text, p.slices_b)}</pre></div></div></section>"""
                       for p in flagged)
    not_compared = "".join(f"<li>{html.escape(a.student_id)}: {html.escape(a.problem)}</li>" for a in skipped)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(assignment)}: similar answers</title>
<style>body{{font-family:sans-serif;margin:2em}} .pair{{display:flex;gap:1em}} .pair>div{{flex:1;min-width:0}}
pre{{background:#f6f6f6;padding:.5em;overflow-x:auto;font-size:90%}} mark{{background:#ffd27f}}</style></head><body>
<h1>{html.escape(assignment)}: similar answers</h1>
<p>{len(pairs)} pairs compared; {len(flagged)} at or above the threshold {threshold:.0%}, most similar first.
Only the answer cells count, less the release's own code; names do not matter, nor does the order of functions.
A high similarity is a reason to look, not a verdict: short or standard answers can match by themselves.</p>
{sections or "<p>No pair reaches the threshold.</p>"}
{f"<h2>Not compared</h2><ul>{not_compared}</ul>" if skipped else ""}
</body></html>"""
    write_atomically(path, page)


def similarity_report(submissions, source, release, assignment, out: Path, threshold=0.7):
    """Compare every pair of submissions; write out/similarity.html (flagged pairs) and out/similarity.csv (all).

    source, release: the instructor's and the student's notebook (nbformat v4). Returns the pairs.
    """
    ids = answer_ids(source)
    answers = read_answers(submissions, ids)
    pairs = compare(answers, answers_of(release, "release", ids))
    write_csv(out / "similarity.csv", pairs, threshold)
    write_html(out / "similarity.html", assignment, pairs, answers, threshold)
    return pairs
