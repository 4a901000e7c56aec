// pattern::runtime_chain: a straight chain whose op names arrive as text ("Conv,BatchNormalization,Relu|Clip,*"),
// compiled to the same pattern::program as every other pattern (see pattern/text.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/pattern/program.hpp"
#include "surgery/pattern/text.hpp"

namespace surgery::pattern {

/// A chain pattern built at run time. Each position is a set of op names (`A|B`), `*` (any op), and
/// optional attribute constraints (`Conv[kernel=7]`). Searched by the same chain searcher as
/// `pattern::chain`, from the same per-kind tables.
class runtime_chain {
public:
    struct position {
        std::vector<std::string> names;  ///< accepted op names; empty means any op
        std::vector<ir::OpKind> kinds;   ///< the catalogue kinds among them
        bool any = false;
    };

    runtime_chain() = default;

    /// Parses `text`: positions separated by ',' or "->", alternatives by '|', '*' for any op.
    /// Names outside the op catalogue are kept (they match opaque nodes, and nodes of other graphs,
    /// by name) unless `catalogue_only`, in which case they are an error naming the position.
    explicit runtime_chain(std::string_view text, bool catalogue_only = false) : pattern_(checked(text)) {
        const auto& items = pattern_.chain_items();
        for (std::size_t j = 0; j < items.size(); ++j) {
            position p;
            p.any = items[j].any_op;
            for (const std::string& n : items[j].ops) {
                p.names.push_back(n);
                if (const auto k = ir::kind_from_name(n)) p.kinds.push_back(*k);
                else if (catalogue_only)
                    throw pattern_error("chain pattern '" + std::string(text) + "': op '" + n + "' at position " + std::to_string(j + 1) +
                                        " is not in the op catalogue");
            }
            positions_.push_back(std::move(p));
        }
    }

    [[nodiscard]] std::size_t size() const noexcept { return positions_.size(); }
    [[nodiscard]] const std::vector<position>& positions() const noexcept { return positions_; }
    [[nodiscard]] program_view view() const noexcept { return pattern_.view(); }
    [[nodiscard]] std::string to_string() const {
        std::string out;
        for (std::size_t i = 0; i < positions_.size(); ++i) {
            if (i) out += ",";
            if (positions_[i].any) out += "*";
            for (std::size_t j = 0; j < positions_[i].names.size(); ++j) out += (j ? "|" : "") + positions_[i].names[j];
        }
        return out;
    }

private:
    static text_pattern checked(std::string_view text) {
        text_pattern p(text);
        if (!p.is_chain()) throw pattern_error("chain pattern '" + std::string(text) + "' is not a straight chain of op names");
        return p;
    }

    text_pattern pattern_;
    std::vector<position> positions_;
};

} // namespace surgery::pattern
