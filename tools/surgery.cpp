// The `surgery` command-line program: inspect, lite, run, compare and demo subcommands over ONNX models.
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "cli/common.hpp"
#include "surgery/error.hpp"

namespace {

using namespace surgery::cli;

constexpr command commands[] = {
    {inspect_spec, inspect_main}, {lite_spec, lite_main}, {run_spec, run_main}, {compare_spec, compare_main}, {demo_spec, demo_main},
};

std::string general_help() {
    std::string s = "usage: surgery COMMAND [options]   (surgery COMMAND --help for each command)\n\n"
                    "Model surgery: rewrite neural networks into lite networks for embedded accelerators.\n\ncommands:\n";
    for (const auto& c : commands) {
        std::string line = "  " + c.spec().name;
        line.append(12 - line.size(), ' ');
        const std::string& summary = c.spec().summary;
        line += summary.substr(0, summary.find('\n'));
        s += line + "\n";
    }
    s += "\nexit status: 0 success, 1 bad input or failure, 2 bad command line\n";
    return s;
}

} // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::string names;
        for (const auto& c : commands) names += (names.empty() ? "" : ", ") + c.spec().name;
        std::cerr << "surgery: no command given (commands: " << names << "); see 'surgery --help'\n";
        return exit_usage;
    }
    const std::string& name = args[0];
    if (name == "-h" || name == "--help" || name == "help") {
        if (name == "help" && args.size() > 1) {
            for (const auto& c : commands)
                if (c.spec().name == args[1]) {
                    std::cout << help_text(c.spec());
                    return exit_ok;
                }
            std::cerr << "surgery: unknown command '" << args[1] << "'; see 'surgery --help'\n";
            return exit_usage;
        }
        std::cout << general_help();
        return exit_ok;
    }
    if (name == "--version") {
        std::cout << "surgery (model-surgery) 0.1.0\n";
        return exit_ok;
    }
    const command* cmd = nullptr;
    for (const auto& c : commands)
        if (c.spec().name == name) cmd = &c;
    if (!cmd) {
        std::cerr << "surgery: unknown command '" << name << "'; see 'surgery --help'\n";
        return exit_usage;
    }
    const std::string prefix = "surgery " + name + ": ";
    try {
        const auto parsed = parse(cmd->spec(), std::span<const std::string>(args).subspan(1));
        if (!parsed) {
            std::cout << help_text(cmd->spec());
            return exit_ok;
        }
        return cmd->run(*parsed);
    } catch (const usage_error& e) {
        const std::string msg = e.what();
        std::cerr << prefix << msg;
        if (msg.find("(see '") == std::string::npos) std::cerr << "; see 'surgery " << name << " --help'";
        std::cerr << "\n";
        return exit_usage;
    } catch (const surgery::error& e) {
        std::cerr << prefix << "error: " << e.what() << "\n";
        return exit_failure;
    } catch (const std::bad_alloc&) {
        std::cerr << prefix << "error: out of memory\n";
        return exit_failure;
    } catch (const std::exception& e) {
        std::cerr << prefix << "error: " << e.what() << "\n";
        return exit_failure;
    }
}
