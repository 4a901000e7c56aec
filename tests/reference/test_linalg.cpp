// Tests of Gemm (every attribute, every C shape) and MatMul (1-D, batched, broadcast batch dims)
// against naive triple loops.
#include "helpers.hpp"

using namespace reftest;

namespace {

/// C[i][j] = sum_k A(i, k) B(k, j) with accessors, in double.
template <class A, class B>
std::vector<float> naive_mm(std::int64_t M, std::int64_t N, std::int64_t K, A a, B b) {
    std::vector<float> y(static_cast<std::size_t>(M * N));
    for (std::int64_t i = 0; i < M; ++i)
        for (std::int64_t j = 0; j < N; ++j) {
            double acc = 0;
            for (std::int64_t k = 0; k < K; ++k) acc += static_cast<double>(a(i, k)) * static_cast<double>(b(k, j));
            y[static_cast<std::size_t>(i * N + j)] = static_cast<float>(acc);
        }
    return y;
}

} // namespace

TEST_CASE("Gemm: transA/transB, alpha/beta and every broadcast form of C") {
    std::mt19937_64 rng(11);
    const std::int64_t M = 5, N = 7, K = 3;
    const std::vector<Shape> c_shapes{{}, {1}, {N}, {1, N}, {M, 1}, {M, N}, {1, 1}};
    for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb)
            for (std::size_t ci = 0; ci <= c_shapes.size(); ++ci) {
                CAPTURE(ta);
                CAPTURE(tb);
                CAPTURE(ci);
                const Tensor a = random_tensor(ta ? Shape{K, M} : Shape{M, K}, rng);
                const Tensor b = random_tensor(tb ? Shape{N, K} : Shape{K, N}, rng);
                const bool has_c = ci < c_shapes.size();
                const Tensor c = random_tensor(has_c ? c_shapes[ci] : Shape{1}, rng);
                ops::Gemm op;
                op.transA = ta;
                op.transB = tb;
                op.alpha = 0.75f;
                op.beta = -1.25f;
                std::vector<const Tensor*> in{&a, &b};
                if (has_c) in.push_back(&c);
                const Tensor y = eval1(op, in);
                REQUIRE(y.shape == Shape{M, N});
                auto e = naive_mm(
                    M, N, K, [&](auto i, auto k) { return ta ? a.f[static_cast<std::size_t>(k * M + i)] : a.f[static_cast<std::size_t>(i * K + k)]; },
                    [&](auto k, auto j) { return tb ? b.f[static_cast<std::size_t>(j * K + k)] : b.f[static_cast<std::size_t>(k * N + j)]; });
                for (std::int64_t i = 0; i < M; ++i)
                    for (std::int64_t j = 0; j < N; ++j) {
                        auto& v = e[static_cast<std::size_t>(i * N + j)];
                        v *= 0.75f;
                        if (has_c) {
                            const Shape& cs = c.shape;
                            const std::int64_t ci_ = cs.size() == 2 && cs[0] == M ? i : 0;
                            const std::int64_t cj = !cs.empty() && cs.back() == N ? j : 0;
                            v += -1.25f * c.f[static_cast<std::size_t>(ci_ * (cs.empty() ? 1 : cs.back()) + cj)];
                        }
                    }
                CHECK(max_rel_diff(y.f, e) < 1e-6);
            }
}

TEST_CASE("Gemm: errors") {
    std::mt19937_64 rng(1);
    const Tensor a = random_tensor({2, 3}, rng), b = random_tensor({4, 5}, rng), c = random_tensor({3}, rng);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Gemm{}, {&a, &b}), doctest::Contains("inner dimensions"), surgery::graph_error);
    const Tensor b2 = random_tensor({3, 5}, rng);
    CHECK_THROWS_WITH_AS((void)eval1(ops::Gemm{}, {&a, &b2, &c}), doctest::Contains("does not broadcast"), surgery::graph_error);
    const Tensor v = random_tensor({3}, rng);
    CHECK_THROWS_AS((void)eval1(ops::Gemm{}, {&v, &b2}), surgery::graph_error);
}

TEST_CASE("MatMul: numpy semantics for 1-D, 2-D and broadcast batched operands") {
    struct mm_case {
        Shape a, b, out;
    };
    const std::vector<mm_case> cases{
        {{4}, {4}, {}},
        {{4}, {4, 3}, {3}},
        {{5, 4}, {4}, {5}},
        {{5, 4}, {4, 3}, {5, 3}},
        {{2, 5, 4}, {4, 3}, {2, 5, 3}},       // one GEMM over all rows
        {{5, 4}, {2, 4, 3}, {2, 5, 3}},
        {{2, 1, 5, 4}, {1, 3, 4, 2}, {2, 3, 5, 2}},
        {{3, 1, 4}, {3, 4, 1}, {3, 1, 1}},
        {{2, 3, 4}, {4}, {2, 3}},
        {{4}, {2, 4, 6}, {2, 6}},
        {{1, 56, 56, 96}, {96, 384}, {1, 56, 56, 384}}, // ConvNeXt's Linear over NHWC
    };
    std::mt19937_64 rng(12);
    for (const auto& c : cases) {
        CAPTURE(surgery::ir::to_string(c.a));
        CAPTURE(surgery::ir::to_string(c.b));
        const Tensor a = random_tensor(c.a, rng), b = random_tensor(c.b, rng);
        const Tensor y = eval1(ops::MatMul{}, {&a, &b});
        REQUIRE(y.shape == c.out);
        // Naive: promote, broadcast batch, multiply.
        Shape sa = c.a, sb = c.b;
        if (sa.size() == 1) sa.insert(sa.begin(), 1);
        if (sb.size() == 1) sb.push_back(1);
        const std::int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
        const Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
        const std::size_t r = std::max(ba.size(), bb.size());
        Shape batch(r);
        auto dim = [&](const Shape& s, std::size_t k) { return k < r - s.size() ? std::int64_t{1} : s[k - (r - s.size())]; };
        for (std::size_t k = 0; k < r; ++k) batch[k] = std::max(dim(ba, k), dim(bb, k));
        std::vector<float> e;
        for (std::int64_t t = 0; t < surgery::ir::numel(batch); ++t) {
            const auto idx = unravel(t, batch);
            std::int64_t oa = 0, ob = 0;
            for (std::size_t k = 0; k < r; ++k) {
                if (k >= r - ba.size()) oa = oa * dim(ba, k) + (dim(ba, k) == 1 ? 0 : idx[k]);
                if (k >= r - bb.size()) ob = ob * dim(bb, k) + (dim(bb, k) == 1 ? 0 : idx[k]);
            }
            auto part = naive_mm(
                M, N, K, [&](auto i, auto k) { return a.f[static_cast<std::size_t>(oa * M * K + i * K + k)]; },
                [&](auto k, auto j) { return b.f[static_cast<std::size_t>(ob * K * N + k * N + j)]; });
            e.insert(e.end(), part.begin(), part.end());
        }
        CHECK(max_rel_diff(y.f, e) < 1e-5);
    }
    const Tensor a = random_tensor({2, 3}, rng), b = random_tensor({4, 2}, rng);
    CHECK_THROWS_WITH_AS((void)eval1(ops::MatMul{}, {&a, &b}), doctest::Contains("inner dimensions"), surgery::graph_error);
    const Tensor a3 = random_tensor({2, 2, 3}, rng), b3 = random_tensor({3, 3, 2}, rng);
    CHECK_THROWS_WITH_AS((void)eval1(ops::MatMul{}, {&a3, &b3}), doctest::Contains("batch"), surgery::graph_error);
}
