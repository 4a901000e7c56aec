// Exception types of the library: every error names what it is about (node, rule, file).
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace surgery {

/// Base of every exception the library throws. `what()` is a complete sentence meant for a user.
class error : public std::runtime_error {
public:
    explicit error(const std::string& message) : std::runtime_error(message) {}
};

/// The graph is malformed: cycle, value defined twice, wrong arity, inconsistent shapes.
/// `node()` names the offending node (empty when the problem is not about one node).
class graph_error : public error {
public:
    graph_error(std::string node, const std::string& message)
        : error(node.empty() ? message : "node '" + node + "': " + message), node_(std::move(node)) {}
    [[nodiscard]] const std::string& node() const noexcept { return node_; }

private:
    std::string node_;
};

/// A rewrite could not be applied (typically: the replacement's shapes do not fit).
/// The graph is left exactly as it was before the rule ran.
class rewrite_error : public error {
public:
    rewrite_error(std::string rule, std::string node, const std::string& message)
        : error("rule '" + rule + "' at node '" + node + "': " + message),
          rule_(std::move(rule)), node_(std::move(node)) {}
    [[nodiscard]] const std::string& rule() const noexcept { return rule_; }
    [[nodiscard]] const std::string& node() const noexcept { return node_; }

private:
    std::string rule_;
    std::string node_;
};

/// A pattern given as text (runtime chain pattern, CLI rule) could not be parsed.
class pattern_error : public error {
public:
    using error::error;
};

/// Reading or writing a file failed (malformed model, unsupported op, I/O failure).
class io_error : public error {
public:
    using error::error;
};

} // namespace surgery
