"""The guide's "MLP for binary classification" (MLP的二分类), with `keras`
replaced by `ckeras`."""
import numpy as np

from ckeras.layers import Dense, Dropout
from ckeras.models import Sequential


def main(epochs=20, verbose=1):
    # Generate dummy data
    x_train = np.random.random((1000, 20))
    y_train = np.random.randint(2, size=(1000, 1))
    x_test = np.random.random((100, 20))
    y_test = np.random.randint(2, size=(100, 1))

    model = Sequential()
    model.add(Dense(64, input_dim=20, activation='relu'))
    model.add(Dropout(0.5))
    model.add(Dense(64, activation='relu'))
    model.add(Dropout(0.5))
    model.add(Dense(1, activation='sigmoid'))

    model.compile(loss='binary_crossentropy',
                  optimizer='rmsprop',
                  metrics=['accuracy'])
    history = model.fit(x_train, y_train,
                        epochs=epochs,
                        batch_size=128, verbose=verbose)
    score = model.evaluate(x_test, y_test, batch_size=128, verbose=verbose)
    print("Test set's score: ", score)
    return history, score


if __name__ == "__main__":
    main()
