#!/usr/bin/python3
"""The way back to PyTorch: apply the replacements `surgery lite` made to an ONNX export to the PyTorch
model it came from, by module path, so that a training script fine-tunes exactly the lite architecture.

torch.onnx.export writes each node's module path into its name ("/features/features.1/block/block.0/
block.0.2/HardSwish" is module "features.1.block.0.2"); `surgery lite --report R.json` lists every
rewritten site with the modules of the nodes it replaced ("sites": "module", "original_modules") and
the rules that ran. This helper replaces, at those paths, what the approximate rules replaced:

  rule                         module at the path                     becomes
  hardswish_to_relu            nn.Hardswish                           nn.ReLU
  hardsigmoid_to_relu          nn.Hardsigmoid                         nn.ReLU
  silu_to_relu                 nn.SiLU                                nn.ReLU
  gelu_to_relu                 nn.GELU                                nn.ReLU
  relu6_to_relu                nn.ReLU6                               nn.ReLU
  mish/leaky_relu/prelu/elu_to_relu  nn.Mish/LeakyReLU/PReLU/ELU,CELU,SELU  nn.ReLU
  remove_squeeze_excitation    the Squeeze-and-Excitation block       nn.Identity
  layernorm_to_batchnorm       nn.LayerNorm (channels last)           BatchNorm2d between permutes
                               LayerNorm2d (torchvision, channels first)   BatchNorm2d
                               (weight and bias kept, running mean 0, running var 1 - eps: at first
                               the affine map x * weight + bias, as in the lite ONNX model)
  large_kernel_to_3x3          nn.Conv2d k x k (odd k >= 7, same padding)  3x3 conv (centre of the
                               weights, same stride and groups) + (k-3)/2 depthwise 3x3 identities,
                               the bias on the last

Exact rules (BatchNorm folding, Focus -> conv, max-pool stacks, transpose merging, clean-up) change no
function and need no counterpart: training the model as is trains the same function.

  from lite_torch import apply_report
  model = build_model(); model.load_state_dict(torch.load("model.pt"))
  lite, log = apply_report(model, "report.json")      # a deep copy; `log` lists what was replaced
  ... fine-tune `lite` with your own training loop ...

Run as a script, it checks itself against the CLI (the CTest test `accuracy` runs it on the network
that test trains):
  /usr/bin/python3 tests/models/lite_torch.py --selftest --surgery build/tools/surgery --out DIR [--weights DIR] [--models a,b]
For each network of train_fmnist.py: export it (BatchNorm folded, as by default), `surgery lite --preset
paper --report`, apply the report to the PyTorch model, export that, pass it through `surgery lite
--preset exact` (the exact rules the CLI applied too), and require the same op histogram as the CLI's
lite model and the same outputs (PyTorch's forward of the helper's model against the executor running
the CLI's model, max abs error relative to the output's max abs <= 1e-4).
"""

import argparse
import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

ACTIVATION_RULES = {
    "Hardswish": "hardswish_to_relu",
    "Hardsigmoid": "hardsigmoid_to_relu",
    "SiLU": "silu_to_relu",
    "GELU": "gelu_to_relu",
    "ReLU6": "relu6_to_relu",
    "Mish": "mish_to_relu",
    "LeakyReLU": "leaky_relu_to_relu",
    "PReLU": "prelu_to_relu",
    "ELU": "elu_to_relu",
    "CELU": "elu_to_relu",
    "SELU": "elu_to_relu",
}


def _get(model, path):
    m = model
    for part in path.split(".") if path else []:
        if not hasattr(m, part):
            return None
        m = getattr(m, part)
    return m


def _set(model, path, new):
    parent_path, _, name = path.rpartition(".")
    parent = _get(model, parent_path)
    if isinstance(parent, __import__("torch").nn.Sequential) and name.isdigit():
        parent[int(name)] = new
    else:
        setattr(parent, name, new)


def _is_squeeze_excitation(m):
    """torchvision's SqueezeExcitation, or any block of the same shape (pool, two 1x1 convs, a gate)."""
    name = type(m).__name__
    if name in ("SqueezeExcitation", "SqueezeExcite", "SEModule", "SELayer"):
        return True
    kids = dict(m.named_children())
    return {"avgpool", "fc1", "fc2"} <= set(kids)


def _batchnorm_from_layernorm(ln, channels_last):
    import torch
    from torch import nn
    c = ln.normalized_shape[0]
    bn = nn.BatchNorm2d(c, eps=ln.eps)
    with torch.no_grad():
        bn.weight.copy_(ln.weight if ln.weight is not None else torch.ones(c))
        bn.bias.copy_(ln.bias if ln.bias is not None else torch.zeros(c))
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - ln.eps)
    if not channels_last:
        return bn

    class ChannelsLastBatchNorm(nn.Module):
        """BatchNorm over the last axis of [N, H, W, C] (LayerNorm -> BatchNorm on a channels-last tensor)."""

        def __init__(self, bn):
            super().__init__()
            self.bn = bn

        def forward(self, x):
            return self.bn(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)

    return ChannelsLastBatchNorm(bn)


def _three_by_three_stack(conv):
    import torch
    from torch import nn
    k = conv.kernel_size[0]
    layers = []
    first = nn.Conv2d(conv.in_channels, conv.out_channels, 3, stride=conv.stride, padding=1, groups=conv.groups,
                      bias=conv.bias is not None and k == 3)
    with torch.no_grad():
        c = (k - 3) // 2
        first.weight.copy_(conv.weight[:, :, c:c + 3, c:c + 3])
    layers.append(first)
    for i in range(1, (k - 1) // 2):
        last = i == (k - 1) // 2 - 1
        ident = nn.Conv2d(conv.out_channels, conv.out_channels, 3, padding=1, groups=conv.out_channels,
                          bias=conv.bias is not None and last)
        with torch.no_grad():
            ident.weight.zero_()
            ident.weight[:, 0, 1, 1] = 1.0
        layers.append(ident)
    with torch.no_grad():
        if conv.bias is not None:
            layers[-1].bias.copy_(conv.bias)
    return nn.Sequential(*layers)


def _replacement(module, rules, large_kernel_min):
    """(new module, rule) for `module` under the rules that ran, or None."""
    from torch import nn
    name = type(module).__name__
    rule = ACTIVATION_RULES.get(name)
    if rule and rule in rules:
        return nn.ReLU(), rule
    if "remove_squeeze_excitation" in rules and _is_squeeze_excitation(module):
        return nn.Identity(), "remove_squeeze_excitation"
    if "layernorm_to_batchnorm" in rules and isinstance(module, nn.LayerNorm) and len(module.normalized_shape) == 1:
        return _batchnorm_from_layernorm(module, channels_last=name != "LayerNorm2d"), "layernorm_to_batchnorm"
    if ("large_kernel_to_3x3" in rules and isinstance(module, nn.Conv2d) and module.kernel_size[0] == module.kernel_size[1]
            and module.kernel_size[0] >= large_kernel_min and module.kernel_size[0] % 2 == 1
            and module.padding == (module.kernel_size[0] // 2,) * 2 and module.dilation == (1, 1)):
        return _three_by_three_stack(module), "large_kernel_to_3x3"
    return None


def load_report(report):
    if isinstance(report, (str, Path)):
        return json.loads(Path(report).read_text())
    return report


def apply_report(model, report, large_kernel_min=7, inplace=False):
    """The lite version of `model` (a deep copy unless `inplace`): every module at a path the report names
    (a site's module or the module of one of its nodes) replaced as its approximate rule did in ONNX.
    Returns (model, log) with log a list of {"module", "type", "rule"}. Raises ValueError when the report
    names a rewritten site none of whose paths holds a module this helper can replace."""
    report = load_report(report)
    lite = model if inplace else copy.deepcopy(model)
    ran = {r["name"] for r in report.get("rules", []) if r.get("replaced", 0) > 0 and r.get("kind") == "approximate"}
    log, done = [], []
    missing = []
    for site in report.get("sites", []):
        if site.get("kind") == "exact":
            continue
        paths = {site.get("module", "")} | set(site.get("original_modules", []))
        paths = sorted((p for p in paths if p), key=lambda p: (p.count("."), p))
        hit = False
        for path in paths:
            if any(path == d or path.startswith(d + ".") for d in done):
                hit = True
                continue
            module = _get(lite, path)
            if module is None:
                continue
            rep = _replacement(module, (set(site.get("rules") or []) & ran) or ran, large_kernel_min)
            if rep is None:
                continue
            new, rule = rep
            _set(lite, path, new)
            done.append(path)
            log.append({"module": path, "type": type(module).__name__, "rule": rule})
            hit = True
        if not hit:
            missing.append(site)
    if missing:
        desc = "; ".join(f"{'+'.join(s.get('rules') or ['?'])} at {s.get('module') or s.get('original_nodes', ['?'])[0]}"
                         for s in missing[:5])
        raise ValueError(f"lite_torch: {len(missing)} rewritten site(s) have no replaceable PyTorch module: {desc}")
    return lite, log


# ---- self-test against the CLI ---------------------------------------------------------------------

def run_checked(cmd):
    """Runs `cmd` (items made strings) and returns its stdout; RuntimeError with its output when it fails.
    Shared by accuracy_check.py and results_table.py."""
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout


def _export(model, path, opset=13):
    import torch
    import train_fmnist as tf
    data, _hist, _log = tf.export_onnx(model, opset, keep_bn=False)
    Path(path).write_bytes(data)


def _histogram(surgery, model_path):
    info = json.loads(run_checked([surgery, "inspect", model_path, "--json"]))
    hist = info.get("op_histogram") or info.get("ops")
    return dict(sorted(hist.items())) if isinstance(hist, dict) else hist


def selftest(args):
    import numpy as np
    import torch
    import train_fmnist as tf
    import fmnist_common as fm
    torch.set_num_threads(1)
    names = [m for m in args.models.split(",") if m] if args.models else list(tf.NETWORKS)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failures = []
    for name in names:
        builder = tf.NETWORKS[name][0]
        torch.manual_seed(tf.SEED_MODEL)
        model = builder()
        weights = Path(args.weights) / f"{name}.pt" if args.weights else None
        if weights and weights.is_file():
            model.load_state_dict(torch.load(weights))
        model.eval()
        src = out / f"{name}.onnx"
        _export(model, src)
        lite_path, report_path = out / f"{name}_cli_lite.onnx", out / f"{name}_cli_report.json"
        run_checked([args.surgery, "lite", src, "-o", lite_path, "--preset", "paper", "--report", report_path])
        lite, log = apply_report(model, report_path)
        lite.eval()
        helper = out / f"{name}_helper.onnx"
        _export(lite, helper)
        helper_exact = out / f"{name}_helper_exact.onnx"
        run_checked([args.surgery, "lite", helper, "-o", helper_exact, "--preset", "exact"])
        h_cli, h_helper = _histogram(args.surgery, lite_path), _histogram(args.surgery, helper_exact)
        torch.manual_seed(3)
        x = torch.randn(4, fm.CHANNELS, fm.SIZE, fm.SIZE)
        np.save(out / f"{name}_x.npy", x.numpy())
        with torch.no_grad():
            y_torch = lite(x).numpy()
        run_checked([args.surgery, "run", lite_path, "--input", out / f"{name}_x.npy", "--output", out / f"{name}_y.npy"])
        y_cli = np.load(out / f"{name}_y.npy")
        rel = float(np.abs(y_torch - y_cli).max() / max(np.abs(y_torch).max(), 1e-12))
        same = h_cli == h_helper
        ok = same and rel <= 1e-4
        print(f"{name}: {len(log)} modules replaced ({', '.join(sorted({e['rule'] for e in log}))}); op histogram "
              f"{'equal' if same else 'DIFFERENT'}; PyTorch vs executor rel err {rel:.2e} -> {'ok' if ok else 'FAIL'}", flush=True)
        if not same:
            keys = sorted(set(h_cli) | set(h_helper))
            for k in keys:
                if h_cli.get(k) != h_helper.get(k):
                    print(f"    {k}: CLI {h_cli.get(k, 0)}, helper {h_helper.get(k, 0)}")
        if not ok:
            failures.append(name)
    if failures:
        print(f"lite_torch selftest: FAILED: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--selftest", action="store_true", help="check the helper against the CLI (see above)")
    ap.add_argument("--surgery", default="build/tools/surgery", help="the surgery executable")
    ap.add_argument("--out", default=None, help="working folder of the self-test (default: a temporary one)")
    ap.add_argument("--weights", default=None, help="folder with NAME.pt state dicts (train_fmnist.py --out); default random weights")
    ap.add_argument("--models", default=None, help="comma-separated networks of train_fmnist.py (default all)")
    ap.add_argument("--report", default=None, help="print what a report would replace in NAME's PyTorch model (with --models NAME)")
    args = ap.parse_args()
    if args.report:
        import torch
        import train_fmnist as tf
        name = (args.models or "").split(",")[0]
        if name not in tf.NETWORKS:
            print(f"lite_torch: --report needs --models NAME (one of {', '.join(tf.NETWORKS)})", file=sys.stderr)
            return 2
        torch.manual_seed(0)
        _, log = apply_report(tf.NETWORKS[name][0](), args.report)
        for e in log:
            print(f"{e['module']}: {e['type']} ({e['rule']})")
        return 0
    if not args.selftest:
        ap.print_help()
        return 2
    if args.out is None:
        with tempfile.TemporaryDirectory() as d:
            args.out = d
            return selftest(args)
    return selftest(args)


if __name__ == "__main__":
    sys.exit(main())
