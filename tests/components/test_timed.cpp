// vp::TimedActions, vp::TimedWriter and vp::TimedSignal (components/common/timed.h): effects and signal
// updates at their annotated time, in time order whatever the order of the calls, and in a VCD at those
// times.
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "timed.h"
#include "wave_probe.h"

using sc_core::SC_NS;
using sc_core::SC_PS;
using sc_core::sc_time;

// libsystemc references sc_main; GoogleTest provides main(), so this is never called.
int sc_main(int, char **) {
    return 0;
}

namespace {

// Runs BODY in a thread of its own.
class Driver : public sc_core::sc_module {
  public:
    explicit Driver(sc_core::sc_module_name name, std::function<void()> body)
        : sc_core::sc_module(name), body_(std::move(body)) {
        SC_HAS_PROCESS(Driver);
        SC_THREAD(run);
    }
    bool finished = false;

  private:
    void run() {
        body_();
        finished = true;
    }
    std::function<void()> body_;
};

struct Bench {
    vp::TimedSignal<uint32_t> sig{"sig"};
    vp_test::ChangeRecorder<uint32_t> recorder{"recorder"};
    Driver driver;
    explicit Bench(std::function<void()> body) : driver("driver", std::move(body)) { recorder.in.bind(sig); }
};

} // namespace

TEST(TimedSignal, UpdatesTakeEffectAtTheirTimesWhateverTheCallOrder) {
    const std::string vcd_path = testing::TempDir() + "timed_signal_order";
    Bench *bench = nullptr;
    Bench b([&] {
        sc_core::wait(5, SC_NS);
        // One caller, annotated delays out of order; two updates for the same time (the last one wins).
        bench->sig.write_after(sc_time(30, SC_NS), 5);
        bench->sig.write_after(sc_time(10, SC_NS), 7);
        bench->sig.write_after(sc_time(20, SC_NS), 9);
        bench->sig.write_after(sc_time(20, SC_NS), 11);
        bench->sig.write_at(sc_time(12345, SC_PS), 3); // an absolute time, to the picosecond
        EXPECT_EQ(bench->sig.read(), 0u) << "nothing changes before its time";
        EXPECT_EQ(bench->sig.pending(), 5u);
        sc_core::wait(40, SC_NS);
        EXPECT_EQ(bench->sig.pending(), 0u);
    });
    bench = &b;
    sc_core::sc_trace_file *vcd = sc_core::sc_create_vcd_trace_file(vcd_path.c_str());
    vcd->set_time_unit(1, SC_PS);
    sc_core::sc_trace(vcd, b.sig, "sig");
    sc_core::sc_start();
    sc_core::sc_close_vcd_trace_file(vcd);
    ASSERT_TRUE(b.driver.finished);

    const std::vector<std::pair<sc_time, uint32_t>> expected = {{sc_time(12345, SC_PS), 3u},
                                                                {sc_time(15, SC_NS), 7u},
                                                                {sc_time(25, SC_NS), 11u},
                                                                {sc_time(35, SC_NS), 5u}};
    EXPECT_EQ(b.recorder.changes, expected);
    const auto waves = vp_test::vcd_changes(vcd_path + ".vcd", "sig");
    const std::vector<std::pair<uint64_t, uint64_t>> expected_waves = {
        {0, 0}, {12345, 3}, {15000, 7}, {25000, 11}, {35000, 5}};
    EXPECT_EQ(waves, expected_waves);
    std::remove((vcd_path + ".vcd").c_str());
}

TEST(TimedSignal, UpdatesFromSeveralCallersInOneDeltaEachShow) {
    // Two "initiators" at the same kernel time, the second one annotating an earlier time than the first.
    Bench *bench = nullptr;
    Bench b([&] {
        bench->sig.write_after(sc_time(8, SC_NS), 1);
        bench->sig.write_after(sc_time(8, SC_NS), 2); // same picosecond: only the last shows
        bench->sig.write_after(sc_time(9, SC_NS), 3);
        sc_core::wait(sc_core::SC_ZERO_TIME);
        bench->sig.write_after(sc_time(4, SC_NS), 4);
        bench->sig.write_after(sc_core::SC_ZERO_TIME, 6);
        sc_core::wait(20, SC_NS);
    });
    bench = &b;
    sc_core::sc_start();
    const std::vector<std::pair<sc_time, uint32_t>> expected = {{sc_core::SC_ZERO_TIME, 6u},
                                                                {sc_time(4, SC_NS), 4u},
                                                                {sc_time(8, SC_NS), 2u},
                                                                {sc_time(9, SC_NS), 3u}};
    EXPECT_EQ(b.recorder.changes, expected);
}

TEST(TimedSignal, ChangeAtOnlyStampsChangesAndEarlyUpdatesApplyAtStart) {
    Bench *bench = nullptr;
    Bench b([&] {
        // A sampler that queues the same value again: only the first call of a value stamps a change.
        bench->sig.change_at(sc_time(1, SC_NS), 9); // same value as the one queued before the start
        bench->sig.change_at(sc_time(2, SC_NS), 4);
        bench->sig.change_at(sc_time(3, SC_NS), 4);
        bench->sig.change_at(sc_time(5, SC_NS), 9);
        EXPECT_EQ(bench->sig.pending(), 2u);
        sc_core::wait(10, SC_NS);
    });
    bench = &b;
    b.sig.write_at(sc_core::SC_ZERO_TIME, 9); // during elaboration: applied when the simulation starts
    sc_core::sc_start();
    const std::vector<std::pair<sc_time, uint32_t>> expected = {
        {sc_core::SC_ZERO_TIME, 9u}, {sc_time(2, SC_NS), 4u}, {sc_time(5, SC_NS), 9u}};
    EXPECT_EQ(b.recorder.changes, expected);
}

// Two overlapping steps of a sampled model: the first call stamps 1 at 80 ns, a later call (which already saw
// 1 replaced by 2) stamps 2 at 50 ns. The signal shows 2 from 50 ns and does not fall back to 1 at 80 ns.
// write_at updates are schedules, not samples: they always apply.
TEST(TimedSignal, ChangeAtNeverGoesBackToAValueALaterCallReplaced) {
    Bench *bench = nullptr;
    Bench b([&] {
        bench->sig.change_at(sc_time(80, SC_NS), 1);
        bench->sig.change_at(sc_time(50, SC_NS), 2);
        bench->sig.write_at(sc_time(90, SC_NS), 7);
        bench->sig.write_at(sc_time(60, SC_NS), 6);
        sc_core::wait(100, SC_NS);
    });
    bench = &b;
    sc_core::sc_start();
    const std::vector<std::pair<sc_time, uint32_t>> expected = {
        {sc_time(50, SC_NS), 2u}, {sc_time(60, SC_NS), 6u}, {sc_time(90, SC_NS), 7u}};
    EXPECT_EQ(b.recorder.changes, expected);
}

TEST(TimedWriter, DrivesAnOutputPort) {
    struct Device : sc_core::sc_module {
        sc_core::sc_out<bool> irq{"irq"};
        vp::TimedWriter<bool> irq_writer{irq, "irq"};
        explicit Device(sc_core::sc_module_name name) : sc_core::sc_module(name) {}
    };
    Device dev("dev");
    sc_core::sc_signal<bool> line("line");
    dev.irq.bind(line);
    vp_test::ChangeRecorder<bool> recorder("recorder");
    recorder.in.bind(line);
    Driver driver("driver", [&] {
        // A 1 ps pulse and a second one right after it: four edges at four times.
        dev.irq_writer.write_after(sc_time(3, SC_NS), true);
        dev.irq_writer.write_after(sc_time(3001, SC_PS), false);
        dev.irq_writer.write_after(sc_time(3002, SC_PS), true);
        dev.irq_writer.write_after(sc_time(3003, SC_PS), false);
        sc_core::wait(10, SC_NS);
    });
    sc_core::sc_start();
    const std::vector<std::pair<sc_time, bool>> expected = {{sc_time(3000, SC_PS), true},
                                                            {sc_time(3001, SC_PS), false},
                                                            {sc_time(3002, SC_PS), true},
                                                            {sc_time(3003, SC_PS), false}};
    EXPECT_EQ(recorder.changes, expected);
}

TEST(TimedActions, RunAtOnceWhenDueOtherwiseInTimeOrderAtTheirTimes) {
    vp::TimedActions actions("actions");
    std::vector<std::pair<sc_time, int>> log;
    auto note = [&log](int what) {
        return [&log, what] { log.emplace_back(sc_core::sc_time_stamp(), what); };
    };
    Driver driver("driver", [&] {
        sc_core::wait(1, SC_NS);
        actions.after(sc_core::SC_ZERO_TIME, note(0));
        ASSERT_EQ(log.size(), 1u) << "a zero delay with nothing queued runs in the caller";
        actions.after(sc_time(20, SC_NS), note(3));
        actions.after(sc_time(10, SC_NS), note(1));
        actions.after(sc_time(10, SC_NS), note(2)); // same time: after the one queued before it
        EXPECT_EQ(actions.pending(), 3u);
        EXPECT_EQ(log.size(), 1u) << "nothing runs before its time";
        sc_core::wait(10, SC_NS);
        // Due now but the queue still holds an action for now (it runs in a later delta): wait behind it.
        actions.after(sc_core::SC_ZERO_TIME, note(4));
        sc_core::wait(20, SC_NS);
        // An action that queues another one for now: it runs right after it.
        actions.after(sc_time(1, SC_NS), [&] {
            note(5)();
            actions.after(sc_core::SC_ZERO_TIME, note(6));
        });
        sc_core::wait(5, SC_NS);
    });
    sc_core::sc_start();
    ASSERT_TRUE(driver.finished);
    std::vector<std::pair<sc_time, int>> expected = {
        {sc_time(1, SC_NS), 0},  {sc_time(11, SC_NS), 1}, {sc_time(11, SC_NS), 2}, {sc_time(11, SC_NS), 4},
        {sc_time(21, SC_NS), 3}, {sc_time(32, SC_NS), 5}, {sc_time(32, SC_NS), 6}};
    EXPECT_EQ(log, expected);
}
