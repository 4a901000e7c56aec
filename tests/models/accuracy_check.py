#!/usr/bin/python3
"""Accuracy on real data through the `surgery` tool: a network trained on Fashion-MNIST by
train_fmnist.py, made lite by `surgery lite --preset paper`, recovered by `--calibrate`, evaluated by
`--evaluate` (the reference executor) on the test images, against PyTorch's own figures.

For each network NAME in --train (train_fmnist.py's output folder, NAME.onnx with BatchNorm folded as
by default, NAME.json with PyTorch's top-1):
  1. surgery lite NAME.onnx --preset paper --calibrate TRAIN[:count] --evaluate TEST[:count] --report
  2. checks, on the test images:
     - the executor's top-1 of the original and of the uncorrected lite model equal PyTorch's top-1 of
       the trained network and of its module-swap lite network within --agree points (same weights,
       same images; only float rounding may flip an argmax). Needs --evaluate-count 0 (all 10,000
       images, those PyTorch used);
     - recovery does not make the lite model worse, and raises its top-1 by at least --min-gain points;
     - the report names every rewritten site with its rules and PyTorch modules;
  3. with --lite-torch: tests/models/lite_torch.py's self-test on the same weights (the report applied
     to the PyTorch model equals the CLI's lite model).
Prints one line per network and writes --json. Exit 0 when every check holds, 1 otherwise, 2 on bad use.
"""

import argparse
import json
import sys
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fmnist_common as fm  # noqa: E402
from lite_torch import run_checked as run  # noqa: E402




def check_network(args, name):
    train = Path(args.train)
    torch_result = json.loads((train / f"{name}.json").read_text())
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    lite, report = work / f"{name}_lite.onnx", work / f"{name}_report.json"
    cmd = [args.surgery, "lite", train / f"{name}.onnx", "-o", lite, "--preset", "paper", "--report", report,
           "--calibrate", fm.dataset_spec("train", args.data_dir), "--calibrate-count", args.calibrate_count,
           "--evaluate", fm.dataset_spec("test", args.data_dir)]
    if args.evaluate_count:
        cmd += ["--evaluate-count", args.evaluate_count]
    if args.methods:
        cmd += ["--calibrate-methods", args.methods]
    out = run(cmd)
    rep = json.loads(report.read_text())
    ev, cal = rep["evaluation"], rep["calibration"]
    t = torch_result["top1"]
    pts = lambda x: 100.0 * x  # noqa: E731
    row = {
        "network": name,
        "images": ev["images"],
        "calibration_images": cal["images"],
        "torch_original": pts(t["original"]), "torch_lite": pts(t["lite"]), "torch_lite_bnre": pts(t["lite_bnre"]),
        "original": pts(ev["top1_input"]), "lite": pts(ev["top1_lite"]), "calibrated": pts(ev["top1_calibrated"]),
        "moment_matched": cal["moment_matched"], "batchnorms": cal["batchnorms"], "refitted": cal["refitted"],
        "reverted": cal["reverted"], "deviation_before": cal["deviation_before"], "deviation_after": cal["deviation_after"],
        "calibration_seconds": cal["seconds"], "sites": len(rep["sites"]),
    }
    failures = []
    if ev["images"] == torch_result["test_images"]:
        for mine, theirs in (("original", "torch_original"), ("lite", "torch_lite")):
            if abs(row[mine] - row[theirs]) > args.agree:
                failures.append(f"executor top-1 of the {mine} model {row[mine]:.2f} differs from PyTorch's {row[theirs]:.2f} "
                                f"by more than {args.agree} points")
    gain = row["calibrated"] - row["lite"]
    row["gain"] = gain
    gap = row["original"] - row["lite"]
    row["gap_closed"] = gain / gap if gap > 0 else None
    if gain < args.min_gain:
        failures.append(f"recovery raised top-1 by {gain:.2f} points ({row['lite']:.2f} -> {row['calibrated']:.2f}), "
                        f"less than --min-gain {args.min_gain}")
    approx = [s for s in rep["sites"] if s["kind"] == "approximate"]
    if not approx:
        failures.append("the report lists no approximate site")
    for s in approx:
        if not s["rules"] or not (s["module"] or s["original_modules"]):
            failures.append(f"site at {s['original_nodes'][:1]} has no rule or no PyTorch module in the report")
            break
    if args.node:
        # The calibrated model is one the tool writes: ONNX Runtime must run it with the executor's outputs.
        try:
            import numpy as np
            import onnx
            dims = [d.dim_value or 1 for d in onnx.load(str(lite)).graph.input[0].type.tensor_type.shape.dim]
            x, y = work / f"{name}_x.npy", work / f"{name}_lite_y.npy"
            np.save(x, np.random.default_rng(10).standard_normal(dims).astype(np.float32))
            run([args.surgery, "run", lite, "--input", x, "--output", y])
            ort = [args.node, HERE.parent / "tools" / "ort_run.mjs"] + (["--ort-dir", args.ort_dir] if args.ort_dir else [])
            run(ort + [lite, "--input", x, "--check-against", y, "--threads", "1"])
            row["ort"] = "equal"
        except (RuntimeError, OSError, ImportError, ValueError, IndexError) as e:
            failures.append(f"ONNX Runtime on the calibrated model: {type(e).__name__}: {e}")
            row["ort"] = "FAILED"
    if args.lite_torch:
        try:
            run([sys.executable, HERE / "lite_torch.py", "--selftest", "--surgery", args.surgery, "--out", work / "lite_torch",
                 "--weights", train, "--models", name])
            row["lite_torch"] = "equal"
        except RuntimeError as e:
            failures.append(f"lite_torch.py self-test failed: {e}")
            row["lite_torch"] = "FAILED"
    row["failures"] = failures
    if args.verbose:
        print(out)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--surgery", required=True)
    ap.add_argument("--train", required=True, help="train_fmnist.py's --out folder")
    ap.add_argument("--work", required=True, help="folder for the lite models and reports")
    ap.add_argument("--models", default="mobilenet_v3_small")
    ap.add_argument("--data-dir", default=str(fm.DATA_DIR))
    ap.add_argument("--calibrate-count", type=int, default=300)
    ap.add_argument("--evaluate-count", type=int, default=0, help="test images (0: all 10,000, needed for the PyTorch comparison)")
    ap.add_argument("--methods", default=None, help="--calibrate-methods for the CLI (default: the CLI's)")
    ap.add_argument("--min-gain", type=float, default=3.0, help="points of top-1 recovery must add (default 3)")
    ap.add_argument("--agree", type=float, default=0.1, help="points the executor's top-1 may differ from PyTorch's (default 0.1)")
    ap.add_argument("--lite-torch", action="store_true", help="also run lite_torch.py's self-test")
    ap.add_argument("--node", default=None, help="Node.js: also run the calibrated model in ONNX Runtime (tests/tools/ort_run.mjs) "
                    "against the executor")
    ap.add_argument("--ort-dir", default=None, help="onnxruntime-node location (ort_run.mjs --ort-dir)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--verbose", action="store_true", help="print the CLI's output")
    args = ap.parse_args()
    rows, bad = [], 0
    for name in [m for m in args.models.split(",") if m]:
        try:
            row = check_network(args, name)
        except (RuntimeError, OSError, KeyError, ValueError) as e:
            row = {"network": name, "failures": [f"{type(e).__name__}: {e}"]}
        rows.append(row)
        if "calibrated" in row:
            print(f"{name}: top-1 original {row['original']:.2f} (PyTorch {row['torch_original']:.2f}), lite {row['lite']:.2f} "
                  f"(PyTorch {row['torch_lite']:.2f}), calibrated {row['calibrated']:.2f} (+{row['gain']:.2f}; PyTorch BN "
                  f"re-estimation {row['torch_lite_bnre']:.2f}) on {row['images']} images, {row['calibration_images']} "
                  f"calibration images, {row['calibration_seconds']:.1f} s", flush=True)
        for f in row["failures"]:
            print(f"  FAIL: {f}", flush=True)
        bad += bool(row["failures"])
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
