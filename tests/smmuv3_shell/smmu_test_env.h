// Test platform for the SMMU shell: RAM, the SMMU registers and the SMMU's own initiators behind a Router, a
// CPU initiator that programs the SMMU like a driver, a requester on the upstream socket and IRQ edge
// counters.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>

#include <gtest/gtest.h>

#include "memory.h"
#include "requester.h"
#include "router.h"
#include "smmu_regs.h"
#include "smmu_structs.h"
#include "smmuv3.h"
#include "test_initiator.h"

namespace vp_test {

constexpr uint64_t kRamBase = 0x40000000;
constexpr uint64_t kRamSize = 16u << 20;
constexpr uint64_t kSmmuBase = 0x09050000;
constexpr uint64_t kStrtab = kRamBase + 0x10000;
constexpr unsigned kStrtabLog2 = 4;
constexpr uint64_t kCmdq = kRamBase + 0x20000;
constexpr unsigned kCmdqLog2 = 5;
constexpr uint64_t kEvtq = kRamBase + 0x30000;
constexpr unsigned kEvtqLog2 = 5;
constexpr uint64_t kCdTable = kRamBase + 0x40000;
constexpr uint64_t kPageTables = kRamBase + 0x100000;

// Counts rising edges of a wired IRQ.
class EdgeCounter : public sc_core::sc_module {
  public:
    sc_core::sc_in<bool> in;
    unsigned rising = 0;
    sc_core::sc_time last_rise, last_fall;
    explicit EdgeCounter(sc_core::sc_module_name name) : sc_module(name), in("in") {
        SC_HAS_PROCESS(EdgeCounter);
        SC_METHOD(changed);
        sensitive << in;
        dont_initialize();
    }

  private:
    void changed() {
        if (in.read()) {
            ++rising;
            last_rise = sc_core::sc_time_stamp();
        } else {
            last_fall = sc_core::sc_time_stamp();
        }
    }
};

struct SmmuEnv {
    vp::Router router{"router"};
    vp::Memory ram{"ram", kRamSize};
    vp::Smmuv3 smmu;
    TestInitiator cpu{"cpu", nullptr};
    Requester dev;
    sc_core::sc_signal<bool> evtq_line{"evtq_line"}, priq_line{"priq_line"}, sync_line{"sync_line"},
        gerror_line{"gerror_line"};
    EdgeCounter evtq_edges{"evtq_edges"}, sync_edges{"sync_edges"}, gerror_edges{"gerror_edges"};
    uint32_t cmdq_prod = 0;
    uint64_t next_table = kPageTables;

    explicit SmmuEnv(Requester::Body body, const vp::Smmuv3::Params &params = vp::Smmuv3::default_params())
        : smmu("smmu", params), dev("dev", std::move(body)) {
        router.add_target(ram.socket, kRamBase, kRamSize, "ram");
        router.add_target(smmu.reg_socket, kSmmuBase, SMMU_REG_SPACE_SIZE, "smmu");
        cpu.socket.bind(router.target_socket);
        smmu.downstream_socket.bind(router.target_socket);
        smmu.own_access_socket.bind(router.target_socket);
        dev.socket.bind(smmu.upstream_socket);
        smmu.evtq_irq.bind(evtq_line);
        smmu.priq_irq.bind(priq_line);
        smmu.cmd_sync_irq.bind(sync_line);
        smmu.gerror_irq.bind(gerror_line);
        evtq_edges.in.bind(evtq_line);
        sync_edges.in.bind(sync_line);
        gerror_edges.in.bind(gerror_line);
    }

    // ---- memory backdoor ----
    uint8_t *at(uint64_t pa) { return ram.data() + (pa - kRamBase); }
    void put64(uint64_t pa, uint64_t value) {
        for (unsigned i = 0; i < 8; ++i)
            at(pa)[i] = static_cast<uint8_t>(value >> (8 * i));
    }
    uint64_t get64(uint64_t pa) {
        uint64_t value = 0;
        for (unsigned i = 0; i < 8; ++i)
            value |= uint64_t{at(pa)[i]} << (8 * i);
        return value;
    }

    // ---- registers (through the CPU's socket, as a driver would) ----
    uint32_t reg32(uint64_t off) { return cpu.read32(kSmmuBase + off); }
    void set32(uint64_t off, uint32_t v) { cpu.write32(kSmmuBase + off, v); }
    void set64(uint64_t off, uint64_t v) {
        EXPECT_EQ(cpu.write(kSmmuBase + off, v, 8), tlm::TLM_OK_RESPONSE);
    }
    void wait_ack(uint64_t ack_off, uint32_t expected) {
        for (int i = 0; i < 1000 && reg32(ack_off) != expected; ++i)
            sc_core::wait(10, sc_core::SC_NS);
        EXPECT_EQ(reg32(ack_off), expected) << "ack register 0x" << std::hex << ack_off;
    }

    // Queues, stream table and IRQs set up; SMMUEN as requested.
    void enable(bool smmuen = true) {
        set64(SMMU_STRTAB_BASE, kStrtab);
        set32(SMMU_STRTAB_BASE_CFG,
              static_cast<uint32_t>(SMMU_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT, 0) |
                                    SMMU_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, kStrtabLog2)));
        set64(SMMU_CMDQ_BASE, kCmdq | kCmdqLog2);
        set32(SMMU_CMDQ_PROD, 0);
        set32(SMMU_CMDQ_CONS, 0);
        set64(SMMU_EVENTQ_BASE, kEvtq | kEvtqLog2);
        set32(SMMU_EVENTQ_PROD, 0);
        set32(SMMU_EVENTQ_CONS, 0);
        const uint32_t irqs = SMMU_IRQ_CTRL_EVENTQ_IRQEN | SMMU_IRQ_CTRL_GERROR_IRQEN;
        set32(SMMU_IRQ_CTRL, irqs);
        wait_ack(SMMU_IRQ_CTRLACK, irqs);
        uint32_t cr0 = SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN;
        set32(SMMU_CR0, cr0);
        wait_ack(SMMU_CR0ACK, cr0);
        command(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE_RANGE),
                SMMU_FIELD_PREP(SMMU_CMD1_RANGE, SMMU_CFGI_RANGE_ALL));
        command(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NSNH_ALL), 0);
        sync();
        if (smmuen) {
            cr0 |= SMMU_CR0_SMMUEN;
            set32(SMMU_CR0, cr0);
            wait_ack(SMMU_CR0ACK, cr0);
        }
    }

    // Puts one command in the queue and publishes it; the core consumes it before the write returns.
    void command(uint64_t dw0, uint64_t dw1) {
        const uint32_t entries = 1u << kCmdqLog2;
        const uint64_t slot = kCmdq + (cmdq_prod & (entries - 1)) * SMMU_CMD_SIZE;
        put64(slot, dw0);
        put64(slot + 8, dw1);
        cmdq_prod = (cmdq_prod + 1) & ((entries << 1) - 1);
        set32(SMMU_CMDQ_PROD, cmdq_prod);
        for (int i = 0; i < 1000 && (reg32(SMMU_CMDQ_CONS) & SMMU_Q_PTR_MASK) != cmdq_prod; ++i)
            sc_core::wait(10, sc_core::SC_NS);
        EXPECT_EQ(reg32(SMMU_CMDQ_CONS), cmdq_prod) << "command queue consumed, no error";
    }
    void sync(bool irq = false) {
        command(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC) |
                    SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, irq ? SMMU_SYNC_CS_IRQ : SMMU_SYNC_CS_NONE),
                0);
    }
    void tlbi_va(uint16_t asid, uint64_t va) {
        command(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NH_VA) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, asid),
                va & SMMU_CMD1_VA);
        sync();
    }

    // ---- translation tables (4 KiB granule, 48-bit VA, 4 levels) ----
    uint64_t new_table() {
        const uint64_t t = next_table;
        next_table += 0x1000;
        std::memset(at(t), 0, 0x1000);
        return t;
    }
    uint64_t root = 0;
    // Maps one 4 KiB page; extra = descriptor bits beyond valid/page/AF (e.g. AP, XN).
    void map_page(uint64_t va, uint64_t pa, uint64_t extra = uint64_t{1} << 6) {
        if (!root)
            root = new_table();
        uint64_t table = root;
        for (int level = 0; level < 3; ++level) {
            const unsigned shift = 39 - 9 * level;
            const uint64_t slot = table + ((va >> shift) & 0x1FF) * 8;
            uint64_t desc = get64(slot);
            if (!(desc & 1)) {
                desc = new_table() | 3;
                put64(slot, desc);
            }
            table = desc & 0x0000FFFFFFFFF000;
        }
        put64(table + ((va >> 12) & 0x1FF) * 8,
              (pa & 0x0000FFFFFFFFF000) | 3 | (1u << 10) | (3u << 8) | extra);
    }

    // Stage-1 STE for `sid` using the CD at `cd`.
    void ste_s1(uint32_t sid, uint64_t cd) {
        const uint64_t ste = kStrtab + sid * SMMU_STE_SIZE;
        std::memset(at(ste), 0, SMMU_STE_SIZE);
        put64(ste + 8, SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING));
        put64(ste, SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_S1) |
                       (cd & SMMU_STE0_S1CTXPTR));
    }
    void ste_bypass(uint32_t sid) {
        const uint64_t ste = kStrtab + sid * SMMU_STE_SIZE;
        std::memset(at(ste), 0, SMMU_STE_SIZE);
        put64(ste, SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_BYPASS));
    }
    // A 48-bit, 4 KiB-granule CD with TTB0 = root; abort = CD.A (0: RAZ/WI on translation faults).
    void cd_s1(uint64_t cd, uint16_t asid, bool abort = true) {
        if (!root)
            root = new_table();
        std::memset(at(cd), 0, SMMU_CD_SIZE);
        put64(cd + 8, root & SMMU_CD1_TTB0);
        put64(cd + 24, 0xFF); // MAIR attr 0: Normal write-back
        put64(cd, SMMU_FIELD_PREP(SMMU_CD0_T0SZ, 16) | SMMU_FIELD_PREP(SMMU_CD0_TG0, SMMU_TG0_4K) |
                      SMMU_FIELD_PREP(SMMU_CD0_IR0, 1) | SMMU_FIELD_PREP(SMMU_CD0_OR0, 1) |
                      SMMU_FIELD_PREP(SMMU_CD0_SH0, 3) | SMMU_CD0_EPD1 | SMMU_CD0_V |
                      SMMU_FIELD_PREP(SMMU_CD0_IPS, 5) | SMMU_CD0_AA64 | SMMU_CD0_R |
                      (abort ? SMMU_CD0_A : 0) | SMMU_CD0_ASET | SMMU_FIELD_PREP(SMMU_CD0_ASID, asid));
    }

    // Event record `index` of the event queue.
    uint64_t event_dword(unsigned index, unsigned dword) {
        return get64(kEvtq + (index & ((1u << kEvtqLog2) - 1)) * SMMU_EVT_SIZE + dword * 8);
    }
};

inline vp::TxnAttr attr_for(uint32_t sid) {
    vp::TxnAttr a;
    a.stream_id = sid;
    return a;
}

} // namespace vp_test
