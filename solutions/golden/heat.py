"""2-D heat equation, explicit finite differences (FTCS), in plain NumPy.

    du/dt = alpha * (d2u/dx2 + d2u/dy2)

on a uniform grid of spacing dx, with Dirichlet boundaries: the first and last rows and columns
hold fixed temperatures. This is the series' golden example as written before Workshop 3; it is
self-contained (NumPy and the standard library only) because it also serves as a speed baseline.
"""

import numpy as np


def stable_dt(alpha, dx):
    """Largest stable time step of the 2-D FTCS scheme: alpha*dt/dx**2 <= 1/4."""
    return dx**2 / (4 * alpha)


def check_stability(alpha, dt, dx):
    """Raise ValueError if dt would make the scheme blow up (or the inputs make no sense)."""
    if alpha <= 0 or dx <= 0 or dt <= 0:
        raise ValueError(f"alpha, dt and dx must be positive: alpha={alpha}, dt={dt}, dx={dx}")
    limit = stable_dt(alpha, dx)
    if dt > limit:
        raise ValueError(
            f"unstable time step: dt={dt} exceeds dx**2/(4*alpha)={limit}; "
            "lower dt or use a coarser grid"
        )


def heat_step(u, alpha, dt, dx):
    """One explicit step. Returns a new array of u's dtype; the edges keep their values."""
    r = alpha * dt / dx**2
    new = u.copy()
    # Slices shifted by one row or column stand for the neighbours u[i+1,j], u[i-1,j], ...
    new[1:-1, 1:-1] = u[1:-1, 1:-1] + r * (
        u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4 * u[1:-1, 1:-1]
    )
    return new


def solve(u0, alpha, dt, dx, n_steps):
    """The grid after n_steps explicit steps from u0 (which is left unchanged)."""
    check_stability(alpha, dt, dx)
    u = np.array(u0, copy=True)
    for _ in range(n_steps):
        u = heat_step(u, alpha, dt, dx)
    return u


def hot_square(ny, nx, hot=100.0, cold=0.0, dtype=np.float32):
    """Initial condition: a hot square over the middle half of the grid, cold everywhere else
    (the edges included, so they hold the cold temperature for the whole run)."""
    u = np.full((ny, nx), cold, dtype=dtype)
    # max/min keep the edges cold on grids smaller than 4 cells a side too.
    rows = slice(max(ny // 4, 1), min(ny - ny // 4, ny - 1))
    cols = slice(max(nx // 4, 1), min(nx - nx // 4, nx - 1))
    u[rows, cols] = hot
    return u


if __name__ == "__main__":
    grid = hot_square(64, 64)
    dx = 1.0
    dt = stable_dt(alpha=1.0, dx=dx)
    final = solve(grid, alpha=1.0, dt=dt, dx=dx, n_steps=500)
    print(f"max temperature: {grid.max():.1f} -> {final.max():.2f} after 500 steps")
