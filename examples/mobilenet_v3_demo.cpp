// The main demo: MobileNetV3-Large built in the IR, the paper's MobileNetV3 dictionary applied, what changed printed.
#include <iostream>

#include "surgery/surgery.hpp"
#include "surgery/zoo/mobilenet_v3.hpp"

int main() {
    using namespace surgery;
    ir::Graph net = zoo::mobilenet_v3_large({.resolution = 224, .num_classes = 1000, .seed = 7});
    ir::verify(net);
    std::cout << "MobileNetV3-Large: " << net.num_nodes() << " nodes, output " << ir::to_string(*net.value(net.outputs()[0]).shape) << "\n";

    const rewrite::dictionary dict = rules::mobilenet_v3_lite();
    std::cout << "dictionary '" << dict.name() << "':\n";
    for (const auto& r : dict.rules()) std::cout << "  " << r.name << ": " << r.description << "\n";

    const rewrite::report rep = rewrite::apply(net, dict);
    std::cout << rep.to_string();
    std::cout << "lite network: " << net.num_nodes() << " nodes, output " << ir::to_string(*net.value(net.outputs()[0]).shape) << "\n";
    return rep.converged ? 0 : 1;
}
