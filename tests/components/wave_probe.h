// Observing when values change, for the tests of "effects at their annotated time": a recorder module that
// logs every value change of a signal with its simulated time, and a reader for the value changes a VCD file
// holds for one variable.
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <systemc>

namespace vp_test {

// Records (time, new value) for every value change of the signal bound to `in`.
template <class T>
class ChangeRecorder : public sc_core::sc_module {
  public:
    sc_core::sc_in<T> in;
    std::vector<std::pair<sc_core::sc_time, T>> changes;

    explicit ChangeRecorder(sc_core::sc_module_name name) : sc_core::sc_module(name), in("in") {
        SC_HAS_PROCESS(ChangeRecorder);
        SC_METHOD(changed);
        sensitive << in;
        dont_initialize();
    }

    // Times at which the value became V.
    std::vector<sc_core::sc_time> times_of(const T &v) const {
        std::vector<sc_core::sc_time> out;
        for (const auto &c : changes)
            if (c.second == v)
                out.push_back(c.first);
        return out;
    }

  private:
    void changed() { changes.emplace_back(sc_core::sc_time_stamp(), in.read()); }
};

// The value changes of the VCD variable whose reference name (the last component of its hierarchical name) is
// NAME, as (time in picoseconds, value), the initial dump at time 0 included. Empty if the file or the
// variable is missing. Knows the subset of VCD that SystemC writes (one-character scalars, "b<bits> <id>"
// vectors).
inline std::vector<std::pair<uint64_t, uint64_t>> vcd_changes(const std::string &path,
                                                              const std::string &name) {
    std::ifstream in(path);
    std::vector<std::pair<uint64_t, uint64_t>> out;
    std::string line, id;
    uint64_t unit_ps = 1, now = 0;
    bool in_timescale = false;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string first;
        words >> first;
        if (first == "$timescale") {
            in_timescale = true;
            continue;
        }
        if (in_timescale) {
            if (first == "$end") {
                in_timescale = false;
                continue;
            }
            std::string unit;
            words >> unit;
            const uint64_t factor = unit == "s"    ? 1000000000000ull
                                    : unit == "ms" ? 1000000000ull
                                    : unit == "us" ? 1000000ull
                                    : unit == "ns" ? 1000ull
                                                   : 1ull;
            unit_ps = std::stoull(first) * factor;
            continue;
        }
        if (first == "$var") {
            std::string type, width, var_id, ref;
            words >> type >> width >> var_id >> ref;
            if (ref == name && id.empty())
                id = var_id;
            continue;
        }
        if (id.empty() || first.empty())
            continue;
        if (first[0] == '#') {
            now = std::stoull(first.substr(1)) * unit_ps;
        } else if (first[0] == 'b') {
            std::string var_id;
            words >> var_id;
            if (var_id == id)
                out.emplace_back(now, std::stoull(first.substr(1), nullptr, 2));
        } else if ((first[0] == '0' || first[0] == '1') && first.substr(1) == id) {
            out.emplace_back(now, first[0] == '1' ? 1 : 0);
        }
    }
    return out;
}

} // namespace vp_test
