#!/usr/bin/env bash
# Compile time of translation units using the library, g++ -O2 -std=c++20, median of N runs, each
# also as a ratio to a baseline TU that includes only the standard headers the library uses.
# Then where the time goes: g++ -ftime-report phases and, when clang++ is installed, clang's
# -ftime-trace summarised (headers parsed, templates instantiated).
#
#   bench/compile_time.sh [--runs N] [--cxx g++] [--out DIR]      (run from anywhere)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
runs=3
cxx="${CXX:-g++}"
out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --cxx) cxx="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "compile_time.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
work="${out:-$(mktemp -d)}"
mkdir -p "$work"
eigen_inc="$(pkg-config --cflags-only-I eigen3 2>/dev/null || echo -I/usr/include/eigen3)"
flags=(-O2 -std=c++20 -I"$root/include" $eigen_inc)

# ---- the translation units --------------------------------------------------------------------
cat > "$work/baseline.cpp" <<'EOF'
// The standard headers the core library includes, and nothing else.
#include <algorithm>
#include <array>
#include <cmath>
#include <compare>
#include <concepts>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <ranges>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>
int main() { return 0; }
EOF
cat > "$work/ir_only.cpp" <<'EOF'
#include <surgery/ir.hpp>
int main() { return 0; }
EOF
cat > "$work/search_headers.cpp" <<'EOF'
#include <surgery/pattern.hpp>
#include <surgery/search.hpp>
int main() { return 0; }
EOF
cat > "$work/umbrella.cpp" <<'EOF'
#include <surgery/surgery.hpp>
int main() { return 0; }
EOF
cat > "$work/search_only.cpp" <<'EOF'
// A user of the searcher alone: one compile-time chain searched on an ir::Graph.
#include <surgery/pattern.hpp>
#include <surgery/search.hpp>
namespace P = surgery::pattern;
namespace O = surgery::ir::ops;
int main() {
    surgery::ir::Graph g;
    using conv_bn_relu = P::chain<P::op<O::Conv>, P::op<O::BatchNormalization>, P::op<O::Relu>>;
    return static_cast<int>(surgery::search::find_chains(g, conv_bn_relu{}).size());
}
EOF
cat > "$work/apply_empty.cpp" <<'EOF'
// The dictionary driver with no rule: rewrite::apply (copy, shape inference, verify, report) instantiated.
#include <surgery/surgery.hpp>
int main() {
    surgery::ir::Graph g;
    surgery::rewrite::dictionary d("empty", {});
    return static_cast<int>(surgery::rewrite::apply(g, d).total_replaced());
}
EOF
cat > "$work/one_rule.cpp" <<'EOF'
// One rule applied: HardSwish -> ReLU.
#include <surgery/surgery.hpp>
int main() {
    surgery::ir::Graph g;
    surgery::rewrite::dictionary d("one", {surgery::rules::hardswish_to_relu()});
    return static_cast<int>(surgery::rewrite::apply(g, d).total_replaced());
}
EOF
cat > "$work/lite.cpp" <<'EOF'
// The full lite dictionary, rules::lite(): every lite rule, then the exact clean-up (BN folding, ...).
#include <surgery/surgery.hpp>
int main() {
    surgery::ir::Graph g;
    return static_cast<int>(surgery::rewrite::apply(g, surgery::rules::lite()).total_replaced());
}
EOF

# ---- timing -----------------------------------------------------------------------------------
# Prints "<wall seconds> <user+sys CPU seconds>" for one compile.
compile_once() {
  local src="$1" t0 t1 c0 c1
  c0="$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)"
  t0="$(date +%s.%N)"
  "$cxx" "${flags[@]}" -c "$src" -o "$work/tmp.o"
  t1="$(date +%s.%N)"
  c1="$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)"
  awk -v a="$t0" -v b="$t1" -v c="$c0" -v d="$c1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f %.3f\n", b - a, (d - c) / hz }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "compiler: $("$cxx" --version | head -1)"
echo "flags:    ${flags[*]}"
echo "runs:     $runs (median); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| translation unit | wall (s) | CPU (s) | CPU / baseline |"
echo "|---|---:|---:|---:|"
base_cpu=""
for tu in baseline ir_only search_headers umbrella search_only apply_empty one_rule lite; do
  : > "$work/$tu.times"
  for ((i = 0; i < runs; ++i)); do compile_once "$work/$tu.cpp" >> "$work/$tu.times"; done
  wall="$(cut -d' ' -f1 "$work/$tu.times" | median)"
  cpu="$(cut -d' ' -f2 "$work/$tu.times" | median)"
  [[ -z "$base_cpu" ]] && base_cpu="$cpu"
  ratio="$(awk -v a="$cpu" -v b="$base_cpu" 'BEGIN { printf "%.1fx", (b > 0 ? a / b : 0) }')"
  echo "| $tu | $wall | $cpu | $ratio |"
done

# ---- where the time goes ----------------------------------------------------------------------
echo
echo "g++ -ftime-report, lite.cpp: phases, then the top passes, CPU seconds (usr+sys)"
"$cxx" "${flags[@]}" -ftime-report -c "$work/lite.cpp" -o "$work/tmp.o" 2> "$work/lite.ftime-report" || true
report_lines() { # $1: awk regex selecting the lines
  awk -F: -v re="$1" '$0 ~ re && /: +[0-9.]+ \(/ {
      name = $1; sub(/^ +/, "", name); sub(/ +$/, "", name)
      split($2, f, /[ ()%]+/); printf "%8.2f  %s\n", f[2] + f[4], name }' "$work/lite.ftime-report" | sort -rn
}
report_lines '^ phase '
echo "  ---"
report_lines '^ [a-z]' | grep -v ' phase \|TOTAL' | head -8
grep -E "^ TOTAL" "$work/lite.ftime-report" || true

# Code generation dominates: which code is generated (object size by area, a proxy for its cost).
echo
echo "lite.o: machine code by area (bytes; where 'opt and generate' time goes)"
nm -S -C "$work/tmp.o" | python3 -c '
import collections, sys
areas = [("shape inference", ("infer_",)), ("search (find_chains/find_dags/matchers)", ("search::", "dag_matcher", "pattern::")),
         ("replacer + dictionary driver", ("rewrite::",)), ("rules (generators, tables)", ("rules::",)),
         ("ir::Graph / Builder / verify", ("ir::Graph", "ir::Builder", "ir::verify", "ir::Tensor")),
         ("std::variant visitors (ir::Op)", ("std::variant", "__do_visit", "__gen_vtable")),
         ("std::function type erasure", ("_Function_handler", "_Function_base"))]
size = collections.Counter()
total = 0
for line in sys.stdin:
    p = line.split(None, 3)
    if len(p) < 4 or p[2].lower() not in "tw":
        continue
    s, name = int(p[1], 16), p[3]
    total += s
    size[next((a for a, keys in areas if any(k in name for k in keys)), "other (std containers, strings, ...)")] += s
for a, s in size.most_common():
    print(f"  {s:8d}  {100 * s / max(total, 1):4.1f}%  {a}")
print(f"  {total:8d}  total text")
'

if command -v clang++ > /dev/null 2>&1; then
  echo
  echo "clang++ -ftime-trace, lite.cpp (-O2): summary"
  if clang++ "${flags[@]}" -ftime-trace -ftime-trace-granularity=200 -c "$work/lite.cpp" -o "$work/lite_clang.o" 2> "$work/clang.err"; then
    python3 - "$work/lite_clang.json" <<'EOF'
import collections, json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
tot = {e["name"][6:]: e["dur"] / 1e6 for e in ev if e.get("name", "").startswith("Total ")}
print("  phases (s): " + ", ".join(f"{k} {tot[k]:.2f}" for k in
      ("ExecuteCompiler", "Frontend", "Backend", "Source", "ParseClass", "InstantiateClass", "InstantiateFunction",
       "PerformPendingInstantiations", "CodeGen Function", "OptModule") if k in tot))
def top(kind, n, label, key=lambda d: d):
    agg = collections.Counter()
    for e in ev:
        if e.get("name") == kind and e.get("ph") == "X":
            agg[key(e.get("args", {}).get("detail", "?"))] += e["dur"] / 1e6
    print(f"  {label}:")
    for d, s in agg.most_common(n):
        print(f"    {s:6.2f} s  {d[:140]}")
# Source events nest (a header's time includes the headers it includes): show top-level-ish ones.
top("Source", 10, "headers parsed (inclusive time)", key=lambda d: d.replace("/usr/include/", "").replace("/include/surgery/", " surgery/"))
top("InstantiateFunction", 10, "function templates instantiated", key=lambda d: d.split("<")[0])
top("InstantiateClass", 8, "class templates instantiated", key=lambda d: d.split("<")[0])
EOF
  else
    echo "  (skipped: clang++ could not compile it with this standard library; first error:"
    echo "   $(grep -m1 'error:' "$work/clang.err"))"
  fi
fi
[[ -z "$out" ]] && rm -rf "$work"
exit 0
