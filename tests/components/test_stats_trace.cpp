// vp::Stats (the statistics registry and its JSON document) and vp::Trace (the trace sink and its filter).
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "stats.h"
#include "trace.h"

// libsystemc references sc_main; GoogleTest provides main(), so this is never called.
int sc_main(int, char **) {
    return 0;
}

namespace {

TEST(Histogram, PowerOfTwoBuckets) {
    EXPECT_EQ(vp::Histogram::bucket_of(0), 0u);
    EXPECT_EQ(vp::Histogram::bucket_of(1), 1u);
    EXPECT_EQ(vp::Histogram::bucket_of(2), 2u);
    EXPECT_EQ(vp::Histogram::bucket_of(3), 2u);
    EXPECT_EQ(vp::Histogram::bucket_of(4), 3u);
    EXPECT_EQ(vp::Histogram::bucket_of(0x8000000000000000ull), 64u);
    vp::Histogram h;
    EXPECT_EQ(h.min(), 0u);
    for (uint64_t v : {5u, 6u, 7u, 1000u})
        h.add(v);
    EXPECT_EQ(h.count(), 4u);
    EXPECT_EQ(h.sum(), 1018u);
    EXPECT_EQ(h.min(), 5u);
    EXPECT_EQ(h.max(), 1000u);
    EXPECT_EQ(h.buckets()[3], 3u);  // 5, 6, 7 in [4, 8)
    EXPECT_EQ(h.buckets()[10], 1u); // 1000 in [512, 1024)
}

TEST(Stats, JsonDocumentWithCountersHistogramsGroupsAndHost) {
    vp::Stats stats;
    uint64_t hits = 7;
    vp::Histogram latency;
    latency.add(0);
    latency.add(100);
    stats.counter("smmu.tlb.hits", &hits);
    stats.counter("cpu.instructions", [] { return uint64_t{123456}; });
    stats.real("smmu.tlb.hit_ratio", [] { return 0.5; });
    stats.histogram("pcie.ats.latency_ps", &latency);
    stats.counters_from("pcie.00:02.0", [](const auto &cb) {
        cb("atc.misses", 3);
        cb("page_requests", 2);
    });
    stats.host("seconds", [] { return 1.25; });
    hits = 9; // read when written, not when registered
    std::ostringstream out;
    ASSERT_TRUE(stats.write_json(out));
    auto doc = nlohmann::json::parse(out.str());
    EXPECT_EQ(doc["smmu.tlb.hits"], 9);
    EXPECT_EQ(doc["cpu.instructions"], 123456);
    EXPECT_EQ(doc["smmu.tlb.hit_ratio"], 0.5);
    EXPECT_EQ(doc["pcie.00:02.0.atc.misses"], 3);
    EXPECT_EQ(doc["pcie.00:02.0.page_requests"], 2);
    EXPECT_EQ(doc["pcie.ats.latency_ps"]["count"], 2);
    EXPECT_EQ(doc["pcie.ats.latency_ps"]["sum"], 100);
    EXPECT_EQ(doc["pcie.ats.latency_ps"]["buckets"]["0"], 1);
    EXPECT_EQ(doc["pcie.ats.latency_ps"]["buckets"]["<2^7"], 1);
    EXPECT_EQ(doc["host"]["seconds"], 1.25);
    EXPECT_FALSE(doc.contains("host.seconds"));
    // Keys are sorted, `host` last: equal runs give byte-identical documents.
    std::string text = out.str();
    EXPECT_LT(text.find("\"cpu.instructions\""), text.find("\"pcie.00:02.0.atc.misses\""));
    EXPECT_LT(text.find("\"smmu.tlb.hits\""), text.find("\"host\""));
    auto names = stats.names();
    EXPECT_EQ(names.size(), 6u);
    EXPECT_TRUE(stats.has("pcie.00:02.0.page_requests"));
    EXPECT_FALSE(stats.has("host.seconds"));
}

TEST(Stats, NameRegisteredTwiceIsAWiringBug) {
    vp::Stats stats;
    uint64_t v = 0;
    stats.counter("a.b", &v);
    EXPECT_THROW(stats.counter("a.b", &v), std::logic_error);
    EXPECT_THROW(stats.counter("", &v), std::logic_error);
}

TEST(Trace, LineFormatAndTimeInPicoseconds) {
    std::ostringstream out;
    vp::Trace trace;
    EXPECT_FALSE(trace.wants("smmu", "cmd"));
    trace.line(sc_core::sc_time(1, sc_core::SC_US), "smmu", "cmd", "SYNC"); // off: nothing
    trace.set_stream(&out);
    trace.line(sc_core::sc_time(1.5, sc_core::SC_NS), "smmu", "cmd", "SYNC cs=irq");
    trace.line_ps(2000, "pcie.00:02.0", "ats_req", "");
    EXPECT_EQ(out.str(), "1500 ps smmu: cmd SYNC cs=irq\n2000 ps pcie.00:02.0: ats_req\n");
}

TEST(Trace, FilterByComponentKindAndExclusion) {
    std::ostringstream out;
    vp::Trace trace;
    trace.set_stream(&out);
    std::string error;
    ASSERT_TRUE(trace.set_filter("smmu/cmd,pcie", &error)) << error;
    EXPECT_TRUE(trace.wants("smmu", "cmd"));
    EXPECT_FALSE(trace.wants("smmu", "walk"));
    EXPECT_TRUE(trace.wants("pcie.00:02.0", "ats_req")); // sub-component
    EXPECT_FALSE(trace.wants("pciex", "ats_req"));       // not a sub-component
    EXPECT_FALSE(trace.wants("gic", "irq"));
    ASSERT_TRUE(trace.set_filter("-smmu/walk", &error));
    EXPECT_TRUE(trace.wants("smmu", "cmd"));
    EXPECT_FALSE(trace.wants("smmu", "walk"));
    EXPECT_TRUE(trace.wants("gic", "irq"));
    ASSERT_TRUE(trace.set_filter("*/page_req,-pcie.00:03.0", &error));
    EXPECT_TRUE(trace.wants("pcie.00:02.0", "page_req"));
    EXPECT_FALSE(trace.wants("pcie.00:03.0", "page_req"));
    EXPECT_FALSE(trace.wants("pcie.00:02.0", "ats_req"));
    ASSERT_TRUE(trace.set_filter("", &error)); // everything again
    EXPECT_TRUE(trace.wants("gic", "irq"));
    EXPECT_FALSE(trace.set_filter("smmu,,gic", &error));
    EXPECT_NE(error.find("empty term"), std::string::npos);
    EXPECT_FALSE(trace.set_filter("smmu/", &error));
    EXPECT_FALSE(trace.set_filter("/cmd", &error));
}

// Two callers with different annotated delays write out of time order; the time-ordered trace holds lines
// back until the kernel's time has passed them and writes them sorted, equal times in the order they were
// made.
TEST(Trace, TimeOrderedHoldsLinesUntilTheKernelPassesThem) {
    std::ostringstream out;
    vp::Trace trace;
    trace.set_stream(&out);
    trace.set_time_ordered(true);
    trace.line_ps(3000, "smmu", "xlate", "late");
    trace.line_ps(1000, "pcie.00:02.0", "mem", "early");
    trace.line_ps(3000, "smmu", "xlate", "late2");
    trace.line_ps(2000, "dma", "cmd_end", "");
    EXPECT_EQ(out.str(), ""); // the kernel is at 0: any of them could still be preceded
    trace.flush();
    EXPECT_EQ(out.str(), "1000 ps pcie.00:02.0: mem early\n2000 ps dma: cmd_end\n3000 ps smmu: xlate late\n"
                         "3000 ps smmu: xlate late2\n");
    trace.line_ps(500, "gic", "irq", "intid=33 level=1");
    trace.set_stream(nullptr); // writes what is held back
    EXPECT_EQ(out.str().substr(out.str().rfind("500 ps")), "500 ps gic: irq intid=33 level=1\n");
}

} // namespace
