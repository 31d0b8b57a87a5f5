"""XOR, the classic problem a single neuron cannot solve, learned by a 2-4-1 network.

    python examples/xor.py [--epochs 500] [--seed 0]

Prints the loss every 100 epochs, the final predictions, and what each hidden neuron learned.
"""

from __future__ import annotations

import argparse

import numpy as np

import neurolab as nl

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
y = np.array([0, 1, 1, 0])


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=500, help="passes over the four samples (default 500)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and the shuffling")
    args = parser.parse_args(argv)

    net = nl.NeuralNetwork(
        [
            nl.Dense(2, 4, activation="tanh", rng=args.seed),
            nl.Dense(4, 1, activation="identity", rng=args.seed + 1),
        ],
        loss="binary_cross_entropy",  # takes logits: the last layer is linear
    )
    history = net.fit(
        X, y, epochs=args.epochs, batch_size=4,
        optimizer=nl.optim.SGD(lr=0.5, momentum=0.9), rng=args.seed, verbose=0,  # its own summary below
    )
    for epoch in range(0, args.epochs, 100):
        print(f"epoch {epoch + 1:4d}  loss {history['loss'][epoch]:.4f}")
    print(f"epoch {args.epochs:4d}  loss {history['loss'][-1]:.4f}")

    probabilities = net.predict_proba(X)[:, 0]
    for sample, p, label in zip(X.astype(int), probabilities, net.predict(X)):
        print(f"x = {sample}  P(y=1) = {p:.3f}  predicted {label}")
    accuracy = net.evaluate(X, y)["accuracy"]
    print(f"accuracy {accuracy:.0%}")

    net.forward(X)
    print("hidden neurons (weights, bias) and their activation on the four inputs:")
    for j, neuron in enumerate(net.layers[0].neurons):
        print(f"  h{j}: w = {np.round(neuron.weights, 2)}, b = {float(neuron.bias):+.2f}, a = {np.round(neuron.a, 2)}")
    return accuracy


if __name__ == "__main__":
    main()
