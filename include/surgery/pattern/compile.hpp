// Compiling C++ pattern types (pattern::node<...>, bind, either, value) to a pattern::program at compile time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "surgery/graph_traits.hpp"
#include "surgery/pattern/dag.hpp"
#include "surgery/pattern/op.hpp"
#include "surgery/pattern/program.hpp"

namespace surgery::pattern {

namespace detail {

/// Table sizes of a program (first pass) or the tables themselves (second pass).
template <std::size_t NN = 0, std::size_t NO = 0, std::size_t NA = 0, std::size_t NK = 0, std::size_t NM = 0, std::size_t NP = 0,
          std::size_t NC = 0>
struct static_program {
    std::array<pnode, NN> nodes{};
    std::array<operand, NO> operands{};
    std::array<operand, NA> alternatives{};
    std::array<ir::OpKind, NK> kinds{};
    std::array<std::string_view, NM> names{};
    std::array<erased_predicate, NP> predicates{};
    std::array<std::string_view, NC> capture_names{};
    std::size_t n_nodes = 0, n_operands = 0, n_alternatives = 0, n_kinds = 0, n_names = 0, n_predicates = 0;
    std::uint16_t root = 0;
    static constexpr bool counting = NN == 0 && NO == 0 && NA == 0 && NK == 0 && NM == 0 && NP == 0;

    constexpr std::size_t add_node() {
        if constexpr (!counting) nodes[n_nodes] = pnode{};
        return n_nodes++;
    }
    constexpr void set_node(std::size_t i, const pnode& p) {
        if constexpr (!counting) nodes[i] = p;
        else (void)i, (void)p;
    }
    constexpr std::size_t reserve_operands(std::size_t n) {
        const std::size_t first = n_operands;
        n_operands += n;
        return first;
    }
    constexpr void set_operand(std::size_t i, const operand& o) {
        if constexpr (!counting) operands[i] = o;
        else (void)i, (void)o;
    }
    constexpr std::size_t reserve_alternatives(std::size_t n) {
        const std::size_t first = n_alternatives;
        n_alternatives += n;
        return first;
    }
    constexpr void set_alternative(std::size_t i, const operand& o) {
        if constexpr (!counting) alternatives[i] = o;
        else (void)i, (void)o;
    }
    constexpr void add_kind(ir::OpKind k) {
        if constexpr (!counting) kinds[n_kinds] = k;
        else (void)k;
        ++n_kinds;
    }
    constexpr void add_name(std::string_view s) {
        if constexpr (!counting) names[n_names] = s;
        else (void)s;
        ++n_names;
    }
    constexpr void add_predicate(erased_predicate p) {
        if constexpr (!counting) predicates[n_predicates] = p;
        else (void)p;
        ++n_predicates;
    }

    [[nodiscard]] constexpr program_view view() const noexcept {
        program_view v;
        v.nodes = std::span<const pnode>(nodes.data(), n_nodes);
        v.operands = std::span<const operand>(operands.data(), n_operands);
        v.alternatives = std::span<const operand>(alternatives.data(), n_alternatives);
        v.kinds = std::span<const ir::OpKind>(kinds.data(), n_kinds);
        v.names = std::span<const std::string_view>(names.data(), n_names);
        v.predicates = std::span<const erased_predicate>(predicates.data(), n_predicates);
        v.capture_names = std::span<const std::string_view>(capture_names.data(), NC);
        v.root = root;
        v.num_captures = static_cast<std::uint16_t>(NC);
        return v;
    }
};

template <class OpP>
inline constexpr bool has_opaque_name = [] {
    if constexpr (requires { OpP::in_catalogue; })
        return !OpP::in_catalogue;
    else
        return false;
}();

/// Emits the pattern node for single-node pattern `OpP` (kinds, names, predicate).
template <class OpP, class G, class B>
constexpr pnode single_node(B& b) {
    pnode pn;
    if constexpr (std::is_same_v<OpP, any_op>) {
        pn.any_op = true;
        return pn;
    } else {
        pn.first_kind = static_cast<std::uint16_t>(b.n_kinds);
        bool conditional = false;
        for (std::size_t k = 0; k < ir::op_count; ++k) {
            const auto kk = static_cast<ir::OpKind>(k);
            if (kk == ir::opaque_kind || !OpP::accepts_kind(kk)) continue;
            b.add_kind(kk);
            conditional = conditional || !OpP::unconditional(kk);
        }
        pn.num_kinds = static_cast<std::uint16_t>(b.n_kinds - pn.first_kind);
        pn.first_name = static_cast<std::uint16_t>(b.n_names);
        if constexpr (has_opaque_name<OpP>) {
            b.add_name(OpP::op_name);
            pn.num_names = 1;
        }
        // Attribute predicates (and opaque names, compared again) run as one erased call to OpP::test.
        if (conditional || has_opaque_name<OpP>) {
            pn.first_predicate = static_cast<std::uint16_t>(b.n_predicates);
            b.add_predicate(+[](const void* g, const void* n) -> bool {
                return OpP::test(*static_cast<const G*>(g), *static_cast<const node_t<G>*>(n));
            });
            pn.num_predicates = 1;
        }
        return pn;
    }
}

template <class P, class G>
struct emitter;

template <class G>
struct emitter<value, G> {
    template <class B>
    static constexpr operand emit(B&) {
        return operand{};
    }
};

template <std::size_t I, class P, class G>
struct emitter<bind<I, P>, G> {
    template <class B>
    static constexpr operand emit(B& b) {
        if constexpr (std::is_same_v<P, value>) {
            operand o;
            o.kind = operand_kind::capture;
            o.index = static_cast<std::uint16_t>(I);
            return o;
        } else {
            operand o = emitter<P, G>::emit(b);
            if (o.kind == operand_kind::alternatives)
                for (std::size_t a = 0; a < o.count; ++a) {
                    if constexpr (!B::counting) {
                        operand alt = b.alternatives[o.index + a];
                        alt.capture = static_cast<std::uint16_t>(I);
                        b.set_alternative(o.index + a, alt);
                    }
                }
            else
                o.capture = static_cast<std::uint16_t>(I);
            return o;
        }
    }
};

template <class... Ps, class G>
struct emitter<either<Ps...>, G> {
    template <class B>
    static constexpr operand emit(B& b) {
        operand o;
        o.kind = operand_kind::alternatives;
        o.count = static_cast<std::uint16_t>(sizeof...(Ps));
        const std::size_t first = b.reserve_alternatives(sizeof...(Ps));
        o.index = static_cast<std::uint16_t>(first);
        std::size_t i = 0;
        ((b.set_alternative(first + i++, emitter<Ps, G>::emit(b))), ...);
        return o;
    }
};

template <class OpP, class... Operands, class G>
struct emitter<node<OpP, Operands...>, G> {
    template <class B>
    static constexpr std::size_t emit_node(B& b) {
        const std::size_t idx = b.add_node();
        pnode pn = single_node<OpP, G>(b);
        pn.num_operands = static_cast<std::uint16_t>(sizeof...(Operands));
        pn.first_operand = static_cast<std::uint16_t>(b.reserve_operands(sizeof...(Operands)));
        std::size_t i = 0;
        ((b.set_operand(pn.first_operand + i++, emitter<Operands, G>::emit(b))), ...);
        b.set_node(idx, pn);
        return idx;
    }
    template <class B>
    static constexpr operand emit(B& b) {
        operand o;
        o.kind = operand_kind::node;
        o.index = static_cast<std::uint16_t>(emit_node(b));
        return o;
    }
};

template <class P, class G>
constexpr auto compile_dag() {
    constexpr auto sizes = [] {
        static_program<> counter;
        counter.root = static_cast<std::uint16_t>(emitter<P, G>::emit_node(counter));
        return counter;
    }();
    static_program<sizes.n_nodes, sizes.n_operands, sizes.n_alternatives, sizes.n_kinds, sizes.n_names, sizes.n_predicates,
                   capture_count_v<P>>
        prog;
    prog.root = static_cast<std::uint16_t>(emitter<P, G>::emit_node(prog));
    return prog;
}

} // namespace detail

/// The program of DAG pattern `P` for graphs of type `G` (built by the compiler).
template <dag_pattern P, class G>
inline constexpr auto program_of = detail::compile_dag<P, G>();

} // namespace surgery::pattern
