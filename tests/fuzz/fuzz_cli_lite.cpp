// Fuzz target: rule text through `surgery lite` (tools/commands/lite.cpp) on a fixed small model.
//
// Input: up to 4 lines, each given as a `--rule`; the command runs as `surgery lite m.onnx -o
// out.onnx --rule L1 ... --report r.json --max-iterations 4` on the MobileNet-like model of
// fuzz_graph.hpp (the graph fuzz_rule_text rewrites in memory).
// Promises checked: the command returns 0 or fails with a usage_error or a surgery::error; the
// input model is unchanged; out.onnx and r.json exist after a success (out.onnx loads back, r.json
// is UTF-8 without control characters) and neither exists after a failure; no temporary is left.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_cli_common.hpp"
#include "fuzz_graph.hpp"
#include "surgery/onnx.hpp"

namespace {
constexpr const char* target = "fuzz_cli_lite";

std::string model_bytes() {
    std::string bytes;
    surgery::onnx::to_model_proto(surgery::fuzz::mobile_like_graph()).SerializeToString(&bytes);
    return bytes;
}

bool terminal_safe(std::string_view s) {
    if (!surgery::io::is_utf8(s)) return false;
    for (char c : s)
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f) return false;
    return true;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace fs = std::filesystem;
    if (size > 4096) return 0;
    static const std::string model = model_bytes();
    const fs::path& dir = surgery::fuzz::work_dir();
    for (const auto& n : surgery::fuzz::listing(dir)) fs::remove_all(dir / n);
    surgery::fuzz::put(dir / "m.onnx", model);
    std::vector<std::string> args{(dir / "m.onnx").string(), "-o", (dir / "out.onnx").string(), "--report", (dir / "r.json").string(),
                                  "--max-iterations", "4", "--max-memory", "256M"};
    std::string_view text(reinterpret_cast<const char*>(data), size);
    for (int k = 0; k < 4; ++k) {
        const auto nl = text.find('\n');
        args.insert(args.end(), {"--rule", std::string(text.substr(0, nl))});
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    const int code = surgery::fuzz::run_command(target, surgery::cli::lite_spec(), surgery::cli::lite_main, args);
    if (surgery::io::read_file(dir / "m.onnx") != model) surgery::fuzz::finding(target, "the input model changed");
    surgery::fuzz::check_no_temporaries(target, dir);
    const bool out = fs::exists(dir / "out.onnx"), report = fs::exists(dir / "r.json");
    if (code != 0 && (out || report)) surgery::fuzz::finding(target, "the command failed (exit " + std::to_string(code) + ") but wrote a file");
    if (code == 0) {
        if (!out || !report) surgery::fuzz::finding(target, "the command succeeded but out.onnx or r.json is missing");
        try {
            (void)surgery::onnx::load(dir / "out.onnx");
        } catch (const surgery::error& e) {
            surgery::fuzz::finding(target, std::string("the written model does not load: ") + e.what());
        }
        if (!terminal_safe(surgery::io::read_file(dir / "r.json"))) surgery::fuzz::finding(target, "r.json holds control characters or bad UTF-8");
    }
    return 0;
}
