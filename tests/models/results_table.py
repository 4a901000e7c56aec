#!/usr/bin/python3
"""The paper's Table 1 on Fashion-MNIST, from real runs: for each network train_fmnist.py trained (its
--out folder), the `surgery` tool makes the paper's lite model and recovers it without retraining;
this script measures and writes docs/results.md (and a JSON of every figure).

Per network, top-1 on the full test set (10,000 images):
  original; lite as is; lite + each recovery of `surgery lite --calibrate` (on the first N training
  images): moment matching on the default export (BatchNorm folded into the convolutions), the same
  plus least-squares refits, and BatchNorm re-estimation alone on the export that keeps BatchNorm;
  PyTorch's BatchNorm re-estimation and short fine-tuning of the module-swap lite network
  (train_fmnist.py's figures, the paper's flow). The executor's top-1 of the original and the lite
  model is set beside PyTorch's (same weights, same images), with the rules the tool applied that the
  module swap does not have where they differ.
Also parameters and multiply-accumulates (batch 1), latency of the reference executor and of ONNX
Runtime (1 thread, batch 1; interleaved rounds, median of the round medians and their range), and the
matches per rule.

  /usr/bin/python3 tests/models/results_table.py --train DIR --surgery build/tools/surgery \\
      [--ort-dir .deps/ort] [--calibrate-count 2000] [--rounds 5] [--out docs/results.md] [--json F]
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

import fmnist_common as fm  # noqa: E402
from lite_torch import run_checked as run  # noqa: E402




def batch1(src, dst):
    import onnx
    m = onnx.load(str(src))
    for v in list(m.graph.input) + list(m.graph.output):
        d = v.type.tensor_type.shape.dim[0]
        d.ClearField("dim_param")
        d.dim_value = 1
    onnx.save(m, str(dst))


def inspect(surgery, model, work):
    b1 = work / (Path(model).stem + "_b1.onnx")
    batch1(model, b1)
    d = json.loads(run([surgery, "inspect", b1, "--json"]))
    return {"parameters": d["parameters"], "macs": d["macs"], "nodes": d["nodes"]}


def lite(surgery, src, dst, report, cal_spec=None, count=0, methods=None, eval_spec=None, without=None, max_memory=None):
    cmd = [surgery, "lite", src, "-o", dst, "--preset", "paper", "--report", report]
    if max_memory:
        cmd += ["--max-memory", max_memory]
    if without:
        cmd += ["--without", without]
    if cal_spec:
        cmd += ["--calibrate", cal_spec, "--calibrate-count", count]
        if methods:
            cmd += ["--calibrate-methods", methods]
    if eval_spec:
        cmd += ["--evaluate", eval_spec]
    cached = reusable(Path(report), Path(dst), Path(surgery), src, cal_spec, count, methods, eval_spec, without)
    if cached is not None:
        print(f"  reusing {report}", flush=True)
        return cached
    t = time.perf_counter()
    run(cmd)
    rep = json.loads(Path(report).read_text())
    rep["wall_seconds"] = time.perf_counter() - t
    return rep


def reusable(report, dst, surgery, src, cal_spec, count, methods, eval_spec, without):
    """A report of an earlier run in --work that asked for the same thing (same input, calibration data,
    count, methods and evaluation data) and is newer than the tool and the input model: its figures stand.
    Lets a long run be resumed, or its networks split over several processes sharing --work."""
    if not report.is_file() or not dst.is_file():
        return None
    t = min(report.stat().st_mtime, dst.stat().st_mtime)
    if t < surgery.stat().st_mtime or t < Path(src).stat().st_mtime:
        return None
    try:
        rep = json.loads(report.read_text())
    except json.JSONDecodeError:
        return None
    if Path(rep.get("input", "")).resolve() != Path(src).resolve():
        return None
    if without and not all(w in rep.get("dictionary", "") for w in without.split(",")):
        return None
    cal = rep.get("calibration")
    if bool(cal) != bool(cal_spec):
        return None
    if cal and (cal["data"] != cal_spec or cal["images"] != int(count) or
                (methods and sorted(cal["methods"]) != sorted(m for m in methods.split(",")))):
        return None
    ev = rep.get("evaluation")
    if bool(ev) != bool(eval_spec) or (ev and ev["data"] != eval_spec):
        return None
    return rep


def latency(args, models, x, rounds):
    """Interleaved rounds: in each, every model under the executor then ONNX Runtime, 20 runs each."""
    per = {(k, e): [] for k in models for e in ("executor", "ort")}
    for _ in range(rounds):
        for k, path in models.items():
            d = json.loads(run([args.surgery, "run", path, "--input", x, "--repeat", 20, "--warmup", 2, "--threads", 1, "--json"]))
            per[(k, "executor")].append(d["median_ms"])
            out = run(["node", REPO / "tests" / "tools" / "ort_run.mjs", path, "--input", x, "--threads", 1, "--repeat", 20,
                       "--warmup", 2, "--quiet", *(["--ort-dir", args.ort_dir] if args.ort_dir else [])])
            per[(k, "ort")].append(json.loads(out.strip().splitlines()[-1])["median_ms"])
    return {f"{k}_{e}": {"median_ms": statistics.median(v), "min_ms": min(v), "max_ms": max(v)} for (k, e), v in per.items()}


def network(args, name, torch_result, work, without=None):
    """One row. `without`: rules left out of the preset (a variant row, its files suffixed)."""
    tag = name + ("_without_" + without.replace(",", "_") if without else "")
    import numpy as np
    train = Path(args.train)
    src, src_bn = train / f"{name}.onnx", train / f"{name}_bn.onnx"
    cal = fm.dataset_spec("train", args.data_dir)
    test = fm.dataset_spec("test", args.data_dir)
    n = args.calibrate_count
    r = {"network": name, "changes_for_32x32": torch_result["changes_for_32x32"], "train": torch_result["train"],
         "torch": {k: 100 * v for k, v in torch_result["top1"].items()}, "finetune_steps": torch_result["finetune"]["steps"]}
    mm = args.max_memory
    keep = ("moment_matched", "batchnorms", "refitted", "reverted", "seconds", "deviation_before", "deviation_after", "validation", "revert_reason")
    print(f"{name}: moments", flush=True)
    rep = lite(args.surgery, src, work / f"{tag}_moments.onnx", work / f"{tag}_moments.json", cal, n, "batchnorm,moments", test, without=without,
               max_memory=mm)
    ev = rep["evaluation"]
    r["original"], r["lite"], r["moments"] = 100 * ev["top1_input"], 100 * ev["top1_lite"], 100 * ev["top1_calibrated"]
    r["paired"] = {"lite_vs_input": ev["lite_vs_input"], "moments": ev["calibrated_vs_lite"]}
    r["rules"] = {x["name"]: x["replaced"] for x in rep["rules"] if x["replaced"]}
    r["sites"] = len(rep["sites"])
    r["calibration"] = {"moments": {k: rep["calibration"][k] for k in keep if k in rep["calibration"]}}
    print(f"{name}: lite (no calibration)", flush=True)
    lite(args.surgery, src, work / f"{tag}_lite.onnx", work / f"{tag}_lite.json", without=without)
    print(f"{name}: moments + least squares", flush=True)
    rep = lite(args.surgery, src, work / f"{tag}_lstsq.onnx", work / f"{tag}_lstsq.json", cal, n, "batchnorm,moments,lstsq", test, without=without,
               max_memory=mm)
    r["calibration"]["lstsq"] = {k: rep["calibration"][k] for k in keep if k in rep["calibration"]}
    r["lstsq"] = 100 * rep["evaluation"]["top1_calibrated"]
    r["paired"]["lstsq"] = rep["evaluation"]["calibrated_vs_lite"]
    print(f"{name}: BatchNorm kept: re-estimation", flush=True)
    # BatchNorm kept: the paper preset without its BatchNorm folding, so that the statistics can be re-estimated.
    rep = lite(args.surgery, src_bn, work / f"{tag}_bnre.onnx", work / f"{tag}_bnre.json", cal, n, "batchnorm", test,
               without="fold_batchnorm" + ("," + without if without else ""),
               max_memory=mm)
    r["calibration"]["bnre"] = {k: rep["calibration"][k] for k in keep if k in rep["calibration"]}
    r["bnre"] = 100 * rep["evaluation"]["top1_calibrated"]
    r["bn_lite"] = 100 * rep["evaluation"]["top1_lite"]
    r["paired"]["bnre"] = rep["evaluation"]["calibrated_vs_lite"]
    r["size_original"] = inspect(args.surgery, src, work)
    r["size_lite"] = inspect(args.surgery, work / f"{tag}_lite.onnx", work)
    x = work / "x1.npy"
    if not x.exists():
        np.save(x, np.load(train / "test_head_input.npy")[:1])
    if args.rounds:
        print(f"{name}: latency", flush=True)
        r["latency"] = latency(args, {"original": src, "lite": work / f"{tag}_lite.onnx"}, x, args.rounds)
    gap = r["original"] - r["lite"]
    r["gap_closed_moments"] = (r["moments"] - r["lite"]) / gap if gap > 0 else None
    return r


def fmt(x, d=2):
    return "-" if x is None else f"{x:.{d}f}"


def markdown(rows, meta):
    out = ["| network | original | lite as is | + moments (ours) | + moments + lstsq (ours, the default) | BN kept: + re-estimation (ours) | "
           "PyTorch BN re-est. | PyTorch fine-tune (steps) | gap closed (moments / default) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    def closed(r, key):
        gap = r["original"] - r["lite"]
        return f"{100 * (r[key] - r['lite']) / gap:.1f}%" if gap > 0 else "-"
    for r in rows:
        if "error" in r:
            out.append(f"| {r['network']} | error: {r['error'].splitlines()[0][:80]} |||||||| ")
            continue
        t = r["torch"]
        out.append(f"| {r['network']} | {fmt(r['original'])} | {fmt(r['lite'])} | {fmt(r['moments'])} | {fmt(r['lstsq'])} | {fmt(r['bnre'])} | "
                   f"{fmt(t['lite_bnre'])} | {fmt(t['lite_ft'])} ({r['finetune_steps']}) | "
                   f"{closed(r, 'moments')} / {closed(r, 'lstsq')} |")
    out += ["", "The executor against PyTorch on the same weights and images (top-1, %): the original, and the lite "
            "network against PyTorch's module swap (activations -> ReLU, Squeeze-and-Excitation -> Identity); they differ where "
            "the tool's `paper` preset applies rules the module swap does not have.", ""]
    swap_rules = {"hardswish_to_relu", "hardsigmoid_to_relu", "silu_to_relu", "relu6_to_relu", "gelu_to_relu", "remove_squeeze_excitation",
                  "fold_batchnorm", "merge_transposes", "merge_reshapes", "fold_constants", "remove_identity", "remove_dropout"}
    for r in rows:
        if "error" in r:
            continue
        t = r["torch"]
        same_o = abs(r["original"] - t["original"]) < 0.005
        same_l = abs(r["lite"] - t["lite"]) < 0.005
        extra = ", ".join(f"{k} {n}" for k, n in sorted(r["rules"].items()) if k not in swap_rules)
        out.append(f"- {r['network']}: original {fmt(r['original'])} (PyTorch {fmt(t['original'])}, {'equal' if same_o else 'DIFFERENT'}); "
                   f"lite {fmt(r['lite'])} (module swap {fmt(t['lite'])}, {'equal' if same_l else 'different'}"
                   f"{'; the preset also applies ' + extra if extra else ''})")
    out += ["", "Each recovery against the lite network as is, image by image on the same test images: images it gets right "
            "that the lite network gets wrong (+), the reverse (-), and the exact two-sided sign-test p-value of that split "
            "(a large p: the two top-1 figures differ by the luck of the images); `R` marks corrections the tool dropped "
            "(its held-out check), which leave the lite network unchanged.", "",
            "| network | lite vs original | + moments | + moments + lstsq (default) | BN kept: + re-estimation |", "|---|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r or "paired" not in r:
            continue
        def pair(k, cal_key=None):
            c = r["paired"].get(k)
            if not c:
                return "-"
            rev = " R" if cal_key and r["calibration"].get(cal_key, {}).get("reverted") else ""
            return f"+{c['gained']} / -{c['lost']} (p {c['p_value']:.2g}){rev}"
        out.append(f"| {r['network']} | {pair('lite_vs_input')} | {pair('moments', 'moments')} | {pair('lstsq', 'lstsq')} | {pair('bnre', 'bnre')} |")
    out += ["", "| network | params original -> lite | MACs original -> lite | executor ms original -> lite | ONNX Runtime ms original -> lite | "
            "matches per rule |", "|---|---:|---:|---:|---:|---|"]
    for r in rows:
        if "error" in r:
            continue
        so, sl = r["size_original"], r["size_lite"]
        lat = r.get("latency")
        def ms(k):
            if not lat:
                return "-"
            v = lat[k]
            return f"{v['median_ms']:.2f} [{v['min_ms']:.2f}-{v['max_ms']:.2f}]"
        rules = ", ".join(f"{k} {v}" for k, v in sorted(r["rules"].items()))
        out.append(f"| {r['network']} | {so['parameters'] / 1e6:.3f}M -> {sl['parameters'] / 1e6:.3f}M | {so['macs'] / 1e6:.1f}M -> "
                   f"{sl['macs'] / 1e6:.1f}M | {ms('original_executor')} -> {ms('lite_executor')} | {ms('original_ort')} -> "
                   f"{ms('lite_ort')} | {rules} |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train")
    ap.add_argument("--surgery")
    ap.add_argument("--ort-dir", default=None)
    ap.add_argument("--data-dir", default=str(fm.DATA_DIR))
    ap.add_argument("--calibrate-count", type=int, default=2000)
    ap.add_argument("--max-memory", default="12G", help="the tool's --max-memory for the calibrations (2,000 images of a 32x32 "
                    "MobileNetV2 hold 2.4 GB of activations)")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME:RULE,...",
                    help="an extra row for network NAME with these rules left out of the preset (e.g. to match PyTorch's module swap)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved latency rounds (0: no latency)")
    ap.add_argument("--models", default=None, help="comma-separated (default: every network in --train's results.json)")
    ap.add_argument("--work", default=None)
    ap.add_argument("--out", default=None, help="write the Markdown tables here (default: print)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--from-json", default=None, metavar="RESULTS.json",
                    help="only print (or --out) the Markdown tables of an earlier run's --json; nothing is run")
    args = ap.parse_args()
    if args.from_json:
        text = markdown(json.loads(Path(args.from_json).read_text()), {})
        if args.out:
            Path(args.out).write_text(text)
        print(text)
        return 0
    if not args.train or not args.surgery:
        ap.error("--train and --surgery are needed (or --from-json)")
    summary_path = Path(args.train) / "results.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    if not args.models and "networks" not in summary:
        print(f"results_table: {summary_path} is missing (train_fmnist.py writes it at the end); name the networks with --models",
              file=sys.stderr)
        return 2
    names = args.models.split(",") if args.models else list(summary["networks"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        for name in names:
            torch_result = json.loads((Path(args.train) / f"{name}.json").read_text())
            try:
                rows.append(network(args, name, torch_result, work))
                for v in args.variant:
                    vname, _, vwithout = v.partition(":")
                    if vname == name:
                        row = network(args, name, torch_result, work, vwithout)
                        row["network"] = f"{name} without {vwithout}"
                        rows.append(row)
            except (RuntimeError, OSError, KeyError) as e:
                rows.append({"network": name, "error": str(e)})
                print(f"{name}: ERROR {e}", file=sys.stderr, flush=True)
    text = markdown(rows, summary)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
