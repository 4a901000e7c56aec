// Fuzz target: rule and chain-pattern text (as given to the CLI) -> parse -> search and rewrite a fixed graph.
//
// The input is split into lines (at most 4). Each line is parsed as a runtime chain pattern and
// searched for, and as a rule `PATTERN=>REPLACEMENT`; the rules that parse form a dictionary that is
// applied to a copy of a small MobileNet-like graph.
// Promises checked: only surgery::error escapes; chain matches have the pattern's length and do
// not overlap; `apply` either returns a graph that verifies or throws and leaves the graph as it was.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_guard.hpp"
#include "surgery/ir/builder.hpp"
#include "surgery/ir/verify.hpp"
#include "surgery/pattern/runtime_chain.hpp"
#include "surgery/rewrite/dictionary.hpp"
#include "surgery/search/chain.hpp"

namespace {
constexpr const char* target = "fuzz_rule_text";
namespace ir = surgery::ir;

/// Conv/BN/HardSwish, a depthwise block with Squeeze-and-Excitation, SiLU, ReLU6, a branch that
/// reuses a value, a concat, a classifier head; one interior value is also a graph output.
ir::Graph make_graph() {
    ir::Graph g;
    g.name = "fuzz";
    g.opset = 17;
    ir::Builder b(g, 1);
    auto x = b.input("x", {1, 3, 16, 16});
    auto c = b.hardswish(b.batch_norm(b.conv(x, {.out_channels = 8, .kernel = 3, .stride = 2})));
    auto d = b.relu(b.batch_norm(b.conv(c, {.kernel = 3, .depthwise = true})));
    auto s = b.global_average_pool(d);
    s = b.relu(b.conv(s, {.out_channels = 4, .kernel = 1}));
    s = b.hardsigmoid(b.conv(s, {.out_channels = 8, .kernel = 1}));
    d = b.mul(d, s);
    auto e = b.silu(b.conv(d, {.out_channels = 8, .kernel = 1, .bias = false}));
    auto f = b.relu6(b.identity(b.max_pool(e, 5, 1, 2)));
    b.output(f);                                         // interior value that is also an output
    auto h = b.add(b.sigmoid(f), b.relu(f));             // f has several consumers
    auto cat = b.concat({h, e}, 1);                      // [1,16,8,8]
    auto y = b.linear(b.flatten(b.global_average_pool(cat)), 5);
    ir::ops::Softmax sm;
    sm.axis = -1;
    b.output(b.apply(sm, {b.apply(ir::ops::Tanh{}, {y})}));
    ir::verify(g);
    return g;
}

const ir::Graph& fixed_graph() {
    static const ir::Graph g = make_graph();
    return g;
}

void check_matches(const ir::Graph& g, const surgery::pattern::runtime_chain& pat) {
    const auto matches = surgery::search::find_chains(g, pat);
    std::set<ir::NodeId> seen;
    for (const auto& m : matches) {
        if (m.nodes.size() != pat.size())
            surgery::fuzz::finding(target, "a match of '" + pat.to_string() + "' has " + std::to_string(m.nodes.size()) + " nodes");
        for (auto n : m.nodes)
            if (!seen.insert(n).second) surgery::fuzz::finding(target, "matches of '" + pat.to_string() + "' overlap");
    }
}

std::vector<std::string_view> lines_of(std::string_view text) {
    std::vector<std::string_view> out;
    while (out.size() < 4) {
        const auto nl = text.find('\n');
        out.push_back(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return out;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 4096) return 0; // patterns are short; longer texts only slow the search down
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const ir::Graph& fixed = fixed_graph();
    surgery::fuzz::guard(target, [&] {
        surgery::rewrite::dictionary dict("fuzz", {});
        for (std::string_view line : lines_of(text)) {
            for (bool catalogue_only : {false, true}) {
                try {
                    check_matches(fixed, surgery::pattern::runtime_chain(line, catalogue_only));
                } catch (const surgery::pattern_error&) {
                }
            }
            try {
                dict.add(surgery::rewrite::parse_rule(line));
            } catch (const surgery::error&) {
            }
        }
        if (dict.size() == 0) return;
        ir::Graph g = fixed;
        try {
            (void)surgery::rewrite::apply(g, dict, {.max_iterations = 4});
        } catch (const surgery::error&) {
            if (g.num_nodes() != fixed.num_nodes() || g.op_histogram() != fixed.op_histogram())
                surgery::fuzz::finding(target, "rewrite::apply threw but changed the graph");
            return;
        }
        try {
            ir::verify(g);
        } catch (const surgery::error& e) {
            surgery::fuzz::finding(target, std::string("rewrite::apply returned a graph that does not verify: ") + e.what());
        }
    });
    return 0;
}
