"""Exact, analytically invertible maps of the clip renderer (float64, + - * / only).

Every per-frame quantity of a rendered clip is a polynomial of the normalised time
``tau = t / (T - 1)`` evaluated with IEEE-exact float64 ``+ - * /``. Rotations use
the rational parameterisation ``cos = (1 - r^2) / (1 + r^2)``, ``sin = 2r / (1 + r^2)``
(``r = tan(theta / 2)``), so no transcendental function (whose last bit can depend
on the CPU's instruction set) is ever evaluated, and no reduction whose summation
order could change is used: every rendered clip is bit-identical on any x86-64
machine with the pinned stack.

Coordinates are ``(x, y)`` pixel-index coordinates (docs/contracts.md): the centre of
``img[r, c]`` is ``(c, r)``.
"""
from dataclasses import dataclass
from typing import Tuple

import numpy as np

__all__ = ['Poly', 'rotation', 'Similarity', 'Shear', 'Camera']

Array = np.ndarray


@dataclass(frozen=True)
class Poly:
    """Polynomial of the normalised time, ``c0 + c1 tau + c2 tau^2 + ...`` (Horner)."""
    coef: Tuple[float, ...]

    def __call__(self, tau: float) -> float:
        out = 0.0
        for c in reversed(self.coef):
            out = out * tau + c
        return out


def rotation(r: float) -> Tuple[float, float]:
    """``(cos, sin)`` of the angle ``2 atan(r)``, by the rational parameterisation."""
    d = 1.0 + r * r
    return (1.0 - r * r) / d, (2.0 * r) / d


@dataclass(frozen=True)
class Similarity:
    """``X = t + s R(r) u`` (rotation by ``2 atan(r)``, scale ``s``, shift ``t``)."""
    r: float
    s: float
    tx: float
    ty: float

    def forward(self, u: Array, v: Array) -> Tuple[Array, Array]:
        """Map points ``(u, v)`` (any shape, float64) to ``(x, y)``."""
        c, s = rotation(self.r)
        return (self.tx + self.s * (c * u - s * v),
                self.ty + self.s * (s * u + c * v))

    def inverse(self, x: Array, y: Array) -> Tuple[Array, Array]:
        """Inverse of :meth:`forward`."""
        c, s = rotation(self.r)
        dx, dy = x - self.tx, y - self.ty
        return (c * dx + s * dy) / self.s, (c * dy - s * dx) / self.s


@dataclass(frozen=True)
class Shear:
    """Smooth non-rigid deformation, two quadratic shears (a Henon-type map).

    ``u1 = u + a (v^2 / R - R / 3)``; ``v1 = v + b (u1^2 / R - R / 3)``. Each step is
    a shear along one axis, so the map is one-to-one (no fold) for any ``a, b`` and
    its inverse is exact: ``v = v1 - b (u1^2 / R - R / 3)``, then
    ``u = u1 - a (v^2 / R - R / 3)``.
    """
    a: float
    b: float
    radius: float

    def _f(self, z: Array) -> Array:
        return z * z / self.radius - self.radius / 3.0

    def forward(self, u: Array, v: Array) -> Tuple[Array, Array]:
        """Deform canonical points ``(u, v)``."""
        u1 = u + self.a * self._f(v)
        return u1, v + self.b * self._f(u1)

    def inverse(self, u1: Array, v1: Array) -> Tuple[Array, Array]:
        """Inverse of :meth:`forward`."""
        v = v1 - self.b * self._f(u1)
        return u1 - self.a * self._f(v), v


@dataclass(frozen=True)
class Camera:
    """Pan/zoom camera, an exact affine map: frame ``x = (X - ox) / z``."""
    ox: float
    oy: float
    z: float

    def to_frame(self, x: Array, y: Array) -> Tuple[Array, Array]:
        """World ``(X, Y)`` to frame ``(x, y)``."""
        return (x - self.ox) / self.z, (y - self.oy) / self.z

    def to_world(self, x: Array, y: Array) -> Tuple[Array, Array]:
        """Frame ``(x, y)`` to world ``(X, Y)``."""
        return self.ox + self.z * x, self.oy + self.z * y

