// Ridge-regularised least squares for a linear layer: the weights and bias that best map the lite
// network's input of a Conv (im2col patches, per group; per channel for depthwise), Gemm or MatMul
// to the original network's output of that layer on calibration data.
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/tensor.hpp"

namespace surgery::calibrate {

/// Geometry of a 2-D convolution (NCHW), enough for im2col.
struct conv_geometry {
    std::int64_t cin = 0, cout = 0, groups = 1, kh = 1, kw = 1;
    std::int64_t stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
    std::int64_t pad_top = 0, pad_left = 0;
    std::int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;

    [[nodiscard]] std::int64_t cin_g() const noexcept { return cin / groups; }
    [[nodiscard]] std::int64_t cout_g() const noexcept { return cout / groups; }
    /// Unknowns per output channel: the group's patch plus the bias.
    [[nodiscard]] std::int64_t k() const noexcept { return cin_g() * kh * kw + 1; }
};

/// Normal equations of min ||X W - Y||^2 for several independent groups, accumulated chunk by chunk.
/// The last row of W is the bias (X has a trailing column of ones).
class normal_equations {
public:
    normal_equations() = default;
    normal_equations(std::size_t groups, std::int64_t k, std::int64_t m) : k_(k), m_(m) {
        g_.assign(groups, Eigen::MatrixXd::Zero(k, k));
        h_.assign(groups, Eigen::MatrixXd::Zero(k, m));
    }
    [[nodiscard]] std::size_t groups() const noexcept { return g_.size(); }
    [[nodiscard]] std::int64_t unknowns() const noexcept { return k_; }
    [[nodiscard]] std::int64_t outputs() const noexcept { return m_; }
    [[nodiscard]] double rows() const noexcept { return rows_; }

    /// Adds rows `x` [r, k] (ones column included) and targets `y` [r, m] of group `grp`.
    void add(std::size_t grp, const Eigen::MatrixXf& x, const Eigen::MatrixXf& y) {
        const Eigen::MatrixXd xd = x.cast<double>();
        g_[grp].selfadjointView<Eigen::Lower>().rankUpdate(xd.transpose());
        h_[grp].noalias() += xd.transpose() * y.cast<double>();
        if (grp == 0) rows_ += static_cast<double>(x.rows());
    }

    /// Solves (X^T X + lambda D) W = X^T Y + lambda D W0 for group `grp`, where D is the identity on
    /// the weights (not the bias) and lambda = `ridge` times the mean diagonal of X^T X over the
    /// weights: a ridge that pulls toward the current weights `w0` [k, m], scaled to the data.
    [[nodiscard]] Eigen::MatrixXd solve(std::size_t grp, double ridge, const Eigen::MatrixXd& w0) const {
        Eigen::MatrixXd a = g_[grp].selfadjointView<Eigen::Lower>();
        Eigen::MatrixXd b = h_[grp];
        const Eigen::Index kw = k_ - 1;
        double diag = 0;
        for (Eigen::Index i = 0; i < kw; ++i) diag += a(i, i);
        diag = kw > 0 ? diag / static_cast<double>(kw) : 0.0;
        const double lambda = std::max(ridge * diag, 1e-12 * (diag + 1.0));
        for (Eigen::Index i = 0; i < kw; ++i) a(i, i) += lambda;
        b.topRows(kw) += lambda * w0.topRows(kw);
        a(kw, kw) += 1e-12 * (a(kw, kw) + 1.0); // the bias column: only to keep the system definite
        Eigen::LDLT<Eigen::MatrixXd> ldlt(a);
        Eigen::MatrixXd w = ldlt.solve(b);
        if (ldlt.info() != Eigen::Success || !w.allFinite()) return w0;
        return w;
    }

private:
    std::int64_t k_ = 0, m_ = 0;
    double rows_ = 0;
    std::vector<Eigen::MatrixXd> g_, h_;
};

/// Which output positions of a layer enter the fit: every `step`-th in order (all when 1), so that a
/// large feature map over many images is sampled evenly instead of solved in full.
[[nodiscard]] inline std::int64_t row_step(std::int64_t total_rows, std::int64_t max_rows) {
    if (max_rows <= 0 || total_rows <= max_rows) return 1;
    return (total_rows + max_rows - 1) / max_rows;
}

/// Adds one chunk of a convolution to `eq`: input `x` [n, cin, H, W], the reference output `y`
/// [n, cout, Ho, Wo]; positions are numbered from `first_row` and every `step`-th is used.
/// Returns the number of positions the chunk had.
inline std::int64_t add_conv_rows(normal_equations& eq, const conv_geometry& cg, const ir::Tensor& x, const ir::Tensor& y, std::int64_t first_row,
                                  std::int64_t step) {
    const std::int64_t n = x.shape.at(0);
    const std::int64_t positions = cg.out_h * cg.out_w;
    const std::int64_t k = cg.k(), cin_g = cg.cin_g(), cout_g = cg.cout_g();
    // The positions of this chunk that are sampled.
    std::vector<std::int64_t> picked;
    for (std::int64_t r = 0; r < n * positions; ++r)
        if ((first_row + r) % step == 0) picked.push_back(r);
    if (picked.empty()) return n * positions;
    const auto rows = static_cast<Eigen::Index>(picked.size());
    Eigen::MatrixXf px(rows, k), py(rows, cout_g);
    const float* xd = x.f.data();
    const float* yd = y.f.data();
    for (std::int64_t grp = 0; grp < cg.groups; ++grp) {
        for (Eigen::Index i = 0; i < rows; ++i) {
            const std::int64_t r = picked[static_cast<std::size_t>(i)];
            const std::int64_t img = r / positions, pos = r % positions;
            const std::int64_t oy = pos / cg.out_w, ox = pos % cg.out_w;
            Eigen::Index col = 0;
            for (std::int64_t ci = 0; ci < cin_g; ++ci) {
                const float* plane = xd + ((img * cg.cin) + grp * cin_g + ci) * cg.in_h * cg.in_w;
                for (std::int64_t ky = 0; ky < cg.kh; ++ky) {
                    const std::int64_t iy = oy * cg.stride_h - cg.pad_top + ky * cg.dil_h;
                    for (std::int64_t kx = 0; kx < cg.kw; ++kx) {
                        const std::int64_t ix = ox * cg.stride_w - cg.pad_left + kx * cg.dil_w;
                        px(i, col++) = (iy >= 0 && iy < cg.in_h && ix >= 0 && ix < cg.in_w) ? plane[iy * cg.in_w + ix] : 0.0f;
                    }
                }
            }
            px(i, col) = 1.0f;
            for (std::int64_t co = 0; co < cout_g; ++co)
                py(i, static_cast<Eigen::Index>(co)) = yd[((img * cg.cout) + grp * cout_g + co) * positions + pos];
        }
        eq.add(static_cast<std::size_t>(grp), px, py);
    }
    return n * positions;
}

/// Adds one chunk of a dense layer: `x` [..., K] and `y` [..., M] flattened to rows.
inline std::int64_t add_dense_rows(normal_equations& eq, const ir::Tensor& x, const ir::Tensor& y, std::int64_t first_row, std::int64_t step) {
    const std::int64_t kin = x.shape.back(), m = y.shape.back();
    const std::int64_t total = x.size() / kin;
    std::vector<std::int64_t> picked;
    for (std::int64_t r = 0; r < total; ++r)
        if ((first_row + r) % step == 0) picked.push_back(r);
    if (picked.empty()) return total;
    const auto rows = static_cast<Eigen::Index>(picked.size());
    Eigen::MatrixXf px(rows, kin + 1), py(rows, m);
    for (Eigen::Index i = 0; i < rows; ++i) {
        const std::int64_t r = picked[static_cast<std::size_t>(i)];
        for (std::int64_t c = 0; c < kin; ++c) px(i, c) = x.f[static_cast<std::size_t>(r * kin + c)];
        px(i, kin) = 1.0f;
        for (std::int64_t c = 0; c < m; ++c) py(i, c) = y.f[static_cast<std::size_t>(r * m + c)];
    }
    eq.add(0, px, py);
    return total;
}

} // namespace surgery::calibrate
