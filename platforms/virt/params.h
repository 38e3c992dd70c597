// A small registry of `key = value` parameters: every component of the platform registers its keys (with a
// parser that stores the value) in one place, and the configuration file and the command line both go through
// it, so a new component only adds its keys and never touches the file or option parsing.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <systemc>

namespace vp {

// A configuration or command-line problem; what() is one line for the user.
class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class ParamRegistry {
  public:
    // Parses VALUE and stores it; returns an empty string on success or the reason it is invalid.
    using Setter = std::function<std::string(const std::string &value)>;
    // The key's current values, each in a form its setter accepts (several for a repeatable key, none when
    // the key is unset and has no value to show). print() writes them, so a printed configuration read back
    // with load_file() gives the same configuration.
    using Getter = std::function<std::vector<std::string>()>;

    // REPEATABLE keys may appear many times (each occurrence adds a value); others keep their last value.
    void add(const std::string &key, const std::string &syntax, const std::string &help, Setter setter,
             Getter getter, bool repeatable = false);
    bool has(const std::string &key) const { return entries_.count(key) != 0; }
    // Throws ConfigError("KEY: reason") for an unknown key or a bad value.
    void set(const std::string &key, const std::string &value);
    // Reads `key = value` lines (`#` starts a comment, blank lines ignored). Throws ConfigError("FILE:LINE:
    // ...").
    void load_file(const std::string &path);
    // One line per key: `key syntax  help`.
    void describe(std::ostream &os) const;
    // The whole configuration as `key = value` lines in key order (--print-config); a key without a value is
    // shown as a comment.
    void print(std::ostream &os) const;

  private:
    struct Entry {
        std::string syntax;
        std::string help;
        Setter setter;
        Getter getter;
        bool repeatable;
    };
    std::map<std::string, Entry> entries_;
};

// Value parsers shared by all keys and options. They return false on any malformed or out-of-range input.
// Unsigned integer: decimal or 0x-hexadecimal.
bool parse_u64(const std::string &text, uint64_t &value);
// Byte size: an unsigned integer with an optional K, M or G suffix (powers of 1024), e.g. 512M, 0x40000000.
bool parse_size(const std::string &text, uint64_t &value);
// Positive decimal number, e.g. 1, 0.5, 2.25.
bool parse_positive_double(const std::string &text, double &value);
// Time: a non-negative number with a unit s, ms, us, ns or ps, e.g. 10ms, 5us, 2s, 100ns, 1.5 ms.
bool parse_time(const std::string &text, sc_core::sc_time &value);
// Formats a time with the largest unit that keeps it at least 1, three decimals: "1.250 ms". Deterministic.
std::string format_time(const sc_core::sc_time &time);
// Exact forms that parse_time / parse_size read back: "20ns", "1500ps"; "1G", "512M", "0x1234".
std::string format_time_exact(uint64_t ps);
std::string format_size(uint64_t bytes);

} // namespace vp
