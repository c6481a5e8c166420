"""The finite-difference checker itself: it passes a right gradient and
catches a wrong one."""
import numpy as np
import pytest

from tests.gradcheck import assert_grads_match


def test_checker_accepts_correct_gradient():
    x = np.random.default_rng(0).standard_normal((3, 4))
    assert_grads_match(np.tanh, lambda dy, x: dy * (1 - np.tanh(x) ** 2), [x])


def test_checker_catches_wrong_gradient():
    x = np.random.default_rng(0).standard_normal((3, 4))
    wrong = lambda dy, x: dy * (1 - np.tanh(x) ** 2) * 1.01  # noqa: E731
    with pytest.raises(AssertionError, match="finite differences"):
        assert_grads_match(np.tanh, wrong, [x])


def test_checker_catches_sign_error():
    x = np.random.default_rng(1).standard_normal((5,))
    with pytest.raises(AssertionError):
        assert_grads_match(np.exp, lambda dy, x: -dy * np.exp(x), [x])
