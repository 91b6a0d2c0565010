"""Training the reference nets on real MNIST reaches the accuracy the course promises, on held-out test data."""
import pytest

from benchmarks.workloads import TEXTBOOK
from course.data import load_mnist
from course.nets import FullyConnectedNet, TwoLayerNet
from course.solver import Solver, accuracy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def test_textbook_two_layer_sigmoid_net_reaches_94_percent(mnist):
    model = TwoLayerNet(784, TEXTBOOK["hidden_dim"], 10, weight_scale=TEXTBOOK["weight_scale"],
                        activation="sigmoid", seed=0)
    Solver(model, mnist, optim_config={"learning_rate": TEXTBOOK["learning_rate"]},
           batch_size=TEXTBOOK["batch_size"], num_iterations=TEXTBOOK["num_iterations"],
           verbose=False, seed=0).train()
    assert accuracy(model, mnist["X_test"], mnist["y_test"]) >= 0.94


def test_a_short_relu_run_with_momentum_reaches_96_percent(mnist):
    model = TwoLayerNet(784, 100, 10, weight_scale="he", seed=1)
    Solver(model, mnist, update_rule="sgd_momentum", optim_config={"learning_rate": 0.05},
           batch_size=100, num_epochs=2, verbose=False, seed=1).train()
    assert accuracy(model, mnist["X_test"], mnist["y_test"]) >= 0.96


def test_a_deep_net_with_adam_beats_97_percent_in_three_epochs(mnist):
    """A claim about the method, so measured over three seeds (3 s each): one seed's result moves by
    tenths of a percent with NumPy's rounding (seed 2 reached 96.92% under NumPy 2.4.6, seeds 0, 1, 3
    and 4 reached 97.3-97.5%)."""
    accuracies = []
    for seed in (0, 1, 2):
        model = FullyConnectedNet([256, 128], weight_scale="he", seed=seed)
        Solver(model, mnist, update_rule="adam", optim_config={"learning_rate": 1e-3},
               batch_size=100, num_epochs=3, verbose=False, seed=seed).train()
        accuracies.append(accuracy(model, mnist["X_test"], mnist["y_test"]))
    assert sorted(accuracies)[1] >= 0.97, accuracies  # the median
    assert min(accuracies) >= 0.965, accuracies
