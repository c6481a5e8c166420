"""K.function on placeholders and deferred ops, the learning phase, and
the configuration file."""
import json
import os

import numpy as np
import pytest

from ckeras import backend as K
from ckeras.backend import config


def test_function_on_placeholders_and_deferred_ops():
    a = K.placeholder(shape=(None, 3))
    b = K.placeholder(shape=(None, 3))
    c = K.sum(K.square(a - b), axis=-1) + 1.0
    assert K.int_shape(c) == (None,)
    f = K.function([a, b], [c])
    x, y = np.ones((4, 3)), np.zeros((4, 3))
    np.testing.assert_allclose(f([x, y])[0], [4.0] * 4)
    with pytest.raises(ValueError, match="expects shape"):
        f([np.ones((4, 2)), y])
    with pytest.raises(ValueError, match="takes 2 inputs"):
        f([x])


def test_function_needs_its_inputs():
    a = K.placeholder(shape=(None, 3))
    f = K.function([], [K.exp(a)])
    with pytest.raises(ValueError, match="not given"):
        f([])


def test_learning_phase_as_an_input():
    from ckeras.layers import Dropout, Input
    x = Input(shape=(1000,))
    y = Dropout(0.5)(x)
    f = K.function([x, K.learning_phase()], [y])
    data = np.ones((2, 1000), np.float32)
    assert np.array_equal(f([data, 0])[0], data)
    trained = f([data, 1])[0]
    assert 0.3 < (trained == 0).mean() < 0.7
    np.testing.assert_allclose(trained[trained != 0], 2.0)


def test_config_file_created_with_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("CKERAS_HOME", str(tmp_path / "home"))
    try:
        settings = config.load()
        path = tmp_path / "home" / "ckeras.json"
        assert json.loads(path.read_text()) == config.DEFAULTS == settings
        path.write_text(json.dumps({"floatx": "float64", "epsilon": 1e-5,
                                    "image_data_format": "channels_first"}))
        config.load()
        assert K.floatx() == "float64" and K.epsilon() == 1e-5
        assert K.image_data_format() == "channels_first"
        K.set_image_data_format("channels_last")
        assert K.image_data_format() == "channels_last"
    finally:
        monkeypatch.delenv("CKERAS_HOME")
        config.load()


@pytest.mark.parametrize("content,match", [
    ("{not json", "malformed"),
    ('{"floatx": "int8"}', "floatx"),
    ('{"epsilon": -1}', "epsilon"),
    ('{"image_data_format": "nhwc"}', "image_data_format"),
    ('{"fsync_saves": "yes"}', "fsync_saves"),
    ("[1, 2]", "JSON object"),
])
def test_malformed_config_file_is_a_clear_error(tmp_path, monkeypatch, content, match):
    monkeypatch.setenv("CKERAS_HOME", str(tmp_path))
    (tmp_path / "ckeras.json").write_text(content)
    try:
        with pytest.raises(ValueError, match=match) as err:
            config.load()
        assert str(tmp_path) in str(err.value)
    finally:
        monkeypatch.delenv("CKERAS_HOME")
        config.load()
    assert os.environ.get("CKERAS_HOME") != str(tmp_path)


def test_dropout_masks_are_fresh_each_call_and_reproducible():
    x = np.ones((64, 32), np.float32)
    K.set_random_seed(3)
    a, b = K.dropout(x, 0.5), K.dropout(x, 0.5)
    s1, s2 = K.dropout(x, 0.5, seed=11), K.dropout(x, 0.5, seed=11)
    assert not np.array_equal(a, b)
    # a seeded op gives a new mask each call, as a seeded TF op does per run
    assert not np.array_equal(s1, s2)
    K.set_random_seed(3)
    assert np.array_equal(K.dropout(x, 0.5), a)
    assert np.array_equal(K.dropout(x, 0.5, seed=11), s1)
    # float64 and noise_shape (one mask per row, broadcast) use the same stream
    y = K.dropout(np.ones((6, 5)), 0.5, noise_shape=(6, 1))
    assert y.dtype == np.float64
    assert all(len(set(row)) == 1 for row in np.asarray(y))
