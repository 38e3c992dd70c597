// sc_spawn needs dynamic processes enabled before SystemC is first included.
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "timed.h"

#include <string>

namespace vp {

namespace detail {

TimedProcess::TimedProcess(const char *basename) : self_(std::make_shared<TimedProcess *>(this)) {
    sc_core::sc_spawn_options options;
    options.spawn_method();
    options.set_sensitivity(&event_);
    // No dont_initialize(): the start-up call applies whatever was queued during elaboration.
    const std::string name = std::string(basename) + "_timed";
    sc_core::sc_spawn(
        [self = self_]() {
            if (TimedProcess *process = *self) {
                process->started_ = true;
                process->run();
            }
        },
        sc_core::sc_gen_unique_name(name.c_str(), true), &options);
}

TimedProcess::~TimedProcess() {
    *self_ = nullptr;
}

void TimedProcess::wake_at(const sc_core::sc_time &when) {
    if (!started_)
        return; // the start-up call of run() will see the queue
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    event_.notify(when > now ? when - now : sc_core::SC_ZERO_TIME);
}

} // namespace detail

void TimedActions::push(const sc_core::sc_time &when, std::function<void()> action) {
    auto pos = queue_.end();
    while (pos != queue_.begin() && std::prev(pos)->when > when)
        --pos;
    const bool first = pos == queue_.begin();
    queue_.insert(pos, Item{when, std::move(action)});
    if (first)
        wake_at(when);
}

void TimedActions::run_until(const sc_core::sc_time &when) {
    while (!queue_.empty() && queue_.front().when <= when) {
        std::function<void()> action = std::move(queue_.front().action);
        queue_.pop_front();
        action();
    }
    if (!queue_.empty())
        wake_at(queue_.front().when);
}

void TimedActions::run() {
    const sc_core::sc_time now = sc_core::sc_time_stamp();
    while (!queue_.empty() && queue_.front().when <= now) {
        // Popped before it runs: the action may queue more (for now: they run in this loop, in order).
        std::function<void()> action = std::move(queue_.front().action);
        queue_.pop_front();
        action();
    }
    if (!queue_.empty())
        wake_at(queue_.front().when);
}

} // namespace vp
