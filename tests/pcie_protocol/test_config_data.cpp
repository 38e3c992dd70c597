// Configuration space, BARs and Command enables, the Test Engine's data commands through the whole stack,
// MSI-X through the SMMU to the GICv2m frame, and the RID-to-StreamID map.
#include <numeric>

#include "protocol_env.h"

using namespace pp;
using vp::PcieAt;
using vp::TxnKind;

TEST(PcieProtocol, ConfigSpaceOfEveryCapability) {
    Env e;
    e.run([&] {
        // Host bridge: QEMU's gpex (Red Hat 1b36:0008, class 06 00 00).
        EXPECT_EQ(e.cfg_read(0, kCfgId), 0x00081B36u);
        EXPECT_EQ(e.cfg_read(0, kCfgClassRev) >> 8, 0x060000u);

        // Test Engine 13b5:ff80, class 12 00 00 (processing accelerator).
        EXPECT_EQ(e.cfg_read(kTe2, kCfgId), 0xFF8013B5u);
        EXPECT_EQ(e.cfg_read(kTe2, kCfgClassRev) >> 8, 0x120000u);
        EXPECT_EQ(e.cfg_read(kTe2, kCfgCommand) >> 16 & 0x0010u, 0x0010u) << "Status.Capabilities List";
        EXPECT_EQ(e.cfg_read(kTe2, kCfgCapPtr, 1), 0x40u);
        // PCI Express capability (ID 0x10) version 2, endpoint; next: MSI-X (no MSI on the engine).
        EXPECT_EQ(e.cfg_read(kTe2, kCapPcie), 0x00029010u);
        // MSI-X (ID 0x11): 64 vectors (Table Size 63), table in BAR2 at 0, PBA in BAR3 at 0; end of list.
        EXPECT_EQ(e.cfg_read(kTe2, kCapMsix), 0x003F0011u);
        EXPECT_EQ(e.cfg_read(kTe2, kCapMsix + 4), 0x00000002u);
        EXPECT_EQ(e.cfg_read(kTe2, kCapMsix + 8), 0x00000003u);
        // ATS (0x000F) v1 -> PRI (0x0013) v1 -> PASID (0x001B) v1, end.
        EXPECT_EQ(e.cfg_read(kTe2, kEcapAts), 0x1101000Fu);
        EXPECT_EQ(e.cfg_read(kTe2, kEcapPri), 0x12010013u);
        EXPECT_EQ(e.cfg_read(kTe2, kEcapPasid), 0x0001001Bu);
        // ATS Capability: Invalidate Queue Depth 8, Page Aligned Request, Global Invalidate Supported.
        EXPECT_EQ(e.cfg_read(kTe2, kEcapAts + 4, 2), 0x0068u);
        EXPECT_EQ(e.cfg_read(kTe2, kEcapAts + 6, 2), 0x0000u) << "ATS Control at reset";
        // PRI: Control 0; Status: PRG Response PASID Required and Stopped (disabled, nothing outstanding).
        EXPECT_EQ(e.cfg_read(kTe2, kEcapPri + 4, 2), 0x0000u);
        EXPECT_EQ(e.cfg_read(kTe2, kEcapPri + 6, 2), 0x8100u);
        EXPECT_EQ(e.cfg_read(kTe2, kEcapPri + 8), 64u) << "Outstanding Page Request Capacity";
        EXPECT_EQ(e.cfg_read(kTe2, kEcapPri + 12), 0u) << "Allocation at reset";
        // PASID Capability: Execute and Privileged supported, Max PASID Width 20.
        EXPECT_EQ(e.cfg_read(kTe2, kEcapPasid + 4, 2), 0x1406u);

        // Writable fields take writes, read-only ones do not.
        e.cfg_write(kTe2, kEcapAts + 6, 0x8000, 2);
        EXPECT_EQ(e.cfg_read(kTe2, kEcapAts + 6, 2), 0x8000u) << "ATS Enable, STU 0";
        e.cfg_write(kTe2, kEcapAts + 4, 0x0000, 2);
        EXPECT_EQ(e.cfg_read(kTe2, kEcapAts + 4, 2), 0x0068u) << "ATS Capability is read-only";
        e.cfg_write(kTe2, kEcapPri + 12, 0x20);
        EXPECT_EQ(e.cfg_read(kTe2, kEcapPri + 12), 0x20u);
        e.cfg_write(kTe2, kEcapPri + 8, 0x1234);
        EXPECT_EQ(e.cfg_read(kTe2, kEcapPri + 8), 64u) << "Capacity is read-only";
        e.cfg_write(kTe2, kEcapPri + 4, 0x0001, 2);
        EXPECT_EQ(e.cfg_read(kTe2, kEcapPri + 4, 2), 0x0001u);
        EXPECT_EQ(e.cfg_read(kTe2, kEcapPri + 6, 2), 0x8000u) << "Stopped clears while PRI is enabled";
        e.cfg_write(kTe2, kEcapPasid + 6, 0x0007, 2);
        EXPECT_EQ(e.cfg_read(kTe2, kEcapPasid + 6, 2), 0x0007u) << "PASID, Execute and Privileged enables";
        e.cfg_write(kTe2, kCapMsix + 2, 0x8000, 2);
        EXPECT_EQ(e.cfg_read(kTe2, kCapMsix), 0x803F0011u) << "MSI-X Enable; Table Size read-only";

        // edu 1234:11e8: PCIe -> MSI (ID 0x05: 64-bit capable, one vector), no extended capability, INTA.
        EXPECT_EQ(e.cfg_read(kEdu, kCfgId), 0x11E81234u);
        EXPECT_EQ(e.cfg_read(kEdu, kCapPcie), 0x00028010u);
        EXPECT_EQ(e.cfg_read(kEdu, kCapMsi), 0x00800005u);
        EXPECT_EQ(e.cfg_read(kEdu, 0x100), 0u);
        EXPECT_EQ(e.cfg_read(kEdu, 0x3D, 1), 1u) << "Interrupt Pin INTA";

        // A function that does not exist.
        EXPECT_EQ(e.cfg_read(vp::pcie_bdf(0, 9, 0), kCfgId), 0xFFFFFFFFu);
    });
    // Configuration requests never cross the RC-SMMU link.
    EXPECT_TRUE(e.link.log.empty());
}

TEST(PcieProtocol, BarSizingAndCommandEnables) {
    Env e;
    e.run([&] {
        const uint16_t te = kTe3;
        for (unsigned bar = 0; bar < 6; ++bar)
            e.cfg_write(te, kCfgBar0 + 4 * bar, 0xFFFFFFFF);
        EXPECT_EQ(e.cfg_read(te, kCfgBar0), 0xFFFE0004u) << "BAR0: 128 KiB, 64-bit, non-prefetchable";
        EXPECT_EQ(e.cfg_read(te, kCfgBar0 + 4), 0xFFFFFFFFu) << "BAR1: BAR0's upper half";
        EXPECT_EQ(e.cfg_read(te, kCfgBar0 + 8), 0xFFFFF000u) << "BAR2: MSI-X table, 4 KiB";
        EXPECT_EQ(e.cfg_read(te, kCfgBar0 + 12), 0xFFFFF000u) << "BAR3: PBA, 4 KiB";
        EXPECT_EQ(e.cfg_read(te, kCfgBar0 + 16), 0u);
        EXPECT_EQ(e.cfg_read(te, kCfgBar0 + 20), 0u);
        e.cfg_write(te, kCfgBar0, static_cast<uint32_t>(kTe3Bar0));
        e.cfg_write(te, kCfgBar0 + 4, 0);
        EXPECT_EQ(e.cfg_read(te, kCfgBar0), 0x10200004u);

        // Memory Space off: nothing decodes, reads are all-ones, writes vanish.
        EXPECT_EQ(e.mmio_read(kTe3Bar0 + TE_CMD), 0xFFFFFFFFu);
        e.mmio_write(kTe3Bar0 + TE_SEED, 0x55);
        e.cfg_write(te, kCfgCommand, kCmdMemory, 2);
        EXPECT_EQ(e.mmio_read(kTe3Bar0 + TE_CMD), 1u) << "ENGINE_HALTED";
        EXPECT_EQ(e.mmio_read(kTe3Bar0 + TE_SEED), 0u) << "the write with Memory Space off was dropped";

        // Bus Master off: the engine's DMA is refused inside the function; nothing reaches the link.
        e.smmu_enable();
        e.ste_bypass(sid_of(te));
        e.cfgi_ste(sid_of(te));
        std::memset(e.at(kDataArea), 0x5A, 0x100);
        Env::TeCommand c;
        c.begin = kDataArea;
        c.end_incl = kDataArea + 0xFF;
        c.dest = kDataArea + 0x1000;
        EXPECT_EQ(e.te_run(te, c), TE_ENGINE_ERROR);
        EXPECT_EQ(e.te_read(te, TE_UDATA + 16, 8), kDataArea) << "udata[2]: the first refused address";
        EXPECT_TRUE(e.link.memory(sid_of(te), PcieAt::Untranslated).empty());

        e.cfg_write(te, kCfgCommand, kCmdMemory | kCmdBusMaster, 2);
        EXPECT_EQ(e.te_run(te, c), TE_ENGINE_HALTED);
        EXPECT_EQ(std::memcmp(e.at(kDataArea), e.at(kDataArea + 0x1000), 0x100), 0);
        EXPECT_FALSE(e.link.memory(sid_of(te), PcieAt::Untranslated).empty());
        // Memory Space off again: the engine keeps its state but the window no longer reaches it.
        e.cfg_write(te, kCfgCommand, kCmdBusMaster, 2);
        EXPECT_EQ(e.mmio_read(kTe3Bar0 + TE_CMD), 0xFFFFFFFFu);
    });
    EXPECT_GE(e.rc.counters().mmio_unclaimed, 3u);
}

namespace {

// Stage 1 for 00:02.0 with ATS off: IOVA 0x8000_0000 + n pages -> kDataArea + n pages.
constexpr uint64_t kIova = 0x80000000;

void fill_pattern(Env &e, uint64_t pa, size_t len, uint32_t seed) {
    uint32_t x = seed;
    for (size_t i = 0; i < len; ++i) {
        x = x * 1103515245u + 12345u;
        e.at(pa)[i] = static_cast<uint8_t>(x >> 16);
    }
}

} // namespace

TEST(PcieProtocol, TestEngineMemcpyRand48Sum64MatchReferences) {
    Env e;
    e.run([&] {
        const uint16_t te = kTe2;
        const uint32_t sid = sid_of(te);
        e.smmu_enable();
        uint64_t root = e.s1_stream(sid, 0);
        e.map_range(root, kIova, kDataArea, 16 * 0x1000);
        e.te_enable(te, {});
        fill_pattern(e, kDataArea, 0x4000, 7);
        std::vector<uint8_t> before(e.at(kDataArea), e.at(kDataArea) + 0x10000);

        // MEMCPY of an unaligned region that crosses pages, to an unaligned destination.
        Env::TeCommand c;
        c.begin = kIova + 0x10;
        c.end_incl = kIova + 0x2FF6;
        c.dest = kIova + 0x8008;
        ASSERT_EQ(e.te_run(te, c), TE_ENGINE_HALTED);
        const size_t n = c.end_incl - c.begin + 1;
        EXPECT_EQ(std::memcmp(e.at(kDataArea + 0x8008), before.data() + 0x10, n), 0);
        EXPECT_EQ(e.at(kDataArea + 0x8007)[0], before[0x8007]) << "byte before the destination untouched";
        EXPECT_EQ(e.at(kDataArea + 0x8008 + n)[0], before[0x8008 + n]) << "byte after it untouched";
        // On the link: untranslated requests of 00:02.0, reads in the source, writes in the destination, each
        // byte once.
        uint64_t read_bytes = 0, written_bytes = 0;
        for (const LinkRecord &r : e.link.memory(sid, PcieAt::Untranslated)) {
            EXPECT_EQ(r.attr.requester_id, kTe2);
            EXPECT_FALSE(r.attr.ssv);
            EXPECT_EQ(r.status, tlm::TLM_OK_RESPONSE);
            if (r.write) {
                EXPECT_TRUE(r.addr >= c.dest && r.addr + r.len <= c.dest + n) << std::hex << r.addr;
                written_bytes += r.len;
            } else {
                EXPECT_TRUE(r.addr >= c.begin && r.addr + r.len <= c.end_incl + 1) << std::hex << r.addr;
                read_bytes += r.len;
            }
        }
        EXPECT_EQ(read_bytes, n);
        EXPECT_EQ(written_bytes, n);
        EXPECT_EQ(e.te_read(te, TE_LAUNCHED), e.te_read(te, TE_RETURNED));

        // RAND48, bit-exact against the generator of testengine.md, in a pseudo-random launch order.
        e.link.clear();
        before.assign(e.at(kDataArea), e.at(kDataArea) + 0x10000);
        Env::TeCommand r;
        r.cmd = TE_ENGINE_RAND48;
        r.begin = kIova + 0xA003;
        r.end_incl = kIova + 0xBFFE;
        r.seed = 0x1234ABCD;
        ASSERT_EQ(e.te_run(te, r), TE_ENGINE_HALTED);
        const std::vector<uint8_t> expected = rand48_reference(r.seed, r.begin, r.end_incl);
        EXPECT_EQ(std::memcmp(e.at(kDataArea + 0xA003), expected.data(), expected.size()), 0);
        EXPECT_EQ(e.at(kDataArea + 0xA002)[0], before[0xA002]);
        EXPECT_EQ(e.at(kDataArea + 0xBFFF)[0], before[0xBFFF]);
        for (const LinkRecord &l : e.link.memory(sid, PcieAt::Untranslated))
            EXPECT_TRUE(l.write) << "RAND48 only writes";

        // SUM64 of two pages: udata[1] is the 64-bit sum of the words.
        e.link.clear();
        Env::TeCommand s;
        s.cmd = TE_ENGINE_SUM64;
        s.begin = kIova;
        s.end_incl = kIova + 0x1FFF;
        ASSERT_EQ(e.te_run(te, s), TE_ENGINE_HALTED);
        uint64_t sum = 0;
        for (uint64_t off = 0; off < 0x2000; off += 8)
            sum += e.get64(kDataArea + off);
        EXPECT_EQ(e.te_read(te, TE_UDATA + 8, 8), sum);
        for (const LinkRecord &l : e.link.memory(sid, PcieAt::Untranslated))
            EXPECT_FALSE(l.write) << "SUM64 only reads";

        // A strided SUM64: one word every 0x100 bytes.
        s.stride = 0x100;
        ASSERT_EQ(e.te_run(te, s), TE_ENGINE_HALTED);
        sum = 0;
        for (uint64_t off = 0; off < 0x2000; off += 0x100)
            sum += e.get64(kDataArea + off);
        EXPECT_EQ(e.te_read(te, TE_UDATA + 8, 8), sum);
        EXPECT_EQ(e.te_read(te, TE_LAUNCHED), 0x20u);
    });
    EXPECT_EQ(e.smmu_stat("evtq.recorded"), 0u) << "no fault on the way";
}

TEST(PcieProtocol, MsixThroughTheSmmuToTheGicv2mDoorbell) {
    Env e;
    e.run([&] {
        const uint16_t te = kTe2;
        const uint32_t sid = sid_of(te);
        e.smmu_enable();
        uint64_t root = e.s1_stream(sid, 0);
        e.map_range(root, kIova, kDataArea, 2 * 0x1000);
        // The doorbell IOVA maps the GICv2m frame; 0x7E00_0000 maps nothing.
        constexpr uint64_t kDoorbellIova = 0x7F000000;
        e.map(root, kDoorbellIova, kV2mBase);
        e.te_enable(te, {});
        e.mmio_write(kTe2Bar2 + 3 * 16 + 0, kDoorbellIova + 0x40); // vector 3: SETSPI_NS through the SMMU
        e.mmio_write(kTe2Bar2 + 3 * 16 + 4, 0);
        e.mmio_write(kTe2Bar2 + 3 * 16 + 8, kV2mFirstIntid + 5);
        e.mmio_write(kTe2Bar2 + 3 * 16 + 12, 0); // unmasked
        e.mmio_write(kTe2Bar2 + 4 * 16 + 0, 0x7E000040);
        e.mmio_write(kTe2Bar2 + 4 * 16 + 4, 0);
        e.mmio_write(kTe2Bar2 + 4 * 16 + 8, kV2mFirstIntid + 6);
        e.mmio_write(kTe2Bar2 + 4 * 16 + 12, 0);
        e.cfg_write(te, kCapMsix + 2, 0x8000, 2); // MSI-X Enable

        Env::TeCommand c;
        c.begin = kIova;
        c.end_incl = kIova + 0x3F;
        c.dest = kIova + 0x1000;
        c.msi = true;
        c.msi_vector = 3;
        ASSERT_EQ(e.te_run(te, c), TE_ENGINE_HALTED);
        sc_core::wait(1, SC_US);
        EXPECT_TRUE(e.gic.is_pending(kV2mFirstIntid + 5));
        EXPECT_EQ(e.gic.msi_accepted(), 1u);
        const auto msis = e.link.select([&](const LinkRecord &r) {
            return r.dir == LinkRecord::Up && r.untranslated() && r.write && r.len == 4 &&
                   r.addr >> 12 != kIova >> 12 && r.addr >> 12 != (kIova + 0x1000) >> 12;
        });
        ASSERT_EQ(msis.size(), 1u);
        EXPECT_EQ(msis[0].addr, kDoorbellIova + 0x40) << "the MSI-X address, an IOVA the SMMU translates";
        EXPECT_EQ(msis[0].data, kV2mFirstIntid + 5u);
        EXPECT_EQ(msis[0].attr.stream_id, sid) << "the function's StreamID";
        EXPECT_FALSE(msis[0].attr.ssv) << "MSIs carry no PASID";
        EXPECT_EQ(msis[0].status, tlm::TLM_OK_RESPONSE);
        EXPECT_TRUE(e.take_events().empty());

        // Vector 4 points at an unmapped IOVA: the SMMU aborts the write and records a translation fault.
        e.link.clear();
        c.msi_vector = 4;
        ASSERT_EQ(e.te_run(te, c), TE_ENGINE_HALTED);
        sc_core::wait(1, SC_US);
        EXPECT_FALSE(e.gic.is_pending(kV2mFirstIntid + 6));
        EXPECT_EQ(e.gic.msi_accepted(), 1u);
        EXPECT_EQ(e.te_read(te, TE_UCTRL) & TE_UCTRL_MSI_ABORTED, 0u)
            << "the function sent it; the SMMU aborted it (a posted write: nobody tells the engine)";
        const auto events = e.take_events();
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(events[0].id, 0x10) << "F_TRANSLATION";
        EXPECT_EQ(events[0].sid, sid);
        EXPECT_EQ(events[0].input_addr, 0x7E000040u);
        EXPECT_FALSE(events[0].rnw);
        const auto aborted = e.link.select(
            [](const LinkRecord &r) { return r.dir == LinkRecord::Up && r.write && r.addr == 0x7E000040; });
        ASSERT_EQ(aborted.size(), 1u);
        EXPECT_NE(aborted[0].status, tlm::TLM_OK_RESPONSE);
    });
}

TEST(PcieProtocol, RidToStreamIdMapReachesEventsPriAndMessages) {
    Options o;
    // 00:02.0.. (RIDs 0x10..0x1f) -> StreamIDs 0x200..; edu's RID 0x08 has none.
    o.rid_map = {{0x10, 0x10, 0x200}};
    Env e(o);
    e.run([&] {
        constexpr uint32_t kSid2 = 0x200, kSid3 = 0x208;
        e.smmu_enable();
        uint64_t root2 = e.s1_stream(kSid2, 1);
        uint64_t root3 = e.s1_stream(kSid3, 1, {3});
        e.map(root2, kIova + 0x1000, kDataArea + 0x1000);
        e.te_enable(kTe2, {});
        // Untranslated DMA to an unmapped page: the event names the mapped StreamID.
        Env::TeCommand c;
        c.begin = kIova;
        c.end_incl = kIova + 0x7;
        c.dest = kIova + 0x1000;
        EXPECT_EQ(e.te_run(kTe2, c), TE_ENGINE_ERROR);
        const auto events = e.take_events();
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(events[0].id, 0x10) << "F_TRANSLATION";
        EXPECT_EQ(events[0].sid, kSid2);
        const auto reads = e.link.memory(kSid2, PcieAt::Untranslated);
        ASSERT_EQ(reads.size(), 1u);
        EXPECT_EQ(reads[0].attr.requester_id, kTe2);

        // A page request of 00:03.0 lands in the PRI queue with StreamID 0x208; the response goes back down
        // with 0x208 and the root complex delivers it to 00:03.0.
        e.map(root3, kIova + 0x1000, kDataArea + 0x1000);
        e.te_enable(kTe3, {true, true, true, 8});
        c.pasid = 3;
        c.ats = c.pri = true;
        e.te_start(kTe3, c);
        ASSERT_TRUE(e.wait_pri(1));
        const auto pri = e.take_pri();
        ASSERT_EQ(pri.size(), 1u);
        EXPECT_EQ(pri[0].sid, kSid3);
        EXPECT_TRUE(pri[0].ssv);
        EXPECT_EQ(pri[0].ssid, 3u);
        e.map(root3, kIova, kDataArea);
        e.pri_resp(kSid3, true, 3, pri[0].grpid, 2);
        EXPECT_EQ(e.te_wait(kTe3), TE_ENGINE_HALTED);
        const auto responses = e.link.down(TxnKind::PrgResponse);
        ASSERT_EQ(responses.size(), 1u);
        EXPECT_EQ(responses[0].attr.stream_id, kSid3);
        EXPECT_EQ(responses[0].status, tlm::TLM_OK_RESPONSE) << "the root complex found the endpoint";
        for (const LinkRecord &r : e.link.up(TxnKind::PageRequest))
            EXPECT_EQ(r.attr.stream_id, kSid3);

        // edu has no StreamID: its DMA is refused in the root complex and never reaches the SMMU.
        e.cfg_write(kEdu, kCfgBar0, 0x10800000);
        e.cfg_write(kEdu, kCfgCommand, kCmdMemory | kCmdBusMaster, 2);
        e.mmio_write(0x10800000 + 0x80, kRamBase + 0x3000000, 8); // DMA source
        e.mmio_write(0x10800000 + 0x88, 0x40000, 8);              // edu buffer
        e.mmio_write(0x10800000 + 0x90, 8, 8);
        e.mmio_write(0x10800000 + 0x98, 1, 8); // start, RAM -> edu
        sc_core::wait(5, SC_US);
    });
    EXPECT_EQ(Env::stat(*e.te3, "link.prg_responses"), 1u);
    EXPECT_EQ(Env::stat(*e.te2, "link.prg_responses"), 0u);
    EXPECT_GE(e.rc.counters().unmapped_rid_requests, 1u);
    for (const LinkRecord &r : e.link.log)
        EXPECT_NE(r.attr.requester_id, kEdu) << "nothing of edu crossed to the SMMU";
}
