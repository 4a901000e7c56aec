// Models for the tool: read within the memory budget (regular files only, size checked first) and
// serialized for an output transaction (checked like onnx::save, but not written).
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include "cli/common.hpp"
#include "cli/limits.hpp"
#include "surgery/error.hpp"
#include "surgery/io/file.hpp"
#include "surgery/onnx/detail/proto.hpp"
#include "surgery/onnx/reader.hpp"
#include "surgery/onnx/writer.hpp"

#include <onnx/defs/schema.h>

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

/// The bytes onnx::save would write for a graph, in two steps: serialized when constructed, checked
/// by `checked()`, so that the caller can drop the graph in between (for a large model, the graph and
/// libonnx's shape inference are then not in memory at once). `path` names the target in messages.
class serialized_model {
public:
    serialized_model(const ir::Graph& g, std::filesystem::path path) : path_(std::move(path)), model_(std::make_unique<onnx::detail::arena_model>()) {
        const doing ctx("serializing " + io::quoted(path_));
        ::onnx::ModelProto& m = **model_;
        onnx::detail::write_model(g, m);
        // ONNX's checker refuses ops of the default domain it has no schema for; a model carrying such
        // an op (opaque: a newer or custom op without a domain) is written as read, unchecked.
        checkable_ = g.opset <= onnx::checker_max_opset() &&
                     std::none_of(m.graph().node().begin(), m.graph().node().end(), [&](const ::onnx::NodeProto& n) {
                         return (n.domain().empty() || n.domain() == "ai.onnx") &&
                                !::onnx::OpSchemaRegistry::Schema(n.op_type(), static_cast<int>(g.opset), "");
                     });
        // Serialized before the check, which then runs shape inference on the model itself (no copy).
        too_large_ = m.ByteSizeLong() > static_cast<std::size_t>(INT32_MAX);
        serialized_ = too_large_ || m.SerializeToString(&bytes_);
    }

    /// The bytes, once the model passes ONNX's checker with full shape inference (when the linked
    /// libonnx knows its opset and ops) and is under 2 GB; io_error naming the file otherwise.
    [[nodiscard]] std::string checked() && {
        const doing ctx("checking " + io::quoted(path_));
        if (checkable_) {
            try {
                onnx::check(std::move(**model_));
            } catch (const io_error& e) {
                throw io_error(io::quoted(path_) + ": the model does not pass the ONNX checker, not written: " + e.what());
            }
        }
        model_.reset();
        if (too_large_) throw io_error(io::quoted(path_) + ": the model is larger than 2 GB, which needs external data (not supported)");
        if (!serialized_) throw io_error(io::quoted(path_) + ": cannot serialize the model");
        return std::move(bytes_);
    }

private:
    std::filesystem::path path_;
    std::unique_ptr<onnx::detail::arena_model> model_;
    std::string bytes_;
    bool checkable_ = false, too_large_ = false, serialized_ = false;
};

/// The bytes onnx::save would write for `g` (`path` names the target in messages): the model passes
/// ONNX's checker with full shape inference when the linked libonnx knows its opset, and is under 2 GB.
[[nodiscard]] inline std::string model_bytes(const ir::Graph& g, const std::filesystem::path& path) {
    return serialized_model(g, path).checked();
}

} // namespace surgery::cli
