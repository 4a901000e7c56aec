"""A small YOLOX-style network (random weights) used to test the Focus, SiLU, SPP and upsample rules.

Layout (input 1x3x128x128, output 1x85x16x16, about 0.5M parameters):
  Focus stem -> Conv-BN-SiLU s2 + CSP -> Conv-BN-SiLU s2 + CSP (C3, stride 8)
  -> Conv-BN-SiLU s2 + SPP(5, 9, 13) + CSP (C4, stride 16)
  -> 1x1 Conv-BN-SiLU, nearest 2x upsample, concat with C3, CSP -> 3x3 Conv-BN-SiLU -> 1x1 head conv.
The structure mirrors YOLOX (Megvii, Apache-2.0) but is written from its description, not copied.
"""

import torch
from torch import nn


class ConvBnSilu(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int = 1, s: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, s, padding=k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class Focus(nn.Module):
    """Space-to-depth by strided slicing (the pattern the Focus -> strided-conv rule targets)."""

    def __init__(self, c_in: int, c_out: int, k: int = 3) -> None:
        super().__init__()
        self.conv = ConvBnSilu(4 * c_in, c_out, k, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top_left = x[..., ::2, ::2]
        bot_left = x[..., 1::2, ::2]
        top_right = x[..., ::2, 1::2]
        bot_right = x[..., 1::2, 1::2]
        return self.conv(torch.cat((top_left, bot_left, top_right, bot_right), dim=1))


class Bottleneck(nn.Module):
    def __init__(self, c: int, shortcut: bool = True) -> None:
        super().__init__()
        self.conv1 = ConvBnSilu(c, c, 1)
        self.conv2 = ConvBnSilu(c, c, 3)
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.conv1(x))
        return x + y if self.shortcut else y


class Csp(nn.Module):
    """CSP layer: two 1x1 branches, bottlenecks on one, concat, 1x1 fuse."""

    def __init__(self, c_in: int, c_out: int, n: int = 1, shortcut: bool = True) -> None:
        super().__init__()
        hidden = c_out // 2
        self.conv1 = ConvBnSilu(c_in, hidden, 1)
        self.conv2 = ConvBnSilu(c_in, hidden, 1)
        self.m = nn.Sequential(*[Bottleneck(hidden, shortcut) for _ in range(n)])
        self.conv3 = ConvBnSilu(2 * hidden, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(torch.cat((self.m(self.conv1(x)), self.conv2(x)), dim=1))


class Spp(nn.Module):
    """SPP bottleneck: 1x1 reduce, max-pools 5/9/13 (stride 1, same padding), concat with input, 1x1."""

    def __init__(self, c_in: int, c_out: int, kernels=(5, 9, 13)) -> None:
        super().__init__()
        hidden = c_in // 2
        self.conv1 = ConvBnSilu(c_in, hidden, 1)
        self.pools = nn.ModuleList(nn.MaxPool2d(k, stride=1, padding=k // 2) for k in kernels)
        self.conv2 = ConvBnSilu(hidden * (len(kernels) + 1), c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [p(x) for p in self.pools], dim=1))


class YoloxNanoLike(nn.Module):
    def __init__(self, num_classes: int = 80) -> None:
        super().__init__()
        self.stem = Focus(3, 16, 3)                                              # 64x64
        self.dark2 = nn.Sequential(ConvBnSilu(16, 32, 3, 2), Csp(32, 32, 1))     # 32x32
        self.dark3 = nn.Sequential(ConvBnSilu(32, 64, 3, 2), Csp(64, 64, 1))     # 16x16
        self.dark4 = nn.Sequential(ConvBnSilu(64, 128, 3, 2), Spp(128, 128),
                                   Csp(128, 128, 1, shortcut=False))             # 8x8
        self.lateral = ConvBnSilu(128, 64, 1)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.fuse = Csp(128, 64, 1, shortcut=False)                              # 16x16
        self.head_stem = ConvBnSilu(64, 64, 3)
        self.head = nn.Conv2d(64, 5 + num_classes, 1)                            # box(4)+obj(1)+cls

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c3 = self.dark3(self.dark2(self.stem(x)))
        c4 = self.dark4(c3)
        p3 = self.fuse(torch.cat((self.upsample(self.lateral(c4)), c3), dim=1))
        return self.head(self.head_stem(p3))


def yolox_nano_like() -> nn.Module:
    return YoloxNanoLike()
