// Helpers of the reference-layer tests: random tensors, tolerant comparison, single-op evaluation.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "surgery/ir.hpp"
#include "surgery/reference.hpp"

namespace reftest {

using surgery::ir::DType;
using surgery::ir::Shape;
using surgery::ir::Tensor;
namespace ops = surgery::ir::ops;
namespace ref = surgery::reference;

inline Tensor random_tensor(const Shape& s, std::mt19937_64& rng, float lo = -1.0f, float hi = 1.0f) {
    return Tensor::uniform(s, rng, lo, hi);
}

inline Tensor iota(const Shape& s, float start = 1.0f) {
    std::vector<float> v(static_cast<std::size_t>(surgery::ir::numel(s)));
    for (std::size_t k = 0; k < v.size(); ++k) v[k] = start + static_cast<float>(k);
    return Tensor::floats(s, std::move(v));
}

/// Max |a - b| / max(1, |b|) over the elements; shapes must match.
inline double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    double m = 0.0;
    for (std::size_t k = 0; k < a.size(); ++k) {
        const double d = std::abs(static_cast<double>(a[k]) - static_cast<double>(b[k])) / std::max(1.0, std::abs(static_cast<double>(b[k])));
        if (std::isnan(d)) return INFINITY;
        m = std::max(m, d);
    }
    return m;
}

/// Runs one op through `reference::evaluate`.
inline std::vector<Tensor> eval(const surgery::ir::Op& op, const std::vector<const Tensor*>& in, std::size_t nout = 1,
                                ref::kernel_options opt = {}) {
    return ref::evaluate(op, in, nout, opt, "node_under_test");
}
inline Tensor eval1(const surgery::ir::Op& op, const std::vector<const Tensor*>& in, ref::kernel_options opt = {}) {
    return eval(op, in, 1, opt)[0];
}

/// Row-major multi-index of flat position `k` in `s`.
inline std::vector<std::int64_t> unravel(std::int64_t k, const Shape& s) {
    std::vector<std::int64_t> idx(s.size());
    for (std::size_t d = s.size(); d-- > 0;) {
        idx[d] = s[d] == 0 ? 0 : k % s[d];
        k = s[d] == 0 ? 0 : k / s[d];
    }
    return idx;
}
inline std::int64_t ravel(const std::vector<std::int64_t>& idx, const Shape& s) {
    std::int64_t k = 0;
    for (std::size_t d = 0; d < s.size(); ++d) k = k * s[d] + idx[d];
    return k;
}

} // namespace reftest
