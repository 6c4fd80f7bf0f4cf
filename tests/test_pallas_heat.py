"""course/pallas_heat.py: every Pallas variant against the float64 oracle.

On the CPU the kernels run in Pallas' interpret mode (the same kernel code, its loads, stores,
barriers and TMA copies simulated; the Mosaic GPU interpreter also fills unwritten shared memory
with NaN and raises on out-of-bounds reads), on small tiles so that every grid spans several
tiles and ends inside one. The padding around the grid is NaN: a NaN that reached a grid cell
would show. `test_lowers_for_cuda` runs the real Pallas -> Triton / Mosaic GPU lowering for a
GPU without one; `test_compiled_on_gpu` runs the compiled kernels and needs a GPU:

    PYTHONPATH=$PWD python3 -m pytest --noconftest -m gpu tests/test_pallas_heat.py   # on a GPU

(--noconftest: the GPU image has no nbformat, which tests/conftest.py imports; this module
needs none of its fixtures.)
"""

import zlib

import jax
import numpy as np
import pytest

from solutions import oracles
from course.pallas_heat import VARIANTS, lower_for_gpu, resolve, simulate_pallas

ALPHA, DX = 0.9, 0.37
DT = 0.23 * DX**2 / ALPHA  # r = 0.23, stable (<= 1/4)
TOL = 1e-5  # relative L2 error of float32 against float64

# Small tiles for interpret mode: several tiles over the test grids, none of them a multiple.
SMALL_BLOCKS = {
    "triton_1step": (8, 16),
    "triton_regs": (8, 16),
    "triton_scratch": (16, 32),
    "mosaic_smem": (8, 32),
    "mosaic_smem_wg": (8, 32),
}
# (variant, steps per pass) checked in interpret mode. mosaic_smem_wg differs from mosaic_smem
# only in how it lowers, which interpret mode does not do: test_lowers_for_cuda covers it.
CASES = [("triton_1step", 1)] + [
    (name, T) for name in ("triton_regs", "triton_scratch", "mosaic_smem") for T in (2, 4)
]


@pytest.fixture
def rng(request):
    """Seeded from the test's id, as conftest's rng (redefined so --noconftest works)."""
    return np.random.default_rng([20261125, zlib.crc32(request.node.nodeid.encode())])


def _edges_equal(a, b):
    return all(np.array_equal(a[s], b[s]) for s in (np.s_[0], np.s_[-1], np.s_[:, 0], np.s_[:, -1]))


def _check(u0, n_steps, variant, T, block, **kwargs):
    got = np.asarray(
        simulate_pallas(u0, ALPHA, DT, DX, n_steps, steps_per_pass=T, variant=variant,
                        block=block, pad_value=np.nan, **kwargs)
    )
    ref = oracles.simulate(u0, ALPHA, DT, DX, n_steps)
    assert got.shape == u0.shape and got.dtype == np.float32
    err = np.linalg.norm(got - ref) / np.linalg.norm(ref)
    where = f"{variant}, T={T}, {u0.shape}, {n_steps} steps"
    assert err < TOL, f"{where}: relative error {err:.2e}"
    assert _edges_equal(got, u0), (
        f"{where}: boundary changed (Dirichlet edges must keep their values)"
    )


@pytest.mark.parametrize("variant, T", CASES, ids=[f"{v}-T{T}" for v, T in CASES])
def test_matches_oracle_interpret(variant, T, rng):
    block = SMALL_BLOCKS[variant]
    u0 = rng.uniform(0.5, 1.5, (19, 37)).astype(np.float32)  # 3 x 3 tiles or more, ragged
    for n_steps in sorted({1, T - 1, T, 3 * T + 2} - {0}):
        _check(u0, n_steps, variant, T, block, interpret=True)
    # A grid narrower than a tile, and the smallest grid with an interior cell.
    for shape in [(5, 40), (3, 3)]:
        _check(rng.uniform(0.5, 1.5, shape).astype(np.float32), T + 1, variant, T, block,
               interpret=True)


@pytest.mark.parametrize("variant, block", [("triton_scratch", (32, 32)), ("mosaic_smem", (8, 32))])
def test_eight_steps_per_pass_interpret(variant, block, rng):
    u0 = rng.uniform(0.5, 1.5, (23, 41)).astype(np.float32)
    _check(u0, 3 * 8 + 2, variant, 8, block, interpret=True)


def test_persistent_programs_loop_over_tiles_interpret(rng):
    # Two programs for a dozen tiles: each loops over several tiles, the last one clamped.
    u0 = rng.uniform(0.5, 1.5, (30, 45)).astype(np.float32)
    _check(u0, 7, "triton_scratch", 2, (16, 16), programs=2, interpret=True)


def test_mosaic_has_no_races_interpret(rng):
    # The Mosaic GPU interpreter's happens-before race detector, over TMA in and out and the
    # SMEM ping-pong (it does report a race when the commit_smem before the TMA store is left out).
    from jax._src.pallas.mosaic_gpu.interpret import interpret_pallas_call
    from jax.experimental.pallas import mosaic_gpu as plgpu

    u0 = rng.uniform(0.5, 1.5, (12, 30)).astype(np.float32)
    _check(u0, 6, "mosaic_smem", 4, (8, 32), interpret=plgpu.InterpretGPUParams(detect_races=True))
    assert not interpret_pallas_call.get_races().races_found


def test_zero_steps_returns_the_grid(rng):
    u0 = rng.uniform(0.5, 1.5, (7, 9))
    out = simulate_pallas(u0, ALPHA, DT, DX, 0, variant="triton_regs", interpret=True)
    np.testing.assert_array_equal(np.asarray(out), u0.astype(np.float32))


TRITON_DEPRECATED = "ignore:The Pallas Triton backend is deprecated:DeprecationWarning"


@pytest.mark.filterwarnings(TRITON_DEPRECATED)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_lowers_for_cuda(variant):
    # Pallas -> Triton IR or Mosaic GPU IR for an abstract H200: a primitive, a block shape or a
    # copy the back end rejects fails here. (PTX generation still needs the GPU.)
    T = 1 if variant in ("triton_1step", "mosaic_smem_wg") else 2  # wg's layout inference: slow
    text = lower_for_gpu(variant, (1000, 700), T)
    target = "__gpu$xla.gpu.triton" if VARIANTS[variant].backend == "triton" else "mosaic_gpu"
    assert target in text


def test_rejects_what_it_cannot_do():
    with pytest.raises(ValueError, match="unknown variant"):
        resolve("nope", "triton", 2)
    with pytest.raises(ValueError, match="backend"):
        resolve(None, "cuda", 2)
    with pytest.raises(ValueError, match="steps_per_pass <= 4"):
        resolve("triton_regs", "triton", 8)
    with pytest.raises(ValueError, match=">= 1"):
        resolve("mosaic_smem", "triton", 0)
    assert resolve(None, "mosaic_gpu", 3)[0].name == "mosaic_smem"
    assert resolve("triton_1step", "triton", 8)[1] == 1
    with pytest.raises(ValueError, match="powers of two"):
        simulate_pallas(np.ones((9, 9)), ALPHA, DT, DX, 2, variant="triton_regs", block=(6, 16),
                        interpret=True)
    with pytest.raises(ValueError, match="3x3"):
        simulate_pallas(np.ones((2, 9)), ALPHA, DT, DX, 2, variant="triton_regs", interpret=True)


GPU_CASES = [("triton_1step", 1)] + [
    (name, T) for name in VARIANTS if name != "triton_1step" for T in (2, 4, 8)
    if not (name == "triton_regs" and T > 4)
]


@pytest.mark.gpu
@pytest.mark.filterwarnings(TRITON_DEPRECATED)
@pytest.mark.skipif(
    jax.default_backend() != "gpu", reason="needs a CUDA GPU (compiled Pallas kernels)"
)
@pytest.mark.parametrize("variant, T", GPU_CASES, ids=[f"{v}-T{T}" for v, T in GPU_CASES])
def test_compiled_on_gpu(variant, T, rng):
    # Default (full-size) tiles: a ragged grid of many tiles, and a remainder pass.
    u0 = rng.uniform(0.5, 1.5, (515, 1030)).astype(np.float32)
    _check(u0, 3 * T + 2, variant, T, None)
