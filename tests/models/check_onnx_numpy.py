#!/usr/bin/python3
"""Run the exported ONNX files with a tiny NumPy interpreter and compare with PyTorch's output.

An independent check (no onnxruntime on this machine) that NAME.onnx and NAME_bn.onnx compute
NAME_output.npy from NAME_input.npy, so a mismatch in the C++ executor is the executor's bug.
Covers only the ops the exported models use; NCHW float32, computed in float64.

  /usr/bin/python3 tests/models/check_onnx_numpy.py --models-dir DIR [--models a,b] [--rtol R --atol A]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper
from onnx import helper


def erf(x):
    # Abramowitz & Stegun 7.1.26, |error| < 1.5e-7 (no SciPy here).
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.sign(x) * (1.0 - p * np.exp(-x * x))


def conv(x, w, b, a):
    n, c, h, wd = x.shape
    co, cig, kh, kw = w.shape
    g = a.get("group", 1)
    sh, sw = a.get("strides", [1, 1])
    dh, dw = a.get("dilations", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("Conv auto_pad")
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    wg = w.reshape(g, co // g, cig, kh, kw)
    out = np.zeros((n, g, co // g, oh * ow))
    for i in range(kh):
        for j in range(kw):
            xs = xp[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw]
            xs = xs.reshape(n, g, cig, oh * ow)
            out += np.matmul(wg[:, :, :, i, j], xs)
    out = out.reshape(n, co, oh, ow)
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def maxpool(x, a):
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    if a.get("ceil_mode", 0) or a.get("dilations", [1, 1]) != [1, 1]:
        raise NotImplementedError("MaxPool ceil_mode/dilations")
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=-np.inf)
    oh = (xp.shape[2] - kh) // sh + 1
    ow = (xp.shape[3] - kw) // sw + 1
    out = np.full(x.shape[:2] + (oh, ow), -np.inf)
    for i in range(kh):
        for j in range(kw):
            out = np.maximum(out, xp[:, :, i: i + sh * (oh - 1) + 1: sh, j: j + sw * (ow - 1) + 1: sw])
    return out


def resize_nearest(x, inputs, a):
    mode = a.get("mode", b"nearest")
    ctm = a.get("coordinate_transformation_mode", b"half_pixel")
    if mode != b"nearest" or ctm != b"asymmetric" or a.get("nearest_mode", b"round_prefer_floor") != b"floor":
        raise NotImplementedError(f"Resize {mode} {ctm}")
    scales = inputs[2]
    out = x
    for axis, s in enumerate(scales):
        if s != 1.0:
            size = int(np.floor(x.shape[axis] * s))
            idx = np.floor(np.arange(size) / s).astype(np.int64)
            out = np.take(out, idx, axis=axis)
    return out


def slice_(x, starts, ends, axes=None, steps=None):
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    sl = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps):
        sl[int(ax)] = slice(int(s), int(min(e, 2**62)) if st > 0 else int(e), int(st))
    return x[tuple(sl)]


def run(model, feed):
    env = {i.name: onnx.numpy_helper.to_array(i).astype(np.float64)
           if i.data_type == onnx.TensorProto.FLOAT else onnx.numpy_helper.to_array(i)
           for i in model.graph.initializer}
    env.update(feed)
    for node in model.graph.node:
        a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        x = ins[0] if ins else None
        if op == "Constant":
            t = onnx.numpy_helper.to_array(a["value"])
            y = t.astype(np.float64) if t.dtype == np.float32 else t
        elif op == "Identity":
            y = x
        elif op == "Conv":
            y = conv(x, ins[1], ins[2] if len(ins) > 2 else None, a)
        elif op == "BatchNormalization":
            if a.get("training_mode", 0):
                raise ValueError("BatchNormalization in training mode")
            sc, bi, mean, var = ins[1:5]
            r = lambda v: v.reshape(1, -1, *([1] * (x.ndim - 2)))  # noqa: E731
            y = (x - r(mean)) / np.sqrt(r(var) + a.get("epsilon", 1e-5)) * r(sc) + r(bi)
        elif op == "Relu":
            y = np.maximum(x, 0)
        elif op == "Clip":
            y = np.clip(x, ins[1] if len(ins) > 1 and ins[1] is not None else -np.inf,
                        ins[2] if len(ins) > 2 and ins[2] is not None else np.inf)
        elif op == "Sigmoid":
            y = 1 / (1 + np.exp(-x))
        elif op == "HardSigmoid":
            y = np.clip(a.get("alpha", 0.2) * x + a.get("beta", 0.5), 0, 1)
        elif op == "HardSwish":
            y = x * np.clip(x / 6 + 0.5, 0, 1)
        elif op == "Erf":
            y = erf(x)
        elif op in ("Add", "Sub", "Mul", "Div", "Pow"):
            y = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide,
                 "Pow": np.power}[op](x, ins[1])
        elif op == "Sqrt":
            y = np.sqrt(x)
        elif op == "ReduceMean":
            y = np.mean(x, axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1)))
        elif op == "GlobalAveragePool":
            y = x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)
        elif op == "MaxPool":
            y = maxpool(x, a)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = x.reshape(int(np.prod(x.shape[:ax])), -1)
        elif op == "Gemm":
            A = x.T if a.get("transA", 0) else x
            B = ins[1].T if a.get("transB", 0) else ins[1]
            y = a.get("alpha", 1.0) * A @ B
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get("beta", 1.0) * ins[2]
        elif op == "MatMul":
            y = np.matmul(x, ins[1])
        elif op == "Transpose":
            y = np.transpose(x, a.get("perm"))
        elif op == "LayerNormalization":
            ax = a.get("axis", -1) % x.ndim
            axes = tuple(range(ax, x.ndim))
            mu = x.mean(axis=axes, keepdims=True)
            var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
            y = (x - mu) / np.sqrt(var + a.get("epsilon", 1e-5)) * ins[1]
            if len(ins) > 2 and ins[2] is not None:
                y = y + ins[2]
        elif op == "Concat":
            y = np.concatenate(ins, axis=a["axis"])
        elif op == "Slice":
            y = slice_(x, *[i for i in ins[1:]])
        elif op == "Resize":
            y = resize_nearest(x, ins, a)
        else:
            raise NotImplementedError(f"op {op} (node {node.name})")
        env[node.output[0]] = y
    return [env[o.name] for o in model.graph.output]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--models-dir", required=True, type=Path)
    ap.add_argument("--models", default="", help="comma-separated; default: all in manifest.json")
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-4)
    args = ap.parse_args()
    d = args.models_dir
    names = [m for m in args.models.split(",") if m] or list(json.loads((d / "manifest.json").read_text())["models"])
    bad = 0
    for name in names:
        x = np.load(d / f"{name}_input.npy").astype(np.float64)
        ref = np.load(d / f"{name}_output.npy").astype(np.float64)
        for f in (f"{name}.onnx", f"{name}_bn.onnx"):
            t0 = time.perf_counter()
            (y,) = run(onnx.load(str(d / f)), {"input": x})
            err = float(np.max(np.abs(y - ref)))
            ok = y.shape == ref.shape and np.allclose(y, ref, rtol=args.rtol, atol=args.atol)
            bad += not ok
            print(f"{f}: {'ok' if ok else 'MISMATCH'} max|diff| {err:.2e} "
                  f"(output max|y| {float(np.max(np.abs(ref))):.2e}) in {time.perf_counter() - t0:.1f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
