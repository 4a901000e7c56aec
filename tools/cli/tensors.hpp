// Tensor files for the tool (.npy and ONNX TensorProto .pb by extension), --input/--output binding, summaries.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "surgery/error.hpp"
#include "surgery/io/file.hpp"
#include "surgery/io/npy.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/onnx/tensor.hpp"

namespace surgery::cli {

enum class tensor_format { npy, pb };

/// The format of `path` by its extension; io_error naming the file for anything else.
[[nodiscard]] inline tensor_format format_of(const std::filesystem::path& path) {
    const std::string ext = path.extension().string();
    if (ext == ".npy") return tensor_format::npy;
    if (ext == ".pb") return tensor_format::pb;
    throw io_error(io::quoted(path) + ": unknown tensor file type '" + ext + "' (use .npy or .pb, an ONNX TensorProto)");
}

[[nodiscard]] inline ir::Tensor load_tensor_file(const std::filesystem::path& path) {
    return format_of(path) == tensor_format::npy ? io::read_npy(path) : onnx::load_tensor(path);
}

inline void save_tensor_file(const ir::Tensor& t, const std::filesystem::path& path, const std::string& name) {
    if (format_of(path) == tensor_format::npy) io::write_npy(t, path);
    else onnx::save_tensor(t, path, name);
}

/// One `--input`/`--output` argument: `FILE` (positional, in graph order) or `NAME=FILE`.
struct binding {
    std::string name; ///< empty for a positional one
    std::filesystem::path file;
};

/// Assigns the values of option `--option` to the graph's `names` (its inputs or outputs, in order):
/// `NAME=FILE` when NAME is one of `names`, otherwise the whole text is a file taking the next name
/// not yet bound. Returns one binding per name (file empty when not given). `what` is "input" or
/// "output". Throws usage_error for a name that is not one of `names` and for too many files.
[[nodiscard]] inline std::vector<binding> bind_files(const std::vector<std::string>& names, const std::vector<std::string>& args, const std::string& option,
                                                     const std::string& what) {
    std::vector<binding> out(names.size());
    for (std::size_t k = 0; k < names.size(); ++k) out[k].name = names[k];
    std::vector<std::string> positional;
    for (const auto& a : args) {
        const auto eq = a.find('=');
        if (eq != std::string::npos) {
            const std::string name = a.substr(0, eq);
            const auto it = std::find(names.begin(), names.end(), name);
            if (it != names.end()) {
                auto& b = out[static_cast<std::size_t>(it - names.begin())];
                if (!b.file.empty()) throw usage_error("--" + option + " for " + what + " '" + name + "' is given twice");
                b.file = a.substr(eq + 1);
                if (b.file.empty()) throw usage_error("--" + option + " '" + a + "' has no file name");
                continue;
            }
            if (!std::filesystem::exists(a)) {
                std::string known;
                for (const auto& n : names) known += (known.empty() ? "'" : ", '") + n + "'";
                throw usage_error("--" + option + " '" + a + "': '" + name + "' is not an " + what + " of the model (its " + what + "s: " + known + ")");
            }
        }
        positional.push_back(a);
    }
    std::size_t next = 0;
    for (const auto& p : positional) {
        while (next < out.size() && !out[next].file.empty()) ++next;
        if (next == out.size())
            throw usage_error("too many --" + option + " files: the model has " + std::to_string(names.size()) + " " + what + (names.size() == 1 ? "" : "s"));
        out[next++].file = p;
    }
    return out;
}

/// "float32 [1,1000]  min -3.1  max 4.5  mean 0.012  argmax 417 (4.5)": argmax per row of 2-D
/// outputs (logits), up to 8 rows; counts of NaN/Inf when there are any.
[[nodiscard]] inline std::string summarize(const ir::Tensor& t) {
    std::string s = std::string(ir::to_string(t.dtype)) + " " + ir::to_string(t.shape);
    const bool fl = t.dtype == ir::DType::f32;
    const std::size_t n = fl ? t.f.size() : t.i.size();
    if (n == 0) return s + "  (empty)";
    double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0;
    std::size_t finite = 0, nonfinite = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const double v = fl ? static_cast<double>(t.f[k]) : static_cast<double>(t.i[k]);
        if (!std::isfinite(v)) {
            ++nonfinite;
            continue;
        }
        lo = std::min(lo, v);
        hi = std::max(hi, v);
        sum += v;
        ++finite;
    }
    char buf[160];
    if (finite) {
        std::snprintf(buf, sizeof buf, "  min %.6g  max %.6g  mean %.6g", lo, hi, sum / static_cast<double>(finite));
        s += buf;
    }
    if (nonfinite) s += "  " + std::to_string(nonfinite) + " NaN/Inf values";
    if (fl && t.shape.size() == 2 && t.shape[1] > 1) {
        const auto rows = static_cast<std::size_t>(t.shape[0]), cols = static_cast<std::size_t>(t.shape[1]);
        s += rows == 1 ? "  argmax" : "  argmax per row";
        for (std::size_t r = 0; r < std::min<std::size_t>(rows, 8); ++r) {
            const auto* row = t.f.data() + r * cols;
            const auto best = static_cast<std::size_t>(std::max_element(row, row + cols) - row);
            std::snprintf(buf, sizeof buf, " %zu (%.6g)", best, static_cast<double>(row[best]));
            s += buf;
        }
        if (rows > 8) s += " ...";
    }
    return s;
}

/// Index of the largest value of each row of a 2-D float tensor (empty for other tensors).
[[nodiscard]] inline std::vector<std::size_t> argmax_rows(const ir::Tensor& t) {
    std::vector<std::size_t> out;
    if (t.dtype != ir::DType::f32 || t.shape.size() != 2 || t.shape[1] < 1) return out;
    const auto rows = static_cast<std::size_t>(t.shape[0]), cols = static_cast<std::size_t>(t.shape[1]);
    for (std::size_t r = 0; r < rows; ++r) {
        const auto* row = t.f.data() + r * cols;
        out.push_back(static_cast<std::size_t>(std::max_element(row, row + cols) - row));
    }
    return out;
}

} // namespace surgery::cli
