"""ModelCheckpoint saves whole models and weights through ckeras' saving."""
import numpy as np
import pytest

from ckeras import backend as K
from ckeras import callbacks
from ckeras.layers import Dense
from ckeras.models import Sequential, load_model


def _setup():
    K.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 64)]
    model = Sequential([Dense(8, activation="relu", input_shape=(5,)),
                        Dense(3, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy", metrics=["acc"])
    return model, x, y


class Recorder(callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.weights, self.val_loss = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())
        self.val_loss.append(logs["val_loss"])


@pytest.mark.parametrize("weights_only", [False, True])
def test_checkpoint_save_best_only(tmp_path, weights_only):
    model, x, y = _setup()
    path = str(tmp_path / "best.h5")
    recorder = Recorder()
    # a noisy validation set so that val_loss goes up and down
    rng = np.random.default_rng(1)
    xv = rng.standard_normal((16, 5)).astype(np.float32)
    yv = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 16)]
    model.fit(x, y, epochs=6, batch_size=8, verbose=0, validation_data=(xv, yv),
              callbacks=[callbacks.ModelCheckpoint(path, save_best_only=True,
                                                   save_weights_only=weights_only),
                         recorder])
    best = int(np.argmin(recorder.val_loss))
    if weights_only:
        fresh, _, _ = _setup()
        fresh.load_weights(path)
        loaded = fresh
    else:
        loaded = load_model(path)
        assert loaded.optimizer.get_config() == model.optimizer.get_config()
    for a, b in zip(loaded.get_weights(), recorder.weights[best]):
        np.testing.assert_array_equal(a, b)
    assert [p.name for p in tmp_path.iterdir()] == ["best.h5"]


def test_demo_saves_and_reloads(tmp_path, capsys):
    from ckeras.demo import main
    path = tmp_path / "demo.h5"
    assert main(["--epochs", "1", "--save", str(path)]) == 0
    assert "predicts the same" in capsys.readouterr().out
    assert load_model(path).count_params() == 64 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10
