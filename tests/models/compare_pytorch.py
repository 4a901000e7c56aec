#!/usr/bin/python3
"""Time PyTorch inference of one exported model, as the baseline for the C++ benchmarks.

Rebuilds the model exactly as export_models.py does (same seeds), feeds NAME_input.npy from the
models directory and prints one JSON line:
  {"model": ..., "median_ms": ..., "min_ms": ..., "repeat": ..., "threads": ..., "warmup": ...,
   "max_abs_diff": <vs NAME_output.npy>, "torch_version": ...}

  /usr/bin/python3 tests/models/compare_pytorch.py --models-dir DIR --model NAME --threads 1 --repeat N
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, str(Path(__file__).resolve().parent))
import export_models  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--models-dir", required=True, type=Path)
    ap.add_argument("--model", required=True, choices=list(export_models.MODELS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    if args.repeat < 1 or args.threads < 1:
        ap.error("--repeat and --threads must be >= 1")

    path = args.models_dir / f"{args.model}_input.npy"
    if not path.is_file():
        print(f"compare_pytorch: error: {path} not found; run export_models.py --out {args.models_dir} first",
              file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    x = torch.from_numpy(np.load(path))

    builder, _ = export_models.MODELS[args.model]
    torch.manual_seed(export_models.TORCH_SEED)
    model = builder()
    export_models.randomize_norms(model, export_models.NORM_SEED)
    model.eval()

    times = []
    with torch.no_grad():
        for _ in range(args.warmup):
            y = model(x)
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            y = model(x)
            times.append((time.perf_counter() - t0) * 1e3)

    ref_path = args.models_dir / f"{args.model}_output.npy"
    diff = float(np.max(np.abs(y.numpy() - np.load(ref_path)))) if ref_path.is_file() else None
    print(json.dumps({"model": args.model, "median_ms": round(statistics.median(times), 3),
                      "min_ms": round(min(times), 3), "repeat": args.repeat, "threads": args.threads,
                      "warmup": args.warmup, "max_abs_diff": diff, "torch_version": torch.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
