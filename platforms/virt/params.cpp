#include "params.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace vp {

namespace {

std::string trim(const std::string &text) {
    size_t begin = 0, end = text.size();
    while (begin < end && std::isspace(static_cast<unsigned char>(text[begin])))
        begin++;
    while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1])))
        end--;
    return text.substr(begin, end - begin);
}

} // namespace

void ParamRegistry::add(const std::string &key, const std::string &syntax, const std::string &help,
                        Setter setter, Getter getter, bool repeatable) {
    if (!entries_.emplace(key, Entry{syntax, help, std::move(setter), std::move(getter), repeatable}).second)
        throw std::logic_error("parameter registered twice: " + key);
}

void ParamRegistry::set(const std::string &key, const std::string &value) {
    auto it = entries_.find(key);
    if (it == entries_.end())
        throw ConfigError("unknown key '" + key + "'");
    std::string error = it->second.setter(value);
    if (!error.empty())
        throw ConfigError(key + ": invalid value '" + value + "' (" + error + ")");
}

void ParamRegistry::load_file(const std::string &path) {
    std::error_code exists_error;
    if (!std::filesystem::exists(path, exists_error))
        throw ConfigError("cannot read config file '" + path + "': no such file");
    std::ifstream file(path);
    if (!file)
        throw ConfigError("cannot read config file '" + path + "'");
    std::string line;
    unsigned line_number = 0;
    std::map<std::string, unsigned>
        first_line; // of each non-repeatable key, to name both lines of a duplicate
    while (std::getline(file, line)) {
        line_number++;
        // Editors on some systems start UTF-8 files with a byte-order mark: it is not part of the first key.
        if (line_number == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0)
            line.erase(0, 3);
        std::string content = trim(line.substr(0, line.find('#')));
        if (content.empty())
            continue;
        size_t equals = content.find('=');
        std::string where = path + ":" + std::to_string(line_number) + ": ";
        if (equals == std::string::npos)
            throw ConfigError(where + "expected 'key = value'");
        std::string key = trim(content.substr(0, equals)), value = trim(content.substr(equals + 1));
        if (key.empty() || value.empty())
            throw ConfigError(where + "expected 'key = value'");
        auto entry = entries_.find(key);
        if (entry != entries_.end() && !entry->second.repeatable) {
            auto [seen, first] = first_line.emplace(key, line_number);
            if (!first)
                throw ConfigError(where + "key '" + key + "' is already set on line " +
                                  std::to_string(seen->second) + " (it may appear only once)");
        }
        try {
            set(key, value);
        } catch (const ConfigError &error) {
            throw ConfigError(where + error.what());
        }
    }
    if (file.bad())
        throw ConfigError("cannot read config file '" + path + "'");
}

void ParamRegistry::describe(std::ostream &os) const {
    for (const auto &[key, entry] : entries_) {
        std::string head = key + " = " + entry.syntax;
        os << "  " << head;
        for (size_t pad = head.size(); pad < 34; pad++)
            os << ' ';
        os << ' ' << entry.help << (entry.repeatable ? " (repeatable)" : "") << "\n";
    }
}

void ParamRegistry::print(std::ostream &os) const {
    for (const auto &[key, entry] : entries_) {
        std::vector<std::string> values = entry.getter();
        if (values.empty())
            os << "# " << key << " = (not set)\n";
        for (const std::string &value : values)
            os << key << " = " << value << "\n";
    }
}

std::string format_time_exact(uint64_t ps) {
    static const struct {
        uint64_t scale;
        const char *unit;
    } units[] = {{1000000000000ull, "s"}, {1000000000ull, "ms"}, {1000000ull, "us"}, {1000ull, "ns"}};
    for (const auto &u : units)
        if (ps != 0 && ps % u.scale == 0)
            return std::to_string(ps / u.scale) + u.unit;
    return std::to_string(ps) + "ps";
}

std::string format_size(uint64_t bytes) {
    static const struct {
        uint64_t scale;
        const char *suffix;
    } units[] = {{1ull << 30, "G"}, {1ull << 20, "M"}, {1ull << 10, "K"}};
    for (const auto &u : units)
        if (bytes != 0 && bytes % u.scale == 0)
            return std::to_string(bytes / u.scale) + u.suffix;
    return std::to_string(bytes);
}

bool parse_u64(const std::string &text, uint64_t &value) {
    if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])))
        return false;
    bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    errno = 0;
    char *end = nullptr;
    unsigned long long parsed = std::strtoull(text.c_str(), &end, hex ? 16 : 10);
    if (errno != 0 || *end != '\0')
        return false;
    value = parsed;
    return true;
}

bool parse_size(const std::string &text, uint64_t &value) {
    if (text.empty())
        return false;
    uint64_t multiplier = 1;
    std::string digits = text;
    char suffix = static_cast<char>(std::toupper(static_cast<unsigned char>(text.back())));
    bool is_hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    if (!is_hex && (suffix == 'K' || suffix == 'M' || suffix == 'G')) {
        multiplier = suffix == 'K' ? 1ull << 10 : suffix == 'M' ? 1ull << 20 : 1ull << 30;
        digits = text.substr(0, text.size() - 1);
    }
    uint64_t number = 0;
    if (!parse_u64(digits, number) || number > UINT64_MAX / multiplier)
        return false;
    value = number * multiplier;
    return true;
}

bool parse_positive_double(const std::string &text, double &value) {
    if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.'))
        return false;
    char *end = nullptr;
    double parsed = std::strtod(text.c_str(), &end);
    if (*end != '\0' || !std::isfinite(parsed) || parsed <= 0.0)
        return false;
    value = parsed;
    return true;
}

bool parse_time(const std::string &text, sc_core::sc_time &value) {
    size_t unit_start = text.size();
    while (unit_start > 0 && std::isalpha(static_cast<unsigned char>(text[unit_start - 1])))
        unit_start--;
    std::string number = trim(text.substr(0, unit_start)), unit = text.substr(unit_start);
    static const std::map<std::string, sc_core::sc_time_unit> units = {{"s", sc_core::SC_SEC},
                                                                       {"ms", sc_core::SC_MS},
                                                                       {"us", sc_core::SC_US},
                                                                       {"ns", sc_core::SC_NS},
                                                                       {"ps", sc_core::SC_PS}};
    auto it = units.find(unit);
    if (it == units.end() || number.empty() || !std::isdigit(static_cast<unsigned char>(number[0])))
        return false;
    char *end = nullptr;
    double magnitude = std::strtod(number.c_str(), &end);
    if (*end != '\0' || !std::isfinite(magnitude) || magnitude < 0.0 || magnitude > 1e6)
        return false;
    value = sc_core::sc_time(magnitude, it->second);
    return true;
}

std::string format_time(const sc_core::sc_time &time) {
    double seconds = time.to_seconds();
    static const struct {
        double scale;
        const char *name;
    } units[] = {{1.0, "s"}, {1e-3, "ms"}, {1e-6, "us"}, {1e-9, "ns"}};
    for (const auto &unit : units) {
        if (seconds >= unit.scale) {
            char text[64];
            std::snprintf(text, sizeof text, "%.3f %s", seconds / unit.scale, unit.name);
            return text;
        }
    }
    char text[64];
    std::snprintf(text, sizeof text, "%.3f ns", seconds / 1e-9);
    return text;
}

} // namespace vp
