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

#include "fuzz_graph.hpp"
#include "fuzz_guard.hpp"
#include "surgery/ir/builder.hpp"
#include "surgery/ir/verify.hpp"
#include "surgery/pattern/runtime_chain.hpp"
#include "surgery/rewrite/dictionary.hpp"
#include "surgery/search/chain.hpp"

namespace {
constexpr const char* target = "fuzz_rule_text";
namespace ir = surgery::ir;

const ir::Graph& fixed_graph() {
    static const ir::Graph g = surgery::fuzz::mobile_like_graph();
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
