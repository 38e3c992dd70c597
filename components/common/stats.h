// vp::Stats: the one statistics registry of a simulation. Every component registers what it counts under its
// own name (`smmu.tlb.hits`, `pcie.00:02.0.atc.misses`); the platform writes all of it as one JSON document
// at the end (--stats). Nothing is printed as text for another component to parse.
//
// Values are read when the document is written, through the callbacks given at registration, so a component
// keeps its counters where they are (a C core's struct, a member) and pays nothing per event. Everything
// except the `host` section depends only on the simulation's inputs: two runs of the same inputs give the
// same document outside `host`.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace vp {

// A distribution in power-of-two buckets: bucket 0 counts the value 0, bucket b (1..64) the values in
// [2^(b-1), 2^b). Enough to see a latency's shape and tail without choosing bucket bounds per use.
class Histogram {
  public:
    void add(uint64_t value);
    uint64_t count() const { return count_; }
    uint64_t sum() const { return sum_; } // wraps only after 2^64: fine for picoseconds of a simulation
    uint64_t min() const { return count_ ? min_ : 0; }
    uint64_t max() const { return max_; }
    const std::array<uint64_t, 65> &buckets() const { return buckets_; }
    static unsigned bucket_of(uint64_t value);

  private:
    uint64_t count_ = 0, sum_ = 0, min_ = UINT64_MAX, max_ = 0;
    std::array<uint64_t, 65> buckets_{};
};

class Stats {
  public:
    // Names are `component.path`, unique in the registry: a second registration of a name throws
    // std::logic_error (a wiring bug, never a user error).
    void counter(const std::string &name, std::function<uint64_t()> read);
    void counter(const std::string &name, const uint64_t *value);
    // A simulated figure that is not a count (an average, a ratio).
    void real(const std::string &name, std::function<double()> read);
    void histogram(const std::string &name, const Histogram *histogram);
    // Host-side figures (wall-clock time, MIPS): written only in the `host` section.
    void host(const std::string &name, std::function<double()> read);
    // Every `name value` pair that `each` produces, registered as counters `prefix.name` (for C cores that
    // list their statistics through a callback).
    using EachFn = std::function<void(const std::function<void(const std::string &, uint64_t)> &)>;
    void counters_from(const std::string &prefix, EachFn each);

    bool has(const std::string &name) const;
    // Every registered name (not host figures), sorted.
    std::vector<std::string> names() const;

    // The document: {"name": value, ..., "name": {"count":..,"sum":..,"min":..,"max":..,"buckets":{..}},
    // "host": {...}}. Keys sorted, one entry per line. false when the stream fails.
    bool write_json(std::ostream &os) const;

  private:
    enum class Kind { Counter, Real, Histogram, Host, Group };
    struct Entry {
        Kind kind;
        std::function<uint64_t()> counter;
        std::function<double()> real;
        const Histogram *histogram = nullptr;
        EachFn each;
    };
    void add(const std::string &name, Entry entry);
    std::map<std::string, Entry> entries_;
};

} // namespace vp
