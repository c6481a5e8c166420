"""The Keras 2 guide's "VGG-like convnet" (类似VGG的卷积神经网络), with
`keras` replaced by `ckeras`. Dummy data: random images and labels, so
the loss falls (the net memorises) while accuracy means nothing."""
import numpy as np

import ckeras
from ckeras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from ckeras.models import Sequential
from ckeras.optimizers import SGD


def main(epochs=10, verbose=1, num_samples=100):
    # Generate dummy data
    x_train = np.random.random((num_samples, 100, 100, 3))
    y_train = ckeras.utils.to_categorical(np.random.randint(10, size=(num_samples, 1)),
                                          num_classes=10)
    x_test = np.random.random((20, 100, 100, 3))
    y_test = ckeras.utils.to_categorical(np.random.randint(10, size=(20, 1)),
                                         num_classes=10)

    model = Sequential()
    # input: 100x100 images with 3 channels -> (100, 100, 3) tensors.
    # this applies 32 convolution filters of size 3x3 each.
    model.add(Conv2D(32, (3, 3), activation='relu', input_shape=(100, 100, 3)))
    model.add(Conv2D(32, (3, 3), activation='relu'))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))

    model.add(Conv2D(64, (3, 3), activation='relu'))
    model.add(Conv2D(64, (3, 3), activation='relu'))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))

    model.add(Flatten())
    model.add(Dense(256, activation='relu'))
    model.add(Dropout(0.5))
    model.add(Dense(10, activation='softmax'))

    sgd = SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    model.compile(loss='categorical_crossentropy', optimizer=sgd)

    history = model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=verbose)
    score = model.evaluate(x_test, y_test, batch_size=32, verbose=verbose)
    return history, score


if __name__ == '__main__':
    main()
