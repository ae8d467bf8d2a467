"""Chapter 7's speed-ups: the MLP's tanh (compiled loop vs numpy formula vs numpy.tanh), the
reused scratch arrays, and digits_grid's default executor (processes) against the serial run."""
import math
import pickle

import numpy as np
import pytest

from twophase.local import _tanh
from twophase.local.digits import digits_grid
from twophase.local.nn import MLP

numba = pytest.importorskip("numba")


def _points():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(50_000) * s for s in (1e-8, 1e-3, 0.1, 0.5, 1.0, 3.0, 10.0, 30.0)])
    edges = [0.0, -0.0, 5e-324, -5e-324, 1e-300, 22.0, -22.0, 19.06, 18.0, 0.3465, 0.3466, 700.0, -1e308]
    return np.concatenate([x, edges])


def test_tanh_compiled_equals_numpy_formula_bit_for_bit(monkeypatch):
    """The compiled loop and the numpy formula give the same bits (no FMA, no reassociation),
    signs of zeros included; TWOPHASE_ENGINE=numpy selects the formula."""
    x = _points()
    a = _tanh.tanh_(x.copy())
    monkeypatch.setenv("TWOPHASE_ENGINE", "numpy")
    b = _tanh.tanh_(x.copy())
    c = x.copy()
    _tanh.tanh_numpy(c)
    assert _tanh._compiled()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert np.array_equal(np.signbit(a), np.signbit(b))


def test_tanh_within_3_ulp_of_libm_and_exact_at_special_values():
    """Against the C library's tanh (math.tanh; numpy.tanh may use its own SIMD code on some
    CPUs, and here differs from it by up to 3 units in the last place): at most 4 units in the
    last place (the largest error seen over 2.4 million points, median 0) over 400,000 points
    from 1e-8 to 30;
    tanh(+-0) = +-0, tanh(+-inf) = +-1, NaN stays NaN, tiny values are returned as they are,
    and past |x| = 22 the result is exactly +-1."""
    x = _points()
    got = _tanh.tanh_(x.copy())
    ref = np.array([math.tanh(v) for v in x])
    nz = ref != 0
    ulp = np.abs(got[nz] - ref[nz]) / np.spacing(np.abs(ref[nz]))
    assert ulp.max() <= 4, f"max error {ulp.max()} ulp at x = {x[nz][np.argmax(ulp)]!r}"
    special = _tanh.tanh_(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, 25.0, -700.0]))
    np.testing.assert_array_equal(special[[0, 2, 3, 5, 6, 7]], [0.0, 1.0, -1.0, 1e-300, 1.0, -1.0])
    assert not np.signbit(special[0]) and np.signbit(special[1]) and np.isnan(special[4])


def test_tanh_constants_of_the_compiled_loop_are_the_formulas():
    """The constants written out in the compiled path equal those of the numpy formula (1/n!
    for n = 2..14), and its power of two built from the bits equals the numpy formula's
    product of 2**(2**b) over the bits of k, for every k = 0..64 (2|x| <= 44 gives k <= 64)."""
    assert _tanh._COEF == tuple(1.0 / math.factorial(n) for n in range(2, 15))
    assert _tanh._BITS == tuple((float(2 ** b), 2.0 ** (2 ** b)) for b in range(6, -1, -1))
    src = open(_tanh.__file__).read().split("def _reduce_one", 1)[1]
    for c in _tanh._COEF:
        assert repr(c) in src, c
    assert "(np.int64(kb[i]) + 1023) << 52" in src
    k = np.arange(65, dtype=float)
    s_np = np.ones_like(k)
    kk = k.copy()
    for thr, mult in _tanh._BITS:
        big = kk >= thr
        s_np = np.where(big, s_np * mult, s_np)
        kk = np.where(big, kk - thr, kk)
    bits = ((k.astype(np.int64) + 1023) << 52).view(np.float64)
    np.testing.assert_array_equal(bits, s_np)
    np.testing.assert_array_equal(bits, 2.0 ** k)


def test_tanh_non_contiguous_input_takes_the_formula():
    """A strided view is computed by the numpy formula, with the same bits as a contiguous copy."""
    x = _points()[:4000].reshape(40, 100)
    view = x.copy()[:, ::2]
    want = _tanh.tanh_(np.ascontiguousarray(view))
    np.testing.assert_array_equal(_tanh.tanh_(view), want)


def test_mlp_scratch_is_per_thread_and_not_pickled():
    """Scratch arrays are reused within a thread, are not carried by pickling, and the gradient
    after a round trip is the same bit for bit."""
    net = MLP((5, 4, 3))
    rng = np.random.default_rng(1)
    th = rng.standard_normal((2, net.n_params))
    A, y = rng.standard_normal((2, 6, 5)), rng.integers(0, 3, (2, 6))
    g1 = net._loss_grad_into(th, A, y, 1e-4).copy()
    assert "_tls" in vars(net)
    net2 = pickle.loads(pickle.dumps(net))
    assert "_tls" not in vars(net2) and "_pad_cache" not in vars(net2)
    np.testing.assert_array_equal(net2._loss_grad_into(th, A, y, 1e-4), g1)
    np.testing.assert_array_equal(net._loss_grad_into(th, A, y, 1e-4), g1)   # the scratch reused


class _Count:
    def __init__(self):
        self.n = 0

    def update(self, k):
        self.n += k


def test_digits_grid_in_processes_gives_the_serial_numbers(monkeypatch):
    """executor="processes" (every local core, in forked processes; two here) gives the serial
    numbers bit for bit, and the progress object counts every configuration."""
    monkeypatch.setenv("TWOPHASE_MAX_WORKERS", "2")
    monkeypatch.setattr("twophase.parallel._local_cores", lambda: 2)
    kw = dict(Ms=[2], Hs=[1, 2], splits=["dirichlet"], methods=["identity", "adam"],
              grids={"identity": [0.3, 1.0, 3.0], "adam": [0.003, 0.03, 0.3]}, rounds=2, seeds=[0, 1],
              tune_seed=100, alpha=1e-3, beta=0.9, hidden=4)
    serial = digits_grid(**kw, executor="serial")
    count = _Count()
    procs = digits_grid(**kw, executor="processes", progress=count)
    assert count.n == 4
    assert list(serial) == list(procs)
    for k in serial:
        for f in ("gamma", "loss", "acc", "tune_scores", "loss_long"):
            if f in serial[k]:
                np.testing.assert_array_equal(serial[k][f], procs[k][f], err_msg=f"{k} {f}")


def test_default_executor_is_processes_from_the_work_threshold():
    """executor=None means processes from _PROCESS_MIN_WORK of work on (the chapter's sizes),
    serial below it (the tests' and the quick benchmark's sizes); a given executor is kept."""
    from twophase.local import digits as dg

    assert dg._where(None, dg._PROCESS_MIN_WORK) == "processes"
    assert dg._where(None, dg._PROCESS_MIN_WORK - 1) == "serial"
    assert dg._where("serial", 10 ** 9) == "serial"
    # chapter 7's quick profile is above the threshold (one configuration of it, Local SGD)
    args = (None, "identity", [1.0, 3.0, 10.0], 4, 5, 12, [0, 1, 2], 100, 1e-3, 0.9, 12)
    assert 8 * dg._config_work(args) >= dg._PROCESS_MIN_WORK


def _require_compiled_passes(_mlp_kernel):
    """Skip where the compiled passes are off because this CPU's numpy has its own exp/log
    (AVX-512) whose bits differ from the C library's; fail if they are off for any other
    reason (numba is installed here: the module imports it above)."""
    import os

    if os.environ.get("TWOPHASE_ENGINE", "auto").strip() == "numpy":
        pytest.skip("TWOPHASE_ENGINE=numpy")
    if not _mlp_kernel.kernels():
        import numba

        jit = numba.njit(error_model="numpy")
        assert not _mlp_kernel._libm_agrees(jit(_mlp_kernel._exp_all), jit(_mlp_kernel._log_all)), \
            "the compiled passes are off although the compiled exp and log agree with numpy's"
        pytest.skip("the compiled exp/log differ from numpy's on this CPU: the numpy passes run")


def test_compiled_passes_are_on_exactly_where_exp_and_log_agree(monkeypatch):
    """kernels() is on iff the compiled exp and log give numpy's bits (checked here anew, with
    a fresh compilation), and off with TWOPHASE_ENGINE=numpy."""
    import numba

    from twophase.local import _mlp_kernel

    jit = numba.njit(error_model="numpy")
    agree = _mlp_kernel._libm_agrees(jit(_mlp_kernel._exp_all), jit(_mlp_kernel._log_all))
    assert bool(_mlp_kernel.kernels()) == agree, (bool(_mlp_kernel.kernels()), agree)
    monkeypatch.setenv("TWOPHASE_ENGINE", "numpy")
    assert not _mlp_kernel.kernels()


@pytest.mark.parametrize("sizes,B", [((64, 32, 10), 32), ((64, 32, 10), 128), ((5, 4, 3), 7), ((6, 9, 8, 17), 5),
                                     ((3, 2), 4)])
def test_compiled_gradient_passes_equal_numpy_bit_for_bit(sizes, B, monkeypatch):
    """The gradient with the compiled elementwise passes (bias, softmax delta, column sums,
    tanh derivative, weight decay) equals the numpy passes and loss_grad + wd * theta bit for
    bit, signs of zeros included, also with large logits (an exp that underflows) and zero
    weight decay; TWOPHASE_ENGINE=numpy selects the numpy passes."""
    from twophase.local import _mlp_kernel

    _require_compiled_passes(_mlp_kernel)
    net = MLP(sizes)
    rng = np.random.default_rng(len(sizes) * 100 + B)
    N = 6
    theta = np.stack([net.init(rng) for _ in range(N)]) + 0.5 * rng.standard_normal((N, net.n_params))
    theta[0] *= 40.0                                   # logits of hundreds: exp underflows to 0
    A = rng.standard_normal((N, B, sizes[0]))
    y = rng.integers(0, sizes[-1], (N, B))
    for wd in (1e-4, 0.0):
        got = net._loss_grad_into(theta, A, y, wd).copy()
        want = net._loss_grad_into_numpy(theta, A, y, wd).copy()
        _, g = net.loss_grad(theta, A, y)
        ref = g + wd * theta if wd else g
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got, ref)
        assert np.array_equal(np.signbit(got), np.signbit(want))
    monkeypatch.setenv("TWOPHASE_ENGINE", "numpy")
    assert not _mlp_kernel.kernels()
    np.testing.assert_array_equal(net._loss_grad_into(theta, A, y, 0.0), want)   # wd = 0 from the loop


def test_compiled_softmax_propagates_nan_like_numpy():
    """A NaN logit makes the whole row NaN in both paths (numpy's max propagates it)."""
    net = MLP((4, 3))
    theta = np.ones((2, net.n_params))
    theta[1, 5] = np.nan
    A = np.ones((2, 4, 4))
    y = np.zeros((2, 4), dtype=int)
    got = net._loss_grad_into(theta, A, y, 0.0)
    want = net._loss_grad_into_numpy(theta, A, y, 0.0)
    np.testing.assert_array_equal(got, want)
    assert np.all(np.isnan(got[1])) and np.all(np.isfinite(got[0]))


def test_compiled_pairwise_sum_is_numpys():
    """The compiled pairwise sum gives numpy's sum bit for bit for every length up to 1100
    (blocks, halves, remainders) and a few long ones up to numpy's buffer of 8192 (above it
    numpy sums buffer by buffer; the loss uses the loop for shards of at most 8192 rows)."""
    from twophase.local import _mlp_kernel

    _require_compiled_passes(_mlp_kernel)
    rng = np.random.default_rng(3)
    a = rng.standard_normal(9000) * np.exp(rng.standard_normal(9000) * 5)
    frames, vals = np.zeros((64, 3), dtype=np.int64), np.zeros(64)
    for n in list(range(0, 1100)) + [2047, 2048, 2049, 4999, 8191, 8192]:
        assert _mlp_kernel._pairwise(a, 3, n, frames, vals) == a[3:3 + n].sum(), n


def test_compiled_train_loss_equals_the_numpy_loss(monkeypatch):
    """The stacked train loss (compiled per-sample cross-entropies and shard means) equals the
    numpy computation and MLPClassifier.loss bit for bit, for runs with different shards."""
    from twophase.local.digits import digits_problem
    from twophase.local.problems import _MLPStack

    ps = [digits_problem(5, "dirichlet", s, hidden=8) for s in (0, 1, 2)]
    X = np.stack([p[1] for p in ps]) + 0.3 * np.random.default_rng(0).standard_normal((3, ps[0][0].d))
    st = _MLPStack([p[0] for p in ps])
    got = st.loss(X)
    want = np.array([p[0].loss(x) for p, x in zip(ps, X)])
    np.testing.assert_array_equal(got, want)
    monkeypatch.setenv("TWOPHASE_ENGINE", "numpy")
    np.testing.assert_array_equal(_MLPStack([p[0] for p in ps]).loss(X), got)
