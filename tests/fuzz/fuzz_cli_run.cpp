// Fuzz target: a model and a .npy input through `surgery run` (tools/commands/run.cpp), as files.
//
// Input: a 4-byte little-endian length L, then L bytes of ONNX model, then the .npy bytes (none:
// the input is random, built from the model's declared shape). The command runs as
// `surgery run m.onnx [--input x.npy] --output y.npy --max-memory 256M`.
// Promises checked: the command returns 0 or fails with a usage_error or a surgery::error (no
// other exception, no crash, no allocation beyond libFuzzer's -rss_limit_mb); the model and
// input files are unchanged; y.npy exists only after a success and then reads back as a .npy
// file; no temporary file is left behind.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_cli_common.hpp"
#include "surgery/io/npy.hpp"

namespace {
constexpr const char* target = "fuzz_cli_run";
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace fs = std::filesystem;
    if (size < 4 || size > (std::size_t{1} << 20)) return 0;
    std::uint32_t len = 0;
    std::memcpy(&len, data, 4); // little-endian hosts only, like the seeds
    const std::string_view rest(reinterpret_cast<const char*>(data) + 4, size - 4);
    if (len > rest.size()) return 0;
    const std::string_view model = rest.substr(0, len), npy = rest.substr(len);
    const fs::path& dir = surgery::fuzz::work_dir();
    for (const auto& n : surgery::fuzz::listing(dir)) fs::remove_all(dir / n);
    surgery::fuzz::put(dir / "m.onnx", model);
    std::vector<std::string> args{(dir / "m.onnx").string(), "--output", (dir / "y.npy").string(), "--max-memory", "256M"};
    if (!npy.empty()) {
        surgery::fuzz::put(dir / "x.npy", npy);
        args.insert(args.end(), {"--input", (dir / "x.npy").string()});
    }
    const int code = surgery::fuzz::run_command(target, surgery::cli::run_spec(), surgery::cli::run_main, args);
    if (surgery::io::read_file(dir / "m.onnx") != model) surgery::fuzz::finding(target, "the model file changed");
    if (!npy.empty() && surgery::io::read_file(dir / "x.npy") != npy) surgery::fuzz::finding(target, "the input file changed");
    surgery::fuzz::check_no_temporaries(target, dir);
    const bool written = fs::exists(dir / "y.npy");
    if (code != 0 && written) surgery::fuzz::finding(target, "the command failed (exit " + std::to_string(code) + ") but y.npy was written");
    if (code == 0) {
        if (!written) surgery::fuzz::finding(target, "the command succeeded but y.npy was not written");
        try {
            (void)surgery::io::read_npy(dir / "y.npy");
        } catch (const surgery::error& e) {
            surgery::fuzz::finding(target, std::string("the written y.npy does not read back: ") + e.what());
        }
    }
    return 0;
}
