// GICv2 with one CPU interface and no Security Extensions (as QEMU virt with secure=off), plus a GICv2m MSI
// frame that turns 32-bit writes into SPIs.
#pragma once

#include <array>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "stats.h"
#include "timed.h"
#include "trace.h"

namespace vp {

class GicV2 : public sc_core::sc_module {
  public:
    tlm_utils::simple_target_socket<GicV2> dist_socket; // GICD, 64 KiB window
    tlm_utils::simple_target_socket<GicV2> cpu_socket;  // GICC, 64 KiB window (GICC_DIR at 0x1000)
    tlm_utils::simple_target_socket<GicV2> v2m_socket;  // GICv2m MSI frame, 4 KiB
    sc_core::sc_out<bool> irq_out;                      // nIRQ to the CPU, active high here

    static constexpr unsigned kNumSgis = 16;
    static constexpr unsigned kFirstPpi = 16;
    static constexpr unsigned kFirstSpi = 32;
    static constexpr unsigned kMaxIntids = 1020; // 1020..1023 are special
    static constexpr uint32_t kSpurious = 1023;

    // Distributor offsets.
    static constexpr uint64_t kGICD_CTLR = 0x000;
    static constexpr uint64_t kGICD_TYPER = 0x004;
    static constexpr uint64_t kGICD_IIDR = 0x008;
    static constexpr uint64_t kGICD_IGROUPR = 0x080;
    static constexpr uint64_t kGICD_ISENABLER = 0x100;
    static constexpr uint64_t kGICD_ICENABLER = 0x180;
    static constexpr uint64_t kGICD_ISPENDR = 0x200;
    static constexpr uint64_t kGICD_ICPENDR = 0x280;
    static constexpr uint64_t kGICD_ISACTIVER = 0x300;
    static constexpr uint64_t kGICD_ICACTIVER = 0x380;
    static constexpr uint64_t kGICD_IPRIORITYR = 0x400;
    static constexpr uint64_t kGICD_ITARGETSR = 0x800;
    static constexpr uint64_t kGICD_ICFGR = 0xC00;
    static constexpr uint64_t kGICD_SGIR = 0xF00;
    static constexpr uint64_t kGICD_CPENDSGIR = 0xF10;
    static constexpr uint64_t kGICD_SPENDSGIR = 0xF20;
    static constexpr uint64_t kGICD_PIDR2 = 0xFE8;
    // CPU interface offsets.
    static constexpr uint64_t kGICC_CTLR = 0x00;
    static constexpr uint64_t kGICC_PMR = 0x04;
    static constexpr uint64_t kGICC_BPR = 0x08;
    static constexpr uint64_t kGICC_IAR = 0x0C;
    static constexpr uint64_t kGICC_EOIR = 0x10;
    static constexpr uint64_t kGICC_RPR = 0x14;
    static constexpr uint64_t kGICC_HPPIR = 0x18;
    static constexpr uint64_t kGICC_ABPR = 0x1C;
    static constexpr uint64_t kGICC_AIAR = 0x20;
    static constexpr uint64_t kGICC_AEOIR = 0x24;
    static constexpr uint64_t kGICC_AHPPIR = 0x28;
    static constexpr uint64_t kGICC_IIDR = 0xFC;
    static constexpr uint64_t kGICC_DIR = 0x1000;
    // GICv2m frame offsets.
    static constexpr uint64_t kV2M_MSI_TYPER = 0x008;
    static constexpr uint64_t kV2M_MSI_SETSPI_NS = 0x040;
    static constexpr uint64_t kV2M_MSI_IIDR = 0xFCC;

    // GICC_CTLR bits used by the model.
    static constexpr uint32_t kCtlrEnableGrp0 = 1u << 0;
    static constexpr uint32_t kCtlrEnableGrp1 = 1u << 1;
    static constexpr uint32_t kCtlrCbpr = 1u << 4;
    static constexpr uint32_t kCtlrEoiMode = 1u << 9;

    // Throws std::invalid_argument when the INTIDs would not fit (32 + num_spis > 1020) or the v2m range lies
    // outside the SPIs.
    GicV2(sc_core::sc_module_name name, unsigned num_spis = 256, unsigned v2m_spi_base = 48,
          unsigned v2m_spi_count = 64);

    // Makes LINE drive SPI number SPI (INTID 32 + SPI). Call during elaboration. Throws std::invalid_argument
    // if the SPI does not exist or is already connected.
    void connect_spi(unsigned spi, sc_core::sc_signal<bool> &line);
    // Same for PPI number PPI (INTID 16 + PPI), e.g. a CPU timer.
    void connect_ppi(unsigned ppi, sc_core::sc_signal<bool> &line);
    // Direct line drive for tests and C++ devices; an SPI/PPI that does not exist is ignored (and counted).
    void set_spi_level(unsigned spi, bool level);
    void set_ppi_level(unsigned ppi, bool level);

    unsigned num_intids() const { return num_intids_; }
    bool is_pending(unsigned intid) const;
    bool is_active(unsigned intid) const;

    enum IntidClass { kSgi = 0, kPpi = 1, kSpi = 2, kNumClasses = 3 };
    uint64_t raised(IntidClass c) const { return raised_[c]; }
    uint64_t acknowledged(IntidClass c) const { return acknowledged_[c]; }
    uint64_t spurious_acknowledges() const { return spurious_; }
    uint64_t end_of_interrupts() const { return eois_; }
    uint64_t msi_accepted() const { return msi_accepted_; }
    uint64_t msi_ignored() const { return msi_ignored_; }
    uint64_t bad_accesses() const { return bad_accesses_; }
    // Registers the statistics as `PREFIX.name` (PREFIX: the module name when empty).
    void register_stats(Stats &stats, const std::string &prefix = "") const;
    // Text trace (docs/trace.md): interrupt line edges and GICv2m MSIs as lines of component "gic" (the
    // module name); nullptr turns it off.
    void set_trace(Trace *trace) { trace_ = trace; }
    // Adds the count of accepted GICv2m MSIs (msi_count), changing at each MSI's time.
    void trace(sc_core::sc_trace_file *tf);

  private:
    enum class Frame { kDistributor, kCpuInterface, kV2m };

    struct ActivePriority {
        unsigned intid;
        uint8_t group_priority;
    };

    void b_transport_dist(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay);
    void b_transport_cpu(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay);
    void b_transport_v2m(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay);
    unsigned int dbg_dist(tlm::tlm_generic_payload &trans);
    unsigned int dbg_cpu(tlm::tlm_generic_payload &trans);
    unsigned int dbg_v2m(tlm::tlm_generic_payload &trans);
    void access(Frame frame, tlm::tlm_generic_payload &trans, const sc_core::sc_time &delay);
    // A validated write of LEN (1, 2 or 4) bytes, applied at its annotated time.
    void apply_write(Frame frame, uint64_t offset, unsigned len, uint32_t value);
    unsigned int debug_read(Frame frame, tlm::tlm_generic_payload &trans);

    bool byte_accessible(uint64_t dist_offset) const;
    uint32_t read_dist(uint64_t offset) const;
    void write_dist(uint64_t offset, uint32_t value);
    uint8_t read_dist_byte(uint64_t offset) const;
    void write_dist_byte(uint64_t offset, uint8_t value);
    uint32_t read_cpu(uint64_t offset, bool side_effects);
    void write_cpu(uint64_t offset, uint32_t value);
    uint32_t read_v2m(uint64_t offset) const;
    void write_v2m(uint64_t offset, uint32_t value);

    uint32_t read_bits(uint64_t reg_index, bool (GicV2::*state)(unsigned) const) const;
    bool enabled_bit(unsigned intid) const { return enabled_[intid]; }
    bool group_bit(unsigned intid) const { return group1_[intid]; }
    bool active_bit(unsigned intid) const { return active_[intid]; }
    bool pending_bit(unsigned intid) const;

    void set_line(unsigned intid, bool level);
    void make_pending(unsigned intid);
    void connect_line(unsigned intid, sc_core::sc_signal<bool> &line, const std::string &process_name);
    uint8_t group_priority(unsigned intid) const;
    uint8_t running_priority() const;
    bool forwarded_by_distributor(unsigned intid) const;
    // Highest-priority pending, not active INTID the distributor forwards; if SIGNALLABLE, also passing the
    // CPU interface checks (group enable, PMR, running priority). kSpurious if none.
    unsigned highest_pending(bool signallable) const;
    uint32_t acknowledge();
    void end_of_interrupt(uint32_t value);
    void deactivate(uint32_t value);
    void update();
    void drive_irq();
    static IntidClass class_of(unsigned intid);

    unsigned num_intids_;
    unsigned v2m_first_intid_;
    unsigned v2m_count_;

    uint32_t dist_ctlr_ = 0;
    std::vector<bool> enabled_;
    std::vector<bool> group1_;
    std::vector<bool> latched_pending_; // pending state set by an edge, ISPENDR or an MSI
    std::vector<bool> line_level_;
    std::vector<bool> edge_triggered_;
    std::vector<bool> active_;
    std::vector<bool> line_connected_;
    std::vector<uint8_t> priority_;
    std::vector<uint8_t> targets_;
    std::array<uint8_t, kNumSgis> sgi_sources_{}; // pending SGIs: one bit per requesting CPU

    uint32_t cpu_ctlr_ = 0;
    uint32_t pmr_ = 0;
    uint32_t bpr_ = 0;
    uint32_t abpr_ = 1;
    std::vector<ActivePriority> active_priorities_; // acknowledged and not yet priority-dropped, oldest first

    sc_core::sc_event irq_changed_;
    TimedActions writes_;          // register writes and MSIs, each applied at its annotated time
    TimedWriter<bool> irq_writer_; // the only writer of irq_out
    Trace *trace_ = nullptr;
    TimedSignal<uint64_t> msi_count_{"msi_count"};

    std::array<uint64_t, kNumClasses> raised_{};
    std::array<uint64_t, kNumClasses> acknowledged_{};
    uint64_t spurious_ = 0;
    uint64_t eois_ = 0;
    uint64_t msi_accepted_ = 0;
    uint64_t msi_ignored_ = 0;
    uint64_t bad_accesses_ = 0;
    uint64_t ignored_line_changes_ = 0;
};

} // namespace vp
