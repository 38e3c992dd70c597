// Simulated DMA bytes per host second of a Test Engine MEMCPY through the whole PCIe stack (endpoint shell,
// root complex, SMMU shell and core, router, RAM), and PRI round trips per host second. A host thread
// programs the SMMU and the engine through their sockets, as a driver would. Prints `name value unit`:
//   pcie.dma_bypass.bps    STE bypass, ATS off: untranslated requests pass the SMMU untranslated
//   pcie.dma_atc_hit.bps   stage 1, ATS on, the engine's ATC holds every page: translated requests only
//   pcie.dma_atc_miss.bps  the ATC is too small for the region, so every page misses and takes a Translation
//                          Request, which hits the SMMU's TLB
//   pcie.dma_walk.bps      as atc_miss with the SMMU's TLB and walk cache disabled: a full walk each page
//   pcie.pri_faults_per_s  complete PRI round trips: a Page Request, the driver maps the page and answers
//                          with CMD_PRI_RESP from the PRI queue, the engine retries its Translation Request
// The bps figures count the bytes copied (each is read once and written once), in 64-byte transactions. Each
// figure first runs the workload once untimed (to warm the caches it is about), then repeats it for about a
// second of host time and checks that the work really was what the name says (translations, misses, walks per
// page).
//
// `bench_pcie [FILTER] [--quick]`: only the figures whose name contains FILTER; --quick runs one small
// command per figure (a functional check, not a measurement).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "endpoint.h"
#include "memory.h"
#include "root_complex.h"
#include "router.h"
#include "smmu_regs.h"
#include "smmu_structs.h"
#include "smmuv3.h"
#include "testengine.h"

namespace {

using sc_core::SC_NS;
using sc_core::sc_time;

constexpr uint64_t kRamBase = 0x40000000;
constexpr uint64_t kRamSize = 40u << 20;
constexpr uint64_t kSmmuBase = 0x09050000;
constexpr uint64_t kEcam = 0x3f000000;
constexpr uint64_t kMmio = 0x10000000, kMmioSize = 0x2eff0000;
constexpr uint64_t kStrtab = kRamBase + 0x10000;
constexpr uint64_t kCmdq = kRamBase + 0x20000;
constexpr unsigned kCmdqLog2 = 8;
constexpr uint64_t kEvtq = kRamBase + 0x30000;
constexpr uint64_t kPriq = kRamBase + 0x40000;
constexpr unsigned kPriqLog2 = 9;
constexpr uint64_t kCd = kRamBase + 0x50000;
constexpr uint64_t kTables = kRamBase + 0x100000; // up to 7 MiB of tables
constexpr uint64_t kSrcPa = kRamBase + 0x800000, kDstPa = kRamBase + 0x1800000;
constexpr uint64_t kIova = 0x80000000, kDstIova = 0xC0000000;
constexpr uint16_t kBdf = vp::pcie_bdf(0, 2, 0);
constexpr uint32_t kSid = kBdf;
constexpr uint64_t kBar0 = 0x10000000;
constexpr uint32_t kEcapAts = 0x100, kEcapPri = 0x110;

enum class Mode { Bypass, AtcHit, AtcMiss, Walk, Pri };

bool quick = false;
double seconds_per_figure = 1.0;

struct System : sc_core::sc_module {
    vp::Router router;
    vp::Memory ram;
    vp::Smmuv3 smmu;
    vp::PcieRootComplex rc;
    vp::PcieEndpoint te;
    tlm_utils::simple_initiator_socket<System> host;
    sc_core::sc_signal<bool> irq_lines[4];
    sc_core::sc_signal<bool> intx_lines[4];
    Mode mode;
    uint64_t copy_bytes;
    uint64_t next_table = kTables;
    uint64_t root = 0;
    uint32_t cmdq_prod = 0, priq_cons = 0;

    static vp::Smmuv3::Params smmu_params(Mode m) {
        vp::Smmuv3::Params p = vp::Smmuv3::default_params();
        // Room for every page of the region (source and destination) in the TLB.
        p.core.engine.tlb.sets = 1024;
        if (m == Mode::Walk) {
            p.core.engine.tlb.sets = 0;
            p.core.engine.walk_cache.sets = 0;
        }
        return p;
    }
    static vp::PcieEndpoint::DeviceParams engine_params(Mode m) {
        // The engine's own 64-byte transactions (so the figures weigh the protocol path, not RAM copies), 16
        // in flight, launched as fast as the engine takes them; an ATC that holds the whole region (atc_hit)
        // or only 4 pages (atc_miss, walk: each page misses once per sweep).
        const bool big_atc = m == Mode::AtcHit || m == Mode::Bypass;
        return {{"chunk", "64"},   {"inflight", "16"},
                {"issue_ps", "0"}, {"atc_sets", big_atc ? "1024" : "1"},
                {"atc_ways", "4"}, {"pasid", "0"}};
    }

    System(sc_core::sc_module_name name, Mode m)
        : sc_module(name), router("router"), ram("ram", kRamSize), smmu("smmu", smmu_params(m)),
          rc("rc", vp::PcieRootComplex::Params()), te("te", kBdf, "testengine", engine_params(m)),
          host("host"), mode(m), copy_bytes(quick ? 0x10000 : 0x400000) {
        router.add_target(ram.socket, kRamBase, kRamSize, "ram");
        router.add_target(smmu.reg_socket, kSmmuBase, SMMU_REG_SPACE_SIZE, "smmu");
        router.add_target(rc.ecam_socket, kEcam, vp::PcieRootComplex::kEcamSize, "ecam");
        router.add_target(rc.mmio_socket, kMmio, kMmioSize, "pcie_mmio");
        host.bind(router.target_socket);
        smmu.downstream_socket.bind(router.target_socket);
        smmu.own_access_socket.bind(router.target_socket);
        rc.smmu_socket.bind(smmu.upstream_socket);
        smmu.message_socket.bind(rc.message_socket);
        smmu.evtq_irq.bind(irq_lines[0]);
        smmu.priq_irq.bind(irq_lines[1]);
        smmu.cmd_sync_irq.bind(irq_lines[2]);
        smmu.gerror_irq.bind(irq_lines[3]);
        for (unsigned i = 0; i < 4; ++i)
            rc.intx[i].bind(intx_lines[i]);
        rc.attach(te);
    }

    [[noreturn]] void fail(const std::string &what) {
        throw std::runtime_error(std::string(name()) + ": " + what);
    }

    uint8_t *at(uint64_t pa) { return ram.data() + (pa - kRamBase); }
    void put64(uint64_t pa, uint64_t v) {
        for (unsigned i = 0; i < 8; ++i)
            at(pa)[i] = static_cast<uint8_t>(v >> (8 * i));
    }
    uint64_t get64(uint64_t pa) {
        uint64_t v = 0;
        for (unsigned i = 0; i < 8; ++i)
            v |= uint64_t{at(pa)[i]} << (8 * i);
        return v;
    }

    // One access from the host, which waits for its annotated time (as a CPU synchronising at a device).
    uint64_t access(bool write, uint64_t addr, uint64_t value, unsigned len) {
        uint8_t bytes[8] = {};
        for (unsigned i = 0; i < len; ++i)
            bytes[i] = static_cast<uint8_t>(value >> (8 * i));
        tlm::tlm_generic_payload gp;
        gp.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
        gp.set_address(addr);
        gp.set_data_ptr(bytes);
        gp.set_data_length(len);
        gp.set_streaming_width(len);
        gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        sc_time delay = sc_core::SC_ZERO_TIME;
        host->b_transport(gp, delay);
        if (!gp.is_response_ok())
            fail("host access failed at " + std::to_string(addr));
        sc_core::wait(delay);
        value = 0;
        for (unsigned i = 0; i < len; ++i)
            value |= uint64_t{bytes[i]} << (8 * i);
        return value;
    }
    void write(uint64_t addr, uint64_t value, unsigned len = 4) { access(true, addr, value, len); }
    uint64_t read(uint64_t addr, unsigned len = 4) { return access(false, addr, 0, len); }
    void reg(uint64_t off, uint64_t value, unsigned len = 4) { write(kSmmuBase + off, value, len); }
    uint32_t reg(uint64_t off) { return static_cast<uint32_t>(read(kSmmuBase + off)); }
    void cfg(uint32_t off, uint32_t value, unsigned len) {
        write(kEcam + (uint64_t{kBdf} << 12) + off, value, len);
    }

    void submit(uint64_t dw0, uint64_t dw1) {
        const uint32_t entries = 1u << kCmdqLog2;
        const uint64_t slot = kCmdq + (cmdq_prod & (entries - 1)) * SMMU_CMD_SIZE;
        put64(slot, dw0);
        put64(slot + 8, dw1);
        cmdq_prod = (cmdq_prod + 1) & ((entries << 1) - 1);
    }
    void publish_and_wait() {
        submit(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC), 0);
        reg(SMMU_CMDQ_PROD, cmdq_prod);
        for (int i = 0; i < 100000 && reg(SMMU_CMDQ_CONS) != cmdq_prod; ++i)
            sc_core::wait(100, SC_NS);
        if (reg(SMMU_CMDQ_CONS) != cmdq_prod)
            fail("the SMMU did not consume its commands");
    }

    uint64_t new_table() {
        const uint64_t t = next_table;
        next_table += 0x1000;
        std::memset(at(t), 0, 0x1000);
        return t;
    }
    uint64_t leaf_slot(uint64_t va) {
        if (!root)
            root = new_table();
        uint64_t table = root;
        for (int level = 0; level < 3; ++level) {
            const uint64_t slot = table + ((va >> (39 - 9 * level)) & 0x1FF) * 8;
            if (!(get64(slot) & 1))
                put64(slot, new_table() | 3);
            table = get64(slot) & 0x0000FFFFFFFFF000;
        }
        return table + ((va >> 12) & 0x1FF) * 8;
    }
    // Read-write at EL0/EL1, inner shareable, AF set, attribute 0.
    void map(uint64_t va, uint64_t pa) {
        put64(leaf_slot(va), (pa & 0x0000FFFFFFFFF000) | 3 | (1u << 10) | (3u << 8) | (1u << 6));
    }

    void program() {
        std::memset(at(kStrtab), 0, SMMU_STE_SIZE << 6);
        const uint64_t ste = kStrtab + kSid * SMMU_STE_SIZE;
        if (mode == Mode::Bypass) {
            put64(ste + 8, SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING));
            put64(ste, SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_BYPASS));
        } else {
            for (uint64_t off = 0; off < copy_bytes; off += 0x1000) {
                if (mode != Mode::Pri)
                    map(kIova + off, kSrcPa + off);
                map(kDstIova + off, kDstPa + off);
            }
            std::memset(at(kCd), 0, SMMU_CD_SIZE);
            put64(kCd + 8, root & SMMU_CD1_TTB0);
            put64(kCd + 24, 0xFF);
            put64(kCd, SMMU_FIELD_PREP(SMMU_CD0_T0SZ, 16) | SMMU_FIELD_PREP(SMMU_CD0_TG0, SMMU_TG0_4K) |
                           SMMU_FIELD_PREP(SMMU_CD0_IR0, 1) | SMMU_FIELD_PREP(SMMU_CD0_OR0, 1) |
                           SMMU_FIELD_PREP(SMMU_CD0_SH0, 3) | SMMU_CD0_EPD1 | SMMU_CD0_V |
                           SMMU_FIELD_PREP(SMMU_CD0_IPS, 5) | SMMU_CD0_AA64 | SMMU_CD0_R | SMMU_CD0_A |
                           SMMU_CD0_ASET | SMMU_FIELD_PREP(SMMU_CD0_ASID, 1));
            put64(ste + 8,
                  SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING) | SMMU_FIELD_PREP(SMMU_STE1_EATS, 1));
            put64(ste, SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_S1) |
                           (kCd & SMMU_STE0_S1CTXPTR));
        }
        reg(SMMU_STRTAB_BASE, kStrtab, 8);
        reg(SMMU_STRTAB_BASE_CFG, 6);
        reg(SMMU_CMDQ_BASE, kCmdq | kCmdqLog2, 8);
        reg(SMMU_EVENTQ_BASE, kEvtq | 5, 8);
        reg(SMMU_PRIQ_BASE, kPriq | kPriqLog2, 8);
        const uint32_t cr0 = SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN | SMMU_CR0_PRIQEN;
        reg(SMMU_CR0, cr0);
        submit(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE_RANGE),
               SMMU_FIELD_PREP(SMMU_CMD1_RANGE, SMMU_CFGI_RANGE_ALL));
        submit(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NSNH_ALL), 0);
        publish_and_wait();
        reg(SMMU_CR0, cr0 | SMMU_CR0_SMMUEN);

        // The engine: BAR0, Memory Space and Bus Master; ATS (and PRI) as the mode wants.
        cfg(0x10, static_cast<uint32_t>(kBar0), 4);
        cfg(0x14, 0, 4);
        cfg(0x04, 0x6, 2);
        if (mode == Mode::Pri) {
            cfg(kEcapPri + 0x0C, 64, 4);
            cfg(kEcapPri + 4, 1, 2);
        }
        if (mode != Mode::Bypass)
            cfg(kEcapAts + 6, 0x8000, 2);
        const uint32_t pctrl = TE_PCTRL_SSD_NS | (mode != Mode::Bypass ? TE_PCTRL_ATS_ENABLE : 0) |
                               (mode == Mode::Pri ? TE_PCTRL_PRI_ENABLE : 0);
        write(kBar0 + TESTENGINE_PRIV_PAGE + TE_PCTRL, pctrl);
        const bool bypass = mode == Mode::Bypass;
        write(kBar0 + TE_BEGIN, bypass ? kSrcPa : kIova, 8);
        write(kBar0 + TE_END_INCL, (bypass ? kSrcPa : kIova) + copy_bytes - 1, 8);
        write(kBar0 + TE_UDATA, bypass ? kDstPa : kDstIova, 8);
        write(kBar0 + TE_STRIDE, 1, 8);
        for (uint64_t i = 0; i < copy_bytes; ++i)
            at(kSrcPa)[i] = static_cast<uint8_t>(i * 13 + (i >> 12));
    }

    // One MEMCPY; the host polls cmd every microsecond of simulated time (cheap: idle time costs nothing).
    void copy_once() {
        std::memset(at(kDstPa), 0, 8);
        write(kBar0 + TE_CMD, TE_ENGINE_MEMCPY);
        uint32_t cmd = TE_ENGINE_MEMCPY;
        while (cmd == TE_ENGINE_MEMCPY) {
            sc_core::wait(1, sc_core::SC_US);
            cmd = static_cast<uint32_t>(read(kBar0 + TE_CMD));
        }
        if (cmd != TE_ENGINE_HALTED)
            fail("MEMCPY ended in state " + std::to_string(cmd));
    }

    uint64_t engine_stat(const std::string &name) const {
        uint64_t value = 0;
        te.stats([&](const std::string &n, uint64_t v) {
            if (n == name)
                value = v;
        });
        return value;
    }
    uint64_t smmu_stat(const std::string &name) const {
        uint64_t value = 0;
        smmu.stats([&](const std::string &n, uint64_t v) {
            if (n == name)
                value = v;
        });
        return value;
    }

    double measure_copy() {
        copy_once(); // warms the ATC / TLB the figure is about
        if (std::memcmp(at(kSrcPa), at(kDstPa), copy_bytes) != 0)
            fail("the copy is wrong");
        const uint64_t trs_before = engine_stat("link.translation_requests");
        const uint64_t misses_before = engine_stat("atc_misses");
        const uint64_t tlb_misses_before = smmu_stat("engine.tlb.misses");
        const uint64_t walk_reads_before = smmu.counters().mem_reads;
        using Clock = std::chrono::steady_clock;
        const auto start = Clock::now();
        uint64_t copies = 0;
        double elapsed = 0;
        do {
            copy_once();
            ++copies;
            elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        } while (!quick && elapsed < seconds_per_figure);
        const uint64_t pages = copies * 2 * copy_bytes / 0x1000;
        const uint64_t trs = engine_stat("link.translation_requests") - trs_before;
        const uint64_t atc_misses = engine_stat("atc_misses") - misses_before;
        const uint64_t tlb_misses = smmu_stat("engine.tlb.misses") - tlb_misses_before;
        const uint64_t walk_reads = smmu.counters().mem_reads - walk_reads_before;
        switch (mode) {
        case Mode::Bypass:
        case Mode::AtcHit:
            if (trs != 0 || atc_misses != 0)
                fail(std::to_string(trs) + " Translation Requests, expected none");
            break;
        case Mode::AtcMiss:
            if (trs < pages || tlb_misses != 0)
                fail(std::to_string(trs) + " Translation Requests for " + std::to_string(pages) + " pages, " +
                     std::to_string(tlb_misses) + " TLB misses: expected one miss per page in the ATC only");
            break;
        case Mode::Walk:
            if (trs < pages || walk_reads < 4 * pages)
                fail(std::to_string(walk_reads) + " table reads for " + std::to_string(pages) +
                     " pages: expected a 4-level walk per page");
            break;
        case Mode::Pri:
            break;
        }
        if (std::memcmp(at(kSrcPa), at(kDstPa), copy_bytes) != 0)
            fail("the copy is wrong");
        return static_cast<double>(copies * copy_bytes) / elapsed;
    }

    // Serves the PRI queue until the engine's MEMCPY over unmapped source pages ends: each Last entry gets
    // its page mapped and a CMD_PRI_RESP Success; one CMD_SYNC per batch. Returns the round trips served.
    uint64_t serve_faults() {
        write(kBar0 + TE_CMD, TE_ENGINE_MEMCPY);
        uint64_t served = 0;
        const uint32_t mask = (2u << kPriqLog2) - 1;
        for (;;) {
            const uint32_t prod = reg(SMMU_PRIQ_PROD);
            if ((prod & SMMU_Q_PROD_OVFLG) != 0)
                fail("PRI queue overflow");
            unsigned answered = 0;
            while ((priq_cons & mask) != (prod & mask)) {
                const uint64_t e = kPriq + (priq_cons & ((1u << kPriqLog2) - 1)) * SMMU_PRI_SIZE;
                const uint64_t d0 = get64(e), d1 = get64(e + 8);
                const uint64_t page = d1 & SMMU_PRI1_ADDR;
                if (page < kIova || page >= kIova + copy_bytes)
                    fail("page request outside the region");
                map(page, kSrcPa + (page - kIova));
                if (d0 & SMMU_PRI0_LAST) {
                    submit(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_PRI_RESP) |
                               SMMU_FIELD_PREP(SMMU_CMD0_SID, SMMU_FIELD_GET(SMMU_PRI0_SID, d0)),
                           SMMU_FIELD_PREP(SMMU_CMD1_PRI_PRGIDX, SMMU_FIELD_GET(SMMU_PRI1_GRPID, d1)) |
                               SMMU_FIELD_PREP(SMMU_CMD1_PRI_RESP, 2));
                    ++answered;
                }
                priq_cons = (priq_cons + 1) & mask;
            }
            if (answered != 0) {
                reg(SMMU_PRIQ_CONS, priq_cons);
                publish_and_wait();
                served += answered;
                continue;
            }
            const uint32_t cmd = static_cast<uint32_t>(read(kBar0 + TE_CMD));
            if (cmd == TE_ENGINE_HALTED)
                return served;
            if (cmd != TE_ENGINE_MEMCPY)
                fail("MEMCPY with page faults ended in state " + std::to_string(cmd));
            // The PRI interrupt, or a look at the engine every 2 us in case it ended without one.
            sc_core::wait(sc_time(2, sc_core::SC_US), irq_lines[1].posedge_event());
        }
    }

    // Unmaps the source again and drops every cached translation (SMMU TLB and the engine's ATC).
    void unmap_source() {
        for (uint64_t off = 0; off < copy_bytes; off += 0x1000)
            put64(leaf_slot(kIova + off), 0);
        submit(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NH_ALL), 0);
        publish_and_wait();
        submit(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_ATC_INV) | SMMU_FIELD_PREP(SMMU_CMD0_SID, kSid),
               SMMU_FIELD_PREP(SMMU_CMD1_ATC_SIZE, 52));
        publish_and_wait();
    }

    double measure_pri() {
        if (serve_faults() == 0) // warm-up: every page faults once
            fail("no page request");
        using Clock = std::chrono::steady_clock;
        double elapsed = 0;
        uint64_t served = 0;
        do {
            unmap_source();
            const auto start = Clock::now();
            served += serve_faults();
            elapsed += std::chrono::duration<double>(Clock::now() - start).count();
        } while (!quick && elapsed < seconds_per_figure);
        if (std::memcmp(at(kSrcPa), at(kDstPa), copy_bytes) != 0)
            fail("the copy is wrong");
        if (engine_stat("agent_page_requests") < served)
            fail("fewer page requests than responses");
        return static_cast<double>(served) / elapsed;
    }

    double measure() { return mode == Mode::Pri ? measure_pri() : measure_copy(); }
};

struct Driver : sc_core::sc_module {
    std::vector<std::pair<std::string, System *>> runs;
    int status = 0;
    SC_HAS_PROCESS(Driver);
    explicit Driver(sc_core::sc_module_name name) : sc_module(name) { SC_THREAD(run); }
    void run() {
        try {
            for (auto &r : runs) {
                r.second->program();
                const double rate = r.second->measure();
                const std::string unit = r.first.substr(r.first.rfind('.') + 1);
                std::printf("%s %.0f %s\n", r.first.c_str(), rate, unit == "bps" ? "B/s" : "faults/s");
                std::fflush(stdout);
            }
        } catch (const std::exception &e) {
            std::fprintf(stderr, "bench_pcie: %s\n", e.what());
            status = 1;
        }
        sc_core::sc_stop();
    }
};

} // namespace

int sc_main(int argc, char **argv) {
    std::string filter;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--quick")
            quick = true;
        else
            filter = arg;
    }
    try {
        System bypass("bypass", Mode::Bypass);
        System atc_hit("atc_hit", Mode::AtcHit);
        System atc_miss("atc_miss", Mode::AtcMiss);
        System walk("walk", Mode::Walk);
        System pri("pri", Mode::Pri);
        Driver driver("driver");
        const std::pair<std::string, System *> all[] = {{"pcie.dma_bypass.bps", &bypass},
                                                        {"pcie.dma_atc_hit.bps", &atc_hit},
                                                        {"pcie.dma_atc_miss.bps", &atc_miss},
                                                        {"pcie.dma_walk.bps", &walk},
                                                        {"pcie.pri_faults_per_s", &pri}};
        for (const auto &run : all)
            if (run.first.find(filter) != std::string::npos)
                driver.runs.push_back(run);
        sc_core::sc_start();
        return driver.status;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "bench_pcie: %s\n", e.what());
        return 1;
    }
}
