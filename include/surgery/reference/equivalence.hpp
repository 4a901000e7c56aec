// Numerical equivalence of two graphs: seeded random inputs, per-output deviations, a report.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "surgery/error.hpp"
#include "surgery/ir/graph.hpp"
#include "surgery/reference/executor.hpp"

namespace surgery::reference {

enum class input_distribution : std::uint8_t {
    normal,  ///< N(0, 1)
    uniform, ///< U[-1, 1)
};

/// The shape `random_inputs` gives graph input `v` (`random_input_options::dynamic_dims`): its declared shape,
/// with `dynamic_dims` for each dynamic dimension when that is positive. `surgery::error` naming the
/// input when its shape is unknown, or dynamic and `dynamic_dims` is 0.
[[nodiscard]] inline ir::Shape random_input_shape(const ir::Graph& g, ir::ValueId v, std::int64_t dynamic_dims = 0) {
    const ir::Value& val = g.value(v);
    if (!val.shape) throw error("reference::random_inputs: input '" + g.label(v) + "' has no known shape");
    if (ir::is_static(*val.shape)) return *val.shape;
    if (dynamic_dims <= 0)
        throw error("reference::random_inputs: input '" + g.label(v) + "' has a dynamic shape " + ir::to_string(*val.shape) +
                    "; give the inputs explicitly, or a size for the dynamic dimensions");
    return ir::with_dynamic_dims(*val.shape, dynamic_dims);
}

/// How `random_inputs` makes its tensors.
struct random_input_options {
    input_distribution distribution = input_distribution::normal;
    /// The size of every dynamic dimension (a symbolic or unknown size, such as an exported batch
    /// axis); 0: an input with one is a `surgery::error` naming it.
    std::int64_t dynamic_dims = 0;
    /// Leave out the inputs that have a default value (an ONNX initializer listed as a graph input):
    /// `executor::run` then uses the defaults, as ONNX Runtime does for inputs it is not given.
    bool use_defaults = false;
};

/// One random tensor per graph input (with `use_defaults`, per input without a default), in
/// graph-input order, the same for the same seed on every platform (mt19937_64 with our own float
/// conversion and Box-Muller). Float inputs follow `distribution`; integer inputs are uniform in
/// [0, 4) and bool inputs 0/1. Every input needs a known shape; a dynamic dimension gets the size
/// `dynamic_dims`, or, when that is 0, is a `surgery::error` naming the input.
[[nodiscard]] inline std::vector<Tensor> random_inputs(const ir::Graph& g, std::uint64_t seed, const random_input_options& options) {
    std::mt19937_64 rng(seed);
    auto unit = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }; // [0, 1)
    std::vector<Tensor> out;
    for (ir::ValueId v : g.inputs()) {
        const ir::Value& val = g.value(v);
        if (options.use_defaults && val.data) continue;
        const ir::Shape shape = random_input_shape(g, v, options.dynamic_dims);
        const auto n = static_cast<std::size_t>(ir::numel(shape));
        Tensor t;
        t.dtype = val.dtype;
        t.shape = shape;
        if (val.dtype == DType::f32) {
            t.f.resize(n);
            if (options.distribution == input_distribution::uniform) {
                for (auto& x : t.f) x = static_cast<float>(2.0 * unit() - 1.0);
            } else {
                for (std::size_t k = 0; k < n; k += 2) {
                    const double u1 = 1.0 - unit(), u2 = unit(); // u1 in (0, 1]
                    const double r = std::sqrt(-2.0 * std::log(u1)), th = 6.283185307179586 * u2;
                    t.f[k] = static_cast<float>(r * std::cos(th));
                    if (k + 1 < n) t.f[k + 1] = static_cast<float>(r * std::sin(th));
                }
            }
        } else if (val.dtype == DType::i64 || val.dtype == DType::i32 || val.dtype == DType::boolean) {
            t.i.resize(n);
            const std::uint64_t range = val.dtype == DType::boolean ? 2 : 4;
            for (auto& x : t.i) x = static_cast<std::int64_t>(rng() % range);
        } else {
            throw error("reference::random_inputs: input '" + g.label(v) + "' has an undefined element type");
        }
        out.push_back(std::move(t));
    }
    return out;
}

/// One random tensor for every graph input, `dist` for the floats; every input's shape static.
[[nodiscard]] inline std::vector<Tensor> random_inputs(const ir::Graph& g, std::uint64_t seed, input_distribution dist = input_distribution::normal) {
    random_input_options o;
    o.distribution = dist;
    return random_inputs(g, seed, o);
}

/// How far one output of the candidate is from the reference's.
struct output_deviation {
    std::string name;
    double max_abs = 0.0;     ///< max |reference - candidate|
    double max_rel = 0.0;     ///< max_abs / max(|reference|) (0 when both are all zeros, inf when only the reference is)
    double ref_max_abs = 0.0; ///< max(|reference|)
};

struct equivalence_report {
    std::vector<output_deviation> outputs; ///< in graph-output order
    double max_abs = 0.0;                  ///< over all outputs (and trials)
    double max_rel = 0.0;

    /// True when every output's relative deviation is at most `rel_tol` (false on NaN).
    [[nodiscard]] bool within(double rel_tol) const noexcept {
        for (const auto& o : outputs)
            if (!(o.max_rel <= rel_tol)) return false;
        return true;
    }
    /// One line per output: name, max abs, max rel, reference magnitude.
    [[nodiscard]] std::string to_string() const {
        std::string s;
        for (const auto& o : outputs) {
            char line[160];
            std::snprintf(line, sizeof line, "%s: max_abs %.3g, max_rel %.3g (|ref| max %.3g)\n", o.name.c_str(), o.max_abs, o.max_rel, o.ref_max_abs);
            s += line;
        }
        return s;
    }
};

/// Deviation of `actual` from `expected` (same dtype and shape, else `surgery::error`). Equal
/// non-finite values (inf == inf, NaN vs NaN) count as equal; any other mismatch involving a
/// non-finite value is an infinite deviation.
[[nodiscard]] inline output_deviation compare_tensors(const Tensor& expected, const Tensor& actual) {
    if (expected.dtype != actual.dtype)
        throw error("reference::compare_tensors: element types differ (" + std::string(ir::to_string(expected.dtype)) + " vs " +
                    std::string(ir::to_string(actual.dtype)) + ")");
    if (expected.shape != actual.shape)
        throw error("reference::compare_tensors: shapes differ (" + ir::to_string(expected.shape) + " vs " + ir::to_string(actual.shape) + ")");
    output_deviation d;
    const bool fl = expected.dtype == DType::f32;
    const std::size_t n = fl ? expected.f.size() : expected.i.size();
    if ((fl ? actual.f.size() : actual.i.size()) != n) throw error("reference::compare_tensors: the tensors hold different numbers of values");
    constexpr double inf = std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < n; ++k) {
        const double e = fl ? static_cast<double>(expected.f[k]) : static_cast<double>(expected.i[k]);
        const double a = fl ? static_cast<double>(actual.f[k]) : static_cast<double>(actual.i[k]);
        if (std::isfinite(e)) d.ref_max_abs = std::max(d.ref_max_abs, std::abs(e));
        double diff;
        if (std::isfinite(e) && std::isfinite(a)) diff = std::abs(e - a);
        else if ((std::isnan(e) && std::isnan(a)) || e == a) diff = 0.0;
        else diff = inf;
        d.max_abs = std::max(d.max_abs, diff);
    }
    d.max_rel = d.ref_max_abs > 0.0 ? d.max_abs / d.ref_max_abs : (d.max_abs == 0.0 ? 0.0 : inf);
    return d;
}

namespace detail {

inline void merge_run(equivalence_report& r, const std::vector<std::string>& names, const std::vector<Tensor>& expected,
                      const std::vector<Tensor>& actual) {
    if (expected.size() != actual.size())
        throw error("reference::compare: the reference has " + std::to_string(expected.size()) + " outputs, the candidate " +
                    std::to_string(actual.size()));
    if (r.outputs.empty()) {
        r.outputs.resize(expected.size());
        for (std::size_t k = 0; k < expected.size(); ++k) r.outputs[k].name = names[k];
    }
    for (std::size_t k = 0; k < expected.size(); ++k) {
        const std::string& name = r.outputs[k].name;
        if (expected[k].shape != actual[k].shape)
            throw error("reference::compare: output '" + name + "' has shape " + ir::to_string(expected[k].shape) + " in the reference but " +
                        ir::to_string(actual[k].shape) + " in the candidate");
        if (expected[k].dtype != actual[k].dtype)
            throw error("reference::compare: output '" + name + "' is " + std::string(ir::to_string(expected[k].dtype)) + " in the reference but " +
                        std::string(ir::to_string(actual[k].dtype)) + " in the candidate");
        output_deviation d = compare_tensors(expected[k], actual[k]);
        output_deviation& o = r.outputs[k];
        o.max_abs = std::max(o.max_abs, d.max_abs);
        o.ref_max_abs = std::max(o.ref_max_abs, d.ref_max_abs);
        o.max_rel = std::max(o.max_rel, d.max_rel);
        r.max_abs = std::max(r.max_abs, d.max_abs);
        r.max_rel = std::max(r.max_rel, d.max_rel);
    }
}

inline void check_same_interface(const ir::Graph& reference, const ir::Graph& candidate) {
    if (reference.inputs().size() != candidate.inputs().size())
        throw error("reference::compare: the reference has " + std::to_string(reference.inputs().size()) + " inputs, the candidate " +
                    std::to_string(candidate.inputs().size()));
    if (reference.outputs().size() != candidate.outputs().size())
        throw error("reference::compare: the reference has " + std::to_string(reference.outputs().size()) + " outputs, the candidate " +
                    std::to_string(candidate.outputs().size()));
}

} // namespace detail

/// Runs both graphs on the same `inputs` and compares their outputs in order. Different output
/// counts, or an output whose shape or type differs, is a `surgery::error` naming the output.
[[nodiscard]] inline equivalence_report compare(const ir::Graph& reference, const ir::Graph& candidate, const std::vector<Tensor>& inputs) {
    detail::check_same_interface(reference, candidate);
    // One executor at a time: a plan takes memory in proportion to its graph.
    std::vector<Tensor> expected;
    std::vector<std::string> names;
    {
        executor ref_ex(reference);
        expected = ref_ex.run(inputs);
        names = ref_ex.output_names();
    }
    equivalence_report r;
    detail::merge_run(r, names, expected, executor(candidate).run(inputs));
    return r;
}

/// As above over `trials` sets of random inputs (seeds `seed`, `seed + 1`, ..., made as `options`
/// say from the reference's inputs); the report holds the worst deviation of each output over all
/// trials. With `options.use_defaults` each graph runs with its own defaults.
[[nodiscard]] inline equivalence_report compare(const ir::Graph& reference, const ir::Graph& candidate, std::uint64_t seed, int trials,
                                                const random_input_options& options) {
    detail::check_same_interface(reference, candidate);
    if (trials < 1) throw error("reference::compare: trials must be at least 1");
    // One executor at a time (a plan takes memory in proportion to its graph): the reference runs
    // every trial first, its outputs kept; the inputs are drawn again, the same, for the candidate.
    std::vector<std::vector<Tensor>> expected(static_cast<std::size_t>(trials));
    std::vector<std::string> names;
    {
        executor ref_ex(reference);
        for (int t = 0; t < trials; ++t)
            expected[static_cast<std::size_t>(t)] = ref_ex.run(random_inputs(reference, seed + static_cast<std::uint64_t>(t), options));
        names = ref_ex.output_names();
    }
    executor cand_ex(candidate);
    equivalence_report r;
    for (int t = 0; t < trials; ++t)
        detail::merge_run(r, names, expected[static_cast<std::size_t>(t)], cand_ex.run(random_inputs(reference, seed + static_cast<std::uint64_t>(t), options)));
    return r;
}

/// `compare` over `trials` sets of random inputs with every input given, `dist` for the floats.
[[nodiscard]] inline equivalence_report compare(const ir::Graph& reference, const ir::Graph& candidate, std::uint64_t seed, int trials = 1,
                                                input_distribution dist = input_distribution::normal) {
    random_input_options o;
    o.distribution = dist;
    return compare(reference, candidate, seed, trials, o);
}

} // namespace surgery::reference
