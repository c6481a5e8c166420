"""The guide's quick start (快速上手): Sequential with .add(), compile with
'sgd' then with SGD(lr=0.01, momentum=0.9, nesterov=True), fit,
train_on_batch, evaluate and predict. The guide leaves the data out;
here it is random: 100 features, 10 classes."""
import numpy as np

from ckeras.layers import Activation, Dense
from ckeras.models import Sequential
from ckeras.optimizers import SGD
from ckeras.utils import to_categorical


def main(epochs=5, verbose=1):
    x_train = np.random.random((1000, 100))
    y_train = to_categorical(np.random.randint(10, size=(1000, 1)), num_classes=10)
    x_test = np.random.random((100, 100))
    y_test = to_categorical(np.random.randint(10, size=(100, 1)), num_classes=10)

    model = Sequential()
    model.add(Dense(units=64, input_dim=100))
    model.add(Activation("relu"))
    model.add(Dense(units=10))
    model.add(Activation("softmax"))

    model.compile(loss='categorical_crossentropy', optimizer="sgd", metrics=['accuracy'])
    model.compile(loss="categorical_crossentropy",
                  optimizer=SGD(lr=0.01, momentum=0.9, nesterov=True))
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=verbose)
    x_batch, y_batch = x_train[:32], y_train[:32]
    model.train_on_batch(x_batch, y_batch)
    loss_and_metrics = model.evaluate(x_test, y_test, batch_size=128, verbose=verbose)
    classes = model.predict(x_test, batch_size=128)
    print("loss:", loss_and_metrics, "predictions:", classes.shape)
    return history, loss_and_metrics


if __name__ == "__main__":
    main()
