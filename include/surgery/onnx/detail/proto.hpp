// Includes the ONNX protobuf classes (Debian's libonnx: ONNX_ML build, namespace `onnx`) and small shared helpers.
#pragma once

#if !defined(ONNX_ML) || !defined(ONNX_NAMESPACE)
#error "surgery/onnx: compile with ONNX_ML=1 and ONNX_NAMESPACE=onnx (link the surgery::onnx CMake target)"
#endif

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#if defined(__linux__)
// madvise from <sys/mman.h>, declared here instead: that header's MAP_TYPE macro breaks libonnx's
// onnx/defs/parser.h (an enumerator of that name), which users include after us.
extern "C" int madvise(void* addr, std::size_t length, int advice) noexcept;
#endif

#include <google/protobuf/arena.h>
#include <onnx/onnx_pb.h>

#include "surgery/error.hpp"
#include "surgery/io/file.hpp"
#include "surgery/ir/tensor.hpp"

namespace surgery::onnx::detail {

namespace pb = ::onnx;

/// A ModelProto in its own protobuf arena: parsed or built with a few large blocks instead of one
/// allocation per string and message (a model of 1,000,000 nodes parses in a fifth of the time), and
/// freed at once. Neither copyable nor movable: the arena owns the message.
class arena_model {
public:
    arena_model() : arena_(options()), model_(::google::protobuf::Arena::CreateMessage<pb::ModelProto>(&arena_)) {}
    arena_model(const arena_model&) = delete;
    arena_model& operator=(const arena_model&) = delete;

    [[nodiscard]] pb::ModelProto& operator*() noexcept { return *model_; }
    [[nodiscard]] pb::ModelProto* operator->() noexcept { return model_; }
    /// The arena, for other messages that should live and die with it.
    [[nodiscard]] ::google::protobuf::Arena& arena() noexcept { return arena_; }

private:
    static ::google::protobuf::ArenaOptions options() {
        ::google::protobuf::ArenaOptions o;
        o.start_block_size = std::size_t{64} << 10; // small models stay small
        o.max_block_size = std::size_t{8} << 20;
        o.block_alloc = &allocate;
        o.block_dealloc = &deallocate;
        return o;
    }
    // Blocks of 2 MB and more are aligned to 2 MB and offered to the kernel for transparent huge
    // pages: a model's arena is written once from end to end, and a fault per 4 KB page costs more
    // than the parsing (measured: 1,000,000 nodes).
    static constexpr std::size_t huge = std::size_t{2} << 20;
    static void* allocate(std::size_t size) {
        void* p = nullptr;
#if defined(__linux__)
        if (size >= huge && size % huge == 0) {
            p = std::aligned_alloc(huge, size);
            constexpr int madv_hugepage = 14; // MADV_HUGEPAGE (a hint: ignored where THP is off)
            if (p) (void)::madvise(p, size, madv_hugepage);
        }
#endif
        if (!p) p = std::malloc(size);
        if (!p) throw std::bad_alloc();
        return p;
    }
    static void deallocate(void* p, std::size_t) { std::free(p); }
    ::google::protobuf::Arena arena_;
    pb::ModelProto* model_;
};

/// Opsets the reader accepts and the writer produces (default domain).
inline constexpr std::int64_t min_read_opset = 1;
inline constexpr std::int64_t max_read_opset = 20;
inline constexpr std::int64_t min_write_opset = 11;
inline constexpr std::int64_t max_write_opset = 20;

/// The IR version ONNX associates with a default-domain opset (onnx.helper.VERSION_TABLE).
[[nodiscard]] constexpr std::int64_t ir_version_for_opset(std::int64_t opset) noexcept {
    if (opset <= 8) return 3;
    if (opset == 9) return 4;
    if (opset == 10) return 5;
    if (opset == 11) return 6;
    if (opset <= 14) return 7;
    if (opset <= 18) return 8;
    return 9;
}

/// Lower-case name of an ONNX element type, for messages.
[[nodiscard]] constexpr std::string_view elem_type_name(std::int32_t t) noexcept {
    switch (t) {
    case pb::TensorProto_DataType_FLOAT: return "float32";
    case pb::TensorProto_DataType_UINT8: return "uint8";
    case pb::TensorProto_DataType_INT8: return "int8";
    case pb::TensorProto_DataType_UINT16: return "uint16";
    case pb::TensorProto_DataType_INT16: return "int16";
    case pb::TensorProto_DataType_INT32: return "int32";
    case pb::TensorProto_DataType_INT64: return "int64";
    case pb::TensorProto_DataType_STRING: return "string";
    case pb::TensorProto_DataType_BOOL: return "bool";
    case pb::TensorProto_DataType_FLOAT16: return "float16";
    case pb::TensorProto_DataType_DOUBLE: return "float64";
    case pb::TensorProto_DataType_UINT32: return "uint32";
    case pb::TensorProto_DataType_UINT64: return "uint64";
    case pb::TensorProto_DataType_COMPLEX64: return "complex64";
    case pb::TensorProto_DataType_COMPLEX128: return "complex128";
    case pb::TensorProto_DataType_BFLOAT16: return "bfloat16";
    case pb::TensorProto_DataType_UNDEFINED: return "undefined";
    default: return "unknown";
    }
}

/// The IR element type of an ONNX element type (`undefined` for UNDEFINED and unknown codes).
[[nodiscard]] constexpr ir::DType to_dtype(std::int32_t t) noexcept {
    switch (t) {
    case pb::TensorProto_DataType_FLOAT: return ir::DType::f32;
    case pb::TensorProto_DataType_INT64: return ir::DType::i64;
    case pb::TensorProto_DataType_INT32: return ir::DType::i32;
    case pb::TensorProto_DataType_BOOL: return ir::DType::boolean;
    case pb::TensorProto_DataType_FLOAT16: return ir::DType::f16;
    case pb::TensorProto_DataType_DOUBLE: return ir::DType::f64;
    case pb::TensorProto_DataType_BFLOAT16: return ir::DType::bf16;
    case pb::TensorProto_DataType_INT8: return ir::DType::i8;
    case pb::TensorProto_DataType_UINT8: return ir::DType::u8;
    case pb::TensorProto_DataType_INT16: return ir::DType::i16;
    case pb::TensorProto_DataType_UINT16: return ir::DType::u16;
    case pb::TensorProto_DataType_UINT32: return ir::DType::u32;
    case pb::TensorProto_DataType_UINT64: return ir::DType::u64;
    case pb::TensorProto_DataType_STRING: return ir::DType::string;
    case pb::TensorProto_DataType_COMPLEX64: return ir::DType::c64;
    case pb::TensorProto_DataType_COMPLEX128: return ir::DType::c128;
    default: return ir::DType::undefined;
    }
}

[[nodiscard]] constexpr std::int32_t to_elem_type(ir::DType t) noexcept {
    switch (t) {
    case ir::DType::f32: return pb::TensorProto_DataType_FLOAT;
    case ir::DType::i64: return pb::TensorProto_DataType_INT64;
    case ir::DType::i32: return pb::TensorProto_DataType_INT32;
    case ir::DType::boolean: return pb::TensorProto_DataType_BOOL;
    case ir::DType::f16: return pb::TensorProto_DataType_FLOAT16;
    case ir::DType::f64: return pb::TensorProto_DataType_DOUBLE;
    case ir::DType::bf16: return pb::TensorProto_DataType_BFLOAT16;
    case ir::DType::i8: return pb::TensorProto_DataType_INT8;
    case ir::DType::u8: return pb::TensorProto_DataType_UINT8;
    case ir::DType::i16: return pb::TensorProto_DataType_INT16;
    case ir::DType::u16: return pb::TensorProto_DataType_UINT16;
    case ir::DType::u32: return pb::TensorProto_DataType_UINT32;
    case ir::DType::u64: return pb::TensorProto_DataType_UINT64;
    case ir::DType::string: return pb::TensorProto_DataType_STRING;
    case ir::DType::c64: return pb::TensorProto_DataType_COMPLEX64;
    case ir::DType::c128: return pb::TensorProto_DataType_COMPLEX128;
    case ir::DType::undefined: break;
    }
    return pb::TensorProto_DataType_UNDEFINED;
}

/// `'path'`, for messages (escaped for display: see io::printable).
[[nodiscard]] inline std::string quoted(const std::filesystem::path& path) { return io::quoted(path); }

/// Largest protobuf message: 2 GB (protobuf's own limit; larger models keep their weights in external data).
inline constexpr std::uint64_t max_message_bytes = static_cast<std::uint64_t>(INT32_MAX);

/// The whole content of a file, at most `max_bytes` (checked before reading; a directory, FIFO,
/// device or socket is refused without reading from it); `io_error` naming the file otherwise.
[[nodiscard]] inline std::string read_file(const std::filesystem::path& path, std::uint64_t max_bytes = max_message_bytes) {
    return io::read_file(path, max_bytes, "a protobuf message (2 GB at most)");
}

/// Why protobuf refused `bytes` as a `d`: walks the wire format with an explicit stack (no
/// recursion), following the message-typed fields of the schema, and names the first problem:
/// nesting deeper than protobuf's recursion limit, a field running past the end of its message or
/// of the data, a malformed tag or wire type. Empty when it finds none.
[[nodiscard]] inline std::string diagnose_parse_failure(const ::google::protobuf::Descriptor* d, std::string_view bytes, int recursion_limit = 100) {
    namespace gp = ::google::protobuf;
    struct frame {
        std::size_t end;
        const gp::Descriptor* type; // null for a group or a field the schema does not know as a message
        std::string field;
        std::uint32_t group = 0;    // field number of an open group
    };
    std::vector<frame> stack{{bytes.size(), d, std::string(d ? d->full_name() : std::string("message")), 0}};
    std::size_t pos = 0;
    auto where = [&] { // "inside field 'graph.node.attribute'", long paths shortened in the middle
        std::string path;
        for (std::size_t k = 1; k < stack.size(); ++k) {
            if (stack.size() > 9 && k == 4) {
                path += ".(" + std::to_string(stack.size() - 7) + " more)";
                k = stack.size() - 4;
                continue;
            }
            path += (k > 1 ? "." : "") + stack[k].field;
        }
        return path.empty() ? std::string("at the top level") : "inside field '" + path + "'";
    };
    bool overlong = false; // the last varint that failed had more than 10 bytes (rather than running past the end)
    auto varint = [&](std::uint64_t& v) -> bool {
        v = 0;
        overlong = false;
        for (int shift = 0; shift < 70; shift += 7) {
            if (pos >= stack.back().end) return false;
            const auto b = static_cast<unsigned char>(bytes[pos++]);
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) return true;
        }
        overlong = true;
        return false;
    };
    auto bad_varint = [&](const std::string& what, std::size_t at) {
        return what + " at byte " + std::to_string(at) + " " + where() +
               (overlong ? " is a malformed varint (more than 10 bytes; not protobuf data, or corrupted)" : " runs past the end (truncated?)");
    };
    while (true) {
        while (stack.size() > 1 && pos == stack.back().end && stack.back().group == 0) stack.pop_back();
        if (pos >= bytes.size()) {
            if (stack.size() > 1) return "the data ends " + where() + " before the group is closed (truncated?)";
            return {};
        }
        const std::size_t tag_at = pos;
        std::uint64_t tag = 0;
        if (!varint(tag)) return bad_varint("a field tag", tag_at);
        const auto number = static_cast<std::uint32_t>(tag >> 3);
        const auto wire = static_cast<int>(tag & 7);
        if (number == 0) return "field number 0 at byte " + std::to_string(tag_at) + " " + where() + " (not protobuf data, or corrupted)";
        const gp::FieldDescriptor* f = stack.back().type ? stack.back().type->FindFieldByNumber(static_cast<int>(number)) : nullptr;
        std::string name; // built by appending: g++ 12 warns (-Wrestrict) on "literal" + std::string
        if (f) name = f->name();
        else name.append("#").append(std::to_string(number));
        std::uint64_t v = 0;
        switch (wire) {
        case 0:
            if (!varint(v)) return bad_varint("field '" + name + "'", tag_at);
            break;
        case 1:
        case 5: {
            const std::size_t n = wire == 1 ? 8 : 4;
            if (stack.back().end - pos < n) return "field '" + name + "' at byte " + std::to_string(tag_at) + " " + where() + " runs past the end (truncated?)";
            pos += n;
            break;
        }
        case 2: {
            if (!varint(v)) return bad_varint("the length of field '" + name + "'", tag_at);
            if (v > stack.back().end - pos)
                return "field '" + name + "' at byte " + std::to_string(tag_at) + " " + where() + " declares " + std::to_string(v) + " bytes but only " +
                       std::to_string(stack.back().end - pos) + " remain (truncated?)";
            if (f && f->type() == gp::FieldDescriptor::TYPE_MESSAGE) {
                if (static_cast<int>(stack.size()) > recursion_limit)
                    return "messages are nested more than " + std::to_string(recursion_limit) + " levels deep (at byte " + std::to_string(tag_at) + ", " +
                           where() + "), which is protobuf's recursion limit: a legitimate model does not nest this deep";
                stack.push_back({pos + static_cast<std::size_t>(v), f->message_type(), name, 0});
            } else {
                pos += static_cast<std::size_t>(v);
            }
            break;
        }
        case 3:
            if (static_cast<int>(stack.size()) > recursion_limit)
                return "groups are nested more than " + std::to_string(recursion_limit) + " levels deep (at byte " + std::to_string(tag_at) +
                       "), which is protobuf's recursion limit";
            stack.push_back({stack.back().end, nullptr, name, number});
            break;
        case 4:
            if (stack.back().group != number)
                return "an end-group tag at byte " + std::to_string(tag_at) + " " + where() + " closes a group that is not open (corrupted data)";
            stack.pop_back();
            break;
        default:
            return "invalid wire type " + std::to_string(wire) + " at byte " + std::to_string(tag_at) + " " + where() + " (not protobuf data, or corrupted)";
        }
    }
}

/// Parses `bytes` into a protobuf message; `io_error` naming `what` on failure, saying why when the
/// wire format shows it (truncation, nesting beyond protobuf's recursion limit, a bad tag).
template <class Message>
void parse(Message& m, const std::string& bytes, const std::string& what) {
    if (bytes.size() > static_cast<std::size_t>(INT32_MAX))
        throw io_error(what + ": larger than 2 GB, which a protobuf message cannot be (external data is not supported)");
    if (m.ParseFromString(bytes)) return;
    const std::string why = diagnose_parse_failure(m.GetDescriptor(), bytes);
    throw io_error(what + ": not a valid " + m.GetTypeName() + " (protobuf parsing failed: " +
                   (why.empty() ? std::string("the bytes are not a serialized ") + m.GetTypeName() : why) + ")");
}

/// Writes `bytes` to `path` atomically: into a fresh temporary file in the same directory, then
/// renamed over `path`. On any failure the temporary file is removed and `path` is untouched.
inline void write_file_atomically(const std::filesystem::path& path, const std::string& bytes) {
    namespace fs = std::filesystem;
    const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw io_error(quoted(path) + ": the directory '" + dir.string() + "' does not exist");
    std::random_device rd;
    std::FILE* f = nullptr;
    fs::path tmp;
    for (int attempt = 0; attempt < 16 && !f; ++attempt) {
        std::string name = ".";
        name.append(path.filename().string()).append(".tmp-").append(std::to_string(rd()));
        tmp = dir / name;
        f = std::fopen(tmp.string().c_str(), "wbx"); // "x": fail if it exists, never clobber another writer's file
    }
    if (!f) throw io_error(quoted(path) + ": cannot create a temporary file in '" + dir.string() + "'");
    const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0;
    const bool closed = std::fclose(f) == 0;
    if (!written || !closed) {
        fs::remove(tmp, ec);
        throw io_error(quoted(path) + ": writing failed (disk full?)");
    }
    fs::rename(tmp, path, ec);
    if (ec) {
        std::error_code ignored;
        fs::remove(tmp, ignored);
        throw io_error(quoted(path) + ": cannot replace the file: " + ec.message());
    }
}

/// A node, in `g` or a subgraph of it, whose attributes would crash libonnx's own shape inference
/// (1.12 divides by every value of `strides` in the inference of Conv, ConvTranspose, the pools and
/// LpPool: a 0 there is a SIGFPE, not an error); null when there is none. libonnx's inference runs
/// on what the library reads (for ops outside the catalogue) and on what it writes (the check), so
/// such a node must be found first. `what` receives the offending attribute's description.
[[nodiscard]] inline const pb::NodeProto* node_crashing_onnx_inference(const pb::GraphProto& g, std::string& what, int depth = 0) {
    if (depth > 64) return nullptr; // protobuf's parser bounds nesting long before this
    for (const auto& n : g.node())
        for (const auto& a : n.attribute()) {
            if (a.name() == "strides")
                for (const auto v : a.ints())
                    if (v <= 0) {
                        what = "attribute 'strides' holds " + std::to_string(v) + " (strides must be positive)";
                        return &n;
                    }
            if (a.has_g())
                if (const pb::NodeProto* inner = node_crashing_onnx_inference(a.g(), what, depth + 1)) return inner;
            for (const auto& sub : a.graphs())
                if (const pb::NodeProto* inner = node_crashing_onnx_inference(sub, what, depth + 1)) return inner;
        }
    return nullptr;
}

} // namespace surgery::onnx::detail
