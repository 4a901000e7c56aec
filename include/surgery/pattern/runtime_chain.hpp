// pattern::runtime_chain: a straight chain whose op names arrive as text ("Conv,BatchNormalization,Relu|Clip,*").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/graph_traits.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/pattern/chain.hpp"

namespace surgery::pattern {

/// A chain pattern built at run time. Each position is a set of op names (`A|B`) or `*` (any op).
/// Searched by the same searcher as `pattern::chain`, with the same per-kind tables (built once, at
/// construction, instead of by the compiler).
class runtime_chain {
public:
    struct position {
        std::vector<std::string> names; ///< accepted op names; empty means any op
        std::uint64_t kinds = 0;        ///< the same, as catalogue kinds (bit k)
        bool any = false;
    };

    runtime_chain() = default;

    /// Parses `text`: positions separated by ',' (or "->"), alternatives by '|', '*' for any op.
    /// Names outside the op catalogue are kept (they can match nodes of other graphs by name) unless
    /// `catalogue_only`, in which case they are an error naming the position.
    explicit runtime_chain(std::string_view text, bool catalogue_only = false) {
        std::string s; // "->" is accepted as a separator too
        s.reserve(text.size());
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (text[i] == '-' && i + 1 < text.size() && text[i + 1] == '>') {
                s.push_back(',');
                ++i;
            } else {
                s.push_back(text[i]);
            }
        }
        std::size_t start = 0;
        while (start <= s.size()) {
            std::size_t end = s.find(',', start);
            if (end == std::string::npos) end = s.size();
            add(trim(std::string_view(s).substr(start, end - start)), catalogue_only, text);
            start = end + 1;
        }
        if (positions_.empty()) throw pattern_error("chain pattern '" + std::string(text) + "' is empty");
        build_tables();
    }

    [[nodiscard]] std::size_t size() const noexcept { return positions_.size(); }
    [[nodiscard]] const std::vector<position>& positions() const noexcept { return positions_; }
    [[nodiscard]] std::string to_string() const {
        std::string out;
        for (std::size_t i = 0; i < positions_.size(); ++i) {
            if (i) out += ",";
            if (positions_[i].any) out += "*";
            for (std::size_t j = 0; j < positions_[i].names.size(); ++j) out += (j ? "|" : "") + positions_[i].names[j];
        }
        return out;
    }

    /// Positions (bit j) that node `n` matches.
    template <searchable_graph G>
    [[nodiscard]] std::uint64_t positions(const G& g, node_t<G> n) const {
        if (const auto k = kind_of(g, n)) return base_[*k];
        const std::string_view name = graph_traits<G>::op_name(g, n);
        std::uint64_t m = any_mask_;
        for (std::size_t j = 0; j < positions_.size(); ++j)
            for (const auto& nm : positions_[j].names)
                if (nm == name) m |= std::uint64_t{1} << j;
        return m;
    }
    [[nodiscard]] std::uint64_t positions_of_kind(ir::OpKind k) const noexcept { return base_[k]; }

private:
    static std::string_view trim(std::string_view v) {
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
        return v;
    }

    void add(std::string_view item, bool catalogue_only, std::string_view text) {
        if (positions_.size() == max_chain_length)
            throw pattern_error("chain pattern '" + std::string(text) + "' has more than 64 positions");
        position pos;
        std::size_t start = 0;
        while (start <= item.size()) {
            std::size_t end = item.find('|', start);
            if (end == std::string_view::npos) end = item.size();
            std::string_view name = trim(item.substr(start, end - start));
            if (name.empty())
                throw pattern_error("chain pattern '" + std::string(text) + "': position " + std::to_string(positions_.size() + 1) +
                                    " has an empty op name");
            if (name == "*") {
                pos.any = true;
            } else {
                const auto k = ir::kind_from_name(name);
                if (!k && catalogue_only)
                    throw pattern_error("chain pattern '" + std::string(text) + "': op '" + std::string(name) + "' at position " +
                                        std::to_string(positions_.size() + 1) + " is not in the op catalogue");
                if (k) pos.kinds |= std::uint64_t{1} << *k;
                pos.names.emplace_back(name);
            }
            start = end + 1;
        }
        positions_.push_back(std::move(pos));
    }

    void build_tables() {
        base_.fill(0);
        any_mask_ = 0;
        for (std::size_t j = 0; j < positions_.size(); ++j) {
            const std::uint64_t bit = std::uint64_t{1} << j;
            if (positions_[j].any) any_mask_ |= bit;
            for (std::size_t k = 0; k < ir::op_count; ++k)
                if (positions_[j].any || ((positions_[j].kinds >> k) & 1u)) base_[k] |= bit;
        }
    }

    std::vector<position> positions_;
    std::array<std::uint64_t, ir::op_count> base_{};
    std::uint64_t any_mask_ = 0;
};

static_assert(ir::op_count <= 64, "runtime_chain keeps op kinds in a 64-bit set");

} // namespace surgery::pattern
