// vp::Trace: the one text trace of a simulation (--trace FILE). Every component writes its architectural
// steps here, one line each:
//
//     <time in ps> ps <component>: <kind> <fields>
//
// e.g. `1234000 ps smmu: cmd SYNC cs=irq`, `5000 ps pcie.00:02.0: ats_req addr=0x...`. The time is the
// simulated time at which the step happened (the caller's annotated time); set_time_ordered() makes the file
// sorted by it. --trace-filter keeps some components or kinds only. The format is stable and documented in
// docs/trace.md; two runs of the same inputs give the same trace.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <systemc>

namespace vp {

class Trace {
  public:
    // Where lines go; nullptr turns tracing off (after writing what is held back). The stream must outlive
    // the tracing.
    void set_stream(std::ostream *os) {
        flush();
        os_ = os;
    }
    bool on() const { return os_ != nullptr; }

    // Time order across callers: a line's time is its caller's annotated time, which can be ahead of the
    // kernel's, so two processes can write lines out of time order. With this on, lines are held back until
    // the kernel's time has passed theirs (no later line can be earlier then) and written sorted by time, in
    // the order they were made among equal times. flush() (or set_stream) writes what is held back.
    void set_time_ordered(bool on) {
        flush();
        ordered_ = on;
    }
    void flush();

    // A filter: comma-separated terms COMPONENT[/KIND] (e.g. `smmu/cmd,pcie`). COMPONENT matches itself and
    // its sub-components
    // (`pcie` matches `pcie.00:02.0`); `*` matches any component or kind. A term starting with `-` excludes.
    // Lines pass when some including term matches (or there is none) and no excluding term does. false with a
    // reason for a malformed filter.
    bool set_filter(const std::string &spec, std::string *error);

    // Whether a line of this component and kind would be written (callers skip formatting when not).
    bool wants(std::string_view component, std::string_view kind) const;
    void line(const sc_core::sc_time &when, std::string_view component, std::string_view kind,
              std::string_view fields);
    // Same, with the time in picoseconds.
    void line_ps(uint64_t when_ps, std::string_view component, std::string_view kind,
                 std::string_view fields);

    static uint64_t ps_of(const sc_core::sc_time &t);

  private:
    struct Term {
        bool exclude;
        std::string component, kind; // "*" = any
    };
    static bool matches(const Term &term, std::string_view component, std::string_view kind);
    void write_due(uint64_t before_ps);

    std::ostream *os_ = nullptr;
    std::vector<Term> terms_;
    bool has_include_ = false;
    bool ordered_ = false;
    uint64_t made_ = 0;                                         // lines made so far: the tie-breaker
    std::map<std::pair<uint64_t, uint64_t>, std::string> held_; // (ps, made) -> line, when ordered_
};

} // namespace vp
