"""Optimizers: each update rule against an independent reference written from the torch.optim
documentation, in-place updates, per-parameter state and its dtype, hyper-parameter
validation, the name table, and SGD's closed-form convergence on a quadratic."""

import math

import numpy as np
import pytest

import neurolab as nl
from neurolab.parameter import Parameter

# ---------------------------------------------------------------- references (torch.optim docs)


def reference_sgd(w, grads, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    """torch.optim.SGD with dampening = 0: the weights after each step."""
    w, b, history = w.copy(), None, []
    for g in grads:
        if weight_decay:
            g = g + weight_decay * w
        if momentum:
            b = g.copy() if b is None else momentum * b + g
            g = g + momentum * b if nesterov else b
        w = w - lr * g
        history.append(w)
    return history


def reference_rmsprop(w, grads, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
    """torch.optim.RMSprop, not centered."""
    w, v, b, history = w.copy(), np.zeros_like(w), np.zeros_like(w), []
    for g in grads:
        if weight_decay:
            g = g + weight_decay * w
        v = alpha * v + (1 - alpha) * g**2
        if momentum:
            b = momentum * b + g / (np.sqrt(v) + eps)
            w = w - lr * b
        else:
            w = w - lr * g / (np.sqrt(v) + eps)
        history.append(w)
    return history


def reference_adam(w, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """torch.optim.Adam (amsgrad = False), with the bias-corrected moments written out."""
    beta1, beta2 = betas
    w, m, v, history = w.copy(), np.zeros_like(w), np.zeros_like(w), []
    for t, g in enumerate(grads, start=1):
        if weight_decay:
            g = g + weight_decay * w
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        history.append(w)
    return history


CASES = [
    (nl.optim.SGD, reference_sgd, {"lr": 0.1}),
    (nl.optim.SGD, reference_sgd, {"lr": 0.1, "momentum": 0.9}),
    (nl.optim.SGD, reference_sgd, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (nl.optim.SGD, reference_sgd, {"lr": 0.1, "weight_decay": 0.01}),
    (nl.optim.SGD, reference_sgd, {"lr": 0.05, "momentum": 0.5, "nesterov": True, "weight_decay": 0.1}),
    (nl.optim.RMSprop, reference_rmsprop, {}),
    (nl.optim.RMSprop, reference_rmsprop, {"lr": 0.05, "alpha": 0.9, "eps": 0.1}),
    (nl.optim.RMSprop, reference_rmsprop, {"lr": 0.01, "momentum": 0.9}),
    (nl.optim.RMSprop, reference_rmsprop, {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.1}),
    (nl.optim.Adam, reference_adam, {}),
    (nl.optim.Adam, reference_adam, {"lr": 0.1, "betas": (0.5, 0.8), "eps": 0.1}),
    (nl.optim.Adam, reference_adam, {"lr": 0.01, "weight_decay": 0.1}),
]
IDS = [f"{cls.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for cls, _, kw in CASES]


def initial_value(dtype=np.float64, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (2, 3)).astype(dtype)


def fixed_grads(steps=3, seed=1):
    """A different fixed gradient for each step (a stale gradient would be noticed)."""
    return list(np.random.default_rng(seed).normal(0, 1, (steps, 2, 3)))


def run(optimizer, parameter, grads):
    history = []
    for g in grads:
        parameter.grad[...] = g
        optimizer.step([parameter])
        history.append(parameter.value.copy())
    return history


@pytest.mark.parametrize("cls, reference, kwargs", CASES, ids=IDS)
def test_update_matches_the_torch_rule_over_three_steps(cls, reference, kwargs):
    w0, grads = initial_value(), fixed_grads()
    parameter = nl.Parameter(w0.copy())
    actual = run(cls(**kwargs), parameter, grads)
    expected = reference(w0, grads, **kwargs)
    for t, (a, e) in enumerate(zip(actual, expected), start=1):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-15, err_msg=f"after step {t}")
    assert not np.allclose(actual[0], w0)  # the reference really moved the weights


def test_sgd_momentum_first_step_uses_the_gradient_itself():
    parameter = nl.Parameter(np.array([1.0, -2.0]))
    optimizer = nl.optim.SGD(lr=0.5, momentum=0.9)
    parameter.grad[...] = [2.0, 4.0]
    optimizer.step([parameter])
    np.testing.assert_array_equal(parameter.value, [0.0, -4.0])  # w - lr * g, not lr * (1 - m) g
    np.testing.assert_array_equal(optimizer.state[parameter]["velocity"], [2.0, 4.0])
    optimizer.step([parameter])  # v = 0.9 * [2, 4] + [2, 4]
    np.testing.assert_allclose(parameter.value, [0.0 - 0.5 * 3.8, -4.0 - 0.5 * 7.6], rtol=1e-15)


def test_nesterov_looks_ahead_by_momentum_times_velocity():
    parameter = nl.Parameter(np.array([1.0]))
    optimizer = nl.optim.SGD(lr=0.5, momentum=0.9, nesterov=True)
    parameter.grad[...] = 2.0
    optimizer.step([parameter])  # v = 2, step = g + 0.9 v = 3.8
    np.testing.assert_allclose(parameter.value, [1.0 - 0.5 * 3.8], rtol=1e-15)


def test_adam_first_step_is_lr_times_the_sign_thanks_to_bias_correction():
    parameter = nl.Parameter(np.array([1.0, 1.0, 1.0]))
    optimizer = nl.optim.Adam(lr=0.01)
    parameter.grad[...] = [1e-3, -5.0, 300.0]
    optimizer.step([parameter])
    # m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps), about lr * sign(g)
    g = np.array([1e-3, -5.0, 300.0])
    np.testing.assert_allclose(parameter.value, 1 - 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(parameter.value, [0.99, 1.01, 0.99], rtol=1e-6)
    assert optimizer.state[parameter]["step"] == 1


def test_weight_decay_is_added_to_the_gradient_without_changing_grad():
    parameter = nl.Parameter(np.array([2.0, -4.0]))
    parameter.grad[...] = [1.0, 1.0]
    nl.optim.SGD(lr=0.1, weight_decay=0.5).step([parameter])
    np.testing.assert_allclose(parameter.value, [2.0 - 0.1 * 2.0, -4.0 - 0.1 * -1.0], rtol=1e-15)
    np.testing.assert_array_equal(parameter.grad, [1.0, 1.0])


def test_step_does_not_change_grad():
    for cls, _, kwargs in CASES:
        parameter = nl.Parameter(initial_value())
        parameter.grad[...] = fixed_grads(1)[0]
        before = parameter.grad.copy()
        cls(**kwargs).step([parameter])
        np.testing.assert_array_equal(parameter.grad, before, err_msg=repr(cls(**kwargs)))


# ---------------------------------------------------------------- in place, per parameter


@pytest.mark.parametrize("cls, reference, kwargs", CASES, ids=IDS)
def test_updates_are_in_place(cls, reference, kwargs):
    parameter = nl.Parameter(initial_value())
    value, grad = parameter.value, parameter.grad
    row = parameter.value[1]  # a view, like a neuron's weights
    run(cls(**kwargs), parameter, fixed_grads())
    assert parameter.value is value and parameter.grad is grad
    expected = reference(initial_value(), fixed_grads(), **kwargs)[-1]
    np.testing.assert_allclose(row, expected[1], rtol=1e-12)


@pytest.mark.parametrize("cls, reference, kwargs", CASES, ids=IDS)
def test_state_is_per_parameter(cls, reference, kwargs):
    first, second = nl.Parameter(initial_value(seed=0)), nl.Parameter(initial_value(seed=5))
    grads_first, grads_second = fixed_grads(seed=1), fixed_grads(seed=2)
    optimizer = cls(**kwargs)
    for g1, g2 in zip(grads_first, grads_second):
        first.grad[...], second.grad[...] = g1, g2
        optimizer.step([first, second])
    np.testing.assert_allclose(first.value, reference(initial_value(seed=0), grads_first, **kwargs)[-1], rtol=1e-12)
    np.testing.assert_allclose(second.value, reference(initial_value(seed=5), grads_second, **kwargs)[-1], rtol=1e-12)
    assert set(optimizer.state) == {first, second}
    for a in optimizer.state[first].values():
        for b in optimizer.state[second].values():
            assert not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.shares_memory(a, b))


def test_step_accepts_any_iterable_and_an_empty_one():
    parameter = nl.Parameter(np.array([1.0]))
    parameter.grad[...] = 1.0
    optimizer = nl.optim.SGD(lr=0.25)
    optimizer.step(p for p in [parameter])
    optimizer.step([])
    np.testing.assert_array_equal(parameter.value, [0.75])


# ---------------------------------------------------------------- float32


@pytest.mark.parametrize("cls, reference, kwargs", CASES, ids=IDS)
def test_float32_parameters_and_state_stay_float32(cls, reference, kwargs):
    parameter = nl.Parameter(initial_value(np.float32))
    optimizer = cls(**kwargs)
    history = run(optimizer, parameter, [g.astype(np.float32) for g in fixed_grads()])
    assert parameter.value.dtype == np.float32 and parameter.grad.dtype == np.float32
    arrays = [v for v in optimizer.state[parameter].values() if isinstance(v, np.ndarray)]
    momentum = int(bool(kwargs.get("momentum")))
    assert len(arrays) == {"SGD": momentum, "RMSprop": 1 + momentum, "Adam": 2}[cls.__name__]
    assert all(a.dtype == np.float32 for a in arrays), {k: getattr(v, "dtype", v) for k, v in optimizer.state[parameter].items()}
    expected = reference(initial_value(np.float32).astype(np.float64), [g.astype(np.float32).astype(np.float64) for g in fixed_grads()], **kwargs)
    np.testing.assert_allclose(history[-1], expected[-1], rtol=1e-4, atol=1e-6)


def test_state_names():
    parameter = nl.Parameter(np.ones(2))
    for optimizer, keys in [
        (nl.optim.SGD(momentum=0.9), {"velocity"}),
        (nl.optim.SGD(), set()),
        (nl.optim.RMSprop(), {"square_avg"}),
        (nl.optim.RMSprop(momentum=0.5), {"square_avg", "velocity"}),
        (nl.optim.Adam(), {"step", "m", "v"}),
    ]:
        optimizer.step([parameter])
        assert set(optimizer.state[parameter]) == keys, repr(optimizer)


# ---------------------------------------------------------------- hyper-parameter validation


@pytest.mark.parametrize("cls", [nl.optim.SGD, nl.optim.RMSprop, nl.optim.Adam])
@pytest.mark.parametrize(
    "lr, error, shown",
    [
        (0, ValueError, r"0\.0"),
        (-0.1, ValueError, r"-0\.1"),
        (float("nan"), ValueError, "nan"),
        (float("inf"), ValueError, "inf"),
        (True, TypeError, "True"),
        ("0.1", TypeError, r"'0\.1'"),
        (None, TypeError, "None"),
    ],
)
def test_lr_validation(cls, lr, error, shown):
    with pytest.raises(error, match=rf"^{cls.__name__}: expected lr to be a positive finite number, got {shown}$"):
        cls(lr=lr)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: nl.optim.SGD(momentum=1.0), ValueError, r"^SGD: expected momentum in \[0, 1\), got 1\.0$"),
        (lambda: nl.optim.SGD(momentum=1.5), ValueError, r"^SGD: expected momentum in \[0, 1\), got 1\.5$"),
        (lambda: nl.optim.SGD(momentum=-0.1), ValueError, r"^SGD: expected momentum to be a non-negative finite number, got -0\.1$"),
        (lambda: nl.optim.SGD(nesterov=True), ValueError, r"^SGD: expected momentum > 0 with nesterov=True, got momentum=0$"),
        (lambda: nl.optim.SGD(weight_decay=-1), ValueError, r"^SGD: expected weight_decay to be a non-negative finite number, got -1\.0$"),
        (lambda: nl.optim.Adam(weight_decay="1e-4"), TypeError, r"^Adam: expected weight_decay to be a non-negative finite number, got '1e-4'$"),
        (lambda: nl.optim.RMSprop(momentum=1), ValueError, r"^RMSprop: expected alpha and momentum in \[0, 1\), got 0\.99 and 1$"),
        (lambda: nl.optim.RMSprop(alpha=1.0), ValueError, r"^RMSprop: expected alpha and momentum in \[0, 1\), got 1\.0 and 0\.0$"),
        (lambda: nl.optim.RMSprop(eps=0), ValueError, r"^RMSprop: expected eps to be a positive finite number, got 0\.0$"),
        (lambda: nl.optim.Adam(betas=(1.0, 0.999)), ValueError, r"^Adam: expected betas in \[0, 1\), got \(1\.0, 0\.999\)$"),
        (lambda: nl.optim.Adam(betas=(0.9, 1.0)), ValueError, r"^Adam: expected betas in \[0, 1\), got \(0\.9, 1\.0\)$"),
        (lambda: nl.optim.Adam(betas=(-0.1, 0.9)), ValueError, r"^Adam: expected betas in \[0, 1\), got \(-0\.1, 0\.9\)$"),
        (lambda: nl.optim.Adam(betas=(float("nan"), 0.9)), ValueError, r"^Adam: expected betas in \[0, 1\), got \(nan, 0\.9\)$"),
        (lambda: nl.optim.Adam(betas=(0.9,)), TypeError, r"^Adam: expected betas to be a pair of numbers, got \(0\.9,\)$"),
        (lambda: nl.optim.Adam(betas=0.9), TypeError, r"^Adam: expected betas to be a pair of numbers, got 0\.9$"),
        (lambda: nl.optim.Adam(eps=-1e-8), ValueError, r"^Adam: expected eps to be a positive finite number, got -1e-08$"),
    ],
)
def test_hyper_parameter_validation(make, error, message):
    with pytest.raises(error, match=message):
        make()


# ---------------------------------------------------------------- name table, defaults, repr


def test_get_by_name_and_instance():
    adam = nl.optim.get("adam")
    assert type(adam) is nl.optim.Adam
    assert (adam.lr, adam.betas, adam.eps, adam.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.0)
    rmsprop = nl.optim.get("RMSprop")
    assert type(rmsprop) is nl.optim.RMSprop
    assert (rmsprop.lr, rmsprop.alpha, rmsprop.eps, rmsprop.momentum) == (0.01, 0.99, 1e-8, 0.0)
    assert type(nl.optim.get("SGD")) is nl.optim.SGD
    sgd = nl.optim.SGD(lr=0.3)
    assert nl.optim.get(sgd) is sgd
    assert sorted(nl.optim.OPTIMIZERS) == ["adam", "rmsprop", "sgd"]


def test_get_errors_list_the_valid_names():
    with pytest.raises(ValueError, match=r"^optimizer: expected one of \['adam', 'rmsprop', 'sgd'\], got 'adagrad'$"):
        nl.optim.get("adagrad")
    with pytest.raises(TypeError, match=r"^optimizer: expected a name or a neurolab\.optim\.Optimizer, got int$"):
        nl.optim.get(3)


def test_repr():
    assert repr(nl.optim.SGD(lr=0.1, momentum=0.9, nesterov=True)) == "SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.0)"
    assert repr(nl.optim.RMSprop(lr=0.02, momentum=0.5)) == "RMSprop(lr=0.02, alpha=0.99, eps=1e-08, momentum=0.5, weight_decay=0.0)"
    assert repr(nl.optim.Adam(weight_decay=1e-4)) == "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0001)"


def test_hyper_parameters_are_stored_as_python_numbers():
    sgd = nl.optim.SGD(lr=np.float32(0.5), momentum=np.float64(0.25))
    assert type(sgd.lr) is float and type(sgd.momentum) is float and sgd.lr == 0.5
    adam = nl.optim.Adam(betas=[np.float32(0.5), 0.75])
    assert adam.betas == (0.5, 0.75) and all(type(b) is float for b in adam.betas)


# ---------------------------------------------------------------- convergence


def test_sgd_on_half_squared_norm_follows_the_closed_form():
    """f(w) = ||w||^2 / 2 has grad w, so w_t = (1 - lr)^t w_0 -> 0."""
    w0 = np.array([3.0, -4.0, 0.5])
    lr = 0.1
    parameter = nl.Parameter(w0.copy())
    optimizer = nl.optim.SGD(lr=lr)
    for t in range(1, 101):
        parameter.grad[...] = parameter.value
        optimizer.step([parameter])
        np.testing.assert_allclose(parameter.value, (1 - lr) ** t * w0, rtol=1e-12)
    assert np.linalg.norm(parameter.value) < 2e-4  # from 5.02
    assert np.linalg.norm(parameter.value) == pytest.approx(0.9**100 * math.sqrt(25.25), rel=1e-12)


def sgd_by_formula(value, grads, lr, momentum, nesterov):
    """Whole-array SGD steps (torch's rule), in float32 like the optimizer's."""
    lr, momentum = np.float32(lr), np.float32(momentum)
    velocity = None
    for g in grads:
        if momentum:
            velocity = g.copy() if velocity is None else velocity * momentum + g
            g = g + momentum * velocity if nesterov else velocity
        value = value - lr * g
    return value


@pytest.mark.parametrize("shape", [(10,), (300, 7), (7, 300)])
@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_float32_steps_give_the_numbers_of_the_formula_bit_for_bit(shape, momentum, nesterov):
    rng = np.random.default_rng(len(shape))
    start = rng.normal(size=shape).astype(np.float32)
    grads = [rng.normal(size=shape).astype(np.float32) for _ in range(3)]
    p = Parameter(start.copy())
    opt = nl.optim.SGD(lr=0.05, momentum=momentum, nesterov=nesterov)
    for g in grads:
        p.grad[...] = g
        opt.step([p])
    assert p.value.dtype == np.float32
    np.testing.assert_array_equal(p.value, sgd_by_formula(start, grads, 0.05, momentum, nesterov))


def test_sgd_steps_a_strided_parameter_in_place():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(300, 4)).astype(np.float32).T  # (4, 300), not C-contiguous
    grads = [rng.normal(size=(4, 300)).astype(np.float32) for _ in range(2)]
    p = Parameter(start.copy(order="K"))
    value = p.value
    assert not value.flags.c_contiguous
    opt = nl.optim.SGD(lr=0.5, momentum=0.9, nesterov=True)
    for g in grads:
        p.grad[...] = g
        opt.step([p])
    assert p.value is value
    np.testing.assert_array_equal(p.value, sgd_by_formula(start, grads, 0.5, 0.9, True))
