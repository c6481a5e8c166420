"""Fused optimizer updates (ck_*_update) against the numpy references."""
import numpy as np
import pytest

from ckeras._native import kernels
from ckeras.reference import optimizers as ref
from tests.threads import assert_same_bits_at_thread_counts

SHAPES = [(1,), (7,), (32768,), (32769,), (100003,), (3, 17, 29)]
LR_T = float(ref.adam_lr_t(0.01, 0.9, 0.999, 3))

# name -> (in-place kernel step, reference step returning (new_p, *new_state),
#          state buffers as (name, non-negative?))
CASES = {
    "sgd": (lambda p, g: kernels.sgd_update(p, g, None, 0.05),
            lambda p, g: ref.sgd(p, g, None, 0.05)[:1], []),
    "sgd_momentum0": (lambda p, g, m: kernels.sgd_update(p, g, m, 0.05),
                      lambda p, g, m: ref.sgd(p, g, m, 0.05),
                      [("m", False)]),
    "sgd_momentum": (
        lambda p, g, m: kernels.sgd_update(p, g, m, 0.05, momentum=0.9),
        lambda p, g, m: ref.sgd(p, g, m, 0.05, momentum=0.9),
        [("m", False)]),
    "sgd_nesterov": (
        lambda p, g, m: kernels.sgd_update(p, g, m, 0.05, 0.9, nesterov=True),
        lambda p, g, m: ref.sgd(p, g, m, 0.05, 0.9, nesterov=True),
        [("m", False)]),
    "rmsprop": (lambda p, g, a: kernels.rmsprop_update(p, g, a, 0.01),
                lambda p, g, a: ref.rmsprop(p, g, a, 0.01), [("a", True)]),
    "rmsprop_params": (
        lambda p, g, a: kernels.rmsprop_update(p, g, a, 0.3, rho=0.5, eps=1e-3),
        lambda p, g, a: ref.rmsprop(p, g, a, 0.3, rho=0.5, eps=1e-3),
        [("a", True)]),
    "adagrad": (lambda p, g, a: kernels.adagrad_update(p, g, a, 0.01),
                lambda p, g, a: ref.adagrad(p, g, a, 0.01), [("a", True)]),
    "adadelta": (lambda p, g, a, d: kernels.adadelta_update(p, g, a, d),
                 lambda p, g, a, d: ref.adadelta(p, g, a, d),
                 [("a", True), ("d", True)]),
    "adadelta_params": (
        lambda p, g, a, d: kernels.adadelta_update(p, g, a, d, 0.5, 0.9, 1e-4),
        lambda p, g, a, d: ref.adadelta(p, g, a, d, 0.5, 0.9, 1e-4),
        [("a", True), ("d", True)]),
    "adam": (lambda p, g, m, v: kernels.adam_update(p, g, m, v, LR_T),
             lambda p, g, m, v: ref.adam(p, g, m, v, LR_T)[:3],
             [("m", False), ("v", True)]),
    "amsgrad": (
        lambda p, g, m, v, h: kernels.adam_update(p, g, m, v, LR_T, 0.8, 0.99,
                                                  1e-6, vhat=h),
        lambda p, g, m, v, h: ref.adam(p, g, m, v, LR_T, 0.8, 0.99, 1e-6,
                                       vhat=h),
        [("m", False), ("v", True), ("vhat", True)]),
}


def initial(case, shape, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(shape, dtype=np.float32)
    states = [rng.random(shape, dtype=np.float32) if nonneg
              else 0.1 * rng.standard_normal(shape, dtype=np.float32)
              for _, nonneg in CASES[case][2]]
    return rng, p, states


def run_kernel(case, shape, steps, seed=0):
    step = CASES[case][0]
    rng, p, states = initial(case, shape, seed)
    for _ in range(steps):
        assert step(p, rng.standard_normal(shape, dtype=np.float32), *states) is None
    return [p] + states


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("case", sorted(CASES))
def test_update_matches_reference_over_steps(case, shape):
    kstep, rstep, _ = CASES[case]
    rng, p, states = initial(case, shape)
    want = [p.copy()] + [s.copy() for s in states]
    for _ in range(3):
        g = rng.standard_normal(shape, dtype=np.float32)
        kstep(p, g, *states)
        want = list(rstep(want[0], g, *want[1:]))
        for got, exp in zip([p] + states, want):
            assert got.shape == shape and got.dtype == np.float32
            # Same float32 operations in the same order, each correctly
            # rounded (no contraction, no denormals here): identical bits.
            # This is what pins Keras 2's operation order.
            np.testing.assert_array_equal(got, exp)


def test_momentum_zero_without_m_equals_with_m():
    _, p, _ = initial("sgd", (1001,))
    g = np.random.default_rng(5).standard_normal(1001, dtype=np.float32)
    p1, p2, m = p.copy(), p.copy(), np.zeros_like(p)
    kernels.sgd_update(p1, g, None, 0.1, nesterov=True)
    kernels.sgd_update(p2, g, m, 0.1, momentum=0.0)
    assert np.array_equal(p1, p2)
    np.testing.assert_array_equal(m, -np.float32(0.1) * g)


def test_amsgrad_keeps_the_running_maximum():
    p = np.zeros(4, np.float32)
    m, v = np.zeros(4, np.float32), np.full(4, 4.0, np.float32)
    vhat = np.array([1.0, 10.0, 0.0, 5.0], np.float32)
    g = np.zeros(4, np.float32)
    kernels.adam_update(p, g, m, v, 0.1, beta2=0.5, vhat=vhat)
    np.testing.assert_array_equal(v, [2.0, 2.0, 2.0, 2.0])
    np.testing.assert_array_equal(vhat, [2.0, 10.0, 2.0, 5.0])


def test_empty_parameter_is_a_no_op():
    p, g, m = (np.zeros((0, 3), np.float32) for _ in range(3))
    kernels.sgd_update(p, g, m, 0.1, 0.9)
    kernels.adam_update(p, g, m, np.zeros((0, 3), np.float32), 0.1)


@pytest.mark.parametrize("case", sorted(CASES))
def test_results_do_not_depend_on_thread_count(case):
    assert_same_bits_at_thread_counts(lambda: run_kernel(case, (5 * 32768 + 11,), steps=3))


# Behaviour: minimise sum((p - target)^2) (gradient 2 (p - target)).
CONVERGE = {
    "sgd": (lambda p, g, s: kernels.sgd_update(p, g, None, 0.1), 0),
    "sgd_momentum": (
        lambda p, g, s: kernels.sgd_update(p, g, s[0], 0.02, 0.9), 1),
    "sgd_nesterov": (
        lambda p, g, s: kernels.sgd_update(p, g, s[0], 0.02, 0.9, True), 1),
    "rmsprop": (lambda p, g, s: kernels.rmsprop_update(p, g, s[0], 0.01), 1),
    "adagrad": (lambda p, g, s: kernels.adagrad_update(p, g, s[0], 0.5), 1),
    "adadelta": (
        lambda p, g, s: kernels.adadelta_update(p, g, s[0], s[1], eps=1e-4), 2),
    "adam": (lambda p, g, s, t: kernels.adam_update(
        p, g, s[0], s[1], ref.adam_lr_t(0.05, 0.9, 0.999, t)), 2),
    "amsgrad": (lambda p, g, s, t: kernels.adam_update(
        p, g, s[0], s[1], ref.adam_lr_t(0.05, 0.9, 0.999, t), vhat=s[2]), 3),
}


@pytest.mark.parametrize("case", sorted(CONVERGE))
def test_converges_on_a_quadratic(case):
    step, nstates = CONVERGE[case]
    rng = np.random.default_rng(1)
    target = rng.uniform(-2, 2, 50).astype(np.float32)
    p = np.zeros(50, np.float32)
    states = [np.zeros(50, np.float32) for _ in range(nstates)]
    for t in range(1, 301):
        g = np.float32(2) * (p - target)
        if case.startswith(("adam", "amsgrad")):
            step(p, g, states, t)
        else:
            step(p, g, states)
    assert np.abs(p - target).max() < 1e-3, np.abs(p - target).max()


# Bad input: every binding, name -> (function, state names, parameters).
BINDINGS = {
    "sgd_update": (kernels.sgd_update, ["m"], dict(lr=0.1, momentum=0.9)),
    "rmsprop_update": (kernels.rmsprop_update, ["a"], dict(lr=0.1)),
    "adagrad_update": (kernels.adagrad_update, ["a"], dict(lr=0.1)),
    "adadelta_update": (kernels.adadelta_update, ["a", "d"], dict(lr=1.0)),
    "adam_update": (kernels.adam_update, ["m", "v"], dict(lr_t=0.1)),
    "adam_update_amsgrad": (
        lambda p, g, m, v, h, **kw: kernels.adam_update(p, g, m, v, vhat=h, **kw),
        ["m", "v", "vhat"], dict(lr_t=0.1)),
}


def arrays(nstates, shape=(4, 5)):
    return [np.ones(shape, np.float32) for _ in range(2 + nstates)]


@pytest.mark.parametrize("name", sorted(BINDINGS))
def test_bad_arrays_raise_clear_errors(name):
    fn, snames, hp = BINDINGS[name]
    k = len(snames)
    p, g, *s = arrays(k)
    fn(p, g, *s, **hp)  # the valid call works
    with pytest.raises(TypeError, match="g must have dtype float32, got float64"):
        fn(p, g.astype(np.float64), *s, **hp)
    with pytest.raises(TypeError, match="p must be a numpy.ndarray"):
        fn(p.tolist(), g, *s, **hp)
    with pytest.raises(ValueError, match=r"g must have shape \(4, 5\), got \(5, 4\)"):
        fn(p, np.ones((5, 4), np.float32), *s, **hp)
    with pytest.raises(ValueError, match="g must be C-contiguous"):
        fn(p, np.ones((5, 4), np.float32).T, *s, **hp)
    with pytest.raises(ValueError, match="p must be C-contiguous"):
        fn(np.ones((4, 10), np.float32)[:, ::2], g, *s, **hp)
    ro = p.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="p is read-only"):
        fn(ro, g, *s, **hp)
    with pytest.raises(ValueError, match="g must not share memory with p"):
        fn(p, p, *s, **hp)
    with pytest.raises(ValueError, match="g must not share memory with p"):
        fn(p, p[:], *s, **hp)  # a view of p
    for i, sname in enumerate(snames):
        bad = list(s)
        bad[i] = np.ones((4, 5), np.float64)
        with pytest.raises(TypeError, match=f"{sname} must have dtype float32"):
            fn(p, g, *bad, **hp)
        bad[i] = np.ones((20,), np.float32)
        with pytest.raises(ValueError,
                           match=rf"{sname} must have shape \(4, 5\), got \(20,\)"):
            fn(p, g, *bad, **hp)
        bad[i] = s[i].copy()
        bad[i].flags.writeable = False
        with pytest.raises(ValueError, match=f"{sname} is read-only"):
            fn(p, g, *bad, **hp)
        bad[i] = p
        with pytest.raises(ValueError, match=f"{sname} must not share memory with p"):
            fn(p, g, *bad, **hp)
        bad[i] = g
        with pytest.raises(ValueError, match=f"{sname} must not share memory with g"):
            fn(p, g, *bad, **hp)
        if i > 0:
            bad[i] = s[0]
            with pytest.raises(ValueError,
                               match=f"{sname} must not share memory with {snames[0]}"):
                fn(p, g, *bad, **hp)
        if name != "sgd_update" and sname != "vhat":  # None: no momentum / amsgrad
            bad[i] = None
            with pytest.raises(TypeError, match=f"{sname} must be .* got None"):
                fn(p, g, *bad, **hp)


def test_sgd_needs_m_for_momentum():
    p, g = arrays(0)
    with pytest.raises(ValueError, match="m is None but momentum=0.9"):
        kernels.sgd_update(p, g, None, 0.1, momentum=0.9)


BAD_PARAMS = [
    ("sgd_update", "lr", -0.1, "lr must be a finite number >= 0, got -0.1"),
    ("sgd_update", "lr", float("nan"), "lr must be a finite number >= 0, got nan"),
    ("sgd_update", "lr", float("inf"), "lr must be a finite number >= 0"),
    ("sgd_update", "lr", 1e39, "lr must be a finite number >= 0"),
    ("sgd_update", "momentum", -0.5, "momentum must be a finite number >= 0"),
    ("rmsprop_update", "lr", -1.0, "lr must be a finite number >= 0"),
    ("rmsprop_update", "rho", 1.0, r"rho must be in \[0, 1\), got 1.0"),
    ("rmsprop_update", "rho", -0.1, r"rho must be in \[0, 1\)"),
    ("rmsprop_update", "rho", 0.999999999, "rounds to 1 in float32"),
    ("rmsprop_update", "eps", -1e-7, "eps must be a finite number >= 0"),
    ("adagrad_update", "lr", float("inf"), "lr must be a finite number >= 0"),
    ("adagrad_update", "eps", float("nan"), "eps must be a finite number >= 0"),
    ("adadelta_update", "lr", -1.0, "lr must be a finite number >= 0"),
    ("adadelta_update", "rho", 1.5, r"rho must be in \[0, 1\)"),
    ("adadelta_update", "eps", -1.0, "eps must be a finite number >= 0"),
    ("adam_update", "lr_t", float("nan"), "lr_t must be a finite number >= 0"),
    ("adam_update", "beta1", 1.0, r"beta1 must be in \[0, 1\)"),
    ("adam_update", "beta2", float("nan"), r"beta2 must be in \[0, 1\)"),
    ("adam_update", "beta2", -0.5, r"beta2 must be in \[0, 1\)"),
    ("adam_update", "eps", -1e-8, "eps must be a finite number >= 0"),
]


@pytest.mark.parametrize("name,param,value,match", BAD_PARAMS)
def test_bad_parameters_raise_clear_errors(name, param, value, match):
    fn, snames, hp = BINDINGS[name]
    p, g, *s = arrays(len(snames))
    before = p.copy()
    with pytest.raises(ValueError, match=match):
        fn(p, g, *s, **{**hp, param: value})
    assert np.array_equal(p, before)  # nothing was written


# ---- rmsprop_update_rows: a table whose gradient is a scatter of rows ----
def _rows_case(rng, V=300, D=37, n=120):
    p = rng.standard_normal((V, D)).astype(np.float32)
    a = np.abs(rng.standard_normal((V, D))).astype(np.float32)
    indices = rng.integers(0, V // 2, n)  # repeats; rows V//2.. unused
    values = rng.standard_normal((n, D)).astype(np.float32)
    dense = kernels.embedding_backward(values, indices, V)
    return p, a, indices, values, dense


@pytest.mark.parametrize("eps", [1e-7, 0.0])
def test_rmsprop_rows_gives_the_bits_of_the_dense_update(eps):
    rng = np.random.default_rng(0)
    p, a, indices, values, dense = _rows_case(rng)
    unused = np.setdiff1d(np.arange(p.shape[0]), indices)
    a[unused[0]] = 0.0  # with eps = 0: p - 0/0 is NaN in the dense update
    a[unused[1], 3] = np.nan
    p2, a2 = p.copy(), a.copy()
    for _ in range(2):
        kernels.rmsprop_update_rows(p, indices, values, a, 0.01, 0.9, eps)
        kernels.rmsprop_update(p2, dense, a2, 0.01, 0.9, eps)
    np.testing.assert_array_equal(p, p2)  # NaNs in the same places too
    np.testing.assert_array_equal(a, a2)
    assert np.isnan(p[unused[1], 3]) and np.isnan(p[unused[0]]).all() == (eps == 0.0)


def test_rmsprop_rows_matches_its_reference():
    rng = np.random.default_rng(3)
    p, a, indices, values, _ = _rows_case(rng, D=300)  # wider than a chunk
    want_p, want_a = ref.rmsprop_rows(p, indices, values, a, 0.003, 0.8, 1e-6)
    kernels.rmsprop_update_rows(p, indices, values, a, 0.003, 0.8, 1e-6)
    np.testing.assert_allclose(p, want_p, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(a, want_a, rtol=1e-6, atol=1e-7)


def test_rmsprop_rows_does_not_depend_on_thread_count():
    rng = np.random.default_rng(1)
    p, a, indices, values, _ = _rows_case(rng, V=5000, D=64, n=900)

    def run():
        pt, at = p.copy(), a.copy()
        kernels.rmsprop_update_rows(pt, indices, values, at, 0.01, 0.9, 1e-7)
        return [pt, at]
    assert_same_bits_at_thread_counts(run)


def test_rmsprop_rows_bad_input_raises_clear_errors():
    rng = np.random.default_rng(2)
    p, a, indices, values, _ = _rows_case(rng, V=20, D=4, n=5)
    with pytest.raises(ValueError, match=r"indices must be in \[0, 20\)"):
        kernels.rmsprop_update_rows(p, np.array([0, 20]), values[:2], a, 0.01)
    with pytest.raises(TypeError, match="1-D integer"):
        kernels.rmsprop_update_rows(p, np.array([1.0]), values[:1], a, 0.01)
    with pytest.raises(ValueError, match="values"):
        kernels.rmsprop_update_rows(p, indices, values[:, :3], a, 0.01)
    with pytest.raises(ValueError, match="2-D table"):
        kernels.rmsprop_update_rows(p.ravel(), indices, values, a.ravel(), 0.01)
    with pytest.raises(ValueError, match="alias|share"):
        kernels.rmsprop_update_rows(p, indices, values, p, 0.01)
