"""Self-checks for the exercises: they measure, and when something is off they say what is most likely wrong.

Each check takes the student's functions and a seed, draws every input from
``np.random.default_rng(seed)`` and returns a Report: Jupyter shows it when it is a
cell's last expression, graders read ``report.passed`` and ``str(report)``. A check
never raises for a mistake in the student's code.

A check verifies only the behaviour its name promises. Whatever else it needs comes
from the definitions the chapters state, never from the student's other functions:
a backward pass gets the documented cache built here, and its gradients are compared
with the numerical gradient of the forward's *definition*, so a broken forward cannot
fail a backward check. Gradients are compared with central differences in float64,
never with a reference implementation, so these checks ship with every chapter
without giving an answer away.

"Relative error" in a report is the largest difference divided by the largest entry
of either array: unlike an entry-by-entry ratio, it cannot fail a correct answer
because one entry happens to be almost zero.
"""
from course.check_base import (  # noqa: F401
    GRADIENT_TOL,
    KINK_MARGIN,
    NET_GRADIENT_TOL,
    QUOTIENT_TOL,
    STD_MARGIN,
    VALUE_TOL,
    Report,
    compare_gradient,
    on_fresh_inputs,
    on_fresh_seeds,
    relative_error,
)
from course.layer_checks import (  # noqa: F401
    check_affine_backward,
    check_affine_forward,
    check_central_difference,
    check_difference_quotients,
    check_forward_difference,
    check_numerical_gradient,
    check_relu,
    check_relu_backward,
    check_relu_forward,
    check_sigmoid,
    check_sigmoid_backward,
    check_sigmoid_forward,
    check_softmax_loss,
)
from course.net_checks import (  # noqa: F401
    check_fc_gradients,
    check_fc_init,
    check_fc_loss,
    check_fully_connected_net,
    check_two_layer_gradients,
    check_two_layer_init,
    check_two_layer_loss,
    check_two_layer_net,
)
