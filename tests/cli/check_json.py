"""Checks for the CLI tests that need to parse what `surgery` wrote (standard library only, except `npy`).

  check_json.py lite-report REPORT.json [EXPECT ...]   the lite --report: structure, then each EXPECT:
        replaced:RULE=N   rule RULE replaced N matches      gone:OP      no OP left in ops_after
        matched:RULE      rule RULE matched at least once   kept:OP      OP still in ops_after
        check:TOL         the --check max_rel is <= TOL
        evaluation        the --evaluate figures: top-1 differences equal the discordant pairs
        validation:N      the calibration's held-out check ran on N images
  check_json.py inspect EXE MODEL NODES            `surgery inspect --json`: structure and node count
  check_json.py compare EXE A B                    `surgery compare --json`: structure, max_rel == 0
  check_json.py run EXE MODEL INPUT                `surgery run --json`: structure
  check_json.py dot BEFORE.dot AFTER.dot           removed nodes filled in before, created nodes in after
  check_json.py npy OURS.npy REFERENCE.npy TOL     numpy reads our .npy; max relative error <= TOL
Exit status 0 when every check holds, 1 otherwise (with the reason on stderr).
"""
import json
import subprocess
import sys


def fail(msg):
    sys.stderr.write("check_json: " + msg + "\n")
    sys.exit(1)


def need(cond, msg):
    if not cond:
        fail(msg)


def run_json(args):
    p = subprocess.run(args, capture_output=True, text=True)
    need(p.returncode == 0, f"{args} exited with {p.returncode}: {p.stderr.strip()}")
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError as e:
        fail(f"{args} printed invalid JSON ({e}):\n{p.stdout}")


def lite_report(path, expects):
    with open(path) as f:
        r = json.load(f)
    for key, typ in (("input", str), ("output", str), ("dictionary", str), ("onnx_check", str), ("rules", list), ("ops_before", dict),
                     ("ops_after", dict), ("nodes_before", int), ("nodes_after", int), ("nodes_removed", int),
                     ("nodes_created", int), ("converged", bool), ("iterations", int), ("seconds", (int, float))):
        need(key in r, f"report has no '{key}'")
        need(isinstance(r[key], typ), f"report '{key}' is {type(r[key]).__name__}")
    need(r["converged"], "the rewrite did not converge")
    need(sum(r["ops_before"].values()) == r["nodes_before"], "ops_before does not add up to nodes_before")
    need(sum(r["ops_after"].values()) == r["nodes_after"], "ops_after does not add up to nodes_after")
    rules = {}
    for rule in r["rules"]:
        for key in ("name", "kind", "pattern", "matches", "replaced"):
            need(key in rule, f"rule entry without '{key}': {rule}")
        need(rule["kind"] in ("exact", "approximate"), f"rule kind {rule['kind']}")
        need(rule["replaced"] <= rule["matches"], f"rule {rule['name']} replaced more than it matched")
        rules[rule["name"]] = rule
    for e in expects:
        what, _, arg = e.partition(":")
        if what == "replaced":
            name, _, n = arg.rpartition("=")
            need(name in rules, f"no rule '{name}' in the report")
            need(rules[name]["replaced"] == int(n), f"rule '{name}' replaced {rules[name]['replaced']}, expected {n}")
        elif what == "matched":
            need(arg in rules and rules[arg]["matches"] > 0, f"rule '{arg}' did not match")
        elif what == "gone":
            need(arg not in r["ops_after"], f"{r['ops_after'].get(arg)} {arg} left after the rewrite")
        elif what == "kept":
            need(arg in r["ops_after"], f"no {arg} left after the rewrite")
        elif what == "check":
            need("check" in r, "no 'check' in the report")
            need(r["check"]["max_rel"] is not None and r["check"]["max_rel"] <= float(arg),
                 f"check max_rel {r['check']['max_rel']} > {arg}")
        elif what == "evaluation":
            need("evaluation" in r, "no 'evaluation' in the report")
            ev = r["evaluation"]
            n = ev["images"]
            pairs = [("lite_vs_input", "top1_input", "top1_lite")]
            if "top1_calibrated" in ev:
                pairs += [("calibrated_vs_input", "top1_input", "top1_calibrated"), ("calibrated_vs_lite", "top1_lite", "top1_calibrated")]
            for key, a, b in pairs:
                need(key in ev, f"no evaluation.{key}")
                c = ev[key]
                need(0 <= c["agreement"] <= 1 and 0 < c["p_value"] <= 1, f"evaluation.{key} out of range: {c}")
                need(c["gained"] + c["lost"] <= n - round(c["agreement"] * n), f"evaluation.{key}: more discordant pairs than disagreements: {c}")
                need(round((ev[b] - ev[a]) * n) == c["gained"] - c["lost"], f"evaluation.{key}: {b} - {a} is not (gained - lost) / images: {ev}")
        elif what == "validation":
            need("calibration" in r and "validation" in r["calibration"], "no 'calibration.validation' in the report")
            v = r["calibration"]["validation"]
            need(v["images"] == int(arg), f"validation on {v['images']} images, expected {arg}")
            need(v["deviation_before"] >= 0 and v["deviation_after"] >= 0, f"bad validation deviations: {v}")
            need(r["calibration"]["reverted"] == ("revert_reason" in r["calibration"]), "revert_reason present iff reverted")
            if not r["calibration"]["reverted"]:
                need(v["deviation_after"] <= v["deviation_before"], f"kept corrections that are worse on the held-out images: {v}")
            c = r["calibration"]
            need(isinstance(c.get("refits_underdetermined"), int) and c["refits_underdetermined"] >= 0, f"bad refits_underdetermined: {c}")
            if "lstsq_dropped" in c:
                need("lstsq" in c["methods"] and c["refitted"] == 0, f"refits dropped but lstsq not asked for or refits kept: {c}")
                need(all(l["method"] != "lstsq" for l in c["layers"]), "a layer refitted although the refits were dropped")
        else:
            fail(f"unknown expectation '{e}'")


def main(argv):
    if len(argv) < 2:
        fail(__doc__)
    cmd = argv[1]
    if cmd == "lite-report":
        lite_report(argv[2], argv[3:])
    elif cmd == "inspect":
        r = run_json([argv[2], "inspect", "--json", "--nodes", argv[3]])
        need(r["nodes"] == int(argv[4]), f"nodes {r['nodes']}, expected {argv[4]}")
        need(sum(r["ops"].values()) == r["nodes"], "the op histogram does not add up")
        need(len(r["node_list"]) == r["nodes"], "node_list has the wrong length")
        need(r["macs"] == sum(r["macs_by_op"].values()), "macs_by_op does not add up")
        need(r["macs"] > 0 and r["parameters"] > 0, "no MACs or parameters")
        need(all(isinstance(d, int) for v in r["inputs"] for d in v["shape"]), "input shape not integers")
    elif cmd == "compare":
        r = run_json([argv[2], "compare", "--json", argv[3], argv[4]])
        need(len(r["outputs"]) >= 1, "no outputs")
        need(r["max_rel"] == 0, f"max_rel {r['max_rel']} is not 0")
    elif cmd == "run":
        r = run_json([argv[2], "run", "--json", "--repeat", "2", argv[3], "--input", argv[4]])
        need(r["repeat"] == 2 and r["median_ms"] > 0 and r["min_ms"] <= r["median_ms"], "bad timing fields")
        need(len(r["outputs"]) >= 1 and "summary" in r["outputs"][0], "bad outputs")
    elif cmd == "dot":
        before, after = open(argv[2]).read(), open(argv[3]).read()
        need(before.startswith("digraph G {") and after.startswith("digraph G {"), "not Graphviz digraphs")
        need("fillcolor=\"lightsalmon\"" in before, "no removed node filled in before.dot")
        need("fillcolor=\"palegreen\"" in after, "no created node filled in after.dot")
        need("->" in before and "->" in after, "no edges")
    elif cmd == "npy":
        import numpy as np
        ours, ref, tol = np.load(argv[2]), np.load(argv[3]), float(argv[4])
        need(ours.shape == ref.shape and ours.dtype == ref.dtype, f"{ours.shape} {ours.dtype} vs {ref.shape} {ref.dtype}")
        rel = float(np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-30))
        need(rel <= tol, f"max relative error {rel} > {tol}")
    else:
        fail(f"unknown check '{cmd}'")


if __name__ == "__main__":
    main(sys.argv)
