// Translations per host second through the SMMU shell's sockets: a requester thread sends 8-byte reads with a
// vp::TxnAttr to the upstream socket; the SMMU walks tables in RAM behind a Router and forwards the read to
// RAM. Prints one `name value unit` line per figure:
//   smmu.bypass.tps       SMMUEN=0 with GBPA bypass: the shell and router path without translation
//   smmu.tlb_hit.tps      stage 1, the same page again and again: every access hits the TLB
//   smmu.walk_s1.tps      stage 1 with the TLB and walk cache disabled (sets = 0): a full 4-level walk per
//   access smmu.walk_nested.tps  stage 1 + stage 2, both caches disabled: a full nested walk (4 x 5 + 4
//   accesses) per access
//   smmu.ats_tr.tps       ATS Translation Requests (AT = TranslationRequest, NW = 0) to the stage-1 page of
//   tlb_hit, STE.EATS = 0b01: every request hits the TLB and is answered in the TxnAttr
//   smmu.priq.pps         PRI Page Requests (PageRequest messages on the upstream socket) written to the PRI
//   queue per host second; a driver-like consumer empties the queue with one PRIQ_CONS write per 256 entries
//   smmu.cmdq.cps         commands consumed per host second by the command-queue process: batches of 31
//   TLBI_NH_VA and a CMD_SYNC, the driver polling CMDQ_CONS
// The STE/CD configuration cache stays on in every case: the figures are about translation, not config
// fetches.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "memory.h"
#include "router.h"
#include "smmu_regs.h"
#include "smmu_structs.h"
#include "smmuv3.h"

namespace {

constexpr uint64_t kRamBase = 0x40000000;
constexpr uint64_t kRamSize = 32u << 20;
constexpr uint64_t kSmmuBase = 0x09050000;
constexpr uint64_t kStrtab = kRamBase + 0x10000;
constexpr uint64_t kCmdq = kRamBase + 0x20000;
constexpr uint64_t kEvtq = kRamBase + 0x30000;
constexpr uint64_t kCd = kRamBase + 0x40000;
constexpr uint64_t kPriq = kRamBase + 0x50000;
constexpr unsigned kPriqLog2 = 8;
constexpr uint64_t kTables = kRamBase + 0x100000;
constexpr uint64_t kDataPa = kRamBase + 0x1000000;
constexpr uint64_t kVa = 0x0000007654321000;
constexpr uint32_t kSid = 1;
constexpr double kSecondsPerFigure = 1.5;

enum class Mode { Bypass, Stage1, Nested, Pri, AtsTr, Cmdq };

// One SMMU with its RAM and router, a register initiator and an upstream requester.
struct System : sc_core::sc_module {
    vp::Router router;
    vp::Memory ram;
    vp::Smmuv3 smmu;
    tlm_utils::simple_initiator_socket<System> cpu;
    tlm_utils::simple_initiator_socket<System> dev;
    sc_core::sc_signal<bool> irq_lines[4];
    Mode mode;
    bool walk; // TLB and walk cache disabled: every access walks
    uint64_t next_table = kTables;
    uint32_t cmdq_prod = 0;

    System(sc_core::sc_module_name name, Mode m, const vp::Smmuv3::Params &params)
        : sc_module(name), router("router"), ram("ram", kRamSize, sc_core::sc_time(20, sc_core::SC_NS)),
          smmu("smmu", params), cpu("cpu"), dev("dev"), mode(m), walk(params.core.engine.tlb.sets == 0) {
        router.add_target(ram.socket, kRamBase, kRamSize, "ram");
        router.add_target(smmu.reg_socket, kSmmuBase, SMMU_REG_SPACE_SIZE, "smmu");
        cpu.bind(router.target_socket);
        smmu.downstream_socket.bind(router.target_socket);
        smmu.own_access_socket.bind(router.target_socket);
        dev.bind(smmu.upstream_socket);
        smmu.evtq_irq.bind(irq_lines[0]);
        smmu.priq_irq.bind(irq_lines[1]);
        smmu.cmd_sync_irq.bind(irq_lines[2]);
        smmu.gerror_irq.bind(irq_lines[3]);
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

    bool reg(bool write, uint64_t off, uint64_t &value, unsigned len) {
        uint8_t bytes[8] = {};
        for (unsigned i = 0; i < len; ++i)
            bytes[i] = static_cast<uint8_t>(value >> (8 * i));
        tlm::tlm_generic_payload gp;
        gp.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
        gp.set_address(kSmmuBase + off);
        gp.set_data_ptr(bytes);
        gp.set_data_length(len);
        gp.set_streaming_width(len);
        gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        sc_core::sc_time delay;
        cpu->b_transport(gp, delay);
        value = 0;
        for (unsigned i = 0; i < len; ++i)
            value |= uint64_t{bytes[i]} << (8 * i);
        return gp.is_response_ok();
    }
    void set(uint64_t off, uint64_t value, unsigned len = 4) {
        if (!reg(true, off, value, len))
            throw std::runtime_error("register write failed at offset " + std::to_string(off));
    }
    uint32_t get(uint64_t off) {
        uint64_t value = 0;
        if (!reg(false, off, value, 4))
            throw std::runtime_error("register read failed at offset " + std::to_string(off));
        return static_cast<uint32_t>(value);
    }
    void command(uint64_t dw0, uint64_t dw1) {
        const uint64_t slot = kCmdq + (cmdq_prod & 31) * SMMU_CMD_SIZE;
        put64(slot, dw0);
        put64(slot + 8, dw1);
        cmdq_prod = (cmdq_prod + 1) & 63;
        set(SMMU_CMDQ_PROD, cmdq_prod);
        // The SMMU may consume commands in its own process: give it simulated time, as a driver polls.
        for (int i = 0; i < 1000 && get(SMMU_CMDQ_CONS) != cmdq_prod; ++i)
            sc_core::wait(10, sc_core::SC_NS);
        if (get(SMMU_CMDQ_CONS) != cmdq_prod)
            throw std::runtime_error("the SMMU did not consume a command");
    }

    uint64_t new_table() {
        const uint64_t t = next_table;
        next_table += 0x1000;
        std::memset(at(t), 0, 0x1000);
        return t;
    }
    // 4 KiB granule, 48-bit input, 4 levels; leaf_bits completes the page descriptor.
    void map(uint64_t &root, uint64_t ia, uint64_t oa, uint64_t leaf_bits) {
        if (!root)
            root = new_table();
        uint64_t table = root;
        for (int level = 0; level < 3; ++level) {
            const uint64_t slot = table + ((ia >> (39 - 9 * level)) & 0x1FF) * 8;
            if (!(get64(slot) & 1))
                put64(slot, new_table() | 3);
            table = get64(slot) & 0x0000FFFFFFFFF000;
        }
        put64(table + ((ia >> 12) & 0x1FF) * 8, (oa & 0x0000FFFFFFFFF000) | 3 | (1u << 10) | leaf_bits);
    }

    void program() {
        set(SMMU_GBPA, SMMU_GBPA_UPDATE);
        if (mode == Mode::Bypass)
            return;
        uint64_t s1_root = 0, s2_root = 0;
        constexpr uint64_t kS1Leaf = (3u << 8) | (1u << 6); // inner shareable, EL0/EL1 read-write, attr 0
        map(s1_root, kVa, kDataPa, kS1Leaf);
        std::memset(at(kCd), 0, SMMU_CD_SIZE);
        put64(kCd + 8, s1_root & SMMU_CD1_TTB0);
        put64(kCd + 24, 0xFF);
        put64(kCd, SMMU_FIELD_PREP(SMMU_CD0_T0SZ, 16) | SMMU_FIELD_PREP(SMMU_CD0_TG0, SMMU_TG0_4K) |
                       SMMU_FIELD_PREP(SMMU_CD0_IR0, 1) | SMMU_FIELD_PREP(SMMU_CD0_OR0, 1) |
                       SMMU_FIELD_PREP(SMMU_CD0_SH0, 3) | SMMU_CD0_EPD1 | SMMU_CD0_V |
                       SMMU_FIELD_PREP(SMMU_CD0_IPS, 5) | SMMU_CD0_AA64 | SMMU_CD0_R | SMMU_CD0_A |
                       SMMU_CD0_ASET | SMMU_FIELD_PREP(SMMU_CD0_ASID, 1));
        const uint64_t ste = kStrtab + kSid * SMMU_STE_SIZE;
        std::memset(at(ste), 0, SMMU_STE_SIZE);
        uint64_t config = SMMU_STE_CONFIG_S1;
        if (mode == Mode::Nested) {
            // Stage 2 maps every page stage 1 touches (CD, its tables, the data page) at the same address.
            const uint64_t s1_end = next_table;
            constexpr uint64_t kS2Leaf = (3u << 8) | (3u << 6) | (0xFu << 2); // ISH, read-write, Normal WB
            map(s2_root, kCd, kCd, kS2Leaf);
            for (uint64_t pa = kTables; pa < s1_end; pa += 0x1000)
                map(s2_root, pa, pa, kS2Leaf);
            map(s2_root, kDataPa, kDataPa, kS2Leaf);
            put64(ste + 16, SMMU_FIELD_PREP(SMMU_STE2_S2VMID, 1) | SMMU_FIELD_PREP(SMMU_STE2_S2T0SZ, 16) |
                                SMMU_FIELD_PREP(SMMU_STE2_S2SL0, 2) | SMMU_FIELD_PREP(SMMU_STE2_S2IR0, 1) |
                                SMMU_FIELD_PREP(SMMU_STE2_S2OR0, 1) | SMMU_FIELD_PREP(SMMU_STE2_S2SH0, 3) |
                                SMMU_FIELD_PREP(SMMU_STE2_S2TG, SMMU_TG0_4K) |
                                SMMU_FIELD_PREP(SMMU_STE2_S2PS, 5) | SMMU_STE2_S2AA64 | SMMU_STE2_S2R);
            put64(ste + 24, s2_root & SMMU_STE3_S2TTB);
            config = SMMU_STE_CONFIG_NESTED;
        }
        const uint64_t eats = mode == Mode::AtsTr ? SMMU_FIELD_PREP(SMMU_STE1_EATS, 1) : 0;
        put64(ste + 8, SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING) | eats);
        put64(ste, SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, config) | (kCd & SMMU_STE0_S1CTXPTR));

        set(SMMU_STRTAB_BASE, kStrtab, 8);
        set(SMMU_STRTAB_BASE_CFG, 4);
        set(SMMU_CMDQ_BASE, kCmdq | 5, 8);
        set(SMMU_EVENTQ_BASE, kEvtq | 5, 8);
        set(SMMU_CR0, SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN);
        command(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE_RANGE),
                SMMU_FIELD_PREP(SMMU_CMD1_RANGE, SMMU_CFGI_RANGE_ALL));
        command(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NSNH_ALL), 0);
        command(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC), 0);
        set(SMMU_CR0, SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN | SMMU_CR0_SMMUEN);
        if (mode == Mode::Pri) {
            set(SMMU_PRIQ_BASE, kPriq | kPriqLog2, 8);
            set(SMMU_PRIQ_PROD, 0);
            set(SMMU_PRIQ_CONS, 0);
            set(SMMU_CR0, SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN | SMMU_CR0_PRIQEN | SMMU_CR0_SMMUEN);
        }
    }

    // Sends Page Requests for about kSecondsPerFigure of host time; returns requests queued per second.
    double measure_priq() {
        uint64_t body = 0;
        tlm::tlm_generic_payload gp;
        vp::TxnAttr *attr = new vp::TxnAttr;
        attr->stream_id = kSid;
        attr->kind = vp::TxnKind::PageRequest;
        attr->ssv = true;
        attr->substream_id = 1;
        attr->read = true;
        gp.set_extension(attr); // owned by gp from here on
        gp.set_command(tlm::TLM_WRITE_COMMAND);
        gp.set_data_ptr(reinterpret_cast<unsigned char *>(&body));
        gp.set_data_length(sizeof body);
        gp.set_streaming_width(sizeof body);
        using Clock = std::chrono::steady_clock;
        const auto start = Clock::now();
        uint64_t count = 0;
        double elapsed = 0;
        sc_core::sc_time delay;
        constexpr unsigned kBatch = 1u << kPriqLog2;
        do {
            const uint32_t prod_before = get(SMMU_PRIQ_PROD);
            for (unsigned i = 0; i < kBatch; ++i) {
                attr->prg_index = static_cast<uint16_t>(i & 0x1FF);
                attr->last = (i & 7) == 7;
                gp.set_address(kVa + (uint64_t{i} << 12));
                gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
                dev->b_transport(gp, delay);
                if (!gp.is_response_ok())
                    throw std::runtime_error(std::string(name()) + ": page request refused");
            }
            // A whole queue's worth was written: the wrap bit toggled and nothing overflowed.
            const uint32_t prod = get(SMMU_PRIQ_PROD);
            if (prod != (prod_before ^ kBatch))
                throw std::runtime_error(std::string(name()) + ": page requests not all queued");
            set(SMMU_PRIQ_CONS, prod);
            count += kBatch;
            sc_core::wait(delay);
            delay = sc_core::SC_ZERO_TIME;
            elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        } while (elapsed < kSecondsPerFigure);
        return static_cast<double>(count) / elapsed;
    }

    // Runs 8-byte reads for about kSecondsPerFigure of host time; returns translations per second.
    // Commands through the command-queue process: batches of 31 TLBI_NH_VA and one CMD_SYNC, published with
    // one CMDQ_PROD write each, the driver polling CMDQ_CONS as Linux does.
    double measure_cmdq() {
        using Clock = std::chrono::steady_clock;
        const auto start = Clock::now();
        uint64_t count = 0;
        double elapsed = 0;
        do {
            for (unsigned i = 0; i < 31; ++i) {
                const uint64_t slot = kCmdq + ((cmdq_prod + i) & 31) * SMMU_CMD_SIZE;
                put64(slot, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NH_VA) |
                                SMMU_FIELD_PREP(SMMU_CMD0_ASID, i));
                put64(slot + 8, (kVa + 0x1000 * i) & SMMU_CMD1_VA);
            }
            const uint64_t sync = kCmdq + ((cmdq_prod + 31) & 31) * SMMU_CMD_SIZE;
            put64(sync, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC));
            put64(sync + 8, 0);
            cmdq_prod = (cmdq_prod + 32) & 63;
            set(SMMU_CMDQ_PROD, cmdq_prod);
            while ((get(SMMU_CMDQ_CONS) & 63) != cmdq_prod)
                sc_core::wait(100, sc_core::SC_NS);
            count += 32;
            elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        } while (elapsed < kSecondsPerFigure);
        if (smmu.counters().reg_errors != 0)
            throw std::runtime_error(std::string(name()) + ": register access errors");
        return static_cast<double>(count) / elapsed;
    }

    double measure() {
        if (mode == Mode::Pri)
            return measure_priq();
        if (mode == Mode::Cmdq)
            return measure_cmdq();
        const uint64_t addr = mode == Mode::Bypass ? kDataPa : kVa;
        uint8_t data[8] = {};
        tlm::tlm_generic_payload gp;
        vp::TxnAttr *attr = new vp::TxnAttr;
        attr->stream_id = kSid;
        if (mode == Mode::AtsTr)
            attr->at = vp::PcieAt::TranslationRequest;
        gp.set_extension(attr); // owned by gp from here on
        gp.set_command(tlm::TLM_READ_COMMAND);
        gp.set_data_ptr(data);
        gp.set_data_length(sizeof data);
        gp.set_streaming_width(sizeof data);
        using Clock = std::chrono::steady_clock;
        const uint64_t walk_reads_before = smmu.counters().mem_reads;
        const auto start = Clock::now();
        uint64_t count = 0;
        double elapsed = 0;
        sc_core::sc_time delay;
        do {
            for (unsigned i = 0; i < 20000; ++i) {
                gp.set_address(addr + (i & 0x1F8));
                gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
                dev->b_transport(gp, delay);
                if (!gp.is_response_ok())
                    throw std::runtime_error(std::string(name()) + ": upstream read failed");
                if (mode == Mode::AtsTr && (!attr->ats_valid || !attr->ats.read || !attr->ats.write))
                    throw std::runtime_error(std::string(name()) + ": translation request not granted");
            }
            count += 20000;
            // Let simulated time catch up now and then, as a quantum keeper would.
            sc_core::wait(delay);
            delay = sc_core::SC_ZERO_TIME;
            elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        } while (elapsed < kSecondsPerFigure);
        // The figure is only meaningful if each access did the work its name says.
        const double reads_per_access =
            static_cast<double>(smmu.counters().mem_reads - walk_reads_before) / count;
        const double expected = mode == Mode::Nested ? 24 : (walk ? 4 : 0);
        if (walk ? reads_per_access < expected : reads_per_access > 0.01)
            throw std::runtime_error(std::string(name()) + ": " + std::to_string(reads_per_access) +
                                     " table reads per access, expected " + std::to_string(expected));
        return static_cast<double>(count) / elapsed;
    }
};

vp::Smmuv3::Params without_tlb() {
    vp::Smmuv3::Params p = vp::Smmuv3::default_params();
    p.core.engine.tlb.sets = 0;
    p.core.engine.walk_cache.sets = 0;
    return p;
}

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
                std::printf("%s %.0f %s\n", r.first.c_str(), rate, unit.c_str());
                std::fflush(stdout);
            }
        } catch (const std::exception &e) {
            std::fprintf(stderr, "bench_smmu: %s\n", e.what());
            status = 1;
        }
        sc_core::sc_stop();
    }
};

} // namespace

// `bench_smmu [FILTER]`: only the figures whose name contains FILTER (for profiling one of them).
int sc_main(int argc, char **argv) {
    const std::string filter = argc > 1 ? argv[1] : "";
    try {
        System bypass("bypass", Mode::Bypass, vp::Smmuv3::default_params());
        System tlb_hit("tlb_hit", Mode::Stage1, vp::Smmuv3::default_params());
        System walk_s1("walk_s1", Mode::Stage1, without_tlb());
        System walk_nested("walk_nested", Mode::Nested, without_tlb());
        System priq("priq", Mode::Pri, vp::Smmuv3::default_params());
        System ats_tr("ats_tr", Mode::AtsTr, vp::Smmuv3::default_params());
        System cmdq("cmdq", Mode::Cmdq, vp::Smmuv3::default_params());
        Driver driver("driver");
        const std::pair<std::string, System *> all[] = {
            {"smmu.bypass.tps", &bypass},   {"smmu.tlb_hit.tps", &tlb_hit},
            {"smmu.walk_s1.tps", &walk_s1}, {"smmu.walk_nested.tps", &walk_nested},
            {"smmu.ats_tr.tps", &ats_tr},   {"smmu.priq.pps", &priq},
            {"smmu.cmdq.cps", &cmdq}};
        for (const auto &run : all) {
            if (run.first.find(filter) != std::string::npos)
                driver.runs.push_back(run);
        }
        sc_core::sc_start();
        return driver.status;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "bench_smmu: %s\n", e.what());
        return 1;
    }
}
