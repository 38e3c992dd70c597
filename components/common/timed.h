// Effects at their annotated time. A loosely-timed target is called at the initiator's last synchronisation
// point (sc_time_stamp()) with an annotated delay; what the access does happens at sc_time_stamp() + delay.
// These helpers make that time visible:
//
// - vp::TimedActions applies state changes (register writes, MSIs) in simulated-time order, each at its own
//   time: at once when it is due now and nothing is queued before it, otherwise from a method process.
// - vp::TimedWriter<T> drives an sc_signal or an sc_out/sc_inout port with (time, value) updates, each one
//   written at its time (so a waveform shows it there), in time order; among updates for the same time the
//   last one queued wins. change_at() is the variant for observers that sample a model's state after each
//   step. vp::TimedSignal<T> is an sc_signal<T> with its own TimedWriter.
//
// Each helper owns one sc_event and one method process (spawned when it is constructed, so construct it
// during elaboration, as a module member). Nothing runs while nothing is queued. The process is the only
// writer of its signal or port: do not write it from anywhere else (sc_signal's single-writer rule).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <utility>

#include <systemc>

namespace vp {

namespace detail {

// The non-template part: one method process that calls run() whenever its event fires.
class TimedProcess {
  public:
    TimedProcess(const TimedProcess &) = delete;
    TimedProcess &operator=(const TimedProcess &) = delete;

  protected:
    // The process is named BASENAME + "_timed" (made unique within the current module).
    explicit TimedProcess(const char *basename);
    virtual ~TimedProcess();

    // Called once when the simulation starts and then at every wake-up.
    virtual void run() = 0;
    // Makes run() happen at absolute time WHEN (in the next delta cycle if WHEN is not in the future). The
    // earliest pending request wins; run() must ask again for anything it leaves queued. Before the
    // simulation starts nothing is notified: the start-up call of run() handles what was queued.
    void wake_at(const sc_core::sc_time &when);

  private:
    sc_core::sc_event event_;
    bool started_ = false; // run() was called once: the process is live
    // What the process calls; cleared by the destructor, so that a helper destroyed before the simulation
    // starts (a module whose constructor threw) leaves an idle process, not a dangling one.
    std::shared_ptr<TimedProcess *> self_;
};

} // namespace detail

// Applies actions in simulated-time order, each at its own time.
class TimedActions : private detail::TimedProcess {
  public:
    explicit TimedActions(const char *basename = "timed_actions") : detail::TimedProcess(basename) {}

    // Runs ACTION at absolute time WHEN. If WHEN is not in the future and no action is queued for now, the
    // action runs at once, in the caller (a zero-delay access behaves as if there were no queue). Otherwise
    // it is queued and runs from this helper's method process at WHEN (now, in a later delta cycle, if WHEN
    // has passed), after every action queued before it for the same or an earlier time. Actions must not
    // wait().
    template <class F>
    void at(const sc_core::sc_time &when, F &&action) {
        const sc_core::sc_time now = sc_core::sc_time_stamp();
        if (when <= now && (queue_.empty() || queue_.front().when > now)) {
            action();
            return;
        }
        push(when, std::function<void()>(std::forward<F>(action)));
    }
    // Same, at sc_time_stamp() + DELAY: the annotated time of an access.
    template <class F>
    void after(const sc_core::sc_time &delay, F &&action) {
        at(sc_core::sc_time_stamp() + delay, std::forward<F>(action));
    }

    // Runs at once, in the caller, every queued action due at or before WHEN, in order. For a reader that
    // must see every change reaching its target before the read does (a PCIe read never passes a posted
    // write), whether or not the method process has had its turn yet.
    void run_until(const sc_core::sc_time &when);

    // Number of actions waiting for their time.
    std::size_t pending() const { return queue_.size(); }

  private:
    struct Item {
        sc_core::sc_time when;
        std::function<void()> action;
    };

    void push(const sc_core::sc_time &when, std::function<void()> action);
    void run() override;

    std::deque<Item> queue_; // by time; among equal times in the order queued
};

// Drives an sc_signal<T> (any sc_signal_inout_if<T>) or an sc_out<T> / sc_inout<T> port with timed updates.
template <class T>
class TimedWriter : private detail::TimedProcess {
  public:
    explicit TimedWriter(sc_core::sc_signal_inout_if<T> &signal, const char *basename = "timed_writer")
        : detail::TimedProcess(basename), signal_(&signal) {}
    explicit TimedWriter(sc_core::sc_inout<T> &port, const char *basename = "timed_writer")
        : detail::TimedProcess(basename), port_(&port) {}

    // Writes VALUE at absolute time WHEN (in the next delta cycle if WHEN is not in the future). Updates are
    // applied in time order whatever the order of the calls; for one time the last call wins.
    void write_at(const sc_core::sc_time &when, const T &value) { queue(when, value, false); }
    // Same, at sc_time_stamp() + DELAY.
    void write_after(const sc_core::sc_time &delay, const T &value) {
        write_at(sc_core::sc_time_stamp() + delay, value);
    }
    // For observers that sample a model's state after each of its steps and stamp it with the step's time:
    // queues VALUE at WHEN unless it equals the value of the previous write_at / change_at call (in call
    // order), so only the step that changed the value stamps it. When steps overlap in simulated time (a step
    // called later annotates an earlier time than one called before it), a sampled value is dropped if a
    // value queued by a later call was already applied: the signal never goes back to a value the model had
    // already replaced.
    void change_at(const sc_core::sc_time &when, const T &value) {
        if (!have_last_ || !(last_ == value))
            queue(when, value, true);
    }

    // Number of updates waiting for their time.
    std::size_t pending() const { return queue_.size(); }

  private:
    struct Update {
        sc_core::sc_time when;
        T value;
        uint64_t seq; // call order
        bool sampled; // from change_at
    };

    void queue(const sc_core::sc_time &when, const T &value, bool sampled) {
        auto pos = queue_.end();
        while (pos != queue_.begin() && std::prev(pos)->when > when)
            --pos;
        const bool first = pos == queue_.begin();
        queue_.insert(pos, Update{when, value, ++calls_, sampled});
        last_ = value;
        have_last_ = true;
        if (first)
            wake_at(when);
    }

    void run() override {
        const sc_core::sc_time now = sc_core::sc_time_stamp();
        while (!queue_.empty() && queue_.front().when <= now) {
            const Update &u = queue_.front();
            if (!u.sampled || u.seq > applied_) {
                if (signal_)
                    signal_->write(u.value);
                else
                    port_->write(u.value);
                applied_ = std::max(applied_, u.seq);
            }
            queue_.pop_front();
        }
        if (!queue_.empty())
            wake_at(queue_.front().when);
    }

    sc_core::sc_signal_inout_if<T> *signal_ = nullptr;
    sc_core::sc_inout<T> *port_ = nullptr;
    std::deque<Update> queue_; // by time; among equal times in call order
    uint64_t calls_ = 0;       // updates queued so far
    uint64_t applied_ = 0;     // the latest call (in call order) applied so far
    T last_{};
    bool have_last_ = false;
};

// An sc_signal<T> whose value changes at given simulated times (trace it like any signal).
template <class T>
class TimedSignal : public sc_core::sc_signal<T> {
  public:
    explicit TimedSignal(const char *name) : sc_core::sc_signal<T>(name), writer_(*this, name) {}

    void write_at(const sc_core::sc_time &when, const T &value) { writer_.write_at(when, value); }
    void write_after(const sc_core::sc_time &delay, const T &value) { writer_.write_after(delay, value); }
    void change_at(const sc_core::sc_time &when, const T &value) { writer_.change_at(when, value); }
    std::size_t pending() const { return writer_.pending(); }

  private:
    TimedWriter<T> writer_;
};

} // namespace vp
