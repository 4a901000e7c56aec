// Searching a user's boost::adjacency_list with the library's compile-time and runtime chain patterns.
#include <iostream>

#include <boost/graph/adjacency_list.hpp>

#include "surgery/adapters/boost_graph.hpp"
#include "surgery/surgery.hpp"

int main() {
    namespace P = surgery::pattern;
    namespace ops = surgery::ir::ops;
    using graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, surgery::adapters::op_vertex>;
    static_assert(surgery::searchable_graph<graph>);

    // Two Conv -> BatchNormalization -> Relu blocks and a residual Add; the second BN also feeds the Add.
    graph g;
    auto v = [&](const char* op) { return boost::add_vertex(surgery::adapters::op_vertex{op, false}, g); };
    auto in = v("Input"), c1 = v("Conv"), b1 = v("BatchNormalization"), r1 = v("Relu");
    auto c2 = v("Conv"), b2 = v("BatchNormalization"), r2 = v("Relu"), add = v("Add");
    for (auto [a, b] : {std::pair{in, c1}, {c1, b1}, {b1, r1}, {r1, c2}, {c2, b2}, {b2, r2}, {r2, add}, {b2, add}}) boost::add_edge(a, b, g);

    const auto cbr = surgery::search::find_chains(g, P::chain<P::op<ops::Conv>, P::op<ops::BatchNormalization>, P::op<ops::Relu>>{});
    std::cout << "Conv -> BatchNormalization -> Relu: " << cbr.size() << " match(es)\n";
    for (const auto& m : cbr) std::cout << "  vertices " << m.nodes[0] << ".." << m.nodes[2] << ", entry vertex " << m.entries.at(0) << "\n";
    const auto cb = surgery::search::find_chains(g, P::runtime_chain("Conv,BatchNormalization"));
    std::cout << "Conv -> BatchNormalization (runtime pattern): " << cb.size() << " match(es)\n";
    // The second block's BN output is also read by the Add, so it is not a clean chain to fold with its Relu.
    return (cbr.size() == 1 && cb.size() == 2) ? 0 : 1;
}
