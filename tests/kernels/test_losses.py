"""The loss kernels against the numpy reference, and the reference
against finite differences."""
import numpy as np
import pytest

from ckeras._native import kernels
from ckeras.backend import get_num_threads, set_num_threads
from ckeras.reference import losses as ref
from tests.gradcheck import assert_grads_match

SHAPES = [(1, 1), (1, 7), (5, 1), (17, 33), (64, 1000), (3, 40000), (9000, 3)]
EPS = 1e-7


def logits(shape, seed=0, scale=6.0):
    rng = np.random.default_rng(seed)
    z = (scale * rng.standard_normal(shape)).astype(np.float32)
    z[0, 0] = 40.0  # one class far ahead: probabilities clip at both ends
    return z


def onehot(shape, seed=1):
    rng = np.random.default_rng(seed)
    t = np.zeros(shape, np.float32)
    t[np.arange(shape[0]), rng.integers(0, shape[1], shape[0])] = 1
    return t


def soft_targets(shape, seed=2):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def probabilities(shape, seed=3):
    p = np.random.default_rng(seed).random(shape).astype(np.float32)
    edge = np.float32([0, 1, EPS, 1 - np.float32(EPS), 1e-9, 1 - 1e-8, 0.5])
    p.flat[:min(p.size, edge.size)] = edge[:p.size]
    return p


def dloss_for(n, seed=4):
    return np.random.default_rng(seed).random(n).astype(np.float32) / n


def grad_buffer(shape, seed=5):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("targets", [onehot, soft_targets])
def test_softmax_xent_matches_reference(shape, targets):
    z, t = logits(shape), targets(shape)
    loss, probs = kernels.softmax_xent_forward(z, t, EPS)
    want_loss, want_probs = ref.softmax_xent_forward(z, t, EPS)
    # probs: z - max rounds in float32, as in Keras (see test_activations)
    np.testing.assert_allclose(probs, want_probs, rtol=4e-6, atol=1e-37)
    np.testing.assert_allclose(loss, want_loss, rtol=2e-6,
                               atol=2e-6 * np.abs(t).sum(-1).max())
    dl, dz0 = dloss_for(shape[0]), grad_buffer(shape)
    dz = kernels.softmax_xent_backward(dl, probs, t, EPS, dz=dz0.copy())
    want = ref.softmax_xent_backward(dl.astype(np.float64),
                                     probs.astype(np.float64), t, EPS)
    np.testing.assert_allclose(dz, dz0 + want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
def test_bce_matches_reference(shape):
    p, t = probabilities(shape), soft_targets(shape)
    # float32 reference: the clip at 1 - eps is float32's, as in Keras
    np.testing.assert_allclose(kernels.bce_forward(p, t, EPS),
                               ref.bce_forward(p, t, EPS), rtol=3e-6, atol=3e-6)
    dl, dp0 = dloss_for(shape[0]), grad_buffer(shape)
    dp = kernels.bce_backward(dl, p, t, EPS, dp=dp0.copy())
    want = ref.bce_backward(dl.astype(np.float64), p.astype(np.float64), t, EPS)
    np.testing.assert_allclose(dp, dp0 + want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
def test_sigmoid_bce_matches_reference(shape):
    z, t = logits(shape), soft_targets(shape)
    z.flat[1:3] = [-40, 16.2][:max(0, min(2, z.size - 1))] or z.flat[1:3]
    loss, probs = kernels.sigmoid_bce_forward(z, t, EPS)
    # float64 reference: sigmoid then bce in float32 would lose the logit
    # of probabilities near 1 (1 - p keeps few bits); the fused kernel
    # works from z and gives the exact-arithmetic numbers of the header
    want_loss, want_probs = ref.sigmoid_bce_forward(z.astype(np.float64), t,
                                                    EPS)
    np.testing.assert_allclose(probs, want_probs, rtol=4e-7, atol=1e-37)
    np.testing.assert_allclose(loss, want_loss, rtol=3e-6, atol=3e-6)
    dl, dz0 = dloss_for(shape[0]), grad_buffer(shape)
    dz = kernels.sigmoid_bce_backward(dl, probs, t, EPS, dz=dz0.copy())
    want = ref.sigmoid_bce_backward(dl.astype(np.float64),
                                    probs.astype(np.float64), t, EPS)
    np.testing.assert_allclose(dz, dz0 + want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shape", SHAPES)
def test_mse_matches_reference(shape):
    yp, yt = logits(shape), soft_targets(shape)
    np.testing.assert_allclose(kernels.mse_forward(yp, yt),
                               ref.mse_forward(yp.astype(np.float64), yt),
                               rtol=1e-6)
    dl, d0 = dloss_for(shape[0]), grad_buffer(shape)
    d = kernels.mse_backward(dl, yp, yt, dyp=d0.copy())
    want = ref.mse_backward(dl.astype(np.float64), yp.astype(np.float64), yt)
    np.testing.assert_allclose(d, d0 + want, rtol=1e-6, atol=1e-7)


def test_keras_values_by_hand():
    z = np.log(np.float32([[0.2, 0.7, 0.1]]))
    t = np.float32([[0, 1, 0]])
    loss, probs = kernels.softmax_xent_forward(z, t)
    np.testing.assert_allclose(probs, [[0.2, 0.7, 0.1]], rtol=1e-6)
    np.testing.assert_allclose(loss, [-np.log(0.7)], rtol=1e-6)
    dz = kernels.softmax_xent_backward(np.float32([1]), probs, t)
    np.testing.assert_allclose(dz, probs - t, atol=1e-7)
    # certain and right: clipped at 1 - eps, loss -log(1 - eps) (float32)
    big = np.float32([[100, 0, 0]])
    loss, _ = kernels.softmax_xent_forward(big, np.float32([[1, 0, 0]]))
    np.testing.assert_allclose(loss, [-np.log(np.float32(1) - np.float32(EPS))],
                               rtol=1e-3)
    # certain and wrong: -log(eps)
    loss, _ = kernels.softmax_xent_forward(big, np.float32([[0, 1, 0]]))
    np.testing.assert_allclose(loss, [-np.log(EPS)], rtol=1e-6)
    # binary: p = 0.8, t = 1 -> -log 0.8; p = 0 clips to eps
    p = np.float32([[0.8, 0.0]])
    t = np.float32([[1, 1]])
    np.testing.assert_allclose(kernels.bce_forward(p, t),
                               [(-np.log(0.8) - np.log(EPS)) / 2], rtol=1e-5)
    np.testing.assert_allclose(kernels.mse_forward(p, t), [(0.04 + 1) / 2],
                               rtol=1e-6)


def test_clipped_softmax_xent_gradient_is_the_formula():
    # class 0 far ahead: p0 > 1 - eps and the others < eps; all masked out
    z = np.float32([[40, 0, -3, 1], [40, 0, -3, 1]])
    t = np.float32([[1, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]])
    loss, probs = kernels.softmax_xent_forward(z, t)
    m = (probs >= EPS) & (probs <= 1 - np.float32(EPS))
    assert not m.any()
    dz = kernels.softmax_xent_backward(np.float32([1, 1]), probs, t)
    np.testing.assert_array_equal(dz, 0)  # the clipped loss is flat here
    np.testing.assert_allclose(loss[1], -np.log(np.float32(1 - 1e-7)) / 4
                               - 3 * np.log(EPS) / 4, rtol=1e-5)
    # only class 0 clipped: m t = t without class 0
    z = np.float32([[30, 25, 24, 20]])
    t = np.float32([[0.5, 0.3, 0.2, 0]])
    _, probs = kernels.softmax_xent_forward(z, t)
    assert probs[0, 0] > 0.99 and probs[0, 3] < 1e-4
    p = probs.astype(np.float64)
    mt = np.where((p >= EPS) & (p <= 1 - 1e-7), t, 0)
    want = p * mt.sum() - mt
    got = kernels.softmax_xent_backward(np.float32([1]), probs, t)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ref.softmax_xent_backward([1.0], p, t), want)


def test_reference_softmax_xent_matches_finite_differences():
    rng = np.random.default_rng(7)
    # away from the clip boundary; row 0 has a class clipped from below
    z = rng.standard_normal((3, 5))
    z[0, 2] = -25.0
    t = rng.random((3, 5))
    _, p = ref.softmax_xent_forward(z, t)
    assert (p < EPS).any() and (np.abs(p - EPS) > 1e-9).all()
    assert_grads_match(
        lambda z: ref.softmax_xent_forward(z, t)[0],
        lambda dl, z: ref.softmax_xent_backward(
            dl, ref.softmax_xent_forward(z, t)[1], t), [z])


def test_reference_bce_matches_finite_differences():
    rng = np.random.default_rng(8)
    p = rng.uniform(0.05, 0.95, (3, 4))
    t = rng.random((3, 4))
    assert_grads_match(lambda p: ref.bce_forward(p, t),
                       lambda dl, p: ref.bce_backward(dl, p, t), [p])
    z = 3 * rng.standard_normal((3, 4))
    assert_grads_match(
        lambda z: ref.sigmoid_bce_forward(z, t)[0],
        lambda dl, z: ref.sigmoid_bce_backward(
            dl, ref.sigmoid_bce_forward(z, t)[1], t), [z])
    # clipped entries have zero gradient, and so does the loss (flat)
    p = np.float64([[0.0, 0.5, 1.0]])
    g = ref.bce_backward([1.0], p, np.float64([[1, 1, 0]]))
    assert g[0, 0] == 0 and g[0, 2] == 0 and g[0, 1] != 0


def test_reference_mse_matches_finite_differences():
    rng = np.random.default_rng(9)
    yp, yt = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert_grads_match(lambda yp: ref.mse_forward(yp, yt),
                       lambda dl, yp: ref.mse_backward(dl, yp, yt), [yp])


def run_all(shape):
    z, t, p = logits(shape, seed=11), soft_targets(shape), probabilities(shape)
    dl = dloss_for(shape[0])
    out = []
    loss, probs = kernels.softmax_xent_forward(z, t)
    out += [loss, probs, kernels.softmax_xent_backward(dl, probs, t)]
    out += [kernels.bce_forward(p, t), kernels.bce_backward(dl, p, t)]
    loss, probs = kernels.sigmoid_bce_forward(z, t)
    out += [loss, probs, kernels.sigmoid_bce_backward(dl, probs, t)]
    out += [kernels.mse_forward(z, t), kernels.mse_backward(dl, z, t)]
    return out


@pytest.mark.parametrize("shape", [(3, 40001), (20000, 3), (1000, 100)])
def test_results_do_not_depend_on_thread_count(shape):
    before = get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            set_num_threads(n)
            results.append(run_all(shape))
    finally:
        set_num_threads(before)
    for r in results[1:]:
        for a, b in zip(r, results[0]):
            assert np.array_equal(a, b)


def test_extreme_logits_give_no_nan():
    z = np.float32([[3e38, -3e38, 0], [-1e4, -1e4, -1e4], [88, 89, -200]])
    t = soft_targets(z.shape)
    for fn in (kernels.softmax_xent_forward, kernels.sigmoid_bce_forward):
        loss, probs = fn(z, t)
        assert np.isfinite(loss).all() and np.isfinite(probs).all()
    p = np.float32([[0, 1, 0.5], [1e-30, 1 - 1e-8, 3e-8], [0, 0, 0]])
    assert np.isfinite(kernels.bce_forward(p, t)).all()
    assert np.isfinite(kernels.bce_backward(np.ones(3, np.float32), p, t)).all()


FORWARDS = [
    ("softmax_xent_forward", ("z", "t")), ("bce_forward", ("p", "t")),
    ("sigmoid_bce_forward", ("z", "t")), ("mse_forward", ("yp", "yt"))]
BACKWARDS = [
    ("softmax_xent_backward", ("probs", "t"), "dz"),
    ("bce_backward", ("p", "t"), "dp"),
    ("sigmoid_bce_backward", ("probs", "t"), "dz"),
    ("mse_backward", ("yp", "yt"), "dyp")]


@pytest.mark.parametrize("fname,names", FORWARDS)
def test_forward_bad_inputs(fname, names):
    fn = getattr(kernels, fname)
    a, b = np.full((3, 4), 0.5, np.float32), np.ones((3, 4), np.float32)
    with pytest.raises(TypeError, match="float32, got float64"):
        fn(a.astype(np.float64), b)
    with pytest.raises(ValueError, match=f"{names[0]} must be 2-D"):
        fn(a[0], b)
    with pytest.raises(ValueError, match=rf"{names[1]} must have shape \(3, 4\)"):
        fn(a, b[:, :3].copy())
    with pytest.raises(ValueError, match="C-contiguous"):
        fn(np.ones((4, 3), np.float32).T, b)
    with pytest.raises(ValueError, match="at least one column"):
        fn(np.ones((3, 0), np.float32), np.ones((3, 0), np.float32))
    with pytest.raises(ValueError, match=r"loss must have shape \(3,\)"):
        fn(a, b, loss=np.zeros(4, np.float32))
    ro = np.zeros(3, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fn(a, b, loss=ro)
    with pytest.raises(ValueError, match=f"loss must not share memory with {names[0]}"):
        fn(a, b, loss=a[0, :3])
    if fname != "mse_forward":
        for bad in (0.0, 0.5, -1e-7, float("nan"), 1e-50):
            with pytest.raises(ValueError, match=r"eps must be in \(0, 0.5\)"):
                fn(a, b, eps=bad)
    if fname in ("softmax_xent_forward", "sigmoid_bce_forward"):
        with pytest.raises(ValueError, match="probs must not share memory with z"):
            fn(a, b, probs=a)
        with pytest.raises(ValueError, match=r"probs must have shape \(3, 4\)"):
            fn(a, b, probs=np.zeros((4, 3), np.float32))


@pytest.mark.parametrize("fname,names,gname", BACKWARDS)
def test_backward_bad_inputs(fname, names, gname):
    fn = getattr(kernels, fname)
    a, b = np.full((3, 4), 0.5, np.float32), np.ones((3, 4), np.float32)
    dl = np.ones(3, np.float32)
    with pytest.raises(ValueError, match=r"dloss must have shape \(3,\)"):
        fn(np.ones(4, np.float32), a, b)
    with pytest.raises(ValueError, match="dloss must be 1-D"):
        fn(np.ones((3, 1), np.float32), a, b)
    with pytest.raises(TypeError, match="dloss must have dtype float32"):
        fn(dl.astype(np.float64), a, b)
    with pytest.raises(ValueError, match=rf"{names[1]} must have shape \(3, 4\)"):
        fn(dl, a, np.ones((3, 5), np.float32))
    with pytest.raises(ValueError, match=f"{gname} must not share memory with {names[0]}"):
        fn(dl, a, b, **{gname: a})
    with pytest.raises(ValueError, match=f"{gname} must not share memory with {names[1]}"):
        fn(dl, a, b, **{gname: b})
    ro = np.zeros((3, 4), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fn(dl, a, b, **{gname: ro})
    if fname != "mse_backward":
        with pytest.raises(ValueError, match="eps must be in"):
            fn(dl, a, b, eps=0.7)


def test_empty_batch():
    z = np.zeros((0, 5), np.float32)
    loss, probs = kernels.softmax_xent_forward(z, z)
    assert loss.shape == (0,) and probs.shape == (0, 5)
    assert kernels.mse_backward(np.zeros(0, np.float32), z, z).shape == (0, 5)
