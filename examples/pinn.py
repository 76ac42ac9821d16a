"""A physics-informed residual: the heat equation u_t = u_xx on a small network u(x, t).

The network's derivatives with respect to its *inputs* come from nested
``autograd.grad(..., create_graph=True)``; the residual loss
mean((u_t - u_xx)^2) is then differentiated with respect to the *weights*
(a third-order derivative through the network), and checked against central
finite differences.
"""
import numpy as np

import autodiff as ad


def init_params(hidden: int = 16, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "W1": ad.tensor(rng.standard_normal((2, hidden)) * 0.8, requires_grad=True),
        "b1": ad.tensor(rng.standard_normal(hidden) * 0.1, requires_grad=True),
        "w2": ad.tensor(rng.standard_normal(hidden) / np.sqrt(hidden), requires_grad=True),
        "b2": ad.tensor(0.0, requires_grad=True),
    }


def u(params: dict, x: ad.Tensor, t: ad.Tensor) -> ad.Tensor:
    """u(x, t) at each of N points: a one-hidden-layer tanh network."""
    inputs = ad.stack([x, t], 1)                                   # (N, 2)
    hidden = ad.tanh(inputs @ params["W1"] + params["b1"])         # (N, H)
    return hidden @ params["w2"] + params["b2"]                    # (N,)


def residual_loss(params: dict, x_pts: np.ndarray, t_pts: np.ndarray) -> ad.Tensor:
    """mean((u_t - u_xx)^2) over the collocation points."""
    x = ad.tensor(x_pts, requires_grad=True)
    t = ad.tensor(t_pts, requires_grad=True)
    out = u(params, x, t)
    # each u_i depends on its own (x_i, t_i) only, so grad of the sum is pointwise
    u_x, u_t = ad.autograd.grad(out.sum(), (x, t), create_graph=True)
    (u_xx,) = ad.autograd.grad(u_x.sum(), x, create_graph=True)
    residual = u_t - u_xx
    return (residual ** 2).mean()


def finite_difference(params: dict, name: str, index: tuple, x_pts, t_pts, eps=1e-6) -> float:
    data = params[name].detach().numpy()   # the same memory: nudging it moves the parameter
    orig = data[index]
    data[index] = orig + eps
    plus = residual_loss(params, x_pts, t_pts).item()
    data[index] = orig - eps
    minus = residual_loss(params, x_pts, t_pts).item()
    data[index] = orig
    return (plus - minus) / (2 * eps)


def main() -> dict:
    rng = np.random.default_rng(1)
    x_pts = rng.uniform(-1, 1, 64)
    t_pts = rng.uniform(0, 1, 64)
    params = init_params()
    loss = residual_loss(params, x_pts, t_pts)
    loss.backward()
    print(f"residual loss = {loss.item():.6f}")
    # u_t - u_xx does not see the output bias: its gradient is None, as in PyTorch
    assert params["b2"].grad is None
    worst = 0.0
    for name, p in params.items():
        for index in [()] if p.ndim == 0 else [tuple(rng.integers(0, s) for s in p.shape)
                                               for _ in range(3)]:
            fd = finite_difference(params, name, index, x_pts, t_pts)
            ana = 0.0 if p.grad is None else p.grad.numpy()[index]
            worst = max(worst, abs(fd - ana) / max(1.0, abs(fd)))
            print(f"d loss / d {name}{[int(i) for i in index]}: autodiff {ana: .8f}   finite diff {fd: .8f}")
    print(f"largest relative difference: {worst:.2e}")
    assert worst < 1e-6, worst
    return {"loss": loss.item(), "worst": worst}


if __name__ == "__main__":
    main()
