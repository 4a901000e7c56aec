// calibrate::find_sites: where a lite graph differs from its original, one site per rewrite, found by
// value and node names (the rewrites keep the names of everything outside a match), with the PyTorch
// module each site came from (torch.onnx.export writes the module path into node names).
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <map>
#include <numeric>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "surgery/ir/graph.hpp"
#include "surgery/rewrite/dictionary.hpp"

namespace surgery::calibrate {

/// One place where the lite graph differs from the original: the original's nodes that are gone and
/// the lite graph's nodes that are new, connected.
struct site {
    std::vector<std::string> rules;          ///< rule ids, from the new nodes' names (`<rule>_<n>/...`); see `attribute_rules`
    std::string module;                      ///< PyTorch module path ("features.4.block.2"), empty when the names carry none
    std::vector<std::string> original_nodes; ///< names of the original's nodes that were replaced, in topological order
    std::vector<std::string> original_ops;
    std::vector<std::string> lite_nodes;     ///< names of the lite graph's new nodes
    std::vector<std::string> lite_ops;
    std::vector<std::string> exits;          ///< the original's values leaving the site (read outside it, or graph outputs)
    std::vector<std::string> layers_after;   ///< lite linear layers (Conv, Gemm, MatMul) that first read what the site produces
};

/// The PyTorch module path in a node name written by torch.onnx.export (1.13 and later):
/// "/features/features.1/block/block.0/block.0.2/HardSwish" -> "features.1.block.0.2". Each scope
/// segment repeats its parent's name as a prefix ("block.0.2" is child "2" of "block.0"). Empty when
/// the name is not of that form.
[[nodiscard]] inline std::string torch_module_of(std::string_view node_name) {
    if (node_name.size() < 2 || node_name.front() != '/') return {};
    std::vector<std::string_view> segs;
    std::size_t start = 1;
    while (start <= node_name.size()) {
        const std::size_t slash = node_name.find('/', start);
        const std::size_t end = slash == std::string_view::npos ? node_name.size() : slash;
        segs.push_back(node_name.substr(start, end - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    if (segs.size() < 2) return {};
    segs.pop_back(); // the op ("Conv", "HardSwish_1")
    std::string path;
    std::string_view prev;
    for (std::string_view seg : segs) {
        if (seg.empty()) return {};
        std::string_view child = seg;
        if (!prev.empty() && seg.size() > prev.size() + 1 && seg.substr(0, prev.size()) == prev && seg[prev.size()] == '.')
            child = seg.substr(prev.size() + 1);
        if (!path.empty()) path += '.';
        path.append(child);
        prev = seg;
    }
    return path;
}

/// The longest common prefix, by dotted components, of module paths (empty ones ignored).
[[nodiscard]] inline std::string common_module(const std::vector<std::string>& paths) {
    std::vector<std::vector<std::string_view>> parts;
    for (const auto& p : paths) {
        if (p.empty()) continue;
        std::vector<std::string_view> comps;
        std::size_t start = 0;
        while (true) {
            const std::size_t dot = p.find('.', start);
            comps.push_back(std::string_view(p).substr(start, dot == std::string::npos ? std::string::npos : dot - start));
            if (dot == std::string::npos) break;
            start = dot + 1;
        }
        parts.push_back(std::move(comps));
    }
    if (parts.empty()) return {};
    std::size_t n = parts[0].size();
    for (const auto& c : parts) {
        std::size_t k = 0;
        while (k < n && k < c.size() && c[k] == parts[0][k]) ++k;
        n = k;
    }
    std::string out;
    for (std::size_t k = 0; k < n; ++k) {
        if (k) out += '.';
        out.append(parts[0][k]);
    }
    return out;
}

/// The rule id and match key of a node made by `rewrite::apply` (`<rule id>_<n>/<op>_<k>`): {"hardswish_to_relu",
/// "hardswish_to_relu_12"}, or empty strings for other names.
[[nodiscard]] inline std::pair<std::string, std::string> rule_of_node_name(std::string_view name) {
    const std::size_t slash = name.find('/');
    if (slash == std::string_view::npos || slash == 0) return {};
    const std::string_view head = name.substr(0, slash);
    const std::size_t us = head.rfind('_');
    if (us == std::string_view::npos || us == 0 || us + 1 == head.size()) return {};
    for (char c : head.substr(us + 1))
        if (!std::isdigit(static_cast<unsigned char>(c))) return {};
    for (char c : head.substr(0, us))
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return {};
    return {std::string(head.substr(0, us)), std::string(head)};
}

/// Whether node kind `k` is a linear layer calibration can correct (Conv, Gemm, MatMul).
[[nodiscard]] inline bool is_linear_layer(const ir::Node& n) {
    return n.is<ir::ops::Conv>() || n.is<ir::ops::Gemm>() || n.is<ir::ops::MatMul>();
}

namespace detail {

struct union_find {
    std::vector<std::size_t> parent;
    explicit union_find(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), std::size_t{0}); }
    std::size_t find(std::size_t x) {
        while (parent[x] != x) x = parent[x] = parent[parent[x]];
        return x;
    }
    void unite(std::size_t a, std::size_t b) {
        a = find(a), b = find(b);
        if (a != b) parent[std::max(a, b)] = std::min(a, b);
    }
};

/// Name -> id maps of a graph's live nodes and values.
struct name_index {
    std::unordered_map<std::string, ir::NodeId> nodes;
    std::unordered_map<std::string, ir::ValueId> values;
    explicit name_index(const ir::Graph& g) {
        for (ir::NodeId n : g.topological_order())
            if (!g.node(n).name.empty()) nodes.emplace(g.node(n).name, n);
        for (std::size_t i = 0; i < g.value_bound(); ++i) {
            const ir::Value& v = g.value(ir::ValueId{i});
            if (v.alive && !v.name.empty()) values.emplace(v.name, ir::ValueId{i});
        }
    }
};

/// Whether node `n` of `a` is also in `b`: same name (when it has one), same op, same first output name.
inline bool has_counterpart(const ir::Graph& a, ir::NodeId n, const ir::Graph& b, const name_index& bi) {
    const ir::Node& nd = a.node(n);
    if (nd.outputs.empty()) return false;
    const std::string& out = a.value(nd.outputs[0]).name;
    if (out.empty()) return false;
    auto it = bi.values.find(out);
    if (it == bi.values.end()) return false;
    const ir::NodeId m = b.producer(it->second);
    if (!m) return false;
    const ir::Node& md = b.node(m);
    return md.kind() == nd.kind() && md.name == nd.name && b.value(it->second).slot == a.value(nd.outputs[0]).slot;
}

} // namespace detail

/// The sites where `lite` differs from `original`, in the order of the original's topological order
/// (sites made only of new nodes come last). Nodes correspond by name and first-output name; a rule's
/// new nodes are grouped by the match counter in their names, each with the original nodes behind its
/// exits (back to the values both graphs share); removed nodes that no new node replaced (a block
/// removed outright, such as Squeeze-and-Excitation) are grouped by connectivity.
[[nodiscard]] inline std::vector<site> find_sites(const ir::Graph& original, const ir::Graph& lite) {
    const detail::name_index oi(original), li(lite);
    const auto& oorder = original.topological_order();
    const auto& lorder = lite.topological_order();
    // Items: removed original nodes [0, R), new lite nodes [R, R + C).
    std::vector<ir::NodeId> removed, created;
    std::vector<std::size_t> item_of_orig(original.node_bound(), SIZE_MAX), item_of_lite(lite.node_bound(), SIZE_MAX);
    for (ir::NodeId n : oorder)
        if (!detail::has_counterpart(original, n, lite, li)) {
            item_of_orig[n.index()] = removed.size();
            removed.push_back(n);
        }
    for (ir::NodeId n : lorder)
        if (!detail::has_counterpart(lite, n, original, oi)) {
            item_of_lite[n.index()] = removed.size() + created.size();
            created.push_back(n);
        }
    const std::size_t R = removed.size(), total = R + created.size();
    detail::union_find uf(total);
    std::vector<char> attached(total, 0);

    // New nodes of one match share the key `<rule>_<n>`; those without a key join new neighbours.
    std::map<std::string, std::size_t> first_of_key;
    for (std::size_t c = 0; c < created.size(); ++c) {
        const auto [rule, key] = rule_of_node_name(lite.node(created[c]).name);
        if (key.empty()) continue;
        auto [it, fresh] = first_of_key.emplace(key, R + c);
        if (!fresh) uf.unite(it->second, R + c);
        attached[R + c] = 1;
    }
    for (std::size_t c = 0; c < created.size(); ++c) {
        const ir::Node& nd = lite.node(created[c]);
        for (ir::ValueId in : nd.inputs) {
            if (!in) continue;
            const ir::NodeId p = lite.producer(in);
            if (p && item_of_lite[p.index()] != SIZE_MAX && (!attached[R + c] || !attached[item_of_lite[p.index()]]))
                uf.unite(R + c, item_of_lite[p.index()]);
        }
    }
    // The original nodes behind each new value that took over an original value's name (a match's exits)...
    std::vector<char> owned(R, 0);
    std::vector<std::size_t> frontier;
    for (std::size_t c = 0; c < created.size(); ++c)
        for (ir::ValueId o : lite.node(created[c]).outputs) {
            auto it = oi.values.find(lite.value(o).name);
            if (it == oi.values.end()) continue;
            const ir::NodeId p = original.producer(it->second);
            if (!p || item_of_orig[p.index()] == SIZE_MAX) continue;
            const std::size_t r = item_of_orig[p.index()];
            if (owned[r]) continue;
            owned[r] = 1;
            uf.unite(r, R + c);
            frontier.push_back(r);
        }
    // ... and, behind those, the removed nodes that only they lead to (the match's interior).
    while (!frontier.empty()) {
        const std::size_t r = frontier.back();
        frontier.pop_back();
        for (ir::ValueId in : original.node(removed[r]).inputs) {
            if (!in) continue;
            const ir::NodeId p = original.producer(in);
            if (!p || item_of_orig[p.index()] == SIZE_MAX) continue;
            const std::size_t q = item_of_orig[p.index()];
            if (owned[q] || li.values.count(original.value(in).name)) continue; // a value both graphs have is a boundary
            owned[q] = 1;
            uf.unite(q, r);
            frontier.push_back(q);
        }
    }
    // Removed nodes no new node accounts for: grouped by the values they pass each other.
    for (std::size_t r = 0; r < R; ++r) {
        if (owned[r]) continue;
        for (ir::ValueId in : original.node(removed[r]).inputs) {
            if (!in) continue;
            const ir::NodeId p = original.producer(in);
            if (p && item_of_orig[p.index()] != SIZE_MAX && !owned[item_of_orig[p.index()]]) uf.unite(r, item_of_orig[p.index()]);
        }
    }

    // Collect, ordered by each group's first item (original order, then new nodes).
    std::map<std::size_t, std::size_t> site_of_root;
    std::vector<site> sites;
    std::vector<std::vector<std::size_t>> members;
    for (std::size_t i = 0; i < total; ++i) {
        const std::size_t root = uf.find(i);
        auto [it, fresh] = site_of_root.emplace(root, sites.size());
        if (fresh) {
            sites.emplace_back();
            members.emplace_back();
        }
        members[it->second].push_back(i);
    }
    for (std::size_t s = 0; s < sites.size(); ++s) {
        site& st = sites[s];
        std::vector<std::string> modules;
        std::vector<char> in_site_orig(original.node_bound(), 0);
        for (std::size_t i : members[s]) {
            if (i < R) {
                const ir::Node& nd = original.node(removed[i]);
                st.original_nodes.push_back(original.label(removed[i]));
                st.original_ops.push_back(ir::qualified_name_of(nd.op));
                modules.push_back(torch_module_of(nd.name));
                in_site_orig[removed[i].index()] = 1;
            } else {
                const ir::Node& nd = lite.node(created[i - R]);
                st.lite_nodes.push_back(lite.label(created[i - R]));
                st.lite_ops.push_back(ir::qualified_name_of(nd.op));
                const auto rule = rule_of_node_name(nd.name).first;
                if (!rule.empty() && std::find(st.rules.begin(), st.rules.end(), rule) == st.rules.end()) st.rules.push_back(rule);
            }
        }
        st.module = common_module(modules);
        // Exits: values of the site's original nodes read outside it (or graph outputs).
        std::vector<ir::NodeId> readers; // the original's nodes outside the site that read an exit
        for (std::size_t i : members[s]) {
            if (i >= R) continue;
            for (ir::ValueId o : original.node(removed[i]).outputs) {
                bool out = original.is_output(o);
                for (const ir::Use& u : original.value(o).uses)
                    if (!in_site_orig[u.node.index()]) {
                        out = true;
                        readers.push_back(u.node);
                    }
                if (out) st.exits.push_back(original.label(o));
            }
        }
        // The first linear layers of the lite graph after the site: from the lite counterparts of the
        // exits' readers (or the site's new nodes' readers), forward through anything but a linear layer.
        std::vector<ir::NodeId> work;
        for (ir::NodeId r : readers) {
            const ir::Node& rn = original.node(r);
            if (rn.outputs.empty()) continue;
            auto it = li.values.find(original.value(rn.outputs[0]).name);
            if (it != li.values.end() && lite.producer(it->second)) work.push_back(lite.producer(it->second));
        }
        for (std::size_t i : members[s])
            if (i >= R)
                for (ir::ValueId o : lite.node(created[i - R]).outputs)
                    for (const ir::Use& u : lite.value(o).uses) work.push_back(u.node);
        std::vector<char> seen(lite.node_bound(), 0);
        std::size_t budget = 64;
        while (!work.empty() && budget-- > 0) {
            const ir::NodeId n = work.back();
            work.pop_back();
            if (seen[n.index()]) continue;
            seen[n.index()] = 1;
            const ir::Node& nd = lite.node(n);
            if (item_of_lite[n.index()] != SIZE_MAX && uf.find(item_of_lite[n.index()]) == uf.find(members[s].front())) {
                for (ir::ValueId o : nd.outputs)
                    for (const ir::Use& u : lite.value(o).uses) work.push_back(u.node);
                continue;
            }
            if (is_linear_layer(nd)) {
                if (std::find(st.layers_after.begin(), st.layers_after.end(), lite.label(n)) == st.layers_after.end())
                    st.layers_after.push_back(lite.label(n));
                continue;
            }
            for (ir::ValueId o : nd.outputs)
                for (const ir::Use& u : lite.value(o).uses) work.push_back(u.node);
        }
    }
    return sites;
}

/// Names the rule of sites whose new nodes do not say it (a block removed outright leaves no new
/// node): when exactly one rule of `rep` replaced more matches than sites carry its name, that rule.
inline void attribute_rules(std::vector<site>& sites, const rewrite::report& rep) {
    std::vector<std::string> unaccounted;
    for (const auto& r : rep.rules) {
        std::size_t named = 0;
        for (const auto& s : sites) named += static_cast<std::size_t>(std::count(s.rules.begin(), s.rules.end(), r.name));
        if (r.replaced > named) unaccounted.push_back(r.name);
    }
    if (unaccounted.size() != 1) return;
    for (auto& s : sites)
        if (s.rules.empty() && !s.original_nodes.empty()) s.rules.push_back(unaccounted.front());
}

} // namespace surgery::calibrate
