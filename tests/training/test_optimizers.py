"""Optimizers: the first steps equal Keras 2's update rules written out in
numpy (float64 here, so tolerances are float32's)."""
import numpy as np
import pytest

from ckeras import backend as K
from ckeras import constraints, optimizers

EPS = 1e-7
STEPS = 3


def _grads():
    rng = np.random.default_rng(0)
    return [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(STEPS)]


def _p0():
    return np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)


def _sgd(lr=0.01, momentum=0., decay=0., nesterov=False):
    p, m = _p0().astype(np.float64), 0.
    out = []
    for it, g in enumerate(_grads()):
        lr_t = lr / (1. + decay * it)
        v = momentum * m - lr_t * g
        m = v
        p = p + momentum * v - lr_t * g if nesterov else p + v
        out.append(p)
    return out


def _rmsprop(lr=0.001, rho=0.9, decay=0.):
    p, a = _p0().astype(np.float64), 0.
    out = []
    for it, g in enumerate(_grads()):
        lr_t = lr / (1. + decay * it)
        a = rho * a + (1 - rho) * g ** 2
        p = p - lr_t * g / (np.sqrt(a) + EPS)
        out.append(p)
    return out


def _adagrad(lr=0.01):
    p, a = _p0().astype(np.float64), 0.
    out = []
    for g in _grads():
        a = a + g ** 2
        p = p - lr * g / (np.sqrt(a) + EPS)
        out.append(p)
    return out


def _adadelta(lr=1.0, rho=0.95):
    p, a, d = _p0().astype(np.float64), 0., 0.
    out = []
    for g in _grads():
        a = rho * a + (1 - rho) * g ** 2
        u = g * np.sqrt(d + EPS) / np.sqrt(a + EPS)
        p = p - lr * u
        d = rho * d + (1 - rho) * u ** 2
        out.append(p)
    return out


def _adam(lr=0.001, b1=0.9, b2=0.999, amsgrad=False):
    p, m, v, vh = _p0().astype(np.float64), 0., 0., 0.
    out = []
    for it, g in enumerate(_grads()):
        t = it + 1
        lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        vh = np.maximum(vh, v)
        p = p - lr_t * m / (np.sqrt(vh if amsgrad else v) + EPS)
        out.append(p)
    return out


def _adamax(lr=0.002, b1=0.9, b2=0.999):
    p, m, u = _p0().astype(np.float64), 0., 0.
    out = []
    for it, g in enumerate(_grads()):
        t = it + 1
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))
        p = p - lr / (1 - b1 ** t) * m / (u + EPS)
        out.append(p)
    return out


def _nadam(lr=0.002, b1=0.9, b2=0.999, sd=0.004):
    p, m, v, msched = _p0().astype(np.float64), 0., 0., 1.
    out = []
    for it, g in enumerate(_grads()):
        t = it + 1
        mu_t = b1 * (1 - 0.5 * 0.96 ** (t * sd))
        mu_t1 = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * sd))
        msched_new = msched * mu_t
        msched_next = msched_new * mu_t1
        msched = msched_new
        gp = g / (1 - msched_new)
        m = b1 * m + (1 - b1) * g
        mp = m / (1 - msched_next)
        v = b2 * v + (1 - b2) * g ** 2
        vp = v / (1 - b2 ** t)
        mbar = (1 - mu_t) * gp + mu_t1 * mp
        p = p - lr * mbar / (np.sqrt(vp) + EPS)
        out.append(p)
    return out


CASES = [
    ("sgd", optimizers.SGD(), _sgd()),
    ("sgd_momentum_decay", optimizers.SGD(lr=0.05, momentum=0.9, decay=0.1), _sgd(0.05, 0.9, 0.1)),
    ("sgd_nesterov", optimizers.SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True),
     _sgd(0.01, 0.9, 1e-6, True)),
    ("rmsprop", optimizers.RMSprop(), _rmsprop()),
    ("rmsprop_decay", optimizers.RMSprop(lr=0.01, rho=0.8, decay=0.5), None),
    ("adagrad", optimizers.Adagrad(), _adagrad()),
    ("adadelta", optimizers.Adadelta(), _adadelta()),
    ("adam", optimizers.Adam(), _adam()),
    ("adam_amsgrad", optimizers.Adam(lr=0.01, amsgrad=True), _adam(0.01, amsgrad=True)),
    ("adamax", optimizers.Adamax(), _adamax()),
    ("nadam", optimizers.Nadam(), _nadam()),
]


@pytest.mark.parametrize("name,opt,expected", CASES, ids=[c[0] for c in CASES])
def test_first_steps_match_keras_formulas(name, opt, expected):
    if expected is None:
        expected = _rmsprop(0.01, 0.8, 0.5)
    p = K.variable(_p0())
    for g, want in zip(_grads(), expected):
        opt.apply_gradients([p], [g])
        np.testing.assert_allclose(p.value, want, rtol=2e-5, atol=2e-6)
    assert int(K.get_value(opt.iterations)) == STEPS


def test_defaults_and_learning_rate_alias():
    assert optimizers.SGD().get_config() == {
        "lr": pytest.approx(0.01), "momentum": 0.0, "decay": 0.0, "nesterov": False}
    rms = optimizers.RMSprop().get_config()
    assert rms["lr"] == pytest.approx(0.001) and rms["rho"] == pytest.approx(0.9)
    assert rms["epsilon"] == pytest.approx(1e-7)
    assert optimizers.Adam(learning_rate=0.5).get_config()["lr"] == 0.5
    assert K.get_value(optimizers.SGD(learning_rate=0.3).lr) == pytest.approx(0.3)


def test_lr_variable_is_read_each_step():
    opt = optimizers.SGD(lr=0.1)
    p = K.variable(np.zeros(2))
    opt.apply_gradients([p], [np.ones(2, np.float32)])
    K.set_value(opt.lr, 1.0)
    opt.apply_gradients([p], [np.ones(2, np.float32)])
    np.testing.assert_allclose(p.value, [-1.1, -1.1], rtol=1e-6)


def test_clipnorm_and_clipvalue():
    g = [np.array([3., 4.], np.float32), np.array([12.], np.float32)]  # global norm 13
    p = [K.variable(np.zeros(2)), K.variable(np.zeros(1))]
    optimizers.SGD(lr=1.0, clipnorm=1.0).apply_gradients(p, g)
    np.testing.assert_allclose(p[0].value, [-3 / 13, -4 / 13], rtol=1e-6)
    np.testing.assert_allclose(p[1].value, [-12 / 13], rtol=1e-6)
    q = K.variable(np.zeros(2))
    optimizers.SGD(lr=1.0, clipvalue=0.5).apply_gradients([q], [np.array([3., -0.2], 'f4')])
    np.testing.assert_allclose(q.value, [-0.5, 0.2], rtol=1e-6)


def test_constraint_applied_after_update():
    p = K.variable(np.array([0.5, -0.5]), constraint=constraints.NonNeg())
    optimizers.SGD(lr=1.0).apply_gradients([p], [np.array([1., -1.], np.float32)])
    np.testing.assert_allclose(p.value, [0., 0.5])


@pytest.mark.parametrize("cls,n_state", [(optimizers.SGD, 1 + 1), (optimizers.RMSprop, 1),
                                         (optimizers.Adagrad, 1), (optimizers.Adadelta, 2),
                                         (optimizers.Adam, 1 + 3), (optimizers.Adamax, 1 + 2),
                                         (optimizers.Nadam, 1 + 2)])
def test_state_order_and_set_weights(cls, n_state):
    opt = cls()
    p = K.variable(_p0())
    opt.apply_gradients([p], [_grads()[0]])
    state = opt.get_weights()
    assert len(state) == n_state
    if cls in (optimizers.SGD, optimizers.Adam, optimizers.Adamax, optimizers.Nadam):
        assert state[0] == 1  # iterations first
    # restoring the state and the weight reproduces the next step
    p_before = p.value.copy()
    opt.apply_gradients([p], [_grads()[1]])
    want = p.value.copy()
    other = cls()
    q = K.variable(p_before)
    other.build([q])
    other.set_weights(state)
    if not any(w is other.iterations for w in other.weights):
        K.set_value(other.iterations, K.get_value(opt.iterations) - 1)
    if cls is optimizers.Nadam:
        K.set_value(other.m_schedule, _nadam_msched_after_one())
    other.apply_gradients([q], [_grads()[1]])
    np.testing.assert_allclose(q.value, want, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="does not match the number of weights"):
        other.set_weights(state[:-1])


def _nadam_msched_after_one():
    return 0.9 * (1 - 0.5 * 0.96 ** 0.004)


def test_get_serialize_deserialize():
    for name in ["sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamax", "nadam",
                 "SGD", "Adam"]:
        opt = optimizers.get(name)
        again = optimizers.deserialize(optimizers.serialize(opt))
        assert type(again) is type(opt)
        assert again.get_config() == opt.get_config()
    opt = optimizers.SGD(lr=0.2, momentum=0.5, nesterov=True, clipnorm=2.0)
    cfg = optimizers.serialize(opt)
    assert cfg["class_name"] == "SGD"
    assert optimizers.deserialize(cfg).get_config() == opt.get_config()
    with pytest.raises(ValueError, match="Unknown optimizer: 'sgdd'.*adam"):
        optimizers.get("sgdd")
    with pytest.raises(TypeError, match="Unexpected keyword argument"):
        optimizers.SGD(foo=1)
