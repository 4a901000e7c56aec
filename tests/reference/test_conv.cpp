// Tests of the Conv kernel: every algorithm (1x1 GEMM, depthwise, im2col) against a naive direct
// convolution on random data with odd sizes, groups, strides, dilations and asymmetric pads.
#include "helpers.hpp"

using namespace reftest;

namespace {

struct conv_case {
    Shape x, w;
    std::int64_t group = 1;
    surgery::ir::Ints strides, pads, dilations;
    bool bias = true;
};

/// Direct convolution in double, straight from the ONNX definition.
Tensor naive_conv(const Tensor& x, const Tensor& w, const Tensor* b, const conv_case& c) {
    const std::size_t sp = x.shape.size() - 2;
    const std::int64_t N = x.shape[0], C = x.shape[1], M = w.shape[0], cg = w.shape[1], mg = M / c.group;
    Shape out{N, M};
    std::vector<std::int64_t> st(sp, 1), dl(sp, 1), pb(sp, 0), pe(sp, 0);
    for (std::size_t i = 0; i < sp; ++i) {
        if (!c.strides.empty()) st[i] = c.strides[i];
        if (!c.dilations.empty()) dl[i] = c.dilations[i];
        if (!c.pads.empty()) {
            pb[i] = c.pads[i];
            pe[i] = c.pads[i + sp];
        }
        out.push_back((x.shape[2 + i] + pb[i] + pe[i] - ((w.shape[2 + i] - 1) * dl[i] + 1)) / st[i] + 1);
    }
    const Shape ksp(w.shape.begin() + 2, w.shape.end()), xsp(x.shape.begin() + 2, x.shape.end());
    const std::int64_t kvol = surgery::ir::numel(ksp);
    std::vector<float> y(static_cast<std::size_t>(surgery::ir::numel(out)));
    for (std::int64_t k = 0; k < static_cast<std::int64_t>(y.size()); ++k) {
        const auto o = unravel(k, out);
        const std::int64_t n = o[0], m = o[1], g = m / mg;
        double acc = b ? b->f[static_cast<std::size_t>(m)] : 0.0;
        for (std::int64_t ci = 0; ci < cg; ++ci)
            for (std::int64_t kk = 0; kk < kvol; ++kk) {
                const auto kidx = unravel(kk, ksp);
                std::vector<std::int64_t> pos(sp);
                bool inside = true;
                for (std::size_t i = 0; i < sp; ++i) {
                    pos[i] = o[2 + i] * st[i] - pb[i] + kidx[i] * dl[i];
                    inside = inside && pos[i] >= 0 && pos[i] < xsp[i];
                }
                if (!inside) continue;
                const std::int64_t xi = ((n * C + g * cg + ci) * surgery::ir::numel(xsp)) + ravel(pos, xsp);
                const std::int64_t wi = (m * cg + ci) * kvol + kk;
                acc += static_cast<double>(x.f[static_cast<std::size_t>(xi)]) * static_cast<double>(w.f[static_cast<std::size_t>(wi)]);
            }
        y[static_cast<std::size_t>(k)] = static_cast<float>(acc);
    }
    return Tensor::floats(out, std::move(y));
}

ops::Conv conv_op(const conv_case& c) {
    ops::Conv op;
    op.group = c.group;
    op.strides = c.strides;
    op.pads = c.pads;
    op.dilations = c.dilations;
    return op;
}

} // namespace

TEST_CASE("conv: every applicable algorithm matches a naive direct convolution") {
    const std::vector<conv_case> cases = {
        {{2, 6, 9, 11}, {4, 3, 3, 3}, 2, {2, 1}, {1, 0, 2, 1}, {1, 2}},                  // groups, strides, asymmetric pads, dilation
        {{1, 8, 7, 5}, {6, 8, 1, 1}, 1, {}, {}, {}},                                     // 1x1 -> GEMM
        {{2, 8, 5, 5}, {4, 2, 1, 1}, 4, {}, {}, {}, false},                              // grouped 1x1
        {{1, 4, 9, 9}, {3, 4, 1, 1}, 1, {2, 2}, {}, {}},                                 // strided 1x1 -> im2col
        {{2, 5, 13, 17}, {5, 1, 3, 3}, 5, {1, 1}, {1, 1, 1, 1}, {}},                     // depthwise 3x3
        {{1, 4, 15, 15}, {4, 1, 5, 5}, 4, {2, 2}, {2, 2, 2, 2}, {}},                     // depthwise 5x5 stride 2
        {{1, 3, 11, 14}, {6, 1, 3, 3}, 3, {2, 3}, {0, 2, 1, 1}, {2, 1}},                 // depthwise x2 multiplier, odd everything
        {{1, 8, 7, 7}, {8, 1, 7, 7}, 8, {}, {3, 3, 3, 3}, {}},                           // ConvNeXt-style 7x7 on 7x7
        {{1, 2, 57, 61}, {2, 1, 3, 3}, 2, {2, 2}, {1, 1, 1, 1}, {}, false},              // big plane, stride 2, no bias
        {{2, 4, 20}, {4, 1, 3}, 4, {2}, {1, 1}, {}},                                     // depthwise 1-D
        {{1, 3, 17}, {5, 3, 4}, 1, {3}, {2, 1}, {2}},                                    // 1-D
        {{1, 4, 5, 6, 7}, {6, 2, 3, 2, 3}, 2, {1, 2, 1}, {1, 0, 1, 1, 1, 0}, {1, 1, 2}}, // 3-D
        {{1, 16, 40, 40}, {8, 16, 3, 3}, 1, {}, {1, 1, 1, 1}, {}},                       // im2col in column blocks
        {{1, 64, 48, 48}, {32, 64, 1, 1}, 1, {}, {}, {}},                                // 1x1 in column blocks
        {{1, 4, 8, 8}, {2, 2, 3, 3}, 2, {}, {0, 1, 2, 0}, {}},                           // one output channel per group
        {{1, 3, 6, 6}, {4, 3, 6, 6}, 1, {}, {}, {}},                                     // kernel as large as the input
    };
    std::mt19937_64 rng(42);
    for (std::size_t ci = 0; ci < cases.size(); ++ci) {
        const conv_case& c = cases[ci];
        CAPTURE(ci);
        const Tensor x = random_tensor(c.x, rng), w = random_tensor(c.w, rng);
        const Tensor b = random_tensor({c.w[0]}, rng);
        const Tensor expected = naive_conv(x, w, c.bias ? &b : nullptr, c);
        std::vector<const Tensor*> in{&x, &w};
        if (c.bias) in.push_back(&b);
        const bool pointwise = surgery::ir::numel(Shape(c.w.begin() + 2, c.w.end())) == 1 && c.pads.empty() &&
                               (c.strides.empty() || std::all_of(c.strides.begin(), c.strides.end(), [](auto s) { return s == 1; }));
        const bool depthwise = c.w[1] == 1 && c.group == c.x[1] && c.x.size() <= 4;
        std::vector<ref::conv_algorithm> algos{ref::conv_algorithm::automatic, ref::conv_algorithm::im2col};
        if (pointwise) algos.push_back(ref::conv_algorithm::gemm);
        if (depthwise) algos.push_back(ref::conv_algorithm::depthwise);
        for (auto algo : algos) {
            CAPTURE(static_cast<int>(algo));
            const Tensor y = eval1(conv_op(c), in, {algo, 17});
            REQUIRE(y.shape == expected.shape);
            CHECK(max_rel_diff(y.f, expected.f) < 1e-5);
        }
    }
}

TEST_CASE("conv: auto_pad SAME_UPPER / SAME_LOWER / VALID (ONNX examples)") {
    const Tensor x = iota({1, 1, 5, 5}, 0.0f);
    const Tensor w3 = Tensor::floats({1, 1, 3, 3}, std::vector<float>(9, 1.0f));
    ops::Conv op;
    op.auto_pad = "SAME_LOWER";
    op.strides = {2, 2};
    Tensor y = eval1(op, {&x, &w3});
    CHECK(y.shape == Shape{1, 1, 3, 3});
    CHECK(y.f == std::vector<float>{12, 27, 24, 63, 108, 81, 72, 117, 84});

    // An even kernel puts the odd padding at the end (UPPER) or the beginning (LOWER).
    const Tensor w2 = Tensor::floats({1, 1, 2, 2}, std::vector<float>(4, 1.0f));
    ops::Conv up, low;
    up.auto_pad = "SAME_UPPER";
    low.auto_pad = "SAME_LOWER";
    const Tensor yu = eval1(up, {&x, &w2}), yl = eval1(low, {&x, &w2});
    REQUIRE(yu.shape == Shape{1, 1, 5, 5});
    REQUIRE(yl.shape == Shape{1, 1, 5, 5});
    CHECK(yu.f[0] == 0 + 1 + 5 + 6);
    CHECK(yu.f[24] == 24);
    CHECK(yl.f[0] == 0);
    CHECK(yl.f[24] == 18 + 19 + 23 + 24);

    ops::Conv valid;
    valid.auto_pad = "VALID";
    valid.pads = {1, 1, 1, 1}; // ignored with VALID
    CHECK(eval1(valid, {&x, &w3}).shape == Shape{1, 1, 3, 3});
}

TEST_CASE("conv: strides with asymmetric padding (ONNX example)") {
    const Tensor x = iota({1, 1, 7, 5}, 0.0f);
    const Tensor w = Tensor::floats({1, 1, 3, 3}, std::vector<float>(9, 1.0f));
    ops::Conv op;
    op.strides = {2, 2};
    op.pads = {1, 0, 1, 0};
    const Tensor y = eval1(op, {&x, &w});
    CHECK(y.shape == Shape{1, 1, 4, 2});
    CHECK(y.f == std::vector<float>{21, 33, 99, 117, 189, 207, 171, 183});
}

TEST_CASE("conv: bad inputs are graph_errors naming the node") {
    std::mt19937_64 rng(1);
    const Tensor x = random_tensor({1, 4, 6, 6}, rng);
    const Tensor w = random_tensor({2, 3, 3, 3}, rng);
    try {
        (void)eval1(ops::Conv{}, {&x, &w});
        FAIL("expected a graph_error");
    } catch (const surgery::graph_error& e) {
        CHECK(e.node() == "node_under_test");
        CHECK(std::string(e.what()).find("channels") != std::string::npos);
    }
    const Tensor w4 = random_tensor({2, 4, 3, 3}, rng);
    CHECK_THROWS_AS((void)eval1(ops::Conv{}, {&x, &w4}, {ref::conv_algorithm::gemm, 17}), surgery::graph_error);
    CHECK_THROWS_AS((void)eval1(ops::Conv{}, {&x, &w4}, {ref::conv_algorithm::depthwise, 17}), surgery::graph_error);
    const Tensor bad_bias = random_tensor({3}, rng);
    CHECK_THROWS_AS((void)eval1(ops::Conv{}, {&x, &w4, &bad_bias}), surgery::graph_error);
    ops::Conv ks;
    ks.kernel_shape = {5, 5};
    CHECK_THROWS_AS((void)eval1(ks, {&x, &w4}), surgery::graph_error);
    const Tensor ints = Tensor::ints({1, 4, 6, 6}, std::vector<std::int64_t>(144, 1));
    CHECK_THROWS_AS((void)eval1(ops::Conv{}, {&ints, &w4}), surgery::graph_error);
    ops::Conv big;
    const Tensor w9 = random_tensor({2, 4, 9, 9}, rng); // larger than the input, no padding
    CHECK_THROWS_AS((void)eval1(big, {&x, &w9}), surgery::graph_error);
}
