"""The six workshop scripts run end to end on CPU, and course.timing times honestly.

Each script runs as a subprocess exactly as the outline tells students to run it
(``python workshop-3-examples/NN_name.py``), with small flags so the file stays quick on a
2-core machine. The timing tests compare ratios of durations, never absolute seconds.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

from course.timing import Timing, device_summary, fmt_speedup, fmt_time, format_table, time_call

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "workshop-3-examples"
SCRIPTS = [
    "01_jax_intro.py",
    "02_jax_jit.py",
    "03_jax_grad.py",
    "04_jax_vmap.py",
    "05_heat_equation_jax.py",
    "06_deep_learning_jax.py",
]
DEVICE_LINE = re.compile(r"^Device: cpu: \d+ cores\s+jax\.devices\(\) = \[CpuDevice", re.MULTILINE)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_script(name: str, *flags: str) -> str:
    """Run one example on CPU; fail with its stderr unless it exits 0. Returns stdout."""
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *flags],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, f"{name} {flags} exited {result.returncode}:\n{result.stderr[-4000:]}"
    return result.stdout


def assert_png(path: Path) -> None:
    assert path.is_file(), f"no plot written at {path}"
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5_000, f"{path} is not a real PNG ({len(data)} bytes)"


# ---------------------------------------------------------------------- the scripts
def test_all_six_outline_scripts_exist():
    assert sorted(p.name for p in EXAMPLES.glob("0*.py")) == SCRIPTS


@pytest.mark.parametrize("name", SCRIPTS)
def test_help_documents_the_flags(name):
    out = run_script(name, "--help")
    assert out.startswith("usage:")
    assert "--repeats" in out
    # Every script offers at least one knob to make the problem GPU-sized.
    assert any(flag in out for flag in ("--size", "--steps", "--epochs", "--hidden"))


def test_01_intro():
    out = run_script("01_jax_intro.py", "--size", "64", "--repeats", "2")
    assert DEVICE_LINE.search(out)
    assert "TypeError: JAX arrays are immutable" in out
    assert "original grid still all zeros: True" in out
    assert "identical: True" in out and "different: True" in out
    for row in ("NumPy (np.matmul)", "JAX (jnp.matmul)", "JAX, precision='highest'"):
        match = re.search(rf"^{re.escape(row)}\s+\S+ \w+\s+[\d.]+\s+(\S+)$", out, re.MULTILINE)
        assert match and float(match.group(1)) < 1e-2, row  # relative error vs float64


def test_01_x64_flag_switches_default_dtype():
    out = run_script("01_jax_intro.py", "--size", "32", "--repeats", "1", "--x64")
    assert "jnp.array(1.0).dtype          = float64" in out


def test_02_jit():
    out = run_script("02_jax_jit.py", "--size", "20000", "--repeats", "2")
    assert DEVICE_LINE.search(out)
    # Four calls, two distinct shapes: the print inside the jitted function runs twice.
    assert out.count("[tracing noisy_square]") == 2
    assert "TracerBoolConversionError" in out and "TracerIntegerConversionError" in out
    assert re.search(r"max \|gelu_jit - NumPy float64 GELU\| = \S+  -> OK", out)
    for row in ("NumPy", "JAX eager (gelu)", "JAX jit (gelu_jit)"):
        assert re.search(rf"^{re.escape(row)}\s+\S+ \w+", out, re.MULTILINE), row


def test_03_grad():
    out = run_script("03_jax_grad.py", "--size", "300", "--steps", "200", "--repeats", "2")
    assert DEVICE_LINE.search(out)
    assert "f' = 14.0 (exact 14),  f'' = 12.0 (exact 12)" in out
    assert re.search(r"gradient check: worst relative error \S+ -> OK", out)
    gap = float(re.search(r"max \|gradient descent - least squares\| = (\S+) -> OK", out).group(1))
    assert gap < 1e-2


def test_04_vmap():
    out = run_script("04_jax_vmap.py", "--size", "64", "--hidden", "8", "--repeats", "2")
    assert DEVICE_LINE.search(out)
    assert re.search(r"max \|vmap - hand-batched matmul\| = \S+ -> OK", out)
    assert re.search(r"max \|mean of per-example grads - grad of mean loss\| = \S+ -> OK", out)
    assert "'w': (64, 8, 8)" in out  # per-example grads: a leading axis of 64 examples


def test_05_heat_agrees_with_numpy_and_plots(tmp_path):
    plot = tmp_path / "heat.png"
    out = run_script("05_heat_equation_jax.py", "--size", "48", "--steps", "60", "--repeats", "2",
                     "--plot", str(plot))
    assert DEVICE_LINE.search(out)
    assert re.search(r"agreement with NumPy \(tolerance \S+\): OK", out)
    assert out.count("  OK") >= 3  # eager, simulate and simulate_masked each checked
    per_step = re.findall(r"^(NumPy|JAX) .*?\s(\d+)\s+\S+ \w+\s+[\d.]+\s", out, re.MULTILINE)
    assert len(per_step) == 5, out
    assert_png(plot)


def test_06_mlp_learns_and_plots(tmp_path):
    plot = tmp_path / "curves.png"
    out = run_script("06_deep_learning_jax.py", "--epochs", "8", "--repeats", "1", "--plot", str(plot))
    assert DEVICE_LINE.search(out)
    assert "autodiff matches the hand-written backprop: OK" in out
    match = re.search(r"test accuracy after 8 epochs: NumPy ([\d.]+), JAX ([\d.]+)", out)
    assert match, out
    numpy_acc, jax_acc = map(float, match.groups())
    # 10 classes: chance is 0.1; this MLP reaches ~0.94 after 8 epochs.
    assert numpy_acc >= 0.85 and jax_acc >= 0.85
    assert re.search(r"^JAX train_epoch \(lax\.scan\)\s+\S+ \w+", out, re.MULTILINE)
    assert "reproduces the loop's parameters exactly: True" in out  # same key, same model
    assert_png(plot)


# ---------------------------------------------------------------------- course.timing
class Lazy:
    """Stands in for an array still being computed: waiting for it takes `delay` seconds."""

    def __init__(self, delay: float):
        self.delay = delay

    def block_until_ready(self):
        time.sleep(self.delay)
        return self


def test_median_orders_known_sleeps():
    short = time_call(lambda: time.sleep(0.005), repeats=3, warmup=0)
    long = time_call(lambda: time.sleep(0.1), repeats=3, warmup=0)
    assert long.median_s / short.median_s > 3  # true ratio 20; sleep overshoot on a busy machine narrows it
    assert short.min_s <= short.median_s <= short.max_s


def test_first_call_is_reported_apart_not_in_the_median():
    calls = []

    def slow_first_call():
        time.sleep(0.3 if not calls else 0.002)
        calls.append(1)

    t = time_call(slow_first_call, repeats=5, warmup=1)
    assert len(calls) == 6 and len(t.times) == 5
    assert t.max_s < t.first_s / 5  # the slow call is in none of the timed repeats
    assert t.compile_s > 5 * t.median_s


def test_jit_compilation_is_separated():
    f = jax.jit(lambda x: jnp.tanh(x) * 2.0 + jnp.sin(x) ** 2)  # a fresh function: nothing cached
    t = time_call(f, lambda: (jnp.ones(1000),), repeats=5)
    assert t.first_s > 3 * t.median_s  # tracing + XLA compile dwarf a 1000-element run
    assert t.compile_s > 0


def test_outputs_are_waited_for_and_inputs_are_ready_before_the_clock():
    waits_on_output = time_call(lambda: Lazy(0.03), repeats=3, warmup=0)
    no_output = time_call(lambda: None, repeats=5, warmup=0)
    assert waits_on_output.median_s > 20 * no_output.median_s
    # A slow-to-finish input is finished before timing starts, so it does not count.
    slow_input = time_call(lambda x: None, lambda: (Lazy(0.03),), repeats=5, warmup=0)
    assert waits_on_output.median_s > 20 * slow_input.median_s


def test_fresh_inputs_every_call():
    made, seen = [], []

    def make_args():
        made.append(len(made))
        return (made[-1],)

    time_call(seen.append, make_args, repeats=4, warmup=2)
    assert seen == [0, 1, 2, 3, 4, 5]  # warm-ups and repeats each got their own inputs


def test_numpy_baseline_and_no_warmup():
    t = time_call(sum, lambda: (range(1000),), repeats=3, warmup=0)
    assert isinstance(t, Timing) and len(t.times) == 3
    assert t.compile_s == 0.0
    with pytest.raises(ValueError):
        time_call(sum, repeats=0)


def test_formatting_helpers():
    assert fmt_time(0.0034) == "3.40 ms" and fmt_time(2e-7) == "200 ns" and fmt_time(12.5) == "12.5 s"
    assert fmt_speedup(1.0, 0.01) == "100x" and fmt_speedup(1.0, 0.4) == "2.5x"
    table = format_table(["name", "time"], [["a", "1 ms"], ["longer", "10 ms"]]).splitlines()
    assert len(table) == 4 and len({len(line) for line in table}) == 1  # aligned columns


def test_device_summary_names_the_platform():
    summary = device_summary()
    assert summary.startswith(jax.devices()[0].platform + ": ")
    if jax.devices()[0].platform == "cpu":
        assert re.fullmatch(r"cpu: \d+ cores", summary)
