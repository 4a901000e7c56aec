#!/usr/bin/python3
"""Export the real networks used by the C++ tests and benchmarks to ONNX, with reference tensors.

Offline only: every model is built with random weights from a fixed seed (no downloads).
For each model NAME it writes into --out:
  NAME.onnx          eval-mode export (PyTorch folds BatchNorm into the convolutions)
  NAME_bn.onnx       export with TrainingMode.PRESERVE on an eval-mode model: BatchNormalization kept
  NAME_input.npy     seeded random float32 input (C order)   NAME_input.pb   same, as onnx.TensorProto
  NAME_output.npy    PyTorch's output for that input         NAME_output.pb  same, as onnx.TensorProto
and a manifest.json describing all of them. Work is skipped when the files exist and the stamp
file records the same script hash, opset and torch/onnx versions.

Run with Debian's Python: /usr/bin/python3 tests/models/export_models.py --out DIR
"""

import argparse
import collections
import contextlib
import fcntl
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("export_models.py", "yolox_like.py")  # the files whose contents define the outputs
STAMP = ".export_stamp.json"
MANIFEST = "manifest.json"
DEFAULT_OPSET = 17

TORCH_SEED = 0   # torch.manual_seed before constructing a model (weights)
NORM_SEED = 1    # random BatchNorm / LayerNorm statistics and affine parameters
INPUT_SEED = 2   # the reference input


def torchvision_model(name):
    def build():
        import torchvision
        return getattr(torchvision.models, name)(weights=None)
    return build


def yolox_model():
    sys.dont_write_bytecode = True  # keep the source tree clean
    sys.path.insert(0, str(HERE))
    from yolox_like import yolox_nano_like
    return yolox_nano_like()


# name -> (builder, input shape). Order is the default export order.
MODELS = {
    "mobilenet_v3_large": (torchvision_model("mobilenet_v3_large"), (1, 3, 224, 224)),
    "efficientnet_b0": (torchvision_model("efficientnet_b0"), (1, 3, 224, 224)),
    "convnext_tiny": (torchvision_model("convnext_tiny"), (1, 3, 224, 224)),
    "mobilenet_v2": (torchvision_model("mobilenet_v2"), (1, 3, 224, 224)),
    "resnet18": (torchvision_model("resnet18"), (1, 3, 224, 224)),
    "yolox_nano_like": (yolox_model, (1, 3, 128, 128)),
}


class ExportError(Exception):
    pass


def script_hash():
    h = hashlib.sha256()
    for name in SCRIPTS:
        h.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    return h.hexdigest()


def file_names(name):
    return [f"{name}.onnx", f"{name}_bn.onnx", f"{name}_input.npy", f"{name}_output.npy",
            f"{name}_input.pb", f"{name}_output.pb"]


def randomize_norms(model, seed):
    """Give every norm layer non-trivial seeded statistics so that BN folding is really tested.

    Fresh torchvision models have mean 0, var 1, weight 1, bias 0, for which folding is a no-op.
    ConvNeXt's layer_scale (1e-6 at init, which would make every residual branch vanish) is set to
    0.05..0.3 as well, so LayerNorm and GELU rewrites have a visible effect on the output.
    """
    import torch
    from torch import nn
    g = torch.Generator().manual_seed(seed)

    def uniform(t, lo, hi):
        return torch.rand(t.shape, generator=g, dtype=t.dtype) * (hi - lo) + lo

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(uniform(m.running_mean, -0.5, 0.5))
                m.running_var.copy_(uniform(m.running_var, 0.5, 1.5))
                if m.affine:
                    m.weight.copy_(uniform(m.weight, 0.5, 1.5))
                    m.bias.copy_(uniform(m.bias, -0.5, 0.5))
            elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
                m.weight.copy_(uniform(m.weight, 0.5, 1.5))
                m.bias.copy_(uniform(m.bias, -0.5, 0.5))
            scale = getattr(m, "layer_scale", None)
            if isinstance(scale, nn.Parameter):
                scale.copy_(uniform(scale, 0.05, 0.3))


@contextlib.contextmanager
def captured_stderr():
    """Collect everything written to fd 2 (C++ warnings of the exporter) and Python warnings."""
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


def export_bytes(model, x, opset, training):
    import torch
    f = io.BytesIO()
    torch.onnx.export(model, (x,), f, opset_version=opset, do_constant_folding=True,
                      input_names=["input"], output_names=["output"], training=training)
    return f.getvalue()


def force_inference_batchnorm(model_proto):
    """Make every BatchNormalization an inference one (1 output, training_mode=0).

    With TrainingMode.PRESERVE PyTorch exports batch_norm according to the module's `training`
    flag. Our model is in eval mode, so torch 1.13 already emits single-output nodes with
    training_mode=0; but other torch versions (or a module left in train mode) emit the extra
    running_mean/running_var outputs of the training form, which an inference engine must not
    see. Drop those outputs (only if nothing consumes them) and force training_mode=0.
    Returns how many nodes were changed.
    """
    import onnx
    used = {i for n in model_proto.graph.node for i in n.input}
    used |= {o.name for o in model_proto.graph.output}
    changed = 0
    for node in model_proto.graph.node:
        if node.op_type != "BatchNormalization":
            continue
        extra = [o for o in node.output[1:] if o]
        if any(o in used for o in extra):
            raise ExportError(f"BatchNormalization {node.name} has consumed training outputs {extra}")
        mode = next((a for a in node.attribute if a.name == "training_mode"), None)
        if extra or (mode is not None and mode.i != 0):
            del node.output[1:]
            if mode is None:
                node.attribute.append(onnx.helper.make_attribute("training_mode", 0))
            else:
                mode.i = 0
            changed += 1
    return changed


def op_histogram(model_proto):
    return dict(collections.Counter(n.op_type for n in model_proto.graph.node).most_common())


def write_atomic(path, data):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def npy_bytes(arr):
    import numpy as np
    f = io.BytesIO()
    np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
    return f.getvalue()


def export_one(name, out, opset):
    import numpy as np
    import onnx
    import onnx.numpy_helper
    import torch
    from torch import nn

    builder, shape = MODELS[name]
    torch.manual_seed(TORCH_SEED)
    model = builder()
    randomize_norms(model, NORM_SEED)
    model.eval()
    n_bn = sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    params = sum(p.numel() for p in model.parameters())

    x_np = np.random.default_rng(INPUT_SEED).standard_normal(shape, dtype=np.float32)
    x = torch.from_numpy(x_np.copy())
    with torch.no_grad():
        y_np = model(x).numpy().astype(np.float32, copy=False)
    if not np.all(np.isfinite(y_np)):
        raise ExportError("PyTorch output is not finite")

    log = ""
    protos = {}
    for suffix, mode in (("", torch.onnx.TrainingMode.EVAL), ("_bn", torch.onnx.TrainingMode.PRESERVE)):
        with captured_stderr() as buf:
            try:
                data = export_bytes(model, x, opset, mode)
            finally:
                log += buf.getvalue()
        if model.training:
            raise ExportError("torch.onnx.export left the model in training mode")
        mp = onnx.load_from_string(data)
        if suffix == "_bn" and force_inference_batchnorm(mp):
            data = mp.SerializeToString()
        protos[suffix] = (mp, data)

    # Sanity of the two variants.
    folded = op_histogram(protos[""][0])
    kept = op_histogram(protos["_bn"][0])
    if folded.get("BatchNormalization", 0) != 0:
        raise ExportError(f"{name}.onnx still has BatchNormalization nodes (expected folded)")
    if kept.get("BatchNormalization", 0) != n_bn:
        raise ExportError(f"{name}_bn.onnx has {kept.get('BatchNormalization', 0)} "
                          f"BatchNormalization nodes, the model has {n_bn} BatchNorm layers")
    for suffix, (mp, _) in protos.items():
        g = mp.graph
        if [i.name for i in g.input] != ["input"] or [o.name for o in g.output] != ["output"]:
            raise ExportError(f"{name}{suffix}.onnx: graph inputs/outputs are not [input]/[output]")
        for node in g.node:
            if node.op_type == "BatchNormalization" and len([o for o in node.output if o]) != 1:
                raise ExportError(f"{name}{suffix}.onnx: BatchNormalization with training outputs")
        onnx.checker.check_model(mp, full_check=True)

    # Write: tensors first, ONNX files last (the stamp is written by the caller after all).
    write_atomic(out / f"{name}_input.npy", npy_bytes(x_np))
    write_atomic(out / f"{name}_output.npy", npy_bytes(y_np))
    write_atomic(out / f"{name}_input.pb", onnx.numpy_helper.from_array(x_np, "input").SerializeToString())
    write_atomic(out / f"{name}_output.pb", onnx.numpy_helper.from_array(y_np, "output").SerializeToString())
    for suffix, (_, data) in protos.items():
        write_atomic(out / f"{name}{suffix}.onnx", data)

    return {
        "files": file_names(name),
        "file_bytes": {f: (out / f).stat().st_size for f in file_names(name)},
        "input_name": "input",
        "output_name": "output",
        "input_shape": list(shape),
        "output_shape": list(y_np.shape),
        "opset": opset,
        "op_histogram": {f"{name}.onnx": folded, f"{name}_bn.onnx": kept},
        "batchnorm_layers": n_bn,
        "parameter_count": params,
        "torch_version": torch.__version__,
        "seeds": {"torch": TORCH_SEED, "norm": NORM_SEED, "input": INPUT_SEED},
        "output_stats": {"min": float(y_np.min()), "max": float(y_np.max()),
                         "mean": float(y_np.mean()), "std": float(y_np.std())},
    }, log


def package_versions(tool):
    """The versions of torch, torchvision, onnx and numpy from package metadata (so that an
    up-to-date check costs no torch import); None, after saying why on stderr, when one is missing."""
    try:
        return {p: importlib.metadata.version(p) for p in ("torch", "torchvision", "onnx", "numpy")}
    except importlib.metadata.PackageNotFoundError as e:
        print(f"{tool}: error: {e}; run with Debian's /usr/bin/python3 "
              "(apt packages python3-torch python3-torchvision python3-onnx)", file=sys.stderr)
        return None


def make_output_dir(tool, out):
    """Creates `out` (and its parents); False, after saying why on stderr, when that fails."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        return True
    except OSError as e:
        print(f"{tool}: error: cannot create output directory {out}: {e}", file=sys.stderr)
        return False


def load_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--out", required=True, type=Path, help="output directory (created)")
    ap.add_argument("--models", default=",".join(MODELS),
                    help=f"comma-separated subset of: {','.join(MODELS)}")
    ap.add_argument("--opset", type=int, default=DEFAULT_OPSET)
    ap.add_argument("--force", action="store_true", help="export even if the stamp says up to date")
    ap.add_argument("--verbose", action="store_true", help="show the exporter's warnings")
    args = ap.parse_args()

    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown or not names:
        print(f"export_models: error: unknown model(s) {unknown}; known: {', '.join(MODELS)}",
              file=sys.stderr)
        return 2

    versions = package_versions("export_models")
    out = args.out
    if versions is None or not make_output_dir("export_models", out):
        return 2
    key = {"script_sha256": script_hash(), "opset": args.opset, **versions}

    # Serialise concurrent runs on the same directory (e.g. parallel CTest fixtures).
    with open(out / ".export.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = load_json(out / STAMP)
        manifest = load_json(out / MANIFEST)
        models_manifest = manifest.get("models", {})
        failed = []
        t_all = time.perf_counter()
        for name in names:
            up_to_date = (stamp.get(name) == key and name in models_manifest
                          and all((out / f).is_file() for f in file_names(name)))
            if up_to_date and not args.force:
                print(f"{name}: up to date")
                continue
            t0 = time.perf_counter()
            stamp.pop(name, None)
            import onnx
            import torch
            torch.set_num_threads(max(1, os.cpu_count() or 1))
            try:
                entry, log = export_one(name, out, args.opset)
            except Exception as e:  # report and go on with the other models
                failed.append(name)
                print(f"{name}: FAILED: {type(e).__name__}: {e}", file=sys.stderr)
                if args.verbose or not isinstance(e, ExportError):
                    traceback.print_exc()
                continue
            if args.verbose and log.strip():
                print(log.rstrip(), file=sys.stderr)
            models_manifest[name] = entry
            stamp[name] = key
            hist = entry["op_histogram"]
            print(f"{name}: exported in {time.perf_counter() - t0:.1f} s, "
                  f"{entry['parameter_count'] / 1e6:.2f}M params, input {entry['input_shape']} "
                  f"-> output {entry['output_shape']}, nodes "
                  f"{sum(hist[name + '.onnx'].values())} / {sum(hist[name + '_bn.onnx'].values())} (_bn)")
            # Record progress after every model so an interrupted run keeps what it finished.
            manifest = {
                "generator": "tests/models/export_models.py",
                "script_sha256": key["script_sha256"],
                "python_version": platform.python_version(),
                "torch_version": torch.__version__,
                "onnx_version": onnx.__version__,
                "package_versions": versions,
                "models": dict(sorted(models_manifest.items())),
            }
            write_atomic(out / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
            write_atomic(out / STAMP, (json.dumps(stamp, indent=2, sort_keys=True) + "\n").encode())
        print(f"total: {time.perf_counter() - t_all:.1f} s for {len(names)} model(s)")
    if failed:
        print(f"export_models: error: failed to export {', '.join(failed)} "
              "(re-run with --verbose for the exporter's log)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
