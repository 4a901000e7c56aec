// The `surgery` command-line program: inspect, lite, run, compare and demo subcommands over ONNX models.
#include <cxxabi.h>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <new>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "cli/common.hpp"
#include "cli/outputs.hpp"
#include "cli/terminal.hpp"
#include "surgery/error.hpp"
#include "surgery/io/file.hpp"

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

namespace {

/// ": while reading the model 'm.onnx'" when an exception left a `doing`, else "".
std::string context() {
    const std::string& w = doing::failed_while();
    return w.empty() ? std::string() : " while " + w;
}

/// "std::length_error" for the exception's type.
std::string type_name(const std::exception& e) {
    int status = 0;
    char* d = abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, &status);
    std::string out = status == 0 && d ? d : typeid(e).name();
    std::free(d);
    return out;
}

} // namespace

int main(int argc, char** argv) {
    const safe_terminal terminal; // names from models cannot drive the terminal, in any message
    install_cleanup_handlers();   // a signal removes staged temporaries before the program dies
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
            std::cerr << "surgery: unknown command '" << surgery::io::printable(args[1]) << "'; see 'surgery --help'\n";
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
        std::cerr << "surgery: unknown command '" << surgery::io::printable(name) << "'; see 'surgery --help'\n";
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
        const std::string msg = surgery::io::one_line(e.what());
        std::cerr << prefix << msg;
        if (msg.find("(see '") == std::string::npos) std::cerr << "; see 'surgery " << name << " --help'";
        std::cerr << "\n";
        return exit_usage;
    } catch (const surgery::error& e) {
        std::cerr << prefix << "error: " << surgery::io::one_line(e.what()) << "\n"; // names the file and node itself
        return exit_failure;
    } catch (const std::bad_alloc&) {
        std::cerr << prefix << "error: out of memory" << context()
                  << " (the process could not get the memory it asked for; --max-memory sets the tool's budget, ulimit -v the process's); nothing was written\n";
        return exit_failure;
    } catch (const std::exception& e) {
        // Not one of the library's errors: a standard exception from deep inside (a std::length_error
        // of a vector sized from a file, say). Said with what was being done, never bare.
        std::cerr << prefix << "error: internal error" << context() << ": " << surgery::io::one_line(e.what()) << " (" << type_name(e)
                  << "); nothing was written\n";
        return exit_failure;
    } catch (...) {
        std::cerr << prefix << "error: internal error" << context() << ": an exception of unknown type; nothing was written\n";
        return exit_failure;
    }
}
