// Models for the tool: read within the memory budget (regular files only, size checked first) and
// serialized for an output transaction (onnx::serialized_model: checked like onnx::save, not written).
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

#include "cli/common.hpp"
#include "cli/limits.hpp"
#include "surgery/error.hpp"
#include "surgery/io/file.hpp"
#include "surgery/onnx/detail/proto.hpp"
#include "surgery/onnx/reader.hpp"
#include "surgery/onnx/writer.hpp"

namespace surgery::cli {

/// Reads the ONNX model `path` like onnx::load, but refuses before reading a file that is not a
/// regular file or is larger than 2 GB (protobuf's limit) or than what is left of the budget, and
/// charges the file's size to the budget. Errors are io_errors that start with the file name.
[[nodiscard]] inline ir::Graph load_model(const std::filesystem::path& path, memory_budget& budget, const onnx::load_options& options = {}) {
    const std::string name = io::quoted(path);
    const doing ctx("reading the model " + name);
    const std::uint64_t limit = std::min(onnx::detail::max_message_bytes, budget.remaining());
    std::string bytes;
    {
        io::input_file f(path, limit,
                         limit == onnx::detail::max_message_bytes ? std::string("an ONNX model (protobuf's limit)")
                                                                  : "a model within the memory budget of " + budget.describe());
        if (f.size() == 0) throw io_error(name + ": the file is empty, not an ONNX model");
        budget.charge(f.size(), name + ": the model");
        bytes = f.read_rest();
    }
    onnx::detail::arena_model model;
    onnx::detail::parse(*model, bytes, name);
    bytes = std::string();
    try {
        return onnx::from_model_proto(*model, options);
    } catch (const io_error& e) {
        throw io_error(name + ": " + e.what());
    }
}

/// `g` serialized for `path` (onnx::serialized_model: checked later by `checked_model_bytes`, so that the
/// caller can drop the graph in between).
[[nodiscard]] inline onnx::serialized_model serialize(const ir::Graph& g, const std::filesystem::path& path,
                                                      onnx::check_policy policy = onnx::check_policy::when_supported) {
    const doing ctx("serializing " + io::quoted(path));
    return onnx::serialized_model(g, path, policy);
}

/// The bytes of `s`, once checked like onnx::save checks them (io_error naming the file otherwise).
[[nodiscard]] inline std::string checked_model_bytes(onnx::serialized_model&& s, const std::filesystem::path& path) {
    const doing ctx("checking " + io::quoted(path));
    return std::move(s).checked();
}

/// The bytes onnx::save would write for `g` (`path` names the target in messages).
[[nodiscard]] inline std::string model_bytes(const ir::Graph& g, const std::filesystem::path& path) {
    return checked_model_bytes(serialize(g, path), path);
}

} // namespace surgery::cli
