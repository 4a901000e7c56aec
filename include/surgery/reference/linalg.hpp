// Gemm and MatMul reference kernels on Eigen's GEMM.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "surgery/reference/elementwise.hpp"
#include "surgery/reference/kernel.hpp"

namespace surgery::reference {
namespace kernels {

/// Gemm(A, B[, C]) = alpha * A' * B' + beta * C, with C broadcast (unidirectionally) to M x N.
inline void gemm(node_io& io, const ir::ops::Gemm& op) {
    const Tensor& a = io.float_input(0);
    const Tensor& b = io.float_input(1);
    const Tensor* c = io.has(2) ? &io.float_input(2) : nullptr;
    if (a.shape.size() != 2 || b.shape.size() != 2)
        io.fail("A and B must be 2-D, got " + ir::to_string(a.shape) + " and " + ir::to_string(b.shape));
    const bool ta = op.transA != 0, tb = op.transB != 0;
    const std::int64_t M = ta ? a.shape[1] : a.shape[0], K = ta ? a.shape[0] : a.shape[1];
    const std::int64_t K2 = tb ? b.shape[1] : b.shape[0], N = tb ? b.shape[0] : b.shape[1];
    if (K != K2)
        io.fail("inner dimensions differ: A " + ir::to_string(a.shape) + (ta ? " (transposed)" : "") + " and B " + ir::to_string(b.shape) +
                (tb ? " (transposed)" : ""));
    const Shape out{M, N};
    if (c) {
        Shape bc;
        if (c->shape.size() > 2 || !detail::broadcast_shapes(c->shape, out, bc) || bc != out)
            io.fail("C " + ir::to_string(c->shape) + " does not broadcast to " + ir::to_string(out));
    }
    const float* pa = a.f.data();
    const float* pb = b.f.data();
    float* py = io.alloc_floats(0, out);
    detail::MatrixMap Y(py, M, N);
    detail::ConstMatrixMap A(pa, a.shape[0], a.shape[1]);
    detail::ConstMatrixMap B(pb, b.shape[0], b.shape[1]);
    bool accumulate = false;
    if (c && op.beta != 0.0f) {
        const Shape& cs = c->shape;
        const std::int64_t cr = cs.size() == 2 ? cs[0] : 1, cc = cs.empty() ? 1 : cs.back();
        detail::ConstMatrixMap C(c->f.data(), cr, cc);
        if (cr == M && cc == N) Y = op.beta * C;
        else if (cr == 1 && cc == N) Y = (op.beta * C).replicate(M, 1);
        else if (cr == M && cc == 1) Y = (op.beta * C).replicate(1, N);
        else Y.setConstant(op.beta * c->f[0]);
        accumulate = true;
    }
    const float alpha = op.alpha;
    auto product = [&](const auto& lhs, const auto& rhs) {
        if (accumulate) Y.noalias() += alpha * (lhs * rhs);
        else Y.noalias() = alpha * (lhs * rhs);
    };
    if (M > 0 && N > 0) {
        if (K == 0 && !accumulate) Y.setZero();
        else if (!ta && !tb) product(A, B);
        else if (!ta && tb) product(A, B.transpose());
        else if (ta && !tb) product(A.transpose(), B);
        else product(A.transpose(), B.transpose());
    }
    apply_epilogue_columns(io.epilogue, py, M, N);
}

/// MatMul with numpy semantics: batched with broadcast batch dims, 1-D operands promoted and the
/// added dimension removed. A 2-D right operand is one GEMM over all rows of the left.
inline void matmul(node_io& io) {
    const Tensor& a = io.float_input(0);
    const Tensor& b = io.float_input(1);
    if (a.shape.empty() || b.shape.empty()) io.fail("inputs must have rank >= 1");
    Shape sa = a.shape, sb = b.shape;
    const bool a1 = sa.size() == 1, b1 = sb.size() == 1;
    if (a1) sa.insert(sa.begin(), 1);
    if (b1) sb.push_back(1);
    const std::int64_t M = sa[sa.size() - 2], K = sa.back(), K2 = sb[sb.size() - 2], N = sb.back();
    if (K != K2) io.fail("inner dimensions differ: " + ir::to_string(a.shape) + " x " + ir::to_string(b.shape));
    const Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
    Shape batch;
    if (!detail::broadcast_shapes(ba, bb, batch))
        io.fail("batch dimensions of " + ir::to_string(a.shape) + " and " + ir::to_string(b.shape) + " cannot be broadcast");
    Shape out = batch;
    if (!a1) out.push_back(M);
    if (!b1) out.push_back(N);
    const float* pa = a.f.data();
    const float* pb = b.f.data();
    float* py = io.alloc_floats(0, out);
    const std::int64_t total = ir::numel(out);
    if (total == 0) return;
    const std::int64_t last = out.empty() ? 1 : out.back(); // the epilogue's channel axis
    if (K == 0) {
        std::fill(py, py + total, 0.0f);
        apply_epilogue_columns(io.epilogue, py, total / last, last);
        return;
    }
    auto one = [&](const float* x, const float* w, float* y, std::int64_t rows) {
        detail::MatrixMap Y(y, rows, N);
        if (N == 1) Y.col(0).noalias() = detail::ConstMatrixMap(x, rows, K) * Eigen::Map<const Eigen::VectorXf>(w, K);
        else if (rows == 1) Y.row(0).noalias() = Eigen::Map<const Eigen::RowVectorXf>(x, K) * detail::ConstMatrixMap(w, K, N);
        else Y.noalias() = detail::ConstMatrixMap(x, rows, K) * detail::ConstMatrixMap(w, K, N);
    };
    if (bb.empty()) {
        // All rows of A against one matrix; with an epilogue, in row blocks that stay in cache.
        const std::int64_t rows = ir::numel(ba) * M;
        const std::int64_t block = io.epilogue.empty() || b1 ? rows : std::max<std::int64_t>(16, (64 * 1024) / std::max<std::int64_t>(N, 1));
        for (std::int64_t r0 = 0; r0 < rows; r0 += block) {
            const std::int64_t nr = std::min(block, rows - r0);
            one(pa + r0 * K, pb, py + r0 * N, nr);
            if (!b1) apply_epilogue_columns(io.epilogue, py + r0 * N, nr, N);
        }
        if (b1) apply_epilogue_columns(io.epilogue, py, total / last, last);
        return;
    }
    const detail::broadcast_plan p = detail::plan_broadcast(ba, bb, io);
    // Enumerate batch pairs with the broadcast machinery over matrix indices.
    std::vector<std::int64_t> ia(static_cast<std::size_t>(ir::numel(ba))), ib(static_cast<std::size_t>(ir::numel(bb)));
    for (std::size_t k = 0; k < ia.size(); ++k) ia[k] = static_cast<std::int64_t>(k);
    for (std::size_t k = 0; k < ib.size(); ++k) ib[k] = static_cast<std::int64_t>(k);
    std::vector<std::int64_t> pairs_a(static_cast<std::size_t>(ir::numel(batch))), pairs_b(pairs_a.size());
    detail::scalar_binary(p, ia.data(), ib.data(), pairs_a.data(), [](std::int64_t u, std::int64_t) { return u; });
    detail::scalar_binary(p, ia.data(), ib.data(), pairs_b.data(), [](std::int64_t, std::int64_t v) { return v; });
    for (std::size_t k = 0; k < pairs_a.size(); ++k) one(pa + pairs_a[k] * M * K, pb + pairs_b[k] * K * N, py + static_cast<std::int64_t>(k) * M * N, M);
    apply_epilogue_columns(io.epilogue, py, total / last, last);
}

} // namespace kernels

/// The kernels of this family, as overloads of `kernel` (found by kernels.hpp's dispatch).
inline void kernel(const ir::ops::Gemm& op, node_io& io) { kernels::gemm(io, op); }
inline void kernel(const ir::ops::MatMul&, node_io& io) { kernels::matmul(io); }

} // namespace surgery::reference
