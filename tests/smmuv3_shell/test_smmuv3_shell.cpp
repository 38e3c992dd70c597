// SystemC tests of vp::Smmuv3 with the real core, a real Memory and Router: a driver-like initiator programs
// the SMMU through its registers and builds its tables in memory; a requester sends DMA through the upstream
// socket.
#include <cstdio>
#include <deque>
#include <functional>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <tlm_utils/simple_target_socket.h>

#include "dma_master.h"
#include "gicv2.h"
#include "smmu_test_env.h"
#include "wave_probe.h"

using vp_test::attr_for;
using vp_test::kCdTable;
using vp_test::kRamBase;
using vp_test::Requester;
using vp_test::SmmuEnv;

namespace {

constexpr uint64_t kVa = 0x0000123456789000;
constexpr uint64_t kPa = kRamBase + 0x800000;
constexpr uint32_t kSid = 3;
constexpr uint16_t kAsid = 7;

std::vector<uint8_t> pattern(size_t len, uint8_t seed) {
    std::vector<uint8_t> v(len);
    for (size_t i = 0; i < len; ++i)
        v[i] = static_cast<uint8_t>(seed + 13 * i);
    return v;
}

// Times (in ps) of the text-trace lines that match PATTERN, with its first capture group (or "").
std::vector<std::pair<uint64_t, std::string>> trace_times(const std::string &trace,
                                                          const std::string &pattern) {
    std::vector<std::pair<uint64_t, std::string>> out;
    const std::regex line_format("([0-9]+) ps " + pattern);
    std::istringstream lines(trace);
    for (std::string line; std::getline(lines, line);) {
        std::smatch m;
        if (std::regex_match(line, m, line_format))
            out.emplace_back(std::stoull(m[1].str()), m.size() > 2 ? m[2].str() : std::string());
    }
    return out;
}

sc_core::sc_time ps(uint64_t value) {
    return sc_core::sc_time::from_value(value); // the default resolution: 1 ps
}

// The times at which the core asked for CMD_SYNC pulses (its "irq cmd-sync" trace lines).
std::vector<sc_core::sc_time> cmd_sync_requests(const std::string &trace) {
    std::vector<sc_core::sc_time> requested;
    for (const auto &line : trace_times(trace, "smmu: irq cmd-sync"))
        requested.push_back(ps(line.first));
    return requested;
}

// Puts a CMD_SYNC into command queue slot `index` (not published).
void put_sync(SmmuEnv &e, uint32_t index, bool irq) {
    const uint64_t slot = vp_test::kCmdq + (index & ((1u << vp_test::kCmdqLog2) - 1)) * SMMU_CMD_SIZE;
    e.put64(slot, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC) |
                      SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, irq ? SMMU_SYNC_CS_IRQ : SMMU_SYNC_CS_NONE));
    e.put64(slot + 8, 0);
}

// The SMMU's wired CMD_SYNC interrupt into a GIC SPI configured edge-triggered, as on virt (SPI 76).
struct GicOnSyncLine {
    static constexpr unsigned kSpi = 76 - 32;
    static constexpr uint64_t kGicd = 0x08000000;
    vp::GicV2 gic{"gic"};
    sc_core::sc_signal<bool> cpu_irq{"cpu_irq"};
    vp_test::ChangeRecorder<bool> sync_changes{"sync_changes"};
    explicit GicOnSyncLine(SmmuEnv &e) {
        e.router.add_target(gic.dist_socket, kGicd, 0x10000, "gicd");
        e.router.add_target(gic.cpu_socket, kGicd + 0x10000, 0x10000, "gicc");
        e.router.add_target(gic.v2m_socket, kGicd + 0x20000, 0x1000, "gicv2m");
        gic.irq_out.bind(cpu_irq);
        gic.connect_spi(kSpi, e.sync_line);
        sync_changes.in.bind(e.sync_line);
    }
    void make_edge_triggered(SmmuEnv &e) {
        const unsigned intid = 32 + kSpi;
        e.cpu.write32(kGicd + vp::GicV2::kGICD_ICFGR + 4 * (intid / 16), 2u << (2 * (intid % 16)));
    }
};

// Expected edge times of pulses requested at REQUESTED (in order): each at its time, or a period (high for
// the width, low for the width) after the previous one.
std::vector<sc_core::sc_time> queued_edges(const std::vector<sc_core::sc_time> &requested,
                                           const sc_core::sc_time &width) {
    std::vector<sc_core::sc_time> edges;
    for (const sc_core::sc_time &t : requested)
        edges.push_back(edges.empty() ? t : std::max(t, edges.back() + 2 * width));
    return edges;
}

// Stage-1 translation of kSid with one page kVa -> kPa.
void setup_stage1(SmmuEnv &env, bool abort = true) {
    env.map_page(kVa, kPa);
    env.cd_s1(kCdTable, kAsid, abort);
    env.ste_s1(kSid, kCdTable);
    env.enable();
}

TEST(Smmuv3Shell, TranslatedWriteAndReadLandAtThePhysicalAddress) {
    SmmuEnv *env_ptr = nullptr;
    SmmuEnv env([&](Requester &dev) {
        SmmuEnv &e = *env_ptr;
        setup_stage1(e);
        const auto data = pattern(64, 1);
        ASSERT_EQ(dev.write(kVa + 0x40, data, attr_for(kSid)), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(dev.last_address(), kVa + 0x40) << "the payload address is restored for the requester";
        EXPECT_EQ(std::memcmp(e.at(kPa + 0x40), data.data(), data.size()), 0) << "data at the translated PA";
        std::vector<uint8_t> back(64);
        ASSERT_EQ(dev.read(kVa + 0x40, back, attr_for(kSid)), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(back, data);
        EXPECT_GT(dev.last_delay(), sc_core::SC_ZERO_TIME) << "memory and SMMU latencies are annotated";
        EXPECT_EQ(e.reg32(SMMU_EVENTQ_PROD), 0u) << "no event for a good translation";
    });
    env_ptr = &env;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
    EXPECT_EQ(env.smmu.counters().upstream_transactions, 2u);
    EXPECT_EQ(env.smmu.counters().upstream_aborts, 0u);
    EXPECT_GT(env.smmu.counters().mem_reads, 0u) << "STE, CD and table walks went through the walk socket";
}

TEST(Smmuv3Shell, FaultAbortsRecordsAnEventAndPulsesTheIrq) {
    SmmuEnv *env_ptr = nullptr;
    SmmuEnv env([&](Requester &dev) {
        SmmuEnv &e = *env_ptr;
        setup_stage1(e);
        const unsigned edges_before = e.evtq_edges.rising;
        std::vector<uint8_t> buf(8, 0xAA);
        const uint64_t unmapped = kVa + 0x5000;
        vp::TxnAttr attr = attr_for(kSid);
        attr.priv = true;
        EXPECT_EQ(dev.read(unmapped + 0x18, buf, attr), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        sc_core::wait(10, sc_core::SC_NS);
        ASSERT_EQ(e.reg32(SMMU_EVENTQ_PROD), 1u) << "one event record written";
        const uint64_t dw0 = e.event_dword(0, 0);
        EXPECT_EQ(SMMU_FIELD_GET(SMMU_EVT0_ID, dw0), uint64_t{SMMU_EVT_F_TRANSLATION});
        EXPECT_EQ(SMMU_FIELD_GET(SMMU_EVT0_SID, dw0), uint64_t{kSid});
        EXPECT_EQ(e.event_dword(0, 2), unmapped + 0x18) << "input address";
        EXPECT_TRUE(e.event_dword(0, 1) & SMMU_EVT1_RNW) << "a read";
        EXPECT_TRUE(e.event_dword(0, 1) & SMMU_EVT1_PNU) << "privileged";
        EXPECT_EQ(e.evtq_edges.rising, edges_before + 1) << "the event queue IRQ pulsed";
        EXPECT_FALSE(e.evtq_line.read()) << "and is low again after the pulse";
        EXPECT_EQ(e.evtq_edges.last_fall - e.evtq_edges.last_rise, sc_core::sc_time(1, sc_core::SC_NS));
    });
    env_ptr = &env;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
    EXPECT_EQ(env.smmu.counters().upstream_aborts, 1u);
    EXPECT_EQ(env.smmu.counters().irq_pulses[SMMU_IRQ_EVTQ], 1u);
}

TEST(Smmuv3Shell, CmdSyncIrqPulses) {
    SmmuEnv *env_ptr = nullptr;
    SmmuEnv env([&](Requester &) {
        SmmuEnv &e = *env_ptr;
        e.enable();
        const unsigned before = e.sync_edges.rising;
        e.sync(true);
        // The pulse happens at the annotated time of the CMDQ_PROD write, which the CPU initiator does not
        // wait for.
        sc_core::wait(1, sc_core::SC_US);
        EXPECT_EQ(e.sync_edges.rising, before + 1);
        EXPECT_FALSE(e.sync_line.read());
    });
    env_ptr = &env;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
}

TEST(Smmuv3Shell, GerrorIrqPulsesOnAnIllegalCommand) {
    SmmuEnv *env_ptr = nullptr;
    SmmuEnv env([&](Requester &) {
        SmmuEnv &e = *env_ptr;
        e.enable();
        const unsigned before = e.gerror_edges.rising;
        const uint64_t slot = vp_test::kCmdq + (e.cmdq_prod & 31) * SMMU_CMD_SIZE;
        e.put64(slot, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, 0xFF));
        e.put64(slot + 8, 0);
        e.set32(SMMU_CMDQ_PROD, e.cmdq_prod + 1);
        sc_core::wait(1, sc_core::SC_US);
        EXPECT_EQ(SMMU_FIELD_GET(SMMU_CMDQ_CONS_ERR, e.reg32(SMMU_CMDQ_CONS)), uint64_t{SMMU_CERROR_ILL});
        EXPECT_EQ(e.reg32(SMMU_GERROR) & SMMU_GERROR_CMDQ_ERR, SMMU_GERROR_CMDQ_ERR);
        EXPECT_EQ(e.gerror_edges.rising, before + 1);
        EXPECT_FALSE(e.gerror_line.read());
    });
    env_ptr = &env;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
    EXPECT_EQ(env.smmu.counters().irq_pulses[SMMU_IRQ_GERROR], 1u);
}

TEST(Smmuv3Shell, RazWiWhenTheCdDoesNotAbort) {
    SmmuEnv *env_ptr = nullptr;
    SmmuEnv env([&](Requester &dev) {
        SmmuEnv &e = *env_ptr;
        setup_stage1(e, false);
        std::vector<uint8_t> buf(16, 0xAA);
        EXPECT_EQ(dev.read(kVa + 0x3000, buf, attr_for(kSid)), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(buf, std::vector<uint8_t>(16, 0)) << "reads as zero";
        EXPECT_EQ(dev.write(kVa + 0x3000, pattern(16, 5), attr_for(kSid)), tlm::TLM_OK_RESPONSE) << "ignored";
    });
    env_ptr = &env;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
    EXPECT_EQ(env.smmu.counters().upstream_raz_wi, 2u);
}

TEST(Smmuv3Shell, TransactionCrossingPagesIsSplit) {
    SmmuEnv *env_ptr = nullptr;
    constexpr uint64_t kPa2 = kRamBase + 0x900000;
    SmmuEnv env([&](Requester &dev) {
        SmmuEnv &e = *env_ptr;
        e.map_page(kVa + 0x1000, kPa2);
        setup_stage1(e);
        const auto data = pattern(32, 9);
        ASSERT_EQ(dev.write(kVa + 0xFF0, data, attr_for(kSid)), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(std::memcmp(e.at(kPa + 0xFF0), data.data(), 16), 0) << "first half in the first page";
        EXPECT_EQ(std::memcmp(e.at(kPa2), data.data() + 16, 16), 0) << "second half in the other page";
        std::vector<uint8_t> back(32);
        ASSERT_EQ(dev.read(kVa + 0xFF0, back, attr_for(kSid)), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(back, data);
        EXPECT_FALSE(dev.last_dmi_allowed()) << "no DMI hint for a split transaction";
        // Crossing into an unmapped page: aborted.
        EXPECT_EQ(dev.write(kVa + 0x1FF8, pattern(16, 2), attr_for(kSid)), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    });
    env_ptr = &env;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
    EXPECT_EQ(env.smmu.counters().upstream_splits, 3u);
}

TEST(Smmuv3Shell, DmiGrantedForATranslatedPageAndInvalidatedByTlbi) {
    SmmuEnv *env_ptr = nullptr;
    SmmuEnv env([&](Requester &dev) {
        SmmuEnv &e = *env_ptr;
        setup_stage1(e);
        tlm::tlm_dmi dmi;
        EXPECT_FALSE(dev.get_dmi(kVa, false, attr_for(kSid), dmi)) << "nothing translated yet";
        std::vector<uint8_t> buf(8);
        ASSERT_EQ(dev.read(kVa + 8, buf, attr_for(kSid)), tlm::TLM_OK_RESPONSE);
        EXPECT_TRUE(dev.last_dmi_allowed());
        ASSERT_TRUE(dev.get_dmi(kVa + 8, false, attr_for(kSid), dmi));
        EXPECT_EQ(dmi.get_start_address(), kVa);
        EXPECT_EQ(dmi.get_end_address(), kVa + 0xFFF);
        EXPECT_EQ(dmi.get_dmi_ptr(), e.at(kPa));
        EXPECT_TRUE(dmi.is_read_allowed());
        EXPECT_FALSE(dmi.is_write_allowed()) << "write DMI only after a write went through the SMMU";
        EXPECT_FALSE(dev.get_dmi(kVa, false, attr_for(kSid + 1), dmi)) << "another stream gets nothing";
        ASSERT_EQ(dev.write(kVa, pattern(4, 1), attr_for(kSid)), tlm::TLM_OK_RESPONSE);
        ASSERT_TRUE(dev.get_dmi(kVa, true, attr_for(kSid), dmi));
        EXPECT_TRUE(dmi.is_write_allowed());
        EXPECT_TRUE(dmi.is_read_allowed());
        EXPECT_TRUE(dev.invalidations().empty());
        e.tlbi_va(kAsid, kVa);
        ASSERT_FALSE(dev.invalidations().empty()) << "TLBI revokes upstream DMI";
        EXPECT_EQ(dev.invalidations().back().first, 0u);
        EXPECT_EQ(dev.invalidations().back().second, ~uint64_t{0});
        EXPECT_FALSE(dev.get_dmi(kVa, false, attr_for(kSid), dmi)) << "and forgets the translation";
    });
    env_ptr = &env;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
    EXPECT_EQ(env.smmu.counters().dmi_grants, 2u);
    EXPECT_GE(env.smmu.counters().dmi_invalidations, 1u);
}

TEST(Smmuv3Shell, RegisterWriteThatChangesTranslationRevokesDmi) {
    SmmuEnv *env_ptr = nullptr;
    SmmuEnv env([&](Requester &dev) {
        SmmuEnv &e = *env_ptr;
        setup_stage1(e);
        std::vector<uint8_t> buf(8);
        tlm::tlm_dmi dmi;
        EXPECT_FALSE(dev.get_dmi(kVa, false, attr_for(kSid), dmi))
            << "the first request only starts the bookkeeping";
        ASSERT_EQ(dev.read(kVa, buf, attr_for(kSid)), tlm::TLM_OK_RESPONSE);
        ASSERT_TRUE(dev.get_dmi(kVa, false, attr_for(kSid), dmi));
        e.set32(SMMU_CR0, SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN); // SMMUEN off
        EXPECT_FALSE(dev.invalidations().empty());
    });
    env_ptr = &env;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
}

TEST(Smmuv3Shell, GlobalBypassAndAbort) {
    SmmuEnv *env_ptr = nullptr;
    SmmuEnv env([&](Requester &dev) {
        SmmuEnv &e = *env_ptr;
        e.set32(SMMU_GBPA, SMMU_GBPA_UPDATE);
        e.wait_ack(SMMU_GBPA, 0);
        const uint64_t pa = kRamBase + 0x700000;
        const auto data = pattern(16, 4);
        ASSERT_EQ(dev.write(pa, data, attr_for(9)), tlm::TLM_OK_RESPONSE)
            << "SMMUEN=0 and GBPA.ABORT=0: bypass";
        EXPECT_EQ(std::memcmp(e.at(pa), data.data(), data.size()), 0);
        e.set32(SMMU_GBPA, SMMU_GBPA_UPDATE | SMMU_GBPA_ABORT);
        e.wait_ack(SMMU_GBPA, SMMU_GBPA_ABORT);
        EXPECT_EQ(dev.write(pa, pattern(16, 7), attr_for(9)), tlm::TLM_GENERIC_ERROR_RESPONSE)
            << "GBPA.ABORT refuses the stream";
        EXPECT_EQ(std::memcmp(e.at(pa), data.data(), data.size()), 0) << "memory unchanged";
    });
    env_ptr = &env;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
}

TEST(Smmuv3Shell, StreamBypassSte) {
    SmmuEnv *env_ptr = nullptr;
    SmmuEnv env([&](Requester &dev) {
        SmmuEnv &e = *env_ptr;
        e.ste_bypass(2);
        e.enable();
        const uint64_t pa = kRamBase + 0x600010;
        const auto data = pattern(8, 3);
        ASSERT_EQ(dev.write(pa, data, attr_for(2)), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(std::memcmp(e.at(pa), data.data(), data.size()), 0);
        // A stream whose STE is invalid aborts with a configuration error (generic error) and an event.
        EXPECT_EQ(dev.write(pa, data, attr_for(5)), tlm::TLM_GENERIC_ERROR_RESPONSE);
        EXPECT_EQ(e.reg32(SMMU_EVENTQ_PROD), 1u);
        EXPECT_EQ(SMMU_FIELD_GET(SMMU_EVT0_ID, e.event_dword(0, 0)), uint64_t{SMMU_EVT_C_BAD_STE});
    });
    env_ptr = &env;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
}

TEST(Smmuv3Shell, MissingTxnAttrIsAnError) {
    SmmuEnv env([](Requester &dev) {
        uint8_t buf[4] = {};
        EXPECT_EQ(dev.access(tlm::TLM_READ_COMMAND, kRamBase, buf, 4, nullptr),
                  tlm::TLM_GENERIC_ERROR_RESPONSE);
        EXPECT_EQ(dev.access(tlm::TLM_WRITE_COMMAND, kRamBase, buf, 4, nullptr),
                  tlm::TLM_GENERIC_ERROR_RESPONSE);
    });
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
    EXPECT_EQ(env.smmu.counters().upstream_missing_attr, 2u);
}

TEST(Smmuv3Shell, RegisterAccessSizes) {
    SmmuEnv *env_ptr = nullptr;
    SmmuEnv env([&](Requester &) {
        SmmuEnv &e = *env_ptr;
        uint64_t value = 0;
        EXPECT_EQ(e.cpu.read(vp_test::kSmmuBase + SMMU_IDR0, value, 8), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(static_cast<uint32_t>(value), e.reg32(SMMU_IDR0)) << "64-bit read: IDR0 in the low half";
        EXPECT_EQ(static_cast<uint32_t>(value >> 32), e.reg32(SMMU_IDR1)) << "IDR1 in the high half";
        EXPECT_EQ(e.cpu.read(vp_test::kSmmuBase + SMMU_IDR0, value, 2), tlm::TLM_GENERIC_ERROR_RESPONSE);
        EXPECT_EQ(e.cpu.read(vp_test::kSmmuBase + SMMU_IDR0, value, 1), tlm::TLM_GENERIC_ERROR_RESPONSE);
        EXPECT_EQ(e.cpu.read(vp_test::kSmmuBase + SMMU_IDR1 + 2, value, 4), tlm::TLM_GENERIC_ERROR_RESPONSE);
        EXPECT_EQ(e.cpu.read(vp_test::kSmmuBase + SMMU_IDR1, value, 8), tlm::TLM_GENERIC_ERROR_RESPONSE)
            << "64-bit access must be 8-byte aligned";
        e.set64(SMMU_STRTAB_BASE, 0x0000000123456780);
        EXPECT_EQ(e.reg32(SMMU_STRTAB_BASE), 0x23456780u);
        EXPECT_EQ(e.reg32(SMMU_STRTAB_BASE + 4), 0x1u);
        uint8_t dbg[4] = {};
        EXPECT_EQ(e.cpu.debug(tlm::TLM_READ_COMMAND, vp_test::kSmmuBase + SMMU_IDR0, dbg, 4), 4u);
        EXPECT_EQ(dbg[0] | dbg[1] << 8 | dbg[2] << 16 | uint32_t{dbg[3]} << 24, e.reg32(SMMU_IDR0));
    });
    env_ptr = &env;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
    EXPECT_EQ(env.smmu.counters().reg_errors, 4u);
}

TEST(Smmuv3Shell, InvalidParametersThrow) {
    vp::Smmuv3::Params p = vp::Smmuv3::default_params();
    p.core.idr[1] = static_cast<uint32_t>(SMMU_FIELD_SET(p.core.idr[1], SMMU_IDR1_CMDQS, 25));
    try {
        vp::Smmuv3 smmu("smmu", p);
        FAIL() << "accepted a command queue of 2^25 entries";
    } catch (const std::invalid_argument &e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("invalid SMMUv3 parameters"), std::string::npos) << what;
        EXPECT_EQ(what.find('\n'), std::string::npos) << "one line";
    }
}

TEST(Smmuv3Shell, TextTraceAndStats) {
    std::ostringstream trace;
    SmmuEnv *env_ptr = nullptr;
    SmmuEnv env([&](Requester &dev) {
        SmmuEnv &e = *env_ptr;
        setup_stage1(e);
        std::vector<uint8_t> buf(8);
        EXPECT_EQ(dev.read(kVa, buf, attr_for(kSid)), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(dev.read(kVa + 0x5000, buf, attr_for(kSid)), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    });
    env_ptr = &env;
    env.smmu.set_trace_stream(&trace);
    const std::string vcd_path = testing::TempDir() + "smmuv3_shell_trace";
    sc_core::sc_trace_file *vcd = sc_core::sc_create_vcd_trace_file(vcd_path.c_str());
    env.smmu.trace(vcd);
    sc_core::sc_start();
    sc_core::sc_close_vcd_trace_file(vcd);
    ASSERT_TRUE(env.dev.finished());
    std::ifstream vcd_file(vcd_path + ".vcd");
    const std::string waves((std::istreambuf_iterator<char>(vcd_file)), std::istreambuf_iterator<char>());
    for (const char *signal : {"evtq_irq", "cmdq_prod", "evtq_prod", "tlb_hits", "last_sid", "last_addr"})
        EXPECT_NE(waves.find(signal), std::string::npos) << signal;
    std::remove((vcd_path + ".vcd").c_str());
    std::istringstream lines(trace.str());
    std::string line;
    unsigned count = 0;
    const std::regex format("[0-9]+ ps smmu: .*");
    while (std::getline(lines, line)) {
        ++count;
        EXPECT_TRUE(std::regex_match(line, format)) << line;
    }
    EXPECT_GT(count, 0u);
    EXPECT_NE(trace.str().find("F_TRANSLATION"), std::string::npos) << trace.str();
    vp::Stats registry;
    env.smmu.register_stats(registry);
    std::ostringstream text;
    ASSERT_TRUE(registry.write_json(text));
    const nlohmann::json stats = nlohmann::json::parse(text.str());
    EXPECT_EQ(stats.at("smmu.upstream.transactions"), 2u) << text.str();
    EXPECT_EQ(stats.at("smmu.upstream.aborts"), 1u);
    EXPECT_GT(stats.at("smmu.regs.writes").get<uint64_t>(), 0u);
    EXPECT_GT(stats.at("smmu.mem.reads").get<uint64_t>(), 0u);
    EXPECT_EQ(stats.at("smmu.irq.evtq.pulses"), 1u);
    EXPECT_EQ(stats.at("smmu.upstream.dmi_grants"), 0u);
    // No stall in this run: the residency histogram is there, empty.
    EXPECT_EQ(stats.at("smmu.stall.residency_ps"),
              nlohmann::json::parse(R"({"count":0,"sum":0,"min":0,"max":0,"buckets":{}})"));
}

TEST(Smmuv3Shell, AtsTranslationRequestIsAnsweredInTheExtension) {
    SmmuEnv *env_ptr = nullptr;
    SmmuEnv env([&](Requester &dev) {
        SmmuEnv &e = *env_ptr;
        setup_stage1(e);
        uint8_t buf[8] = {};
        vp::TxnAttr attr = attr_for(kSid);
        attr.at = vp::PcieAt::TranslationRequest;
        const uint64_t reads_before = e.ram.reads();
        tlm::tlm_generic_payload gp;
        gp.set_command(tlm::TLM_READ_COMMAND);
        gp.set_address(kVa);
        gp.set_data_ptr(buf);
        gp.set_data_length(8);
        gp.set_streaming_width(8);
        gp.set_extension(&attr);
        sc_core::sc_time delay;
        dev.socket->b_transport(gp, delay);
        gp.clear_extension(&attr);
        EXPECT_EQ(gp.get_response_status(), tlm::TLM_OK_RESPONSE) << "the answer is in the extension";
        EXPECT_TRUE(attr.ats_valid);
        // ATS is not enabled for the stream (STE.EATS = 0b00): the request is unsupported.
        EXPECT_EQ(attr.ats.status, vp::AtsCompletionStatus::UnsupportedRequest);
        EXPECT_LE(e.ram.reads() - reads_before, 1u) << "nothing but an event record write goes to memory";
    });
    env_ptr = &env;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
    EXPECT_EQ(env.smmu.counters().ats_translation_requests, 1u);
}

// The platform DMA master behind the SMMU, next to another requester on the same upstream socket.
struct DmaEnv : SmmuEnv {
    static constexpr uint64_t kDmaBase = 0x0c000000;
    vp::DmaMaster dma{"dma", kSid};
    sc_core::sc_signal<bool> dma_irq{"dma_irq"};
    explicit DmaEnv(Requester::Body body) : SmmuEnv(std::move(body)) {
        router.add_target(dma.reg_socket, kDmaBase, vp::DmaMaster::kRegSpaceSize, "dma");
        dma.socket.bind(smmu.upstream_socket);
        dma.irq.bind(dma_irq);
    }
    uint32_t dma_run(uint64_t src, uint64_t dst, uint32_t len) {
        cpu.write32(kDmaBase + vp::DmaMaster::kRegSrcLo, static_cast<uint32_t>(src));
        cpu.write32(kDmaBase + vp::DmaMaster::kRegSrcHi, static_cast<uint32_t>(src >> 32));
        cpu.write32(kDmaBase + vp::DmaMaster::kRegDstLo, static_cast<uint32_t>(dst));
        cpu.write32(kDmaBase + vp::DmaMaster::kRegDstHi, static_cast<uint32_t>(dst >> 32));
        cpu.write32(kDmaBase + vp::DmaMaster::kRegLen, len);
        cpu.write32(kDmaBase + vp::DmaMaster::kRegCtrl, vp::DmaMaster::kCtrlStart);
        uint32_t status = vp::DmaMaster::kBusy;
        for (int i = 0; i < 100000 && status == vp::DmaMaster::kBusy; ++i) {
            sc_core::wait(100, sc_core::SC_NS);
            status = cpu.read32(kDmaBase + vp::DmaMaster::kRegStatus);
        }
        return status;
    }
};

TEST(Smmuv3Shell, DmaMasterCopiesThroughTheSmmu) {
    constexpr uint64_t kSrcVa = kVa, kDstVa = kVa + 0x1000;
    constexpr uint64_t kDstPa = kRamBase + 0xA00000;
    DmaEnv *env_ptr = nullptr;
    DmaEnv env([&](Requester &) {
        DmaEnv &e = *env_ptr;
        e.map_page(kDstVa, kDstPa);
        setup_stage1(e);
        const auto data = pattern(0x300, 11);
        std::memcpy(e.at(kPa + 0x100), data.data(), data.size());
        EXPECT_EQ(e.dma_run(kSrcVa + 0x100, kDstVa + 0x80, 0x300), uint32_t{vp::DmaMaster::kDone});
        EXPECT_EQ(std::memcmp(e.at(kDstPa + 0x80), data.data(), data.size()), 0) << "copied PA to PA";
        // The destination's next page is unmapped: a write fault at its first address.
        EXPECT_EQ(e.dma_run(kSrcVa, kDstVa + 0xF00, 0x200), uint32_t{vp::DmaMaster::kWriteFault});
        EXPECT_EQ(e.cpu.read32(DmaEnv::kDmaBase + vp::DmaMaster::kRegFaultLo),
                  static_cast<uint32_t>(kDstVa + 0x1000));
        EXPECT_EQ(e.cpu.read32(DmaEnv::kDmaBase + vp::DmaMaster::kRegBytesDone), 0x100u);
        ASSERT_EQ(e.reg32(SMMU_EVENTQ_PROD), 1u);
        EXPECT_EQ(SMMU_FIELD_GET(SMMU_EVT0_ID, e.event_dword(0, 0)), uint64_t{SMMU_EVT_F_TRANSLATION});
        EXPECT_EQ(SMMU_FIELD_GET(SMMU_EVT0_SID, e.event_dword(0, 0)), uint64_t{kSid});
        EXPECT_EQ(e.event_dword(0, 2), kDstVa + 0x1000);
        EXPECT_FALSE(e.event_dword(0, 1) & SMMU_EVT1_RNW) << "a write";
    });
    env_ptr = &env;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
    EXPECT_EQ(env.dma.counters().faults, 1u);
}

// A driver running ahead publishes three CMD_SYNCs (CS = IRQ) with three CMDQ_PROD writes whose annotated
// times are 2 ns apart; the command queue takes 1 ns per command plus the fetch of each command from memory,
// so the three completions fall closer together than the 100 ns pulse width: each becomes its own pulse and
// its own rising edge at the GIC, the first at its annotated time, each next one a period (high 100 ns, low
// 100 ns) after the previous.
TEST(Smmuv3Shell, CmdSyncPulsesCloserThanTheWidthEachReachTheGicAsAnEdge) {
    vp::Smmuv3::Params params = vp::Smmuv3::default_params();
    params.irq_pulse_width = sc_core::sc_time(100, sc_core::SC_NS);
    params.core.cmd_ps = 1000;
    constexpr unsigned kSyncs = 3;
    std::ostringstream trace;
    SmmuEnv *env_ptr = nullptr;
    GicOnSyncLine *gic_ptr = nullptr;
    SmmuEnv env(
        [&](Requester &) {
            SmmuEnv &e = *env_ptr;
            e.enable();
            gic_ptr->make_edge_triggered(e);
            for (unsigned i = 0; i < kSyncs; ++i)
                put_sync(e, e.cmdq_prod + i, true);
            for (unsigned i = 1; i <= kSyncs; ++i)
                e.cpu.write_ahead(vp_test::kSmmuBase + SMMU_CMDQ_PROD, e.cmdq_prod + i,
                                  sc_core::sc_time(2 * (i - 1), sc_core::SC_NS));
            e.cmdq_prod += kSyncs;
            sc_core::wait(2, sc_core::SC_US);
            EXPECT_EQ(e.reg32(SMMU_CMDQ_CONS), e.cmdq_prod) << "all consumed";
        },
        params);
    GicOnSyncLine gic(env);
    env_ptr = &env;
    gic_ptr = &gic;
    env.smmu.set_trace_stream(&trace);
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());

    const std::vector<sc_core::sc_time> requested = cmd_sync_requests(trace.str());
    ASSERT_EQ(requested.size(), kSyncs);
    EXPECT_LT(requested.back() - requested.front(), params.irq_pulse_width) << "the requests do overlap";
    const std::vector<sc_core::sc_time> edges = queued_edges(requested, params.irq_pulse_width);
    EXPECT_EQ(gic.sync_changes.times_of(true), edges);
    std::vector<sc_core::sc_time> falls;
    for (const sc_core::sc_time &t : edges)
        falls.push_back(t + params.irq_pulse_width);
    EXPECT_EQ(gic.sync_changes.times_of(false), falls);
    EXPECT_EQ(env.sync_edges.rising, kSyncs);
    EXPECT_EQ(env.smmu.counters().irq_pulses[SMMU_IRQ_CMD_SYNC], kSyncs);
    EXPECT_EQ(gic.gic.raised(vp::GicV2::kSpi), kSyncs) << "every pulse is an edge at the GIC";
    EXPECT_TRUE(gic.gic.is_pending(32 + GicOnSyncLine::kSpi));
}

// Several CMD_SYNCs (CS = IRQ) in one CMDQ_PROD write: the core requests their pulses cmd_ps (10 ns) apart,
// closer than the 25 ns width. Every one is a separate edge, queued a period after the previous.
TEST(Smmuv3Shell, SeveralCmdSyncsInOnePublishEachGetAnEdge) {
    vp::Smmuv3::Params params = vp::Smmuv3::default_params();
    params.irq_pulse_width = sc_core::sc_time(25, sc_core::SC_NS);
    constexpr unsigned kSyncs = 4;
    std::ostringstream trace;
    SmmuEnv *env_ptr = nullptr;
    sc_core::sc_time published;
    SmmuEnv env(
        [&](Requester &) {
            SmmuEnv &e = *env_ptr;
            e.enable();
            sc_core::wait(1, sc_core::SC_US); // every pulse of the set-up is over
            for (unsigned i = 0; i < kSyncs; ++i)
                put_sync(e, e.cmdq_prod + i, true);
            e.cmdq_prod += kSyncs;
            published = sc_core::sc_time_stamp();
            e.set32(SMMU_CMDQ_PROD, e.cmdq_prod);
            sc_core::wait(1, sc_core::SC_US);
        },
        params);
    vp_test::ChangeRecorder<bool> sync_changes("sync_changes");
    sync_changes.in.bind(env.sync_line);
    env_ptr = &env;
    env.smmu.set_trace_stream(&trace);
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());

    const std::vector<sc_core::sc_time> requested = cmd_sync_requests(trace.str());
    ASSERT_EQ(requested.size(), kSyncs);
    EXPECT_GT(requested.front(), published);
    const std::vector<sc_core::sc_time> edges = queued_edges(requested, params.irq_pulse_width);
    EXPECT_EQ(sync_changes.times_of(true), edges);
    EXPECT_EQ(edges.back() - edges.front(), (kSyncs - 1) * 2 * params.irq_pulse_width);
    // The text trace names each queued edge at its own time, as the waveform shows it.
    std::vector<sc_core::sc_time> queued;
    for (const auto &line : trace_times(trace.str(), "smmu: irq cmd-sync edge queued from [0-9]+ ps"))
        queued.push_back(ps(line.first));
    EXPECT_EQ(queued, std::vector<sc_core::sc_time>(edges.begin() + 1, edges.end()));
    EXPECT_EQ(env.sync_edges.rising, kSyncs);
    EXPECT_EQ(env.smmu.counters().irq_pulses[SMMU_IRQ_CMD_SYNC], kSyncs);
}

// A CMD_SYNC completion MSI aimed at the GICv2m frame carries the annotated time of the command: the GIC
// makes the SPI pending, and raises its CPU interrupt, exactly at the time of the core's "msi" trace line,
// not when the CMDQ_PROD write was called.
TEST(Smmuv3Shell, CmdSyncMsiReachesTheGicAtItsAnnotatedTime) {
    constexpr unsigned kMsiIntid = 80; // the first INTID of the default v2m frame
    constexpr uint64_t kSetSpi = GicOnSyncLine::kGicd + 0x20000 + vp::GicV2::kV2M_MSI_SETSPI_NS;
    std::ostringstream trace;
    SmmuEnv *env_ptr = nullptr;
    GicOnSyncLine *gic_ptr = nullptr;
    sc_core::sc_time published;
    SmmuEnv env([&](Requester &) {
        SmmuEnv &e = *env_ptr;
        vp::GicV2 &gic = gic_ptr->gic;
        e.enable();
        e.cpu.write32(GicOnSyncLine::kGicd + vp::GicV2::kGICD_CTLR, 1);
        e.cpu.write32(GicOnSyncLine::kGicd + 0x10000 + vp::GicV2::kGICC_CTLR, 1);
        e.cpu.write32(GicOnSyncLine::kGicd + 0x10000 + vp::GicV2::kGICC_PMR, 0xFF);
        e.cpu.write32(GicOnSyncLine::kGicd + vp::GicV2::kGICD_ISENABLER + 4 * (kMsiIntid / 32),
                      1u << (kMsiIntid % 32));
        sc_core::wait(1, sc_core::SC_US);
        const uint64_t slot =
            vp_test::kCmdq + (e.cmdq_prod & ((1u << vp_test::kCmdqLog2) - 1)) * SMMU_CMD_SIZE;
        e.put64(slot, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC) |
                          SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_IRQ) |
                          SMMU_FIELD_PREP(SMMU_CMD0_SYNC_MSIDATA, kMsiIntid));
        e.put64(slot + 8, kSetSpi & SMMU_CMD1_SYNC_MSIADDR);
        published = sc_core::sc_time_stamp();
        e.set32(SMMU_CMDQ_PROD, ++e.cmdq_prod);
        EXPECT_FALSE(gic.is_pending(kMsiIntid)) << "the MSI happens at the command's time, later";
        sc_core::wait(1, sc_core::SC_US);
        EXPECT_TRUE(gic.is_pending(kMsiIntid));
        EXPECT_EQ(gic.msi_accepted(), 1u);
    });
    GicOnSyncLine gic(env);
    vp_test::ChangeRecorder<bool> cpu_irq("cpu_irq_changes");
    cpu_irq.in.bind(gic.cpu_irq);
    env_ptr = &env;
    gic_ptr = &gic;
    env.smmu.set_trace_stream(&trace);
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
    const auto msi = trace_times(trace.str(), "smmu: msi addr=0x([0-9a-f]+) data=0x50");
    ASSERT_EQ(msi.size(), 1u) << trace.str();
    EXPECT_EQ(std::stoull(msi[0].second, nullptr, 16), kSetSpi);
    EXPECT_GT(ps(msi[0].first), published);
    ASSERT_FALSE(cpu_irq.changes.empty());
    EXPECT_EQ(cpu_irq.changes.front(), std::make_pair(ps(msi[0].first), true));
}

// The waveform and the text trace agree to the picosecond: the traced cmdq_prod changes at the time of every
// CMDQ_PROD write (two of them in one delta cycle, the second annotated 3 ns later), evtq_prod at the time of
// every recorded event, the CMD_SYNC interrupt at the time of its "irq" line.
TEST(Smmuv3Shell, WaveformsChangeAtTheTimesOfTheTextTrace) {
    std::ostringstream trace;
    SmmuEnv *env_ptr = nullptr;
    SmmuEnv env([&](Requester &dev) {
        SmmuEnv &e = *env_ptr;
        setup_stage1(e);
        put_sync(e, e.cmdq_prod, false);
        put_sync(e, e.cmdq_prod + 1, true);
        e.cpu.write_ahead(vp_test::kSmmuBase + SMMU_CMDQ_PROD, e.cmdq_prod + 1, sc_core::SC_ZERO_TIME);
        e.cpu.write_ahead(vp_test::kSmmuBase + SMMU_CMDQ_PROD, e.cmdq_prod + 2,
                          sc_core::sc_time(3, sc_core::SC_NS));
        e.cmdq_prod += 2;
        sc_core::wait(100, sc_core::SC_NS);
        std::vector<uint8_t> buf(8);
        EXPECT_EQ(dev.read(kVa + 0x5000, buf, attr_for(kSid)), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        EXPECT_EQ(dev.read(kVa + 0x6000, buf, attr_for(kSid)), tlm::TLM_ADDRESS_ERROR_RESPONSE);
        sc_core::wait(100, sc_core::SC_NS);
    });
    env_ptr = &env;
    env.smmu.set_trace_stream(&trace);
    const std::string vcd_path = testing::TempDir() + "smmuv3_shell_times";
    sc_core::sc_trace_file *vcd = sc_core::sc_create_vcd_trace_file(vcd_path.c_str());
    vcd->set_time_unit(1, sc_core::SC_PS);
    env.smmu.trace(vcd);
    sc_core::sc_start();
    sc_core::sc_close_vcd_trace_file(vcd);
    ASSERT_TRUE(env.dev.finished());

    // Every CMDQ_PROD write that changes the value, at the time of its "write" line (of several writes at one
    // picosecond, as during the set-up, only the last one can show).
    std::vector<std::pair<uint64_t, uint64_t>> prod_writes = {{0, 0}};
    for (const auto &w : trace_times(trace.str(), "smmu: write CMDQ_PROD = 0x([0-9a-f]+)")) {
        const uint64_t value = std::stoull(w.second, nullptr, 16);
        if (w.first == prod_writes.back().first)
            prod_writes.pop_back();
        if (prod_writes.empty() || value != prod_writes.back().second)
            prod_writes.emplace_back(w.first, value);
    }
    ASSERT_GE(prod_writes.size(), 3u);
    EXPECT_EQ(prod_writes[prod_writes.size() - 1].first - prod_writes[prod_writes.size() - 2].first, 3000u)
        << "the last two writes, made in one delta cycle, 3 ns apart";
    const std::string vcd_file = vcd_path + ".vcd";
    EXPECT_EQ(vp_test::vcd_changes(vcd_file, "cmdq_prod"), prod_writes);

    std::vector<std::pair<uint64_t, uint64_t>> events = {{0, 0}};
    for (const auto &ev : trace_times(trace.str(), "smmu: event F_TRANSLATION .* prod=0x([0-9a-f]+)"))
        events.emplace_back(ev.first, std::stoull(ev.second, nullptr, 16));
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(vp_test::vcd_changes(vcd_file, "evtq_prod"), events);

    std::vector<uint64_t> irq_lines, vcd_rises;
    for (const auto &line : trace_times(trace.str(), "smmu: irq cmd-sync"))
        irq_lines.push_back(line.first);
    for (const auto &change : vp_test::vcd_changes(vcd_file, "cmd_sync_irq"))
        if (change.second == 1)
            vcd_rises.push_back(change.first);
    ASSERT_EQ(irq_lines.size(), 1u);
    EXPECT_EQ(vcd_rises, irq_lines);
    std::remove(vcd_file.c_str());
}

// Records the PCIe messages the SMMU sends on its message_socket.
struct MessageRecorder : sc_core::sc_module {
    tlm_utils::simple_target_socket<MessageRecorder> socket;
    std::vector<vp::TxnAttr> got;
    explicit MessageRecorder(sc_core::sc_module_name name) : sc_module(name), socket("socket") {
        socket.register_b_transport(this, &MessageRecorder::b_transport);
    }
    void b_transport(tlm::tlm_generic_payload &gp, sc_core::sc_time &) {
        if (const vp::TxnAttr *a = vp::TxnAttr::of(gp))
            got.push_back(*a);
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
    }
};

TEST(Smmuv3Shell, PageRequestLandsInThePriQueueAndPriRespLeavesOnTheMessageSocket) {
    constexpr uint64_t kPriq = kRamBase + 0x50000;
    SmmuEnv *env_ptr = nullptr;
    MessageRecorder *rec_ptr = nullptr;
    SmmuEnv env([&](Requester &dev) {
        SmmuEnv &e = *env_ptr;
        e.enable();
        e.set64(SMMU_PRIQ_BASE, kPriq | 4);
        e.set32(SMMU_PRIQ_PROD, 0);
        e.set32(SMMU_PRIQ_CONS, 0);
        const uint32_t cr0 = e.reg32(SMMU_CR0) | SMMU_CR0_PRIQEN;
        e.set32(SMMU_CR0, cr0);
        e.wait_ack(SMMU_CR0ACK, cr0);

        vp::TxnAttr attr = attr_for(kSid);
        attr.kind = vp::TxnKind::PageRequest;
        attr.ssv = true;
        attr.substream_id = 0x42;
        attr.read = true;
        attr.write = true;
        attr.last = true;
        attr.prg_index = 0x155;
        uint64_t body = 0;
        EXPECT_EQ(dev.access(tlm::TLM_WRITE_COMMAND, 0x0000007654321000, &body, 8, &attr),
                  tlm::TLM_OK_RESPONSE);
        // dw0: SID 3, SSID 0x42 at [51:32], R[60], W[61], Last[62], SSV[63]; dw1: page | PRGIndex.
        EXPECT_EQ(e.get64(kPriq), 0xF000004200000003ull);
        EXPECT_EQ(e.get64(kPriq + 8), 0x0000007654321155ull);
        EXPECT_EQ(e.reg32(SMMU_PRIQ_PROD), 1u);

        // A Stop Marker: the same kind with L = 1, R = W = 0 and a PASID; queued, never answered.
        attr.read = attr.write = false;
        EXPECT_EQ(dev.access(tlm::TLM_WRITE_COMMAND, 0, &body, 8, &attr), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(e.get64(kPriq + 16), 0xC000004200000003ull);
        EXPECT_TRUE(rec_ptr->got.empty());

        // Software answers the group: CMD_PRI_RESP SID 3, SSV, SSID 0x42, PRGIndex 0x155, Resp Success.
        e.command(0x0000000300042841ull, 0x0000000000002155ull);
        e.sync();
    });
    MessageRecorder rec("rec");
    env.smmu.message_socket.bind(rec.socket);
    env_ptr = &env;
    rec_ptr = &rec;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
    ASSERT_EQ(rec.got.size(), 1u);
    const vp::TxnAttr &m = rec.got[0];
    EXPECT_EQ(m.kind, vp::TxnKind::PrgResponse);
    EXPECT_EQ(m.stream_id, kSid);
    EXPECT_TRUE(m.ssv);
    EXPECT_EQ(m.substream_id, 0x42u);
    EXPECT_EQ(m.prg_index, 0x155u);
    EXPECT_EQ(m.prg_response, vp::PrgResponseCode::Success);
}

} // namespace

// The shell copies the core's answer to a Translation Request into TxnAttr::ats and decides nothing itself.
TEST(Smmuv3Shell, AtsTranslationRequestGetsTheCoresAnswer) {
    SmmuEnv *env_ptr = nullptr;
    SmmuEnv env([&](Requester &dev) {
        SmmuEnv &e = *env_ptr;
        e.map_page(kVa, kPa);                                          // EL0 read-write, nG = 0
        e.map_page(kVa + 0x1000, kPa + 0x1000, (1u << 6) | (1u << 7)); // EL0 read-only
        e.cd_s1(kCdTable, kAsid);
        e.ste_s1(kSid, kCdTable);
        const uint64_t ste1 = vp_test::kStrtab + kSid * SMMU_STE_SIZE + 8;
        e.put64(ste1, e.get64(ste1) | 0x10000000ull); // STE.EATS = 0b01
        e.enable();
        auto request = [&](uint64_t va, bool ssv, bool nw) {
            uint8_t buf[8] = {};
            vp::TxnAttr attr = attr_for(kSid);
            attr.at = vp::PcieAt::TranslationRequest;
            attr.ssv = ssv;
            attr.no_write = nw;
            tlm::tlm_generic_payload gp;
            gp.set_command(tlm::TLM_READ_COMMAND);
            gp.set_address(va);
            gp.set_data_ptr(buf);
            gp.set_data_length(8);
            gp.set_streaming_width(8);
            gp.set_extension(&attr);
            sc_core::sc_time delay;
            dev.socket->b_transport(gp, delay);
            gp.clear_extension(&attr);
            EXPECT_EQ(gp.get_response_status(), tlm::TLM_OK_RESPONSE);
            EXPECT_TRUE(attr.ats_valid);
            return attr.ats;
        };
        vp::AtsCompletion c = request(kVa + 0x234, false, false);
        EXPECT_EQ(c.status, vp::AtsCompletionStatus::Success);
        EXPECT_EQ(c.translated_addr, kPa);
        EXPECT_EQ(c.size, 0x1000u);
        EXPECT_TRUE(c.read);
        EXPECT_TRUE(c.write);
        EXPECT_FALSE(c.exec);
        EXPECT_FALSE(c.priv);
        EXPECT_TRUE(c.global) << "nG = 0 and no PASID";
        EXPECT_FALSE(c.untranslated_only);
        c = request(kVa + 0x1000, false, false);
        EXPECT_EQ(c.status, vp::AtsCompletionStatus::Success);
        EXPECT_TRUE(c.read);
        EXPECT_FALSE(c.write) << "F_PERMISSION grants the subset the tables allow";
        c = request(kVa + 0x5000, false, false);
        EXPECT_EQ(c.status, vp::AtsCompletionStatus::Success) << "translation fault: Success with R = W = 0";
        EXPECT_FALSE(c.read);
        EXPECT_FALSE(c.write);
        c = request(kVa, true, false);
        EXPECT_EQ(c.status, vp::AtsCompletionStatus::CompleterAbort)
            << "PASID on a stream without substreams";
        EXPECT_EQ(e.reg32(SMMU_EVENTQ_PROD), 0u) << "no event: neither translation faults nor REC_CFG_ATS";
    });
    env_ptr = &env;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
    EXPECT_EQ(env.smmu.counters().ats_translation_requests, 4u);
}

// ---------------------------------------------------------------------------------------------------------------
// CMD_ATC_INV through the command-queue process, with a scripted endpoint on the other side of the link: it
// receives the Invalidate Requests from message_socket and answers (or not) with Invalidate Completions on
// the upstream socket, after a delay the test chooses.

namespace {

struct ScriptedEndpoint : sc_core::sc_module {
    tlm_utils::simple_target_socket<ScriptedEndpoint> from_smmu{"from_smmu"};
    tlm_utils::simple_initiator_socket<ScriptedEndpoint> to_smmu{"to_smmu"};
    struct Received {
        sc_core::sc_time at;
        uint32_t sid;
        uint8_t itag;
        uint64_t addr, size;
    };
    std::vector<Received> received;
    bool answer = true;
    sc_core::sc_time answer_after{5, sc_core::SC_US};
    std::vector<sc_core::sc_time> completions_sent;

    explicit ScriptedEndpoint(sc_core::sc_module_name name) : sc_module(name) {
        from_smmu.register_b_transport(this, &ScriptedEndpoint::b_transport);
        SC_HAS_PROCESS(ScriptedEndpoint);
        SC_THREAD(answer_thread);
    }

  private:
    std::deque<std::pair<sc_core::sc_time, Received>> due_;
    sc_core::sc_event wake_;

    void b_transport(tlm::tlm_generic_payload &gp, sc_core::sc_time &delay) {
        const vp::TxnAttr *attr = vp::TxnAttr::of(gp);
        ASSERT_NE(attr, nullptr);
        ASSERT_EQ(attr->kind, vp::TxnKind::AtsInvalidationRequest);
        Received r{sc_core::sc_time_stamp() + delay, attr->stream_id, attr->itag, gp.get_address(),
                   attr->inv_size};
        received.push_back(r);
        if (answer) {
            due_.emplace_back(r.at + answer_after, r);
            wake_.notify(sc_core::SC_ZERO_TIME);
        }
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
    }

    void answer_thread() {
        for (;;) {
            while (due_.empty())
                sc_core::wait(wake_);
            auto [when, r] = due_.front();
            due_.pop_front();
            if (when > sc_core::sc_time_stamp())
                sc_core::wait(when - sc_core::sc_time_stamp());
            vp::TxnAttr *attr = new vp::TxnAttr(r.sid, 0, false);
            attr->kind = vp::TxnKind::AtsInvalidationCompletion;
            attr->itag_vector = 1u << r.itag;
            attr->completion_count = 1;
            tlm::tlm_generic_payload gp;
            gp.set_extension(attr);
            uint64_t body = 0;
            gp.set_command(tlm::TLM_WRITE_COMMAND);
            gp.set_data_ptr(reinterpret_cast<unsigned char *>(&body));
            gp.set_data_length(8);
            gp.set_streaming_width(8);
            gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
            sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
            completions_sent.push_back(sc_core::sc_time_stamp());
            to_smmu->b_transport(gp, delay);
        }
    }
};

vp::Smmuv3::Params ats_shell_params() {
    vp::Smmuv3::Params p = vp::Smmuv3::default_params();
    p.core.idr[0] |= SMMU_IDR0_ATS;
    return p;
}

uint64_t atc_inv_cmd(uint32_t sid) {
    return SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_ATC_INV) | SMMU_FIELD_PREP(SMMU_CMD0_SID, sid);
}

void publish(SmmuEnv &e, uint64_t dw0, uint64_t dw1) {
    const uint32_t entries = 1u << vp_test::kCmdqLog2;
    const uint64_t slot = vp_test::kCmdq + (e.cmdq_prod & (entries - 1)) * SMMU_CMD_SIZE;
    e.put64(slot, dw0);
    e.put64(slot + 8, dw1);
    e.cmdq_prod = (e.cmdq_prod + 1) & ((entries << 1) - 1);
    e.cpu.write32(vp_test::kSmmuBase + SMMU_CMDQ_PROD, e.cmdq_prod);
}

// An SMMU environment with a scripted endpoint on its message socket and its upstream port; runs `body` as
// the driver and requester.
void run_with_endpoint(const vp::Smmuv3::Params &params,
                       const std::function<void(SmmuEnv &, ScriptedEndpoint &, Requester &)> &body) {
    SmmuEnv *env_ptr = nullptr;
    ScriptedEndpoint *ep_ptr = nullptr;
    SmmuEnv env([&](Requester &dev) { body(*env_ptr, *ep_ptr, dev); }, params);
    ScriptedEndpoint ep("ep");
    env.smmu.message_socket.bind(ep.from_smmu);
    ep.to_smmu.bind(env.smmu.upstream_socket);
    env_ptr = &env;
    ep_ptr = &ep;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
}

} // namespace

// The endpoint answers 5 us after each request. CONS parks at the CMD_SYNC meanwhile while the driver side
// goes on: it reads registers and takes an event-queue interrupt (a C_BAD_STE), then the SYNC completes
// once the completion has arrived, and only then signals.
TEST(Smmuv3Shell, SyncWaitsForADelayedInvalidationCompletionWhileTheCpuGoesOn) {
    run_with_endpoint(ats_shell_params(), [&](SmmuEnv &e, ScriptedEndpoint &ep, Requester &dev) {
        e.enable();
        const sc_core::sc_time start = sc_core::sc_time_stamp();
        publish(e, atc_inv_cmd(5), 0x80000000);
        publish(e,
                SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC) |
                    SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_IRQ),
                0);
        const uint32_t sync_index = e.cmdq_prod - 1;
        sc_core::wait(1, sc_core::SC_US);
        ASSERT_EQ(ep.received.size(), 1u);
        EXPECT_EQ(ep.received[0].sid, 5u);
        EXPECT_EQ(ep.received[0].itag, 0u);
        EXPECT_EQ(ep.received[0].addr, 0x80000000u);
        EXPECT_EQ(ep.received[0].size, 0x1000u);
        EXPECT_EQ(e.reg32(SMMU_CMDQ_CONS), sync_index) << "parked at the SYNC";
        EXPECT_EQ(e.sync_edges.rising, 0u);
        // Meanwhile: a transaction of a StreamID whose STE is invalid raises C_BAD_STE and its interrupt.
        uint32_t data = 0;
        vp::TxnAttr bad(3, 0, false);
        EXPECT_NE(dev.access(tlm::TLM_READ_COMMAND, 0x1000, &data, 4, &bad), tlm::TLM_OK_RESPONSE);
        sc_core::wait(100, sc_core::SC_NS);
        EXPECT_EQ(e.evtq_edges.rising, 1u) << "another interrupt taken while the SYNC waits";
        EXPECT_EQ(e.reg32(SMMU_CMDQ_CONS), sync_index);
        for (int i = 0; i < 1000 && e.reg32(SMMU_CMDQ_CONS) != e.cmdq_prod; ++i)
            sc_core::wait(100, sc_core::SC_NS);
        EXPECT_EQ(e.reg32(SMMU_CMDQ_CONS), e.cmdq_prod);
        sc_core::wait(1, sc_core::SC_US); // the pulse is at the SYNC's annotated completion time
        EXPECT_EQ(e.sync_edges.rising, 1u);
        ASSERT_EQ(ep.completions_sent.size(), 1u);
        EXPECT_GE(e.sync_edges.last_rise, ep.completions_sent[0]) << "signalled after the completion";
        EXPECT_GE(ep.completions_sent[0] - start, sc_core::sc_time(5, sc_core::SC_US));
        EXPECT_EQ((e.reg32(SMMU_GERROR) ^ e.reg32(SMMU_GERRORN)) & SMMU_GERROR_CMDQ_ERR, 0u);
    });
}

// An endpoint that never answers: after smmu.atc_inv_timeout the SYNC fails with CERROR_ATC_INV_SYNC, CONS at
// the SYNC; acknowledging GERROR retries it, and it completes (the timed-out ITag was released).
TEST(Smmuv3Shell, AnUnansweredInvalidationTimesOutAndGerrornRecovers) {
    vp::Smmuv3::Params params = ats_shell_params();
    params.core.atc_inv_timeout_ps = 20000000; // 20 us
    run_with_endpoint(params, [&](SmmuEnv &e, ScriptedEndpoint &ep, Requester &) {
        ep.answer = false;
        e.enable();
        publish(e, atc_inv_cmd(7), 0x0);
        publish(e, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC), 0);
        const uint32_t sync_index = e.cmdq_prod - 1;
        sc_core::wait(15, sc_core::SC_US);
        EXPECT_EQ(e.reg32(SMMU_CMDQ_CONS), sync_index);
        EXPECT_EQ(e.reg32(SMMU_GERROR) & SMMU_GERROR_CMDQ_ERR, 0u) << "not yet";
        sc_core::wait(10, sc_core::SC_US);
        const uint32_t cons = e.reg32(SMMU_CMDQ_CONS);
        EXPECT_EQ(cons & SMMU_Q_PTR_MASK, sync_index);
        EXPECT_EQ(SMMU_FIELD_GET(SMMU_CMDQ_CONS_ERR, cons), 3u) << "CERROR_ATC_INV_SYNC";
        EXPECT_EQ(e.gerror_edges.rising, 1u);
        e.cpu.write32(vp_test::kSmmuBase + SMMU_GERRORN, e.reg32(SMMU_GERROR));
        sc_core::wait(1, sc_core::SC_US);
        EXPECT_EQ(e.reg32(SMMU_CMDQ_CONS) & SMMU_Q_PTR_MASK, e.cmdq_prod);
        EXPECT_EQ(ep.received.size(), 1u) << "the SYNC is retried, not the invalidation";
    });
}

// ITag exhaustion: an endpoint with a queue depth of 2 gets two requests at once; the third waits in the
// command queue until a completion frees an ITag, and reuses it.
TEST(Smmuv3Shell, ItagExhaustionHoldsTheQueueUntilACompletion) {
    vp::Smmuv3::Params params = ats_shell_params();
    params.core.atc_inv_queue_depth = 2;
    run_with_endpoint(params, [&](SmmuEnv &e, ScriptedEndpoint &ep, Requester &) {
        e.enable();
        for (int i = 0; i < 3; ++i)
            publish(e, atc_inv_cmd(9), 0x1000u * static_cast<uint64_t>(i));
        sc_core::wait(2, sc_core::SC_US);
        ASSERT_EQ(ep.received.size(), 2u);
        EXPECT_EQ(e.reg32(SMMU_CMDQ_CONS) & SMMU_Q_PTR_MASK, e.cmdq_prod - 1);
        sc_core::wait(6, sc_core::SC_US); // past the first completion (5 us)
        ASSERT_EQ(ep.received.size(), 3u);
        EXPECT_EQ(ep.received[2].itag, ep.received[0].itag);
        EXPECT_GE(ep.received[2].at, ep.completions_sent.at(0));
        EXPECT_EQ(e.reg32(SMMU_CMDQ_CONS) & SMMU_Q_PTR_MASK, e.cmdq_prod);
    });
}

// The stall model through the shell: the DMA master (upstream port 1, stall-capable) with two lanes in flight
// next to the test requester (port 0, which cannot stall). Both lanes' reads fault on an unmapped source page
// whose CD has S = 1: each transaction is held in its lane's process with its own STAG while the requester's
// unrelated traffic, register accesses and commands go on; a CMD_RESUME (Retry) for one lets only that one
// continue, translated afresh after the page was mapped; then the other is resumed and the job completes.
TEST(Smmuv3Shell, TwoStalledDmaTransactionsResumeOneByOneWhileOtherTrafficGoesOn) {
    constexpr uint64_t kSrcVa = kVa + 0x2000, kDstVa = kVa + 0x1000;
    constexpr uint64_t kSrcPa = kRamBase + 0xB00000, kDstPa = kRamBase + 0xA00000;
    constexpr uint64_t kDmaBase = 0x0c000000;
    struct StallDmaEnv : SmmuEnv {
        static vp::Smmuv3::Params stall_params() {
            vp::Smmuv3::Params p = vp::Smmuv3::default_params();
            p.stall_capable_ports = 1u << 1; // the DMA master binds after the requester
            return p;
        }
        vp::DmaMaster dma{"dma", kSid, 64, sc_core::sc_time(1, sc_core::SC_NS), /*in_flight=*/2};
        sc_core::sc_signal<bool> dma_irq{"dma_irq"};
        explicit StallDmaEnv(Requester::Body body) : SmmuEnv(std::move(body), stall_params()) {
            router.add_target(dma.reg_socket, kDmaBase, vp::DmaMaster::kRegSpaceSize, "dma");
            dma.socket.bind(smmu.upstream_socket);
            dma.irq.bind(dma_irq);
        }
        uint32_t dma_status() { return cpu.read32(kDmaBase + vp::DmaMaster::kRegStatus); }
        void wait_events(uint32_t prod) {
            for (int i = 0; i < 1000 && (reg32(SMMU_EVENTQ_PROD) & SMMU_Q_PTR_MASK) != prod; ++i)
                sc_core::wait(100, sc_core::SC_NS);
            ASSERT_EQ(reg32(SMMU_EVENTQ_PROD) & SMMU_Q_PTR_MASK, prod);
        }
        void resume(uint16_t stag) {
            // CMD_RESUME (IHI0070 4.7.1): opcode 0x44, Ac (bit 12) = 1: retry; StreamID [63:32]; STAG [15:0].
            command((uint64_t{kSid} << 32) | 0x1000u | 0x44u, stag);
            sync();
        }
    };
    StallDmaEnv *env_ptr = nullptr;
    StallDmaEnv env([&](Requester &dev) {
        StallDmaEnv &e = *env_ptr;
        e.map_page(kDstVa, kDstPa);
        setup_stage1(e);
        e.put64(kCdTable, e.get64(kCdTable) | SMMU_CD0_S); // stall on translation faults
        const auto data = pattern(0x80, 29);
        std::memcpy(e.at(kSrcPa), data.data(), data.size());
        e.cpu.write32(kDmaBase + vp::DmaMaster::kRegSrcLo, static_cast<uint32_t>(kSrcVa));
        e.cpu.write32(kDmaBase + vp::DmaMaster::kRegSrcHi, static_cast<uint32_t>(kSrcVa >> 32));
        e.cpu.write32(kDmaBase + vp::DmaMaster::kRegDstLo, static_cast<uint32_t>(kDstVa));
        e.cpu.write32(kDmaBase + vp::DmaMaster::kRegDstHi, static_cast<uint32_t>(kDstVa >> 32));
        e.cpu.write32(kDmaBase + vp::DmaMaster::kRegLen, 0x80); // two chunks, one per lane
        e.cpu.write32(kDmaBase + vp::DmaMaster::kRegCtrl, vp::DmaMaster::kCtrlStart);

        // Both reads stall: two stall records (Stall = dword 1 bit 31) with different STAGs (bits 15:0).
        e.wait_events(2);
        uint16_t stags[2];
        for (unsigned i = 0; i < 2; ++i) {
            const uint64_t dw1 = e.event_dword(i, 1);
            EXPECT_EQ(SMMU_FIELD_GET(SMMU_EVT0_ID, e.event_dword(i, 0)), uint64_t{SMMU_EVT_F_TRANSLATION});
            EXPECT_TRUE(dw1 & (uint64_t{1} << 31)) << "Stall";
            EXPECT_TRUE(dw1 & SMMU_EVT1_RNW) << "a read";
            stags[i] = static_cast<uint16_t>(dw1 & 0xFFFF);
        }
        EXPECT_NE(stags[0], stags[1]);
        EXPECT_EQ(e.event_dword(0, 2) & ~uint64_t{0x7F}, kSrcVa);
        e.set32(SMMU_EVENTQ_CONS, 2);

        // Unrelated traffic goes through while both are held: the requester's port cannot stall, and its page
        // is mapped.
        std::vector<uint8_t> word(8);
        EXPECT_EQ(dev.read(kVa, word, attr_for(kSid)), tlm::TLM_OK_RESPONSE);
        EXPECT_EQ(e.dma_status(), uint32_t{vp::DmaMaster::kBusy});

        // Software fixes the tables and resumes the first: only that lane goes on.
        e.map_page(kSrcVa, kSrcPa);
        e.resume(stags[0]);
        sc_core::wait(1, sc_core::SC_US);
        EXPECT_EQ(dev.read(kVa, word, attr_for(kSid)), tlm::TLM_OK_RESPONSE) << "unrelated DMA completes";
        EXPECT_EQ(e.dma_status(), uint32_t{vp::DmaMaster::kBusy}) << "the other transaction is still held";
        EXPECT_EQ(e.cpu.read32(kDmaBase + vp::DmaMaster::kRegBytesDone), 0x40u);

        e.resume(stags[1]);
        for (int i = 0; i < 1000 && e.dma_status() == vp::DmaMaster::kBusy; ++i)
            sc_core::wait(100, sc_core::SC_NS);
        EXPECT_EQ(e.dma_status(), uint32_t{vp::DmaMaster::kDone});
        EXPECT_EQ(std::memcmp(e.at(kDstPa), data.data(), data.size()), 0) << "copied after the retries";
        EXPECT_EQ(e.reg32(SMMU_EVENTQ_PROD) & SMMU_Q_PTR_MASK, 2u) << "the retries fault no more";
    });
    env_ptr = &env;
    sc_core::sc_start();
    ASSERT_TRUE(env.dev.finished());
    EXPECT_EQ(env.smmu.counters().upstream_stalls, 2u);
    EXPECT_EQ(env.smmu.counters().upstream_stall_retries, 2u);
    EXPECT_EQ(env.dma.counters().faults, 0u);
    // Both stalls began within a few hundred nanoseconds; the second was resumed 1 us after the first. (The
    // first resume can come before its transaction's own, annotated time: then it was held for 0 ps.)
    const vp::Histogram &residency = env.smmu.stall_residency();
    EXPECT_EQ(residency.count(), 2u);
    EXPECT_GE(residency.max(), 1000000u);
    EXPECT_GT(residency.max() - residency.min(), 700000u) << residency.min() << " " << residency.max();
    EXPECT_EQ(residency.sum(), residency.min() + residency.max());
    EXPECT_LT(residency.max(), static_cast<uint64_t>(sc_core::sc_time_stamp().to_seconds() * 1e12));
}
