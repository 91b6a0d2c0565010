"""The chapters in order, what each grades, and which parts of `course` its release folder may carry.

A chapter's release ships only the modules that earlier chapters taught plus the
utilities, never a reference implementation of what that chapter or a later one grades.
What a chapter grades is read from the exercise registry (course.exercises).
"""
from dataclasses import dataclass

from course import exercises


@dataclass(frozen=True)
class Chapter:
    name: str
    modules: tuple  # course modules shipped in release/<name>/course/

    @property
    def graded(self):
        """The functions and classes the student writes and is graded on."""
        return tuple(e.name for e in exercises.exercises_of(self.name))


UTILITIES = ("__init__", "runtime", "compare", "data", "plots", "checks", "check_base", "layer_checks", "net_checks",
             "training_checks", "curriculum", "exercises")

CHAPTERS = (
    Chapter("01_numerical_gradient", modules=UTILITIES),
    Chapter("02_backprop", modules=UTILITIES + ("gradient_check",)),
    # the update rules beyond plain SGD (course.optim) are chapter 5's exercise: until then the Solver's own sgd
    Chapter("03_shallow_net", modules=UTILITIES + ("gradient_check", "layers", "solver", "widgets")),
    Chapter("04_deep_net", modules=UTILITIES + ("gradient_check", "layers", "solver", "widgets")),
    # nets takes the student's dropout and batch norm (layer_functions=); course.training_layers stays out
    Chapter("05_training_better", modules=UTILITIES + ("gradient_check", "layers", "solver", "widgets", "nets")),
)

BY_NAME = {chapter.name: chapter for chapter in CHAPTERS}


def graded_from(name):
    """Names graded in chapter `name` or any later chapter: none may ship in its release."""
    index = [c.name for c in CHAPTERS].index(name)
    return {graded for chapter in CHAPTERS[index:] for graded in chapter.graded}


# reference implementations behind each graded name (the release must not carry them)
REFERENCE_NAMES = {
    "forward_difference": ("forward_difference",),
    "numerical_gradient": ("eval_numerical_gradient", "eval_numerical_gradient_array", "grad_check_sparse"),
    "central_difference": ("central_difference", "eval_numerical_gradient"),
}
