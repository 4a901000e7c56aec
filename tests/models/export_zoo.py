#!/usr/bin/python3
"""Export the torchvision model zoo to ONNX with reference tensors, and inventory the ops it needs.

Offline only: every model is built with random weights from fixed seeds (weights=None and
weights_backbone=None, nothing is downloaded), put in eval mode, and given non-trivial norm
statistics (export_models.randomize_norms, plus GroupNorm / FrozenBatchNorm2d affine parameters and
the all-zero weight tensors some models start with, e.g. ViT's head and class token), so that a
wrong rewrite shows in the output.

For each exported variant STEM it writes into --out:
  STEM.onnx         torch.onnx.export, eval mode, constant folding on (BatchNorm after a
                    convolution is folded into it), one input `input`, one output `output`
  STEM_input.npy    seeded standard-normal float32 input, C order
  STEM_output.npy   PyTorch's output for that input (float32)
and manifest.json (name, family, opset, shapes, files, sizes, timings, op histogram, status, error).
STEM is the model NAME at the model's default opset (13 and 17 alternate down the list, see
--list), NAME_opsetN at another opset, and gets a `_dyn` suffix with --dynamic-batch (batch axis
dynamic: traced at batch 2, reference tensors at batch 3, so a batch size baked into the graph
shows). Detection models are backbone + heads without anchors or post-processing; their raw head
tensors are concatenated on the last axis into the single output (see the wrappers below).
Segmentation models return the 'out' tensor.

Caching: .zoo_stamp.json records per STEM the sha256 of this script and export_models.py, the
torch/torchvision/onnx/numpy versions, the opset and the batch mode; an up-to-date STEM (also one
whose export failed: the failure is deterministic) is skipped without importing torch. --force
re-exports. A failed export is recorded in the manifest with its error and the run goes on.
Exit status: 0 all selected variants exported, 1 some failed (0 with --allow-failures), 2 usage.

  /usr/bin/python3 tests/models/export_zoo.py --out DIR [--models a,b | --subset ci]
        [--opset N | --opsets 11,13,17] [--dynamic-batch] [--force] [--verbose] [--allow-failures]
  /usr/bin/python3 tests/models/export_zoo.py --list [--subset ci]
  /usr/bin/python3 tests/models/export_zoo.py --inventory DIR [--inventory-out PREFIX]

--inventory reads DIR/manifest.json and every exported .onnx, and writes PREFIX.json and PREFIX.md
(default DIR/inventory): op histograms per variant, every op_type with its domain, the attribute
values seen, tensor element types, the constness of shape-like operands (Reshape shape, Slice
starts, Resize sizes, ...) with the producer chains of the non-constant ones, timings and sizes,
and the ops missing from the library's catalogue (CATALOGUE below).
"""

import argparse
import collections
import fcntl
import hashlib
import io
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(HERE))
import export_models as em  # noqa: E402  (helpers: randomize_norms, captured_stderr, write_atomic, ...)

SCRIPTS = ("export_zoo.py", "export_models.py")  # the files whose contents define the outputs
STAMP = ".zoo_stamp.json"
MANIFEST = "manifest.json"
OPSET_CYCLE = (13, 17)  # default opsets, alternating down the model list

TORCH_SEED = em.TORCH_SEED    # torch.manual_seed before constructing a model (weights)
NORM_SEED = em.NORM_SEED      # export_models.randomize_norms (BatchNorm, LayerNorm, layer_scale)
EXTRA_SEED = 3                # GroupNorm, FrozenBatchNorm2d, all-zero weight tensors
INPUT_SEED = em.INPUT_SEED    # the reference input
DYN_TRACE_BATCH = 2           # --dynamic-batch: batch of the traced example
DYN_REF_BATCH = 3             # --dynamic-batch: batch of the reference tensors

# The library's op catalogue (include/surgery/ir/ops.hpp), for the inventory's "missing" list.
CATALOGUE = frozenset("""
Conv BatchNormalization LayerNormalization Relu Sigmoid HardSwish Tanh Sqrt Erf Identity Clip
LeakyRelu HardSigmoid Gelu Softmax Dropout Add Mul Sub Div Pow GlobalAveragePool AveragePool MaxPool
Gemm MatMul Flatten Reshape Transpose Concat Slice Split Squeeze Unsqueeze ReduceMean Resize Constant
""".split())

# Operands that carry shapes, indices or bounds rather than activations: op -> {input index: role}.
SHAPE_OPERANDS = {
    "Reshape": {1: "shape"}, "Expand": {1: "shape"}, "Tile": {1: "repeats"},
    "Slice": {1: "starts", 2: "ends", 3: "axes", 4: "steps"},
    "Resize": {1: "roi", 2: "scales", 3: "sizes"}, "Upsample": {1: "scales"},
    "ConstantOfShape": {0: "shape"}, "Range": {0: "start", 1: "limit", 2: "delta"},
    "Pad": {1: "pads", 2: "constant_value", 3: "axes"},
    "Squeeze": {1: "axes"}, "Unsqueeze": {1: "axes"}, "Split": {1: "split"},
    "ReduceSum": {1: "axes"}, "ReduceMean": {1: "axes"}, "ReduceMax": {1: "axes"},
    "TopK": {1: "k"}, "OneHot": {1: "depth"}, "CumSum": {1: "axis"},
    "Clip": {1: "min", 2: "max"}, "Gather": {1: "indices"}, "GatherElements": {1: "indices"},
    "ScatterND": {1: "indices"}, "ScatterElements": {1: "indices"},
}


# ----------------------------------------------------------------------------------------------
# Models


def tv(fn, **kw):
    """A torchvision classification builder: random weights, no download."""
    def build():
        import torchvision
        return getattr(torchvision.models, fn)(weights=None, **kw)
    return build


def seg(fn, **kw):
    """A torchvision segmentation model returning only the 'out' tensor (no aux head)."""
    def build():
        import torchvision
        from torch import nn

        class SegmentationOut(nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, x):
                return self.m(x)["out"]

        m = getattr(torchvision.models.segmentation, fn)(weights=None, weights_backbone=None, **kw)
        return SegmentationOut(m)
    return build


def det(fn, kind, **kw):
    """A torchvision detection model cut before anchors and post-processing (and before its
    GeneralizedRCNNTransform / normalisation): backbone (+FPN) and heads; the raw head tensors,
    each (N, positions, C), are concatenated on the last axis into one output."""
    def build():
        import torch
        import torchvision
        from torch import nn

        m = getattr(torchvision.models.detection, fn)(weights=None, weights_backbone=None, **kw)

        class RawHeads(nn.Module):
            def __init__(self):
                super().__init__()
                self.backbone = m.backbone
                self.head = m.rpn.head if kind == "rpn" else m.head

            def forward(self, x):
                feats = self.backbone(x)
                feats = [feats] if isinstance(feats, torch.Tensor) else list(feats.values())
                if kind == "rpn":
                    # RPN head: per level objectness (N, A, H, W) and deltas (N, 4A, H, W),
                    # flattened as torchvision's concat_box_prediction_layers does, per image.
                    objectness, deltas = self.head(feats)
                    outs = []
                    for o, d in zip(objectness, deltas):
                        n, a, h, w = o.shape
                        o = o.permute(0, 2, 3, 1).reshape(n, -1, 1)
                        d = d.view(n, a, 4, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, 4)
                        outs.append(torch.cat([d, o], dim=2))
                    return torch.cat(outs, dim=1)                   # (N, sum HWA, 4 + 1)
                h = self.head(feats)
                keys = {"retinanet": ("bbox_regression", "cls_logits"),
                        "fcos": ("bbox_regression", "bbox_ctrness", "cls_logits"),
                        "ssd": ("bbox_regression", "cls_logits")}[kind]
                return torch.cat([h[k] for k in keys], dim=2)        # (N, anchors, 4 [+1] + K)

        return RawHeads()
    return build


def zero_symbolic(g, self):
    """aten::zero (Tensor.zero_) has no ONNX symbolic in torch 1.13: x * 0."""
    import torch
    return g.op("Mul", self, g.op("Constant", value_t=torch.tensor(0.0)))


class Spec:
    def __init__(self, name, family, build, shape, note="", symbolics=None):
        self.name, self.family, self.build, self.shape, self.note = name, family, build, shape, note
        self.symbolics = symbolics or {}  # aten op -> symbolic registered for this model's export
        self.opset = None  # set below


_C, _S, _D = "classification", "segmentation", "detection"
_I224, _I299 = (1, 3, 224, 224), (1, 3, 299, 299)
SPECS = [
    Spec("alexnet", _C, tv("alexnet"), _I224),
    Spec("vgg11_bn", _C, tv("vgg11_bn"), _I224),
    Spec("squeezenet1_0", _C, tv("squeezenet1_0"), _I224),
    Spec("squeezenet1_1", _C, tv("squeezenet1_1"), _I224),
    Spec("googlenet", _C, tv("googlenet", aux_logits=False, init_weights=True), _I224,
         "aux_logits=False, transform_input=False"),
    Spec("inception_v3", _C, tv("inception_v3", aux_logits=False, init_weights=False), _I299,
         "aux_logits=False, transform_input=False, init_weights=False: torchvision's own init "
         "(trunc-normal std 0.1 on every conv) with random BatchNorm statistics blows the "
         "activations up to 1e14; PyTorch's default init keeps the output O(1)"),
    Spec("densenet121", _C, tv("densenet121"), _I224),
    Spec("resnet18", _C, tv("resnet18"), _I224),
    Spec("resnext50_32x4d", _C, tv("resnext50_32x4d"), _I224),
    Spec("wide_resnet50_2", _C, tv("wide_resnet50_2"), _I224),
    Spec("shufflenet_v2_x0_5", _C, tv("shufflenet_v2_x0_5"), _I224),
    Spec("mnasnet0_5", _C, tv("mnasnet0_5"), _I224),
    Spec("regnet_x_400mf", _C, tv("regnet_x_400mf"), _I224),
    Spec("regnet_y_400mf", _C, tv("regnet_y_400mf"), _I224),
    Spec("efficientnet_b0", _C, tv("efficientnet_b0"), _I224),
    Spec("efficientnet_v2_s", _C, tv("efficientnet_v2_s"), _I224),
    Spec("mobilenet_v2", _C, tv("mobilenet_v2"), _I224),
    Spec("mobilenet_v3_large", _C, tv("mobilenet_v3_large"), _I224),
    Spec("mobilenet_v3_small", _C, tv("mobilenet_v3_small"), _I224),
    Spec("convnext_tiny", _C, tv("convnext_tiny"), _I224),
    Spec("vit_b_16", _C, tv("vit_b_16"), _I224,
         "head weight and class token are zero at init: randomised (N(0, 0.02))"),
    Spec("swin_t", _C, tv("swin_t"), _I224,
         "relative position bias tables keep their trunc-normal(0.02) init"),
    Spec("swin_v2_t", _C, tv("swin_v2_t"), _I224,
         "qkv_bias[L:2L].zero_() is aten::zero, which torch 1.13 cannot export: a symbolic x*0 is "
         "registered for it; continuous position bias MLP and logit_scale keep their init",
         symbolics={"aten::zero": zero_symbolic}),
    Spec("maxvit_t", _C, tv("maxvit_t"), _I224,
         "relative position bias tables keep their trunc-normal(0.02) init"),
    Spec("lraspp_mobilenet_v3_large", _S, seg("lraspp_mobilenet_v3_large"), _I224, "output 'out'"),
    Spec("deeplabv3_mobilenet_v3_large", _S, seg("deeplabv3_mobilenet_v3_large"), _I224,
         "output 'out', no aux head"),
    Spec("deeplabv3_resnet50", _S, seg("deeplabv3_resnet50"), _I224, "output 'out', no aux head"),
    Spec("fcn_resnet50", _S, seg("fcn_resnet50"), _I224, "output 'out', no aux head"),
    Spec("fasterrcnn_resnet50_fpn_rpn", _D, det("fasterrcnn_resnet50_fpn", "rpn"), (1, 3, 256, 256),
         "ResNet50+FPN backbone and RPN head; output (N, sum HWA, 4 deltas + 1 objectness)"),
    Spec("retinanet_resnet50_fpn_head", _D, det("retinanet_resnet50_fpn", "retinanet"),
         (1, 3, 256, 256), "ResNet50+FPN(P3-P7) and heads; output (N, anchors, 4 + 91 logits)"),
    Spec("fcos_resnet50_fpn_head", _D, det("fcos_resnet50_fpn", "fcos"), (1, 3, 256, 256),
         "ResNet50+FPN(P3-P7) and heads (GroupNorm); output (N, positions, 4 + 1 ctrness + 91)"),
    Spec("ssdlite320_mobilenet_v3_large_head", _D, det("ssdlite320_mobilenet_v3_large", "ssd"),
         (1, 3, 320, 320), "MobileNetV3 body + extra blocks + SSDLite head; output (N, anchors, 4 + 91)"),
    Spec("ssd300_vgg16_head", _D, det("ssd300_vgg16", "ssd"), (1, 3, 300, 300),
         "VGG16 body (L2 norm scale) + extra blocks + SSD head; output (N, anchors, 4 + 91)"),
]
for _i, _s in enumerate(SPECS):
    _s.opset = OPSET_CYCLE[_i % len(OPSET_CYCLE)]
MODELS = {s.name: s for s in SPECS}

# Small, fast models covering most op kinds of the zoo (see the inventory): the transformers (ViT:
# MatMul/Softmax/LayerNorm or its opset-13 decomposition, Expand/Where/ConstantOfShape for the
# class token, Gather axis 1; Swin: Shape/Gather/Range/Mod/ScatterND/Where/Cast/Pad chains, roll
# as Slice+Concat, Dropout with training_mode=1), a segmentation model (Resize linear with sizes
# from Shape), DenseNet and Inception (Concat, BatchNormalization not after a Conv, Pad+AveragePool,
# asymmetric kernels), ShuffleNet (Reshape/Transpose channel shuffle, Slice with Shape-derived
# bounds), SqueezeNet (MaxPool ceil_mode), MobileNetV3 (HardSigmoid/HardSwish). Not covered: MaxViT
# (Einsum), FCOS (InstanceNormalization from GroupNorm), SSD300 / Swin V2 (ReduceL2, Exp). Export
# time: 268 s on 2 cores at load average 6-9 (114 s of CPU); ViT alone is a third of it.
SUBSETS = {
    "ci": ["shufflenet_v2_x0_5", "squeezenet1_1", "mobilenet_v3_small", "lraspp_mobilenet_v3_large",
           "densenet121", "inception_v3", "swin_t", "vit_b_16"],
}


# ----------------------------------------------------------------------------------------------
# Export


class ExportError(Exception):
    pass


def script_hash():
    h = hashlib.sha256()
    for name in SCRIPTS:
        h.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    return h.hexdigest()


def stem_of(spec, opset, dynamic):
    stem = spec.name if opset == spec.opset else f"{spec.name}_opset{opset}"
    return stem + ("_dyn" if dynamic else "")


def file_names(stem):
    return [f"{stem}.onnx", f"{stem}_input.npy", f"{stem}_output.npy"]


def randomize_extra(model, seed):
    """What export_models.randomize_norms leaves at a trivial init: GroupNorm affine parameters,
    FrozenBatchNorm2d buffers, and any all-zero weight tensor of rank >= 2 (ViT's head weight and
    class token are zeros, which would make the output identically 0). Returns what was changed."""
    import torch
    from torch import nn
    from torchvision.ops import FrozenBatchNorm2d
    g = torch.Generator().manual_seed(seed)

    def uniform(t, lo, hi):
        return torch.rand(t.shape, generator=g, dtype=t.dtype) * (hi - lo) + lo

    changed = []
    with torch.no_grad():
        for mname, m in model.named_modules():
            if isinstance(m, (nn.GroupNorm, nn.modules.instancenorm._InstanceNorm)) and m.affine:
                m.weight.copy_(uniform(m.weight, 0.5, 1.5))
                m.bias.copy_(uniform(m.bias, -0.5, 0.5))
                changed.append(f"{mname} ({type(m).__name__})")
            elif isinstance(m, FrozenBatchNorm2d):
                m.running_mean.copy_(uniform(m.running_mean, -0.5, 0.5))
                m.running_var.copy_(uniform(m.running_var, 0.5, 1.5))
                m.weight.copy_(uniform(m.weight, 0.5, 1.5))
                m.bias.copy_(uniform(m.bias, -0.5, 0.5))
                changed.append(f"{mname} (FrozenBatchNorm2d)")
        for pname, p in model.named_parameters():
            if p.dim() >= 2 and not torch.any(p):
                p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.02)
                changed.append(f"{pname} (all-zero init)")
    return changed


def export_bytes(model, x, opset, dynamic, symbolics):
    import torch
    f = io.BytesIO()
    kw = {}
    if dynamic:
        kw["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
    for name, fn in symbolics.items():
        torch.onnx.register_custom_op_symbolic(name, fn, opset)
    try:
        torch.onnx.export(model, (x,), f, opset_version=opset, do_constant_folding=True,
                          input_names=["input"], output_names=["output"],
                          training=torch.onnx.TrainingMode.EVAL, **kw)
    finally:
        for name in symbolics:
            torch.onnx.unregister_custom_op_symbolic(name, opset)
    return f.getvalue()


def value_shape(vi):
    dims = vi.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]


def summarize_log(log, limit=20):
    lines, seen = [], set()
    for line in log.splitlines():
        line = line.strip()
        if line and line not in seen:
            seen.add(line)
            lines.append(line[:300])
    return lines[:limit] + ([f"... {len(lines) - limit} more lines"] if len(lines) > limit else [])


def export_one(spec, opset, dynamic, out, stem, timings):
    import numpy as np
    import onnx
    import torch

    t0 = time.perf_counter()
    torch.manual_seed(TORCH_SEED)
    with em.captured_stderr() as build_log:
        model = spec.build()
    em.randomize_norms(model, NORM_SEED)
    randomised = randomize_extra(model, EXTRA_SEED)
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    timings["build_s"] = round(time.perf_counter() - t0, 3)

    ref_shape = list(spec.shape)
    trace_x = None
    if dynamic:
        ref_shape[0] = DYN_REF_BATCH
        tshape = list(spec.shape)
        tshape[0] = DYN_TRACE_BATCH
        trace_x = torch.from_numpy(
            np.random.default_rng(INPUT_SEED + 100).standard_normal(tshape, dtype=np.float32))
    x_np = np.random.default_rng(INPUT_SEED).standard_normal(ref_shape, dtype=np.float32)
    x = torch.from_numpy(x_np.copy())
    with torch.no_grad():  # one forward pass, timed (the first call: includes one-time set-up)
        t0 = time.perf_counter()
        y = model(x)
        timings["torch_forward_s"] = round(time.perf_counter() - t0, 4)
    if not isinstance(y, torch.Tensor):
        raise ExportError(f"model returns {type(y).__name__}, expected one tensor")
    y_np = y.numpy().astype(np.float32, copy=False)
    if not np.all(np.isfinite(y_np)):
        raise ExportError("PyTorch output is not finite")

    t0 = time.perf_counter()
    with em.captured_stderr() as buf:
        try:
            data = export_bytes(model, trace_x if dynamic else x, opset, dynamic, spec.symbolics)
        finally:
            log = build_log.getvalue() + buf.getvalue()
    timings["export_s"] = round(time.perf_counter() - t0, 3)
    if model.training:
        raise ExportError("torch.onnx.export left the model in training mode")

    t0 = time.perf_counter()
    mp = onnx.load_from_string(data)
    g = mp.graph
    if [i.name for i in g.input] != ["input"] or [o.name for o in g.output] != ["output"]:
        raise ExportError("graph inputs/outputs are not [input]/[output]")
    onnx_out_shape = value_shape(g.output[0])
    expect = list(y_np.shape)
    if dynamic:
        expect[0] = "batch"
    # A dim the exporter could not infer stays symbolic in the declared output (swin_t at opset 13
    # declares ['Gemmoutput_dim_0', 1000]): recorded, not an error; a wrong concrete dim is.
    if len(onnx_out_shape) != len(expect) or any(
            isinstance(a, int) and a != b for a, b in zip(onnx_out_shape, expect)):
        raise ExportError(f"ONNX output shape {onnx_out_shape} != PyTorch's {expect}")
    shape_notes = [f"declared output dim {i} is symbolic ({a!r}), PyTorch gives {b}"
                   for i, (a, b) in enumerate(zip(onnx_out_shape, expect))
                   if not isinstance(a, int) and a != b]
    try:
        onnx.checker.check_model(mp, full_check=True)
        checker = "ok"
    except Exception as e:  # recorded: the file is still a real export worth inventorying
        checker = f"{type(e).__name__}: {e}"[:2000]
    timings["check_s"] = round(time.perf_counter() - t0, 3)

    em.write_atomic(out / f"{stem}_input.npy", em.npy_bytes(x_np))
    em.write_atomic(out / f"{stem}_output.npy", em.npy_bytes(y_np))
    em.write_atomic(out / f"{stem}.onnx", data)
    files = file_names(stem)
    return {
        "name": spec.name,
        "family": spec.family,
        "opset": opset,
        "dynamic_batch": dynamic,
        "status": "ok" if checker == "ok" else "checker_failed",
        "error": None if checker == "ok" else checker,
        "note": spec.note,
        "custom_symbolics": sorted(spec.symbolics),
        "files": files,
        "file_bytes": {f: (out / f).stat().st_size for f in files},
        "input_name": "input",
        "output_name": "output",
        "input_shape": ref_shape,
        "output_shape": list(y_np.shape),
        "onnx_input_shape": value_shape(g.input[0]),
        "onnx_output_shape": onnx_out_shape,
        "traced_batch": DYN_TRACE_BATCH if dynamic else spec.shape[0],
        "op_histogram": em.op_histogram(mp),
        "node_count": len(g.node),
        "initializer_count": len(g.initializer),
        "parameter_count": params,
        "randomised_extra": randomised,
        "seeds": {"torch": TORCH_SEED, "norm": NORM_SEED, "extra": EXTRA_SEED, "input": INPUT_SEED},
        "output_stats": {"min": float(y_np.min()), "max": float(y_np.max()),
                         "mean": float(y_np.mean()), "std": float(y_np.std())},
        "shape_notes": shape_notes,
        "export_warnings": summarize_log(log),
    }


def run_exports(args, variants):
    versions = em.package_versions("export_zoo")
    out = args.out
    if versions is None or not em.make_output_dir("export_zoo", out):
        return 2
    sha = script_hash()

    failed = []
    with open(out / ".zoo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # serialise concurrent runs on one directory
        stamp = em.load_json(out / STAMP)
        entries = em.load_json(out / MANIFEST).get("models", {})
        t_all = time.perf_counter()
        for spec, opset, dynamic in variants:
            stem = stem_of(spec, opset, dynamic)
            key = {"script_sha256": sha, "opset": opset, "dynamic_batch": dynamic, **versions}
            old = entries.get(stem)
            up_to_date = (stamp.get(stem) == key and old is not None
                          and (old["status"] == "failed"
                               or all((out / f).is_file() for f in file_names(stem))))
            if up_to_date and not args.force:
                print(f"{stem}: up to date ({old['status']})")
                if old["status"] == "failed":
                    failed.append(stem)
                continue
            stamp.pop(stem, None)
            import onnx
            import torch
            torch.set_num_threads(max(1, args.threads))
            timings = {"loadavg_1min_at_start": round(os.getloadavg()[0], 2)}  # shared machine
            t0 = time.perf_counter()
            try:
                entry = export_one(spec, opset, dynamic, out, stem, timings)
            except Exception as e:  # record and go on with the other models
                msg = f"{type(e).__name__}: {e}"
                tb = traceback.format_exc()
                entry = {"name": spec.name, "family": spec.family, "opset": opset,
                         "dynamic_batch": dynamic, "status": "failed", "error": msg[:4000],
                         "traceback_tail": tb.strip().splitlines()[-12:], "note": spec.note,
                         "input_shape": list(spec.shape), "files": []}
                for f in file_names(stem):  # no stale files from an older successful export
                    (out / f).unlink(missing_ok=True)
                failed.append(stem)
                print(f"{stem}: FAILED: {msg[:500]}", file=sys.stderr)
                if args.verbose:
                    print(tb, file=sys.stderr)
            timings["total_s"] = round(time.perf_counter() - t0, 3)
            entry["timings"] = timings
            entries[stem] = entry
            stamp[stem] = key
            if entry["status"] != "failed":
                if entry["status"] != "ok":
                    print(f"{stem}: onnx.checker: {entry['error'][:300]}", file=sys.stderr)
                if args.verbose and entry["export_warnings"]:
                    print("\n".join(entry["export_warnings"]), file=sys.stderr)
                print(f"{stem}: opset {opset}{' dynamic batch' if dynamic else ''}: exported in "
                      f"{timings['export_s']:.1f} s (total {timings['total_s']:.1f} s, torch forward "
                      f"{timings['torch_forward_s'] * 1e3:.0f} ms), {entry['parameter_count'] / 1e6:.2f}M params, "
                      f"{entry['file_bytes'][stem + '.onnx'] / 1e6:.1f} MB, {entry['node_count']} nodes, "
                      f"input {entry['input_shape']} -> output {entry['output_shape']}")
            manifest = {
                "generator": "tests/models/export_zoo.py",
                "script_sha256": sha,
                "python_version": platform.python_version(),
                "torch_version": torch.__version__,
                "onnx_version": onnx.__version__,
                "package_versions": versions,
                "models": dict(sorted(entries.items())),
            }
            em.write_atomic(out / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
            em.write_atomic(out / STAMP, (json.dumps(stamp, indent=2, sort_keys=True) + "\n").encode())
        print(f"total: {time.perf_counter() - t_all:.1f} s for {len(variants)} variant(s)")
    if failed:
        print(f"export_zoo: {'warning' if args.allow_failures else 'error'}: failed to export "
              f"{', '.join(failed)} (errors in {out / MANIFEST})", file=sys.stderr)
        return 0 if args.allow_failures else 1
    return 0


# ----------------------------------------------------------------------------------------------
# Inventory


def attr_repr(a):
    import onnx
    from onnx import numpy_helper
    t = a.type
    A = onnx.AttributeProto
    if t == A.INT:
        return a.i
    if t == A.FLOAT:
        return round(a.f, 7)
    if t == A.STRING:
        return a.s.decode(errors="replace")
    if t == A.INTS:
        return tuple(a.ints)
    if t == A.FLOATS:
        return tuple(round(v, 7) for v in a.floats)
    if t == A.STRINGS:
        return tuple(s.decode(errors="replace") for s in a.strings)
    if t == A.TENSOR:
        arr = numpy_helper.to_array(a.t)
        s = f"tensor({onnx.TensorProto.DataType.Name(a.t.data_type).lower()}, shape={list(arr.shape)}"
        if arr.size <= 8:
            s += f", value={arr.ravel().tolist()}"
        return s + ")"
    return f"<{A.AttributeType.Name(t)}>"


def elem_name(t):
    import onnx
    return onnx.TensorProto.DataType.Name(t).lower() if t else "?"


def analyse_model(path):
    """Everything the inventory needs from one .onnx file."""
    import onnx
    from onnx import numpy_helper
    mp = onnx.load(str(path))
    try:
        inferred = onnx.shape_inference.infer_shapes(mp, strict_mode=False, data_prop=True)
    except Exception:
        inferred = mp
    g = inferred.graph
    types, ranks, static = {}, {}, {}
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        tt = vi.type.tensor_type
        types[vi.name] = elem_name(tt.elem_type)
        if tt.HasField("shape"):
            ranks[vi.name] = len(tt.shape.dim)
            static[vi.name] = all(d.HasField("dim_value") for d in tt.shape.dim)
    inits = {}
    for init in g.initializer:
        types[init.name] = elem_name(init.data_type)
        ranks[init.name] = len(init.dims)
        static[init.name] = True
        inits[init.name] = init
    producer = {}
    for node in g.node:
        for o in node.output:
            if o:
                producer[o] = node
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    types[node.output[0]] = elem_name(a.t.data_type)
                    ranks[node.output[0]] = len(a.t.dims)
                    static[node.output[0]] = True

    # Constness lattice: 0 constant (initializer / Constant / computed from those only),
    # 1 shape-derived (reaches a graph input only through Shape), 2 data-derived.
    kind = {i.name: 2 for i in g.input}
    kind.update({n: 0 for n in inits})
    shape_static = {}  # shape-derived value: are all the Shape nodes it depends on statically known?
    for node in g.node:  # graph nodes are topologically sorted
        if node.op_type == "Constant":
            k, st = 0, True
        elif node.op_type == "Shape":
            k, st = 1, static.get(node.input[0], False)
        else:
            ins = [i for i in node.input if i]
            k = max((kind.get(i, 2) for i in ins), default=0)
            st = all(shape_static.get(i, True) for i in ins if kind.get(i, 2) == 1)
        for o in node.output:
            if o:
                kind[o] = k
                shape_static[o] = st

    def expr(v, depth=0):
        if v in inits:
            return "init"
        if v not in producer:
            return "input" if kind.get(v) == 2 else "?"
        node = producer[v]
        if node.op_type == "Constant":
            return "Const"
        if node.op_type == "Shape" or depth >= 7:
            return node.op_type if node.op_type == "Shape" else node.op_type + "(...)"
        args = []
        for i in node.input:
            if not i:
                continue
            if kind.get(i) == 2 and node.op_type != "Shape":
                args.append("data")
            else:
                args.append(expr(i, depth + 1))
        return f"{node.op_type}({', '.join(args)})"

    ops = collections.Counter()
    domains = {}
    attrs = collections.defaultdict(collections.Counter)       # (op, attr) -> value -> count
    in_types = collections.defaultdict(collections.Counter)    # op -> (input types) -> count
    out_types = collections.defaultdict(collections.Counter)
    in_ranks = collections.defaultdict(collections.Counter)    # op -> (input ranks) -> count
    operands = collections.defaultdict(collections.Counter)    # (op, role) -> class -> count
    operand_exprs = collections.defaultdict(collections.Counter)  # (op, role) -> expr -> count
    operand_values = collections.defaultdict(collections.Counter)  # (op, role) -> constant value -> count
    cast_pairs = collections.Counter()
    for node in g.node:
        op = node.op_type
        ops[op] += 1
        domains[op] = node.domain or "ai.onnx"
        for a in node.attribute:
            v = attr_repr(a)
            if op == "Constant" and isinstance(v, str):  # one entry per dtype and rank, not per value
                v = f"{v.split(', shape=')[0]}, rank {len(a.t.dims)})"
            attrs[(op, a.name)][v] += 1
        if op == "Conv" and len(node.input) > 1 and node.input[1] in inits:
            w = inits[node.input[1]].dims  # [M, C/group, kh, kw]
            grp = next((a.i for a in node.attribute if a.name == "group"), 1)
            attrs[(op, "(group kind)")]["1" if grp == 1 else "depthwise (C/group == 1)"
                                        if w[1] == 1 else "grouped (C/group > 1)"] += 1
        in_types[op][tuple(types.get(i, "?") if i else "-" for i in node.input)] += 1
        out_types[op][tuple(types.get(o, "?") for o in node.output if o)] += 1
        in_ranks[op][tuple(ranks.get(i, "?") if i else "-" for i in node.input)] += 1
        if op == "Cast":
            cast_pairs[(types.get(node.input[0], "?"),
                        elem_name(next(a.i for a in node.attribute if a.name == "to")))] += 1
        for idx, role in SHAPE_OPERANDS.get(op, {}).items():
            if idx >= len(node.input) or not node.input[idx]:
                continue
            v = node.input[idx]
            k = kind.get(v, 2)
            if v in inits:
                cls = "initializer"
            elif k == 0:
                cls = "Constant" if producer.get(v) is not None and producer[v].op_type == "Constant" \
                    else "constant-subgraph"
            elif k == 1:
                cls = "shape-derived (static)" if shape_static.get(v, False) else "shape-derived (unresolved)"
            else:
                cls = "data-derived"
            operands[(op, role)][cls] += 1
            if cls in ("initializer", "Constant"):
                t = inits[v] if v in inits else next(a.t for a in producer[v].attribute if a.name == "value")
                arr = numpy_helper.to_array(t)
                val = (f"{arr.ravel().tolist()}" if arr.size <= 16 else f"<{arr.size} values>")
                operand_values[(op, role)][f"{elem_name(t.data_type)}{list(arr.shape)} {val}"] += 1
            if k >= 1 or cls == "constant-subgraph":
                operand_exprs[(op, role)][expr(v)] += 1

    elem_counts = collections.Counter(types.values())
    const_vals = collections.Counter()
    for node in g.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                arr = numpy_helper.to_array(a.t)
                const_vals[(elem_name(a.t.data_type), len(arr.shape))] += 1
    return {
        "ops": ops, "domains": domains, "attrs": attrs, "in_types": in_types, "out_types": out_types,
        "in_ranks": in_ranks, "operands": operands, "operand_exprs": operand_exprs,
        "operand_values": operand_values,
        "cast_pairs": cast_pairs, "elem_counts": elem_counts, "const_vals": const_vals,
        "opset_imports": {(o.domain or "ai.onnx"): o.version for o in mp.opset_import},
    }


def run_inventory(args):
    d = args.inventory
    manifest = em.load_json(d / MANIFEST)
    entries = manifest.get("models", {})
    if not entries:
        print(f"export_zoo: error: no {MANIFEST} with models in {d}", file=sys.stderr)
        return 2
    prefix = args.inventory_out or (d / "inventory")

    def seen():
        return {"count": 0, "variants": set(), "models": set(), "opsets": set()}

    op_info = collections.defaultdict(seen)
    attr_vals = collections.defaultdict(lambda: collections.defaultdict(seen))
    in_types = collections.defaultdict(lambda: collections.defaultdict(seen))
    in_ranks = collections.defaultdict(lambda: collections.defaultdict(seen))
    operand_cls = collections.defaultdict(lambda: collections.defaultdict(seen))
    operand_exprs = collections.defaultdict(lambda: collections.defaultdict(seen))
    operand_values = collections.defaultdict(lambda: collections.defaultdict(seen))
    elem_types = collections.defaultdict(seen)
    cast_pairs = collections.defaultdict(seen)
    domains = {}
    per_variant = {}

    def add(slot, n, stem, e):
        slot["count"] += n
        slot["variants"].add(stem)
        slot["models"].add(e["name"])
        slot["opsets"].add(e["opset"])

    for stem, e in sorted(entries.items()):
        row = {"name": e["name"], "family": e["family"], "opset": e["opset"],
               "dynamic_batch": e.get("dynamic_batch", False), "status": e["status"],
               "error": e.get("error"), "timings": e.get("timings", {}),
               "onnx_bytes": e.get("file_bytes", {}).get(f"{stem}.onnx"),
               "input_shape": e.get("input_shape"), "output_shape": e.get("output_shape")}
        per_variant[stem] = row
        if e["status"] == "failed":
            continue
        t0 = time.perf_counter()
        a = analyse_model(d / f"{stem}.onnx")
        print(f"inventory: {stem}: {sum(a['ops'].values())} nodes ({time.perf_counter() - t0:.1f} s)",
              file=sys.stderr)
        row["op_histogram"] = dict(a["ops"].most_common())
        row["opset_imports"] = a["opset_imports"]
        row["element_types"] = dict(a["elem_counts"].most_common())
        for op, n in a["ops"].items():
            add(op_info[op], n, stem, e)
        domains.update(a["domains"])
        for (op, name), vals in a["attrs"].items():
            for v, n in vals.items():
                add(attr_vals[(op, name)][v], n, stem, e)
        for op, sigs in a["in_types"].items():
            for sig, n in sigs.items():
                add(in_types[op][sig], n, stem, e)
        for op, sigs in a["in_ranks"].items():
            for sig, n in sigs.items():
                add(in_ranks[op][sig], n, stem, e)
        for key, cls in a["operands"].items():
            for c, n in cls.items():
                add(operand_cls[key][c], n, stem, e)
        for key, ex in a["operand_exprs"].items():
            for x, n in ex.items():
                add(operand_exprs[key][x], n, stem, e)
        for key, vals in a["operand_values"].items():
            for x, n in vals.items():
                add(operand_values[key][x], n, stem, e)
        for t, n in a["elem_counts"].items():
            add(elem_types[t], n, stem, e)
        for p, n in a["cast_pairs"].items():
            add(cast_pairs[p], n, stem, e)

    def js(slot):
        return {"count": slot["count"], "opsets": sorted(slot["opsets"]),
                "models": sorted(slot["models"]), "variants": sorted(slot["variants"])}

    def key_str(k):
        return json.dumps(list(k)) if isinstance(k, tuple) else str(k)

    missing = sorted(op for op in op_info if op not in CATALOGUE)
    result = {
        "source": str(d),
        "catalogue": sorted(CATALOGUE),
        "missing_ops": missing,
        "ops": {op: {"domain": domains.get(op, "ai.onnx"), "in_catalogue": op in CATALOGUE,
                     **js(op_info[op]),
                     "attributes": {name: {key_str(v): js(s) for v, s in sorted(vals.items(), key=lambda kv: str(kv[0]))}
                                    for (o, name), vals in sorted(attr_vals.items()) if o == op},
                     "input_types": {key_str(sig): js(s) for sig, s in in_types[op].items()},
                     "input_ranks": {key_str(sig): js(s) for sig, s in in_ranks[op].items()}}
                for op in sorted(op_info)},
        "element_types": {t: js(s) for t, s in sorted(elem_types.items())},
        "cast_pairs": {f"{a}->{b}": js(s) for (a, b), s in sorted(cast_pairs.items())},
        "shape_operands": {f"{op}.{role}": {"classes": {c: js(s) for c, s in sorted(cls.items())},
                                            "non_constant_producers": {x: js(s) for x, s in sorted(
                                                operand_exprs[(op, role)].items(), key=lambda kv: -kv[1]["count"])},
                                            "constant_values": {x: js(s) for x, s in sorted(
                                                operand_values[(op, role)].items(), key=lambda kv: -kv[1]["count"])}}
                           for (op, role), cls in sorted(operand_cls.items())},
        "variants": per_variant,
    }
    Path(str(prefix) + ".json").write_text(json.dumps(result, indent=1) + "\n")
    Path(str(prefix) + ".md").write_text(inventory_markdown(result))
    print(f"inventory: wrote {prefix}.json and {prefix}.md")
    return 0


def inventory_markdown(r):
    L = []
    w = L.append

    def short(s, limit=14):
        models = s["models"]
        txt = ", ".join(models[:limit]) + (f", ... ({len(models)} models)" if len(models) > limit else "")
        return f"{txt} [opsets {','.join(map(str, s['opsets']))}]"

    w(f"# ONNX op inventory of the torchvision zoo ({r['source']})\n")
    ok = {k: v for k, v in r["variants"].items() if v["status"] != "failed"}
    bad = {k: v for k, v in r["variants"].items() if v["status"] == "failed"}
    w(f"{len(ok)} variants exported, {len(bad)} failed.\n")
    w("## Ops missing from the library's catalogue\n")
    for op in r["missing_ops"]:
        o = r["ops"][op]
        w(f"### {op} (domain {o['domain']}), {o['count']} nodes\n")
        w(f"- used by: {short(o, 100)}")
        for name, vals in o["attributes"].items():
            w(f"- attribute `{name}`: " + "; ".join(f"`{v}` ({s['count']}: {short(s, 6)})" for v, s in vals.items()))
        w("- input types: " + "; ".join(f"{k} x{s['count']}" for k, s in o["input_types"].items()))
        w("- input ranks: " + "; ".join(f"{k} x{s['count']}" for k, s in o["input_ranks"].items()))
        w("")
    w("## Every op\n")
    w("| op | domain | in catalogue | nodes | models | opsets |")
    w("|---|---|---|---|---|---|")
    for op, o in r["ops"].items():
        w(f"| {op} | {o['domain']} | {'yes' if o['in_catalogue'] else '**no**'} | {o['count']} | "
          f"{len(o['models'])} | {','.join(map(str, o['opsets']))} |")
    w("\n## Attribute values (all ops)\n")
    for op, o in r["ops"].items():
        if not o["attributes"]:
            continue
        w(f"- **{op}**")
        for name, vals in o["attributes"].items():
            items = list(vals.items())
            txt = "; ".join(f"`{v}` x{s['count']} ({short(s, 5)})" for v, s in items[:40])
            if len(items) > 40:
                txt += f"; ... {len(items) - 40} more distinct values"
            w(f"  - `{name}`: {txt}")
    w("\n## Input element types and ranks per op\n")
    for op, o in r["ops"].items():
        w(f"- **{op}**: types " + "; ".join(f"{k} x{s['count']}" for k, s in o["input_types"].items())
          + " | ranks " + "; ".join(f"{k} x{s['count']}" for k, s in o["input_ranks"].items()))
    w("\n## Catalogue ops seen with non-float inputs (shape arithmetic etc.)\n")
    for op, o in r["ops"].items():
        if not o["in_catalogue"]:
            continue
        roles = SHAPE_OPERANDS.get(op, {})
        odd = {k: s for k, s in o["input_types"].items()
               if any(t not in ("float", "-") for i, t in enumerate(json.loads(k)) if i not in roles)}
        if odd:
            w(f"- **{op}**: " + "; ".join(f"{k} x{s['count']} ({short(s, 6)})" for k, s in odd.items()))
    w("\n## Element types of all tensors (inputs, outputs, initializers, inferred value_info, Constants)\n")
    for t, s in r["element_types"].items():
        w(f"- {t}: {s['count']} tensors; {short(s, 8)}")
    w("\nCast pairs:\n")
    for p, s in r["cast_pairs"].items():
        w(f"- {p}: x{s['count']}; {short(s, 8)}")
    w("\n## Shape-like operands: where they come from\n")
    w("Classes: initializer, Constant node, constant-subgraph (computed from constants only), "
      "shape-derived (reaches the graph input only through Shape nodes; static: onnx shape inference "
      "knows the full input shape of every Shape it reads, so it can be folded to a constant; "
      "unresolved: a symbolic batch dim, or onnx shape inference (with data propagation) lost the "
      "shape on the way, e.g. after ScatterND/Where/Expand chains, a Resize or a Reshape with a "
      "computed shape: a pass that evaluates the int64 subgraph would still fold it), data-derived "
      "(depends on tensor values). Producer chains: `Shape`, `Const`, `init`, `data` are the "
      "leaves, `(...)` marks a cut at depth 7.\n")
    for key, v in r["shape_operands"].items():
        w(f"- **{key}**: " + "; ".join(f"{c} x{s['count']}" for c, s in v["classes"].items()))
        for x, s in list(v["non_constant_producers"].items())[:20]:
            vs = s["variants"]
            w(f"  - `{x}` x{s['count']} ({', '.join(vs[:8])}{f', ... {len(vs)} variants' if len(vs) > 8 else ''})")
        cv = list(v["constant_values"].items())
        if cv:
            w("  - constant values: " + "; ".join(f"`{x}` x{s['count']} ({short(s, 4)})" for x, s in cv[:25])
              + (f"; ... {len(cv) - 25} more" if len(cv) > 25 else ""))
    w("\n## Per variant\n")
    w("| variant | family | opset | status | nodes | onnx MB | export s | torch forward ms | input -> output |")
    w("|---|---|---|---|---|---|---|---|---|")
    for k, v in r["variants"].items():
        t = v.get("timings", {})
        nodes = sum(v.get("op_histogram", {}).values()) if v.get("op_histogram") else "-"
        mb = f"{v['onnx_bytes'] / 1e6:.1f}" if v.get("onnx_bytes") else "-"
        fwd = f"{t['torch_forward_s'] * 1e3:.0f}" if "torch_forward_s" in t else "-"
        w(f"| {k} | {v['family']} | {v['opset']} | {v['status']} | {nodes} | {mb} | "
          f"{t.get('export_s', '-')} | {fwd} | {v.get('input_shape')} -> {v.get('output_shape')} |")
    if bad:
        w("\n## Failed exports\n")
        for k, v in bad.items():
            w(f"- {k}: {v['error']}")
    w("\n## Op histogram per variant\n")
    for k, v in r["variants"].items():
        if v.get("op_histogram"):
            w(f"- {k}: " + ", ".join(f"{op} {n}" for op, n in v["op_histogram"].items()))
    return "\n".join(L) + "\n"


# ----------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="output directory (created)")
    ap.add_argument("--models", help="comma-separated model names (see --list)")
    ap.add_argument("--subset", choices=sorted(SUBSETS), help="a named subset of the models")
    ap.add_argument("--opset", type=int, help="one opset for every model instead of its default")
    ap.add_argument("--opsets", help="comma-separated opsets: export every model at each")
    ap.add_argument("--dynamic-batch", action="store_true",
                    help="dynamic batch axis (files STEM_dyn*; traced at batch 2, reference at batch 3)")
    ap.add_argument("--threads", type=int, default=max(1, os.cpu_count() or 1),
                    help="torch.set_num_threads (default: all cores)")
    ap.add_argument("--force", action="store_true", help="export even if the stamp says up to date")
    ap.add_argument("--verbose", action="store_true", help="show the exporter's warnings and tracebacks")
    ap.add_argument("--allow-failures", action="store_true", help="exit 0 even if a model failed")
    ap.add_argument("--list", action="store_true", help="print the model names and exit")
    ap.add_argument("--inventory", type=Path, metavar="DIR", help="inventory the exports in DIR")
    ap.add_argument("--inventory-out", type=Path, metavar="PREFIX",
                    help="write PREFIX.json and PREFIX.md (default DIR/inventory)")
    args = ap.parse_args()

    if args.models and args.subset:
        ap.error("--models and --subset exclude each other")
    if args.opset is not None and args.opsets:
        ap.error("--opset and --opsets exclude each other")
    if args.models:
        names = [m.strip() for m in args.models.split(",") if m.strip()]
    elif args.subset:
        names = SUBSETS[args.subset]
    else:
        names = list(MODELS)
    unknown = [m for m in names if m not in MODELS]
    if unknown or not names:
        ap.error(f"unknown model(s) {unknown}; known: {', '.join(MODELS)}")

    if args.list:
        for n in names:
            s = MODELS[n]
            subsets = [k for k, v in SUBSETS.items() if n in v]
            print(f"{n:36s} {s.family:15s} opset {s.opset}  input {'x'.join(map(str, s.shape))}"
                  f"{'  [' + ','.join(subsets) + ']' if subsets else ''}{'  ' + s.note if s.note else ''}")
        return 0
    if args.inventory:
        return run_inventory(args)
    if not args.out:
        ap.error("--out is required (or --list / --inventory)")
    try:
        opsets = ([args.opset] if args.opset is not None else
                  [int(o) for o in args.opsets.split(",") if o.strip()] if args.opsets else [None])
    except ValueError:
        ap.error("--opsets takes comma-separated integers")
    if any(o is not None and not 7 <= o <= 17 for o in opsets):
        ap.error("torch 1.13 exports opsets 7..17")
    variants = [(MODELS[n], o if o is not None else MODELS[n].opset, args.dynamic_batch)
                for o in opsets for n in names]
    return run_exports(args, variants)


if __name__ == "__main__":
    sys.exit(main())
