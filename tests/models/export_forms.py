#!/usr/bin/python3
"""Export every graph form the built-in rules match, as PyTorch really exports it, with the outputs
the rewritten graph must compute.

Offline only: random weights from fixed seeds. Two groups of cases:

forms      small modules, one per exporter form (LayerNorm at opset 14 and 17 over the last axis and
           over channels, GELU erf/tanh, HardSwish at 13/14 and written out, SiLU, Swish with beta,
           ReLU6 at opset 10 and 13, LeakyReLU/PReLU/ELU/Mish, the Squeeze-and-Excitation blocks of
           torchvision's MobileNetV3, EfficientNet and RegNet and one with a mean over H, W,
           Conv/ConvTranspose/Linear/MatMul + BatchNorm kept, train-mode Dropout with p > 0 and
           p = 0, the YOLO Focus stem, large kernels, no-op ops feeding the graph output)
networks   the paper's networks (MobileNetV2, MobileNetV3-Large/Small, EfficientNet-B0/B1,
           RegNet-Y 400MF) and their PyTorch module-swap lite versions with the same weights
           (HardSwish/HardSigmoid/SiLU/ReLU6/GELU -> ReLU, SqueezeExcitation -> Identity)

For each case NAME it writes into --out:
  NAME.onnx          the export of the original module
  NAME_input.pb      the seeded input (onnx.TensorProto named "input")
  NAME_output.pb     PyTorch's output of the original module
  NAME_expect.pb     PyTorch's output of what the rule must make of it: the same module for exact
                     rules, the module with the rule's lite replacement swapped in for approximate
                     ones (absent when the output is random: train-mode Dropout with p > 0)
  NAME_swap.onnx     networks only: the export of the module-swap lite network
and manifest.json (per case: rule, exactness, opset, op histogram). Work is skipped when the files
exist and the stamp records the same script hash and package versions.

Run with Debian's Python: /usr/bin/python3 tests/models/export_forms.py --out DIR [--group forms]
"""

import argparse
import collections
import fcntl
import hashlib
import io
import json
import math
import os
import platform
import sys
import time
import traceback
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("export_forms.py", "export_models.py")  # export_models.py: randomize_norms
STAMP = ".forms_stamp.json"
MANIFEST = "manifest.json"

TORCH_SEED = 0
NORM_SEED = 1
INPUT_SEED = 2
NETWORK_SIZE = 160  # input height and width of the paper networks (every one accepts it; 224 costs 2x)


class ExportError(Exception):
    pass


# ---- modules --------------------------------------------------------------------------------------

def modules():
    """The small modules of the form cases (defined lazily: importing torch is slow)."""
    import torch
    import torch.nn.functional as F
    import torchvision
    from torch import nn
    from torchvision.models.convnext import LayerNorm2d

    class HardSwishWritten(nn.Module):  # x * relu6(x + 3) / 6, as in many MobileNetV3 reimplementations
        def forward(self, x):
            return x * F.relu6(x + 3.0) / 6.0

    class HardSigmoidWritten(nn.Module):  # relu6(x + 3) / 6
        def forward(self, x):
            return F.relu6(x + 3.0) / 6.0

    class SwishBeta(nn.Module):  # x * sigmoid(beta * x), beta learnt (a constant once exported)
        def __init__(self):
            super().__init__()
            self.beta = nn.Parameter(torch.tensor(1.5))

        def forward(self, x):
            return x * torch.sigmoid(self.beta * x)

    class GeluTanh(nn.Module):
        def forward(self, x):
            return F.gelu(x, approximate="tanh")

    class GeluWritten(nn.Module):  # HF transformers' "gelu_new": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        def forward(self, x):
            return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

    class ChannelLayerNorm(nn.Module):  # ConvNeXt's original LayerNorm, channels_first (mean over dim 1)
        def __init__(self, c, eps=1e-6):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(c))
            self.bias = nn.Parameter(torch.zeros(c))
            self.eps = eps

        def forward(self, x):
            u = x.mean(1, keepdim=True)
            s = (x - u).pow(2).mean(1, keepdim=True)
            x = (x - u) / torch.sqrt(s + self.eps)
            return self.weight[:, None, None] * x + self.bias[:, None, None]

    class AffineLast(nn.Module):  # what LayerNorm -> BatchNorm(mean 0, var 1 - eps) computes: x * w + b
        def __init__(self, ln):
            super().__init__()
            self.weight, self.bias = ln.weight, ln.bias

        def forward(self, x):
            return x * self.weight + self.bias

    class AffineChannels(nn.Module):
        def __init__(self, ln):
            super().__init__()
            self.weight, self.bias = ln.weight, ln.bias

        def forward(self, x):
            return x * self.weight[:, None, None] + self.bias[:, None, None]

    class Tokens(nn.Module):  # Linear -> LayerNorm -> Linear on [B, T, C]
        def __init__(self):
            super().__init__()
            self.fc1, self.norm, self.fc2 = nn.Linear(12, 16), nn.LayerNorm(16), nn.Linear(16, 12)

        def forward(self, x):
            return self.fc2(self.norm(self.fc1(x)))

    class NHWCBlock(nn.Module):  # ConvNeXt block: dwconv 7x7, permute, LayerNorm, Linear, GELU, Linear, permute, residual
        def __init__(self, c=8):
            super().__init__()
            self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
            self.norm = nn.LayerNorm(c, eps=1e-6)
            self.fc1, self.act, self.fc2 = nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c)

        def forward(self, x):
            y = self.dw(x).permute(0, 2, 3, 1)
            y = self.fc2(self.act(self.fc1(self.norm(y))))
            return x + y.permute(0, 3, 1, 2)

    class Focus(nn.Module):  # YOLOv5's stem: space-to-depth by four strided slices, then a conv
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(12, 8, 3, padding=1)

        def forward(self, x):
            return self.conv(torch.cat([x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]], 1))

    class SEMean(nn.Module):  # timm's SE: a mean over H, W instead of AdaptiveAvgPool2d
        def __init__(self, c=16, s=4):
            super().__init__()
            self.reduce, self.act, self.expand = nn.Conv2d(c, s, 1), nn.ReLU(), nn.Conv2d(s, c, 1)

        def forward(self, x):
            return x * torch.sigmoid(self.expand(self.act(self.reduce(x.mean((2, 3), keepdim=True)))))

    class MatMulBN(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(16, 8) * 0.3)
            self.bn = nn.BatchNorm1d(8)

        def forward(self, x):
            return self.bn(x @ self.w)

    class NoopTail(nn.Module):  # a conv whose output goes through a no-op Reshape into the graph output
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)

        def forward(self, x):
            y = torch.relu(self.conv(x))
            return y.reshape(1, 8, 16, 16)

    def conv_act(act, c=8):
        return nn.Sequential(nn.Conv2d(3, c, 3, padding=1), act, nn.Conv2d(c, 4, 1))

    def se(activation, scale):
        return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
                   torchvision.ops.SqueezeExcitation(16, 4, activation=activation, scale_activation=scale),
                   nn.Conv2d(16, 4, 1))

    return dict(torch=torch, nn=nn, F=F, torchvision=torchvision, LayerNorm2d=LayerNorm2d, HardSwishWritten=HardSwishWritten,
                HardSigmoidWritten=HardSigmoidWritten, SwishBeta=SwishBeta, GeluTanh=GeluTanh,
                GeluWritten=GeluWritten, ChannelLayerNorm=ChannelLayerNorm, AffineLast=AffineLast,
                AffineChannels=AffineChannels, Tokens=Tokens, NHWCBlock=NHWCBlock, Focus=Focus,
                SEMean=SEMean, MatMulBN=MatMulBN, NoopTail=NoopTail, conv_act=conv_act, se=se)


def swap_to_lite(model, m):
    """The module-swap lite network: the PyTorch counterpart of the rules (in place)."""
    nn, torchvision = m["nn"], m["torchvision"]
    relu_like = (nn.Hardswish, nn.Hardsigmoid, nn.SiLU, nn.ReLU6, nn.GELU, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.Mish,
                 m["HardSwishWritten"], m["HardSigmoidWritten"], m["SwishBeta"], m["GeluTanh"], m["GeluWritten"])
    for name, child in model.named_children():
        if isinstance(child, relu_like):
            setattr(model, name, nn.ReLU())
        elif isinstance(child, (torchvision.ops.SqueezeExcitation, m["SEMean"])):
            setattr(model, name, nn.Identity())
        elif isinstance(child, (m["LayerNorm2d"], m["ChannelLayerNorm"])):
            setattr(model, name, m["AffineChannels"](child))
        elif isinstance(child, nn.LayerNorm):
            setattr(model, name, m["AffineLast"](child))
        else:
            swap_to_lite(child, m)
    return model


# ---- the cases -------------------------------------------------------------------------------------

class Case:
    """One export. `build(m)` returns the module; `expect` is "same" (exact rule), "swap" (the
    module-swap lite network), or "random" (no expected output: train-mode Dropout with p > 0)."""

    def __init__(self, group, rule, kind, build, shape, opset=14, mode="eval", expect="swap", note=""):
        self.group, self.rule, self.kind, self.build, self.shape = group, rule, kind, build, shape
        self.opset, self.mode, self.expect, self.note = opset, mode, expect, note


def form(rule, kind, build, shape=(1, 3, 16, 16), **kw):
    return Case("forms", rule, kind, build, shape, **kw)


def network(name):
    def build(m):
        return getattr(m["torchvision"].models, name)(weights=None)
    return Case("networks", "paper", "approximate", build, (1, 3, NETWORK_SIZE, NETWORK_SIZE), opset=14)


A, E = "approximate", "exact"
CASES = {
    # LayerNorm: the op (opset 17) and the decomposed form (opset 14), over the last axis of tokens,
    # of NHWC (ConvNeXt block) and torchvision's LayerNorm2d (permute, LayerNorm, permute), and the
    # channels-first LayerNorm written out (mean over dim 1).
    "ln_tokens_op17": form("layernorm_to_batchnorm", A, lambda m: m["Tokens"](), (2, 10, 12), opset=17),
    "ln_tokens_op14": form("layernorm_to_batchnorm", A, lambda m: m["Tokens"](), (2, 10, 12), opset=14),
    "ln_nhwc_op17": form("layernorm_to_batchnorm", A, lambda m: m["NHWCBlock"](), (1, 8, 14, 14), opset=17),
    "ln_nhwc_op14": form("layernorm_to_batchnorm", A, lambda m: m["NHWCBlock"](), (1, 8, 14, 14), opset=14),
    "ln2d_op17": form("layernorm_to_batchnorm", A, lambda m: m["conv_act"](m["LayerNorm2d"](8, eps=1e-6)), opset=17),
    "ln2d_op14": form("layernorm_to_batchnorm", A, lambda m: m["conv_act"](m["LayerNorm2d"](8, eps=1e-6)), opset=14),
    "ln_channels_op14": form("layernorm_to_batchnorm", A, lambda m: m["conv_act"](m["ChannelLayerNorm"](8)), opset=14),
    "ln_channels_op17": form("layernorm_to_batchnorm", A, lambda m: m["conv_act"](m["ChannelLayerNorm"](8)), opset=17),
    # GELU: erf (exact GELU) and the tanh approximation, as torch exports them and written out.
    "gelu_erf": form("gelu_to_relu", A, lambda m: m["conv_act"](m["nn"].GELU())),
    "gelu_tanh": form("gelu_to_relu", A, lambda m: m["conv_act"](m["GeluTanh"]())),
    "gelu_tanh_written": form("gelu_to_relu", A, lambda m: m["conv_act"](m["GeluWritten"]())),
    # HardSwish / HardSigmoid: the ops (opset 14), x * HardSigmoid(x) (opset 13), and written out.
    "hardswish_op14": form("hardswish_to_relu", A, lambda m: m["conv_act"](m["nn"].Hardswish()), opset=14),
    "hardswish_op13": form("hardswish_to_relu", A, lambda m: m["conv_act"](m["nn"].Hardswish()), opset=13),
    "hardswish_written": form("hardswish_to_relu", A, lambda m: m["conv_act"](m["HardSwishWritten"]())),
    "hardsigmoid_op": form("hardsigmoid_to_relu", A, lambda m: m["conv_act"](m["nn"].Hardsigmoid())),
    "hardsigmoid_written": form("hardsigmoid_to_relu", A, lambda m: m["conv_act"](m["HardSigmoidWritten"]())),
    # SiLU / Swish.
    "silu": form("silu_to_relu", A, lambda m: m["conv_act"](m["nn"].SiLU())),
    "swish_beta": form("silu_to_relu", A, lambda m: m["conv_act"](m["SwishBeta"]())),
    # ReLU6: Clip with attribute bounds (opset 10) and input bounds (opset 13).
    "relu6_op10": form("relu6_to_relu", A, lambda m: m["conv_act"](m["nn"].ReLU6()), opset=10),
    "relu6_op13": form("relu6_to_relu", A, lambda m: m["conv_act"](m["nn"].ReLU6()), opset=13),
    # The opt-in lite activations.
    "leaky_relu": form("leaky_relu_to_relu", A, lambda m: m["conv_act"](m["nn"].LeakyReLU(0.1))),
    "prelu": form("prelu_to_relu", A, lambda m: m["conv_act"](m["nn"].PReLU(8, 0.2))),
    "elu": form("elu_to_relu", A, lambda m: m["conv_act"](m["nn"].ELU())),
    "mish": form("mish_to_relu", A, lambda m: m["conv_act"](m["nn"].Mish())),
    # Squeeze-and-Excitation as in torchvision's MobileNetV3, EfficientNet and RegNet, and timm's mean form.
    "se_mobilenet_v3": form("remove_squeeze_excitation", A, lambda m: m["se"](m["nn"].ReLU, m["nn"].Hardsigmoid)),
    "se_efficientnet": form("remove_squeeze_excitation", A, lambda m: m["se"](m["nn"].SiLU, m["nn"].Sigmoid)),
    "se_regnet": form("remove_squeeze_excitation", A, lambda m: m["se"](m["nn"].ReLU, m["nn"].Sigmoid)),
    "se_mean": form("remove_squeeze_excitation", A,
                    lambda m: m["nn"].Sequential(m["nn"].Conv2d(3, 16, 3, padding=1), m["SEMean"](), m["nn"].Conv2d(16, 4, 1))),
    # BatchNorm kept by the export (TrainingMode.PRESERVE on an eval-mode module), to be folded.
    "conv_bn": form("fold_batchnorm", E, lambda m: m["nn"].Sequential(m["nn"].Conv2d(3, 8, 3, padding=1), m["nn"].BatchNorm2d(8)),
                    mode="preserve", expect="same"),
    "convtranspose_bn": form("fold_batchnorm", E,
                             lambda m: m["nn"].Sequential(m["nn"].ConvTranspose2d(4, 8, 3, stride=2, padding=1, groups=2),
                                                          m["nn"].BatchNorm2d(8)),
                             shape=(1, 4, 8, 8), mode="preserve", expect="same"),
    "linear_bn1d": form("fold_batchnorm", E, lambda m: m["nn"].Sequential(m["nn"].Linear(16, 8), m["nn"].BatchNorm1d(8)),
                        shape=(4, 16), mode="preserve", expect="same"),
    "matmul_bn": form("fold_batchnorm", E, lambda m: m["MatMulBN"](), shape=(4, 16), mode="preserve", expect="same"),
    # Dropout exported in training mode: p > 0 must stay, p = 0 is an identity even in training mode.
    "dropout_train": form("remove_dropout", E, lambda m: m["nn"].Sequential(m["nn"].Conv2d(3, 8, 3, padding=1), m["nn"].Dropout(0.3)),
                          mode="train", expect="random", note="must not fire"),
    "dropout_train_p0": form("remove_dropout", E, lambda m: m["nn"].Sequential(m["nn"].Conv2d(3, 8, 3, padding=1), m["nn"].Dropout(0.0)),
                             mode="train", expect="same"),
    # The YOLO Focus stem, large kernels, a no-op feeding the graph output.
    "focus": form("focus_to_conv", E, lambda m: m["Focus"](), expect="same"),
    "conv7x7": form("large_kernel_to_3x3", A, lambda m: m["nn"].Sequential(m["nn"].Conv2d(3, 8, 7, padding=3), m["nn"].ReLU()),
                    expect="same", note="the expected output is the original's: only structure is checked"),
    "dwconv5x5": form("large_kernel_to_3x3", A,
                      lambda m: m["nn"].Sequential(m["nn"].Conv2d(3, 8, 1), m["nn"].Conv2d(8, 8, 5, padding=2, groups=8)),
                      expect="same", note="must not fire with the default threshold 7"),
    "noop_tail": form("remove_noop_reshape", E, lambda m: m["NoopTail"](), expect="same"),
    # The paper's networks.
    "mobilenet_v2": network("mobilenet_v2"),
    "mobilenet_v3_large": network("mobilenet_v3_large"),
    "mobilenet_v3_small": network("mobilenet_v3_small"),
    "efficientnet_b0": network("efficientnet_b0"),
    "efficientnet_b1": network("efficientnet_b1"),
    "regnet_y_400mf": network("regnet_y_400mf"),
}


# ---- exporting -------------------------------------------------------------------------------------

def script_hash():
    h = hashlib.sha256()
    for name in SCRIPTS:
        h.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    return h.hexdigest()


def file_names(name, case):
    files = [f"{name}.onnx", f"{name}_input.pb", f"{name}_output.pb"]
    if case.expect != "random":
        files.append(f"{name}_expect.pb")
    if case.group == "networks":
        files.append(f"{name}_swap.onnx")
    return files


def write_atomic(path, data):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def export_bytes(torch, model, x, opset, mode):
    modes = {"eval": torch.onnx.TrainingMode.EVAL, "preserve": torch.onnx.TrainingMode.PRESERVE,
             "train": torch.onnx.TrainingMode.TRAINING}
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), f, opset_version=opset, do_constant_folding=True,
                          input_names=["input"], output_names=["output"], training=modes[mode])
    return f.getvalue()


def export_one(name, case, out):
    import copy
    import numpy as np
    import onnx
    import onnx.numpy_helper
    sys.dont_write_bytecode = True
    sys.path.insert(0, str(HERE))
    from export_models import randomize_norms

    m = modules()
    torch = m["torch"]
    torch.manual_seed(TORCH_SEED)
    model = case.build(m)
    randomize_norms(model, NORM_SEED)
    model.train(case.mode == "train")
    lite = swap_to_lite(copy.deepcopy(model), m) if case.expect == "swap" else model
    lite.train(case.mode == "train")

    x_np = np.random.default_rng(INPUT_SEED).standard_normal(case.shape, dtype=np.float32)
    x = torch.from_numpy(x_np.copy())
    with torch.no_grad():
        torch.manual_seed(TORCH_SEED)
        y = model(x).numpy().astype(np.float32)
        z = lite(x).numpy().astype(np.float32)
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(z))):
        raise ExportError("PyTorch output is not finite")

    data = export_bytes(torch, model, x, case.opset, case.mode)
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto, full_check=True)
    hist = dict(collections.Counter(n.op_type for n in proto.graph.node).most_common())
    swap_data = None
    if case.group == "networks":
        swap_data = export_bytes(torch, lite, x, case.opset, case.mode)

    write_atomic(out / f"{name}_input.pb", onnx.numpy_helper.from_array(x_np, "input").SerializeToString())
    write_atomic(out / f"{name}_output.pb", onnx.numpy_helper.from_array(y, "output").SerializeToString())
    if case.expect != "random":
        write_atomic(out / f"{name}_expect.pb", onnx.numpy_helper.from_array(z, "output").SerializeToString())
    if swap_data is not None:
        write_atomic(out / f"{name}_swap.onnx", swap_data)
    write_atomic(out / f"{name}.onnx", data)
    return {
        "group": case.group, "rule": case.rule, "exactness": case.kind, "opset": case.opset, "mode": case.mode,
        "expect": case.expect, "note": case.note, "input_shape": list(case.shape), "output_shape": list(y.shape),
        "op_histogram": hist, "lite_differs_by": float(np.max(np.abs(y - z))) if case.expect == "swap" else 0.0,
    }


def load_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="output directory (created)")
    ap.add_argument("--group", choices=("all", "forms", "networks"), default="all")
    ap.add_argument("--cases", default="", help="comma-separated case names (default: every case of the group)")
    ap.add_argument("--force", action="store_true", help="export even if the stamp says up to date")
    ap.add_argument("--list", action="store_true", help="print the cases and exit")
    args = ap.parse_args()

    if args.list:
        for name, c in CASES.items():
            print(f"{name:22s} {c.group:9s} {c.rule:26s} {c.kind:12s} opset {c.opset:2d} {c.mode:8s} {c.note}")
        return 0
    names = [n.strip() for n in args.cases.split(",") if n.strip()] or \
        [n for n, c in CASES.items() if args.group in ("all", c.group)]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"export_forms: error: unknown case(s) {unknown} (see --list)", file=sys.stderr)
        return 2
    from export_models import make_output_dir, package_versions
    versions = package_versions("export_forms")
    out = args.out
    if versions is None or not make_output_dir("export_forms", out):
        return 2
    key = {"script_sha256": script_hash(), **versions}

    with open(out / ".forms.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = load_json(out / STAMP)
        manifest = load_json(out / MANIFEST).get("cases", {})
        failed = []
        t_all = time.perf_counter()
        for name in names:
            case = CASES[name]
            if not args.force and stamp.get(name) == key and name in manifest and \
                    all((out / f).is_file() for f in file_names(name, case)):
                continue
            t0 = time.perf_counter()
            stamp.pop(name, None)
            try:
                import torch
                torch.set_num_threads(max(1, os.cpu_count() or 1))
                entry = export_one(name, case, out)
            except Exception as e:
                failed.append(name)
                print(f"{name}: FAILED: {type(e).__name__}: {e}", file=sys.stderr)
                traceback.print_exc()
                continue
            manifest[name] = entry
            stamp[name] = key
            print(f"{name}: {time.perf_counter() - t0:.1f} s, {sum(entry['op_histogram'].values())} nodes "
                  f"{entry['op_histogram']}")
            write_atomic(out / MANIFEST, (json.dumps({
                "generator": "tests/models/export_forms.py", "python_version": platform.python_version(),
                "package_versions": versions, "cases": dict(sorted(manifest.items()))}, indent=2) + "\n").encode())
            write_atomic(out / STAMP, (json.dumps(stamp, indent=2, sort_keys=True) + "\n").encode())
        print(f"export_forms: {len(names)} case(s) up to date in {out} ({time.perf_counter() - t_all:.1f} s)")
    if failed:
        print(f"export_forms: error: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
