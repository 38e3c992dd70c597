// sc_spawn needs dynamic processes enabled before SystemC is first included.
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "gicv2.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace vp {

namespace {

constexpr uint64_t kDistWindow = 0x10000;
constexpr uint64_t kCpuWindow = 0x10000;
constexpr uint64_t kV2mWindow = 0x1000;
constexpr uint32_t kDistIidr = 0x0200143B; // GIC-400 style: product 0x02, implementer Arm (0x43B)
constexpr uint32_t kCpuIidr = 0x0202143B;  // GIC-400 GICC_IIDR: architecture version 2
constexpr uint32_t kV2mIidr = 0x0000043B;  // implementer Arm
constexpr uint8_t kSingleCpuTarget = 0x01; // only CPU interface 0 exists
constexpr uint8_t kIdlePriority = 0xFF;
constexpr uint32_t kGicdCtlrMask = 0x3; // EnableGrp0, EnableGrp1
constexpr uint32_t kGiccCtlrMask = 0x7FF;
constexpr uint32_t kIntidMask = 0x3FF;

// GICv2 CoreSight-style identification registers at 0xFD0..0xFFC (PIDR4..7, PIDR0..3, CIDR0..3).
uint32_t dist_id_register(uint64_t offset) {
    switch (offset) {
    case 0xFD0:
        return 0x04;
    case 0xFE0:
        return 0x90;
    case 0xFE4:
        return 0xB4;
    case 0xFE8:
        return 0x2B; // ArchRev 2 in bits [7:4]
    case 0xFF0:
        return 0x0D;
    case 0xFF4:
        return 0xF0;
    case 0xFF8:
        return 0x05;
    case 0xFFC:
        return 0xB1;
    default:
        return 0;
    }
}

} // namespace

GicV2::GicV2(sc_core::sc_module_name name, unsigned num_spis, unsigned v2m_spi_base, unsigned v2m_spi_count)
    : sc_core::sc_module(name), dist_socket("dist_socket"), cpu_socket("cpu_socket"),
      v2m_socket("v2m_socket"), irq_out("irq_out"), writes_("writes"), irq_writer_(irq_out, "irq_out") {
    if (num_spis > kMaxIntids - kFirstSpi) {
        throw std::invalid_argument(std::string(this->name()) + ": num_spis must be at most " +
                                    std::to_string(kMaxIntids - kFirstSpi));
    }
    if (v2m_spi_base > num_spis || v2m_spi_count > num_spis - v2m_spi_base) {
        throw std::invalid_argument(std::string(this->name()) + ": the GICv2m SPI range " +
                                    std::to_string(v2m_spi_base) + "+" + std::to_string(v2m_spi_count) +
                                    " does not fit in " + std::to_string(num_spis) + " SPIs");
    }
    num_intids_ = kFirstSpi + num_spis;
    v2m_first_intid_ = kFirstSpi + v2m_spi_base;
    v2m_count_ = v2m_spi_count;

    enabled_.assign(num_intids_, false);
    group1_.assign(num_intids_, false);
    latched_pending_.assign(num_intids_, false);
    line_level_.assign(num_intids_, false);
    edge_triggered_.assign(num_intids_, false);
    active_.assign(num_intids_, false);
    line_connected_.assign(num_intids_, false);
    priority_.assign(num_intids_, 0);
    targets_.assign(num_intids_, 0);
    for (unsigned intid = 0; intid < kNumSgis; ++intid) {
        // SGIs are always enabled and edge-triggered, as in QEMU's GICv2.
        enabled_[intid] = true;
        edge_triggered_[intid] = true;
    }

    dist_socket.register_b_transport(this, &GicV2::b_transport_dist);
    cpu_socket.register_b_transport(this, &GicV2::b_transport_cpu);
    v2m_socket.register_b_transport(this, &GicV2::b_transport_v2m);
    dist_socket.register_transport_dbg(this, &GicV2::dbg_dist);
    cpu_socket.register_transport_dbg(this, &GicV2::dbg_cpu);
    v2m_socket.register_transport_dbg(this, &GicV2::dbg_v2m);

    SC_HAS_PROCESS(GicV2);
    SC_METHOD(drive_irq);
    sensitive << irq_changed_;
}

GicV2::IntidClass GicV2::class_of(unsigned intid) {
    if (intid < kFirstPpi) {
        return kSgi;
    }
    return intid < kFirstSpi ? kPpi : kSpi;
}

// ---------------------------------------------------------------------------------------------------------------
// Interrupt lines

void GicV2::connect_line(unsigned intid, sc_core::sc_signal<bool> &line, const std::string &process_name) {
    if (line_connected_[intid]) {
        throw std::invalid_argument(std::string(name()) + ": INTID " + std::to_string(intid) +
                                    " is already connected");
    }
    line_connected_[intid] = true;
    sc_core::sc_spawn_options options;
    options.spawn_method();
    options.set_sensitivity(&line.value_changed_event());
    // Not dont_initialize(): a line that is already high when simulation starts must be seen.
    sc_core::sc_spawn([this, intid, &line]() { set_line(intid, line.read()); }, process_name.c_str(),
                      &options);
}

void GicV2::connect_spi(unsigned spi, sc_core::sc_signal<bool> &line) {
    if (spi >= num_intids_ - kFirstSpi) {
        throw std::invalid_argument(std::string(name()) + ": SPI " + std::to_string(spi) +
                                    " does not exist (" + std::to_string(num_intids_ - kFirstSpi) + " SPIs)");
    }
    connect_line(kFirstSpi + spi, line, "spi_" + std::to_string(spi) + "_line");
}

void GicV2::connect_ppi(unsigned ppi, sc_core::sc_signal<bool> &line) {
    if (ppi >= kFirstSpi - kFirstPpi) {
        throw std::invalid_argument(std::string(name()) + ": PPI " + std::to_string(ppi) + " does not exist");
    }
    connect_line(kFirstPpi + ppi, line, "ppi_" + std::to_string(ppi) + "_line");
}

void GicV2::set_spi_level(unsigned spi, bool level) {
    if (spi >= num_intids_ - kFirstSpi) {
        ++ignored_line_changes_;
        return;
    }
    set_line(kFirstSpi + spi, level);
}

void GicV2::set_ppi_level(unsigned ppi, bool level) {
    if (ppi >= kFirstSpi - kFirstPpi) {
        ++ignored_line_changes_;
        return;
    }
    set_line(kFirstPpi + ppi, level);
}

void GicV2::set_line(unsigned intid, bool level) {
    const bool rising = level && !line_level_[intid];
    if (trace_ && level != line_level_[intid]) {
        char fields[48];
        std::snprintf(fields, sizeof fields, "intid=%u level=%d", intid, level ? 1 : 0);
        trace_->line(sc_core::sc_time_stamp(), name(), "irq", fields);
    }
    line_level_[intid] = level;
    if (rising) {
        ++raised_[class_of(intid)];
        if (edge_triggered_[intid]) {
            latched_pending_[intid] = true;
        }
    }
    update();
}

void GicV2::make_pending(unsigned intid) {
    ++raised_[class_of(intid)];
    if (intid < kNumSgis) {
        sgi_sources_[intid] |= 1u << 0; // the only requester is CPU 0
    } else {
        latched_pending_[intid] = true;
    }
}

bool GicV2::pending_bit(unsigned intid) const {
    if (intid < kNumSgis) {
        return sgi_sources_[intid] != 0;
    }
    // A level-sensitive interrupt stays pending while its line is asserted, whatever ICPENDR says.
    return latched_pending_[intid] || (!edge_triggered_[intid] && line_level_[intid]);
}

bool GicV2::is_pending(unsigned intid) const {
    return intid < num_intids_ && pending_bit(intid);
}
bool GicV2::is_active(unsigned intid) const {
    return intid < num_intids_ && active_[intid];
}

// ---------------------------------------------------------------------------------------------------------------
// Prioritisation

uint8_t GicV2::group_priority(unsigned intid) const {
    // Group 1 uses the aliased binary point unless CBPR makes BPR common to both groups; ABPR is one larger
    // in meaning, hence the different shift.
    const bool use_abpr = group1_[intid] && (cpu_ctlr_ & kCtlrCbpr) == 0;
    const unsigned shift = use_abpr ? abpr_ : bpr_ + 1;
    return static_cast<uint8_t>(priority_[intid] & (0xFFu << shift));
}

uint8_t GicV2::running_priority() const {
    return active_priorities_.empty() ? kIdlePriority : active_priorities_.back().group_priority;
}

bool GicV2::forwarded_by_distributor(unsigned intid) const {
    const uint32_t group_enable = group1_[intid] ? 2u : 1u;
    return (dist_ctlr_ & group_enable) != 0 && enabled_[intid] && pending_bit(intid) && !active_[intid];
}

unsigned GicV2::highest_pending(bool signallable) const {
    unsigned best = kSpurious;
    unsigned best_priority = 0x100;
    for (unsigned intid = 0; intid < num_intids_; ++intid) {
        if (!forwarded_by_distributor(intid) || priority_[intid] >= best_priority) {
            continue;
        }
        if (signallable) {
            const uint32_t group_enable = group1_[intid] ? kCtlrEnableGrp1 : kCtlrEnableGrp0;
            if ((cpu_ctlr_ & group_enable) == 0 || priority_[intid] >= pmr_ ||
                group_priority(intid) >= running_priority()) {
                continue;
            }
        }
        best = intid;
        best_priority = priority_[intid];
    }
    return best;
}

uint32_t GicV2::acknowledge() {
    const unsigned intid = highest_pending(true);
    if (intid == kSpurious) {
        ++spurious_;
        return kSpurious;
    }
    uint32_t value = intid;
    if (intid < kNumSgis) {
        // Report and clear the lowest-numbered requesting CPU; the SGI stays pending for any others.
        unsigned source = 0;
        while ((sgi_sources_[intid] & (1u << source)) == 0) {
            ++source;
        }
        sgi_sources_[intid] &= static_cast<uint8_t>(~(1u << source));
        value |= source << 10;
    } else {
        latched_pending_[intid] = false;
    }
    active_[intid] = true;
    active_priorities_.push_back(ActivePriority{intid, group_priority(intid)});
    ++acknowledged_[class_of(intid)];
    update();
    return value;
}

void GicV2::end_of_interrupt(uint32_t value) {
    const unsigned intid = value & kIntidMask;
    if (intid >= num_intids_) {
        return; // spurious and out-of-range IDs are ignored
    }
    auto it = std::find_if(active_priorities_.rbegin(), active_priorities_.rend(),
                           [intid](const ActivePriority &a) { return a.intid == intid; });
    if (it == active_priorities_.rend()) {
        return; // never acknowledged: nothing to drop
    }
    ++eois_;
    active_priorities_.erase(std::next(it).base());
    if ((cpu_ctlr_ & kCtlrEoiMode) == 0) {
        active_[intid] = false;
    }
    update();
}

void GicV2::deactivate(uint32_t value) {
    const unsigned intid = value & kIntidMask;
    if (intid >= num_intids_ || (cpu_ctlr_ & kCtlrEoiMode) == 0) {
        return;
    }
    active_[intid] = false;
    update();
}

void GicV2::update() {
    // Before the simulation starts, drive_irq's initialisation run computes the first level.
    const sc_core::sc_status status = sc_core::sc_get_status();
    if (status == sc_core::SC_ELABORATION || status == sc_core::SC_BEFORE_END_OF_ELABORATION ||
        status == sc_core::SC_END_OF_ELABORATION) {
        return;
    }
    irq_changed_.notify(sc_core::SC_ZERO_TIME);
}

void GicV2::drive_irq() {
    // Runs in the delta cycle after a state change, at the simulated time of that change.
    irq_writer_.write_at(sc_core::sc_time_stamp(), highest_pending(true) != kSpurious);
}

// ---------------------------------------------------------------------------------------------------------------
// Distributor registers

uint32_t GicV2::read_bits(uint64_t reg_index, bool (GicV2::*state)(unsigned) const) const {
    uint32_t value = 0;
    for (unsigned bit = 0; bit < 32; ++bit) {
        const uint64_t intid = reg_index * 32 + bit;
        if (intid < num_intids_ && (this->*state)(static_cast<unsigned>(intid))) {
            value |= 1u << bit;
        }
    }
    return value;
}

bool GicV2::byte_accessible(uint64_t offset) const {
    return (offset >= kGICD_IPRIORITYR && offset < kGICD_ICFGR) ||
           (offset >= kGICD_CPENDSGIR && offset < kGICD_SPENDSGIR + 0x10);
}

uint8_t GicV2::read_dist_byte(uint64_t offset) const {
    if (offset >= kGICD_IPRIORITYR && offset < kGICD_ITARGETSR) {
        const uint64_t intid = offset - kGICD_IPRIORITYR;
        return intid < num_intids_ ? priority_[intid] : 0;
    }
    if (offset >= kGICD_ITARGETSR && offset < kGICD_ICFGR) {
        const uint64_t intid = offset - kGICD_ITARGETSR;
        if (intid < kFirstSpi) {
            return kSingleCpuTarget; // SGIs and PPIs always target the reading CPU
        }
        return intid < num_intids_ ? targets_[intid] : 0;
    }
    if (offset >= kGICD_CPENDSGIR && offset < kGICD_SPENDSGIR + 0x10) {
        return sgi_sources_[offset & 0xF];
    }
    return 0;
}

void GicV2::write_dist_byte(uint64_t offset, uint8_t value) {
    if (offset >= kGICD_IPRIORITYR && offset < kGICD_ITARGETSR) {
        const uint64_t intid = offset - kGICD_IPRIORITYR;
        if (intid < num_intids_) {
            priority_[intid] = value;
        }
    } else if (offset >= kGICD_ITARGETSR && offset < kGICD_ICFGR) {
        const uint64_t intid = offset - kGICD_ITARGETSR;
        if (intid >= kFirstSpi && intid < num_intids_) {
            targets_[intid] = value & kSingleCpuTarget;
        }
    } else if (offset >= kGICD_CPENDSGIR && offset < kGICD_SPENDSGIR) {
        const unsigned sgi = offset & 0xF;
        sgi_sources_[sgi] &= static_cast<uint8_t>(~(value & kSingleCpuTarget));
    } else if (offset >= kGICD_SPENDSGIR && offset < kGICD_SPENDSGIR + 0x10) {
        const unsigned sgi = offset & 0xF;
        if (value & kSingleCpuTarget) {
            make_pending(sgi);
        }
    }
}

uint32_t GicV2::read_dist(uint64_t offset) const {
    if (byte_accessible(offset)) {
        uint32_t value = 0;
        for (unsigned i = 0; i < 4; ++i) {
            value |= uint32_t{read_dist_byte(offset + i)} << (8 * i);
        }
        return value;
    }
    if (offset == kGICD_CTLR) {
        return dist_ctlr_;
    }
    if (offset == kGICD_TYPER) {
        // ITLinesNumber: 32 * (N + 1) INTIDs; CPUNumber 0; no Security Extensions.
        return (num_intids_ + 31) / 32 - 1;
    }
    if (offset == kGICD_IIDR) {
        return kDistIidr;
    }
    if (offset >= kGICD_IGROUPR && offset < kGICD_ISENABLER) {
        return read_bits((offset - kGICD_IGROUPR) / 4, &GicV2::group_bit);
    }
    if (offset >= kGICD_ISENABLER && offset < kGICD_ISPENDR) {
        return read_bits((offset & 0x7F) / 4, &GicV2::enabled_bit);
    }
    if (offset >= kGICD_ISPENDR && offset < kGICD_ISACTIVER) {
        return read_bits((offset & 0x7F) / 4, &GicV2::pending_bit);
    }
    if (offset >= kGICD_ISACTIVER && offset < kGICD_IPRIORITYR) {
        return read_bits((offset & 0x7F) / 4, &GicV2::active_bit);
    }
    if (offset >= kGICD_ICFGR && offset < kGICD_ICFGR + 0x100) {
        uint32_t value = 0;
        for (unsigned field = 0; field < 16; ++field) {
            const uint64_t intid = (offset - kGICD_ICFGR) * 4 + field;
            if (intid < num_intids_ && edge_triggered_[intid]) {
                value |= 2u << (2 * field);
            }
        }
        return value;
    }
    if (offset >= 0xFD0) {
        return dist_id_register(offset);
    }
    return 0; // SGIR is write-only; reserved offsets read as zero
}

void GicV2::write_dist(uint64_t offset, uint32_t value) {
    if (byte_accessible(offset)) {
        for (unsigned i = 0; i < 4; ++i) {
            write_dist_byte(offset + i, static_cast<uint8_t>(value >> (8 * i)));
        }
        return;
    }
    if (offset == kGICD_CTLR) {
        dist_ctlr_ = value & kGicdCtlrMask;
        return;
    }
    if (offset == kGICD_SGIR) {
        const unsigned sgi = value & 0xF;
        const unsigned filter = (value >> 24) & 0x3;
        const unsigned target_list = (value >> 16) & 0xFF;
        // Filter 0b00 uses the list, 0b01 means every CPU but the requester (none: CPU 0 is alone),
        // 0b10 means the requester itself, 0b11 is reserved and does nothing.
        if ((filter == 0 && (target_list & kSingleCpuTarget) != 0) || filter == 2) {
            make_pending(sgi);
        }
        return;
    }
    const uint64_t first_intid = ((offset & 0x7F) / 4) * 32;
    auto for_each_set_bit = [&](auto &&action) {
        for (unsigned bit = 0; bit < 32; ++bit) {
            const uint64_t intid = first_intid + bit;
            if ((value & (1u << bit)) != 0 && intid < num_intids_) {
                action(static_cast<unsigned>(intid));
            }
        }
    };
    if (offset >= kGICD_IGROUPR && offset < kGICD_ISENABLER) {
        for (unsigned bit = 0; bit < 32; ++bit) {
            const uint64_t intid = first_intid + bit;
            if (intid < num_intids_) {
                group1_[intid] = (value >> bit) & 1;
            }
        }
    } else if (offset >= kGICD_ISENABLER && offset < kGICD_ICENABLER) {
        for_each_set_bit([&](unsigned intid) { enabled_[intid] = true; });
    } else if (offset >= kGICD_ICENABLER && offset < kGICD_ISPENDR) {
        for_each_set_bit([&](unsigned intid) {
            if (intid >= kNumSgis) { // SGIs cannot be disabled
                enabled_[intid] = false;
            }
        });
    } else if (offset >= kGICD_ISPENDR && offset < kGICD_ICPENDR) {
        for_each_set_bit([&](unsigned intid) {
            if (intid >= kNumSgis) { // SGI pending state is set through SGIR/SPENDSGIR only
                make_pending(intid);
            }
        });
    } else if (offset >= kGICD_ICPENDR && offset < kGICD_ISACTIVER) {
        for_each_set_bit([&](unsigned intid) {
            if (intid >= kNumSgis) {
                latched_pending_[intid] = false;
            }
        });
    } else if (offset >= kGICD_ISACTIVER && offset < kGICD_ICACTIVER) {
        for_each_set_bit([&](unsigned intid) { active_[intid] = true; });
    } else if (offset >= kGICD_ICACTIVER && offset < kGICD_IPRIORITYR) {
        for_each_set_bit([&](unsigned intid) { active_[intid] = false; });
    } else if (offset >= kGICD_ICFGR + 4 && offset < kGICD_ICFGR + 0x100) {
        // ICFGR0 (SGIs) is read-only; for the rest only the odd bit of each field (edge) is writable.
        for (unsigned field = 0; field < 16; ++field) {
            const uint64_t intid = (offset - kGICD_ICFGR) * 4 + field;
            if (intid < num_intids_) {
                edge_triggered_[intid] = (value >> (2 * field + 1)) & 1;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// CPU interface and GICv2m registers

uint32_t GicV2::read_cpu(uint64_t offset, bool side_effects) {
    switch (offset) {
    case kGICC_CTLR:
        return cpu_ctlr_;
    case kGICC_PMR:
        return pmr_;
    case kGICC_BPR:
        return bpr_;
    case kGICC_IAR:
        return side_effects ? acknowledge() : highest_pending(true);
    case kGICC_RPR:
        return running_priority();
    case kGICC_HPPIR:
        return highest_pending(false);
    case kGICC_ABPR:
        return abpr_;
    case kGICC_AIAR:
    case kGICC_AHPPIR:
        return kSpurious; // the aliased (Non-secure) view has nothing to offer without Security Extensions
    case kGICC_IIDR:
        return kCpuIidr;
    default:
        return 0; // EOIR, AEOIR and DIR are write-only; APRs and reserved offsets read as zero
    }
}

void GicV2::write_cpu(uint64_t offset, uint32_t value) {
    switch (offset) {
    case kGICC_CTLR:
        cpu_ctlr_ = value & kGiccCtlrMask;
        break;
    case kGICC_PMR:
        pmr_ = value & 0xFF;
        break;
    case kGICC_BPR:
        bpr_ = value & 0x7;
        break;
    case kGICC_ABPR:
        abpr_ = std::max<uint32_t>(value & 0x7, 1); // ABPR's minimum is one more than BPR's
        break;
    case kGICC_EOIR:
        end_of_interrupt(value);
        break;
    case kGICC_DIR:
        deactivate(value);
        break;
    default:
        break; // read-only, aliased and reserved offsets ignore writes
    }
    update();
}

uint32_t GicV2::read_v2m(uint64_t offset) const {
    switch (offset) {
    case kV2M_MSI_TYPER:
        return (v2m_first_intid_ << 16) | v2m_count_;
    case kV2M_MSI_IIDR:
        return kV2mIidr;
    default:
        return 0;
    }
}

void GicV2::trace(sc_core::sc_trace_file *tf) {
    sc_core::sc_trace(tf, msi_count_, msi_count_.name());
}

void GicV2::write_v2m(uint64_t offset, uint32_t value) {
    if (offset != kV2M_MSI_SETSPI_NS) {
        return;
    }
    if (value < v2m_first_intid_ || value - v2m_first_intid_ >= v2m_count_) {
        ++msi_ignored_;
        return;
    }
    ++msi_accepted_;
    msi_count_.change_at(sc_core::sc_time_stamp(), msi_accepted_);
    if (trace_) {
        char fields[32];
        std::snprintf(fields, sizeof fields, "intid=%u", value);
        trace_->line(sc_core::sc_time_stamp(), name(), "msi", fields);
    }
    // An MSI is an event, so it latches pending whatever ICFGR says about the SPI.
    make_pending(value);
    update();
}

// ---------------------------------------------------------------------------------------------------------------
// TLM plumbing

void GicV2::access(Frame frame, tlm::tlm_generic_payload &trans, const sc_core::sc_time &delay) {
    const uint64_t offset = trans.get_address();
    const unsigned int len = trans.get_data_length();
    uint8_t *const ptr = trans.get_data_ptr();
    const tlm::tlm_command cmd = trans.get_command();
    const uint64_t window = frame == Frame::kDistributor    ? kDistWindow
                            : frame == Frame::kCpuInterface ? kCpuWindow
                                                            : kV2mWindow;
    if (cmd == tlm::TLM_IGNORE_COMMAND) {
        trans.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    if (offset >= window || len > window - offset) {
        ++bad_accesses_;
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    if (trans.get_byte_enable_ptr() != nullptr) {
        ++bad_accesses_;
        trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
        return;
    }
    // Every register takes aligned 32-bit accesses; the distributor's byte-wide arrays also take aligned 8-
    // and 16-bit ones. Anything else answers with a bus error rather than guessing.
    const bool narrow_ok = frame == Frame::kDistributor && byte_accessible(offset) && (len == 1 || len == 2);
    if (ptr == nullptr || (len != 4 && !narrow_ok) || offset % len != 0 ||
        trans.get_streaming_width() < len) {
        ++bad_accesses_;
        trans.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }

    if (cmd == tlm::TLM_READ_COMMAND) {
        uint32_t value = 0;
        if (len != 4) {
            for (unsigned int i = 0; i < len; ++i) {
                value |= uint32_t{read_dist_byte(offset + i)} << (8 * i);
            }
        } else if (frame == Frame::kDistributor) {
            value = read_dist(offset);
        } else if (frame == Frame::kCpuInterface) {
            value = read_cpu(offset, true);
        } else {
            value = read_v2m(offset);
        }
        for (unsigned int i = 0; i < len; ++i) {
            ptr[i] = static_cast<uint8_t>(value >> (8 * i));
        }
    } else {
        uint32_t value = 0;
        for (unsigned int i = 0; i < len; ++i) {
            value |= uint32_t{ptr[i]} << (8 * i);
        }
        // The write takes effect at its annotated time, in time order with line changes and other writes:
        // an MSI or an EOI from an initiator running ahead changes the pending state and irq_out then.
        writes_.after(delay, [this, frame, offset, len, value]() { apply_write(frame, offset, len, value); });
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

void GicV2::apply_write(Frame frame, uint64_t offset, unsigned len, uint32_t value) {
    if (len != 4) {
        for (unsigned int i = 0; i < len; ++i) {
            write_dist_byte(offset + i, static_cast<uint8_t>(value >> (8 * i)));
        }
    } else if (frame == Frame::kDistributor) {
        write_dist(offset, value);
    } else if (frame == Frame::kCpuInterface) {
        write_cpu(offset, value);
    } else {
        write_v2m(offset, value);
    }
    update();
}

unsigned int GicV2::debug_read(Frame frame, tlm::tlm_generic_payload &trans) {
    // Debug reads never acknowledge anything; debug writes are refused because most writes have side effects.
    if (trans.get_command() != tlm::TLM_READ_COMMAND || trans.get_data_ptr() == nullptr) {
        return 0;
    }
    const uint64_t window = frame == Frame::kV2m ? kV2mWindow : kDistWindow;
    const uint64_t offset = trans.get_address();
    unsigned int done = 0;
    for (; done < trans.get_data_length() && offset + done < window; ++done) {
        const uint64_t byte_offset = offset + done;
        const uint64_t word = byte_offset & ~uint64_t{3};
        uint32_t value = 0;
        if (frame == Frame::kDistributor) {
            value = read_dist(word);
        } else if (frame == Frame::kCpuInterface) {
            value = read_cpu(word, false);
        } else {
            value = read_v2m(word);
        }
        trans.get_data_ptr()[done] = static_cast<uint8_t>(value >> (8 * (byte_offset & 3)));
    }
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
    return done;
}

void GicV2::b_transport_dist(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay) {
    access(Frame::kDistributor, trans, delay);
}
void GicV2::b_transport_cpu(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay) {
    access(Frame::kCpuInterface, trans, delay);
}
void GicV2::b_transport_v2m(tlm::tlm_generic_payload &trans, sc_core::sc_time &delay) {
    access(Frame::kV2m, trans, delay);
}
unsigned int GicV2::dbg_dist(tlm::tlm_generic_payload &trans) {
    return debug_read(Frame::kDistributor, trans);
}
unsigned int GicV2::dbg_cpu(tlm::tlm_generic_payload &trans) {
    return debug_read(Frame::kCpuInterface, trans);
}
unsigned int GicV2::dbg_v2m(tlm::tlm_generic_payload &trans) {
    return debug_read(Frame::kV2m, trans);
}

void GicV2::register_stats(Stats &stats, const std::string &prefix) const {
    const std::string p = (prefix.empty() ? std::string(name()) : prefix) + ".";
    static const char *const kClassNames[kNumClasses] = {"sgi", "ppi", "spi"};
    for (unsigned c = 0; c < kNumClasses; ++c) {
        stats.counter(p + "raised_" + kClassNames[c], &raised_[c]);
        stats.counter(p + "acknowledged_" + kClassNames[c], &acknowledged_[c]);
    }
    stats.counter(p + "spurious_acknowledges", &spurious_);
    stats.counter(p + "end_of_interrupts", &eois_);
    stats.counter(p + "msi_accepted", &msi_accepted_);
    stats.counter(p + "msi_ignored", &msi_ignored_);
    stats.counter(p + "bad_accesses", &bad_accesses_);
    stats.counter(p + "ignored_line_changes", &ignored_line_changes_);
}

} // namespace vp
