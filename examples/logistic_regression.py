"""Logistic regression on a synthetic data set (labels drawn from a logistic model), trained with Adam.

Run with --quick for a small data set and few steps (what the tests do).
"""
import argparse

import numpy as np

import autodiff as ad


def make_data(n: int, d: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    w_true = 3.0 * rng.normal(size=d)
    X = rng.normal(size=(n, d))
    p = 1.0 / (1.0 + np.exp(-(X @ w_true)))
    y = (rng.random(n) < p).astype(np.float64)
    return X, y, w_true


def loss_fn(w: ad.Tensor, b: ad.Tensor, X: np.ndarray, y: np.ndarray) -> ad.Tensor:
    logits = X @ w + b
    # Binary cross-entropy written with log-sigmoid: log(1 + e^z) - y z.
    p = ad.sigmoid(logits)
    return -ad.mean(y * ad.log(p) + (1 - y) * ad.log(1 - p))


def main(n: int, steps: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    X, y, _ = make_data(n, 5, rng)
    w = ad.zeros(5, requires_grad=True)
    b = ad.zeros((), requires_grad=True)
    optimizer = ad.optim.Adam([w, b], lr=0.1)
    first = None
    for step in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(w, b, X, y)
        loss.backward()
        optimizer.step()
        if first is None:
            first = loss.item()
    final = loss_fn(w, b, X, y).item()
    with ad.no_grad():
        predictions = (ad.sigmoid(X @ w + b).numpy() > 0.5).astype(np.float64)
    accuracy = float(np.mean(predictions == y))
    print(f"loss {first:.4f} -> {final:.4f}, training accuracy {accuracy:.3f}")
    assert first is not None and abs(first - np.log(2.0)) < 1e-12  # w = 0 predicts 1/2
    assert final < 0.8 * first
    assert accuracy > 0.7

    # The gradient agrees with the closed form X^T (sigmoid(Xw + b) - y) / n.
    loss = loss_fn(w, b, X, y)
    gw, gb = ad.autograd.grad(loss, [w, b])
    residual = 1.0 / (1.0 + np.exp(-(X @ w.detach().numpy() + b.item()))) - y
    np.testing.assert_allclose(gw.numpy(), X.T @ residual / n, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb.item(), residual.mean(), rtol=1e-10, atol=1e-12)
    return final


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small data set, few steps")
    args = parser.parse_args()
    if args.quick:
        main(n=200, steps=50)
    else:
        main(n=5000, steps=500)
