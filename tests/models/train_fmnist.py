#!/usr/bin/python3
"""Train the paper's networks on Fashion-MNIST (CPU), export them to ONNX, and measure the lite baselines.

For each network NAME (32x32x3 inputs, 10 classes; see NETWORKS for what was adapted) it
  1. trains from a fixed seed for a fixed number of steps (derived from --budget-seconds, see STEP_RATE),
  2. evaluates top-1 on the 10,000 test images,
  3. builds the paper's "module swap" lite network (HardSwish, HardSigmoid, SiLU, ReLU6, GELU -> ReLU;
     SqueezeExcitation -> Identity; same weights) and evaluates it as is,
  4. re-estimates its BatchNorm statistics on the first --calib-images training images (running stats
     reset, momentum=None i.e. a cumulative average, forward passes with only the BatchNorm layers in
     train mode, no gradients) and evaluates it,
  5. fine-tunes that model for --finetune-fraction of the training steps and evaluates it,
and writes into --out:
  NAME.onnx, NAME_bn.onnx                    the trained network: default eval export (BatchNorm folded
                                             by the exporter) / TrainingMode.PRESERVE (BatchNorm kept)
  NAME_lite[_bn].onnx                        module-swap lite network, weights as trained
  NAME_lite_bnre[_bn].onnx                   ... after BatchNorm re-estimation
  NAME_lite_ft[_bn].onnx                     ... after fine-tuning
  NAME.pt, NAME_lite_ft.pt                   state dicts
  NAME_head_logits.npy (and _lite, _lite_bnre, _lite_ft)   PyTorch's logits [64, 10] for test_head_input.npy
  test_head_input.npy, test_head_labels.npy  the first 64 test images preprocessed [64, 3, 32, 32], labels
  NAME.json                                  this network's results; results.json / results.md: all of them
Every ONNX graph has input "input" [N, 3, 32, 32] (N symbolic) and output "output" [N, 10].

The C++ side reads the same test images with the spec fmnist_common.dataset_spec() (printed in
results.json), whose preprocessing is bit-identical to fmnist_common.preprocess.

Reruns are instant: a network whose files exist with a stamp matching the hash of this script,
fmnist_common.py and yolox_like.py, the options that change the results, the torch version and
thread count, and the CPU (model name and vector instruction sets), is skipped. Training is
deterministic for a given stamp (fixed seeds, fixed step count, fixed data order); on a CPU with
other instruction sets PyTorch's kernels sum in another order, and the trained weights differ
(docs/results.md, "On another machine").

Run with Debian's Python (python3-torch, python3-torchvision; python3-onnx to check the exports):
  nice -n 10 /usr/bin/python3 tests/models/train_fmnist.py --out DIR [--quick] [--models a,b]
"""

import argparse
import contextlib
import copy
import fcntl
import hashlib
import importlib.metadata
import io
import json
import math
import os
import platform
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fmnist_common as fm  # noqa: E402  (after the path set-up)

SOURCES = ("train_fmnist.py", "fmnist_common.py", "yolox_like.py")  # their contents define the outputs
STAMP = ".train_stamp.json"
DEFAULT_OPSET = 13
DEFAULT_BUDGET = 900.0
QUICK_MODEL = "mobilenet_v3_small"
QUICK_BUDGET = 240.0  # 360 steps of MobileNetV3-Small: about 84% top-1, where 40 s (60 steps) gave 33%

SEED_MODEL = 0     # torch.manual_seed before building a network (initial weights)
SEED_DATA = 1      # order of the training images and flips
SEED_FINETUNE = 2  # same for the fine-tuning
HEAD = 64          # test images whose logits are saved for executor checks

# Training steps per second (batch 64, 1 thread) measured with --calibrate on the reference machine:
# 2 cores of an Intel Xeon VM shared with compilers (load average about 8), nice -n 10, torch 1.13.
# The step count of a network is round(budget * rate, -1): a pure function of the options, so reruns
# give identical weights whatever the machine's load; the seconds actually spent are recorded.
STEP_RATE = {
    "mobilenet_v2": 0.45,
    "mobilenet_v3_large": 0.62,
    "mobilenet_v3_small": 1.52,
    "efficientnet_b0": 0.36,
    "convnext_tiny_narrow": 0.55,
    "yolox_like_cls": 7.24,
}


# ---- networks ---------------------------------------------------------------------------------

def _stem_stride_1(model, conv):
    """torchvision's ImageNet stems halve the input; at 32x32 the last feature map would be 1x1."""
    conv.stride = (1, 1)
    return model


def mobilenet_v2():
    import torchvision
    m = torchvision.models.mobilenet_v2(num_classes=fm.NUM_CLASSES)
    return _stem_stride_1(m, m.features[0][0])


def mobilenet_v3_large():
    import torchvision
    m = torchvision.models.mobilenet_v3_large(num_classes=fm.NUM_CLASSES)
    return _stem_stride_1(m, m.features[0][0])


def mobilenet_v3_small():
    import torchvision
    m = torchvision.models.mobilenet_v3_small(num_classes=fm.NUM_CLASSES)
    return _stem_stride_1(m, m.features[0][0])


def efficientnet_b0():
    import torchvision
    m = torchvision.models.efficientnet_b0(num_classes=fm.NUM_CLASSES, stochastic_depth_prob=0.0)
    return _stem_stride_1(m, m.features[0][0])


def convnext_tiny_narrow():
    """ConvNeXt-Tiny's depths (3, 3, 9, 3) at a third of its widths (32..256 instead of 96..768), so
    that a few CPU minutes train it; the 2x2 stride-2 patchify stem replaces the 4x4 stride-4 one."""
    import torch
    from torch import nn
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt
    setting = [CNBlockConfig(32, 64, 3), CNBlockConfig(64, 128, 3), CNBlockConfig(128, 256, 9),
               CNBlockConfig(256, None, 3)]
    m = ConvNeXt(setting, stochastic_depth_prob=0.0, num_classes=fm.NUM_CLASSES)
    stem = nn.Conv2d(3, 32, kernel_size=2, stride=2, bias=True)
    nn.init.trunc_normal_(stem.weight, std=0.02)
    nn.init.zeros_(stem.bias)
    m.features[0][0] = stem
    return m


def yolox_like_cls():
    import yolox_like
    from torch import nn

    class YoloxLikeClassifier(nn.Module):
        """tests/models/yolox_like.py's network with a classification head: its 1x1 detection head
        conv (box + objectness + 80 classes per cell) predicts 10 class logits per cell instead,
        averaged over the cells (global average pooling)."""

        def __init__(self):
            super().__init__()
            self.body = yolox_like.YoloxNanoLike()
            self.body.head = nn.Conv2d(self.body.head.in_channels, fm.NUM_CLASSES, 1)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten(1)

        def forward(self, x):
            return self.flatten(self.pool(self.body(x)))

    return YoloxLikeClassifier()


# name -> (builder, learning rate, what was changed for 32x32 inputs)
NETWORKS = {
    "mobilenet_v2": (mobilenet_v2, 2e-3, "torchvision mobilenet_v2, stem conv stride 2 -> 1 (last map 2x2)"),
    "mobilenet_v3_large": (mobilenet_v3_large, 2e-3,
                           "torchvision mobilenet_v3_large, stem conv stride 2 -> 1 (last map 2x2)"),
    "mobilenet_v3_small": (mobilenet_v3_small, 2e-3,
                           "torchvision mobilenet_v3_small, stem conv stride 2 -> 1 (last map 2x2)"),
    "efficientnet_b0": (efficientnet_b0, 2e-3,
                        "torchvision efficientnet_b0, stem conv stride 2 -> 1 (last map 2x2), "
                        "stochastic depth 0.2 -> 0"),
    "convnext_tiny_narrow": (convnext_tiny_narrow, 1e-3,
                             "torchvision ConvNeXt, Tiny depths (3,3,9,3), widths 96..768 -> 32..256, "
                             "stem 4x4/4 -> 2x2/2 (maps 16,8,4,2), stochastic depth 0.1 -> 0"),
    "yolox_like_cls": (yolox_like_cls, 2e-3,
                       "tests/models/yolox_like.py YoloxNanoLike (Focus, CSP, SPP, upsample) with its "
                       "head conv giving 10 logits per cell + global average pooling (maps 16,8,4,2)"),
}


# ---- the lite network (module swap) -------------------------------------------------------------

def lite_swap(model):
    """The paper's module-swap lite network: a deep copy with every HardSwish, HardSigmoid, SiLU,
    ReLU6 and GELU replaced by ReLU and every SqueezeExcitation by Identity, weights kept.
    Returns (model, {"ModuleType -> Replacement": count})."""
    from torch import nn
    from torchvision.ops.misc import SqueezeExcitation
    acts = (nn.Hardswish, nn.Hardsigmoid, nn.SiLU, nn.ReLU6, nn.GELU)
    lite = copy.deepcopy(model)
    counts = {}

    def visit(parent):
        for name, child in parent.named_children():
            if isinstance(child, SqueezeExcitation):
                new = nn.Identity()
            elif isinstance(child, acts):
                new = nn.ReLU()
            else:
                visit(child)
                continue
            key = f"{type(child).__name__} -> {type(new).__name__}"
            counts[key] = counts.get(key, 0) + 1
            setattr(parent, name, new)

    visit(lite)
    for m in lite.modules():  # an in-place dropout would overwrite the ReLU output its backward needs
        if isinstance(m, nn.Dropout):
            m.inplace = False
    return lite, dict(sorted(counts.items()))


def batchnorms(model):
    from torch import nn
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def reestimate_batchnorm(model, images_u8, batch_size):
    """PyTorch's BatchNorm re-estimation: reset the running statistics, momentum=None (cumulative
    average over the batches), forward `images_u8` with only the BatchNorm layers in train mode
    (dropout and the rest stay in eval mode), no gradients. Returns the number of layers."""
    import torch
    bns = batchnorms(model)
    model.eval()
    saved = []
    for bn in bns:
        saved.append(bn.momentum)
        bn.reset_running_stats()
        bn.momentum = None
        bn.train()
    with torch.no_grad():
        for k in range(0, len(images_u8), batch_size):
            model(fm.preprocess(images_u8[k:k + batch_size]))
    for bn, momentum in zip(bns, saved):
        bn.momentum = momentum
    model.eval()
    return len(bns)


# ---- training and evaluation --------------------------------------------------------------------

@contextlib.contextmanager
def linear_as_conv():
    """Run every nn.Linear as a 1x1 convolution (same weights, same function) while training and
    evaluating. Debian's torch uses the reference BLAS for matrix products, where ConvNeXt's MLPs
    spent 89% of a step; oneDNN's convolution is about 6x faster. Rounding differs from F.linear by
    about 1e-6 relative. The exported graphs are unaffected (export runs outside this context)."""
    import torch.nn.functional as F
    from torch import nn
    original = nn.Linear.forward

    def forward(self, x):
        shape = x.shape
        y = F.conv2d(x.reshape(-1, shape[-1], 1, 1), self.weight[:, :, None, None], self.bias)
        return y.reshape(*shape[:-1], self.out_features)

    nn.Linear.forward = forward
    try:
        yield
    finally:
        nn.Linear.forward = original


def train(model, images_u8, labels, steps, lr, batch_size, seed, log_every, tag):
    """AdamW (weight decay 0.05), linear warm-up over 5% of the steps then cosine decay to 0,
    cross-entropy, random horizontal flips, epochs of a seeded permutation, BatchNorm momentum 0.1.
    Returns seconds."""
    import torch
    from torch import nn
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    warmup = max(1, steps // 20)

    def lr_at(step):
        if step < warmup:
            return lr * (step + 1) / warmup
        t = (step - warmup) / max(1, steps - warmup)
        return lr * 0.5 * (1.0 + math.cos(math.pi * t))

    loss_fn = nn.CrossEntropyLoss()
    for bn in batchnorms(model):
        # torchvision's MobileNetV3 uses 0.01, made for hundreds of ImageNet epochs: after a few hundred
        # steps its running statistics would still be mostly the initial ones.
        bn.momentum = 0.1
    images = torch.from_numpy(images_u8)
    targets = torch.from_numpy(labels)
    n = len(images)
    order = torch.randperm(n, generator=g)
    pos = 0
    model.train()
    t0 = time.perf_counter()
    seen = correct = 0
    loss_sum = 0.0
    for step in range(steps):
        if pos + batch_size > n:
            order = torch.randperm(n, generator=g)
            pos = 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        x = fm.preprocess(images[idx])
        flip = torch.rand(batch_size, generator=g) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
        y = targets[idx]
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        out = model(x)
        loss = loss_fn(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum += float(loss) * batch_size
        correct += int((out.argmax(1) == y).sum())
        seen += batch_size
        if log_every and ((step + 1) % log_every == 0 or step + 1 == steps):
            print(f"  {tag} step {step + 1}/{steps}: loss {loss_sum / seen:.4f}, "
                  f"train acc {correct / seen:.4f}, {time.perf_counter() - t0:.0f} s", flush=True)
            seen = correct = 0
            loss_sum = 0.0
    model.eval()
    return time.perf_counter() - t0


def evaluate(model, images_u8, labels, batch_size=500):
    """Top-1 accuracy (fraction) on the given images, eval mode."""
    import torch
    model.eval()
    correct = 0
    with torch.no_grad():
        for k in range(0, len(images_u8), batch_size):
            out = model(fm.preprocess(images_u8[k:k + batch_size]))
            correct += int((out.argmax(1).numpy() == labels[k:k + batch_size]).sum())
    return correct / len(images_u8)


def logits(model, x):
    import torch
    model.eval()
    with torch.no_grad():
        return model(x).numpy()


# ---- export -------------------------------------------------------------------------------------

class ExportError(Exception):
    pass


@contextlib.contextmanager
def captured_stderr():
    """Collect everything written to fd 2 (the exporter's C++ warnings) and Python warnings."""
    buf = io.StringIO()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp, warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        os.dup2(tmp.fileno(), 2)
        try:
            yield buf
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            buf.write(tmp.read().decode(errors="replace"))
            for w in ws:
                buf.write(f"{w.category.__name__}: {w.message}\n")


def export_onnx(model, opset, keep_bn):
    """ONNX bytes of `model` (eval mode): BatchNorm folded by the exporter, or kept with
    TrainingMode.PRESERVE. Checked with onnx.checker when python3-onnx is installed."""
    import torch
    model.eval()
    x = torch.zeros(1, fm.CHANNELS, fm.SIZE, fm.SIZE)
    mode = torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL
    f = io.BytesIO()
    with captured_stderr() as log:
        torch.onnx.export(model, (x,), f, opset_version=opset, do_constant_folding=True, training=mode,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    if model.training:
        raise ExportError("torch.onnx.export left the model in training mode")
    data = f.getvalue()
    try:
        import onnx
    except ImportError:
        return data, {}, log.getvalue()
    mp = onnx.load_from_string(data)
    hist = {}
    for node in mp.graph.node:
        hist[node.op_type] = hist.get(node.op_type, 0) + 1
        if node.op_type == "BatchNormalization" and len([o for o in node.output if o]) != 1:
            raise ExportError("a BatchNormalization node has training outputs")
    n_bn = len(batchnorms(model))
    if hist.get("BatchNormalization", 0) != (n_bn if keep_bn else 0):
        raise ExportError(f"{hist.get('BatchNormalization', 0)} BatchNormalization nodes, expected "
                          f"{n_bn if keep_bn else 0}")
    onnx.checker.check_model(mp, full_check=True)
    return data, dict(sorted(hist.items())), log.getvalue()


# ---- files --------------------------------------------------------------------------------------

def write_atomic(path, data):
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def npy_bytes(arr):
    import numpy as np
    f = io.BytesIO()
    np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
    return f.getvalue()


def load_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


# The vector instruction sets that decide which kernels PyTorch (ATen, oneDNN) runs, hence the order
# of its floating-point sums and, after a few hundred steps, the trained weights.
ISA_FLAGS = ("avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile", "avx2", "fma", "f16c")


def machine_identity():
    """The CPU's model name and which of ISA_FLAGS it has (from /proc/cpuinfo; empty where unreadable)."""
    model, flags = "", set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and not model:
                model = value.strip()
            elif key == "flags" and not flags:
                flags = set(value.split())
    return {"cpu": model or platform.processor() or platform.machine(), "isa": [f for f in ISA_FLAGS if f in flags]}


def sources_hash():
    h = hashlib.sha256()
    for name in SOURCES:
        h.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    return h.hexdigest()


VARIANTS = ("", "_lite", "_lite_bnre", "_lite_ft")


def file_names(name):
    files = [f"{name}.json", f"{name}.pt", f"{name}_lite_ft.pt"]
    for v in VARIANTS:
        files += [f"{name}{v}.onnx", f"{name}{v}_bn.onnx", f"{name}{v}_head_logits.npy"]
    return files


def steps_for(name, budget):
    return max(10, int(round(budget * STEP_RATE[name], -1)))


# ---- one network ---------------------------------------------------------------------------------

def train_and_measure(model, opts, data, steps, ft_steps, lr):
    """Steps 1-5 of the module doc on a freshly built `model`: returns (result fields, {suffix: model})."""
    train_x, train_y, test_x, test_y, _ = data
    seconds = train(model, train_x, train_y, steps, lr, opts["batch_size"], SEED_DATA, max(10, steps // 10), "train")
    t = time.perf_counter()
    acc = {"original": evaluate(model, test_x, test_y)}
    print(f"  original: top-1 {acc['original']:.4f} (trained in {seconds:.0f} s)", flush=True)

    lite, swaps = lite_swap(model)
    acc["lite"] = evaluate(lite, test_x, test_y)
    print(f"  lite as is: top-1 {acc['lite']:.4f}; swaps {swaps}", flush=True)

    bnre = copy.deepcopy(lite)
    calib = train_x[:opts["calib_images"]]
    t_bn = time.perf_counter()
    n_bn = reestimate_batchnorm(bnre, calib, opts["calib_batch"])
    t_bn = time.perf_counter() - t_bn
    acc["lite_bnre"] = evaluate(bnre, test_x, test_y)
    print(f"  lite + BN re-estimation ({n_bn} layers, {len(calib)} images, {t_bn:.1f} s): "
          f"top-1 {acc['lite_bnre']:.4f}", flush=True)

    ft = copy.deepcopy(bnre)
    ft_seconds = train(ft, train_x, train_y, ft_steps, lr / 4, opts["batch_size"], SEED_FINETUNE,
                       max(10, ft_steps // 5), "fine-tune")
    acc["lite_ft"] = evaluate(ft, test_x, test_y)
    print(f"  lite + fine-tune ({ft_steps} steps, {ft_seconds:.0f} s): top-1 {acc['lite_ft']:.4f}", flush=True)
    eval_seconds = time.perf_counter() - t - ft_seconds

    result = {
        "parameters_lite": sum(p.numel() for p in lite.parameters()),
        "batchnorm_layers": n_bn,
        "lite_swaps": swaps,
        "top1": acc,
        "correct": {k: int(round(v * len(test_x))) for k, v in acc.items()},
        "test_images": len(test_x),
        "train": {"steps": steps, "batch_size": opts["batch_size"], "lr": lr, "seconds": round(seconds, 1),
                  "epochs": round(steps * opts["batch_size"] / len(train_x), 3),
                  "steps_per_second": round(steps / seconds, 3)},
        "bn_reestimation": {"images": len(calib), "batch_size": opts["calib_batch"],
                            "which": f"the first {len(calib)} training images",
                            "mode": "BatchNorm layers in train mode, momentum=None, no gradients",
                            "seconds": round(t_bn, 2)},
        "finetune": {"steps": ft_steps, "lr": lr / 4, "seconds": round(ft_seconds, 1),
                     "starts_from": "lite + BN re-estimation"},
        "eval_seconds": round(eval_seconds, 1),
    }
    return result, {"": model, "_lite": lite, "_lite_bnre": bnre, "_lite_ft": ft}


def run_network(name, opts, data, out):
    import numpy as np
    import torch
    builder, lr, changes = NETWORKS[name]
    head_x = data[4]
    steps = opts["steps"][name]
    ft_steps = max(10, int(round(steps * opts["finetune_fraction"])))

    torch.manual_seed(SEED_MODEL)
    model = builder()
    params = sum(p.numel() for p in model.parameters())
    print(f"{name}: {params / 1e6:.2f}M parameters, {steps} steps; {changes}", flush=True)
    with linear_as_conv():
        measured, models = train_and_measure(model, opts, data, steps, ft_steps, lr)
        head_logits = {v: logits(m, head_x).astype(np.float32) for v, m in models.items()}

    t = time.perf_counter()
    onnx_info = {}
    export_log = ""
    for v, m in models.items():
        for keep_bn in (False, True):
            fname = f"{name}{v}{'_bn' if keep_bn else ''}.onnx"
            data_bytes, hist, log = export_onnx(m, opts["opset"], keep_bn)
            export_log += log
            write_atomic(out / fname, data_bytes)
            onnx_info[fname] = {"bytes": len(data_bytes), "op_histogram": hist}
        write_atomic(out / f"{name}{v}_head_logits.npy", npy_bytes(head_logits[v]))
    for fname, m in ((f"{name}.pt", models[""]), (f"{name}_lite_ft.pt", models["_lite_ft"])):
        buf = io.BytesIO()
        torch.save(m.state_dict(), buf)
        write_atomic(out / fname, buf.getvalue())
    if opts["verbose"] and export_log.strip():
        print(export_log.rstrip(), file=sys.stderr)

    result = {"network": name, "changes_for_32x32": changes, "parameters": params, **measured,
              "export_seconds": round(time.perf_counter() - t, 1), "onnx": onnx_info}
    write_atomic(out / f"{name}.json", (json.dumps(result, indent=2) + "\n").encode())
    return result


def markdown(results):
    lines = ["| network | params | steps (s) | original | lite | lite + BN re-est. | lite + fine-tune (steps) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        a = r["top1"]
        lines.append(f"| {name} | {r['parameters'] / 1e6:.2f}M | {r['train']['steps']} ({r['train']['seconds']:.0f}) "
                     f"| {100 * a['original']:.2f} | {100 * a['lite']:.2f} | {100 * a['lite_bnre']:.2f} "
                     f"| {100 * a['lite_ft']:.2f} ({r['finetune']['steps']}) |")
    return "\n".join(lines) + "\n"


# ---- step-rate measurement ------------------------------------------------------------------------

def calibrate(names, batch_size, data):
    """Measure training steps per second of each network (after warm-up) to fill STEP_RATE."""
    import torch
    train_x, train_y = data[0], data[1]
    rates = {}
    for name in names:
        builder, lr, _ = NETWORKS[name]
        torch.manual_seed(SEED_MODEL)
        model = builder()
        n = 15
        with linear_as_conv():
            train(model, train_x, train_y, 3, lr, batch_size, SEED_DATA, 0, "warm-up")
            seconds = train(model, train_x, train_y, n, lr, batch_size, SEED_DATA, 0, "timing")
        rates[name] = round(n / seconds, 2)
        print(f"{name}: {rates[name]} steps/s", flush=True)
    print(json.dumps(rates, indent=2))


# ---- main ------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path, help="output directory (created)")
    ap.add_argument("--models", default=None, help=f"comma-separated subset of: {','.join(NETWORKS)}")
    ap.add_argument("--quick", action="store_true",
                    help=f"CI mode: {QUICK_MODEL} only, {QUICK_BUDGET:.0f} s budget (about 2 minutes in all)")
    ap.add_argument("--budget-seconds", type=float, default=None,
                    help=f"training budget per network, turned into a step count (default {DEFAULT_BUDGET:.0f}; "
                         f"{QUICK_BUDGET:.0f} with --quick)")
    ap.add_argument("--steps", action="append", default=[], metavar="NAME=N",
                    help="explicit training step count for one network (overrides the budget)")
    ap.add_argument("--finetune-fraction", type=float, default=0.5,
                    help="fine-tuning steps of the lite network as a fraction of the training steps (default 0.5)")
    ap.add_argument("--calib-images", type=int, default=2000, help="images for BatchNorm re-estimation (default 2000)")
    ap.add_argument("--calib-batch", type=int, default=100, help="batch size of the re-estimation (default 100)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch.set_num_threads (default 1: on a shared machine OpenMP threads that spin-wait "
                         "for a descheduled sibling made 2 threads 15x slower than 1); part of the stamp")
    ap.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    ap.add_argument("--data-dir", type=Path, default=fm.DATA_DIR)
    ap.add_argument("--force", action="store_true", help="retrain even if the stamp says up to date")
    ap.add_argument("--calibrate", action="store_true", help="only measure steps/s of each network (for STEP_RATE)")
    ap.add_argument("--verbose", action="store_true", help="show the exporter's warnings")
    args = ap.parse_args()

    if args.models:
        names = [m.strip() for m in args.models.split(",") if m.strip()]
    else:
        names = [QUICK_MODEL] if args.quick else list(NETWORKS)
    unknown = [m for m in names if m not in NETWORKS]
    if unknown or not names:
        print(f"train_fmnist: error: unknown network(s) {unknown}; known: {', '.join(NETWORKS)}", file=sys.stderr)
        return 2
    budget = args.budget_seconds if args.budget_seconds is not None else (QUICK_BUDGET if args.quick else DEFAULT_BUDGET)
    steps = {n: steps_for(n, budget) for n in NETWORKS}
    for item in args.steps:
        key, _, value = item.partition("=")
        if key not in NETWORKS or not value.isdigit() or int(value) < 1:
            print(f"train_fmnist: error: --steps wants NAME=N with NAME in {', '.join(NETWORKS)}, got '{item}'",
                  file=sys.stderr)
            return 2
        steps[key] = int(value)
    if not (0 < args.finetune_fraction <= 10) or args.calib_images < 1 or args.calib_batch < 2 or args.batch_size < 2:
        print("train_fmnist: error: bad --finetune-fraction, --calib-images, --calib-batch or --batch-size",
              file=sys.stderr)
        return 2
    try:
        versions = {p: importlib.metadata.version(p) for p in ("torch", "torchvision", "numpy")}
    except importlib.metadata.PackageNotFoundError as e:
        print(f"train_fmnist: error: {e}; run with Debian's /usr/bin/python3 "
              "(apt packages python3-torch python3-torchvision)", file=sys.stderr)
        return 2

    out = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"train_fmnist: error: cannot create {out}: {e}", file=sys.stderr)
        return 2
    common = {"sources_sha256": sources_hash(), "opset": args.opset, "threads": args.threads,
              "batch_size": args.batch_size, "finetune_fraction": args.finetune_fraction,
              "calib_images": args.calib_images, "calib_batch": args.calib_batch,
              "data_dir": str(args.data_dir), "machine": machine_identity(), **versions}

    with open(out / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = load_json(out / STAMP)
        todo = []
        for name in names:
            key = {**common, "steps": steps[name]}
            if (not args.force and not args.calibrate and stamp.get(name) == key
                    and all((out / f).is_file() for f in file_names(name))):
                print(f"{name}: up to date")
            else:
                todo.append(name)

        failed = []
        if todo:
            import numpy as np
            import torch
            torch.set_num_threads(args.threads)
            torch.set_num_interop_threads(1)
            try:
                train_x, train_y = fm.load("train", args.data_dir)
                test_x, test_y = fm.load("test", args.data_dir)
            except (fm.DataError, OSError) as e:
                print(f"train_fmnist: error: {e}", file=sys.stderr)
                return 2
            head_x = fm.preprocess(test_x[:HEAD])
            data = (train_x, train_y, test_x, test_y, head_x)
            if args.calibrate:
                calibrate(todo, args.batch_size, data)
                return 0
            write_atomic(out / "test_head_input.npy", npy_bytes(head_x.numpy()))
            write_atomic(out / "test_head_labels.npy", npy_bytes(test_y[:HEAD].astype(np.int64)))
            for name in todo:
                stamp.pop(name, None)
                opts = {"steps": steps, "finetune_fraction": args.finetune_fraction, "calib_images": args.calib_images,
                        "calib_batch": args.calib_batch, "batch_size": args.batch_size, "opset": args.opset,
                        "verbose": args.verbose}
                t0 = time.perf_counter()
                try:
                    run_network(name, opts, data, out)
                except Exception as e:  # report and go on with the other networks
                    failed.append(name)
                    print(f"{name}: FAILED: {type(e).__name__}: {e}", file=sys.stderr)
                    traceback.print_exc()
                    continue
                print(f"{name}: done in {time.perf_counter() - t0:.0f} s", flush=True)
                stamp[name] = {**common, "steps": steps[name]}
                write_atomic(out / STAMP, (json.dumps(stamp, indent=2, sort_keys=True) + "\n").encode())

        # Aggregate every network that is up to date in this folder (not only this run's).
        results = {}
        for name in NETWORKS:
            r = load_json(out / f"{name}.json")
            if r and stamp.get(name, {}).get("sources_sha256") == common["sources_sha256"]:
                results[name] = r
        summary = {
            "generator": "tests/models/train_fmnist.py",
            "sources_sha256": common["sources_sha256"],
            "dataset": "Fashion-MNIST (Debian dataset-fashion-mnist)",
            "cpp_dataset_spec_test": fm.dataset_spec("test", args.data_dir),
            "cpp_dataset_spec_calibration": fm.dataset_spec("train", args.data_dir) + f"&limit={args.calib_images}",
            "preprocessing": fm.__doc__.split("\n\n")[1],
            "python_version": platform.python_version(),
            "package_versions": versions,
            "threads": args.threads,
            "machine": common["machine"],
            "networks": results,
        }
        write_atomic(out / "results.json", (json.dumps(summary, indent=2) + "\n").encode())
        write_atomic(out / "results.md", markdown(results).encode())
        print(markdown(results), end="")
    if failed:
        print(f"train_fmnist: error: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
