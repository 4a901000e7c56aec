// Builds a tiny network with the installed (or add_subdirectory'd) model-surgery and checks it.
#include <cstdio>
#include <cstdlib>

#include <surgery/ir.hpp>

int main() {
    using namespace surgery::ir;
    Graph g;
    Builder b(g, 42);
    ValueId x = b.input("x", {1, 3, 16, 16});
    ValueId y = b.relu(b.batch_norm(b.conv(x, {.out_channels = 8, .kernel = 3, .stride = 2})));
    b.output(b.flatten(b.global_average_pool(y)));
    verify(g);

    const Shape& out = *g.value(g.outputs()[0]).shape;
    if (g.num_nodes() != 5 || out != Shape{1, 8}) {
        std::fprintf(stderr, "consumer: unexpected graph (%zu nodes)\n", g.num_nodes());
        return EXIT_FAILURE;
    }
    std::printf("consumer: built and verified a %zu-node graph\n", g.num_nodes());
    return EXIT_SUCCESS;
}
