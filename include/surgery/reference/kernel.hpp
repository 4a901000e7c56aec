// What a reference kernel sees of its node (node_io), storage recycling (buffer_pool), fused activations.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <climits>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

#include "surgery/error.hpp"
#include "surgery/ir/ops.hpp"
#include "surgery/ir/tensor.hpp"

namespace surgery::reference {

using ir::DType;
using ir::Shape;
using ir::Tensor;

/// Recycles tensor storage between kernels and between runs, so that steady-state inference does
/// not call the allocator (nor take page faults on fresh memory). Best fit by capacity.
class buffer_pool {
public:
    /// A float vector of `n` elements whose contents are unspecified: the caller overwrites them.
    [[nodiscard]] std::vector<float> take_floats(std::size_t n) { return take(floats_, n); }
    [[nodiscard]] std::vector<std::int64_t> take_ints(std::size_t n) { return take(ints_, n); }

    void give(std::vector<float>&& v) { keep(floats_, std::move(v)); }
    void give(std::vector<std::int64_t>&& v) { keep(ints_, std::move(v)); }
    /// Takes back the storage of `t`, leaving it empty.
    void give(Tensor&& t) {
        give(std::move(t.f));
        give(std::move(t.i));
        t.f = {};
        t.i = {};
    }

    /// Bytes held for reuse.
    [[nodiscard]] std::size_t bytes() const noexcept {
        std::size_t b = 0;
        for (const auto& v : floats_) b += v.capacity() * sizeof(float);
        for (const auto& v : ints_) b += v.capacity() * sizeof(std::int64_t);
        return b;
    }
    void clear() noexcept {
        floats_.clear();
        ints_.clear();
    }

private:
    template <class T>
    static std::vector<T> take(std::vector<std::vector<T>>& list, std::size_t n) {
        std::size_t best = list.size();
        for (std::size_t k = 0; k < list.size(); ++k)
            if (list[k].capacity() >= n && (best == list.size() || list[k].capacity() < list[best].capacity())) best = k;
        if (best == list.size()) return std::vector<T>(n);
        std::vector<T> v = std::move(list[best]);
        list[best] = std::move(list.back());
        list.pop_back();
        v.resize(n); // only grows into the tail: no pass over reused elements
        return v;
    }
    template <class T>
    static void keep(std::vector<std::vector<T>>& list, std::vector<T>&& v) {
        if (v.capacity() > 0) list.push_back(std::move(v));
    }

    std::vector<std::vector<float>> floats_;
    std::vector<std::vector<std::int64_t>> ints_;
};

/// An element-wise function applied to a kernel's output while it is still in cache ("epilogue").
/// The executor fuses Conv/Gemm/MatMul with a following activation this way; the stand-alone
/// activation kernels use the same code, so fused and unfused results agree.
enum class activation_kind : std::uint8_t {
    none,
    relu,
    clip,         ///< min(max(x, alpha), beta)
    leaky_relu,   ///< x >= 0 ? x : alpha * x
    hard_sigmoid, ///< clamp(alpha * x + beta, 0, 1)
    hard_swish,   ///< x * hard_sigmoid(x); HardSwish is alpha = 1/6, beta = 1/2
    sigmoid,
    swish,        ///< x * sigmoid(x)
    tanh,
    gelu,         ///< 0.5 x (1 + erf(x / sqrt 2))
    gelu_tanh,    ///< 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
    sqrt,
    erf,
};

struct activation {
    activation_kind kind = activation_kind::none;
    float alpha = 0.0f;
    float beta = 0.0f;
    friend bool operator==(const activation&, const activation&) = default;
};

[[nodiscard]] constexpr std::string_view to_string(activation_kind k) noexcept {
    switch (k) {
    case activation_kind::none: return "none";
    case activation_kind::relu: return "relu";
    case activation_kind::clip: return "clip";
    case activation_kind::leaky_relu: return "leaky_relu";
    case activation_kind::hard_sigmoid: return "hard_sigmoid";
    case activation_kind::hard_swish: return "hard_swish";
    case activation_kind::sigmoid: return "sigmoid";
    case activation_kind::swish: return "swish";
    case activation_kind::tanh: return "tanh";
    case activation_kind::gelu: return "gelu";
    case activation_kind::gelu_tanh: return "gelu_tanh";
    case activation_kind::sqrt: return "sqrt";
    case activation_kind::erf: return "erf";
    }
    return "?";
}

namespace detail {

using Index = Eigen::Index;
using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMatrix>;
using ConstMatrixMap = Eigen::Map<const RowMatrix>;
using StridedMatrixMap = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;
using ConstStridedMatrixMap = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;

/// Calls `f(fn)` with `fn(x, y)` assigning the activation of Eigen array expression `x` to `y`.
/// The math is the ops' own `eval` (ir/ops/elementwise.hpp), so fused and stand-alone agree.
template <class F>
void visit_activation(const activation& a, F&& f) {
    namespace ops = ir::ops;
    const float al = a.alpha, be = a.beta;
    switch (a.kind) {
    case activation_kind::none: f([](const auto& x, auto& y) { y = x; }); return;
    case activation_kind::relu: f([](const auto& x, auto& y) { ops::Relu{}.eval(x, y); }); return;
    case activation_kind::clip: f([al, be](const auto& x, auto& y) { y = x.max(al).min(be); }); return;
    case activation_kind::leaky_relu: f([al](const auto& x, auto& y) { ops::LeakyRelu{al}.eval(x, y); }); return;
    case activation_kind::hard_sigmoid: f([al, be](const auto& x, auto& y) { ops::HardSigmoid{al, be}.eval(x, y); }); return;
    case activation_kind::hard_swish: f([al, be](const auto& x, auto& y) { y = x * (al * x + be).max(0.0f).min(1.0f); }); return;
    case activation_kind::sigmoid: f([](const auto& x, auto& y) { ops::Sigmoid{}.eval(x, y); }); return;
    case activation_kind::swish: f([](const auto& x, auto& y) { y = x * x.logistic(); }); return;
    case activation_kind::tanh: f([](const auto& x, auto& y) { ops::Tanh{}.eval(x, y); }); return;
    case activation_kind::gelu: {
        static const ops::Gelu erf_form{};
        f([](const auto& x, auto& y) { erf_form.eval(x, y); });
        return;
    }
    case activation_kind::gelu_tanh: {
        static const ops::Gelu tanh_form{"tanh"};
        f([](const auto& x, auto& y) { tanh_form.eval(x, y); });
        return;
    }
    case activation_kind::sqrt: f([](const auto& x, auto& y) { ops::Sqrt{}.eval(x, y); }); return;
    case activation_kind::erf: f([](const auto& x, auto& y) { ops::Erf{}.eval(x, y); }); return;
    }
}

} // namespace detail

/// y[i] = act(x[i]) for i < n; `x` may equal `y`.
inline void apply_activation(const activation& a, const float* x, float* y, std::size_t n) {
    if (n == 0 || (a.kind == activation_kind::none && x == y)) return;
    detail::ArrayMap Y(y, static_cast<detail::Index>(n));
    detail::ConstArrayMap X(x, static_cast<detail::Index>(n));
    detail::visit_activation(a, [&](auto fn) { fn(X, Y); });
}

/// y[i] = act(y[i] + bias) for i < n (the per-channel epilogue of Conv).
inline void apply_bias_activation(const activation& a, float* y, std::size_t n, float bias) {
    if (n == 0) return;
    detail::ArrayMap Y(y, static_cast<detail::Index>(n));
    if (bias == 0.0f) {
        if (a.kind == activation_kind::none) return;
        detail::visit_activation(a, [&](auto fn) { fn(Y, Y); });
    } else {
        detail::visit_activation(a, [&](auto fn) { fn(Y + bias, Y); });
    }
}

/// One element-wise step fused after a Conv/Gemm/MatMul (see `epilogue`).
struct fused_op {
    enum class kind : std::uint8_t {
        act,      ///< `activation`
        add,      ///< x + v
        sub,      ///< x - v
        mul,      ///< x * v
        div,      ///< x / v
    };
    kind k = kind::act;
    activation a;
    /// add/sub/mul/div: one value, or one per channel (Conv: output channel; Gemm/MatMul: column).
    std::shared_ptr<const Tensor> operand;

    [[nodiscard]] float value(std::int64_t channel) const noexcept {
        return operand->f.size() == 1 ? operand->f[0] : operand->f[static_cast<std::size_t>(channel)];
    }
};

/// Element-wise work a Conv/Gemm/MatMul applies to its output while it is in cache: the
/// executor moves the chain of element-wise nodes that alone consume the output here (Relu,
/// HardSwish, bias Add, layer-scale Mul, GELU, x * sigmoid(x), ...). Each step computes what the
/// node it replaces computes, in the same order.
struct epilogue {
    std::vector<fused_op> ops;

    [[nodiscard]] bool empty() const noexcept { return ops.empty(); }
    /// The epilogue that is one activation.
    static epilogue of(const activation& a) {
        epilogue e;
        if (a.kind != activation_kind::none) e.ops.push_back({fused_op::kind::act, a, nullptr});
        return e;
    }
};

namespace detail {

inline void apply_fused(const fused_op& op, float* y, std::size_t n, float v) {
    ArrayMap Y(y, static_cast<Index>(n));
    switch (op.k) {
    case fused_op::kind::act: apply_activation(op.a, y, y, n); break;
    case fused_op::kind::add: Y += v; break;
    case fused_op::kind::sub: Y -= v; break;
    case fused_op::kind::mul: Y *= v; break;
    case fused_op::kind::div: Y /= v; break;
    }
}

} // namespace detail

/// Applies `e` to `n` outputs of channel `channel`, after adding `bias` (Conv's epilogue).
inline void apply_epilogue(const epilogue& e, float* y, std::size_t n, std::int64_t channel, float bias = 0.0f) {
    if (n == 0) return;
    if (e.ops.size() <= 1 && (e.ops.empty() || e.ops[0].k == fused_op::kind::act)) {
        apply_bias_activation(e.ops.empty() ? activation{} : e.ops[0].a, y, n, bias);
        return;
    }
    if (bias != 0.0f) detail::ArrayMap(y, static_cast<detail::Index>(n)) += bias;
    for (const fused_op& op : e.ops) detail::apply_fused(op, y, n, op.operand ? op.value(channel) : 0.0f);
}

/// Applies `e` to a row-major `rows` x `cols` block whose channel is the column (Gemm/MatMul).
inline void apply_epilogue_columns(const epilogue& e, float* y, std::int64_t rows, std::int64_t cols) {
    if (rows == 0 || cols == 0) return;
    const auto n = static_cast<std::size_t>(rows * cols);
    detail::MatrixMap Y(y, rows, cols);
    for (const fused_op& op : e.ops) {
        if (!op.operand || op.operand->f.size() == 1) {
            detail::apply_fused(op, y, n, op.operand ? op.operand->f[0] : 0.0f);
            continue;
        }
        const Eigen::Map<const Eigen::RowVectorXf> v(op.operand->f.data(), cols);
        switch (op.k) {
        case fused_op::kind::add: Y.rowwise() += v; break;
        case fused_op::kind::sub: Y.rowwise() -= v; break;
        case fused_op::kind::mul: Y.array().rowwise() *= v.array(); break;
        case fused_op::kind::div: Y.array().rowwise() /= v.array(); break;
        default: break;
        }
    }
}

/// Which convolution algorithm to use; `automatic` picks the fastest applicable one. The others
/// exist so that tests can check every path against the others (a forced path that does not apply
/// is an error).
enum class conv_algorithm : std::uint8_t {
    automatic,
    gemm,      ///< 1x1 kernel, stride 1, no padding: one GEMM per image and group
    depthwise, ///< one input channel per group, 1-D or 2-D: direct loop over a padded plane
    im2col,    ///< any convolution: patch matrix + GEMM
};

/// Per-call options of the kernels.
struct kernel_options {
    conv_algorithm conv = conv_algorithm::automatic;
    /// ONNX opset of the model, for ops whose semantics changed (Softmax before 13 works on the
    /// input coerced to 2-D).
    std::int64_t opset = 17;
};

/// Everything one kernel call sees: its inputs, where its outputs go, scratch memory, the
/// activation to fuse, and the node's name for error messages.
struct node_io {
    std::string_view node;                      ///< node label, named by errors
    std::string_view op;                        ///< op type name
    std::span<const Tensor* const> inputs;      ///< nullptr for an omitted optional input
    std::span<Tensor* const> consumable;        ///< empty, or per input: non-null when the kernel may take its storage
    std::span<Tensor> outputs;                  ///< one per node output, filled by the kernel
    buffer_pool* pool = nullptr;                ///< where output storage comes from (nullptr: allocate)
    std::vector<float>* scratch = nullptr;      ///< reusable work memory (im2col, padded planes)
    reference::epilogue epilogue;               ///< fused element-wise work (Conv, Gemm, MatMul only)
    kernel_options options;
    /// Memory budget: bytes the executor holds in live tensors before this step, and the most it
    /// may hold (0: no limit). An output or scratch allocation beyond it fails before allocating.
    std::size_t live_bytes = 0;
    std::size_t max_bytes = 0;

    [[nodiscard]] std::size_t num_inputs() const noexcept { return inputs.size(); }
    [[nodiscard]] std::size_t num_outputs() const noexcept { return outputs.size(); }
    [[nodiscard]] bool has(std::size_t i) const noexcept { return i < inputs.size() && inputs[i] != nullptr; }
    [[nodiscard]] const Tensor& in(std::size_t i) const {
        if (!has(i)) fail("input " + std::to_string(i) + " is missing");
        return *inputs[i];
    }
    /// Input `i` if the kernel may reuse its storage (its last use, not a graph input or constant).
    [[nodiscard]] Tensor* take(std::size_t i) const noexcept { return i < consumable.size() ? consumable[i] : nullptr; }
    [[noreturn]] void fail(const std::string& message) const {
        throw graph_error(std::string(node), std::string(op) + ": " + message);
    }

    /// Fails, naming the output and the budget, when `count` elements of `width` bytes would take
    /// the executor beyond its memory budget; otherwise counts them.
    void reserve(std::size_t count, std::size_t width, const std::string& what) {
        if (count > (std::size_t{1} << 60) / width) fail(what + " would need more than 2^60 bytes");
        const std::size_t bytes = count * width;
        if (max_bytes && (bytes > max_bytes || live_bytes > max_bytes - bytes))
            fail(what + " needs " + std::to_string(bytes) + " bytes, with " + std::to_string(live_bytes) +
                 " already live: beyond the memory budget of " + std::to_string(max_bytes) + " bytes (--max-memory)");
        live_bytes += bytes;
    }
    static std::size_t checked_count(const Shape& s) {
        std::size_t n = 1;
        for (auto d : s) {
            if (d < 0) return SIZE_MAX;
            if (d != 0 && n > (std::size_t{1} << 60) / static_cast<std::size_t>(d)) return SIZE_MAX;
            n *= static_cast<std::size_t>(d);
        }
        return n;
    }

    /// Float output `o` of shape `s`; its contents are unspecified.
    float* alloc_floats(std::size_t o, Shape s) {
        Tensor& t = outputs[o];
        const std::size_t n = checked_count(s);
        if (n == SIZE_MAX) fail("output " + std::to_string(o) + " has shape " + ir::to_string(s) + ", too large or unknown");
        reserve(n, sizeof(float), "output " + std::to_string(o) + " " + ir::to_string(s));
        recycle(t);
        t.dtype = DType::f32;
        t.shape = std::move(s);
        t.f = pool ? pool->take_floats(n) : std::vector<float>(n);
        return t.f.data();
    }
    /// Integer (int64, int32 or bool, stored as int64) output `o` of shape `s`; contents unspecified.
    std::int64_t* alloc_ints(std::size_t o, Shape s, DType type = DType::i64) {
        Tensor& t = outputs[o];
        const std::size_t n = checked_count(s);
        if (n == SIZE_MAX) fail("output " + std::to_string(o) + " has shape " + ir::to_string(s) + ", too large or unknown");
        reserve(n, sizeof(std::int64_t), "output " + std::to_string(o) + " " + ir::to_string(s));
        recycle(t);
        t.dtype = type;
        t.shape = std::move(s);
        t.i = pool ? pool->take_ints(n) : std::vector<std::int64_t>(n);
        return t.i.data();
    }
    /// Output `o` becomes input `i` with shape `s` (same element count), moving the storage when
    /// allowed and copying it otherwise. Used by the ops that only relabel the shape.
    void forward(std::size_t o, std::size_t i, Shape s) {
        const Tensor& x = in(i);
        check_storage(x, i);
        if (Tensor* src = take(i)) {
            Tensor& t = outputs[o];
            recycle(t);
            t = std::move(*src);
            t.shape = std::move(s);
            return;
        }
        if (x.dtype == DType::f32) std::copy(x.f.begin(), x.f.end(), alloc_floats(o, std::move(s)));
        else std::copy(x.i.begin(), x.i.end(), alloc_ints(o, std::move(s), x.dtype));
    }
    /// Float output `o` of shape `s` computed in place over input `i` when its storage may be taken
    /// and has that many elements; otherwise fresh storage. Returns the output data.
    float* reuse_or_alloc(std::size_t o, std::size_t i, Shape s) {
        Tensor* src = take(i);
        if (src && src->dtype == DType::f32 && static_cast<std::int64_t>(src->f.size()) == ir::numel(s)) {
            Tensor& t = outputs[o];
            recycle(t);
            t = std::move(*src);
            t.shape = std::move(s);
            return t.f.data();
        }
        return alloc_floats(o, std::move(s));
    }

    /// Scratch memory of at least `n` floats (contents unspecified).
    float* scratch_floats(std::size_t n) {
        if (!scratch || scratch->size() < n) reserve(n - (scratch ? scratch->size() : 0), sizeof(float), "work memory");
        if (!scratch) {
            local_scratch_.resize(n);
            return local_scratch_.data();
        }
        if (scratch->size() < n) scratch->resize(n);
        return scratch->data();
    }

    // ---- checks shared by the kernels -----------------------------------------------------
    const Tensor& float_input(std::size_t i) const {
        const Tensor& t = in(i);
        if (t.dtype != DType::f32) fail("input " + std::to_string(i) + " must be float32, got " + std::string(ir::to_string(t.dtype)));
        check_storage(t, i);
        return t;
    }
    void check_storage(const Tensor& t, std::size_t i) const {
        const std::size_t have = t.dtype == DType::f32 ? t.f.size() : t.i.size();
        if (static_cast<std::int64_t>(have) != ir::numel(t.shape))
            fail("input " + std::to_string(i) + " holds " + std::to_string(have) + " values for shape " + ir::to_string(t.shape));
    }

private:
    void recycle(Tensor& t) {
        if (pool) pool->give(std::move(t));
        t.f.clear();
        t.i.clear();
    }
    std::vector<float> local_scratch_;
};

namespace detail {

/// `axis` in [-rank, rank) made non-negative; fails naming `what` otherwise.
[[nodiscard]] inline std::int64_t norm_axis(const node_io& io, std::int64_t axis, std::size_t rank, std::string_view what = "axis") {
    const auto r = static_cast<std::int64_t>(rank);
    if (axis < -r || axis >= r)
        io.fail(std::string(what) + " " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
    return axis < 0 ? axis + r : axis;
}

[[nodiscard]] inline std::int64_t product(const Shape& s, std::size_t from, std::size_t to) {
    std::int64_t p = 1;
    for (std::size_t k = from; k < to && k < s.size(); ++k) p *= s[k];
    return p;
}

/// Row-major strides of `s`.
[[nodiscard]] inline std::vector<std::int64_t> strides_of(const Shape& s) {
    std::vector<std::int64_t> st(s.size(), 1);
    for (std::size_t k = s.size(); k-- > 1;) st[k - 1] = st[k] * s[k];
    return st;
}

} // namespace detail

} // namespace surgery::reference
