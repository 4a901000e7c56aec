#!/usr/bin/python3
"""Check the `surgery` tool end to end on the torchvision zoo, with PyTorch and ONNX Runtime as oracles.

Reads the manifest.json that tests/models/export_zoo.py writes (ONNX models with a seeded input and
PyTorch's output for it) and, for every exported variant STEM (or those chosen with --models), runs
these steps. Each step is a list of commands and checks; each records PASS, FAIL or SKIP (skipped
because a step it needs failed or does not apply: the failure is reported once, where it happened),
its wall time and the errors measured.

Error measure, everywhere: rel(a, ref) = max|a - ref| / max(max|ref|, 1e-12) over all elements
(float64), after checking that the shapes are equal; a non-finite value where the reference is
finite makes it infinite. The tolerance is --tolerance (default 1e-4).

  inspect      `surgery inspect M` and `surgery inspect --json M` exit 0 and the JSON parses; its
               "nodes" and "ops" histogram equal python onnx's count of the file's top-level nodes,
               Constant nodes excepted (the reader makes them constant tensors, not nodes).
  run          `surgery run M --input STEM_input.npy --output run.npy`; rel(run, PyTorch) <= tol.
               For a `_dyn` variant (batch axis dynamic, traced at batch 2) the reference tensors
               are at batch 3: this is the dynamic-batch check.
  exact        `surgery lite M -o exact.onnx --preset exact --report exact.json` exits 0; the written
               model passes onnx.checker.check_model(full_check=True) (without full_check, and said
               so, when the model's opset is newer than the installed onnx knows); none of the exact
               clean-up's targets is left (see EXACT TARGETS); `surgery run exact.onnx` gives
               rel(exact, PyTorch) <= tol.
  lite         `surgery lite M -o lite.onnx --preset lite --report lite.json` exits 0; the written
               model passes the ONNX checker as above; none of the lite preset's targets is left
               (LITE TARGETS and EXACT TARGETS); `surgery run lite.onnx` runs. The lite model's
               deviation from the original model (rel(lite, run)) and from PyTorch is information:
               lite rules change the function on purpose.
  ort          ONNX Runtime (tests/tools/ort_run.mjs, 1 intra-op thread, default optimisations) on
               the original model: rel(surgery run, ORT) <= tol. ORT against PyTorch is recorded as
               information (a large value there points at the export, not at this library).
  ort_exact    ORT on exact.onnx: rel(surgery run exact.onnx, ORT) <= tol.
  ort_lite     ORT on lite.onnx: rel(surgery run lite.onnx, ORT) <= tol (the same lite model on both
               sides: lite changes the function, so PyTorch is no reference for it).

`_dyn` variants run inspect, run and ort only, unless --dynamic-steps all.

TARGETS LEFT. Which rules each preset has is read from `surgery lite --list-rules` (and the kernel
sizes from its descriptions, "k >= 7"); for every rule of the preset that this script has a check
for, the written model (python onnx, top-level graph: the zoo has no subgraphs) must hold nothing
that rule still matches. The checks mirror the rules' patterns and predicates
(include/surgery/rules/*.hpp, pattern/library.hpp), constants compared like the rules do (1e-6
relative, absolute at 0). A rule of a preset with no check is listed in the report.
Failures (structural: what a rule matches is visible in the graph alone):
  hardswish_to_relu     no HardSwish node, no Mul(x, HardSigmoid(x)) (HardSwish before opset 14).
  hardsigmoid_to_relu   no HardSigmoid node (also the gates of MobileNetV3's SE blocks), no relu6(x + 3) / 6.
  silu_to_relu          no Sigmoid whose output is an operand of a Mul whose other operand is the
                        Sigmoid's own input x (x * Sigmoid(x)), or x when the Sigmoid reads x * beta.
  gelu_to_relu          no Gelu node, no Erf node at all (GELU as PyTorch exports it before opset
                        20 is x * (erf(x / sqrt 2) + 1) * 0.5; Erf has no other role in the zoo;
                        the message says how many Erf are inside that exact form), no tanh form.
  relu6_to_relu         no Clip with max 6 and min 0 (or min <= 0 / absent after a Relu).
  mish/leaky_relu/prelu/elu_to_relu  no Mish, x * Tanh(Softplus(x)), LeakyRelu, PRelu, Elu/Celu/Selu.
  layernorm_to_batchnorm  no LayerNormalization over the last axis (one over several axes is
                        declined by the rule, so not counted), and no LayerNorm decomposed as
                        (x - ReduceMean(x)) / Sqrt(...) with one axis, the last or 1 (opsets < 17).
  remove_squeeze_excitation  no Mul(x, g) where g is computed (through any ops, at most 12 nodes
                        back along non-constant inputs, stopping at pooling nodes) from a
                        GlobalAveragePool (or a ReduceMean over axes 2 and 3) whose input is x
                        itself: an SE block whatever its gate became (an SE block whose Sigmoid a
                        later rule turned into ReLU still counts). LR-ASPP's branch
                        Mul(cbr(x), sigmoid(conv(pool(x)))) multiplies another value: no SE block.
  large_kernel_to_3x3   no Conv with constant weights (and bias), a square odd kernel k >= the
                        rule's minimum, dilations 1, no auto_pad and every pad k / 2.
  maxpool_to_3x3_stack  no MaxPool with a square odd kernel k >= 5, strides 1, dilations 1, no
                        auto_pad, every pad k / 2 and no used indices output.
  remove_identity, remove_dropout (inference, or ratio 0), remove_noop_transpose (identity perm),
  remove_noop_pad (all-zero pads): none left, except where removing it would rename a graph
                        output and the rule cannot re-make the producer (its pass_through).
  merge_transposes      no Transpose whose only consumer is a Transpose (input rank known).
  fold_batchnorm        no inference BatchNormalization (constant parameters, unused mean/var
                        outputs) whose input's only consumer it is and comes from a Conv,
                        ConvTranspose or Gemm with constant weights, or a MatMul by a constant.
  remove_dead_code      no node none of whose outputs is read or a graph output.
Warnings (whether the rule applies depends on shapes and element types the library must infer;
shapes here come from onnx shape inference with data propagation): fold_constants (a node whose
inputs are all constant, or Shape/Size of a static shape, outputs static and <= 2^20 elements),
remove_noop_reshape, remove_noop_cast, remove_neutral_arithmetic (x * 1, x / 1, x + 0, x - 0 with
exact constants, shape unchanged), merge_reshapes, fold_affine_into_conv.

Failure messages name the variant, the step, the command line to reproduce it and the tool's
stderr (trimmed). All temporary files are in --work DIR (WORK/STEM/); the written models are
deleted once a variant is done unless --keep (they are large).

  /usr/bin/python3 tests/models/zoo_check.py --surgery build/tools/surgery --zoo DIR --work WORK
      [--models a,b] [--opsets 13,17] [--json OUT.json] [--markdown OUT.md] [--tolerance 1e-4] [--no-ort]
      [--ort-dir DIR] [--node NODE] [--dynamic-steps run|all] [--timeout S] [--jobs N] [--keep]

Exit status: 0 every check passed, 1 a check failed, 2 usage or environment (no manifest, no
`surgery`, ONNX Runtime missing without --no-ort, no python onnx/numpy).
"""

import argparse
import collections
import concurrent.futures
import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
ORT_SCRIPT = REPO / "tests" / "tools" / "ort_run.mjs"

STEPS = ["inspect", "run", "exact", "lite", "ort", "ort_exact", "ort_lite"]
DYN_STEPS = ["inspect", "run", "ort"]
STDERR_LIMIT = 1500  # characters of a tool's stderr kept in a failure message

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as e:  # pragma: no cover
    print(f"zoo_check: error: {e}; run with Debian's /usr/bin/python3 (python3-numpy, python3-onnx)",
          file=sys.stderr)
    sys.exit(2)


# ----------------------------------------------------------------------------------------------
# Small helpers


def trim(text, limit=STDERR_LIMIT):
    text = (text or "").strip()
    if len(text) <= limit:
        return text
    head = text[: limit // 3]
    tail = text[-(limit - len(head)):]
    return f"{head}\n[... {len(text) - len(head) - len(tail)} characters cut ...]\n{tail}"


def rel_error(a, ref):
    """max|a - ref| / max(max|ref|, 1e-12), in float64; None and a reason when not comparable."""
    a = np.asarray(a)
    ref = np.asarray(ref)
    if a.shape != ref.shape:
        return None, f"shape {list(a.shape)} != reference shape {list(ref.shape)}"
    if a.size == 0:
        return 0.0, None
    a64 = a.astype(np.float64)
    r64 = ref.astype(np.float64)
    fin = np.isfinite(r64)
    bad = fin & ~np.isfinite(a64)
    if bad.any():
        return float("inf"), f"{int(bad.sum())} non-finite value(s) where the reference is finite"
    if not fin.all():
        return float("inf"), f"{int((~fin).sum())} non-finite value(s) in the reference"
    scale = max(float(np.max(np.abs(r64))), 1e-12)
    return float(np.max(np.abs(a64 - r64))) / scale, None


def fmt_err(x):
    if x is None:
        return "-"
    if x == float("inf"):
        return "inf"
    return f"{x:.2e}"


class Failure(Exception):
    """A failed check: the message, and the command with its stderr when a tool failed."""

    def __init__(self, message, cmd=None, stderr=None, rc=None):
        super().__init__(message)
        self.message, self.stderr, self.rc = message, stderr, rc
        self.cmd = [str(c) for c in cmd] if cmd else None


class _Skip(Exception):
    """Raised by a step that set its own status to skip."""


class Runner:
    """Runs commands with a timeout, logging each into the variant's work dir."""

    def __init__(self, timeout, log_path):
        self.timeout = timeout
        self.log_path = log_path

    def __call__(self, cmd, what, ok_codes=(0,)):
        cmd = [str(c) for c in cmd]
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=self.timeout, stdin=subprocess.DEVNULL)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            rc, out, err = None, e.stdout or b"", (e.stderr or b"") + f"\n[timeout after {self.timeout} s]".encode()
        except OSError as e:
            rc, out, err = None, b"", f"cannot start: {e}".encode()
        dt = time.perf_counter() - t0
        out = out.decode("utf-8", "replace")
        err = err.decode("utf-8", "replace")
        with open(self.log_path, "a") as f:
            f.write(f"$ {shlex.join(cmd)}\n# exit {rc}, {dt:.2f} s\n")
            if out:
                f.write("## stdout\n" + trim(out, 20000) + "\n")
            if err:
                f.write("## stderr\n" + trim(err, 20000) + "\n")
        if rc not in ok_codes:
            status = "timed out" if rc is None and "timeout" in err else f"exit {rc}"
            raise Failure(f"{what} failed ({status})", cmd=cmd, stderr=err or out, rc=rc)
        return out, err, dt


# ----------------------------------------------------------------------------------------------
# Graph checks (python onnx)


class GraphView:
    """Producers, consumers and constant values of a model's top-level graph."""

    def __init__(self, mp):
        self.mp = mp
        g = mp.graph
        self.nodes = list(g.node)
        self.opset = next((o.version for o in mp.opset_import if o.domain in ("", "ai.onnx")), None)
        self.outputs = {o.name for o in g.output}
        self.inits = {t.name: t for t in g.initializer}
        self.producer = {}
        self.consumers = collections.defaultdict(list)
        self.const_nodes = {}
        for n in self.nodes:
            for o in n.output:
                if o:
                    self.producer[o] = n
            for i in n.input:
                if i:
                    self.consumers[i].append(n)
            if n.op_type == "Constant" and n.output:
                self.const_nodes[n.output[0]] = n

        self._shapes = None
        self._consts = {}

    def hist(self):
        return dict(collections.Counter(n.op_type for n in self.nodes).most_common())

    def used(self, name):
        return bool(name) and (bool(self.consumers.get(name)) or name in self.outputs)

    def _infer(self):
        """Static shapes and element types from onnx shape inference (with data propagation)."""
        if self._shapes is None:
            self._shapes = {}
            try:
                g = onnx.shape_inference.infer_shapes(self.mp, strict_mode=False, data_prop=True).graph
                vis = list(g.input) + list(g.output) + list(g.value_info)
            except Exception:  # noqa: BLE001 (inference is best effort: unknown shapes skip checks)
                vis = list(self.mp.graph.input) + list(self.mp.graph.output) + list(self.mp.graph.value_info)
            for vi in vis:
                tt = vi.type.tensor_type
                dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim] if tt.HasField("shape") else None
                self._shapes[vi.name] = (tt.elem_type, None if dims is None or None in dims else dims)
            for t in self.mp.graph.initializer:
                self._shapes[t.name] = (t.data_type, list(t.dims))
        return self._shapes

    def shape(self, name):
        """The static shape of a value (list of ints), or None when not fully known."""
        return self._infer().get(name, (0, None))[1] if name else None

    def dtype(self, name):
        return self._infer().get(name, (0, None))[0] if name else 0

    def is_const(self, name):
        return name in self.inits or name in self.const_nodes

    def const(self, name):
        """The value of an initializer or a Constant node's output, else None."""
        if name not in self._consts:
            self._consts[name] = self._const(name)
        return self._consts[name]

    def _const(self, name):
        if name in self.inits:
            return numpy_helper.to_array(self.inits[name])
        n = self.const_nodes.get(name)
        if n is not None:
            for a in n.attribute:
                if a.name == "value":
                    return numpy_helper.to_array(a.t)
                if a.name == "value_float":
                    return np.array(a.f, dtype=np.float32)
                if a.name == "value_floats":
                    return np.array(list(a.floats), dtype=np.float32)
                if a.name == "value_int":
                    return np.array(a.i, dtype=np.int64)
                if a.name == "value_ints":
                    return np.array(list(a.ints), dtype=np.int64)
        return None

    @staticmethod
    def attr(n, name, default=None):
        for a in n.attribute:
            if a.name == name:
                return onnx.helper.get_attribute_value(a)
        return default

    def label(self, n):
        return f"{n.op_type} '{n.name or n.output[0]}'"

    def sole_consumer(self, value):
        """The only consumer of `value` when it has exactly one and is not a graph output."""
        cs = self.consumers.get(value, [])
        if len(cs) != 1 or value in self.outputs:
            return None
        return cs[0]

    def kernel(self, n):
        k = self.attr(n, "kernel_shape")
        if k:
            return list(k)
        if n.op_type == "Conv" and len(n.input) > 1:
            w = self.inits.get(n.input[1])
            if w is not None and len(w.dims) > 2:
                return list(w.dims[2:])
            c = self.const(n.input[1]) if n.input[1] in self.const_nodes else None
            if c is not None and c.ndim > 2:
                return list(c.shape[2:])
        return None


def same_pad_square(view, n, k, kmin):
    """k: square odd >= kmin, dilations 1, no auto_pad, every pad k // 2 (2-D)."""
    if not k or len(k) != 2 or k[0] != k[1] or k[0] < kmin or k[0] % 2 == 0:
        return False
    ap = view.attr(n, "auto_pad", b"NOTSET")
    if isinstance(ap, bytes):
        ap = ap.decode()
    if ap not in ("NOTSET", ""):
        return False
    if any(d != 1 for d in (view.attr(n, "dilations") or [])):
        return False
    pads = list(view.attr(n, "pads") or [])
    return len(pads) == 4 and all(p == k[0] // 2 for p in pads)


def scalar(view, name):
    v = view.const(name) if name else None
    if v is None or v.size != 1:
        return None
    return float(v.ravel()[0])


def close(a, b):
    return a is not None and abs(a - b) <= 1e-6 * max(1.0, abs(b))


def all_equal(view, name, value):
    v = view.const(name) if name else None
    return v is not None and v.size > 0 and bool(np.all(v.astype(np.float64) == value))


def other_operand(view, node, x):
    """For a binary node with x as one operand: the other operand, else None."""
    if len(node.input) != 2:
        return None
    a, b = node.input
    return b if a == x else a if b == x else None


def producer_is(view, value, *ops):
    p = view.producer.get(value)
    return p if p is not None and p.op_type in ops else None


def is_gelu_erf(view, erf):
    """erf inside x * (erf(x / sqrt2 | x * 1/sqrt2) + 1) * 0.5 in any association (gelu_to_relu)."""
    p = producer_is(view, erf.input[0], "Div", "Mul")
    if p is None:
        return False
    x = p.input[0] if not view.is_const(p.input[0]) else p.input[1]
    c = scalar(view, other_operand(view, p, x))
    if not (close(c, 1.4142135624) if p.op_type == "Div" else close(c, 0.7071067812)):
        return False
    seen, frontier = set(), [erf.output[0]]
    for _ in range(4):  # Add 1, then up to three Muls (x, 0.5, in any order)
        nxt = []
        for v in frontier:
            for c2 in view.consumers.get(v, []):
                if c2.op_type in ("Add", "Mul") and id(c2) not in seen:
                    seen.add(id(c2))
                    if c2.op_type == "Mul" and x in c2.input:
                        return True
                    nxt.append(c2.output[0])
        frontier = nxt
    return False


def se_blocks(view, max_depth=12):
    """Mul(x, g) with g computed from GlobalAveragePool(x) / ReduceMean(x, axes 2,3): SE blocks."""
    found = []
    pools = {"GlobalAveragePool", "ReduceMean", "AveragePool", "MaxPool", "GlobalMaxPool"}

    def squeezes(n):
        if n.op_type == "GlobalAveragePool":
            return True
        if n.op_type == "ReduceMean":
            axes = view.attr(n, "axes")
            if axes is None and len(n.input) > 1:
                c = view.const(n.input[1])
                axes = None if c is None else c.ravel().tolist()
            return axes is not None and sorted(int(a) % 4 for a in axes) == [2, 3]
        return False

    for mul in view.nodes:
        if mul.op_type != "Mul" or len(mul.input) != 2:
            continue
        for xi in (0, 1):
            x, g = mul.input[xi], mul.input[1 - xi]
            if view.is_const(g) or view.is_const(x):
                continue
            seen, frontier, hit = set(), [g], None
            for _ in range(max_depth):
                nxt = []
                for v in frontier:
                    p = view.producer.get(v)
                    if p is None or id(p) in seen:
                        continue
                    seen.add(id(p))
                    if p.op_type in pools:
                        if squeezes(p) and p.input[0] == x:
                            hit = p
                        continue
                    nxt.extend(i for i in p.input if i and not view.is_const(i))
                if hit or not nxt:
                    break
                frontier = nxt
            if hit:
                found.append(f"Mul '{mul.name or mul.output[0]}' * gate from {view.label(hit)}")
                break
    return found


def decomposed_layernorms(view):
    """(x - ReduceMean(x)) / Sqrt(ReduceMean((x - mean)^2) + eps): LayerNorm as exported before
    opset 17, over the last axis or axis 1 with keepdims (what layernorm_to_batchnorm takes)."""
    found = []
    for div in view.nodes:
        if div.op_type != "Div" or len(div.input) != 2:
            continue
        sub, sq = view.producer.get(div.input[0]), view.producer.get(div.input[1])
        if sub is None or sq is None or sub.op_type != "Sub" or sq.op_type != "Sqrt":
            continue
        rm = view.producer.get(sub.input[1])
        if rm is None or rm.op_type != "ReduceMean" or rm.input[0] != sub.input[0]:
            continue
        axes = view.attr(rm, "axes")
        if axes is None and len(rm.input) > 1:
            c = view.const(rm.input[1])
            axes = None if c is None else c.ravel().tolist()
        shape = view.shape(sub.input[0])
        if axes is None or len(axes) != 1 or view.attr(rm, "keepdims", 1) != 1:
            continue
        a = int(axes[0])
        if shape is not None:
            a %= len(shape)
            if a != len(shape) - 1 and a != 1:
                continue
        found.append(view.label(div))
    return found


def _names(nodes, view, limit=3):
    return ", ".join(view.label(n) for n in nodes[:limit])


# Each check: rule name -> function(view, params) returning a list of strings (what that rule would
# still match). They mirror the rules' patterns and predicates (include/surgery/rules/*.hpp); a rule
# of a preset without a check here is listed as unchecked in the report. Values compared with the
# rules' own tolerance (1e-6 relative, absolute near 0) where the rule compares to a number.

def chk_hardswish(view, p):
    out = [f"HardSwish {view.label(n)}" for n in view.nodes if n.op_type == "HardSwish"]
    for m in view.nodes:  # x * HardSigmoid(x), x * relu6(x + 3) / 6 written out
        if m.op_type == "Mul" and len(m.input) == 2:
            for xi in (0, 1):
                x, g = m.input[xi], m.input[1 - xi]
                hs = producer_is(view, g, "HardSigmoid")
                if hs is not None and hs.input[0] == x:
                    out.append(f"x*HardSigmoid(x) at {view.label(m)}")
    return out


def chk_hardswish_decomposed(view, p):
    return [s for s in chk_hardswish(view, p) if s.startswith("x*HardSigmoid")]


def chk_hardsigmoid(view, p):
    out = [f"HardSigmoid {view.label(n)}" for n in view.nodes if n.op_type == "HardSigmoid"]
    for d in view.nodes:  # relu6(x + 3) / 6
        if d.op_type == "Div" and len(d.input) == 2 and close(scalar(view, d.input[1]), 6.0):
            c = producer_is(view, d.input[0], "Clip")
            if c is not None and len(c.input) >= 3 and close(scalar(view, c.input[2]), 6.0):
                a = producer_is(view, c.input[0], "Add", "Relu")
                if a is not None:
                    out.append(f"relu6(x + 3) / 6 at {view.label(d)}")
    return out


def chk_silu(view, p):
    out = []
    for s in view.nodes:
        if s.op_type != "Sigmoid":
            continue
        x = s.input[0]
        beta = producer_is(view, x, "Mul")  # x * Sigmoid(x * beta)
        xs = {x}
        if beta is not None and len(beta.input) == 2:
            for i in (0, 1):
                if view.is_const(beta.input[1 - i]) and not view.is_const(beta.input[i]):
                    xs.add(beta.input[i])
        for m in view.consumers.get(s.output[0], []):
            if m.op_type == "Mul" and other_operand(view, m, s.output[0]) in xs:
                out.append(f"x*Sigmoid(x) at {view.label(m)}")
    return out


def chk_gelu(view, p):
    out = [f"Gelu {view.label(n)}" for n in view.nodes if n.op_type == "Gelu"]
    erfs = [n for n in view.nodes if n.op_type == "Erf"]
    if erfs:
        inside = [e for e in erfs if is_gelu_erf(view, e)]
        out.append(f"{len(erfs)} Erf ({len(inside)} inside the GELU erf form x * (erf(x / sqrt2) + 1) * 0.5), "
                   f"e.g. {_names(erfs, view, 1)}")
    for t in view.nodes:  # tanh form: Tanh((x + 0.044715 x^3) * sqrt(2/pi))
        if t.op_type == "Tanh":
            m = producer_is(view, t.input[0], "Mul")
            if m is not None and any(close(scalar(view, i), 0.7978845608) for i in m.input):
                out.append(f"GELU tanh form at {view.label(t)}")
    return out


def chk_relu6(view, p):
    out = []
    for n in view.nodes:
        if n.op_type != "Clip":
            continue
        if len(n.input) >= 2 or n.attribute:
            lo = scalar(view, n.input[1]) if len(n.input) > 1 and n.input[1] else view.attr(n, "min")
            hi = scalar(view, n.input[2]) if len(n.input) > 2 and n.input[2] else view.attr(n, "max")
        else:
            lo = hi = None
        if not close(hi, 6.0):
            continue
        if close(lo, 0.0) or (producer_is(view, n.input[0], "Relu") is not None and (lo is None or lo <= 0.0)):
            out.append(f"Clip(0, 6) {view.label(n)}")
    return out


def chk_ops(*ops):
    def chk(view, p):
        return [f"{n.op_type} {view.label(n)}" for n in view.nodes if n.op_type in ops]
    return chk


def chk_mish(view, p):
    out = chk_ops("Mish")(view, p)
    for t in view.nodes:
        if t.op_type == "Tanh" and producer_is(view, t.input[0], "Softplus") is not None:
            out.append(f"x*Tanh(Softplus(x)) at {view.label(t)}")
    return out


def chk_layernorm(view, p):
    out = []
    for n in view.nodes:
        if n.op_type != "LayerNormalization":
            continue
        shape = view.shape(n.input[0])
        axis = view.attr(n, "axis", -1)
        if shape is not None and axis % len(shape) != len(shape) - 1:
            continue  # over several axes: the rule declines
        out.append(f"LayerNormalization {view.label(n)}")
    out += [f"decomposed LayerNorm at {d}" for d in decomposed_layernorms(view)]
    return out


def chk_se(view, p):
    return [f"SE block: {s}" for s in se_blocks(view)]


def chk_large_kernel(view, p):
    kmin = p.get("large_kernel_min", 7)
    return [f"Conv {view.kernel(n)} {view.label(n)}" for n in view.nodes
            if n.op_type == "Conv" and len(n.input) > 1 and view.is_const(n.input[1])
            and (len(n.input) < 3 or not n.input[2] or view.is_const(n.input[2]))
            and same_pad_square(view, n, view.kernel(n), kmin)]


def chk_maxpool(view, p):
    kmin = p.get("maxpool_min", 5)
    out = []
    for n in view.nodes:
        if n.op_type != "MaxPool":
            continue
        k = view.attr(n, "kernel_shape")
        k = list(k) if k else None
        if (same_pad_square(view, n, k, kmin) and all(s == 1 for s in (view.attr(n, "strides") or []))
                and (len(n.output) < 2 or not view.used(n.output[1]))):
            out.append(f"MaxPool {k} stride 1 {view.label(n)}")
    return out


def passes_through(view, n):
    """What pass_through allows: an identity-like node removable without renaming an output."""
    y = n.output[0]
    if y not in view.outputs:
        return True
    x = n.input[0]
    return (x in view.producer and x not in view.outputs
            and all(c is n for c in view.consumers.get(x, [])))


def chk_identity(view, p):
    return [f"Identity {view.label(n)}" for n in view.nodes if n.op_type == "Identity" and passes_through(view, n)]


def chk_dropout(view, p):
    out = []
    for n in view.nodes:
        if n.op_type != "Dropout" or (len(n.output) > 1 and view.used(n.output[1])) or not passes_through(view, n):
            continue
        mode = n.input[2] if len(n.input) > 2 else ""
        ratio = n.input[1] if len(n.input) > 1 else ""
        if not mode or all_equal(view, mode, 0) or (ratio and all_equal(view, ratio, 0)):
            out.append(f"Dropout {view.label(n)}")
    return out


def chk_noop_transpose(view, p):
    return [f"Transpose {view.label(n)}" for n in view.nodes if n.op_type == "Transpose"
            and list(view.attr(n, "perm") or []) and list(view.attr(n, "perm")) == list(range(len(view.attr(n, "perm"))))
            and passes_through(view, n)]


def chk_noop_pad(view, p):
    return [f"Pad {view.label(n)}" for n in view.nodes if n.op_type == "Pad" and len(n.input) > 1
            and all_equal(view, n.input[1], 0) and passes_through(view, n)]


def chk_merge_transposes(view, p):
    out = []
    for n in view.nodes:
        if n.op_type == "Transpose" and view.shape(n.input[0]) is not None:
            c = view.sole_consumer(n.output[0])
            if c is not None and c.op_type == "Transpose":
                out.append(f"{view.label(n)} -> {view.label(c)}")
    return out


def chk_fold_batchnorm(view, p):
    out = []
    for bn in view.nodes:
        if bn.op_type != "BatchNormalization" or view.attr(bn, "training_mode", 0) != 0:
            continue
        if any(view.used(o) for o in bn.output[1:]) or not all(view.is_const(i) for i in bn.input[1:5]):
            continue
        lin = view.producer.get(bn.input[0])
        if lin is None or view.sole_consumer(bn.input[0]) is not bn:
            continue
        ok = (lin.op_type in ("Conv", "ConvTranspose", "Gemm") and len(lin.input) > 1 and view.is_const(lin.input[1])) or (
            lin.op_type == "MatMul" and (view.is_const(lin.input[0]) != view.is_const(lin.input[1])))
        if ok:
            out.append(f"{view.label(lin)} -> {view.label(bn)}")
    return out


def chk_dead_code(view, p):
    return [view.label(n) for n in view.nodes if n.output and not any(view.used(o) for o in n.output)]


# Checks that need shapes or element types the library must infer: a leftover is a warning (the
# library may simply not know the shape), not a failure.
def chk_fold_constants(view, p):
    out = []
    for n in view.nodes:
        if n.op_type in ("Constant", "Dropout") or n.domain not in ("", "ai.onnx"):
            continue
        shape_only = n.op_type in ("Shape", "Size")
        if not all((not i) or view.is_const(i) or (shape_only and view.shape(i) is not None) for i in n.input):
            continue
        if any(o in view.outputs for o in n.output) or not any(view.used(o) for o in n.output):
            continue
        shapes = [view.shape(o) for o in n.output if o]
        if any(s is None or int(np.prod(s)) > (1 << 20) for s in shapes):
            continue
        out.append(view.label(n))
    return out


def chk_noop_reshape(view, p):
    return [view.label(n) for n in view.nodes if n.op_type in ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Expand")
            and view.shape(n.input[0]) is not None and view.shape(n.input[0]) == view.shape(n.output[0]) and passes_through(view, n)]


def chk_noop_cast(view, p):
    return [view.label(n) for n in view.nodes if n.op_type in ("Cast", "CastLike")
            and view.dtype(n.input[0]) and view.dtype(n.input[0]) == view.dtype(n.output[0]) and passes_through(view, n)]


def chk_neutral(view, p):
    out = []
    for n in view.nodes:
        if n.op_type not in ("Mul", "Div", "Add", "Sub") or len(n.input) != 2:
            continue
        neutral = 1.0 if n.op_type in ("Mul", "Div") else 0.0
        idx = (0, 1) if n.op_type in ("Mul", "Add") else (1,)
        for i in idx:
            x = n.input[1 - i]
            if all_equal(view, n.input[i], neutral) and view.shape(x) is not None and view.shape(x) == view.shape(n.output[0]):
                out.append(view.label(n))
                break
    return out


def chk_merge_reshapes(view, p):
    R = ("Reshape", "Flatten", "Squeeze", "Unsqueeze")
    out = []
    for n in view.nodes:
        if n.op_type in R and view.shape(n.input[0]) is not None:
            c = view.sole_consumer(n.output[0])
            if c is not None and c.op_type in R and view.shape(c.output[0]) is not None:
                out.append(f"{view.label(n)} -> {view.label(c)}")
    return out


def chk_fold_affine(view, p):
    out = []
    for n in view.nodes:
        if n.op_type not in ("Mul", "Div", "Add", "Sub") or len(n.input) != 2:
            continue
        for i in ((0, 1) if n.op_type in ("Mul", "Add") else (1,)):
            conv = producer_is(view, n.input[1 - i], "Conv", "ConvTranspose")
            c = view.const(n.input[i])
            oshape = view.shape(n.output[0])
            if conv is None or c is None or oshape is None or len(oshape) < 2 or view.sole_consumer(conv.output[0]) is not n:
                continue
            if len(conv.input) < 2 or not view.is_const(conv.input[1]) or (len(conv.input) > 2 and conv.input[2] and not view.is_const(conv.input[2])):
                continue
            if view.shape(conv.output[0]) != oshape or c.ndim > len(oshape):
                continue
            lead = len(oshape) - c.ndim
            if all(d == 1 or (lead + k == 1 and d == oshape[1]) for k, d in enumerate(c.shape)) and c.size in (1, oshape[1]):
                out.append(f"{view.label(conv)} -> {view.label(n)}")
                break
    return out


RULE_CHECKS = {
    "hardswish_to_relu": chk_hardswish, "hardswish_decomposed_to_relu": chk_hardswish_decomposed,
    "hardsigmoid_to_relu": chk_hardsigmoid, "silu_to_relu": chk_silu,
    "gelu_to_relu": chk_gelu, "gelu_erf_to_relu": chk_gelu, "relu6_to_relu": chk_relu6,
    "mish_to_relu": chk_mish, "leaky_relu_to_relu": chk_ops("LeakyRelu"), "prelu_to_relu": chk_ops("PRelu"),
    "elu_to_relu": chk_ops("Elu", "Celu", "Selu"),
    "layernorm_to_batchnorm": chk_layernorm, "layernorm2d_to_batchnorm": chk_layernorm,
    "remove_squeeze_excitation": chk_se, "large_kernel_to_3x3": chk_large_kernel,
    "maxpool_to_3x3_stack": chk_maxpool, "remove_identity": chk_identity, "remove_dropout": chk_dropout,
    "remove_noop_transpose": chk_noop_transpose, "remove_noop_pad": chk_noop_pad,
    "merge_transposes": chk_merge_transposes, "fold_batchnorm": chk_fold_batchnorm,
    "remove_dead_code": chk_dead_code,
}
# Leftovers of these are warnings: whether they apply depends on shapes and types the library infers.
RULE_WARN_CHECKS = {
    "fold_constants": chk_fold_constants, "remove_noop_reshape": chk_noop_reshape, "remove_noop_cast": chk_noop_cast,
    "remove_neutral_arithmetic": chk_neutral, "merge_reshapes": chk_merge_reshapes, "fold_affine_into_conv": chk_fold_affine,
}
# Rules whose targets do not occur in the torchvision zoo and are not checked.
RULE_NOT_CHECKED = {"focus_to_conv": "YOLO Focus does not occur in the zoo"}


def check_targets(view, rules, params):
    """(failures, warnings, counts) for the rules of a preset, on a written model."""
    fails, warns, counts = [], [], {}
    for r in rules:
        for table, sink in ((RULE_CHECKS, fails), (RULE_WARN_CHECKS, warns)):
            if r in table:
                left = table[r](view, params)
                counts[r] = len(left)
                if left:
                    more = f"; ... {len(left) - 3} more" if len(left) > 3 else ""
                    sink.append(f"{r}: {len(left)} left ({'; '.join(left[:3])}{more})")
    return fails, warns, counts


def onnx_check(mp):
    """onnx.checker with full_check (strict shape inference) when the installed onnx knows the opset."""
    opset = next((o.version for o in mp.opset_import if o.domain in ("", "ai.onnx")), 0)
    full = opset <= onnx.defs.onnx_opset_version()
    try:
        onnx.checker.check_model(mp, full_check=full)
    except Exception as e:  # noqa: BLE001 (the checker raises several types)
        raise Failure(f"onnx.checker.check_model(full_check={full}) rejects the written model: "
                      f"{type(e).__name__}: {trim(str(e), 800)}")
    return "full_check" if full else f"basic (opset {opset} > onnx {onnx.__version__}'s {onnx.defs.onnx_opset_version()})"


# ----------------------------------------------------------------------------------------------
# One variant


class Variant:
    def __init__(self, stem, entry, zoo, work, args, env):
        self.stem, self.e, self.zoo, self.args, self.env = stem, entry, zoo, args, env
        self.dir = work / stem
        self.model = zoo / f"{stem}.onnx"
        self.x = zoo / f"{stem}_input.npy"
        self.y = zoo / f"{stem}_output.npy"
        self.dynamic = bool(entry.get("dynamic_batch"))
        self.steps = {}
        self.info = {"stem": stem, "name": entry.get("name"), "family": entry.get("family"),
                     "opset": entry.get("opset"), "dynamic_batch": self.dynamic,
                     "input_shape": entry.get("input_shape"), "output_shape": entry.get("output_shape")}

    # -- step bookkeeping
    def step(self, name, fn, needs=()):
        """Run one step. `needs`: files in the variant's dir that must exist (what earlier steps
        wrote), else the step is skipped. A Failure raised ends the step; soft failures (added with
        self.soft) let it go on; either makes it fail, with every failure listed."""
        missing = [n for n in needs if not (self.dir / n).is_file()]
        if missing:
            self.steps[name] = {"status": "skip", "reason": f"no {', '.join(missing)} (an earlier step failed)",
                                "time_s": 0.0}
            return
        rec = {"status": "pass", "time_s": None, "errors": {}, "notes": [], "commands": [], "failures": []}
        self.steps[name] = rec
        t0 = time.perf_counter()
        try:
            fn(rec)
        except Failure as f:
            self.soft(rec, f)
        except _Skip:
            pass
        except Exception as e:  # noqa: BLE001 (a bug in a check must not hide the others)
            self.soft(rec, Failure(f"internal error in the check: {type(e).__name__}: {e}"))
        rec["time_s"] = round(time.perf_counter() - t0, 3)
        if rec["failures"]:
            rec["status"] = "fail"
            rec["message"] = " | ".join(f["message"] for f in rec["failures"])

    @staticmethod
    def soft(rec, f):
        d = {"message": f.message}
        if f.cmd:
            d["command"] = shlex.join(f.cmd)
        if f.rc is not None:
            d["exit"] = f.rc
        if f.stderr:
            d["stderr"] = trim(f.stderr)
        rec["failures"].append(d)

    def run_cmd(self, rec, cmd, what):
        rec["commands"].append(shlex.join(str(c) for c in cmd))
        return self.runner(cmd, what)

    def compare(self, rec, key, got_path, ref, ref_what, cmd_for_msg=None, must=True):
        try:
            got = np.load(got_path)
        except Exception as e:  # noqa: BLE001
            raise Failure(f"cannot read {got_path}: {e}")
        err, why = rel_error(got, ref)
        rec["errors"][key] = err
        if must and (err is None or not err <= self.args.tolerance):
            detail = why or f"rel error {fmt_err(err)} > tolerance {self.args.tolerance:g}"
            raise Failure(f"{key}: output differs from {ref_what}: {detail}",
                          cmd=cmd_for_msg, stderr=None)
        return got

    def surgery_run(self, rec, model, out, what):
        cmd = [self.args.surgery, "run", model, "--input", self.x, "--output", out]
        self.run_cmd(rec, cmd, what)
        return cmd

    def ort_run(self, rec, model, out, what):
        cmd = [*self.env["ort_cmd"], model, "--input", self.x, "--outputs", out, "--threads", "1", "--quiet"]
        self.run_cmd(rec, cmd, what)
        return cmd

    def load_model(self, path, rec=None):
        t0 = time.perf_counter()
        mp = onnx.load(str(path))
        if rec is not None:
            rec.setdefault("onnx_load_s", 0.0)
            rec["onnx_load_s"] = round(rec["onnx_load_s"] + time.perf_counter() - t0, 3)
        return mp

    # -- the steps
    def s_inspect(self, rec):
        S = self.args.surgery
        # The file's own histogram first (python onnx), so that the report has it even when the tool fails.
        view = GraphView(self.load_model(self.model, rec))
        h = view.hist()
        self.info["nodes"] = len(view.nodes)
        self.info["ops"] = h
        del view
        self.run_cmd(rec, [S, "inspect", self.model], "surgery inspect")
        cmd = [S, "inspect", "--json", self.model]
        out, _, _ = self.run_cmd(rec, cmd, "surgery inspect --json")
        try:
            j = json.loads(out)
        except ValueError as e:
            raise Failure(f"surgery inspect --json printed invalid JSON: {e}", cmd=cmd, stderr=out[:800])
        # Constant nodes become constant tensors in the IR (they are not nodes there): not counted.
        want = {op: n for op, n in h.items() if op != "Constant"}
        nodes = sum(want.values())
        got = j.get("ops") if isinstance(j.get("ops"), dict) else {}
        if j.get("nodes") != nodes or got != want:
            diff = {op: (got.get(op), want.get(op)) for op in sorted(set(want) | set(got)) if got.get(op) != want.get(op)}
            raise Failure(f"surgery inspect --json: nodes {j.get('nodes')} and op histogram differ from "
                          f"the file's ({nodes} nodes besides Constant); (inspect, onnx) per op: {diff}", cmd=cmd)
        unknown = j.get("nodes_with_unknown_cost") or []
        if unknown:
            rec["notes"].append(f"inspect: {len(unknown)} node(s) of unknown cost (shapes not inferred by the library), so "
                                f"MACs {j.get('macs')} is a lower bound; e.g. {', '.join(map(str, unknown[:3]))}")
        self.info["macs"] = j.get("macs")
        self.info["parameters"] = j.get("parameters")

    def s_run(self, rec):
        out = self.dir / "run.npy"
        cmd = self.surgery_run(rec, self.model, out, "surgery run")
        self.compare(rec, "run_vs_torch", out, self.ref, "PyTorch's output", cmd)

    def s_rewrite(self, rec, preset):
        """surgery lite --preset PRESET, then the ONNX checker and the targets left (soft failures:
        the written model is still run and compared), then `surgery run` on it."""
        S = self.args.surgery
        path = self.dir / f"{preset}.onnx"
        report = self.dir / f"{preset}_report.json"
        cmd = [S, "lite", self.model, "-o", path, "--preset", preset, "--report", report]
        self.run_cmd(rec, cmd, f"surgery lite --preset {preset}")
        try:
            rep = json.loads(report.read_text())
        except (OSError, ValueError) as e:
            raise Failure(f"the --report JSON is unreadable: {e}", cmd=cmd)
        rec["ops_before"] = rep.get("ops_before")
        rec["ops_after"] = rep.get("ops_after")
        rec["rules"] = {r["name"]: r.get("replaced") for r in rep.get("rules", []) if r.get("replaced")}
        rec["converged"] = rep.get("converged")
        if rep.get("converged") is False:
            rec["notes"].append("the rule list did not converge within --max-iterations")
        mp = self.load_model(path, rec)
        view = GraphView(mp)
        rec["nodes_after"] = len(view.nodes)
        if rec["ops_after"] is not None and rec["ops_after"] != view.hist():
            rec["notes"].append(f"the report's ops_after differs from the written file's histogram {view.hist()}")
        try:
            rec["checker"] = onnx_check(mp)
        except Failure as f:
            f.cmd = cmd
            self.soft(rec, f)
        rules = self.env["presets"].get(preset, [])
        left, warn, counts = check_targets(view, rules, self.env["rule_params"])
        rec["targets_left"] = counts
        rec["notes"].extend(f"exact clean-up missed (shape-dependent, warning): {w}" for w in warn)
        if left:
            rec["left"] = left
            self.soft(rec, Failure(f"the {preset} model still has what the {preset} preset targets: " + " | ".join(left),
                                   cmd=cmd))
        del mp, view
        out = self.dir / f"{preset}_run.npy"
        return self.surgery_run(rec, path, out, f"surgery run ({preset} model)"), out

    def s_exact(self, rec):
        cmd, out = self.s_rewrite(rec, "exact")
        self.compare(rec, "exact_vs_torch", out, self.ref, "PyTorch's output", cmd)

    def s_lite(self, rec):
        _, out = self.s_rewrite(rec, "lite")
        lite = np.load(out)
        run = self.dir / "run.npy"
        if run.is_file():
            err, why = rel_error(lite, np.load(run))
            rec["errors"]["lite_vs_original"] = err
            if why:
                raise Failure(f"the lite model's output is not comparable with the original's: {why}")
        err, _ = rel_error(lite, self.ref)
        rec["errors"]["lite_vs_torch"] = err

    def s_ort(self, rec, which):
        model = {"ort": self.model, "ort_exact": self.dir / "exact.onnx", "ort_lite": self.dir / "lite.onnx"}[which]
        mine = {"ort": "run.npy", "ort_exact": "exact_run.npy", "ort_lite": "lite_run.npy"}[which]
        out = self.dir / f"{which}.npy"
        cmd = self.ort_run(rec, model, out, f"ONNX Runtime ({which})")
        ort_out = np.load(out)
        if which == "ort":
            err, why = rel_error(ort_out, self.ref)
            rec["errors"]["ort_vs_torch"] = err
            if why or not err <= self.args.tolerance:
                rec["notes"].append(f"ONNX Runtime vs PyTorch: {why or fmt_err(err)} (information)")
        mine_path = self.dir / mine
        if not mine_path.is_file():
            raise Failure(f"no surgery output {mine_path} to compare with (surgery run failed)")
        surgery_out = np.load(mine_path)
        err, why = rel_error(surgery_out, ort_out)
        rec["errors"][f"surgery_vs_{which}"] = err
        if why or not err <= self.args.tolerance:
            raise Failure(f"surgery run and ONNX Runtime disagree on {model.name}: "
                          f"{why or f'rel error {fmt_err(err)} > tolerance {self.args.tolerance:g}'}",
                          cmd=cmd)

    def run(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.runner = Runner(self.args.timeout, self.dir / "commands.log")
        t0 = time.perf_counter()
        if self.e.get("status") == "failed" or not self.model.is_file():
            msg = f"export failed or files missing: {self.e.get('error') or self.model}"
            self.steps["export"] = {"status": "fail", "time_s": 0.0, "message": msg, "failures": [{"message": msg}]}
            self.info.update(steps=self.steps, total_s=0.0)
            return self.info
        self.ref = np.load(self.y)
        steps = DYN_STEPS if self.dynamic and self.args.dynamic_steps == "run" else STEPS
        self.step("inspect", self.s_inspect)
        self.step("run", self.s_run)
        if "exact" in steps:
            self.step("exact", self.s_exact)
        if "lite" in steps:
            self.step("lite", self.s_lite)
        if not self.args.no_ort:
            # ORT on the original also runs when `surgery run` failed, to record ORT vs PyTorch;
            # the step is then a skip (the failure is the run step's).
            if (self.dir / "run.npy").is_file():
                self.step("ort", lambda r: self.s_ort(r, "ort"))
            else:
                self.step("ort", self.s_ort_info)
            # exact/lite models that were written and run are compared with ORT even when a check
            # of theirs failed (targets left, checker): the comparison is independent.
            if "exact" in steps:
                self.step("ort_exact", lambda r: self.s_ort(r, "ort_exact"), needs=("exact.onnx", "exact_run.npy"))
            if "lite" in steps:
                self.step("ort_lite", lambda r: self.s_ort(r, "ort_lite"), needs=("lite.onnx", "lite_run.npy"))
        self.info["steps"] = self.steps
        self.info["total_s"] = round(time.perf_counter() - t0, 3)
        if not self.args.keep:
            for f in ("exact.onnx", "lite.onnx"):
                (self.dir / f).unlink(missing_ok=True)
        return self.info

    def s_ort_info(self, rec):
        """ORT on the original when `surgery run` failed: ORT vs PyTorch only, the step is a skip."""
        out = self.dir / "ort.npy"
        try:
            self.ort_run(rec, self.model, out, "ONNX Runtime (ort)")
            err, why = rel_error(np.load(out), self.ref)
            rec["errors"]["ort_vs_torch"] = err
            rec["notes"].append(f"ONNX Runtime vs PyTorch: {why or fmt_err(err)}")
        except Failure as f:
            rec["notes"].append(f"ONNX Runtime failed too: {trim(f.stderr, 300)}")
        rec["status"] = "skip"
        rec["reason"] = "needs run (ORT vs PyTorch recorded)"
        raise _Skip()


# ----------------------------------------------------------------------------------------------
# Environment, reporting


def git(*a):
    try:
        return subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"host": platform.node(), "system": f"{platform.system()} {platform.release()} {platform.machine()}",
            "cpu": cpu, "cores": os.cpu_count(), "memory": mem,
            "python": platform.python_version(), "numpy": np.__version__, "onnx": onnx.__version__}


def list_rules(surgery):
    """`surgery lite --list-rules`: the rules of each preset (in order) and the rules' parameters
    read from their descriptions (the kernel sizes of large_kernel_to_3x3 and maxpool_to_3x3_stack)."""
    import re
    p = subprocess.run([str(surgery), "lite", "--list-rules"], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"`{surgery} lite --list-rules` failed (exit {p.returncode}): {trim(p.stderr, 400)}")
    presets, params, kinds = collections.defaultdict(list), {}, {}
    for line in p.stdout.splitlines():
        m = re.match(r"^\s+(\S+)\s+(exact|approximate)\s+\[([^\]]*)\]\s+(.*)$", line)
        if not m:
            continue
        name, kind, ps, desc = m.groups()
        kinds[name] = kind
        for q in ps.split(","):
            if q.strip():
                presets[q.strip()].append(name)
        k = re.search(r"k >= (\d+)", desc)
        if k and name == "large_kernel_to_3x3":
            params["large_kernel_min"] = int(k.group(1))
        if k and name == "maxpool_to_3x3_stack":
            params["maxpool_min"] = int(k.group(1))
    if not presets.get("exact") or not presets.get("lite"):
        raise RuntimeError(f"`{surgery} lite --list-rules` lists no rules of the presets exact and lite:\n{trim(p.stdout, 600)}")
    return dict(presets), params, kinds


def probe_ort(args):
    node = args.node or shutil.which("node") or shutil.which("nodejs")
    hint = ("install it with `scripts/deps.sh ort` (npm onnxruntime-node into .deps/ort), or run without "
            "the ONNX Runtime oracle: --no-ort here, -DSURGERY_ZOO_WITHOUT_ORT=ON for the CTest entry")
    if not node:
        return None, f"node (Node.js) not found: {hint}"
    cmd = [node, str(ORT_SCRIPT)]
    if args.ort_dir:
        cmd += ["--ort-dir", str(args.ort_dir)]
    try:
        p = subprocess.run(cmd + ["--version"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"cannot run {shlex.join(cmd)}: {e}; {hint}"
    if p.returncode != 0:
        return None, (f"ONNX Runtime is not available ({shlex.join(cmd + ['--version'])} exit {p.returncode}: "
                      f"{trim(p.stderr or p.stdout, 400)}); {hint}")
    return cmd, p.stdout.strip()


def step_cell(s, keys=()):
    if s is None:
        return "-"
    st = s["status"]
    if st == "skip":
        return "skip"
    errs = [fmt_err(s.get("errors", {}).get(k)) for k in keys if k in s.get("errors", {})]
    txt = "PASS" if st == "pass" else "**FAIL**"
    if errs:
        txt += " " + "/".join(errs)
    return txt


def markdown(results, meta):
    L = []
    w = L.append
    w("# The torchvision zoo through the `surgery` tool\n")
    w("Generated by `scripts/zoo_sweep.sh` (tests/models/zoo_check.py on tests/models/export_zoo.py's "
      "exports). Every variant: `surgery inspect`, `surgery run` against PyTorch, `surgery lite --preset "
      "exact` and `--preset lite` (ONNX checker, targets left, run), and ONNX Runtime on the original, "
      "exact and lite models against `surgery run` on the same model. Relative error: "
      "max|a - ref| / max|ref|; tolerance " f"{meta['tolerance']:g}.\n")
    m = meta["machine"]
    w(f"- date: {meta['date']}")
    w(f"- machine: {m['host']}, {m['system']}, {m['cpu']}, {m['cores']} cores, {m['memory']}; "
      f"load average at start {meta['loadavg_start']}, at end {meta.get('loadavg_end')}")
    w(f"- commit: {meta['commit']}" + (f" (plus uncommitted changes in {meta['dirty']} tracked files: the "
      "tool was built from the working tree)" if meta['dirty'] else ""))
    w(f"- surgery: `{meta['surgery_version']}`; ONNX Runtime: {meta['ort']}; python {m['python']}, "
      f"numpy {m['numpy']}, onnx {m['onnx']}; exports: torch {meta.get('torch', '?')}")
    w(f"- command: `{meta['command']}`")
    w(f"- wall time: {meta['wall_s'] / 60:.1f} min of checks for {len(results)} variants"
      + (f", after {meta['export_s'] / 60:.1f} min of exports (cached ones are skipped)" if meta.get("export_s") is not None else "")
      + "\n")

    w("Reproduce: `scripts/zoo_sweep.sh` (everything; exports cached in build/zoo-full), or one variant: "
      "`/usr/bin/python3 tests/models/zoo_check.py --surgery build/tools/surgery --zoo build/zoo-full "
      "--work /tmp/zc --models STEM`. The CI subset is the CTest entry `zoo` (`ctest -L zoo`).\n")
    w("Steps (details in the docstring of tests/models/zoo_check.py):\n")
    w("- **inspect**: `surgery inspect` and `inspect --json` exit 0, the JSON parses, its node count and "
      "op histogram equal python onnx's (Constant nodes aside: the reader makes them constants).")
    w("- **run**: `surgery run` on the exported input equals PyTorch's output (for `_dyn` variants: at "
      "batch 3, the graph traced at batch 2).")
    w("- **exact**: `surgery lite --preset exact` succeeds; the model passes `onnx.checker` (full_check); "
      "nothing the preset's rules match is left (structural checks fail, shape-dependent ones warn); its "
      "output equals PyTorch's.")
    w("- **lite**: `surgery lite --preset lite` succeeds; the model passes `onnx.checker`; nothing the "
      "preset's rules match is left: HardSwish, HardSigmoid, Gelu, any Erf (the GELU erf form), x*Sigmoid(x), "
      "Clip(0,6), LayerNormalization and decomposed LayerNorm, Squeeze-and-Excitation blocks (a Mul of x by "
      "a gate computed from GlobalAveragePool(x), whatever the gate became), large 'same' kernels, and the "
      "exact targets; it runs. Its deviation from the original is shown, not checked.")
    pr = meta.get("presets", {})
    if pr:
        w("- rules checked (from `surgery lite --list-rules`): exact preset " + ", ".join(pr.get("exact", []))
          + "; lite preset " + ", ".join(pr.get("lite", [])) + f"; parameters {meta.get('rule_params')}"
          + ("; not checked: " + ", ".join(f"{k} ({v})" for k, v in meta["unchecked_rules"].items())
             if meta.get("unchecked_rules") else "") + ".")
    w("- **ORT orig / exact / lite**: ONNX Runtime (1 thread) on that model equals `surgery run` on the "
      "same model.\n")

    fails = [(r, n, s) for r in results for n, s in r["steps"].items() if s["status"] == "fail"]
    nvar_fail = len({r["stem"] for r, _, _ in fails})
    counts = collections.Counter(s["status"] for r in results for s in r["steps"].values())
    w(f"**{len(results) - nvar_fail} of {len(results)} variants pass every check**; steps: "
      f"{counts.get('pass', 0)} pass, {counts.get('fail', 0)} fail, {counts.get('skip', 0)} skipped "
      "(skipped: a step they need failed).\n")
    per_step = collections.Counter(n for _, n, _ in fails)
    if per_step:
        w("Failures per step: " + ", ".join(f"{n} {c}" for n, c in sorted(per_step.items())) + ".\n")

    w("## Results\n")
    w("Cells: PASS/FAIL and the relative errors. run: surgery vs PyTorch. exact: exact model vs PyTorch. "
      "lite: the lite model's deviation from the original (information, not checked). ORT: surgery "
      "vs ONNX Runtime on the same model (original / exact / lite). Times are wall seconds of the "
      "step (inspect, run, exact = rewrite + checks + run, lite likewise, ORT = its three runs).\n")
    w("| variant | opset | nodes | inspect | run | exact | lite (dev. from original) | ORT orig | ORT exact | ORT lite | nodes exact / lite | time s (insp/run/exact/lite/ORT) |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        s = r["steps"]
        if "export" in s:
            w(f"| {r['stem']} | {r.get('opset')} | - | export **FAIL** | | | | | | | | |")
            continue

        def t(*names):
            v = [s[n]["time_s"] for n in names if n in s and s[n].get("time_s") is not None]
            return f"{sum(v):.1f}" if v else "-"

        ne = s.get("exact", {}).get("nodes_after", "-")
        nl = s.get("lite", {}).get("nodes_after", "-")
        w(f"| {r['stem']}{' (batch 3)' if r['dynamic_batch'] else ''} | {r.get('opset')} | {r.get('nodes', '-')} | "
          f"{step_cell(s.get('inspect'))} | {step_cell(s.get('run'), ('run_vs_torch',))} | "
          f"{step_cell(s.get('exact'), ('exact_vs_torch',))} | {step_cell(s.get('lite'), ('lite_vs_original',))} | "
          f"{step_cell(s.get('ort'), ('surgery_vs_ort',))} | {step_cell(s.get('ort_exact'), ('surgery_vs_ort_exact',))} | "
          f"{step_cell(s.get('ort_lite'), ('surgery_vs_ort_lite',))} | {ne} / {nl} | "
          f"{t('inspect')}/{t('run')}/{t('exact')}/{t('lite')}/{t('ort', 'ort_exact', 'ort_lite')} |")

    if fails:
        causes = collections.defaultdict(list)
        for r, n, s in fails:
            for f in s.get("failures") or [{"message": s.get("message", "")}]:
                causes[failure_cause(n, f)].append((r, n, f))
        w("\n## Failures by cause\n")
        w("The same failure in several steps of one variant (e.g. an op the reader does not know fails "
          "inspect, run, exact and lite) is listed once per step.\n")
        w("| cause | failures | variants (step) |")
        w("|---|---|---|")
        for cause, items in sorted(causes.items(), key=lambda kv: -len(kv[1])):
            vs = collections.OrderedDict()
            for r, n, f in items:
                vs.setdefault(r["stem"], []).append(n)
            txt = ", ".join(f"{stem} ({'/'.join(st)})" for stem, st in vs.items())
            w(f"| {md_escape(cause)} | {len(items)} | {txt} |")
        w("\n## Failures\n")
        w("Grouped by step; each with the message, the command that reproduces it (paths are those of "
          "the sweep's work directory) and the tool's stderr, trimmed.\n")
        for step in STEPS + ["export"]:
            group = [(r, s) for r, n, s in fails if n == step]
            if not group:
                continue
            w(f"### {step} ({len(group)})\n")
            for r, s in group:
                for f in s.get("failures") or [{"message": s.get("message", "")}]:
                    w(f"- **{r['stem']}** (opset {r.get('opset')}): {md_escape(f['message'].strip())}")
                    if f.get("command"):
                        w(f"  - command: `{f['command']}`" + (f" (exit {f['exit']})" if f.get("exit") is not None else ""))
                    if f.get("stderr"):
                        err = " ".join(f["stderr"].split())
                        w(f"  - stderr: `{err[:700].replace('`', chr(39))}`")
            w("")

    w("\n## Lite: op counts before and after\n")
    w("Ops whose count changed (before -> after), from the `--report` of `surgery lite --preset lite`; "
      "rules that replaced something; warnings.\n")
    w("| variant | nodes | changed ops | rules applied | warnings |")
    w("|---|---|---|---|---|")
    for r in results:
        ls = r["steps"].get("lite")
        if not ls or ls["status"] == "skip" or not ls.get("ops_before"):
            continue
        b, a = ls.get("ops_before") or {}, ls.get("ops_after") or {}
        ch = ", ".join(f"{op} {b.get(op, 0)}->{a.get(op, 0)}" for op in sorted(set(a) | set(b))
                       if b.get(op, 0) != a.get(op, 0))
        rules = ", ".join(f"{k} {v}" for k, v in (ls.get("rules") or {}).items())
        warns = f"{len(ls.get('notes', []))} (below)" if ls.get("notes") else ""
        w(f"| {r['stem']} | {r.get('nodes', '-')} -> {ls.get('nodes_after', '-')} | {ch} | {rules} | {warns} |")

    other = [(r, n, x) for r in results for n, s in r["steps"].items() for x in s.get("notes", [])
             if "ONNX Runtime" not in x]
    if other:
        w("\n## Warnings and notes\n")
        w("Not failures: shapes the library did not infer (inspect's MACs, shape-dependent clean-ups it "
          "could not apply), rules that did not converge.\n")
        for r, n, x in other:
            w(f"- {r['stem']} [{n}]: {md_escape(x)}")
    notes = [(r, n, x) for r in results for n, s in r["steps"].items() for x in s.get("notes", [])
             if "ONNX Runtime" in x]
    if notes:
        w("\n## ONNX Runtime against PyTorch (information)\n")
        for r, n, x in notes:
            w(f"- {r['stem']}: {x}")
    return "\n".join(L) + "\n"


def print_row(r, tol):
    s = r["steps"]
    parts = []
    for n in STEPS + ["export"]:
        if n in s:
            st = s[n]
            e = ", ".join(f"{k} {fmt_err(v)}" for k, v in st.get("errors", {}).items())
            parts.append(f"{n} {st['status'].upper()} {st.get('time_s', 0):.1f}s" + (f" ({e})" if e else ""))
    print(f"{r['stem']}: " + "; ".join(parts) + f"  [{r.get('total_s', 0):.1f} s]", flush=True)
    for n, st in s.items():
        if st["status"] == "fail":
            print(failure_text(r, n, st), file=sys.stderr, flush=True)


def failure_text(r, n, st):
    out = []
    for f in st.get("failures") or [{"message": st.get("message")}]:
        msg = f"FAIL {r['stem']} [{n}]: {f['message']}"
        if f.get("command"):
            msg += f"\n  command: {f['command']}"
        if f.get("exit") is not None:
            msg += f"\n  exit: {f['exit']}"
        if f.get("stderr"):
            msg += "\n  stderr: " + f["stderr"].replace("\n", "\n          ")
        out.append(msg)
    return "\n".join(out)


def failure_cause(step, f):
    """A short key grouping failures with one cause: the tool's error with names and numbers taken
    out, or the kind of check that failed."""
    import re
    err = f.get("stderr") or ""
    lines = [ln for ln in err.splitlines() if "error:" in ln] or err.splitlines()
    tool = lines[-1].split("error:", 1)[-1].strip() if lines else ""
    msg = f["message"]
    m = re.search(r"op '([^']+)'(?: \(domain '[^']*'\))? is not supported", tool)
    if m:
        return f"op {m.group(1)} not supported (executor/reader)"
    if tool:
        t = re.sub(r"'[^']*'", "'…'", tool)
        t = re.sub(r"\[[-0-9, ?a-z_]*\]", "[…]", t)
        t = re.sub(r"\b\d+(\.\d+)?(e[-+]?\d+)?\b", "N", t)
        return f"{step}: {t[:200]}"
    if "still has what" in msg:
        rules = sorted(set(re.findall(r"([a-z_0-9]+): \d+ left", msg)))
        return f"{step}: targets left: {', '.join(rules)}"
    if "onnx.checker" in msg:
        return f"{step}: ONNX checker rejects the written model: " + re.sub(r"'[^']*'", "'…'", msg.split(": ", 2)[-1])[:160]
    if "disagree" in msg:
        return f"{step}: surgery run vs ONNX Runtime differ"
    if "differs from PyTorch" in msg:
        return f"{step}: output differs from PyTorch" + (" (shape)" if "shape" in msg else "")
    return f"{step}: {re.sub(r'[0-9.e+-]{3,}', 'N', msg)[:160]}"


def md_escape(text):
    return text.replace("|", "\\|").replace("\n", " ")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--surgery", required=True, type=Path, help="the surgery executable")
    ap.add_argument("--zoo", type=Path, help="export directory holding manifest.json")
    ap.add_argument("--manifest", type=Path, help="a manifest.json (its directory holds the files)")
    ap.add_argument("--models", help="comma-separated variants (STEM) or model names (all their variants)")
    ap.add_argument("--stems", help="comma-separated variants (STEM) only: a model name selects its default-opset variant")
    ap.add_argument("--opsets", help="only the variants exported at these opsets (comma-separated)")
    ap.add_argument("--export-seconds", type=float, help="the export's wall time, for the report (zoo_sweep.sh)")
    ap.add_argument("--work", required=True, type=Path, help="directory for all temporary files (created)")
    ap.add_argument("--json", type=Path, help="write all results as JSON")
    ap.add_argument("--markdown", type=Path, help="write a Markdown report (docs/zoo.md)")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="relative tolerance (default 1e-4)")
    ap.add_argument("--no-ort", action="store_true", help="skip the ONNX Runtime checks (said in the output)")
    ap.add_argument("--ort-dir", type=Path, help="onnxruntime-node location (ort_run.mjs --ort-dir)")
    ap.add_argument("--node", help="Node.js executable (default: node on PATH)")
    ap.add_argument("--dynamic-steps", choices=("run", "all"), default="run",
                    help="steps for _dyn variants: inspect, run and ort (run, the default) or all")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per command (default 3600)")
    ap.add_argument("--jobs", type=int, default=1, help="variants checked in parallel (default 1)")
    ap.add_argument("--keep", action="store_true", help="keep the written exact/lite models")
    args = ap.parse_args()

    if bool(args.zoo) == bool(args.manifest):
        ap.error("give exactly one of --zoo DIR and --manifest FILE")
    # ONNX Runtime first: when it is missing the run fails at once, before anything else.
    env = {}
    if args.no_ort:
        ort_desc = "not used (--no-ort): the ORT checks were skipped"
        print("zoo_check: ONNX Runtime checks skipped (--no-ort)", file=sys.stderr)
    else:
        cmd, desc = probe_ort(args)
        if cmd is None:
            print(f"zoo_check: error: {desc}", file=sys.stderr)
            return 2
        env["ort_cmd"] = cmd
        ort_desc = desc
    manifest_path = args.manifest or args.zoo / "manifest.json"
    zoo = manifest_path.parent
    try:
        manifest = json.loads(manifest_path.read_text())
        entries = manifest["models"]
    except (OSError, ValueError, KeyError) as e:
        print(f"zoo_check: error: cannot read the manifest {manifest_path}: {e}", file=sys.stderr)
        return 2
    surgery = args.surgery.resolve()
    if not (surgery.is_file() and os.access(surgery, os.X_OK)):
        print(f"zoo_check: error: --surgery {args.surgery} is not an executable file", file=sys.stderr)
        return 2
    args.surgery = surgery
    stems = sorted(entries)
    if args.models:
        want = [m.strip() for m in args.models.split(",") if m.strip()]
        unknown = [m for m in want if m not in entries and not any(e.get("name") == m for e in entries.values())]
        if unknown:
            print(f"zoo_check: error: not in {manifest_path}: {', '.join(unknown)}", file=sys.stderr)
            return 2
        stems = [s for s in stems if s in want or entries[s].get("name") in want]
    if args.stems:
        want = [m.strip() for m in args.stems.split(",") if m.strip()]
        unknown = [m for m in want if m not in entries]
        if unknown:
            print(f"zoo_check: error: not in {manifest_path}: {', '.join(unknown)}", file=sys.stderr)
            return 2
        stems = [s for s in stems if s in want]
    if args.opsets:
        try:
            keep = {int(o) for o in args.opsets.split(",") if o.strip()}
        except ValueError:
            ap.error("--opsets takes comma-separated integers")
        stems = [s for s in stems if entries[s].get("opset") in keep]
    if not stems:
        print(f"zoo_check: error: no variants selected in {manifest_path}", file=sys.stderr)
        return 2

    try:
        env["presets"], env["rule_params"], kinds = list_rules(surgery)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print(f"zoo_check: error: {e}", file=sys.stderr)
        return 2
    checked = set(RULE_CHECKS) | set(RULE_WARN_CHECKS)
    unchecked = sorted({r for q in ("exact", "lite") for r in env["presets"].get(q, []) if r not in checked})
    args.work.mkdir(parents=True, exist_ok=True)
    work = args.work.resolve()

    ver = subprocess.run([str(surgery), "--version"], capture_output=True, text=True).stdout.strip()
    meta = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "machine": machine(), "commit": git("log", "-1", "--format=%H %s"), "dirty": len(git("status", "--porcelain", "-uno").splitlines()),
            "surgery": str(surgery), "surgery_version": ver, "ort": ort_desc, "tolerance": args.tolerance,
            "zoo": str(zoo), "torch": manifest.get("torch_version"),
            "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "loadavg_start": round(os.getloadavg()[0], 2), "export_s": args.export_seconds,
            "presets": {q: env["presets"].get(q, []) for q in ("exact", "lite")}, "rule_params": env["rule_params"],
            "unchecked_rules": {r: RULE_NOT_CHECKED.get(r, "no check written for it") for r in unchecked}}
    print(f"zoo_check: {len(stems)} variant(s) from {manifest_path}; surgery {surgery} ({ver}); "
          f"ONNX Runtime: {ort_desc}; work {work}", flush=True)

    t0 = time.perf_counter()
    results = {}
    lock = threading.Lock()

    def one(stem):
        r = Variant(stem, entries[stem], zoo, work, args, env).run()
        with lock:
            print_row(r, args.tolerance)
        return stem, r

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        for stem, r in ex.map(one, stems):
            results[stem] = r
    meta["wall_s"] = round(time.perf_counter() - t0, 1)
    meta["loadavg_end"] = round(os.getloadavg()[0], 2)
    rows = [results[s] for s in stems]

    fails = [(r, n, s) for r in rows for n, s in r["steps"].items() if s["status"] == "fail"]
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"meta": meta, "results": rows}, indent=1, default=str) + "\n")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(rows, meta))
    print(f"zoo_check: {len(rows)} variant(s) in {meta['wall_s']:.1f} s; "
          f"{len({r['stem'] for r, _, _ in fails})} with failures, {len(fails)} failed step(s)"
          + ("" if not args.no_ort else "; ONNX Runtime checks skipped (--no-ort)"), flush=True)
    if fails:
        print("\nzoo_check: failures:", file=sys.stderr)
        for r, n, s in fails:
            print(failure_text(r, n, s), file=sys.stderr)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
