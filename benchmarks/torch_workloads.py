"""The benchmark's workloads in PyTorch (CPU), for the side-by-side ratios."""
import time

import torch

from benchmarks.workloads import DEEP, FINAL, TEXTBOOK, with_validation_in_training


def _tensors(data):
    return {k: torch.from_numpy(v) for k, v in data.items()}


def _accuracy(forward, X, y):
    with torch.no_grad():
        return float((forward(X).argmax(dim=1) == y).float().mean())


def _normal_init(linear, std):
    with torch.no_grad():
        linear.weight.normal_(0.0, std)
        linear.bias.zero_()


def textbook_torch(data):
    """What a PyTorch user would write: nn.Linear, autograd and optim.SGD."""
    t = _tensors(data)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, TEXTBOOK["hidden_dim"]), torch.nn.Sigmoid(),
                                torch.nn.Linear(TEXTBOOK["hidden_dim"], 10))
    for layer in (model[0], model[2]):
        _normal_init(layer, TEXTBOOK["weight_scale"])
    optimizer = torch.optim.SGD(model.parameters(), lr=TEXTBOOK["learning_rate"])
    loss_fn = torch.nn.CrossEntropyLoss()
    X, y = t["X_train"], t["y_train"]
    start = time.perf_counter()
    for _ in range(TEXTBOOK["num_iterations"]):
        idx = torch.randint(0, len(X), (TEXTBOOK["batch_size"],))
        loss = loss_fn(model(X[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    return seconds, _accuracy(model, t["X_test"], t["y_test"])


def textbook_torch_manual(data):
    """The same hand-written backprop loop as the course's, on torch tensors."""
    t = _tensors(data)
    torch.manual_seed(0)
    H, lr, N = TEXTBOOK["hidden_dim"], TEXTBOOK["learning_rate"], TEXTBOOK["batch_size"]
    W1 = torch.randn(784, H) * TEXTBOOK["weight_scale"]
    b1 = torch.zeros(H)
    W2 = torch.randn(H, 10) * TEXTBOOK["weight_scale"]
    b2 = torch.zeros(10)
    X, y = t["X_train"], t["y_train"]
    rows = torch.arange(N)
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(TEXTBOOK["num_iterations"]):
            idx = torch.randint(0, len(X), (N,))
            Xb, yb = X[idx], y[idx]
            hidden = torch.sigmoid(Xb @ W1 + b1)
            scores = hidden @ W2 + b2
            probs = torch.softmax(scores, dim=1)
            dscores = probs
            dscores[rows, yb] -= 1
            dscores /= N
            dW2 = hidden.T @ dscores
            db2 = dscores.sum(0)
            dhidden = dscores @ W2.T
            da = dhidden * hidden * (1 - hidden)
            dW1 = Xb.T @ da
            db1 = da.sum(0)
            W1 -= lr * dW1
            b1 -= lr * db1
            W2 -= lr * dW2
            b2 -= lr * db2
    seconds = time.perf_counter() - start
    return seconds, _accuracy(lambda Z: torch.sigmoid(Z @ W1 + b1) @ W2 + b2, t["X_test"], t["y_test"])


def deep_torch(data):
    """The course's recommended deep net in PyTorch with Adam and the same schedule."""
    t = _tensors(data)
    torch.manual_seed(0)
    dims = [784, *DEEP["hidden_dims"], 10]
    modules = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        linear = torch.nn.Linear(fan_in, fan_out)
        _normal_init(linear, (2.0 / fan_in) ** 0.5)
        modules += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*modules[:-1])
    optimizer = torch.optim.Adam(model.parameters(), lr=DEEP["learning_rate"])
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=DEEP["lr_decay"])
    loss_fn = torch.nn.CrossEntropyLoss()
    X, y = t["X_train"], t["y_train"]
    steps_per_epoch = len(X) // DEEP["batch_size"]
    start = time.perf_counter()
    for _ in range(DEEP["num_epochs"]):
        for _ in range(steps_per_epoch):
            idx = torch.randint(0, len(X), (DEEP["batch_size"],))
            loss = loss_fn(model(X[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
    seconds = time.perf_counter() - start
    return seconds, _accuracy(model, t["X_test"], t["y_test"])


def final_torch(data):
    """Chapter 5's final model in PyTorch: Linear -> BatchNorm1d -> ReLU -> Dropout per hidden layer, Adam, the same schedule,
    random batches and accuracy checks on the same examples after every epoch as the Solver makes."""
    t = _tensors(with_validation_in_training(data))
    torch.manual_seed(0)
    dims = [784, *FINAL["hidden_dims"], 10]
    modules = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        linear = torch.nn.Linear(fan_in, fan_out)
        _normal_init(linear, (2.0 / fan_in) ** 0.5)
        modules += [linear, torch.nn.BatchNorm1d(fan_out, eps=1e-5, momentum=0.1), torch.nn.ReLU(),
                    torch.nn.Dropout(p=1 - FINAL["dropout_keep_ratio"])]  # torch's p is the probability of dropping
    model = torch.nn.Sequential(*modules[:-3])  # no batch norm, ReLU or dropout after the last layer
    optimizer = torch.optim.Adam(model.parameters(), lr=FINAL["learning_rate"])
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=FINAL["lr_decay"])
    loss_fn = torch.nn.CrossEntropyLoss()
    X, y = t["X_train"], t["y_train"]
    steps_per_epoch = len(X) // FINAL["batch_size"]
    start = time.perf_counter()
    for _ in range(FINAL["num_epochs"]):
        model.train()
        for _ in range(steps_per_epoch):
            idx = torch.randint(0, len(X), (FINAL["batch_size"],))
            loss = loss_fn(model(X[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
        model.eval()  # the Solver measures 1,000 training and all validation examples after every epoch
        _accuracy(model, X[:1000], y[:1000])
        _accuracy(model, t["X_val"], t["y_val"])
    seconds = time.perf_counter() - start
    model.eval()
    return seconds, _accuracy(model, t["X_test"], t["y_test"])
