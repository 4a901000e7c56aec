// Phases of one large model through the library, timed separately, with the peak memory after each:
// load (read, parse, convert), rewrite (a preset, without its final verify), verify, save
// (serialize, drop the graph, ONNX checker, write: as `surgery lite` does). Driven by
// bench/scale.sh; not a timed test.
//
//   bench_scale MODEL.onnx OUT.onnx [PRESET]     (PRESET: lite by default)
//
// Prints one line: `nodes <n> load_s <t> load_cpu_s <c> load_rss_mb <m> rewrite_s ... verify_s ... save_s ...
// check_s ... nodes_after <n>` (check: the part of save spent in libonnx's check, the bytes parsed back
// included): wall time, CPU time of the process (user + system: what a shared machine's load
// does not inflate) and the peak resident size, the process's high-water mark (VmHWM) when the
// phase ends, so each figure includes the phases before it.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>
#include <utility>

#include "surgery/io/file.hpp"
#include "surgery/onnx.hpp"
#include "surgery/surgery.hpp"

namespace {

double peak_rss_mb() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0; // kB
    return 0.0;
}

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
    return s(u.ru_utime) + s(u.ru_stime);
}

struct phase {
    double wall = 0, cpu = 0, rss_mb = 0;
};

template <class F>
phase timed(F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    f();
    return {std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), cpu_seconds() - c0, peak_rss_mb()};
}

void print(const char* name, const phase& p) { std::printf(" %s_s %.3f %s_cpu_s %.3f %s_rss_mb %.0f", name, p.wall, name, p.cpu, name, p.rss_mb); }

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: bench_scale MODEL.onnx OUT.onnx [PRESET]\n");
        return 2;
    }
    try {
        namespace ir = surgery::ir;
        const std::string preset = argc > 3 ? argv[3] : "lite";
        const surgery::rewrite::dictionary dict = surgery::rules::preset(preset);
        ir::Graph g;
        const phase load = timed([&] { g = surgery::onnx::load(argv[1]); });
        const std::size_t nodes = g.num_nodes();
        surgery::rewrite::apply_options opts;
        opts.verify = false;        // timed on its own below
        opts.transactional = false; // as the CLI does
        const phase rewrite = timed([&] { (void)surgery::rewrite::apply(g, dict, opts); });
        const phase verify = timed([&] { ir::verify(g); });
        const std::size_t nodes_after = g.num_nodes();
        // As `surgery lite` saves: serialized, the graph dropped, then libonnx's check and the write
        // (onnx::serialized_model; onnx::save does the same with the caller's graph alive).
        phase check; // the part of save that is libonnx's: parsing the bytes back, check_model, strict inference
        const phase save = timed([&] {
            surgery::onnx::serialized_model bytes(g, argv[2]);
            g = ir::Graph{};
            std::string checked;
            check = timed([&] { checked = std::move(bytes).checked(); });
            surgery::io::write_file_atomically(argv[2], checked);
        });
        std::printf("nodes %zu", nodes);
        print("load", load);
        print("rewrite", rewrite);
        print("verify", verify);
        print("save", save);
        print("check", check);
        std::printf(" nodes_after %zu\n", nodes_after);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_scale: %s\n", e.what());
        return 1;
    }
}
