// Per-channel statistics of activations over calibration data: moments of one tensor, and the joint
// moments of a candidate and a reference (the lite and the original network at the same value).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/tensor.hpp"

namespace surgery::calibrate {

/// Sums per channel of x (the candidate) and, when paired, y (the reference) and x*y, accumulated in
/// double over every element of every chunk. Everything calibration needs follows in closed form:
/// means and variances, moment matching's scale and shift, and the squared deviation of x from y
/// before and after an affine correction a*x + b.
class channel_sums {
public:
    channel_sums() = default;

    /// Adds `x` (and `y`, same shape, when given) with channels along `axis`.
    void add(const ir::Tensor& x, std::size_t axis, const ir::Tensor* y = nullptr) {
        if (x.dtype != ir::DType::f32 || axis >= x.shape.size() || static_cast<std::int64_t>(x.f.size()) != x.size())
            throw error("calibrate: expected a float32 tensor with a channel axis " + std::to_string(axis) + ", got " + ir::to_string(x.shape));
        if (y && (y->shape != x.shape || y->f.size() != x.f.size()))
            throw error("calibrate: the reference has shape " + ir::to_string(y->shape) + " where the candidate has " + ir::to_string(x.shape));
        const auto c = static_cast<std::size_t>(x.shape[axis]);
        if (n_.empty()) resize(c, y != nullptr);
        else if (c != n_.size()) throw error("calibrate: " + std::to_string(c) + " channels after " + std::to_string(n_.size()));
        if ((y != nullptr) != paired_) throw error("calibrate: channel_sums mixes paired and unpaired data");
        std::size_t outer = 1, inner = 1;
        for (std::size_t d = 0; d < axis; ++d) outer *= static_cast<std::size_t>(x.shape[d]);
        for (std::size_t d = axis + 1; d < x.shape.size(); ++d) inner *= static_cast<std::size_t>(x.shape[d]);
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t ch = 0; ch < c; ++ch) {
                const std::size_t base = (o * c + ch) * inner;
                double sx = 0, sxx = 0, sy = 0, syy = 0, sxy = 0;
                const float* px = x.f.data() + base;
                if (y) {
                    const float* py = y->f.data() + base;
                    for (std::size_t i = 0; i < inner; ++i) {
                        const double a = px[i], b = py[i];
                        sx += a;
                        sxx += a * a;
                        sy += b;
                        syy += b * b;
                        sxy += a * b;
                    }
                    sy_[ch] += sy;
                    syy_[ch] += syy;
                    sxy_[ch] += sxy;
                } else {
                    for (std::size_t i = 0; i < inner; ++i) {
                        const double a = px[i];
                        sx += a;
                        sxx += a * a;
                    }
                }
                n_[ch] += static_cast<double>(inner);
                sx_[ch] += sx;
                sxx_[ch] += sxx;
            }
    }

    [[nodiscard]] std::size_t channels() const noexcept { return n_.size(); }
    [[nodiscard]] bool paired() const noexcept { return paired_; }
    [[nodiscard]] double count(std::size_t c) const { return n_.at(c); }
    [[nodiscard]] double mean_x(std::size_t c) const { return sx_.at(c) / n_.at(c); }
    [[nodiscard]] double mean_y(std::size_t c) const { return sy_.at(c) / n_.at(c); }
    /// Population variance (divided by the count).
    [[nodiscard]] double var_x(std::size_t c) const { return std::max(0.0, sxx_.at(c) / n_.at(c) - mean_x(c) * mean_x(c)); }
    [[nodiscard]] double var_y(std::size_t c) const { return std::max(0.0, syy_.at(c) / n_.at(c) - mean_y(c) * mean_y(c)); }
    [[nodiscard]] double cov_xy(std::size_t c) const { return sxy_.at(c) / n_.at(c) - mean_x(c) * mean_y(c); }

    /// Sum over the elements of channel c of (a*x + b - y)^2.
    [[nodiscard]] double squared_error(std::size_t c, double a = 1.0, double b = 0.0) const {
        const double e = a * a * sxx_[c] + 2 * a * b * sx_[c] + n_[c] * b * b - 2 * a * sxy_[c] - 2 * b * sy_[c] + syy_[c];
        return std::max(0.0, e);
    }
    /// Sum over the elements of channel c of (y - mean_y)^2: the reference's own spread.
    [[nodiscard]] double reference_energy(std::size_t c) const { return var_y(c) * n_.at(c); }

    /// Over all channels: sqrt(sum (x - y)^2 / sum (y - mean_y[c])^2), the deviation of x from y
    /// relative to y's spread around its channel means (0: equal; 1: as far as y's channel means are).
    [[nodiscard]] double relative_deviation() const {
        double e = 0, r = 0;
        for (std::size_t c = 0; c < n_.size(); ++c) {
            e += squared_error(c);
            r += reference_energy(c);
        }
        return r > 0 ? std::sqrt(e / r) : (e > 0 ? INFINITY : 0.0);
    }

private:
    void resize(std::size_t c, bool paired) {
        paired_ = paired;
        n_.assign(c, 0.0);
        sx_.assign(c, 0.0);
        sxx_.assign(c, 0.0);
        sy_.assign(c, 0.0);
        syy_.assign(c, 0.0);
        sxy_.assign(c, 0.0);
    }

    bool paired_ = false;
    std::vector<double> n_, sx_, sxx_, sy_, syy_, sxy_;
};

/// Top-1 agreement and accuracy of a candidate's logits against a reference's (and labels).
struct top1_counts {
    std::int64_t samples = 0;
    std::int64_t agree = 0;         ///< argmax equal to the reference's
    std::int64_t correct = 0;       ///< argmax equal to the label (when labels are given)
    std::int64_t correct_reference = 0;

    /// Adds a chunk of logits [n, K] (candidate `x`, reference `y`, labels from `first`).
    void add(const ir::Tensor& x, const ir::Tensor* y, const std::vector<std::int64_t>* labels, std::int64_t first) {
        if (x.shape.size() != 2 || x.dtype != ir::DType::f32) return;
        const std::int64_t n = x.shape[0], k = x.shape[1];
        auto argmax = [k](const float* row) { return static_cast<std::int64_t>(std::max_element(row, row + k) - row); };
        for (std::int64_t r = 0; r < n; ++r) {
            const std::int64_t a = argmax(x.f.data() + r * k);
            const std::int64_t b = y ? argmax(y->f.data() + r * k) : -1;
            agree += a == b ? 1 : 0;
            if (labels && first + r < static_cast<std::int64_t>(labels->size())) {
                const std::int64_t l = (*labels)[static_cast<std::size_t>(first + r)];
                correct += a == l ? 1 : 0;
                correct_reference += b == l ? 1 : 0;
            }
        }
        samples += n;
    }
};

} // namespace surgery::calibrate
