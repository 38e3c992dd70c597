#include "stats.h"

#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace vp {

unsigned Histogram::bucket_of(uint64_t value) {
    return value == 0 ? 0u : static_cast<unsigned>(64 - __builtin_clzll(value));
}

void Histogram::add(uint64_t value) {
    count_++;
    sum_ += value;
    min_ = value < min_ ? value : min_;
    max_ = value > max_ ? value : max_;
    buckets_[bucket_of(value)]++;
}

void Stats::add(const std::string &name, Entry entry) {
    if (name.empty() || !entries_.emplace(name, std::move(entry)).second)
        throw std::logic_error("statistic registered twice or unnamed: '" + name + "'");
}

void Stats::counter(const std::string &name, std::function<uint64_t()> read) {
    Entry e{Kind::Counter, std::move(read), {}, nullptr, {}};
    add(name, std::move(e));
}

void Stats::counter(const std::string &name, const uint64_t *value) {
    counter(name, [value] { return *value; });
}

void Stats::real(const std::string &name, std::function<double()> read) {
    add(name, Entry{Kind::Real, {}, std::move(read), nullptr, {}});
}

void Stats::histogram(const std::string &name, const Histogram *histogram) {
    add(name, Entry{Kind::Histogram, {}, {}, histogram, {}});
}

void Stats::host(const std::string &name, std::function<double()> read) {
    add("host." + name, Entry{Kind::Host, {}, std::move(read), nullptr, {}});
}

void Stats::counters_from(const std::string &prefix, EachFn each) {
    add(prefix + ".*", Entry{Kind::Group, {}, {}, nullptr, std::move(each)});
}

bool Stats::has(const std::string &name) const {
    auto it = entries_.find(name);
    if (it != entries_.end())
        return it->second.kind != Kind::Host && it->second.kind != Kind::Group;
    for (const std::string &n : names())
        if (n == name)
            return true;
    return false;
}

std::vector<std::string> Stats::names() const {
    std::vector<std::string> out;
    for (const auto &[name, entry] : entries_) {
        if (entry.kind == Kind::Host)
            continue;
        if (entry.kind == Kind::Group) {
            const std::string prefix = name.substr(0, name.size() - 1); // keeps the dot
            entry.each([&](const std::string &n, uint64_t) { out.push_back(prefix + n); });
        } else {
            out.push_back(name);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool Stats::write_json(std::ostream &os) const {
    // ordered_json keeps insertion order; the entries are inserted sorted, so the document is stable.
    std::map<std::string, nlohmann::ordered_json> values;
    nlohmann::ordered_json host = nlohmann::ordered_json::object();
    for (const auto &[name, entry] : entries_) {
        switch (entry.kind) {
        case Kind::Counter:
            values[name] = entry.counter();
            break;
        case Kind::Real:
            values[name] = entry.real();
            break;
        case Kind::Histogram: {
            const Histogram &h = *entry.histogram;
            nlohmann::ordered_json buckets = nlohmann::ordered_json::object();
            for (unsigned b = 0; b < h.buckets().size(); b++)
                if (h.buckets()[b])
                    buckets[b == 0 ? "0" : "<2^" + std::to_string(b)] = h.buckets()[b];
            values[name] = {{"count", h.count()},
                            {"sum", h.sum()},
                            {"min", h.min()},
                            {"max", h.max()},
                            {"buckets", std::move(buckets)}};
            break;
        }
        case Kind::Host:
            host[name.substr(5)] = entry.real();
            break;
        case Kind::Group: {
            const std::string prefix = name.substr(0, name.size() - 1);
            entry.each([&](const std::string &n, uint64_t v) { values[prefix + n] = v; });
            break;
        }
        }
    }
    nlohmann::ordered_json doc = nlohmann::ordered_json::object();
    for (auto &[name, value] : values)
        doc[name] = std::move(value);
    if (!host.empty())
        doc["host"] = std::move(host);
    // One entry per line: diff-friendly, and still one JSON document.
    os << "{";
    bool first = true;
    for (auto it = doc.begin(); it != doc.end(); ++it) {
        os << (first ? "" : ",\n ") << nlohmann::json(it.key()).dump() << ": " << it.value().dump();
        first = false;
    }
    os << "}\n";
    return static_cast<bool>(os);
}

} // namespace vp
