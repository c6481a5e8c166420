"""The classic Keras CNN (Keras 2's examples/mnist_cnn.py) with `keras`
replaced by `ckeras`, trained on the digits bundled with ckeras (8x8
images upscaled to MNIST's 28x28 by pixel repetition, scaled to [0, 1]),
so it runs without a network. Reaches about 97% test accuracy in 12
epochs."""
import numpy as np

import ckeras
from ckeras import backend as K
from ckeras.datasets import digits
from ckeras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from ckeras.models import Sequential

batch_size = 128
num_classes = 10

# input image dimensions
img_rows, img_cols = 28, 28


def load_digits_28x28():
    """The bundled 8x8 digits as 28x28 images: each pixel repeated 3x3
    (24x24), padded by 2 on every side, scaled to [0, 1]."""
    (x_train, y_train), (x_test, y_test) = digits.load_data()

    def upscale(x):
        x = np.kron(x.astype('float32') / 16.0, np.ones((3, 3), 'float32'))
        return np.pad(x, ((0, 0), (2, 2), (2, 2)))
    return (upscale(x_train), y_train), (upscale(x_test), y_test)


def main(epochs=12, verbose=1, num_train=None):
    # the data, split between train and test sets
    (x_train, y_train), (x_test, y_test) = load_digits_28x28()
    if num_train is not None:
        x_train, y_train = x_train[:num_train], y_train[:num_train]

    if K.image_data_format() == 'channels_first':
        x_train = x_train.reshape(x_train.shape[0], 1, img_rows, img_cols)
        x_test = x_test.reshape(x_test.shape[0], 1, img_rows, img_cols)
        input_shape = (1, img_rows, img_cols)
    else:
        x_train = x_train.reshape(x_train.shape[0], img_rows, img_cols, 1)
        x_test = x_test.reshape(x_test.shape[0], img_rows, img_cols, 1)
        input_shape = (img_rows, img_cols, 1)

    if verbose:
        print('x_train shape:', x_train.shape)
        print(x_train.shape[0], 'train samples')
        print(x_test.shape[0], 'test samples')

    # convert class vectors to binary class matrices
    y_train = ckeras.utils.to_categorical(y_train, num_classes)
    y_test = ckeras.utils.to_categorical(y_test, num_classes)

    model = Sequential()
    model.add(Conv2D(32, kernel_size=(3, 3),
                     activation='relu',
                     input_shape=input_shape))
    model.add(Conv2D(64, (3, 3), activation='relu'))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(128, activation='relu'))
    model.add(Dropout(0.5))
    model.add(Dense(num_classes, activation='softmax'))

    model.compile(loss=ckeras.losses.categorical_crossentropy,
                  optimizer=ckeras.optimizers.Adadelta(),
                  metrics=['accuracy'])

    history = model.fit(x_train, y_train,
                        batch_size=batch_size,
                        epochs=epochs,
                        verbose=verbose,
                        validation_data=(x_test, y_test))
    score = model.evaluate(x_test, y_test, verbose=0)
    print('Test loss:', score[0])
    print('Test accuracy:', score[1])
    return history, score


if __name__ == '__main__':
    main()
