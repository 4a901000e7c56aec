#!/usr/bin/python3
"""The reference executor against PyTorch, 1 thread, same inputs, in one go; prints a Markdown table.

  /usr/bin/python3 bench/compare_pytorch.py --build build-bench [--models-dir DIR] [--rounds 3] [--repeat 20]

For each model it alternates, for --rounds rounds: our executor built with -march=native
(compare_executor), our executor built for generic x86-64 (compare_executor_generic), and PyTorch
(tests/models/compare_pytorch.py, torch.set_num_threads(1)). Each run reports the median of --repeat
inferences after warm-up; the table gives the median over rounds and the ratio PyTorch / ours
(> 1: ours is faster). Alternating keeps both sides exposed to the same machine load. Both sides
read NAME_input and compare against NAME_output written by tests/models/export_models.py.

Debian's python3-torch links the system libblas.so.3, which is Netlib's reference BLAS unless an
optimised BLAS is installed; its Linear layers and non-depthwise convolutions (im2col + GEMM) then
run on reference BLAS. --openblas-dir DIR adds a second PyTorch column with OpenBLAS loaded for
the PyTorch process only (LD_LIBRARY_PATH, OPENBLAS_NUM_THREADS=1), without changing the system:
  apt-get download libopenblas0-pthread && dpkg-deb -x libopenblas0-pthread_*.deb /tmp/openblas
  --openblas-dir /tmp/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ["mobilenet_v3_large", "efficientnet_b0", "convnext_tiny"]


def run_json(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", type=Path, default=ROOT / "build-bench", help="build folder with bench/compare_executor")
    ap.add_argument("--models-dir", type=Path, help="exported models (default: BUILD/models)")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write every measurement here")
    ap.add_argument("--openblas-dir", type=Path, help="directory holding OpenBLAS's libblas.so.3: adds a PyTorch + OpenBLAS column")
    args = ap.parse_args()
    models_dir = args.models_dir or args.build / "models"
    ours = {"native": args.build / "bench" / "compare_executor", "generic": args.build / "bench" / "compare_executor_generic"}
    for exe in ours.values():
        if not exe.is_file():
            sys.exit(f"compare_pytorch.py: {exe} not found: configure with -DSURGERY_BUILD_BENCHMARKS=ON -DSURGERY_WITH_ONNX=ON and build it")
    torch_cmd = ["/usr/bin/python3", str(ROOT / "tests" / "models" / "compare_pytorch.py"), "--models-dir", str(models_dir), "--threads", "1",
                 "--repeat", str(args.repeat), "--warmup", str(args.warmup)]

    results = {}
    for model in args.models.split(","):
        if not (models_dir / f"{model}.onnx").is_file():
            print(f"compare_pytorch.py: {models_dir / (model + '.onnx')} missing; run tests/models/export_models.py --out {models_dir}",
                  file=sys.stderr)
            continue
        runs = {"native": [], "generic": [], "torch": []}
        openblas_env = None
        if args.openblas_dir:
            if not (args.openblas_dir / "libblas.so.3").is_file():
                sys.exit(f"compare_pytorch.py: no libblas.so.3 in {args.openblas_dir}")
            openblas_env = dict(os.environ, LD_LIBRARY_PATH=str(args.openblas_dir), OPENBLAS_NUM_THREADS="1")
            runs["torch_openblas"] = []
        for r in range(args.rounds):
            for name, exe in ours.items():
                runs[name].append(run_json([str(exe), "--models-dir", str(models_dir), "--model", model, "--repeat", str(args.repeat),
                                            "--warmup", str(args.warmup), "--profile-runs", "5" if name == "native" and r == 0 else "0"]))
            runs["torch"].append(run_json(torch_cmd + ["--model", model]))
            if openblas_env:
                runs["torch_openblas"].append(run_json(torch_cmd + ["--model", model], env=openblas_env))
            print(f"  {model} round {r + 1}: ours {runs['native'][-1]['median_ms']:.1f} ms (native), "
                  f"{runs['generic'][-1]['median_ms']:.1f} ms (generic), torch {runs['torch'][-1]['median_ms']:.1f} ms"
                  + (f", torch+OpenBLAS {runs['torch_openblas'][-1]['median_ms']:.1f} ms" if openblas_env else ""), file=sys.stderr)
        results[model] = runs

    ob = bool(args.openblas_dir)
    print("| model | ours -march=native (ms) | ours generic x86-64 (ms) | PyTorch, reference BLAS (ms) | PyTorch / ours native "
          "| PyTorch / ours generic |" + (" PyTorch + OpenBLAS (ms) | PyTorch+OpenBLAS / ours native | PyTorch+OpenBLAS / ours generic |" if ob else "")
          + " max abs diff ours / PyTorch |")
    print("|---|---:|---:|---:|---:|---:|" + ("---:|---:|---:|" if ob else "") + "---:|")
    for model, runs in results.items():
        med = {k: statistics.median(x["median_ms"] for x in v) for k, v in runs.items()}
        diff = f"{runs['native'][0]['max_abs_diff']:.2g} / {runs['torch'][0]['max_abs_diff']:.2g}"
        extra = ""
        if ob:
            t = med["torch_openblas"]
            extra = f" {t:.1f} | {t / med['native']:.2f}x | {t / med['generic']:.2f}x |"
        print(f"| {model} | {med['native']:.1f} | {med['generic']:.1f} | {med['torch']:.1f} | {med['torch'] / med['native']:.2f}x "
              f"| {med['torch'] / med['generic']:.2f}x |{extra} {diff} |")
    print()
    print("Where our time goes (-march=native build, profiled runs, ms per inference by op kind; activations fused "
          "into their producer are counted with it):\n")
    print("| model | total | by op kind | Conv by class: depthwise / 1x1 / other (im2col) |")
    print("|---|---:|---|---|")
    for model, runs in results.items():
        prof = runs["native"][0]["profile_ms_by_kind"]
        total = sum(prof.values())
        parts = ", ".join(f"{k} {v:.2f} ({100 * v / total:.0f}%)" for k, v in list(prof.items())[:6])
        conv = runs["native"][0].get("conv_ms_by_class", {})
        conv_text = " / ".join(f"{conv.get(k, 0):.2f}" for k in ("depthwise", "1x1", "other"))
        print(f"| {model} | {total:.1f} | {parts} | {conv_text} |")
    if results:
        torch_version = next(iter(results.values()))["torch"][0].get("torch_version")
        print(f"\nPyTorch {torch_version} (Debian python3-torch), torch.set_num_threads(1); {args.rounds} rounds x {args.repeat} runs.")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
