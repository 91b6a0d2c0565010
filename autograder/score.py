"""Step 5: points. A test cell earns its points only when it ran without an error in the notebook
AND the outside verification of the behaviour it names agreed; a test the registry does not know
earns nothing. The scores go into nbgrader's gradebook through its own SaveAutoGrades.
"""
import threading

import nbformat
from nbgrader.api import Gradebook
from nbgrader.preprocessors import LimitOutput, SaveAutoGrades

from autograder.rebuild import is_test, nb_meta
from course import exercises


def judge(source, executed, state, verdicts):
    """{grade_id: {"points", "max", "passed", "message"}} for every test cell of the source.

    Test cells that failed are given an error output, so nbgrader's own grading agrees.
    """
    tests = {}
    ran_by_id = {nb_meta(c).get("grade_id"): c for c in executed.cells if is_test(c)}
    for cell in source.cells:
        if not is_test(cell):
            continue
        grade_id, points = nb_meta(cell)["grade_id"], float(nb_meta(cell).get("points", 0))
        ran = ran_by_id.get(grade_id)
        problems = []
        if ran is None or ran.get("execution_count") is None:
            problems.append("this test did not run" + (f": {state['error']}" if state.get("error") else ""))
        else:
            errors = [o for o in ran.outputs if o.get("output_type") == "error"]
            if errors:
                problems.append(f"{errors[0].get('ename')}: {errors[0].get('evalue', '')}".strip())
        if grade_id not in exercises.TESTS:
            problems.append("no verification is declared for this test in course/exercises.py, so it earns nothing")
        elif grade_id not in verdicts:
            problems.append("this test was not verified")
        elif not verdicts[grade_id][0]:
            problems.append(f"verification on fresh inputs: {verdicts[grade_id][1]}")
        if ran is not None and problems and not any(o.get("output_type") == "error" for o in ran.outputs):
            ran.outputs = [nbformat.v4.new_output("error", ename="GradingError", evalue="; ".join(problems), traceback=[])]
        tests[grade_id] = {"points": 0.0 if problems else points, "max": points, "passed": not problems,
                           "message": "; ".join(problems)}
    return tests


def save(executed, tests, resources, lock: threading.Lock):
    """Record the scores in the gradebook named by resources (one writer at a time)."""
    meta = resources["nbgrader"]
    with lock, Gradebook(meta["db_url"]) as gradebook:
        gradebook.update_or_create_student(meta["student"])
        gradebook.update_or_create_submission(meta["assignment"], meta["student"])
    with lock:
        LimitOutput().preprocess(executed, {})
        SaveAutoGrades().preprocess(executed, resources)
        with Gradebook(meta["db_url"]) as gradebook:  # tests the rebuild could not place still count as 0
            for grade_id, test in tests.items():
                grade = gradebook.find_grade(grade_id, meta["assignment"], meta["assignment"], meta["student"])
                grade.auto_score = test["points"]
                grade.needs_manual_grade = False
            gradebook.db.commit()


def human_marks(db_url: str, assignment: str, lock: threading.Lock) -> dict:
    """What graders gave by hand in a gradebook (formgrader's manual scores, extra credit and comments),
    for every student of the assignment at once: {student: {"grades": {grade_id: [manual_score,
    extra_credit]}, "comments": {grade_id: manual_comment}}}; a student nobody marked is absent."""
    from nbgrader.api import Assignment, BaseCell, Comment, Grade, SubmittedAssignment, SubmittedNotebook

    marks = {}
    by_hand = (("grades", Grade, (Grade.manual_score, Grade.extra_credit),
                Grade.manual_score.isnot(None) | Grade.extra_credit.isnot(None)),
               ("comments", Comment, (Comment.manual_comment,), Comment.manual_comment.isnot(None)))
    with lock, Gradebook(db_url) as gradebook:
        for kind, model, values, marked in by_hand:
            rows = (gradebook.db.query(SubmittedAssignment.student_id, BaseCell.name, *values).select_from(model)
                    .join(BaseCell, model.cell_id == BaseCell.id)
                    .join(SubmittedNotebook, model.notebook_id == SubmittedNotebook.id)
                    .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                    .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                    .filter(Assignment.name == assignment, marked))
            for student, grade_id, *value in rows:
                mine = marks.setdefault(student, {"grades": {}, "comments": {}})
                mine[kind][grade_id] = value if kind == "grades" else value[0]
    return marks


def put_human_marks(marks: dict | None, resources, lock: threading.Lock):
    """Write one student's human_marks into another gradebook (a cluster worker's private copy), before save(),
    so that nbgrader's rules (a manual score wins, and asks for review) and the page see them there too."""
    if not marks:  # nobody marked this student (human_marks leaves such students out)
        return
    meta = resources["nbgrader"]
    with lock, Gradebook(meta["db_url"]) as gradebook:
        gradebook.update_or_create_student(meta["student"])
        gradebook.update_or_create_submission(meta["assignment"], meta["student"])
        for grade_id, (manual_score, extra_credit) in marks.get("grades", {}).items():
            grade = gradebook.find_grade(grade_id, meta["notebook"], meta["assignment"], meta["student"])
            grade.manual_score, grade.extra_credit = manual_score, extra_credit
        for grade_id, text in marks.get("comments", {}).items():
            gradebook.find_comment(grade_id, meta["notebook"], meta["assignment"], meta["student"]).manual_comment = text
        gradebook.db.commit()
