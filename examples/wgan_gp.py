"""A WGAN-GP gradient penalty: a gradient of a gradient, backpropagated to the critic's weights.

penalty = mean((||d D(x_hat) / d x_hat||_2 - 1)^2) at points x_hat between
real and fake samples; its gradient with respect to D's weights is checked
against central finite differences.
"""
import numpy as np

import autodiff as ad


def init_critic(dim: int = 4, hidden: int = 32, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "W1": ad.tensor(rng.standard_normal((dim, hidden)) / np.sqrt(dim), requires_grad=True),
        "b1": ad.tensor(rng.standard_normal(hidden) * 0.1, requires_grad=True),
        "w2": ad.tensor(rng.standard_normal(hidden) / np.sqrt(hidden), requires_grad=True),
    }


def critic(params: dict, x: ad.Tensor) -> ad.Tensor:
    """D(x) for each row of x."""
    return ad.tanh(x @ params["W1"] + params["b1"]) @ params["w2"]


def gradient_penalty(params: dict, real: np.ndarray, fake: np.ndarray, mix: np.ndarray) -> ad.Tensor:
    x_hat = ad.tensor(mix[:, None] * real + (1 - mix[:, None]) * fake, requires_grad=True)
    scores = critic(params, x_hat)
    (g,) = ad.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((g.norm(dim=1) - 1) ** 2).mean()


def main() -> dict:
    rng = np.random.default_rng(3)
    real = rng.standard_normal((32, 4)) + 2.0
    fake = rng.standard_normal((32, 4))
    mix = rng.uniform(size=32)
    params = init_critic()
    gp = gradient_penalty(params, real, fake, mix)
    gp.backward()
    print(f"gradient penalty = {gp.item():.6f}")
    worst = 0.0
    eps = 1e-6
    for name, p in params.items():
        for _ in range(3):
            index = tuple(rng.integers(0, s) for s in p.shape)
            data = p.detach().numpy()   # the same memory: nudging it moves the parameter
            orig = data[index]
            data[index] = orig + eps
            plus = gradient_penalty(params, real, fake, mix).item()
            data[index] = orig - eps
            minus = gradient_penalty(params, real, fake, mix).item()
            data[index] = orig
            fd = (plus - minus) / (2 * eps)
            ana = 0.0 if p.grad is None else p.grad.numpy()[index]
            worst = max(worst, abs(fd - ana) / max(1.0, abs(fd)))
            print(f"d penalty / d {name}{[int(i) for i in index]}: autodiff {ana: .8f}   finite diff {fd: .8f}")
    print(f"largest relative difference: {worst:.2e}")
    assert worst < 1e-6, worst
    return {"penalty": gp.item(), "worst": worst}


if __name__ == "__main__":
    main()
