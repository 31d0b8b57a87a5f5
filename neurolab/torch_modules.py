"""The two PyTorch modules that :func:`neurolab.export.to_torch` needs where torch has none.

``Rescale`` and ``RandomShift`` compute what neurolab's layers of the same names compute, on
tensors, so that a network exported to PyTorch keeps its input scaling and its augmentation.
This module imports torch: ``import neurolab`` never imports it, ``neurolab.export`` only
when it converts.
"""

from __future__ import annotations

import torch
from torch import nn


class Rescale(nn.Module):
    """``Y = X * scale + offset``, as :class:`neurolab.Rescale`: raw pixels to network inputs.

    ``scale`` and ``offset`` are plain numbers (nothing learns them). An integer input (uint8
    pixels) is converted to ``dtype`` first, as neurolab's Rescale does; a float input keeps
    its dtype, so the module follows ``.double()`` of the network around it.
    """

    def __init__(self, scale: float, offset: float = 0.0, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.scale = float(scale)
        self.offset = float(offset)
        self.dtype = dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x if x.is_floating_point() else x.to(self.dtype)
        return x * self.scale + self.offset

    def extra_repr(self) -> str:
        return f"scale={self.scale:g}, offset={self.offset:g}, dtype={self.dtype}"


class RandomShift(nn.Module):
    """Augmentation as :class:`neurolab.RandomShift`: in training, move each image by up to ``max_shift`` pixels.

    Image ``n`` of ``(N, C, H, W)`` moves ``dy_n`` rows down and ``dx_n`` columns right, each
    drawn uniformly from ``-max_shift`` to ``max_shift`` with ``torch.randint`` (so
    ``torch.manual_seed`` governs it), values from outside the image are 0. In evaluation
    mode (``module.eval()``) it is the identity. Autograd differentiates it: the gradient of
    a moved pixel goes back to where the pixel came from.
    """

    def __init__(self, max_shift: int = 2) -> None:
        super().__init__()
        self.max_shift = int(max_shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.max_shift == 0:
            return x
        m = self.max_shift
        shifts = torch.randint(-m, m + 1, (x.shape[0], 2), device=x.device)
        return self.shift(x, shifts)

    def shift(self, x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
        """``x (N, C, H, W)`` with image ``n`` moved by ``shifts[n] = (dy, dx)`` (each within ``max_shift``), 0 filled in.

        ``Y[n, :, h, w] = X[n, :, h - dy, w - dx] = Xp[n, :, h + m - dy, w + m - dx]``, with
        ``Xp`` the images padded by ``m = max_shift`` zeros on every side.
        """
        n, c, height, width = x.shape
        m = self.max_shift
        padded = nn.functional.pad(x, (m, m, m, m))
        rows = torch.arange(height, device=x.device) + (m - shifts[:, :1])  # (N, H): h + m - dy
        cols = torch.arange(width, device=x.device) + (m - shifts[:, 1:])  # (N, W): w + m - dx
        samples = torch.arange(n, device=x.device)[:, None, None, None]
        channels = torch.arange(c, device=x.device)[None, :, None, None]
        return padded[samples, channels, rows[:, None, :, None], cols[:, None, None, :]]

    def extra_repr(self) -> str:
        return f"max_shift={self.max_shift}"
