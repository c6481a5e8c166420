"""The guide's first functional model (第一个模型：全连接网络): Input(784)
-> Dense(64, relu) -> Dense(64, relu) -> Dense(10, softmax), trained with
model.fit(data, labels). The guide leaves data and labels undefined; here
they are random."""
import numpy as np

from ckeras.layers import Dense, Input
from ckeras.models import Model
from ckeras.utils import to_categorical


def main(epochs=3, verbose=1):
    data = np.random.random((512, 784))
    labels = to_categorical(np.random.randint(10, size=(512, 1)), num_classes=10)

    # This returns a tensor
    inputs = Input(shape=(784,))

    # a layer instance is callable on a tensor, and returns a tensor
    x = Dense(64, activation='relu')(inputs)
    x = Dense(64, activation='relu')(x)
    predictions = Dense(10, activation='softmax')(x)

    # This creates a model that includes
    # the Input layer and three Dense layers
    model = Model(inputs=inputs, outputs=predictions)
    model.compile(optimizer='rmsprop',
                  loss='categorical_crossentropy',
                  metrics=['accuracy'])
    return model.fit(data, labels, epochs=epochs, verbose=verbose)  # starts training


if __name__ == "__main__":
    main()
