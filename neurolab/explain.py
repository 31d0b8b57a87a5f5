"""Explain one neuron's gradient: the four backprop equations on real numbers.

``explain(network, x, y, layer, neuron)`` runs ``x`` (one sample or a small batch) forward and
backward through a copy of the network in evaluation mode and returns a :class:`NeuronTrace`:
the neuron's inputs, weights, bias, ``z``, ``a`` and ``f'(z)``; its error ``δ`` and where it
came from (BP1 at the output layer, BP2 from the next layer's errors, with the largest terms);
its bias gradient (BP3) and weight gradients (BP4, largest first); and the update the optimizer
would apply. ``print(trace)`` shows it as text, ``trace.to_dict()`` as plain data.

Conventions are the library's: the loss is a mean over the batch, so every ``δ`` carries the
``1/N``, and parameter gradients are sums over the batch's samples.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from .analysis import _layer_index
from .layer import Dense, Dropout
from .network import NeuralNetwork


@dataclass
class NeuronTrace:
    """One neuron's backpropagation on real numbers (arrays have one entry per sample ``n``).

    Attributes
    ----------
    layer, neuron : int
        ``network.layers[layer].neurons[neuron]``.
    description : str
        The layer, activation and loss, in words.
    equation : str
        Where ``delta`` came from: ``"BP1"`` (output layer) or ``"BP2"`` (hidden layer).
    inputs : (N, in)            the neuron's inputs a^(l-1)
    weights : (in,)             its incoming weights w_k
    bias : float                its bias b
    z, a, f_prime : (N,)        z = w · a^(l-1) + b, a = f(z), f'(z)
    grad_a : (N,)               ∂C/∂a, the gradient reaching the neuron's output
    delta : (N,)                δ = ∂C/∂z = ∂C/∂a · f'(z)
    output_terms : dict         at the output layer: the loss's form of ∂C/∂a (e.g. p and y)
    next_layer : int or None    at a hidden layer: the layer whose errors flow back (BP2)
    next_weights : (K,)         w_kj: from this neuron to each neuron k of the next layer
    next_delta : (N, K)         δ_k of the next layer
    grad_bias : float           BP3: ∂C/∂b = Σ_n δ_n
    grad_weights : (in,)        BP4: ∂C/∂w_k = Σ_n a_k,n δ_n
    optimizer : str or None     the optimizer whose update is shown
    update_bias : float         the change it would make to b
    update_weights : (in,)      the change it would make to each w_k
    top : int                   how many terms the text shows
    """

    layer: int
    neuron: int
    description: str
    equation: str
    inputs: np.ndarray
    weights: np.ndarray
    bias: float
    z: np.ndarray
    a: np.ndarray
    f_prime: np.ndarray
    grad_a: np.ndarray
    delta: np.ndarray
    grad_bias: float
    grad_weights: np.ndarray
    output_terms: dict = field(default_factory=dict)
    next_layer: int | None = None
    next_weights: np.ndarray | None = None
    next_delta: np.ndarray | None = None
    optimizer: str | None = None
    update_bias: float | None = None
    update_weights: np.ndarray | None = None
    top: int = 5

    @property
    def next_terms(self) -> np.ndarray | None:
        """BP2's terms ``w_kj δ_k`` per sample and next-layer neuron, ``(N, K)``; they sum to ``grad_a``."""
        if self.next_weights is None:
            return None
        return self.next_delta * self.next_weights

    @property
    def weight_terms(self) -> np.ndarray:
        """BP4's terms ``a_k,n δ_n`` per sample and input, ``(N, in)``; they sum over n to ``grad_weights``."""
        return self.inputs * self.delta[:, None]

    def to_dict(self) -> dict:
        """The trace as plain Python data (lists and floats), e.g. for JSON."""
        data = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            data[name] = value.tolist() if isinstance(value, np.ndarray) else value
        data["output_terms"] = {k: np.asarray(v).tolist() for k, v in self.output_terms.items()}
        return data

    def __str__(self) -> str:
        return _render(self)


def explain(network, x, y, layer, neuron: int, *, optimizer=None, top: int = 5) -> NeuronTrace:
    """Trace the backpropagation of ``network.layers[layer].neurons[neuron]`` on ``(x, y)``.

    Parameters
    ----------
    network : NeuralNetwork
        Left untouched: the trace runs on a copy, in evaluation mode (no dropout).
    x : array (features,) or (N, features)
        One sample or a small batch.
    y : array
        Its targets, as the network's loss takes them.
    layer : int or Dense
        The layer, by index in ``network.layers`` (negative counts from the end) or itself.
    neuron : int
        The neuron's index in the layer (its row of ``weight``).
    optimizer : Optimizer, optional
        Whose update to show; by default ``network.optimizer`` (with its state, e.g.
        momentum), and none if the network has not been trained.
    top : int
        How many of the largest terms the text lists.
    """
    index = _layer_index(network, layer, "explain")
    target_layer = network.layers[index]
    if not isinstance(target_layer, Dense) or not target_layer.activation.elementwise:
        why = (
            "a neuron's f'(z) is defined only for elementwise activations"
            if isinstance(target_layer, Dense)
            else "a Conv2D filter is shared by every position of its feature map: read "
            f"net.layers[{index}].neurons[i] for its weights, z, a and delta maps"
            if hasattr(target_layer, "out_channels")
            else "only Dense layers have neurons with weights of their own"
        )
        raise TypeError(
            f"explain: expected a Dense layer with an elementwise activation, got layers[{index}] "
            f"{target_layer!r}; {why}"
        )
    if isinstance(neuron, bool) or not isinstance(neuron, (int, np.integer)) or not 0 <= neuron < target_layer.out_features:
        raise ValueError(
            f"explain: expected a neuron index in [0, {target_layer.out_features}) for layers[{index}], got {neuron!r}"
        )
    x = np.asarray(x)
    if x.ndim == 1:
        x, y = x.reshape(1, -1), np.asarray(y).reshape(1, *np.shape(y))
    net, chosen = copy.deepcopy((network, optimizer if optimizer is not None else network.optimizer))
    net.eval()
    X = net._check_X(x, "explain")
    out = net.forward(X)
    y = net._check_y(y, X, out.shape[1], "explain")
    net.loss.forward(out, y)
    net.zero_grad()
    grad_into = {}  # dL/d(output of layer i)
    grad = net.loss.backward()
    for i in range(len(net.layers) - 1, -1, -1):
        grad_into[i] = grad
        grad = net.layers[i].backward(grad)

    dense = net.layers[index]
    j = int(neuron)
    z, a = dense.z[:, j].copy(), dense.a[:, j].copy()
    trace = NeuronTrace(
        layer=index,
        neuron=j,
        description=f"neuron {j} of layers[{index}] {dense!r}, loss {net.loss.name}",
        equation="BP1" if index == len(net.layers) - 1 else "BP2",
        inputs=dense.x.copy(),
        weights=dense.weight.value[j].copy(),
        bias=float(dense.bias.value[j]),
        z=z,
        a=a,
        f_prime=np.asarray(dense.activation.derivative(z, a), dtype=z.dtype),
        grad_a=grad_into[index][:, j].copy(),
        delta=dense.grad_z[:, j].copy(),
        grad_bias=float(dense.bias.grad[j]),
        grad_weights=dense.weight.grad[j].copy(),
        top=top,
    )
    if trace.equation == "BP1":
        trace.output_terms = _output_terms(net.loss, out, j)
    else:
        _add_next_layer(trace, net, index)
    if chosen is not None:
        before_w, before_b = dense.weight.value[j].copy(), float(dense.bias.value[j])
        chosen.step(net.parameters())
        trace.optimizer = repr(chosen)
        trace.update_weights = dense.weight.value[j] - before_w
        trace.update_bias = float(dense.bias.value[j]) - before_b
    return trace


def explain_neuron(neuron, x, y, loss="mse", *, optimizer=None, top: int = 5) -> NeuronTrace:
    """Trace a standalone :class:`~neurolab.Neuron` as the one output unit of a network trained with ``loss``.

    ``Neuron.explain`` calls it. The trace runs on a one-unit ``Dense`` layer holding a copy
    of the neuron's weights and bias, so the neuron is left untouched.
    """
    unit = neuron.layer
    layer = Dense(unit.in_features, 1, unit.activation, dtype=unit.dtype)
    layer.weight.value[...] = unit.weight.value
    layer.bias.value[...] = unit.bias.value
    return explain(NeuralNetwork([layer], loss), x, y, 0, 0, optimizer=optimizer, top=top)


def _output_terms(loss, out: np.ndarray, j: int) -> dict:
    """The output layer's dC/da_j in the loss's own terms: the probability or output, and the target."""
    target = loss.target
    if loss.name == "cross_entropy":
        y = (target == j).astype(out.dtype) if target.ndim == 1 else target[:, j]
        return {"form": "(p - y) / N, p = softmax(z)", "p": loss.output(out)[:, j], "y": y}
    if loss.name == "binary_cross_entropy":
        return {"form": "(p - y) / N, p = sigmoid(z)", "p": loss.output(out)[:, j], "y": target[:, j]}
    return {"form": "(a - y) / N", "y": target[:, j]}


def _add_next_layer(trace: NeuronTrace, net, index: int) -> None:
    """Fill BP2's breakdown from the next Dense layer, across layers that are the identity in evaluation mode."""
    k = index + 1
    while k < len(net.layers) and isinstance(net.layers[k], Dropout):
        k += 1
    if k < len(net.layers) and isinstance(net.layers[k], Dense):
        following = net.layers[k]
        trace.next_layer = k
        trace.next_weights = following.weight.value[:, trace.neuron].copy()
        trace.next_delta = following.grad_z.copy()


def _largest(values: np.ndarray, top: int) -> np.ndarray:
    order = np.argsort(-np.abs(values), kind="stable")
    return order[:top]


def _fmt(value: float) -> str:
    return f"{value:+.6g}"


def _render(t: NeuronTrace) -> str:
    n = t.z.shape[0]
    samples = range(min(n, 3))
    lines = [f"Backpropagation of {t.description}, {n} sample{'s' if n > 1 else ''}"]
    lines.append("forward")
    active = np.count_nonzero(t.inputs[0])
    lines.append(f"  inputs a^(l-1): {t.inputs.shape[1]} values ({active} non-zero in sample 0)")
    for s in samples:
        prefix = f"  [n={s}] " if n > 1 else "  "
        lines.append(
            f"{prefix}z = w . a^(l-1) + b = {_fmt(t.z[s] - t.bias)} {_fmt(t.bias)} = {_fmt(t.z[s])};"
            f"  a = f(z) = {_fmt(t.a[s])};  f'(z) = {_fmt(t.f_prime[s])}"
        )
    lines.append("error delta = dC/dz")
    if t.equation == "BP1":
        lines.append(f"  BP1  delta = dC/da * f'(z)   (output layer; dC/da = {t.output_terms.get('form', 'from the loss')})")
        for s in samples:
            prefix = f"  [n={s}] " if n > 1 else "       "
            terms = t.output_terms
            y_text = "".join(f", {key} = {_fmt(float(terms[key][s]))}" for key in ("p", "y") if key in terms)
            lines.append(f"{prefix}dC/da = {_fmt(t.grad_a[s])}{y_text};  delta = {_fmt(t.grad_a[s])} * {_fmt(t.f_prime[s])} = {_fmt(t.delta[s])}")
    else:
        lines.append("  BP2  delta = (sum_k w_kj delta_k) * f'(z)   (hidden layer)")
        flows = t.next_terms  # (N, K): w_kj delta_k, what each neuron k of the next layer sends back
        w_next, delta_next = t.next_weights, t.next_delta
        for s in samples:
            prefix = f"  [n={s}] " if n > 1 else "       "
            if flows is None or w_next is None or delta_next is None:
                lines.append(f"{prefix}dC/da = {_fmt(t.grad_a[s])} (through layers[{t.layer + 1}]; no per-neuron breakdown)")
            else:
                lines.append(f"{prefix}sum over the {flows.shape[1]} neurons k of layers[{t.next_layer}] = {_fmt(t.grad_a[s])}; largest terms:")
                for k in _largest(flows[s], t.top):
                    lines.append(f"         k={k}: w_kj {_fmt(w_next[k])} * delta_k {_fmt(delta_next[s, k])} = {_fmt(flows[s, k])}")
            lines.append(f"{prefix}delta = {_fmt(t.grad_a[s])} * {_fmt(t.f_prime[s])} = {_fmt(t.delta[s])}")
    batch = f" (summed over the {n} samples)" if n > 1 else ""
    lines.append(f"gradients{batch}")
    lines.append(f"  BP3  dC/db = {'sum_n delta_n' if n > 1 else 'delta'} = {_fmt(t.grad_bias)}")
    lines.append(f"  BP4  dC/dw_k = a_k * delta; largest of {t.grad_weights.size}:")
    for k in _largest(t.grad_weights, t.top):
        if n == 1:
            lines.append(f"         k={k}: a_k {_fmt(t.inputs[0, k])} * delta {_fmt(t.delta[0])} = {_fmt(t.grad_weights[k])}")
        else:
            lines.append(f"         k={k}: sum_n a_k,n delta_n = {_fmt(t.grad_weights[k])}")
    if t.optimizer is None or t.update_bias is None or t.update_weights is None:
        lines.append("update: none shown (the network has no optimizer yet; pass optimizer=...)")
    else:
        lines.append(f"update by {t.optimizer}")
        lines.append(f"  b: {_fmt(t.bias)} -> {_fmt(t.bias + t.update_bias)}  (change {_fmt(t.update_bias)})")
        for k in _largest(t.update_weights, min(t.top, 3)):
            lines.append(f"  w_{k}: {_fmt(t.weights[k])} -> {_fmt(t.weights[k] + t.update_weights[k])}  (change {_fmt(t.update_weights[k])})")
    return "\n".join(lines)
