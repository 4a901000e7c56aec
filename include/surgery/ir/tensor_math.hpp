// Weight math as algebra: element-wise arithmetic with broadcasting, scaling along an axis,
// centre crops, reshapes and permutations of ir::Tensor, for rules that rewrite weights.
//
//   const Tensor s = gamma / sqrt(var + eps);          // BatchNorm folding in two lines
//   const Tensor w2 = scale_along(w, s, 0);
//   const Tensor b2 = (b - mean) * s + beta;
//
// Float32 tensors only (weights); every function checks shapes and throws `surgery::error` with
// the operation and the shapes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/tensor.hpp"

namespace surgery::ir {

namespace detail {
inline void require_float(const Tensor& t, const char* what) {
    if (t.dtype != DType::f32) throw error(std::string("ir::") + what + ": needs a float32 tensor, got " + std::string(to_string(t.dtype)));
    if (static_cast<std::int64_t>(t.f.size()) != numel(t.shape))
        throw error(std::string("ir::") + what + ": tensor holds " + std::to_string(t.f.size()) + " values for shape " + to_string(t.shape));
}

/// Numpy broadcasting of `a` and `b` with `op` per element.
template <class Op>
Tensor broadcast_binary(const Tensor& a, const Tensor& b, Op op, const char* what) {
    require_float(a, what);
    require_float(b, what);
    const std::size_t r = std::max(a.shape.size(), b.shape.size());
    Shape out(r, 1);
    for (std::size_t i = 0; i < r; ++i) {
        const std::int64_t da = i < r - a.shape.size() ? 1 : a.shape[i - (r - a.shape.size())];
        const std::int64_t db = i < r - b.shape.size() ? 1 : b.shape[i - (r - b.shape.size())];
        if (da != db && da != 1 && db != 1)
            throw error(std::string("ir::") + what + ": shapes " + to_string(a.shape) + " and " + to_string(b.shape) + " do not broadcast");
        out[i] = da == 1 ? db : da;
    }
    Tensor y = Tensor::zeros(out);
    if (y.f.empty()) return y;
    // Strides of a and b in the output's index space (0 along broadcast dims).
    std::vector<std::int64_t> sa(r, 0), sb(r, 0);
    for (std::int64_t i = static_cast<std::int64_t>(r) - 1, ka = 1, kb = 1; i >= 0; --i) {
        const auto u = static_cast<std::size_t>(i);
        const std::int64_t da = u < r - a.shape.size() ? 1 : a.shape[u - (r - a.shape.size())];
        const std::int64_t db = u < r - b.shape.size() ? 1 : b.shape[u - (r - b.shape.size())];
        sa[u] = da == 1 ? 0 : ka;
        sb[u] = db == 1 ? 0 : kb;
        ka *= da;
        kb *= db;
    }
    std::vector<std::int64_t> idx(r, 0);
    std::int64_t ia = 0, ib = 0;
    for (std::size_t k = 0; k < y.f.size(); ++k) {
        y.f[k] = op(a.f[static_cast<std::size_t>(ia)], b.f[static_cast<std::size_t>(ib)]);
        for (std::size_t d = r; d-- > 0;) {
            ia += sa[d];
            ib += sb[d];
            if (++idx[d] < out[d]) break;
            ia -= sa[d] * out[d];
            ib -= sb[d] * out[d];
            idx[d] = 0;
        }
    }
    return y;
}

template <class F>
Tensor map(const Tensor& t, F f, const char* what) {
    require_float(t, what);
    Tensor y = t;
    for (float& v : y.f) v = f(v);
    return y;
}
} // namespace detail

[[nodiscard]] inline Tensor operator+(const Tensor& a, const Tensor& b) { return detail::broadcast_binary(a, b, [](float x, float y) { return x + y; }, "add"); }
[[nodiscard]] inline Tensor operator-(const Tensor& a, const Tensor& b) { return detail::broadcast_binary(a, b, [](float x, float y) { return x - y; }, "sub"); }
[[nodiscard]] inline Tensor operator*(const Tensor& a, const Tensor& b) { return detail::broadcast_binary(a, b, [](float x, float y) { return x * y; }, "mul"); }
[[nodiscard]] inline Tensor operator/(const Tensor& a, const Tensor& b) { return detail::broadcast_binary(a, b, [](float x, float y) { return x / y; }, "div"); }
[[nodiscard]] inline Tensor operator+(const Tensor& a, float s) { return detail::map(a, [s](float x) { return x + s; }, "add"); }
[[nodiscard]] inline Tensor operator-(const Tensor& a, float s) { return detail::map(a, [s](float x) { return x - s; }, "sub"); }
[[nodiscard]] inline Tensor operator*(const Tensor& a, float s) { return detail::map(a, [s](float x) { return x * s; }, "mul"); }
[[nodiscard]] inline Tensor operator/(const Tensor& a, float s) { return detail::map(a, [s](float x) { return x / s; }, "div"); }
[[nodiscard]] inline Tensor sqrt(const Tensor& a) { return detail::map(a, [](float x) { return std::sqrt(x); }, "sqrt"); }

/// `t` with every slice along `axis` multiplied by the matching element of the 1-D `s`
/// (BatchNorm folding: the output channels of a Conv weight are axis 0).
[[nodiscard]] inline Tensor scale_along(const Tensor& t, const Tensor& s, std::size_t axis) {
    detail::require_float(t, "scale_along");
    detail::require_float(s, "scale_along");
    if (axis >= t.shape.size() || s.shape.size() != 1 || s.shape[0] != t.shape[axis])
        throw error("ir::scale_along: scale " + to_string(s.shape) + " does not match axis " + std::to_string(axis) + " of " + to_string(t.shape));
    Shape bs(t.shape.size(), 1);
    bs[axis] = t.shape[axis];
    Tensor sb = s;
    sb.shape = bs;
    return t * sb;
}

/// The centre `size` window of the trailing dims of `t` (a 3x3 kernel cut out of a 7x7 one).
[[nodiscard]] inline Tensor centre_crop(const Tensor& t, const Shape& size) {
    detail::require_float(t, "centre_crop");
    const std::size_t r = t.shape.size(), k = size.size();
    if (k > r) throw error("ir::centre_crop: " + to_string(size) + " has more dims than " + to_string(t.shape));
    Shape out = t.shape;
    std::vector<std::int64_t> off(r, 0);
    for (std::size_t i = 0; i < k; ++i) {
        const std::size_t d = r - k + i;
        if (size[i] > t.shape[d] || size[i] < 0 || (t.shape[d] - size[i]) % 2 != 0)
            throw error("ir::centre_crop: cannot cut " + to_string(size) + " out of the centre of " + to_string(t.shape));
        out[d] = size[i];
        off[d] = (t.shape[d] - size[i]) / 2;
    }
    Tensor y = Tensor::zeros(out);
    std::vector<std::int64_t> idx(r, 0), stride(r, 1);
    for (std::size_t d = r; d-- > 1;) stride[d - 1] = stride[d] * t.shape[d];
    for (std::size_t e = 0; e < y.f.size(); ++e) {
        std::int64_t src = 0;
        for (std::size_t d = 0; d < r; ++d) src += (idx[d] + off[d]) * stride[d];
        y.f[e] = t.f[static_cast<std::size_t>(src)];
        for (std::size_t d = r; d-- > 0;) {
            if (++idx[d] < out[d]) break;
            idx[d] = 0;
        }
    }
    return y;
}

/// `t` with its axes permuted (`y.shape[i] == t.shape[perm[i]]`).
[[nodiscard]] inline Tensor permute(const Tensor& t, const std::vector<std::size_t>& perm) {
    detail::require_float(t, "permute");
    const std::size_t r = t.shape.size();
    if (perm.size() != r) throw error("ir::permute: perm has " + std::to_string(perm.size()) + " axes for " + to_string(t.shape));
    Shape out(r);
    std::vector<std::int64_t> stride(r, 1);
    for (std::size_t d = r; d-- > 1;) stride[d - 1] = stride[d] * t.shape[d];
    std::vector<std::int64_t> pst(r);
    for (std::size_t i = 0; i < r; ++i) {
        if (perm[i] >= r) throw error("ir::permute: axis " + std::to_string(perm[i]) + " out of range for " + to_string(t.shape));
        out[i] = t.shape[perm[i]];
        pst[i] = stride[perm[i]];
    }
    Tensor y = Tensor::zeros(out);
    std::vector<std::int64_t> idx(r, 0);
    std::int64_t src = 0;
    for (std::size_t e = 0; e < y.f.size(); ++e) {
        y.f[e] = t.f[static_cast<std::size_t>(src)];
        for (std::size_t d = r; d-- > 0;) {
            src += pst[d];
            if (++idx[d] < out[d]) break;
            src -= pst[d] * out[d];
            idx[d] = 0;
        }
    }
    return y;
}

/// `t` with shape `s` (same element count).
[[nodiscard]] inline Tensor reshape(Tensor t, Shape s) {
    if (numel(s) != t.size()) throw error("ir::reshape: " + to_string(t.shape) + " cannot become " + to_string(s));
    t.shape = std::move(s);
    return t;
}

/// The element of `t` at `index` (row-major), for weights built cell by cell (one-hot kernels).
[[nodiscard]] inline float& at(Tensor& t, std::initializer_list<std::int64_t> index) {
    detail::require_float(t, "at");
    if (index.size() != t.shape.size()) throw error("ir::at: " + std::to_string(index.size()) + " indices for " + to_string(t.shape));
    std::int64_t off = 0;
    std::size_t d = 0;
    for (std::int64_t i : index) {
        if (i < 0 || i >= t.shape[d]) throw error("ir::at: index " + std::to_string(i) + " out of range for " + to_string(t.shape));
        off = off * t.shape[d] + i;
        ++d;
    }
    return t.f[static_cast<std::size_t>(off)];
}

/// A [channels, 1, k, k] depthwise kernel that passes its input through (1 at the centre).
[[nodiscard]] inline Tensor dirac(std::int64_t channels, std::int64_t k) {
    Tensor w = Tensor::zeros({channels, 1, k, k});
    for (std::int64_t c = 0; c < channels; ++c) at(w, {c, 0, k / 2, k / 2}) = 1.0f;
    return w;
}

/// A 1-D float tensor of `n` copies of `v`.
[[nodiscard]] inline Tensor filled(std::int64_t n, float v) {
    return Tensor::floats({n}, std::vector<float>(static_cast<std::size_t>(n), v));
}

} // namespace surgery::ir
