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
#include "cli/common.hpp"
#include "cli/limits.hpp"
#include "surgery/error.hpp"
#include "surgery/io/file.hpp"
#include "surgery/io/npy.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/onnx/detail/proto.hpp"
#include "surgery/onnx/tensor.hpp"

namespace surgery::cli {

enum class tensor_format { npy, pb };

/// The format of `path` by its extension; io_error naming the file for anything else.
[[nodiscard]] inline tensor_format format_of(const std::filesystem::path& path) {
    const std::string ext = path.extension().string();
    if (ext == ".npy") return tensor_format::npy;
    if (ext == ".pb") return tensor_format::pb;
    throw io_error(io::quoted(path) + ": unknown tensor file type '" + io::printable(ext) + "' (use .npy or .pb, an ONNX TensorProto)");
}

/// Reads a tensor file within the budget: a regular file only, its size (and a .npy file's declared
/// shape) checked against what is left of the budget before anything is read; the tensor is charged.
[[nodiscard]] inline ir::Tensor load_tensor_file(const std::filesystem::path& path, memory_budget& budget) {
    const std::string name = io::quoted(path);
    const doing ctx("reading the tensor " + name);
    ir::Tensor t;
    if (format_of(path) == tensor_format::npy) {
        try {
            t = io::read_npy(path, budget.remaining());
        } catch (const io_error& e) {
            const std::string msg = e.what();
            if (msg.find("memory limit") == std::string::npos && msg.find("allowed for") == std::string::npos) throw;
            throw io_error(msg + "; that is what is left of the memory budget of " + budget.describe());
        }
    } else {
        std::string bytes = io::read_file(path, std::min(onnx::detail::max_message_bytes, budget.remaining()),
                                          "a tensor within the memory budget of " + budget.describe());
        ::onnx::TensorProto p;
        onnx::detail::parse(p, bytes, name);
        bytes = std::string();
        if (p.has_raw_data()) {
            namespace pb = ::onnx;
            std::size_t elem = 1;
            switch (p.data_type()) {
            case pb::TensorProto_DataType_DOUBLE:
            case pb::TensorProto_DataType_INT64:
            case pb::TensorProto_DataType_UINT64:
            case pb::TensorProto_DataType_COMPLEX64: elem = 8; break;
            case pb::TensorProto_DataType_COMPLEX128: elem = 16; break;
            case pb::TensorProto_DataType_FLOAT:
            case pb::TensorProto_DataType_INT32:
            case pb::TensorProto_DataType_UINT32: elem = 4; break;
            case pb::TensorProto_DataType_FLOAT16:
            case pb::TensorProto_DataType_BFLOAT16:
            case pb::TensorProto_DataType_INT16:
            case pb::TensorProto_DataType_UINT16: elem = 2; break;
            default: break;
            }
            if (p.raw_data().size() % elem != 0)
                throw io_error(name + ": raw_data has " + std::to_string(p.raw_data().size()) + " bytes, not a whole number of " +
                               std::string(onnx::detail::elem_type_name(p.data_type())) + " values (" + std::to_string(elem) + " bytes each)");
        }
        t = onnx::from_tensor_proto(p, name);
    }
    const auto bytes = checked_bytes(t.shape, t.dtype);
    budget.charge(bytes ? *bytes : std::numeric_limits<std::uint64_t>::max(), name);
    return t;
}

/// The bytes of `t` as the tensor file `path` (by its extension), `name` the TensorProto's name.
[[nodiscard]] inline std::string tensor_file_bytes(const ir::Tensor& t, const std::filesystem::path& path, const std::string& name) {
    try {
        if (format_of(path) == tensor_format::npy) return io::format_npy(t);
        std::string bytes;
        if (!onnx::to_tensor_proto(t, name).SerializeToString(&bytes)) throw io_error("cannot serialize the tensor");
        return bytes;
    } catch (const io_error& e) {
        const std::string msg = e.what();
        if (msg.rfind(io::quoted(path), 0) == 0) throw;
        throw io_error(io::quoted(path) + ": " + msg);
    }
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
                if (!b.file.empty()) throw usage_error("--" + option + " for " + what + " '" + io::printable(name) + "' is given twice");
                b.file = a.substr(eq + 1);
                if (b.file.empty()) throw usage_error("--" + option + " '" + io::printable(a) + "' has no file name");
                continue;
            }
            if (!std::filesystem::exists(a)) {
                std::string known;
                for (const auto& n : names) known += (known.empty() ? "'" : ", '") + io::printable(n) + "'";
                throw usage_error("--" + option + " '" + io::printable(a) + "': '" + io::printable(name) + "' is not an " + what + " of the model (its " + what +
                                  "s: " + known + ")");
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
