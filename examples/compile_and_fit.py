"""The guide's compile (编译) and training (训练) section: the four compile
calls (multi-class, binary, mse regression, custom metric mean_pred) and
the two single-input models trained on dummy data (2 and 10 classes)."""
import numpy as np

import ckeras
import ckeras.backend as K
from ckeras.layers import Dense
from ckeras.models import Sequential


def mean_pred(y_true, y_pred):
    return K.mean(y_pred)


def compile_variants():
    model = Sequential([Dense(32, activation='relu', input_dim=100),
                        Dense(1, activation='sigmoid')])
    # For a multi-class classification problem
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy',
                  metrics=['accuracy'])
    # For a binary classification problem
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['accuracy'])
    # For a mean squared error regression problem
    model.compile(optimizer='rmsprop', loss='mse')
    # For custom metrics
    model.compile(optimizer='rmsprop', loss='binary_crossentropy',
                  metrics=['accuracy', mean_pred])
    return model


def binary(epochs=10, verbose=1):
    # For a single-input model with 2 classes (binary classification):
    model = Sequential()
    model.add(Dense(32, activation='relu', input_dim=100))
    model.add(Dense(1, activation='sigmoid'))
    model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['accuracy'])
    # Generate dummy data
    data = np.random.random((1000, 100))
    labels = np.random.randint(2, size=(1000, 1))
    # Train the model, iterating on the data in batches of 32 samples
    return model.fit(data, labels, epochs=epochs, batch_size=32, verbose=verbose)


def categorical(epochs=10, verbose=1):
    # For a single-input model with 10 classes (categorical classification):
    model = Sequential()
    model.add(Dense(32, activation='relu', input_dim=100))
    model.add(Dense(10, activation='softmax'))
    model.compile(optimizer='rmsprop', loss='categorical_crossentropy',
                  metrics=['accuracy'])
    # Generate dummy data
    data = np.random.random((1000, 100))
    labels = np.random.randint(10, size=(1000, 1))
    # Convert labels to categorical one-hot encoding
    one_hot_labels = ckeras.utils.to_categorical(labels, num_classes=10)
    # Train the model, iterating on the data in batches of 32 samples
    return model.fit(data, one_hot_labels, epochs=epochs, batch_size=32, verbose=verbose)


def main(epochs=10, verbose=1):
    model = compile_variants()
    print("metrics_names:", model.metrics_names)
    return binary(epochs, verbose), categorical(epochs, verbose)


if __name__ == "__main__":
    main()
