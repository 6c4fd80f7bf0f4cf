"""Graders for 06_deep_learning_jax: init_mlp, mlp_forward, cross_entropy, train_step, train_mlp
(22 points).

Tolerances are fit for float32 on a GPU, where JAX's default matrix products use TF32 (about
three decimal digits); a formula bug (ReLU on the logits, a sum for a mean) is off by far more.
"""


import numpy as np

from autograder import assignment, thresholds
from autograder.graders.asserts import (assert_close, assert_dtype, assert_on_device, assert_traceable, fmt_call, is_jitted,
                               log_race)
from autograder.graders.marks import graded
from autograder.submission import Baseline
from solutions import oracles
from solutions.answers import answer_source
from course.digits import load_digits

STEM = "06_deep_learning_jax"
RTOL = 2e-3
ATOL = 2e-3
MIN_TEST_ACCURACY = 0.90
# The configuration train_mlp is graded with. The reference answer reached 94.2-96.1% test accuracy
# (mean 95.1%, sd 0.5%) over 40 keys, in about a second on CPU. Training that goes wrong (steps up
# the gradient, ignores the data) stays far below 90%; a 10x smaller step still reaches 88-92%.
TRAIN_CONFIG = {"sizes": [64, 128, 10], "epochs": 20, "batch_size": 32, "learning_rate": 0.1}
SPEED_LR = 0.1


class Shown:
    """An argument as messages show it (fmt_call would print a list of (W, b) pairs in full)."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def shown(params):
    """[(W, b), ...] as `<params [64, 32, 10]>`: the layer sizes it stands for."""
    return Shown(f"<params {[int(W.shape[0]) for W, _ in params] + [int(params[-1][0].shape[1])]}>")


def make_key(rng):
    """A raw PRNG key as jax.random.PRNGKey makes it: uint32 (2,)."""
    return rng.integers(0, 2**32, size=2, dtype=np.uint32)


def make_params(rng, sizes, bias_scale=0.3):
    """He-scaled weights and nonzero biases (so a forgotten bias shows), float32."""
    return [((rng.standard_normal((i, o)) * np.sqrt(2.0 / i)).astype(np.float32),
             (bias_scale * rng.standard_normal(o)).astype(np.float32))
            for i, o in zip(sizes[:-1], sizes[1:])]


def make_batch(rng, n, sizes):
    x = rng.uniform(0.0, 1.0, (n, sizes[0])).astype(np.float32)
    labels = rng.integers(0, sizes[-1], size=n).astype(np.int32)
    return x, labels


def atol_for(expected):
    return ATOL * (1.0 + float(np.max(np.abs(expected), initial=0.0)))


def as_layers(value, sizes, call):
    """Check the [(W, b), ...] structure of params coming back from the student; return it."""
    n_layers = len(sizes) - 1
    if not isinstance(value, (list, tuple)) or len(value) != n_layers:
        got = f"a {type(value).__name__}" + (f" of {len(value)}" if isinstance(value, (list, tuple)) else "")
        raise AssertionError(
            f"{call} returned {got}, expected a list of {n_layers} (W, b) pairs, one per layer")
    layers = []
    for i, layer in enumerate(value):
        if not isinstance(layer, (list, tuple)) or len(layer) != 2:
            raise AssertionError(f"{call}: layer {i} is not a (W, b) pair")
        W, b = (np.asarray(a) for a in layer)
        want_W, want_b = (sizes[i], sizes[i + 1]), (sizes[i + 1],)
        if W.shape != want_W or b.shape != want_b:
            raise AssertionError(f"{call}: layer {i} has W {W.shape} and b {b.shape}, expected W {want_W} "
                                 f"and b {want_b} (W maps sizes[i] inputs to sizes[i+1] outputs)")
        layers.append((W, b))
    return layers


# ----- init_mlp


@graded
def test_init_mlp_shapes_and_zero_biases(submission, rng):
    """One (W, b) per layer with the right shapes, float32, biases all zero, for several sizes."""
    for sizes in ([64, 32, 10], [3, 5], [10, 20, 30, 4]):
        key = make_key(rng)
        call = fmt_call("init_mlp", key, sizes)
        got = submission.call("init_mlp", key, sizes)
        assert_on_device(got, call=call)
        for i, (W, b) in enumerate(as_layers(got.value, sizes, call)):
            assert_dtype(W, np.float32, call=f"{call}: W of layer {i}")
            assert_dtype(b, np.float32, call=f"{call}: b of layer {i}")
            if np.any(b != 0):
                raise AssertionError(f"{call}: b of layer {i} is not all zeros (max |b| = "
                                     f"{float(np.max(np.abs(b))):.3g}): biases start at zero (jnp.zeros)")


@graded
def test_init_mlp_scaling_and_keys(submission, rng):
    """W is random with He or Glorot scale; the same key gives the same params; layers differ."""
    sizes = [256, 512, 256, 10]
    key = make_key(rng)
    call = fmt_call("init_mlp", key, sizes)
    first = as_layers(submission.call("init_mlp", key, sizes).value, sizes, call)
    for i, (W, _) in enumerate(first):
        fan_in, fan_out = W.shape
        he, glorot = np.sqrt(2.0 / fan_in), np.sqrt(2.0 / (fan_in + fan_out))
        low, high = 0.5 * min(he, glorot), 1.5 * max(he, glorot)
        std, mean = float(np.std(W)), float(np.mean(W))
        if not low <= std <= high:
            fixed = (" (a fixed scale like N(0, 0.01) ignores the layer's size and stalls deep "
                     "networks)" if abs(std - 0.01) < 0.002 or abs(std - 0.1) < 0.02 else "")
            raise AssertionError(
                f"{call}: W of layer {i} ({fan_in}x{fan_out}) has standard deviation {std:.3g}{fixed}; "
                f"the task asks for He initialisation, sqrt(2/fan_in) = {he:.3g}, or Glorot, "
                f"sqrt(2/(fan_in+fan_out)) = {glorot:.3g}: scale the standard normal samples")
        if abs(mean) > 0.2 * std:
            raise AssertionError(f"{call}: W of layer {i} has mean {mean:.3g}, expected about 0 "
                                 "(jax.random.normal, not uniform on [0, 1))")
    again = as_layers(submission.call("init_mlp", key, sizes).value, sizes, call)
    if any(not np.array_equal(W1, W2) for (W1, _), (W2, _) in zip(first, again)):
        raise AssertionError(f"{call} gave different weights for the same key: draw them from `key` "
                             "with jax.random (no NumPy randomness, no global state)")
    other_key = make_key(rng)
    other = as_layers(submission.call("init_mlp", other_key, sizes).value, sizes, call)
    if np.array_equal(first[0][0], other[0][0]):
        raise AssertionError(f"init_mlp gave the same weights for keys {key.tolist()} and "
                             f"{other_key.tolist()}: draw them from the key it is given")
    square = [32, 32, 32]
    call = fmt_call("init_mlp", key, square)
    (W0, _), (W1, _) = as_layers(submission.call("init_mlp", key, square).value, square, call)
    if np.array_equal(W0, W1):
        raise AssertionError(f"{call}: layers 0 and 1 got identical weights: split the key "
                             "(jax.random.split) and use one subkey per layer")


# ----- mlp_forward and cross_entropy


FORWARD_CASES = [([64, 32, 10], 7), ([5, 3], 4), ([8, 16, 16, 4], 1), ([12, 20, 6], 50)]


def _log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _forward_hint(got, expected) -> str:
    """Name the usual deviation when the output is a known transform of the logits."""
    got = np.asarray(got, dtype=np.float64)
    if got.shape == expected.shape:
        close = lambda wrong: np.allclose(got, wrong, rtol=RTOL, atol=atol_for(wrong))  # noqa: E731
        if close(np.maximum(expected, 0)):
            return "ReLU on the logits: the last layer has no activation (logits can be negative)"
        if close(_log_softmax(expected)):
            return ("that is log_softmax(logits): mlp_forward returns the logits themselves, and "
                    "cross_entropy applies jax.nn.log_softmax")
        if close(np.exp(_log_softmax(expected))):
            return "that is softmax(logits), the probabilities: mlp_forward returns the logits themselves"
    return "ReLU after every layer but the last; the last layer's output are the logits"


@graded
def test_mlp_forward_matches_reference(submission, rng):
    """Logits of the MLP (ReLU between layers, none after the last), at several depths."""
    for sizes, n in FORWARD_CASES:
        params = make_params(rng, sizes)
        x = rng.standard_normal((n, sizes[0])).astype(np.float32)
        call = fmt_call("mlp_forward", shown(params), x)
        got = submission.call("mlp_forward", params, x)
        assert_on_device(got, call=call)
        assert_dtype(got.value, np.float32, call=call)
        expected = oracles.mlp_forward(params, x)
        assert_close(got.value, expected, call=call, rtol=RTOL, atol=atol_for(expected),
                     hint=_forward_hint(got.value, expected))


@graded
def test_cross_entropy_matches_reference(submission, rng):
    """Mean softmax cross-entropy over the batch, at several sizes."""
    for sizes, n in FORWARD_CASES:
        params = make_params(rng, sizes)
        x, labels = make_batch(rng, n, sizes)
        call = fmt_call("cross_entropy", shown(params), x, labels)
        got = submission.call("cross_entropy", params, x, labels)
        assert_on_device(got, call=call)
        value = np.asarray(got.value)
        if value.shape != ():
            raise AssertionError(f"{call} returned shape {value.shape}, expected a scalar: the mean "
                                 "over the batch of -log softmax(logits)[label]")
        assert_dtype(value, np.float32, call=call)
        expected = oracles.cross_entropy(params, x, labels)
        hint = "mean over the batch of -log_softmax(logits)[label] (jax.nn.log_softmax)"
        n_classes = sizes[-1]
        if n > 1 and np.isclose(value, n * expected, rtol=RTOL, atol=ATOL):
            hint = "it is the sum over the batch, not the mean: use jnp.mean"
        elif np.isclose(value * n_classes, expected, rtol=RTOL, atol=ATOL):
            hint = (f"it is the cross-entropy divided by the {n_classes} classes: "
                    "-jnp.mean(log_probs * one_hot) averages over classes too; sum over the classes "
                    "(or pick the label's log-probability), then average over the batch only")
        assert_close(value, expected, call=call, rtol=RTOL, atol=ATOL, hint=hint)


# ----- train_step


def _check_step(got, params, x, labels, lr, sizes, call):
    """(new_params, loss_before) against one oracle SGD step."""
    if not isinstance(got, (list, tuple)) or len(got) != 2:
        raise AssertionError(f"{call} returned a {type(got).__name__}, expected a pair (new_params, loss)")
    new_params, loss = got
    exp_params, exp_loss = oracles.train_step(params, x, labels, lr)
    for i, ((W, b), (eW, eb)) in enumerate(zip(as_layers(new_params, sizes, call), exp_params)):
        for name, value, expected in (("W", W, eW), ("b", b, eb)):
            assert_dtype(value, np.float32, call=f"{call}: new {name} of layer {i}")
            assert_close(value, expected, call=f"{call}: new {name} of layer {i}", rtol=RTOL,
                         atol=atol_for(expected),
                         hint="new = old - learning_rate * gradient of the mean cross-entropy")
    loss = np.asarray(loss)
    hint = "the loss is cross_entropy(params, x, labels) BEFORE the update"
    loss_after = oracles.cross_entropy(exp_params, x, labels)
    if loss.shape == () and np.isclose(loss, loss_after, rtol=RTOL, atol=ATOL):
        hint = ("it is the loss AFTER the step: return the loss computed before the update "
                "(jax.value_and_grad gives it with the gradient)")
    assert_close(loss, exp_loss, call=f"{call}: loss", rtol=RTOL, atol=ATOL, hint=hint)


@graded
def test_train_step_matches_reference(submission, rng):
    """One SGD step: new params and the loss before the step, at several sizes."""
    for (sizes, n), lr in zip(FORWARD_CASES, (0.5, 0.1, 1.0, 0.3)):
        params = make_params(rng, sizes)
        x, labels = make_batch(rng, n, sizes)
        call = fmt_call("train_step", shown(params), x, labels, lr)
        got = submission.call("train_step", params, x, labels, lr)
        assert_on_device(got, call=call)
        try:
            _check_step(got.value, params, x, labels, lr, sizes, call)
        except AssertionError as wrong:
            raise AssertionError(f"{wrong}{_own_loss_note(submission, got.value, params, x, labels)}") from None


# train_step and train_mlp are judged against the oracle, not against the student's own
# cross_entropy, init_mlp or train_step: the network a student hands in is what it computes. When
# they are wrong because an earlier exercise is, the message says which one to fix first.
def _own_loss_note(submission, got, params, x, labels) -> str:
    """When train_step's loss is the notebook's own cross_entropy and that one is wrong: say so."""
    try:
        own = float(np.asarray(submission.call("cross_entropy", params, x, labels).value))
        loss = float(np.asarray(got[1]))
    except (AssertionError, TypeError, ValueError, IndexError):  # no usable cross_entropy or loss
        return ""
    reference = float(oracles.cross_entropy(params, x, labels))
    if np.isclose(loss, own, rtol=RTOL, atol=ATOL) and not np.isclose(own, reference, rtol=RTOL, atol=ATOL):
        return ("; the step follows YOUR cross_entropy, which differs from the reference: fix cross_entropy "
                "first (its own test says how)")
    return ""


def _upstream_note(submission, rng) -> str:
    """When train_mlp trains badly: which of the functions it builds on are wrong."""
    wrong = []
    sizes = [64, 32, 10]
    try:
        layers = as_layers(submission.call("init_mlp", make_key(rng), sizes).value, sizes, "init_mlp")
        std = float(np.std(layers[0][0]))
        if not 0.5 * np.sqrt(2.0 / (64 + 32)) <= std <= 1.5 * np.sqrt(2.0 / 64):
            wrong.append(f"init_mlp (weights of standard deviation {std:.3g}, not He or Glorot)")
    except AssertionError:
        wrong.append("init_mlp")
    params = make_params(rng, sizes)
    x, labels = make_batch(rng, 16, sizes)
    try:
        _check_step(submission.call("train_step", params, x, labels, 0.1).value, params, x, labels, 0.1,
                    sizes, "train_step")
    except AssertionError:
        wrong.append("train_step")
    if not wrong:
        return ""
    return (f"; train_mlp builds on them, and your {' and '.join(wrong)} differ from the reference: fix "
            "them first (their own tests say how)")


@graded
def test_train_step_is_jitted(submission, rng):
    """train_step is one jit-compiled program."""
    sizes = [8, 16, 4]
    params = make_params(rng, sizes)
    x, labels = make_batch(rng, 5, sizes)
    trace = submission.trace("train_step", params, x, labels, 0.1, static=(3,))
    assert_traceable(trace, name="train_step")
    if not is_jitted(trace):
        raise AssertionError(
            "train_step is not jit-compiled: decorate it with @jax.jit so that the forward pass, the "
            f"gradient and the update run as one compiled program (it runs {len(trace.top)} operations "
            "one by one now)")


# ----- train_mlp


@graded
def test_train_mlp_reaches_accuracy(submission, rng):
    """train_mlp on the digits' training split reaches >= 90% accuracy on the held-out split."""
    data = load_digits()
    key = make_key(rng)
    cfg = TRAIN_CONFIG
    args = (key, data.x_train, data.y_train, cfg["sizes"], cfg["epochs"], cfg["batch_size"],
            cfg["learning_rate"])
    call = fmt_call("train_mlp", *args)
    got = submission.call("train_mlp", *args)
    assert_on_device(got, call=call)
    params = as_layers(got.value, cfg["sizes"], call)
    logits = oracles.mlp_forward(params, data.x_test)
    if not np.all(np.isfinite(logits)):
        raise AssertionError(f"{call} returned params that give NaN or inf logits: the training "
                             "diverged; check the update sign (params - learning_rate * grads)")
    accuracy = float(np.mean(logits.argmax(axis=1) == data.y_test))
    if accuracy < MIN_TEST_ACCURACY:
        raise AssertionError(
            f"{call} reached {accuracy:.1%} accuracy on the held-out digits, expected at least "
            f"{MIN_TEST_ACCURACY:.0%}: step against the gradient (params - learning_rate * grads) with the "
            "learning_rate given, over every minibatch of every epoch, starting from init_mlp"
            + _upstream_note(submission, rng))


# ----- speed


def _us(times):
    return f"{np.median(times) * 1e6:.0f} us"


@graded
def test_train_step_speed_vs_reference(submission, rng):
    """On a GPU, train_step is within a factor of the reference answer's jitted step."""
    threshold = assignment.threshold("train_step_speed_vs_reference")
    sizes, batch = list(thresholds.TRAIN_STEP_SPEED_SIZES), thresholds.TRAIN_STEP_SPEED_BATCH
    runs = [[make_params(rng, sizes, bias_scale=0.0), *make_batch(rng, batch, sizes), SPEED_LR]
            for _ in range(thresholds.SPEED_RUNS)]
    reference = Baseline("train_step", source=answer_source(STEM), clean=True)
    race = submission.race("train_step", reference, runs, threshold=threshold)
    log_race("train_step vs reference", race)
    for args, out in zip(runs, race.outputs):
        params, x, labels, lr = args
        _check_step(out, *args, sizes, fmt_call("train_step", shown(params), x, labels, lr) + " (timed)")
    if not threshold.passes(race.speedup):
        raise AssertionError(
            f"train_step took {_us(race.candidate_s)} per step (sizes {sizes}, batch {batch}), "
            f"{threshold.ratio(race.speedup):.1f}x the reference's {_us(race.baseline_s)}; at most "
            f"{threshold.value:g}x is allowed: decorate train_step with @jax.jit and compute loss and "
            "gradient in one jax.value_and_grad call")


@graded
def test_train_mlp_reshuffles_with_fresh_keys(submission, rng):
    """Each epoch reshuffles with a new key taken from `key`: no key is drawn from twice."""
    data = load_digits()
    key = make_key(rng)
    n, sizes, batch = 96, [64, 16, 10], 32

    def draws(epochs):  # run op by op, so that every key used is seen (Submission.key_draws)
        return submission.key_draws("train_mlp", key, data.x_train[:n], data.y_train[:n], sizes,
                                    epochs, batch, 0.1)

    # One epoch against two: a second shuffle needs a new key (the op-by-op run is slow on a GPU).
    one, two = draws(1), draws(2)
    for record in (one, two):
        first = {}
        for i, draw in enumerate(record):
            k = tuple(np.ravel(draw["key"]).tolist())
            if k == tuple(key.tolist()):
                raise AssertionError(
                    f"train_mlp drew ({draw['fn']}) with the key it was given: take keys from it with "
                    "jax.random.split (one for init_mlp, one per epoch for the shuffle)")
            if k in first:
                j, fn = first[k]
                raise AssertionError(
                    f"train_mlp drew twice from the same key (draw {j + 1}, {fn}, and draw {i + 1}, "
                    f"{draw['fn']}, of {len(record)}): a key reused across epochs shuffles every epoch "
                    "the same way; split a new subkey for every epoch, e.g. "
                    "jax.random.split(shuffle_key, epochs)")
            first[k] = (i, draw["fn"])
    if len(two) <= len(one):
        raise AssertionError(
            f"train_mlp made {len(one)} random draws for 1 epoch and {len(two)} for 2: it does not "
            "reshuffle each epoch; draw a new permutation (jax.random.permutation) with a fresh subkey "
            "at the start of every epoch")
