"""Problems: vectorised oracles, exact and finite-difference HVPs, MLP gradient check, splits."""
import numpy as np
import pytest

from twophase.local import (MLP, MLPClassifier, check_shards, dirichlet_shards, fd_hvp,
                            iid_shards, load_digits_split, make_logistic, make_quadratic)


def test_quadratic_vectorised_matches_loop_and_optimum():
    q = make_quadratic(8, 3, kappa=20.0, sigma=0.0, hetero=2.0, shared_hessian=False, rng=0)
    X = np.random.default_rng(1).standard_normal((3, 8))
    G = q.grad(X)
    for m in range(3):
        np.testing.assert_allclose(G[m], q.A[m] @ (X[m] - q.c[m]), rtol=1e-12, atol=1e-14)
    assert abs(q.loss(q.x_star)) < 1e-13
    gbar = q.grad(np.tile(q.x_star, (3, 1))).mean(axis=0)
    np.testing.assert_allclose(gbar, 0, atol=1e-12)
    w = np.linalg.eigvalsh(q.A)
    assert w.min() > 0


@pytest.mark.parametrize("basis", ["axis", "rotated"])
def test_quadratic_condition_number(basis):
    q = make_quadratic(50, 2, kappa=1e3, basis=basis, rng=0)
    w = np.linalg.eigvalsh(q.hessian)
    assert abs(w.max() - 1.0) < 1e-12
    assert 2e2 < w.max() / w.min() < 5e3, w.max() / w.min()


def test_logistic_oracles():
    p = make_logistic(120, 6, 3, lam=0.05, batch=4, rng=0)
    x = np.random.default_rng(1).standard_normal(6) * 0.3
    X = np.tile(x, (3, 1))
    # exact gradient vs finite differences of the loss
    gfull = p.grad(X).mean(axis=0)
    e = np.eye(6)
    fd = np.array([(p.loss(x + 1e-6 * e[i]) - p.loss(x - 1e-6 * e[i])) / 2e-6 for i in range(6)])
    np.testing.assert_allclose(gfull, fd, rtol=1e-6, atol=1e-9)
    # optimum: zero global gradient
    np.testing.assert_allclose(p.grad(np.tile(p.x_star, (3, 1))).mean(axis=0), 0, atol=1e-12)
    # stochastic gradient is the mean over the sampled rows (vectorised vs loop)
    rng = np.random.default_rng(5)
    rows = p.sample(np.random.default_rng(5))
    G = p.stoch_grad(X, rng)
    for m in range(3):
        a, y = p.a[rows[m]], p.y[rows[m]]
        g = -(a.T @ (y / (1 + np.exp(y * (a @ x))))) / rows.shape[1] + p.lam * x
        np.testing.assert_allclose(G[m], g, rtol=1e-10, atol=1e-13)
        assert np.all(np.isin(rows[m], p.shards[m]))


def test_logistic_exact_hvp_vs_hessian_and_fd():
    p = make_logistic(150, 7, 3, lam=0.02, rng=3)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 7)) * 0.5
    V = rng.standard_normal((3, 7))
    Hv = p.hvp(X, V)
    for m in range(3):
        np.testing.assert_allclose(Hv[m], p._hm(m, X[m]) @ V[m], rtol=1e-12, atol=1e-14)
    fd = fd_hvp(p.grad, X, V, eps=1e-5)
    np.testing.assert_allclose(fd, Hv, rtol=1e-6, atol=1e-8)


def test_fd_hvp_on_quadratic_is_exact_to_rounding():
    q = make_quadratic(10, 2, kappa=10.0, shared_hessian=False, rng=1)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((2, 10))
    V = rng.standard_normal((2, 10))
    np.testing.assert_allclose(fd_hvp(q.grad, X, V), q.hvp(X, V), rtol=1e-8, atol=1e-9)


@pytest.fixture(scope="module")
def small_mlp_problem():
    net = MLP((5, 4, 3))
    rng = np.random.default_rng(0)
    a = rng.standard_normal((40, 5))
    y = rng.integers(0, 3, 40)
    prob = MLPClassifier(net, a, y, iid_shards(40, 2, rng), batch=7, weight_decay=1e-3, hvp_batch=20)
    return net, prob, a, y


def test_mlp_gradient_check(small_mlp_problem):
    net, _, a, y = small_mlp_problem
    rng = np.random.default_rng(1)
    theta = np.stack([net.init(rng), net.init(rng)])           # 2 workers
    A = np.stack([a[:9], a[9:18]])
    Y = np.stack([y[:9], y[9:18]])
    loss, g = net.loss_grad(theta, A, Y)
    assert g.shape == (2, net.n_params)
    h = 1e-6
    fd = np.zeros_like(g)
    for i in range(net.n_params):
        e = np.zeros(net.n_params)
        e[i] = h
        lp, _ = net.loss_grad(theta + e, A, Y, need_grad=False)
        lm, _ = net.loss_grad(theta - e, A, Y, need_grad=False)
        fd[:, i] = (lp - lm) / (2 * h)
    err = np.max(np.abs(fd - g)) / np.max(np.abs(g))
    assert err < 1e-7, f"relative gradient error {err:.2e}"


def test_mlp_fd_hvp_symmetric_and_matches_second_difference(small_mlp_problem):
    net, prob, _, _ = small_mlp_problem
    rng = np.random.default_rng(3)
    X = np.stack([net.init(rng), net.init(rng)])
    U = rng.standard_normal(X.shape)
    V = rng.standard_normal(X.shape)
    # use the full-shard gradient so both HVPs see the same function
    Hu = fd_hvp(prob.grad, X, U, eps=1e-5)
    Hv = fd_hvp(prob.grad, X, V, eps=1e-5)
    np.testing.assert_allclose(np.sum(V * Hu, 1), np.sum(U * Hv, 1), rtol=1e-5)
    # v^T H v against the second difference of the worker's loss
    for m in range(2):
        s = prob.shards[m]

        def fm(t):
            l, _ = net.loss_grad(t[None], prob.a[s][None], prob.y[s][None], need_grad=False)
            return l[0] + 0.5 * prob.weight_decay * t @ t

        h = 1e-3
        sd = (fm(X[m] + h * V[m]) - 2 * fm(X[m]) + fm(X[m] - h * V[m])) / h ** 2
        np.testing.assert_allclose(V[m] @ Hv[m], sd, rtol=1e-4)
    # the problem's stochastic hvp runs and has the right shape
    assert prob.hvp(X, V, np.random.default_rng(0)).shape == X.shape


def test_mlp_learns_digits_quickly():
    Xtr, ytr, Xte, yte = load_digits_split(seed=0)
    assert Xtr.shape[1] == 64 and len(np.unique(ytr)) == 10
    net = MLP((64, 32, 10))
    rng = np.random.default_rng(0)
    prob = MLPClassifier(net, Xtr, ytr, iid_shards(len(ytr), 4, rng), batch=32)
    from twophase.local import run_local
    x0 = net.init(1)
    res = run_local(prob, x0, gamma=0.1, H=5, rounds=40,
                    metrics={"acc": lambda x: prob.accuracy(x, Xte, yte)})
    assert res.loss[-1] < 0.5 * res.loss[0]
    assert res.metrics["acc"][-1] > 0.85, res.metrics["acc"][-1]


def test_dirichlet_shards_partition_and_skew():
    labels = np.repeat(np.arange(10), 50)
    rng = np.random.default_rng(0)
    sh = dirichlet_shards(labels, 8, 0.1, rng)
    check_shards(sh, labels.size)
    # strong skew: on average a worker's most frequent class holds most of its data
    top = np.mean([np.bincount(labels[s], minlength=10).max() / s.size for s in sh])
    sh_iid = iid_shards(labels.size, 8, rng)
    top_iid = np.mean([np.bincount(labels[s], minlength=10).max() / s.size for s in sh_iid])
    assert top > 2 * top_iid, (top, top_iid)
