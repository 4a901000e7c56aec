#!/usr/bin/python3
"""Turn the benchmark JSON files into the Markdown tables of docs/benchmarks.md and the search plot.

  bench/report.py --search search.json [--rewrite rewrite.json] [--onnx onnx.json] [--plot docs/benchmarks_search.svg]

Figures are CPU time (the machine is shared: wall time includes waiting for a core), the median of
the repetitions when the JSON has aggregates. Ratios compare figures from the same JSON file.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SIZES = [1000, 10000, 100000, 1000000]


def load(path):
    """{run_name: entry}, preferring the median aggregate; plus the file's context."""
    data = json.loads(Path(path).read_text())
    runs = {}
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            continue
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                runs[b["run_name"]] = b
        else:
            runs.setdefault(b["run_name"], b)
    return runs, data.get("context", {})


def ns_per_node(runs, family, n):
    b = runs.get(f"{family}/{n}")
    return b["ns_per_node"] * 1e9 if b else None


def cpu_us(b):
    scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b["time_unit"]]
    return b["cpu_time"] * scale


def fmt(x, digits=2):
    if x is None:
        return "–"
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def size_label(n):
    return {1000: "1e3", 10000: "1e4", 100000: "1e5", 1000000: "1e6"}.get(n, str(n))


def search_tables(runs):
    out = []
    out.append("### Chain search, ns per node (CPU time, flow index warm)\n")
    cols = [(f"count/{v}/k{k}", f"{k} ops {v}") for k in (1, 3, 6) for v in ("ct", "rt")]
    rows = []
    for n in SIZES:
        nodes = runs.get(f"count/ct/k1/{n}", {}).get("nodes")
        rows.append([size_label(n) + (f" ({int(nodes):,})" if nodes else "")] + [fmt(ns_per_node(runs, f, n)) for f, _ in cols])
    rows.append(["**1e6 / 1e3**"] + [fmt(ratio(ns_per_node(runs, f, 1000000), ns_per_node(runs, f, 1000))) + "x" for f, _ in cols])
    rows.append(["**1e6 / 1e5**"] + [fmt(ratio(ns_per_node(runs, f, 1000000), ns_per_node(runs, f, 100000))) + "x" for f, _ in cols])
    out.append(table(["nodes"] + [c for _, c in cols], rows))
    out.append("\n`ct` = compile-time `pattern::chain<...>`, `rt` = `pattern::runtime_chain` from text; "
               "search = `search::count_chains` (no match objects).\n")
    out.append("### Scaling check: one graph searched again and again vs many distinct graphs of the same size (3-op chain, ns per node)\n")
    rows = []
    for n in SIZES:
        cells = [size_label(n)]
        for fam in ("count/ct/k3", "previous/ct/k3", "naive_flow/k3"):
            cells += [fmt(ns_per_node(runs, fam, n)), fmt(ns_per_node(runs, "distinct/" + fam, n))]
        rows.append(cells)
    out.append(table(["nodes", "ours, same graph", "ours, distinct graphs", "previous scan, same", "previous scan, distinct",
                      "naive (flow), same", "naive (flow), distinct"], rows))
    out.append("\nDistinct: each iteration searches the next of 1e5/n different graphs (other seeds), so neither the "
               "branch predictor nor the caches have seen it just before; from 1e5 nodes up one graph is already too big for that.\n")

    out.append("### Materialised matches (`search::find_chains`), ns per node\n")
    cols = [(f"find/{v}/k{k}", f"{k} ops {v}") for k in (1, 3, 6) for v in ("ct", "rt")]
    rows = [[size_label(n)] + [fmt(ns_per_node(runs, f, n)) for f, _ in cols] for n in SIZES]
    out.append(table(["nodes"] + [c for _, c in cols], rows))
    out.append("")

    out.append("### Speed-up of the library's search (compile-time chain, count) over the baselines\n")
    out.append("Each cell: baseline time / library time, same graph, same pattern, same run.\n")
    for k in (1, 3, 6):
        rows = []
        for n in SIZES:
            ours = ns_per_node(runs, f"count/ct/k{k}", n)
            cells = [size_label(n), fmt(ours)]
            for fam in (f"vf2/k{k}", f"naive_graph/k{k}", f"naive_flow/k{k}", f"boost_adapter/ct/k{k}"):
                r = ratio(ns_per_node(runs, fam, n), ours)
                cells.append(fmt(r) + "x" if r is not None else ("not run (capped)" if fam.startswith("vf2") else "–"))
            m_ours = runs.get(f"count/ct/k{k}/{n}", {}).get("matches")
            vf2 = runs.get(f"vf2/k{k}/{n}", {})
            m_vf2, raw = vf2.get("matches"), vf2.get("vf2_mappings")
            cells.append(f"{int(m_ours):,} / {int(m_vf2):,} / {int(raw):,}" if None not in (m_ours, m_vf2, raw) else
                         (f"{int(m_ours):,} / – / –" if m_ours is not None else "–"))
            rows.append(cells)
        out.append(f"**{k}-op chain**\n")
        out.append(table(["nodes", "ours ns/node", "VF2 / ours", "naive (graph) / ours", "naive (flow arrays) / ours",
                          "ours on Boost.Graph adapter / ours", "matches: ours / VF2 filtered / VF2 raw mappings"], rows))
        out.append("")

    out.append("### The searcher's previous scan (bench/scan_previous.hpp, before commit 4c8c297): previous time / current time\n")
    rows = [[size_label(n)] + [fmt(ratio(ns_per_node(runs, f"previous/ct/k{k}", n), ns_per_node(runs, f"count/ct/k{k}", n))) + "x"
                               for k in (1, 3, 6)] + [fmt(ns_per_node(runs, "previous/ct/k3", n))] for n in SIZES]
    out.append(table(["nodes", "1 op", "3 ops", "6 ops", "previous scan, 3 ops, ns/node"], rows))
    out.append("")

    out.append("### Worst case for the naive window: a path of Relu nodes, pattern Relu x (k-1) -> Sigmoid, ns per node\n")
    rows = []
    for n in SIZES:
        cells = [size_label(n)]
        for k in (6, 16):
            ours = ns_per_node(runs, f"worst/count/ct/k{k}", n)
            cells += [fmt(ours), fmt(ratio(ns_per_node(runs, f"worst/previous/ct/k{k}", n), ours)) + "x",
                      fmt(ratio(ns_per_node(runs, f"worst/naive_flow/k{k}", n), ours)) + "x",
                      fmt(ratio(ns_per_node(runs, f"worst/naive_graph/k{k}", n), ours)) + "x"]
        rows.append(cells)
    out.append(table(["nodes", "k=6 ours", "k=6 previous scan / ours", "k=6 naive (flow) / ours", "k=6 naive (graph) / ours",
                      "k=16 ours", "k=16 previous scan / ours", "k=16 naive (flow) / ours", "k=16 naive (graph) / ours"], rows))
    out.append("")

    out.append("### DAG patterns (`search::find_dags`), flow index build, floor\n")
    rows = []
    for n in SIZES:
        chain = ns_per_node(runs, "count/ct/k3", n)
        silu = ns_per_node(runs, "dag/silu", n)
        se = ns_per_node(runs, "dag/squeeze_excitation", n)
        flow = ns_per_node(runs, "flow_build", n)
        floor = ns_per_node(runs, "floor_kinds", n)
        build = ns_per_node(runs, "build_synthetic", n)
        m_silu = runs.get(f"dag/silu/{n}", {}).get("matches")
        m_se = runs.get(f"dag/squeeze_excitation/{n}", {}).get("matches")
        rows.append([size_label(n), fmt(silu), fmt(ratio(silu, chain)) + "x", fmt(se), fmt(ratio(se, chain)) + "x",
                     f"{int(m_silu or 0):,} / {int(m_se or 0):,}", fmt(flow), fmt(ratio(flow, chain)) + "x", fmt(floor, 3), fmt(build)])
    out.append(table(["nodes", "SiLU ns/node", "SiLU / chain-3", "SE ns/node", "SE / chain-3", "matches SiLU / SE",
                      "flow index build ns/node", "build / chain-3 search", "floor ns/node", "graph generation ns/node"], rows))
    out.append("")
    return "\n".join(out)


def plot(runs, svg):
    if not shutil.which("gnuplot"):
        print(f"report.py: gnuplot not found, {svg} not written", file=sys.stderr)
        return
    series = [("count/ct/k3", "ours, compile-time chain"), ("count/rt/k3", "ours, runtime chain"),
              ("previous/ct/k3", "ours before commit 4c8c297"),
              ("find/ct/k3", "ours, find_chains (matches built)"), ("naive_flow/k3", "naive window, flow arrays"),
              ("naive_graph/k3", "naive window, graph walk"), ("boost_adapter/ct/k3", "ours via Boost.Graph adapter"),
              ("vf2/k3", "Boost VF2 subgraph_mono"), ("dag/squeeze_excitation", "ours, DAG: SE block")]
    with tempfile.TemporaryDirectory() as tmp:
        plots = []
        for i, (fam, title) in enumerate(series):
            pts = [(n, ns_per_node(runs, fam, n)) for n in SIZES]
            pts = [(n, v) for n, v in pts if v is not None]
            if not pts:
                continue
            dat = Path(tmp) / f"s{i}.dat"
            dat.write_text("".join(f"{n} {v}\n" for n, v in pts))
            colours = ["#d62728", "#ff9896", "#2ca02c", "#9467bd", "#1f77b4", "#aec7e8", "#8c564b", "#000000", "#e377c2"]
            plots.append(f"'{dat}' using 1:2 with linespoints lw 2 lc rgb '{colours[i % len(colours)]}' pt {i + 4} ps 0.9 title '{title}'")
        last_vf2 = max((n for n in SIZES if ns_per_node(runs, "vf2/k3", n) is not None), default=None)
        vf2_note = (f"set label 'VF2 capped at {size_label(last_vf2)} nodes' at {last_vf2 * 1.3},{ns_per_node(runs, 'vf2/k3', last_vf2)} "
                    "textcolor rgb '#000000'") if last_vf2 and last_vf2 < SIZES[-1] else ""
        script = f"""
set terminal svg size 820,460 dynamic noenhanced font 'sans,11' background rgb 'white'
set output '{svg}'
set logscale xy
set xlabel 'nodes in the graph'
set ylabel 'ns per node (CPU time, lower is better)'
set title '3-op chain Conv -> BatchNormalization -> Relu on synthetic CNN-like graphs'
set key outside right center width -6
set grid
set xtics ('1e3' 1000, '1e4' 10000, '1e5' 100000, '1e6' 1000000)
set xrange [700:1400000]
set yrange [0.5:300000]
set arrow from 700,2 to 1400000,2 nohead dt 2 lw 1.5 lc rgb '#555555'
set label 'target: 2 ns/node at 1e6' at 1100,2.6 textcolor rgb '#555555'
{vf2_note}
plot {', '.join(plots)}
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print(f"report.py: wrote {svg}", file=sys.stderr)


def rewrite_tables(runs, onnx_runs):
    out = []
    if runs:
        copy = runs.get("copy_graph")
        rows = []
        for name, what in (("apply_mobilenet_v3_lite", "paper's MobileNetV3 dictionary (mobilenet_v3_lite)"),
                           ("apply_lite", "full lite rule set (rules::lite(), incl. exact clean-up)"),
                           ("apply_lite_noverify", "full lite, verify = false"),
                           ("apply_exact", "exact clean-up alone (BN folding, ...)"),
                           ("copy_graph", "reference: one graph copy"), ("infer_shapes", "part: shape inference"),
                           ("verify", "part: ir::verify"), ("search_lite", "part: searches of one pass of rules::lite()"),
                           ("make_lite_dictionary", "building rules::lite()"), ("build_mobilenet", "building the network (builder)")):
            b = runs.get(name)
            if not b:
                continue
            rows.append([what, fmt(cpu_us(b)), fmt(ratio(cpu_us(b), cpu_us(copy))) + "x" if copy else "–",
                         f"{int(b['nodes_before'])} -> {int(b['nodes_after'])}" if "nodes_before" in b else ""])
        out.append("### Rewriting MobileNetV3-Large built in the IR (`zoo::mobilenet_v3_large`)\n")
        out.append(table(["what", "CPU µs", "in graph copies", "nodes"], rows))
        out.append("")
    if onnx_runs:
        models = []
        for k in onnx_runs:
            m = k.split("/")[1]
            if m not in models:
                models.append(m)
        steps = ["load", "parse_convert", "convert", "copy", "apply_mobilenet_v3_lite", "apply_lite", "serialize", "save", "load_apply_save"]
        rows = []
        for m in models:
            cells = [m]
            for st in steps:
                b = onnx_runs.get(f"onnx/{m}/{st}")
                cells.append(fmt(cpu_us(b) / 1000, 3) if b else "–")
            lite, load_b = onnx_runs.get(f"onnx/{m}/apply_lite"), onnx_runs.get(f"onnx/{m}/load")
            cells.append(fmt(ratio(cpu_us(lite), cpu_us(load_b)), 3) + "x" if lite and load_b else "–")
            cells.append(f"{int(lite['nodes_before'])} -> {int(lite['nodes_after'])} ({int(lite['replaced'])} replaced)"
                         if lite and "nodes_before" in lite else "")
            rows.append(cells)
        out.append("### Real networks from ONNX (ms CPU time)\n")
        out.append(table(["model"] + steps + ["apply_lite / load", "nodes (full lite)"], rows))
        out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--search", type=Path)
    ap.add_argument("--rewrite", type=Path)
    ap.add_argument("--onnx", type=Path)
    ap.add_argument("--plot", type=Path)
    args = ap.parse_args()
    if args.search:
        runs, ctx = load(args.search)
        print(f"<!-- {args.search.name}: {ctx.get('date')}, load average {ctx.get('load_avg')} -->\n")
        print(search_tables(runs))
        if args.plot:
            plot(runs, args.plot)
    rw = load(args.rewrite)[0] if args.rewrite else {}
    ox = load(args.onnx)[0] if args.onnx else {}
    if rw or ox:
        print(rewrite_tables(rw, ox))
    return 0


if __name__ == "__main__":
    sys.exit(main())
