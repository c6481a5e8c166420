"""``make demo`` / ``python -m ckeras.demo``: the guide's MLP (softmax
classification) trained on the bundled UCI handwritten digits.

64 pixels (8x8, values 0..16, scaled to [0, 1]) -> Dense(64, relu) ->
Dropout(0.5) -> Dense(64, relu) -> Dropout(0.5) -> Dense(10, softmax),
SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True) as in the guide,
with the progress bar; prints the test accuracy. (Saving the trained
model comes with the saving feature.)
"""
import argparse
import time

import numpy as np


def train(epochs=60, batch_size=32, verbose=1, seed=0):
    """Trains the demo model; returns (model, history, [test_loss, test_acc])."""
    from ckeras import backend as K
    from ckeras.datasets import digits
    from ckeras.layers import Dense, Dropout
    from ckeras.models import Sequential
    from ckeras.optimizers import SGD
    from ckeras.utils import to_categorical

    np.random.seed(seed)
    K.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = x_train.reshape(len(x_train), 64).astype("float32") / 16.0
    x_test = x_test.reshape(len(x_test), 64).astype("float32") / 16.0
    y_train = to_categorical(y_train, 10)
    y_test = to_categorical(y_test, 10)

    model = Sequential()
    model.add(Dense(64, activation="relu", input_dim=64))
    model.add(Dropout(0.5))
    model.add(Dense(64, activation="relu"))
    model.add(Dropout(0.5))
    model.add(Dense(10, activation="softmax"))
    sgd = SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    model.compile(loss="categorical_crossentropy", optimizer=sgd, metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size,
                        verbose=verbose, validation_split=0.1)
    score = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
    return model, history, score


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m ckeras.demo", description=__doc__)
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    model, history, (loss, acc) = train(epochs=args.epochs)
    model.summary()
    print(f"Test loss: {loss:.4f}")
    print(f"Test accuracy: {acc:.4f}  (trained in {time.perf_counter() - t0:.1f} s)")
    print("Saving the model (model.save) is not part of this build yet: skipped.")


if __name__ == "__main__":
    main()
