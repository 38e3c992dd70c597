// ATS end to end: Translation Requests answered by the SMMU (hit, miss, no permission, UR, CA), and ATC
// invalidation by range, PASID and Global with translated requests in flight, and its timeout.
#include "protocol_env.h"

using namespace pp;
using vp::AtsCompletionStatus;
using vp::PcieAt;
using vp::TxnKind;

namespace {

constexpr uint64_t kIova = 0x80000000;

Env::TeCommand copy(uint64_t begin, uint64_t len, uint64_t dest) {
    Env::TeCommand c;
    c.begin = begin;
    c.end_incl = begin + len - 1;
    c.dest = dest;
    c.ats = true;
    return c;
}

} // namespace

TEST(PcieProtocol, AtsMissThenHit) {
    Env e;
    e.run([&] {
        const uint16_t te = kTe2;
        const uint32_t sid = sid_of(te);
        e.smmu_enable();
        uint64_t root = e.s1_stream(sid, 1);
        e.map(root, kIova, kDataArea + 0x5000);
        e.map(root, kIova + 0x1000, kDataArea + 0x9000);
        for (unsigned i = 0; i < 0x1000; ++i)
            e.at(kDataArea + 0x5000)[i] = static_cast<uint8_t>(i * 7 + 1);
        e.te_enable(te, {true, false, false});

        // Cold ATC: the engine asks for both pages, then sends translated requests to the physical pages.
        ASSERT_EQ(e.te_run(te, copy(kIova, 0x400, kIova + 0x1000)), TE_ENGINE_HALTED);
        EXPECT_EQ(std::memcmp(e.at(kDataArea + 0x9000), e.at(kDataArea + 0x5000), 0x400), 0);
        const auto trs = e.link.translation_requests(sid);
        ASSERT_GE(trs.size(), 2u);
        sc_time first_fill = trs[0].done;
        for (const LinkRecord &r : trs) {
            ASSERT_TRUE(r.reply.ats_valid);
            EXPECT_EQ(r.reply.ats.status, AtsCompletionStatus::Success);
            EXPECT_EQ(r.reply.ats.size, 0x1000u);
            EXPECT_TRUE(r.reply.ats.read);
            EXPECT_FALSE(r.reply.ats.untranslated_only);
            if (r.addr == kIova) {
                EXPECT_TRUE(r.attr.no_write) << "the source is only read: NW = 1";
                EXPECT_FALSE(r.reply.ats.write) << "NW = 1 is never granted W";
                EXPECT_EQ(r.reply.ats.translated_addr, kDataArea + 0x5000);
            } else {
                EXPECT_EQ(r.addr, kIova + 0x1000);
                EXPECT_FALSE(r.attr.no_write);
                EXPECT_TRUE(r.reply.ats.write);
                EXPECT_EQ(r.reply.ats.translated_addr, kDataArea + 0x9000);
            }
            first_fill = std::min(first_fill, r.done);
        }
        const auto translated = e.link.memory(sid, PcieAt::Translated);
        ASSERT_FALSE(translated.empty());
        EXPECT_TRUE(e.link.memory(sid, PcieAt::Untranslated).empty()) << "ATS on: no untranslated request";
        for (const LinkRecord &r : translated) {
            EXPECT_TRUE(r.write ? (r.addr >> 12 == (kDataArea + 0x9000) >> 12)
                                : (r.addr >> 12 == (kDataArea + 0x5000) >> 12))
                << std::hex << r.addr;
            // A completion goes RC + link down, the translated request link + RC up.
            EXPECT_GE(r.at, first_fill + 2 * e.rc_link());
        }
        const uint64_t misses = Env::stat(*e.te2, "atc_misses");
        EXPECT_GE(misses, 2u);

        // Warm ATC: no Translation Request at all, every request translated.
        e.link.clear();
        std::memset(e.at(kDataArea + 0x9000), 0, 0x1000);
        ASSERT_EQ(e.te_run(te, copy(kIova, 0x400, kIova + 0x1000)), TE_ENGINE_HALTED);
        EXPECT_EQ(std::memcmp(e.at(kDataArea + 0x9000), e.at(kDataArea + 0x5000), 0x400), 0);
        EXPECT_TRUE(e.link.translation_requests(sid).empty());
        EXPECT_EQ(e.link.memory(sid, PcieAt::Translated).size(), 2u * 0x400 / 64) << "64-byte transactions";
        EXPECT_EQ(Env::stat(*e.te2, "atc_misses"), misses);
        EXPECT_GE(Env::stat(*e.te2, "atc_hits"), 2u * 0x400 / 64);
    });
    EXPECT_EQ(e.smmu_stat("evtq.recorded"), 0u);
}

TEST(PcieProtocol, AtsPermissionlessCompletionHasNoEvent) {
    Env e;
    e.run([&] {
        const uint16_t te = kTe2;
        const uint32_t sid = sid_of(te);
        e.smmu_enable();
        uint64_t root = e.s1_stream(sid, 1);
        e.map(root, kIova + 0x1000, kDataArea + 0x1000); // the destination only
        e.te_enable(te, {true, false, false});
        ASSERT_EQ(e.te_run(te, copy(kIova + 0x80, 0x40, kIova + 0x1000)), TE_ENGINE_ERROR);
        EXPECT_EQ(e.te_read(te, TE_UDATA + 16, 8), kIova + 0x80) << "udata[2]: the faulting address";
        const auto trs = e.link.translation_requests(sid);
        ASSERT_EQ(trs.size(), 1u);
        EXPECT_EQ(trs[0].addr, kIova) << "a Translation Request names the 4 KiB page";
        ASSERT_TRUE(trs[0].reply.ats_valid);
        EXPECT_EQ(trs[0].reply.ats.status, AtsCompletionStatus::Success);
        EXPECT_FALSE(trs[0].reply.ats.read);
        EXPECT_FALSE(trs[0].reply.ats.write);
        EXPECT_EQ(trs[0].reply.ats.size, 0x1000u) << "one STU";
        EXPECT_EQ(trs[0].status, tlm::TLM_OK_RESPONSE);
        EXPECT_TRUE(e.link.memory(sid, PcieAt::Translated).empty());
        EXPECT_TRUE(e.link.memory(sid, PcieAt::Untranslated).empty());
        EXPECT_TRUE(e.link.up(TxnKind::PageRequest).empty()) << "PRI is off";
        EXPECT_TRUE(e.take_events().empty()) << "the SMMU records no fault for a Translation Request";
    });
    EXPECT_EQ(Env::stat(*e.te2, "atc_entries"), 0u) << "R = W = 0 is not cached";
}

TEST(PcieProtocol, AtsUnsupportedRequestWhenEatsIsZero) {
    Env e;
    e.run([&] {
        const uint16_t te = kTe2;
        const uint32_t sid = sid_of(te);
        e.smmu_enable();
        uint64_t root = e.s1_stream(sid, 0); // EATS = 0b00
        e.map_range(root, kIova, kDataArea, 0x2000);
        e.te_enable(te, {true, false, false});
        ASSERT_EQ(e.te_run(te, copy(kIova, 0x40, kIova + 0x1000)), TE_ENGINE_ERROR);
        EXPECT_EQ(e.te_read(te, TE_UDATA + 16, 8), kIova);
        const auto trs = e.link.translation_requests(sid);
        ASSERT_EQ(trs.size(), 1u);
        EXPECT_EQ(trs[0].reply.ats.status, AtsCompletionStatus::UnsupportedRequest);
        auto events = e.take_events();
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(events[0].id, 0x05) << "F_BAD_ATS_TREQ";
        EXPECT_EQ(events[0].sid, sid);
        EXPECT_EQ(events[0].input_addr, kIova) << "the page the Translation Request asked for";
        EXPECT_FALSE(events[0].ssv) << "the frame has no PASID";

        // STE.Config = abort: UR as well, without an event.
        e.link.clear();
        const uint64_t ste = kStrtab + uint64_t{sid} * SMMU_STE_SIZE;
        e.put64(ste, SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_ABORT));
        e.cfgi_ste(sid);
        ASSERT_EQ(e.te_run(te, copy(kIova, 0x40, kIova + 0x1000)), TE_ENGINE_ERROR);
        const auto trs2 = e.link.translation_requests(sid);
        ASSERT_EQ(trs2.size(), 1u);
        EXPECT_EQ(trs2[0].reply.ats.status, AtsCompletionStatus::UnsupportedRequest);
        EXPECT_TRUE(e.take_events().empty());
    });
    EXPECT_EQ(Env::stat(*e.te2, "link.mem_requests"), Env::stat(*e.te2, "link.translation_requests"))
        << "nothing but the two Translation Requests";
}

TEST(PcieProtocol, AtsCompleterAbortOnConfigurationError) {
    Env e;
    e.run([&] {
        const uint16_t te = kTe2;
        const uint32_t sid = sid_of(te);
        e.smmu_enable(); // CR2.REC_CFG_ATS = 0
        // ATS enabled in a valid stage-1 STE whose CD 0 is not valid: C_BAD_CD, a configuration error.
        e.s1_stream(sid, 1);
        e.put64(Env::cd_table(sid), e.get64(Env::cd_table(sid)) & ~SMMU_CD0_V);
        e.command(
            SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_CD_ALL) | SMMU_FIELD_PREP(SMMU_CMD0_SID, sid), 0);
        e.sync();
        e.te_enable(te, {true, false, false});
        ASSERT_EQ(e.te_run(te, copy(kIova, 0x40, kIova + 0x1000)), TE_ENGINE_ERROR);
        auto trs = e.link.translation_requests(sid);
        ASSERT_EQ(trs.size(), 1u);
        EXPECT_EQ(trs[0].reply.ats.status, AtsCompletionStatus::CompleterAbort);
        EXPECT_TRUE(e.take_events().empty())
            << "configuration errors of ATS are recorded only with REC_CFG_ATS";

        e.set_cr2(SMMU_CR2_REC_CFG_ATS);
        e.link.clear();
        ASSERT_EQ(e.te_run(te, copy(kIova, 0x40, kIova + 0x1000)), TE_ENGINE_ERROR);
        trs = e.link.translation_requests(sid);
        ASSERT_EQ(trs.size(), 1u);
        EXPECT_EQ(trs[0].reply.ats.status, AtsCompletionStatus::CompleterAbort);
        const auto events = e.take_events();
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(events[0].id, 0x0A) << "C_BAD_CD";
        EXPECT_EQ(events[0].sid, sid);
    });
}

// ---------------------------------------------------------------------------------------------------------------
// ATC invalidation, with the bare function at 00:04.0 so the test decides exactly what is in flight.

namespace {

constexpr uint32_t kBareSid = kBare;
constexpr uint64_t kPageA = kIova, kPageB = kIova + 0x1000;

Options bare_function_env() {
    Options o;
    o.bare = true;
    return o;
}

pcie_ep_access access(uint64_t addr, uint8_t *buf, bool pasid = false, uint32_t id = 0) {
    pcie_ep_access a{};
    a.addr = addr;
    a.len = 8;
    a.data = buf;
    a.pasid_valid = pasid;
    a.pasid = id;
    return a;
}

// Translates each access and waits until the ATC holds it.
void warm(Env &e, std::vector<pcie_ep_access> list) {
    const size_t before = e.bare_device.translations.size();
    for (pcie_ep_access &a : list) {
        uint32_t tag = 0;
        ASSERT_EQ(pcie_ep_translate(e.bare->ep(), &a, &tag), PCIE_EP_ISSUED_UNTRANSLATED)
            << "a Translation Request is issued";
    }
    ASSERT_TRUE(e.bare_wait_translations(before + list.size()));
    for (size_t i = before; i < e.bare_device.translations.size(); ++i)
        EXPECT_TRUE(e.bare_device.translations[i].cached);
}

pcie_ep_result probe(Env &e, pcie_ep_access a) {
    uint32_t tag = 0;
    const pcie_ep_result r = pcie_ep_dma(e.bare->ep(), &a, &tag);
    if (r == PCIE_EP_ISSUED_TRANSLATED || r == PCIE_EP_ISSUED_UNTRANSLATED)
        e.bare_wait_done(tag);
    return r;
}

// Issues a translated read through the ATC, then CMD_ATC_INV + CMD_SYNC at once; checks that the
// invalidation reached the function while the read was in flight and that its completion (and the
// CMD_SYNC) came only after the read had completed. Returns the invalidation request seen on the link.
LinkRecord invalidate_with_read_in_flight(Env &e, pcie_ep_access in_flight, uint64_t inv0, uint64_t inv1) {
    uint32_t tag = 0;
    const pcie_ep_result issued = pcie_ep_dma(e.bare->ep(), &in_flight, &tag);
    EXPECT_EQ(issued, PCIE_EP_ISSUED_TRANSLATED);
    const size_t log_start = e.link.log.size();
    e.submit(inv0, inv1);
    e.submit(Env::sync_cmd(), 0);
    EXPECT_TRUE(e.wait_consumed());
    const sc_time sync_seen = sc_core::sc_time_stamp();
    EXPECT_EQ(e.reg32(SMMU_CMDQ_CONS), e.cmdq_prod) << "no command error";
    EXPECT_TRUE(e.bare_wait_done(tag));

    LinkRecord read, inv, cpl;
    bool have_read = false, have_inv = false, have_cpl = false;
    for (size_t i = 0; i < e.link.log.size(); ++i) {
        const LinkRecord &r = e.link.log[i];
        // The read in flight is the last translated request issued (its address is the physical one).
        if (r.dir == LinkRecord::Up && r.translated() && r.attr.stream_id == kBareSid)
            read = r, have_read = true;
        if (i >= log_start && r.is(TxnKind::AtsInvalidationRequest))
            inv = r, have_inv = true;
        if (i >= log_start && r.is(TxnKind::AtsInvalidationCompletion))
            cpl = r, have_cpl = true;
    }
    EXPECT_TRUE(have_read && have_inv && have_cpl);
    if (!(have_read && have_inv && have_cpl))
        return inv;
    EXPECT_EQ(inv.attr.stream_id, kBareSid);
    EXPECT_EQ(inv.status, tlm::TLM_OK_RESPONSE) << "delivered to the endpoint";
    EXPECT_EQ(cpl.attr.stream_id, kBareSid);
    EXPECT_EQ(cpl.attr.itag_vector, 1u << inv.attr.itag);
    // In flight: the invalidation reached the function (RC + link after the link tap) before the read's
    // completion did (RC + link after the read's answer at the tap).
    EXPECT_LT(inv.at, read.done) << "the invalidation overtook the translated read";
    // The completion left the function only after the read's completion arrived there, and needs link + RC
    // to reach the SMMU.
    EXPECT_GE(cpl.at, read.done + 2 * e.rc_link());
    EXPECT_GE(sync_seen, cpl.at) << "CMD_SYNC completes only after the Invalidation Completion";
    const BareDevice::Done *d = e.bare_device.completion(tag);
    EXPECT_TRUE(d && d->status == PCIE_EP_CPL_SC);
    if (d) {
        EXPECT_EQ(d->at, read.done + e.rc_link());
    }
    return inv;
}

} // namespace

TEST(PcieProtocol, AtcInvalidationByRangeWaitsForTranslatedRequestsInFlight) {
    Env e(bare_function_env());
    e.run([&] {
        e.smmu_enable();
        uint64_t root = e.s1_stream(kBareSid, 1);
        e.map_range(root, kPageA, kSlowBase, 0x2000); // reads there stay in flight for 2 us
        e.bare_enable(true, false);
        uint8_t a[8], b[8], c[8];
        warm(e, {access(kPageA, a), access(kPageB, b)});
        const LinkRecord inv = invalidate_with_read_in_flight(
            e, access(kPageA + 0x100, c), Env::atc_inv0(kBareSid), Env::atc_inv1(kPageA, 0));
        EXPECT_EQ(inv.addr, kPageA);
        EXPECT_EQ(inv.attr.inv_size, 0x1000u) << "Size 0: one 4 KiB page";
        EXPECT_FALSE(inv.attr.ssv);
        EXPECT_FALSE(inv.attr.inv_global);
        EXPECT_EQ(probe(e, access(kPageA, a)), PCIE_EP_ATC_MISS) << "page A invalidated";
        EXPECT_EQ(probe(e, access(kPageB, b)), PCIE_EP_ISSUED_TRANSLATED) << "page B outside the range";

        // A two-page span (Size 1) aligned down: 0x8000_1000 covers 0x8000_0000..0x8000_1fff.
        warm(e, {access(kPageA, a)});
        const LinkRecord inv2 = invalidate_with_read_in_flight(
            e, access(kPageB + 8, c), Env::atc_inv0(kBareSid), Env::atc_inv1(kPageB, 1));
        EXPECT_EQ(inv2.addr, kPageA);
        EXPECT_EQ(inv2.attr.inv_size, 0x2000u);
        EXPECT_EQ(probe(e, access(kPageA, a)), PCIE_EP_ATC_MISS);
        EXPECT_EQ(probe(e, access(kPageB, b)), PCIE_EP_ATC_MISS);
    });
    EXPECT_EQ(e.smmu_stat("atc_inv.sent"), 2u);
    EXPECT_EQ(e.smmu_stat("atc_inv.completions"), 2u);
    EXPECT_EQ(e.smmu_stat("atc_inv.timeouts"), 0u);
}

TEST(PcieProtocol, AtcInvalidationByPasidWaitsForTranslatedRequestsInFlight) {
    Env e(bare_function_env());
    e.run([&] {
        e.smmu_enable();
        uint64_t root = e.s1_stream(kBareSid, 1, {1, 2});
        e.map_range(root, kPageA, kSlowBase, 0x2000); // reads there stay in flight for 2 us
        e.bare_enable(true, false);
        uint8_t a[8], b[8], c[8];
        warm(e, {access(kPageA, a, true, 1), access(kPageA, b, true, 2), access(kPageA, c)});
        // The pages are global (nG = 0): Global is granted without a PASID, never with one.
        const auto trs = e.link.translation_requests(kBareSid);
        ASSERT_EQ(trs.size(), 3u);
        for (const LinkRecord &r : trs)
            EXPECT_EQ(r.reply.ats.global, !r.attr.ssv) << "PASID completions are never Global";
        const LinkRecord inv = invalidate_with_read_in_flight(
            e, access(kPageA + 0x10, c, true, 1), Env::atc_inv0(kBareSid, true, 1), Env::atc_inv1(kPageA, 0));
        EXPECT_TRUE(inv.attr.ssv);
        EXPECT_EQ(inv.attr.substream_id, 1u);
        EXPECT_FALSE(inv.attr.inv_global);
        EXPECT_EQ(probe(e, access(kPageA, a, true, 1)), PCIE_EP_ATC_MISS) << "PASID 1 invalidated";
        EXPECT_EQ(probe(e, access(kPageA, b, true, 2)), PCIE_EP_ISSUED_TRANSLATED) << "PASID 2 kept";
        EXPECT_EQ(probe(e, access(kPageA, c)), PCIE_EP_ISSUED_TRANSLATED) << "no-PASID entry kept";
    });
}

TEST(PcieProtocol, AtcInvalidationGlobalAndEverythingWaitForTranslatedRequestsInFlight) {
    Env e(bare_function_env());
    e.run([&] {
        e.smmu_enable();
        uint64_t root = e.s1_stream(kBareSid, 1, {1, 2});
        e.map_range(root, kPageA, kSlowBase, 0x2000); // reads there stay in flight for 2 us
        e.bare_enable(true, false);
        uint8_t a[8], b[8], c[8], d[8];
        warm(e,
             {access(kPageA, a, true, 1), access(kPageA, b, true, 2), access(kPageA, c), access(kPageB, d)});
        // Global Invalidate with PASID 2: the message carries GI; PASID 2's entries go.
        const LinkRecord inv =
            invalidate_with_read_in_flight(e, access(kPageA + 0x20, b, true, 2),
                                           Env::atc_inv0(kBareSid, true, 2, true), Env::atc_inv1(kPageA, 0));
        EXPECT_TRUE(inv.attr.ssv);
        EXPECT_EQ(inv.attr.substream_id, 2u);
        EXPECT_TRUE(inv.attr.inv_global);
        EXPECT_EQ(probe(e, access(kPageA, b, true, 2)), PCIE_EP_ATC_MISS);
        EXPECT_EQ(probe(e, access(kPageA, a, true, 1)), PCIE_EP_ISSUED_TRANSLATED)
            << "no Global entry of PASID 1";

        // Everything (Size 52, no PASID): every entry of every PASID.
        const LinkRecord all = invalidate_with_read_in_flight(
            e, access(kPageB + 0x30, d), Env::atc_inv0(kBareSid), Env::atc_inv1(0x123456789000, 52));
        EXPECT_EQ(all.addr, 0u);
        EXPECT_EQ(all.attr.inv_size, 0u) << "the whole 64-bit space";
        EXPECT_FALSE(all.attr.ssv);
        EXPECT_EQ(probe(e, access(kPageA, a, true, 1)), PCIE_EP_ATC_MISS);
        EXPECT_EQ(probe(e, access(kPageA, c)), PCIE_EP_ATC_MISS);
        EXPECT_EQ(probe(e, access(kPageB, d)), PCIE_EP_ATC_MISS);
    });
    EXPECT_EQ(Env::stat(*e.bare, "atc.entries"), 0u);
}

TEST(PcieProtocol, AtcInvalidationTimeoutIsCerrorAtcInvSync) {
    Options o;
    o.bare = true;
    o.bare_params.inv_latency_ps = uint64_t{1000000000000}; // 1 s: never within the timeout
    o.smmu_tweak = [](vp::Smmuv3::Params &p) { p.core.atc_inv_timeout_ps = 5000000; }; // 5 us
    Env e(o);
    e.run([&] {
        e.smmu_enable();
        e.s1_stream(kBareSid, 1);
        e.bare_enable(true, false);
        const uint32_t sync_index = (e.cmdq_prod + 1) & ((2u << kCmdqLog2) - 1);
        e.submit(Env::atc_inv0(kBareSid), Env::atc_inv1(kPageA, 0));
        const sc_time submitted = sc_core::sc_time_stamp();
        e.submit(Env::sync_cmd(), 0);
        sc_core::wait(4, SC_US);
        EXPECT_EQ(e.reg32(SMMU_GERROR) & SMMU_GERROR_CMDQ_ERR, 0u) << "still waiting before the timeout";
        EXPECT_EQ(e.reg32(SMMU_CMDQ_CONS) & SMMU_Q_PTR_MASK, sync_index) << "the CMD_SYNC is not consumed";
        sc_time error_seen;
        for (int i = 0; i < 200 && !(e.reg32(SMMU_GERROR) & SMMU_GERROR_CMDQ_ERR); ++i)
            sc_core::wait(50, SC_NS);
        error_seen = sc_core::sc_time_stamp();
        const uint32_t cons = e.reg32(SMMU_CMDQ_CONS);
        EXPECT_EQ(SMMU_FIELD_GET(SMMU_CMDQ_CONS_ERR, cons), 0x03u) << "CERROR_ATC_INV_SYNC";
        EXPECT_EQ(cons & SMMU_Q_PTR_MASK, sync_index) << "CONS stays on the CMD_SYNC";
        EXPECT_NE(e.reg32(SMMU_GERROR) & SMMU_GERROR_CMDQ_ERR, 0u);
        EXPECT_GE(error_seen, submitted + sc_time(5, SC_US));
        EXPECT_EQ(e.gerror_edges.rising, 1u);
        ASSERT_EQ(e.link.down(TxnKind::AtsInvalidationRequest).size(), 1u);
        EXPECT_TRUE(e.link.up(TxnKind::AtsInvalidationCompletion).empty());
        // Software acknowledges; the SMMU retries the CMD_SYNC, which has nothing left to wait for.
        e.set32(SMMU_GERRORN, e.reg32(SMMU_GERROR));
        EXPECT_TRUE(e.wait_consumed(sc_time(10, SC_US)));
    });
    EXPECT_EQ(e.smmu_stat("atc_inv.timeouts"), 1u);
    EXPECT_EQ(e.smmu_stat("cmd.errors.atc_inv_sync"), 1u);
}

// Found by bench_pcie: with several accesses of a page in flight, their Translation Requests all complete and
// each refilled the ATC. A refill of a translation whose entry had translated requests in flight took a new
// way instead of replacing it, so the set filled up with copies of one page and evicted the others (an ATC
// that held the whole region missed on nearly every access).
TEST(PcieProtocol, AtcRefillOfAnEntryInUseReplacesIt) {
    Options o;
    o.bare = true;
    o.bare_params.atc_sets = 1;
    o.bare_params.atc_ways = 2;
    Env e(o);
    e.run([&] {
        e.smmu_enable();
        uint64_t root = e.s1_stream(kBareSid, 1);
        e.map_range(root, kPageA, kSlowBase, 0x2000); // reads stay in flight for 2 us
        e.bare_enable(true, false);
        uint8_t a[8], b[8], c[8];
        warm(e, {access(kPageA, a)});
        uint32_t tag = 0;
        pcie_ep_access in_flight = access(kPageA + 0x40, c);
        ASSERT_EQ(pcie_ep_dma(e.bare->ep(), &in_flight, &tag), PCIE_EP_ISSUED_TRANSLATED);
        warm(e, {access(kPageA, a)}); // the same translation again while the read uses it
        pcie_ep_stats st{};
        pcie_ep_get_stats(e.bare->ep(), &st);
        EXPECT_EQ(st.atc_entries, 1u) << "the refill replaced the entry";
        warm(e, {access(kPageB, b)});
        pcie_ep_get_stats(e.bare->ep(), &st);
        EXPECT_EQ(st.atc_entries, 2u);
        EXPECT_EQ(st.atc_evictions, 0u) << "two ways hold both pages";
        EXPECT_TRUE(e.bare_wait_done(tag, sc_time(5, SC_US)));
        EXPECT_EQ(probe(e, access(kPageA, a)), PCIE_EP_ISSUED_TRANSLATED);
        EXPECT_EQ(probe(e, access(kPageB, b)), PCIE_EP_ISSUED_TRANSLATED);
    });
}
