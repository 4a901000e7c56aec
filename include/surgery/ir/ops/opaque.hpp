// ops::Opaque: an op outside the catalogue (any domain, vendor ops), carried through unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "surgery/ir/infer_context.hpp"
#include "surgery/ir/op_def.hpp"

namespace surgery::ir::ops {

/// One attribute of an opaque op: its encoded form, written back byte for byte, and the decoded
/// value for the common types, so that patterns can test it.
struct opaque_attribute {
    std::string name;
    int type = 0;        ///< ONNX AttributeProto type (1 float, 2 int, 3 string, 4 tensor, 5 graph, 6 floats, 7 ints, 8 strings, ...)
    std::string encoded; ///< the serialized AttributeProto
    std::optional<std::int64_t> i;
    std::optional<float> f;
    std::optional<std::string> s;
    Ints ints;
    Floats floats;
    friend bool operator==(const opaque_attribute&, const opaque_attribute&) = default;
};

/// An op the catalogue does not define (an ONNX op without a rule here, or a vendor op in another
/// domain). Searching and rewriting work around it; its outputs keep the shapes the model declared
/// (or ONNX's shape inference gave); executing it is an error naming it.
struct Opaque {
    static constexpr std::string_view name = "Opaque"; ///< the kind's name; `op_type` is the node's
    static constexpr arity_t arity{0, arity_t::variadic, 0, arity_t::variadic};
    std::string op_type;
    std::string op_domain; ///< "" for the default ONNX domain
    std::vector<opaque_attribute> attrs;
    /// Trailing inputs that are not node inputs but values its subgraph attributes (If/Loop/Scan
    /// bodies) read from the enclosing graph: kept as uses so they stay alive and named.
    std::uint32_t implicit_inputs = 0;
    static constexpr auto attributes() { return std::tuple{}; }

    [[nodiscard]] const opaque_attribute* attribute(std::string_view n) const noexcept {
        for (const auto& a : attrs)
            if (a.name == n) return &a;
        return nullptr;
    }
    /// "op_type", or "domain::op_type" outside the default domain.
    [[nodiscard]] std::string qualified_name() const { return op_domain.empty() ? op_type : op_domain + "::" + op_type; }
    friend bool operator==(const Opaque&, const Opaque&) = default;
};

/// The outputs keep what the graph holds (the model's declarations).
inline void infer(const Opaque&, infer_context& c) {
    for (std::size_t o = 0; o < c.num_outputs(); ++o) {
        const infer_output& cur = c.output(o);
        if (cur.stored_shape) c.set(o, *cur.stored_shape);
        c.set_dtype(o, cur.stored_dtype);
    }
}

} // namespace surgery::ir::ops
