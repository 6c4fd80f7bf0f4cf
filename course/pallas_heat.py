"""Temporal blocking for the 2-D heat equation: Pallas kernels that do several FTCS steps per pass.

Optional part of notebook 05 (ungraded). The plain JAX loop (`solutions.answers.heat_equation_jax`)
reads the whole grid and writes it back once per time step, so it can never beat one step per
"copy" of the grid: 2 * 4 * ny * nx bytes a step (about 140-170 us at 8192**2 on an H200). A
kernel that keeps a tile on chip and advances it T steps before writing it back moves those bytes
once per T steps. This module holds such kernels, several ways, for the two Pallas GPU back ends
of jax 0.11.2; `simulate_pallas` runs any of them, `bench_pallas_heat.py` times them against the
plain loop.

The problem. Explicit FTCS on a float32 grid u of shape (ny, nx), r = alpha*dt/dx**2:
interior cells get u + r*(u[i+1,j] + u[i-1,j] + u[i,j+1] + u[i,j-1] - 4u[i,j]), the first and last
rows and columns (Dirichlet edges) never change.

Why several steps per pass are exact. After s steps a cell depends only on the cells within
distance s of it (one step reads the four neighbours). A tile loaded with a halo of H >= T cells
around its output block can therefore be advanced T steps on chip, each step computed on the
whole tile with whatever neighbours the tile has: cells within distance s of the tile border are
wrong after s steps, the output block (at distance >= H) is still exact, and only it is written
back. Neighbouring tiles recompute each other's halos (the "redundant" work the tile sizes trade
against the bytes saved).

How the boundary is kept. Every kernel computes, for each cell it updates, its global grid
coordinates (from the program id and an iota) and updates only where 1 <= i <= ny-2 and
1 <= j <= nx-2; everywhere else (the Dirichlet edges, and cells outside the grid) the value is
carried unchanged. An interior cell reads only its four neighbours, all inside the grid, so
values outside the grid never reach a cell inside it: they may be anything, even NaN (the tests
pad with NaN to prove it), and they are never written back as grid values.

The padded layout. Kernels work on a padded copy of the grid: `simulate_pallas` pads once (the
grid at offset (r0, c0), enough room around it for every tile's halo, the sizes rounded up to
whole tiles), runs n_steps // T passes of the T-step kernel and one pass of an n_steps % T step
kernel on the same geometry (a tile with halo H can do any number of steps <= H), and crops once.
The padding makes every load in bounds and every start non-negative, which the interpret mode
used on CPU needs (it clamps out-of-range dynamic slices, the GPU would just read memory), so the
code tested on CPU is the code that runs on the GPU. Pad and crop cost one extra read and write
of the grid each per call, not per pass: the benchmark reports the per-pass rate apart.

The variants (`VARIANTS`, by name; in increasing order of risk):

* ``triton_1step`` -- Triton back end, one step per pass: each program loads its (BM, BN) block
  five times (centre and the four neighbours, as loads at shifted offsets from the padded grid
  in HBM; the shifted ones hit L1/L2) and stores the updated block. 8 bytes a cell a step: the
  same traffic as XLA's fused step, to prove the Triton lowering and compare code generation.
* ``triton_regs`` -- Triton, T steps per pass by recomputation in registers. The Triton lowering
  of Pallas has no slicing, padding or shifting of in-register values (no `lax.slice_p`,
  `pad_p`, `dynamic_slice_p` rules; `concatenate` only joins two (..., 1) arrays) and no scratch
  memory ("scratch memory not implemented in the Triton backend"), so a value cannot be moved
  to its neighbour once loaded. Instead the kernel loads the input at every shift d with
  |d| <= T (2T**2 + 2T + 1 loads of the block, one read of the tile from HBM, the rest L1/L2
  hits) and computes step t at the shifts |d| <= T - t from step t - 1 at the shifts around
  them: all element-wise arithmetic on aligned (BM, BN) blocks. 8/T bytes of HBM traffic per cell
  a step, but O(T**2) loads and O(T**3) flops per cell a pass, so it pays for T = 2..4 only (the
  variant refuses T > 4).
* ``triton_scratch`` -- Triton, T steps per pass through a per-program scratch region in global
  memory: a persistent kernel (a fixed number of programs, about four per SM, each looping over
  tiles) advances a (P, Q) block (powers of two, halo H = T inside it, output block
  (P - 2T, Q - 2T)) one step at a time, storing each step to its own two ping-pong buffers and
  reading the next step's five shifted blocks back, with `pallas.triton.debug_barrier()` (a
  `gpu.barrier`, i.e. __syncthreads, which also orders global memory within a block) between
  steps. The scratch (programs x 2 x (P+2)(Q+2) floats, ~18 MB) is meant to stay in L1/L2; O(1)
  work per cell a step; HBM traffic 8/T bytes per cell a step plus the halo overlap.
* ``mosaic_smem`` -- Mosaic GPU back end (`plgpu.kernel`, Lane semantics), T steps per pass in
  shared memory: each program copies its (OR + 2T, W) tile (W = OC + 2hc, hc = T rounded up to 4
  so that row segments start 16-byte aligned) row by row into SMEM with TMA
  (`plgpu.copy_gmem_to_smem`, all rows on one barrier), advances it T steps between two SMEM
  buffers, and copies the (OR, OC) output block back row by row (`plgpu.copy_smem_to_gmem` after
  `plgpu.commit_smem`). The SMEM buffers are one-dimensional (row pitch W), so the four
  neighbours are the 1-D slices at offsets -W, +W, -1, +1 (the row ends wrap into the next row,
  which only touches the halo columns), loaded with a strided layout of vector size 1 because
  the +-1 offsets are not 8-byte aligned: Mosaic's in-register arrays can only be sliced at
  whole tiles, so shifts must go through memory. Flat buffers also suit TMA, which wants a
  contiguous SMEM side (one row is), and the GPU interpreter, which cannot reshape a ref. Each
  step runs over the tile in chunks of R rows (R*W a multiple of 128, the warpgroup); Pallas puts
  warpgroup barriers around SMEM stores ("auto barriers"). W is a multiple of 32 floats: under
  Lane semantics a TMA load must move a multiple of 128 bytes. HBM traffic 8/T bytes per cell a
  step plus the halo overlap; SMEM traffic 5 loads and 1 store per cell a step.
* ``mosaic_smem_wg`` -- the same kernel under Mosaic's Warpgroup lowering semantics (the default
  of `plgpu.CompilerParams` in 0.11.2, with layout inference instead of explicit layouts).

Sources read for these constraints (jax 0.11.2, as installed): jax/_src/pallas/triton/lowering.py
(`_check_tensor_size`: loads/stores of power-of-two sizes only; `lower_jaxpr_to_triton_module`:
no scratch; the rule table: no slice/pad/dynamic_slice; `_compute_offsets_from_indices`: `pl.ds`
starts may be dynamic and are plain pointer arithmetic, unchecked against the block),
jax/_src/pallas/triton/primitives.py (`debug_barrier` lowers to `gpu.barrier`; `load`/`store`
take `mask`/`other`), jax/_src/pallas/primitives.py (interpret mode: `_load_discharge_rule` pads
only past the end, so a negative start clamps), jax/_src/pallas/mosaic_gpu/lowering.py
(`_get_lowering_rule`/`_swap_lowering_rule`: SMEM loads of strided layout with a layout hint,
auto barriers around stores; `_handle_transforms`: static and dynamic `pl.ds` slices of SMEM
refs), jax/experimental/mosaic/gpu/fragmented_array.py (`__getitem__`: only tiled layouts, tile
aligned; `transfer_strided`), jax/experimental/mosaic/gpu/launch_context.py (TMA: contiguous SMEM,
16-byte strides), jax/_src/pallas/mosaic_gpu/primitives.py (`_copy_gmem_to_smem_lowering`: the
128-byte rule), docs/pallas/gpu/reference.md (memory spaces, barriers, TMA, commit_smem), and
jax/_src/pallas/pallas_call.py (on GPU, `pl.pallas_call` lowers through Triton; Mosaic compiler
params have no pallas_call rule registered in 0.11.2, so Mosaic kernels use `plgpu.kernel`).
On the CPU, interpret mode runs the Triton kernels with the generic interpreter and the Mosaic
ones with the GPU interpreter (`plgpu.InterpretGPUParams`: TMA, barriers and SMEM simulated,
unwritten memory NaN, out-of-bounds reads an error, an optional race detector);
`lower_for_gpu` runs the real lowering of either back end without a GPU.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl

# Both back-end modules import on a CPU-only jaxlib too (their lowerings only run for a GPU).
from jax.experimental.pallas import mosaic_gpu as plgpu
from jax.experimental.pallas import triton as pltriton

F32 = jnp.float32


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _round_up(a: int, b: int) -> int:
    return _cdiv(a, b) * b


def _is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _diamond(radius: int) -> list[tuple[int, int]]:
    """The shifts (di, dj) with |di| + |dj| <= radius: what `radius` steps at (0, 0) depend on."""
    return [
        (di, dj)
        for di in range(-radius, radius + 1)
        for dj in range(-radius, radius + 1)
        if abs(di) + abs(dj) <= radius
    ]


def _ftcs(centre, up, down, left, right, r, interior):
    # The same order of operations as solutions/answers/heat_equation_jax.py.
    return jnp.where(interior, centre + r * (down + up + right + left - 4 * centre), centre)


# --- geometry of the padded grid ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Geometry:
    """Where the grid sits in the padded array, and how the output tiles cover it.

    Grid cell (i, j) is padded[r0 + i, c0 + j]; output tile (ti, tj) covers grid rows
    [ti*tr, (ti+1)*tr) and columns [tj*tc, (tj+1)*tc); ntr x ntc tiles cover the grid (the last
    ones may hang over its far edges, into the padding).
    """

    ny: int
    nx: int
    tr: int  # output tile rows
    tc: int  # output tile columns
    r0: int
    c0: int
    rows: int  # padded shape
    cols: int

    @property
    def ntr(self) -> int:
        return _cdiv(self.ny, self.tr)

    @property
    def ntc(self) -> int:
        return _cdiv(self.nx, self.tc)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)


def _geometry(ny, nx, tile, lo, hi) -> Geometry:
    """Padding of at least lo = (rows, cols) before the grid and hi after the last whole tile.

    The column offset and the row pitch are multiples of 4 floats (16 bytes): aligned vector
    loads for Triton, and TMA needs 16-byte row strides and SMEM offsets.
    """
    tr, tc = tile
    r0, c0 = lo[0], _round_up(lo[1], 4)
    rows = r0 + _cdiv(ny, tr) * tr + hi[0]
    cols = _round_up(c0 + _cdiv(nx, tc) * tc + hi[1], 4)
    return Geometry(ny, nx, tr, tc, r0, c0, rows, cols)


def pad(u, geom: Geometry, value=0.0):
    """The padded copy of u (float32). `value` fills the padding: it never matters (see above)."""
    u = jnp.asarray(u, F32)
    return jnp.pad(
        u,
        ((geom.r0, geom.rows - geom.r0 - geom.ny), (geom.c0, geom.cols - geom.c0 - geom.nx)),
        constant_values=value,
    )


def crop(up, geom: Geometry):
    return up[geom.r0 : geom.r0 + geom.ny, geom.c0 : geom.c0 + geom.nx]


# --- triton_1step and triton_regs: shifted loads, recomputation in registers ---------------------


def _regs_geometry(ny, nx, T, block):
    bm, bn = block or ((16, 128) if T == 1 else (8, 128) if T == 2 else (8, 64))
    if not (_is_pow2(bm) and _is_pow2(bn)):
        raise ValueError(f"Triton blocks must be powers of two, got {(bm, bn)}")
    # Loads reach T cells past the block on every side.
    return _geometry(ny, nx, (bm, bn), lo=(T, T), hi=(T, T))


def _build_triton_regs(geom: Geometry, halo: int, n: int, interpret, num_warps=4, **_):
    """A pallas_call doing n <= halo steps: (padded grid, r of shape (1,)) -> padded grid."""
    assert 1 <= n <= halo
    bm, bn, ny, nx = geom.tr, geom.tc, geom.ny, geom.nx

    def kernel(u_ref, r_ref, o_ref):
        row0 = pl.program_id(0) * bm  # grid coordinates of this block's first cell
        col0 = pl.program_id(1) * bn
        r = r_ref[0]
        # Row and column masks apart, (bm, 1) and (1, bn): one `and` per cell and shift, not
        # four compares (the mask work is per shift and step, as much as the stencil itself).
        rows = row0 + lax.broadcasted_iota(jnp.int32, (bm, 1), 0)
        cols = col0 + lax.broadcasted_iota(jnp.int32, (1, bn), 1)
        row_ok = {di: (rows + di >= 1) & (rows + di <= ny - 2) for di in range(-n, n + 1)}
        col_ok = {dj: (cols + dj >= 1) & (cols + dj <= nx - 2) for dj in range(-n, n + 1)}

        def block_at(d):  # the input block shifted by d: one load, no in-register shifting
            return u_ref[pl.ds(geom.r0 + row0 + d[0], bm), pl.ds(geom.c0 + col0 + d[1], bn)]

        # vals[d] holds step (n - radius) of the block shifted by d, for every |d| <= radius.
        vals = {d: block_at(d) for d in _diamond(n)}
        for radius in range(n - 1, -1, -1):
            vals = {
                (di, dj): _ftcs(
                    vals[(di, dj)],
                    vals[(di - 1, dj)],
                    vals[(di + 1, dj)],
                    vals[(di, dj - 1)],
                    vals[(di, dj + 1)],
                    r,
                    row_ok[di] & col_ok[dj],
                )
                for di, dj in _diamond(radius)
            }
        o_ref[pl.ds(geom.r0 + row0, bm), pl.ds(geom.c0 + col0, bn)] = vals[(0, 0)]

    return pl.pallas_call(
        kernel,
        out_shape=jax.ShapeDtypeStruct(geom.shape, F32),
        grid=(geom.ntr, geom.ntc),
        interpret=bool(interpret),
        compiler_params=pltriton.CompilerParams(num_warps=num_warps, num_stages=1),
        name=f"heat_triton_regs_{n}",
    )


# --- triton_scratch: one step at a time through a per-program scratch in global memory -----------


def _scratch_geometry(ny, nx, T, block):
    p, q = block or (64, 64)
    if not (_is_pow2(p) and _is_pow2(q)):
        raise ValueError(f"Triton blocks must be powers of two, got {(p, q)}")
    if min(p, q) <= 2 * T:
        raise ValueError(f"block {(p, q)} leaves no output cells with a halo of {T}")
    # Output tile = the block less its halo; the first step reads one cell past the block.
    return _geometry(ny, nx, (p - 2 * T, q - 2 * T), lo=(T + 1, T + 1), hi=(T + 1, T + 1))


def _default_programs() -> int:
    """About four resident programs per SM (132 on an H200) for the persistent kernel."""
    try:
        device = jax.devices()[0]
        cores = getattr(device, "core_count", None) if device.platform == "gpu" else None
    except RuntimeError:
        cores = None
    return 4 * (cores or 132)


def _build_triton_scratch(
    geom: Geometry, halo: int, n: int, interpret, num_warps=8, programs=None, **_
):
    assert 1 <= n <= halo
    H = halo
    p, q = geom.tr + 2 * H, geom.tc + 2 * H
    ny, nx, ntc = geom.ny, geom.nx, geom.ntc
    n_tiles = geom.ntr * geom.ntc
    n_prog = min(n_tiles, programs or _default_programs())
    per_prog = _cdiv(n_tiles, n_prog)
    # Under interpret=True programs run one after another: a barrier is a no-op there (and has
    # no interpret rule), so it is only emitted for the GPU.
    barrier = (lambda: None) if interpret else pltriton.debug_barrier

    def kernel(u_ref, r_ref, o_ref, s_ref):
        prog = pl.program_id(0)
        r = r_ref[0]
        ir = lax.broadcasted_iota(jnp.int32, (p, 1), 0)  # (p, 1) and (1, q): masks built apart
        ic = lax.broadcasted_iota(jnp.int32, (1, q), 1)
        centre = ((ir >= H) & (ir < p - H)) & ((ic >= H) & (ic < q - H))

        def tile(k, carry):
            # Tiles prog, prog + n_prog, ...; the last program may redo the last tile (clamped):
            # it writes the same values again, harmless.
            t = jnp.minimum(prog + k * n_prog, n_tiles - 1)
            br = lax.div(t, ntc) * geom.tr - H  # grid coordinates of the block's first cell
            bc = lax.rem(t, ntc) * geom.tc - H
            gi, gj = br + ir, bc + ic
            interior = ((gi >= 1) & (gi <= ny - 2)) & ((gj >= 1) & (gj <= nx - 2))

            def from_grid(di, dj):
                return u_ref[pl.ds(geom.r0 + br + di, p), pl.ds(geom.c0 + bc + dj, q)]

            def from_scratch(buf, di, dj):  # scratch blocks have a one-cell ring for the shifts
                return s_ref[prog, buf, pl.ds(1 + di, p), pl.ds(1 + dj, q)]

            def step(load):
                c = load(0, 0)
                return _ftcs(c, load(-1, 0), load(1, 0), load(0, -1), load(0, 1), r, interior)

            barrier()  # the previous tile's last reads of the scratch are done
            v = step(from_grid)
            for s in range(2, n + 1):
                # Ping-pong: a step never writes the buffer that it (or a slower thread) reads.
                buf = s % 2
                s_ref[prog, buf, pl.ds(1, p), pl.ds(1, q)] = v
                barrier()
                v = step(functools.partial(from_scratch, buf))
            pltriton.store(
                o_ref.at[pl.ds(geom.r0 + br, p), pl.ds(geom.c0 + bc, q)], v, mask=centre
            )
            return carry

        lax.fori_loop(0, per_prog, tile, 0)

    call = pl.pallas_call(
        kernel,
        out_shape=(
            jax.ShapeDtypeStruct(geom.shape, F32),
            jax.ShapeDtypeStruct((n_prog, 2, p + 2, q + 2), F32),  # the scratch, discarded
        ),
        grid=(n_prog,),
        interpret=bool(interpret),
        compiler_params=pltriton.CompilerParams(num_warps=num_warps, num_stages=1),
        name=f"heat_triton_scratch_{n}",
    )
    return lambda up, r_arr: call(up, r_arr)[0]


# --- mosaic_smem: TMA into shared memory, T steps there ------------------------------------------


def _mosaic_halos(T):
    # Columns: halo rounded up to 4 floats so that every TMA'd row segment starts 16-byte aligned.
    return T, _round_up(T, 4)


def _mosaic_geometry(ny, nx, T, block):
    # block = (output rows, SMEM row pitch W). W is a multiple of 32 floats: under Lane semantics
    # a TMA copy must move a multiple of 128 bytes (each of the warpgroup's 128 threads arrives
    # on the barrier with its share), and a row is one copy. Output columns = W - 2*hc.
    orows, width = block or (64, 128)
    H, hc = _mosaic_halos(T)
    if width % 32 or width > 256 or orows + 2 * H > 256 or width - 2 * hc < 4:
        raise ValueError(f"mosaic block {(orows, width)}: W must be a multiple of 32, <= 256")
    return _geometry(ny, nx, (orows, width - 2 * hc), lo=(H, hc), hi=(H, hc))


def _chunk_rows(rows: int, width: int) -> int:
    """Rows per chunk of a step: R*W a multiple of 128 (the warpgroup), at most 2048 cells
    (16 registers per thread per array), and as few rows computed past `rows` as possible."""
    base = 128 // math.gcd(width, 128)
    options = [base * k for k in range(1, max(1, 2048 // (base * width)) + 1)]
    return min(options, key=lambda R: (_cdiv(rows, R) * R, -R))


def _mosaic_interpret(interpret):
    """interpret may be a bool or an InterpretGPUParams (e.g. with detect_races=True)."""
    if isinstance(interpret, plgpu.InterpretGPUParams):
        return interpret
    return plgpu.InterpretGPUParams() if interpret else None


def _build_mosaic(geom: Geometry, halo: int, n: int, interpret, semantics="lane", **_):
    assert 1 <= n <= halo
    H, hc = _mosaic_halos(halo)
    orows, ocols, ny, nx = geom.tr, geom.tc, geom.ny, geom.nx
    brows, width = orows + 2 * H, ocols + 2 * hc  # the tile in SMEM; width = row pitch W
    chunk_rows = _chunk_rows(brows - 2, width)
    chunk = chunk_rows * width
    n_chunks = _cdiv(brows - 2, chunk_rows)  # rows 1 .. brows-2 are updated (and maybe a few more)
    alloc_rows = n_chunks * chunk_rows + 2  # room for the last chunk's neighbours
    layout = plgpu.Layout.WG_STRIDED((chunk,), vec_size=1)  # +-1 offsets: no vector loads

    def body(u_gmem, r_gmem, o_gmem, buf_a, buf_b, loaded):
        ti = lax.axis_index("ti")
        tj = lax.axis_index("tj")
        top = geom.r0 + ti * orows - H  # padded coordinates of the SMEM tile's first cell
        left = geom.c0 + tj * ocols - hc
        # TMA wants a contiguous SMEM destination, so the 1-D tile is filled one row at a time;
        # all rows arrive on one barrier (num_arrivals=brows).
        for i in range(brows):
            plgpu.copy_gmem_to_smem(
                u_gmem.at[top + i, pl.ds(left, width)], buf_a.at[pl.ds(i * width, width)], loaded
            )
        r = r_gmem[0]
        flat = plgpu.broadcasted_iota(jnp.int32, (chunk,), 0, layout=layout)
        row_in_chunk = lax.div(flat, width)
        gcol = (left - geom.c0) + lax.rem(flat, width)
        col_ok = (gcol >= 1) & (gcol <= nx - 2)
        plgpu.barrier_wait(loaded)
        bufs = (buf_a, buf_b)
        for s in range(n):
            src, dst = bufs[s % 2], bufs[(s + 1) % 2]
            for c in range(n_chunks):
                f0 = (1 + c * chunk_rows) * width  # first cell of this chunk (column 0 of a row)

                def load(offset, src=src, f0=f0):
                    return plgpu.load(src.at[pl.ds(f0 + offset, chunk)], layout=layout)

                grow = (top - geom.r0) + 1 + c * chunk_rows + row_in_chunk
                interior = col_ok & (grow >= 1) & (grow <= ny - 2)
                centre = load(0)
                dst.at[pl.ds(f0, chunk)][...] = _ftcs(
                    centre, load(-width), load(width), load(-1), load(1), r, interior
                )
        result = bufs[n % 2]
        plgpu.commit_smem()  # make the SMEM stores visible to the TMA engine
        for i in range(orows):
            plgpu.copy_smem_to_gmem(
                result.at[pl.ds((H + i) * width + hc, ocols)],
                o_gmem.at[top + H + i, pl.ds(left + hc, ocols)],
            )
        plgpu.wait_smem_to_gmem(0)

    lowering = {"lane": plgpu.LoweringSemantics.Lane, "wg": plgpu.LoweringSemantics.Warpgroup}
    return plgpu.kernel(
        body,
        out_type=jax.ShapeDtypeStruct(geom.shape, F32),
        grid=(geom.ntr, geom.ntc),
        grid_names=("ti", "tj"),
        scratch_types=[
            plgpu.SMEM((alloc_rows * width,), F32),
            plgpu.SMEM((alloc_rows * width,), F32),
            plgpu.Barrier(num_arrivals=brows),
        ],
        compiler_params=plgpu.CompilerParams(lowering_semantics=lowering[semantics]),
        interpret=_mosaic_interpret(interpret),
    )


# --- the variants and simulate_pallas -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    backend: str  # "triton" or "mosaic_gpu"
    summary: str
    geometry: Callable  # (ny, nx, T, block) -> Geometry
    build: Callable  # (geometry, halo T, steps n <= T, interpret) -> (padded, r[1]) -> padded
    max_steps: int | None = None  # largest steps_per_pass it accepts
    fixed_steps: int | None = None  # steps_per_pass it always uses (triton_1step)


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in [
        Variant(
            "triton_1step",
            "triton",
            "Triton, 1 step/pass, 5 shifted loads",
            _regs_geometry,
            _build_triton_regs,
            fixed_steps=1,
        ),
        Variant(
            "triton_regs",
            "triton",
            "Triton, T steps/pass, shifted loads + recomputation in registers",
            _regs_geometry,
            _build_triton_regs,
            max_steps=4,
        ),
        Variant(
            "triton_scratch",
            "triton",
            "Triton, T steps/pass, persistent, global scratch + debug_barrier",
            _scratch_geometry,
            _build_triton_scratch,
        ),
        Variant(
            "mosaic_smem",
            "mosaic_gpu",
            "Mosaic GPU (Lane), T steps/pass in SMEM, TMA rows",
            _mosaic_geometry,
            functools.partial(_build_mosaic, semantics="lane"),
        ),
        Variant(
            "mosaic_smem_wg",
            "mosaic_gpu",
            "Mosaic GPU (Warpgroup semantics), otherwise as mosaic_smem",
            _mosaic_geometry,
            functools.partial(_build_mosaic, semantics="wg"),
        ),
    ]
}

DEFAULT_VARIANT = {"triton": "triton_regs", "mosaic_gpu": "mosaic_smem"}


def resolve(variant: str | None, backend: str, steps_per_pass: int) -> tuple[Variant, int]:
    """The Variant to run and the steps per pass it will use; ValueError when it cannot."""
    if variant is None:
        if backend not in DEFAULT_VARIANT:
            raise ValueError(f"backend must be one of {sorted(DEFAULT_VARIANT)}, got {backend!r}")
        variant = DEFAULT_VARIANT[backend]
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    v = VARIANTS[variant]
    T = v.fixed_steps or int(steps_per_pass)
    if T < 1:
        raise ValueError(f"steps_per_pass must be >= 1, got {steps_per_pass}")
    if v.max_steps is not None and T > v.max_steps:
        raise ValueError(
            f"{v.name} takes steps_per_pass <= {v.max_steps} (its loads grow as T**2), got {T}"
        )
    return v, T


def make_passes(variant: str, shape, steps_per_pass: int, *, block=None, programs=None,
                interpret=False):
    """The pieces simulate_pallas is made of, for benchmarks that time the passes alone.

    Returns (geometry, T, pass_fn): pass_fn(padded, r_arr, n) advances the padded grid
    (`pad(u, geometry)`) by n <= T steps in one pass, r_arr = jnp.full((1,), r, float32);
    `run_passes` strings the passes together.
    """
    v, T = resolve(variant, "triton", steps_per_pass)
    ny, nx = shape
    if ny < 3 or nx < 3:
        raise ValueError(f"the grid needs at least 3x3 cells, got {tuple(shape)}")
    geom = v.geometry(ny, nx, T, block)

    def pass_fn(up, r_arr, n):
        return v.build(geom, T, n, interpret, programs=programs)(up, r_arr)

    return geom, T, pass_fn


def run_passes(pass_fn, up, r_arr, T: int, n_steps: int):
    """The padded grid up after n_steps steps: n_steps // T passes of T steps, then one pass of
    the n_steps % T left over (pass_fn, T and up as from `make_passes` and `pad`)."""
    full, rest = divmod(n_steps, T)
    if full:  # a static trip count: XLA's loop needs no host round trip per pass
        up = lax.fori_loop(0, full, lambda _, v: pass_fn(v, r_arr, T), up)
    if rest:  # the same tiles and halo, fewer steps: still exact
        up = pass_fn(up, r_arr, rest)
    return up


def _run(u0, r, *, n_steps, variant, steps_per_pass, block, programs, interpret, pad_value):
    u0 = jnp.asarray(u0, F32)
    if n_steps <= 0:
        return u0
    geom, T, pass_fn = make_passes(
        variant, u0.shape, steps_per_pass, block=block, programs=programs, interpret=interpret
    )
    r_arr = jnp.reshape(jnp.asarray(r, F32), (1,))
    up = run_passes(pass_fn, pad(u0, geom, pad_value), r_arr, T, n_steps)
    return crop(up, geom)


_STATIC = ("n_steps", "variant", "steps_per_pass", "block", "programs", "interpret", "pad_value")
_simulate = jax.jit(_run, static_argnames=_STATIC)


def simulate_pallas(
    u0,
    alpha,
    dt,
    dx,
    n_steps: int,
    *,
    steps_per_pass: int = 4,
    backend: str = "triton",
    variant: str | None = None,
    block: tuple[int, int] | None = None,
    programs: int | None = None,
    interpret: bool = False,
    pad_value: float = 0.0,
):
    """The float32 grid after n_steps FTCS steps, T = steps_per_pass steps per kernel pass.

    backend picks the default variant ("triton": triton_regs, "mosaic_gpu": mosaic_smem);
    variant picks any by name (VARIANTS; triton_1step always does 1 step per pass). n_steps is
    a Python int (it fixes the number of passes in the compiled program); n_steps <= 0 returns
    u0 (as float32). block overrides the variant's tile (triton_1step/triton_regs: the (BM, BN)
    block, powers of two; triton_scratch: the (P, Q) block including its halo, powers of two;
    mosaic_*: (output rows, SMEM row pitch W, a multiple of 32)); programs sets
    triton_scratch's number of persistent programs. interpret=True runs the kernels on the CPU
    (slow; for tests; for the Mosaic variants it may also be a plgpu.InterpretGPUParams, e.g.
    with detect_races=True). pad_value fills the padding around the grid: a testing hook, it
    never changes the result.
    """
    v, T = resolve(variant, backend, steps_per_pass)
    return _simulate(
        u0,
        jnp.asarray(alpha * dt / dx**2, F32),
        n_steps=int(n_steps),
        variant=v.name,
        steps_per_pass=T,
        block=None if block is None else tuple(block),
        programs=programs,
        interpret=interpret if isinstance(interpret, plgpu.InterpretGPUParams) else bool(interpret),
        pad_value=float(pad_value),
    )


def lower_for_gpu(variant: str, shape, steps_per_pass: int, n_steps: int | None = None, *,
                  block=None, programs=None, device_kind: str = "NVIDIA H200") -> str:
    """Lower simulate_pallas for CUDA on a machine without a GPU; returns the StableHLO text.

    This runs the whole Pallas -> Triton IR / Mosaic GPU lowering (so it catches primitives
    or shapes a back end rejects); compiling that IR to PTX happens only on a GPU. The default
    n_steps (T + 1) lowers both the T-step and a 1-step kernel. The abstract device stands in
    for the GPU that the Triton lowering asks for its compute capability.
    """
    v, T = resolve(variant, "triton", steps_per_pass)
    if n_steps is None:
        n_steps = T + 1 if T > 1 else 1
    mesh = jax.sharding.AbstractMesh(
        (1,), ("x",), abstract_device=jax.sharding.AbstractDevice(device_kind, 132, "gpu")
    )
    fn = functools.partial(
        _run, n_steps=n_steps, variant=v.name, steps_per_pass=T, block=block,
        programs=programs, interpret=False, pad_value=0.0,
    )
    u = jax.ShapeDtypeStruct(tuple(shape), F32)
    r = jax.ShapeDtypeStruct((), F32)
    with jax.sharding.use_abstract_mesh(mesh):
        return jax.jit(fn).trace(u, r).lower(lowering_platforms=("cuda",)).as_text()
