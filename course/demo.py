"""`make demo`: train the reference two-layer and deep nets on the bundled MNIST and save their curves."""
import time
from pathlib import Path

from course.data import load_mnist
from course.nets import FullyConnectedNet, TwoLayerNet
from course.plots import plot_histories, plot_weight_images
from course.solver import Solver, accuracy

OUT = Path("out")


def train(name, model, data, **solver_options):
    print(f"\n{name}")
    start = time.perf_counter()
    solver = Solver(model, data, **solver_options).train()
    seconds = time.perf_counter() - start
    test_acc = accuracy(model, data["X_test"], data["y_test"])
    print(f"  {seconds:.1f} s, best validation accuracy {solver.best_val_acc:.2%}, test accuracy {test_acc:.2%}")
    return solver, test_acc


def main():
    data = load_mnist()
    print(f"MNIST: {len(data['X_train'])} training, {len(data['X_val'])} validation, {len(data['X_test'])} test images")
    shallow, shallow_acc = train(
        "Two-layer net 784-100-10, ReLU, SGD with momentum, 5 epochs",
        TwoLayerNet(784, 100, 10, weight_scale="he", seed=0), data,
        update_rule="sgd_momentum", optim_config={"learning_rate": 0.05}, lr_decay=0.9, num_epochs=5, seed=0,
    )
    deep, deep_acc = train(
        "Deep net 784-512-256-10, ReLU, He init, Adam, 10 epochs",
        FullyConnectedNet([512, 256], weight_scale="he", seed=0), data,
        update_rule="adam", optim_config={"learning_rate": 1e-3}, lr_decay=0.85, num_epochs=10, seed=0,
    )
    OUT.mkdir(exist_ok=True)
    plot_histories({f"two-layer ({shallow_acc:.2%} test)": shallow, f"deep ({deep_acc:.2%} test)": deep},
                   title="MNIST: reference nets").savefig(OUT / "demo_curves.png", dpi=100)
    plot_weight_images(shallow.model.params["W1"], max_images=64,
                       title="Two-layer net: first-layer weights").savefig(OUT / "demo_weights.png", dpi=100)
    print(f"\nSaved {OUT / 'demo_curves.png'} and {OUT / 'demo_weights.png'}")


if __name__ == "__main__":
    main()
