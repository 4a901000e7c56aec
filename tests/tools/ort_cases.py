#!/usr/bin/python3
"""Models, inputs and NumPy references for tests/tools/test_ort_run.sh (the test of the ORT oracle).

  ort_cases.py make DIR          write the models (onnx.helper), inputs and NumPy reference outputs
  ort_cases.py same A.npy B.npy [rtol atol]   A and B have the same dtype and shape and close values
  ort_cases.py timing FILE.json N             the timing JSON of `ort_run --repeat N` is well formed

Needs Debian's python3-onnx and python3-numpy; exits 77 (skip) without them.
"""
import json
import sys

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:  # pragma: no cover
    print(f"ort_cases.py: {e}; skipping", file=sys.stderr)
    sys.exit(77)


def conv2d_nchw(x, w, b, pad):
    """Plain NumPy convolution (stride 1, no dilation, groups 1): the reference of Conv."""
    n, c, h, wd = x.shape
    k, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    y = np.zeros((n, k, oh, ow), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + oh, j:j + ow].astype(np.float64)  # n c oh ow
            y += np.einsum("nchw,kc->nkhw", patch, w[:, :, i, j].astype(np.float64))
    return (y + b.reshape(1, k, 1, 1)).astype(np.float32)


def save_model(graph, path, opset=17):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="ort_cases")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def save_npy(path, a, version=None):
    with open(path, "wb") as f:
        np.lib.format.write_array(f, np.asarray(a), version=version, allow_pickle=False)


def make(d):
    rng = np.random.default_rng(1234)
    f32 = TensorProto.FLOAT

    # 1. Conv + Relu, two outputs (z = conv, y = relu(z)): float32 weights as initializers.
    x = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "W", "B"], ["z"], pads=[1, 1, 1, 1], kernel_shape=[3, 3], name="conv"),
         helper.make_node("Relu", ["z"], ["y"], name="relu")],
        "conv_relu",
        [helper.make_tensor_value_info("x", f32, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", f32, [1, 4, 8, 8]), helper.make_tensor_value_info("z", f32, [1, 4, 8, 8])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    save_model(g, f"{d}/conv_relu.onnx")
    z = conv2d_nchw(x, w, b, 1)
    save_npy(f"{d}/conv_x.npy", x)
    save_npy(f"{d}/conv_y_ref.npy", np.maximum(z, 0))
    save_npy(f"{d}/conv_z_ref.npy", z)
    bad = np.maximum(z, 0).copy()
    bad[0, 1, 2, 3] += 0.5
    save_npy(f"{d}/conv_y_bad.npy", bad)
    save_npy(f"{d}/conv_x_f64.npy", x.astype(np.float64))
    save_npy(f"{d}/conv_x_fortran.npy", np.asfortranarray(x.reshape(3, 64)).reshape(3, 64))
    with open(f"{d}/conv_x.npy", "rb") as f:
        raw = f.read()
    with open(f"{d}/conv_x_truncated.npy", "wb") as f:
        f.write(raw[: len(raw) - 8])

    # 2. int64 shape arithmetic: Shape -> Gather -> Unsqueeze -> Concat -> Reshape, and an int64 input
    #    (Gather indices). Outputs: y float32 [2,12], s int64 [3], n0 int64 0-d, g float32 [2,3,2].
    i64 = TensorProto.INT64
    g = helper.make_graph(
        [helper.make_node("Shape", ["x"], ["s"]),
         helper.make_node("Gather", ["s", "zero"], ["n0"], axis=0),
         helper.make_node("Unsqueeze", ["n0", "axes0"], ["n0v"]),
         helper.make_node("Concat", ["n0v", "minus1"], ["newshape"], axis=0),
         helper.make_node("Reshape", ["x", "newshape"], ["y"]),
         helper.make_node("Gather", ["x", "idx"], ["g"], axis=2)],
        "shape_ops",
        [helper.make_tensor_value_info("x", f32, [2, 3, 4]), helper.make_tensor_value_info("idx", i64, [2])],
        [helper.make_tensor_value_info("y", f32, [2, 12]), helper.make_tensor_value_info("s", i64, [3]),
         helper.make_tensor_value_info("n0", i64, []), helper.make_tensor_value_info("g", f32, [2, 3, 2])],
        [numpy_helper.from_array(np.array(0, np.int64), "zero"), numpy_helper.from_array(np.array([0], np.int64), "axes0"),
         numpy_helper.from_array(np.array([-1], np.int64), "minus1")])
    save_model(g, f"{d}/shape_ops.onnx")
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    idx = np.array([3, 1], np.int64)
    save_npy(f"{d}/shape_x.npy", x)
    save_npy(f"{d}/shape_idx.npy", idx)
    save_npy(f"{d}/shape_y_ref.npy", x.reshape(2, -1))
    save_npy(f"{d}/shape_s_ref.npy", np.array(x.shape, np.int64))
    save_npy(f"{d}/shape_n0_ref.npy", np.array(2, np.int64))
    save_npy(f"{d}/shape_g_ref.npy", x[:, :, idx])
    save_npy(f"{d}/shape_s_bad.npy", np.array([2, 3, 5], np.int64))

    # 3. int32 and bool inputs and outputs; the inputs written with .npy format versions 2.0 and 3.0.
    i32, bl = TensorProto.INT32, TensorProto.BOOL
    g = helper.make_graph(
        [helper.make_node("Cast", ["a"], ["af"], to=f32),
         helper.make_node("Greater", ["af", "zf"], ["gt"]),
         helper.make_node("And", ["gt", "b"], ["both"]),
         helper.make_node("Where", ["b", "a", "zi"], ["w"])],
        "dtypes",
        [helper.make_tensor_value_info("a", i32, [5]), helper.make_tensor_value_info("b", bl, [5])],
        [helper.make_tensor_value_info("both", bl, [5]), helper.make_tensor_value_info("w", i32, [5]),
         helper.make_tensor_value_info("af", f32, [5])],
        [numpy_helper.from_array(np.array(0, np.float32), "zf"), numpy_helper.from_array(np.array(0, np.int32), "zi")])
    save_model(g, f"{d}/dtypes.onnx")
    a = np.array([-2, 5, 0, 7, -9], np.int32)
    bm = np.array([True, True, False, False, True])
    save_npy(f"{d}/dtypes_a_v2.npy", a, version=(2, 0))
    save_npy(f"{d}/dtypes_b_v3.npy", bm, version=(3, 0))
    save_npy(f"{d}/dtypes_both_ref.npy", (a > 0) & bm)
    save_npy(f"{d}/dtypes_w_ref.npy", np.where(bm, a, 0).astype(np.int32))
    save_npy(f"{d}/dtypes_af_ref.npy", a.astype(np.float32))
    print(f"ort_cases.py: wrote the models and tensors to {d}")


def same(a_path, b_path, rtol=1e-5, atol=1e-6):
    a, b = np.load(a_path), np.load(b_path)
    if a.dtype != b.dtype or a.shape != b.shape:
        print(f"same: {a_path}: {a.dtype} {a.shape}, {b_path}: {b.dtype} {b.shape}", file=sys.stderr)
        return 1
    if a.dtype.kind in "biu":
        ok = np.array_equal(a, b)
    else:
        ok = np.allclose(a, b, rtol=rtol, atol=atol)
    if not ok:
        print(f"same: {a_path} and {b_path} differ: max_abs {np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))}",
              file=sys.stderr)
        return 1
    return 0


def timing(path, n):
    with open(path) as f:
        j = json.load(f)
    runs = j["runs_ms"]
    ok = (len(runs) == n and j["repeat"] == n and j["min_ms"] <= j["median_ms"] <= j["max_ms"]
          and all(r > 0 for r in runs) and j["load_ms"] > 0 and isinstance(j["ort_version"], str))
    if not ok:
        print(f"timing: malformed {path}: {j}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "make":
        make(args[0])
        sys.exit(0)
    if cmd == "same":
        sys.exit(same(args[0], args[1], *map(float, args[2:])))
    if cmd == "timing":
        sys.exit(timing(args[0], int(args[1])))
    print(f"ort_cases.py: unknown command '{cmd}'", file=sys.stderr)
    sys.exit(2)
