"""The guide's "MLP for multi-class softmax classification" (基于多层感知器的
softmax多分类), with `keras` replaced by `ckeras` and the stray `;` line of
the guide removed. Dummy data: the loss falls, accuracy stays near chance."""
import numpy as np

import ckeras
from ckeras.layers import Dense, Dropout
from ckeras.models import Sequential
from ckeras.optimizers import SGD


def main(epochs=20, verbose=1):
    # Generate dummy data
    x_train = np.random.random((1000, 20))
    y_train = ckeras.utils.to_categorical(np.random.randint(10, size=(1000, 1)),
                                          num_classes=10)
    x_test = np.random.random((100, 20))
    y_test = ckeras.utils.to_categorical(np.random.randint(10, size=(100, 1)),
                                         num_classes=10)

    model = Sequential()
    # Dense(64) is a fully-connected layer with 64 hidden units.
    # in the first layer, you must specify the expected input data shape:
    # here, 20-dimensional vectors.
    model.add(Dense(64, activation='relu', input_dim=20))
    model.add(Dropout(0.5))
    model.add(Dense(64, activation='relu'))
    model.add(Dropout(0.5))
    model.add(Dense(10, activation='softmax'))

    sgd = SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    model.compile(loss='categorical_crossentropy',
                  optimizer=sgd,
                  metrics=['accuracy'])
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=128, verbose=verbose)
    score = model.evaluate(x_test, y_test, batch_size=128, verbose=verbose)
    print("Test set's score: ", score)
    return history, score


if __name__ == "__main__":
    main()
