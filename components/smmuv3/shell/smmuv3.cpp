#include "smmuv3.h"

#include "reg_access.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <stdexcept>

namespace vp {

using sc_core::sc_time;

namespace {

// Register offsets whose writes can change how transactions translate, so DMI handed out upstream must go.
constexpr uint64_t kRegCr0 = 0x20;
constexpr uint64_t kRegCr0Ack = 0x24;
constexpr uint64_t kRegCr2 = 0x2C;
constexpr uint64_t kRegGbpa = 0x44;
constexpr uint64_t kRegStrtabBase = 0x80;
constexpr uint64_t kRegStrtabBaseCfg = 0x88;
// Queue pointers shown as trace signals.
constexpr uint64_t kRegCmdqProd = 0x98;
constexpr uint64_t kRegCmdqCons = 0x9C;
constexpr uint64_t kRegEvtqProd = 0x100A8;
constexpr uint64_t kRegEvtqCons = 0x100AC;
constexpr uint64_t kRegPriqProd = 0x100C8;
constexpr uint64_t kRegPriqCons = 0x100CC;

constexpr unsigned kMinPageShift = 12; // the smallest translation granule: no translation is smaller

// Event numbers that decide how an abort is answered (SMMUv3 event record types).
constexpr uint8_t kEventWalkEabt = 0x0B;    // F_WALK_EABT
constexpr uint8_t kEventTranslation = 0x10; // F_TRANSLATION
constexpr uint8_t kEventPermission = 0x13;  // F_PERMISSION (0x10..0x13: translation-related faults)

bool is_translation_fault(uint8_t event_id) {
    return event_id >= kEventTranslation && event_id <= kEventPermission;
}

uint64_t span_mask_of(uint8_t size_shift) {
    unsigned shift = std::max<unsigned>(size_shift, kMinPageShift);
    return shift >= 64 ? ~uint64_t{0} : (uint64_t{1} << shift) - 1;
}

enum LastResult : uint32_t { kResultOk = 0, kResultAbort = 1, kResultRazWi = 2, kResultError = 3 };

// A simulated time in whole picoseconds, as the text trace prints it.
uint64_t ps_of(const sc_time &t) {
    return static_cast<uint64_t>(std::llround(t.to_seconds() * 1e12));
}

} // namespace

// Marks the core as busy for the duration of one core call: traffic the core's own accesses cause (an MSI
// aimed at the SMMU's registers, a walk looping back upstream) must not re-enter it. Only the core call
// itself is covered, never a wait, so transactions of other processes are never refused.
class Smmuv3::CoreCall {
  public:
    explicit CoreCall(Smmuv3 &owner) : owner_(owner) { ++owner_.core_depth_; }
    ~CoreCall() { --owner_.core_depth_; }
    CoreCall(const CoreCall &) = delete;
    CoreCall &operator=(const CoreCall &) = delete;

  private:
    Smmuv3 &owner_;
};

const smmu_host_ops Smmuv3::host_ops_ = {
    [](void *ctx, smmu_call *call, smmu_mem_kind kind, uint64_t pa, void *buf, unsigned len,
       const smmu_mem_attrs *) {
        return static_cast<Smmuv3 *>(ctx)->mem_access(call, kind, pa, buf, len, false);
    },
    [](void *ctx, smmu_call *call, smmu_mem_kind kind, uint64_t pa, const void *buf, unsigned len,
       const smmu_mem_attrs *) {
        return static_cast<Smmuv3 *>(ctx)->mem_access(call, kind, pa, const_cast<void *>(buf), len, true);
    },
    // Atomic by construction: SystemC processes are not preempted, and neither this code nor an LT target's
    // b_transport calls wait() between the read and the write, so no other process can touch the descriptor
    // in between. (A target that waits inside b_transport would break this; the project's memory does not.)
    [](void *ctx, smmu_call *call, uint64_t pa, uint64_t expected, uint64_t desired, uint64_t *observed,
       const smmu_mem_attrs *) {
        auto *self = static_cast<Smmuv3 *>(ctx);
        ++self->counters_.mem_cas;
        uint8_t bytes[8];
        if (!self->mem_access(call, SMMU_MEM_TT, pa, bytes, 8, false))
            return false;
        uint64_t old = 0;
        for (unsigned i = 0; i < 8; ++i)
            old |= uint64_t{bytes[i]} << (8 * i);
        *observed = old;
        if (old != expected)
            return true;
        for (unsigned i = 0; i < 8; ++i)
            bytes[i] = static_cast<uint8_t>(desired >> (8 * i));
        return self->mem_access(call, SMMU_MEM_TT, pa, bytes, 8, true);
    },
    [](void *ctx, smmu_call *call, smmu_irq_line line, bool level) {
        static_cast<Smmuv3 *>(ctx)->irq_set(call, line, level);
    },
    [](void *ctx, smmu_call *call, uint64_t ps) { static_cast<Smmuv3 *>(ctx)->advance(call, ps); },
    [](void *ctx, smmu_call *) { static_cast<Smmuv3 *>(ctx)->invalidate_upstream_dmi(); },
    [](void *ctx, smmu_call *call, const char *kind, const char *fields) {
        static_cast<Smmuv3 *>(ctx)->trace_line(call, kind, fields);
    },
    [](void *ctx, smmu_call *call, const smmu_msg *msg) {
        return static_cast<Smmuv3 *>(ctx)->send_message(call, *msg);
    },
    [](void *, smmu_call *call) { return ps_of(Smmuv3::now_with_delay(call)); },
    [](void *ctx, smmu_call *call) { static_cast<Smmuv3 *>(ctx)->cmdq_kick(call); },
    [](void *ctx, smmu_call *call, uint32_t sid, uint16_t stag, smmu_stall_action) {
        static_cast<Smmuv3 *>(ctx)->stall_resolved(call, sid, stag);
    },
};

Smmuv3::Params Smmuv3::default_params() {
    Params p;
    smmu_params_default(&p.core);
    p.irq_pulse_width = sc_time(1, sc_core::SC_NS);
    return p;
}

static const Smmuv3::Params &validated(const Smmuv3::Params &p) {
    char reason[256] = "";
    if (!smmu_params_validate(&p.core, reason, sizeof reason))
        throw std::invalid_argument(std::string("invalid SMMUv3 parameters: ") + reason);
    if (p.irq_pulse_width == sc_core::SC_ZERO_TIME)
        throw std::invalid_argument("invalid SMMUv3 parameters: the IRQ pulse width must be greater than 0");
    return p;
}

Smmuv3::Smmuv3(sc_core::sc_module_name name, const Params &params)
    : sc_module(name), reg_socket("reg_socket"), upstream_socket("upstream_socket"),
      downstream_socket("downstream_socket"), own_access_socket("own_access_socket"),
      message_socket("message_socket"), evtq_irq("evtq_irq"), priq_irq("priq_irq"),
      cmd_sync_irq("cmd_sync_irq"), gerror_irq("gerror_irq"), params_(validated(params)),
      cmdq_prod_("cmdq_prod"), cmdq_cons_("cmdq_cons"), evtq_prod_("evtq_prod"), evtq_cons_("evtq_cons"),
      priq_prod_("priq_prod"), priq_cons_("priq_cons"), tlb_hits_("tlb_hits"), tlb_misses_("tlb_misses"),
      last_sid_("last_sid"), last_ssid_("last_ssid"), last_result_("last_result"), last_addr_("last_addr"),
      last_pa_("last_pa"), upstream_count_("upstream_count"), smmuen_("smmuen"), cr0ack_("cr0ack"),
      msi_count_("msi_count"), stalled_("stalled"), walk_stage_("walk_stage"), walk_level_("walk_level"),
      walk_cache_hits_("walk_cache_hits"), walk_cache_misses_("walk_cache_misses"),
      config_cache_hits_("config_cache_hits"), config_cache_misses_("config_cache_misses") {
    for (unsigned i = 0; i < kTracedPorts; ++i)
        port_signals_.push_back(std::make_unique<PortSignals>(i));
    core_ = smmu_create(&params_.core, &host_ops_, this);
    if (!core_)
        throw std::invalid_argument("invalid SMMUv3 parameters: the core refused them");

    // Picoseconds map onto sc_time values directly when the resolution is 1 ps (the default), which keeps
    // host->advance cheap on the translation hot path.
    ps_is_time_unit_ = sc_core::sc_get_time_resolution() == sc_time(1, sc_core::SC_PS);

    reg_socket.register_b_transport(this, &Smmuv3::reg_b_transport);
    reg_socket.register_transport_dbg(this, &Smmuv3::reg_transport_dbg);
    upstream_socket.register_b_transport(this, &Smmuv3::upstream_b_transport);
    upstream_socket.register_get_direct_mem_ptr(this, &Smmuv3::upstream_get_dmi);
    upstream_socket.register_transport_dbg(this, &Smmuv3::upstream_transport_dbg);
    downstream_socket.register_invalidate_direct_mem_ptr(this, &Smmuv3::downstream_invalidate);
    own_access_socket.register_invalidate_direct_mem_ptr(this, &Smmuv3::walk_invalidate);

    irq_writers_[SMMU_IRQ_EVTQ] = std::make_unique<TimedWriter<bool>>(evtq_irq, "evtq_irq");
    irq_writers_[SMMU_IRQ_PRIQ] = std::make_unique<TimedWriter<bool>>(priq_irq, "priq_irq");
    irq_writers_[SMMU_IRQ_CMD_SYNC] = std::make_unique<TimedWriter<bool>>(cmd_sync_irq, "cmd_sync_irq");
    irq_writers_[SMMU_IRQ_GERROR] = std::make_unique<TimedWriter<bool>>(gerror_irq, "gerror_irq");

    cmd_time_ = sc_time(static_cast<double>(params_.core.cmd_ps), sc_core::SC_PS);
    SC_THREAD(cmdq_thread);
}

Smmuv3::PortSignals::PortSignals(unsigned index)
    : sid(("port" + std::to_string(index) + "_sid").c_str()),
      ssid(("port" + std::to_string(index) + "_ssid").c_str()),
      rw(("port" + std::to_string(index) + "_rw").c_str()),
      result(("port" + std::to_string(index) + "_result").c_str()),
      addr(("port" + std::to_string(index) + "_addr").c_str()) {}

Smmuv3::~Smmuv3() {
    smmu_destroy(core_);
}

// ---------------------------------------------------------------------------------------------------------------
// Upstream: DMA masters.

void Smmuv3::upstream_b_transport(int port, tlm::tlm_generic_payload &gp, sc_time &delay) {
    const bool stall_capable = port >= 0 && port < 32 && ((params_.stall_capable_ports >> port) & 1u) != 0;
    const bool traced_port = trace_signals_on_ && port >= 0 && static_cast<unsigned>(port) < kTracedPorts;
    if (traced_port) {
        PortSignals &p = *port_signals_[port];
        const TxnAttr *attr = TxnAttr::of(gp);
        const sc_time at = sc_core::sc_time_stamp() + delay;
        p.sid.change_at(at, attr ? attr->stream_id : 0);
        p.ssid.change_at(at, attr && attr->ssv ? attr->substream_id : 0);
        p.addr.change_at(at, gp.get_address());
        p.rw.change_at(at, gp.is_write() ? 1 : 0);
        p.result.change_at(at, kPortBusy);
    }
    upstream_transport(port, gp, delay, stall_capable);
    if (trace_signals_on_)
        sample_upstream(sc_core::sc_time_stamp() + delay);
    if (traced_port) {
        // Only translated memory requests set last_result_value_; messages and ATS requests answer by status.
        const TxnAttr *attr = TxnAttr::of(gp);
        const bool translated =
            attr && attr->kind == TxnKind::Memory && attr->at != PcieAt::TranslationRequest;
        uint32_t result = gp.get_response_status() == tlm::TLM_OK_RESPONSE ? kPortOk : kPortError;
        if (translated && last_result_value_ == kResultAbort)
            result = kPortFault;
        else if (translated && last_result_value_ == kResultRazWi)
            result = kPortRazWi;
        port_state(port, sc_core::sc_time_stamp() + delay, result);
    }
}

void Smmuv3::port_state(int port, const sc_time &at, uint32_t result) {
    if (trace_signals_on_ && port >= 0 && static_cast<unsigned>(port) < kTracedPorts)
        port_signals_[port]->result.change_at(at, result);
}

void Smmuv3::upstream_transport(int port, tlm::tlm_generic_payload &gp, sc_time &delay, bool stall_capable) {
    ++counters_.upstream_transactions;
    TxnAttr *attr = TxnAttr::of(gp);
    if (!attr) {
        ++counters_.upstream_missing_attr;
        if (!missing_attr_reported_) {
            missing_attr_reported_ = true;
            SC_REPORT_WARNING(name(),
                              "upstream transaction without vp::TxnAttr: platform configuration error "
                              "(answered with TLM_GENERIC_ERROR_RESPONSE; reported once)");
        }
        gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        last_result_value_ = kResultError;
        return;
    }
    if (core_depth_ != 0) {
        // Traffic caused by the SMMU's own accesses looping back to its upstream port: the core is not
        // re-entrant.
        ++counters_.upstream_unsupported;
        gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }
    smmu_call call{&delay};
    if (attr->kind != TxnKind::Memory) {
        receive_message(&call, *attr, gp);
        return;
    }
    if (attr->at == PcieAt::TranslationRequest) {
        answer_ats_request(&call, *attr, gp);
        return;
    }
    translate_request(&call, *attr, gp, stall_capable, port);
}

void Smmuv3::translate_request(smmu_call *call, const TxnAttr &attr, tlm::tlm_generic_payload &gp,
                               bool stall_capable, int port) {
    const uint64_t addr = gp.get_address();
    unsigned char *const data = gp.get_data_ptr();
    const unsigned len = gp.get_data_length();
    const unsigned width = gp.get_streaming_width();
    unsigned char *const be = gp.get_byte_enable_ptr();
    const unsigned be_len = gp.get_byte_enable_length();
    const bool is_write = gp.is_write();
    // A streaming burst stays within its streaming window: translate that window, not the whole length.
    const unsigned span_len = (width != 0 && width < len) ? width : len;
    counters_.upstream_bytes += len;

    smmu_txn txn;
    txn.sid = attr.stream_id;
    txn.ssid = attr.substream_id;
    txn.ssv = attr.ssv;
    txn.secure = attr.security == SecurityState::Secure;
    txn.acc.write = is_write;
    txn.acc.exec = attr.exec && !is_write;
    txn.acc.priv = attr.priv;
    txn.at = attr.at == PcieAt::Translated ? SMMU_AT_TRANSLATED : SMMU_AT_UNTRANSLATED;
    txn.no_write = attr.no_write;
    txn.stall_capable = stall_capable;

    last_sid_value_ = attr.stream_id;
    last_ssid_value_ = attr.ssv ? attr.substream_id : 0;
    last_addr_value_ = addr;

    smmu_result res;
    tlm::tlm_response_status status = tlm::TLM_OK_RESPONSE;
    bool dmi_hint = true;
    unsigned done = 0;
    uint32_t result_kind = kResultOk;
    bool retried = false;
    do {
        const uint64_t cur = addr + done;
        const unsigned remaining = span_len - done;
        const uint64_t to_page_end =
            (uint64_t{1} << kMinPageShift) - (cur & ((uint64_t{1} << kMinPageShift) - 1));
        txn.addr = cur;
        txn.len = static_cast<uint32_t>(std::min<uint64_t>(remaining, to_page_end));
        {
            CoreCall busy(*this);
            smmu_translate(core_, call, &txn, &res);
        }
        if (done != 0 && !retried)
            ++counters_.upstream_splits;
        retried = false;
        if (res.status == SMMU_XLATE_STALLED) {
            ++counters_.upstream_stalls;
            port_state(port, now_with_delay(call), kPortStalled);
            const smmu_stall_action action = wait_for_stall(call, txn.sid, res.stag);
            port_state(port, now_with_delay(call), kPortBusy);
            switch (action) {
            case SMMU_STALL_RETRY:
                // A new transaction as far as the SMMU is concerned: new configuration and translations
                // apply.
                ++counters_.upstream_stall_retries;
                retried = true;
                continue;
            case SMMU_STALL_RAZ_WI:
                res.status = SMMU_XLATE_RAZ_WI;
                break;
            default:
                res.status = SMMU_XLATE_ABORT;
                break;
            }
        }

        const uint64_t mask = span_mask_of(res.size_shift);
        const uint64_t to_span_end = mask - (cur & mask) + 1; // 0 when the span is the whole 64-bit space
        const unsigned piece =
            (to_span_end == 0 || to_span_end >= remaining) ? remaining : static_cast<unsigned>(to_span_end);
        if (done == 0)
            last_pa_value_ = res.pa;

        if (res.status == SMMU_XLATE_ABORT) {
            ++counters_.upstream_aborts;
            // Translation faults and walk external aborts name an address problem; configuration errors,
            // stream aborts and GBPA.ABORT are the stream being refused as a whole.
            status = (is_translation_fault(res.event_id) || res.event_id == kEventWalkEabt)
                         ? tlm::TLM_ADDRESS_ERROR_RESPONSE
                         : tlm::TLM_GENERIC_ERROR_RESPONSE;
            result_kind = kResultAbort;
            dmi_hint = false;
            break;
        }
        if (res.status == SMMU_XLATE_RAZ_WI) {
            ++counters_.upstream_raz_wi;
            if (gp.is_read())
                std::memset(data + done, 0, width < len ? len - done : piece);
            result_kind = kResultRazWi;
            dmi_hint = false;
            done += piece;
            continue;
        }

        if (done == 0 && piece == span_len) {
            // The usual case: one translation covers the transaction; forward the payload itself.
            gp.set_address(res.pa);
            gp.set_dmi_allowed(false);
            downstream_socket->b_transport(gp, *call->delay);
            gp.set_address(addr);
            status = gp.get_response_status();
        } else if ((be && be_len != len) || width < len) {
            // A repeating byte-enable pattern or a streaming window cannot be cut at an arbitrary offset.
            ++counters_.upstream_unsupported;
            status = be ? tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE : tlm::TLM_BURST_ERROR_RESPONSE;
            result_kind = kResultError;
            dmi_hint = false;
            break;
        } else {
            gp.set_address(res.pa);
            gp.set_data_ptr(data + done);
            gp.set_data_length(piece);
            gp.set_streaming_width(piece);
            gp.set_byte_enable_ptr(be ? be + done : nullptr);
            gp.set_byte_enable_length(be ? piece : 0);
            gp.set_dmi_allowed(false);
            gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
            downstream_socket->b_transport(gp, *call->delay);
            status = gp.get_response_status();
            gp.set_address(addr);
            gp.set_data_ptr(data);
            gp.set_data_length(len);
            gp.set_streaming_width(width);
            gp.set_byte_enable_ptr(be);
            gp.set_byte_enable_length(be_len);
        }
        if (status != tlm::TLM_OK_RESPONSE) {
            ++counters_.upstream_downstream_errors;
            result_kind = kResultError;
            dmi_hint = false;
            break;
        }
        // A Translated transaction passes at its own address: that says nothing about how the stream's
        // untranslated accesses translate, so it must not become a DMI grant (hints are not keyed by AT).
        if (!gp.is_dmi_allowed() || piece != span_len || txn.at == SMMU_AT_TRANSLATED)
            dmi_hint = false;
        else if (dmi_requested_)
            remember_dmi_hint(txn, res);
        done += piece;
    } while (done < span_len);

    gp.set_response_status(status);
    gp.set_dmi_allowed(dmi_hint && status == tlm::TLM_OK_RESPONSE && result_kind == kResultOk);
    last_result_value_ = result_kind;
}

smmu_stall_action Smmuv3::wait_for_stall(smmu_call *call, uint32_t sid, uint16_t stag) {
    // The transaction leaves the core and waits in the master's own process, at its own time: the command
    // queue, register accesses and other transactions go on meanwhile (nothing waits inside the core, and
    // the CoreCall guard covers core calls only).
    sc_core::wait(*call->delay);
    *call->delay = sc_core::SC_ZERO_TIME;
    const sc_time stalled_at = sc_core::sc_time_stamp();
    sc_core::sc_event resolved;
    stall_waiters_.push_back({sid, stag, &resolved});
    if (trace_signals_on_)
        stalled_.change_at(sc_core::sc_time_stamp(), stall_waiters_.size());
    if (trace_ && trace_->wants(name(), "stall")) {
        char fields[64];
        std::snprintf(fields, sizeof fields, "sid=0x%x stag=0x%x held=%zu", sid, stag, stall_waiters_.size());
        trace_->line(sc_core::sc_time_stamp(), name(), "stall", fields);
    }
    smmu_stall_action action;
    for (;;) {
        {
            CoreCall busy(*this);
            action = smmu_stall_outcome(core_, sid, stag);
        }
        if (action != SMMU_STALL_WAITING)
            break;
        sc_core::wait(resolved);
    }
    stall_waiters_.erase(std::find_if(stall_waiters_.begin(), stall_waiters_.end(),
                                      [&resolved](const StallWaiter &w) { return w.resolved == &resolved; }));
    if (trace_signals_on_)
        stalled_.change_at(sc_core::sc_time_stamp(), stall_waiters_.size());
    if (trace_ && trace_->wants(name(), "resume")) {
        static const char *const kActions[] = {"waiting", "retry", "abort", "raz_wi"};
        char fields[80];
        std::snprintf(fields, sizeof fields, "sid=0x%x stag=0x%x action=%s held=%zu", sid, stag,
                      action <= SMMU_STALL_RAZ_WI ? kActions[action] : "?", stall_waiters_.size());
        trace_->line(sc_core::sc_time_stamp(), name(), "resume", fields);
    }
    stall_residency_ps_.add(ps_of(sc_core::sc_time_stamp() - stalled_at));
    return action;
}

// At the annotated time of the command that resolved the stall.
void Smmuv3::stall_resolved(smmu_call *call, uint32_t sid, uint16_t stag) {
    for (const StallWaiter &w : stall_waiters_) {
        if (w.sid == sid && w.stag == stag)
            w.resolved->notify(call ? *call->delay : sc_core::SC_ZERO_TIME);
    }
}

void Smmuv3::answer_ats_request(smmu_call *call, TxnAttr &attr, tlm::tlm_generic_payload &gp) {
    ++counters_.ats_translation_requests;
    smmu_txn txn{};
    txn.sid = attr.stream_id;
    txn.ssid = attr.substream_id;
    txn.ssv = attr.ssv;
    txn.secure = attr.security == SecurityState::Secure;
    txn.addr = gp.get_address();
    txn.len = std::max(1u, gp.get_data_length());
    txn.acc.exec = attr.exec;
    txn.acc.priv = attr.priv;
    txn.at = SMMU_AT_TRANSLATION_REQ;
    txn.no_write = attr.no_write;
    smmu_ats_result res;
    {
        CoreCall busy(*this);
        smmu_ats_translate(core_, call, &txn, &res);
    }
    // The core decided everything; the completion is a copy of its answer.
    AtsCompletion &c = attr.ats;
    c = AtsCompletion();
    switch (res.status) {
    case SMMU_ATS_SUCCESS:
        c.status = AtsCompletionStatus::Success;
        break;
    case SMMU_ATS_UR:
        c.status = AtsCompletionStatus::UnsupportedRequest;
        break;
    case SMMU_ATS_CA:
        c.status = AtsCompletionStatus::CompleterAbort;
        break;
    }
    if (res.status == SMMU_ATS_SUCCESS) {
        c.translated_addr = res.addr;
        c.size = res.size_log2 >= 64 ? 0 : uint64_t{1} << res.size_log2;
        c.read = res.read;
        c.write = res.write;
        c.exec = res.exec;
        c.priv = res.priv;
        c.global = res.global;
        c.untranslated_only = res.untranslated_only;
        c.non_snooped = res.non_snooped;
    }
    attr.ats_valid = true;
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

void Smmuv3::remember_dmi_hint(const smmu_txn &txn, const smmu_result &res) {
    const uint64_t mask = span_mask_of(res.size_shift);
    const uint64_t ia_base = txn.addr & ~mask;
    DmiHint &h = dmi_hints_[(txn.addr >> kMinPageShift) % kDmiHints];
    const bool same = h.valid && h.sid == txn.sid && h.ssid == txn.ssid && h.ssv == txn.ssv &&
                      h.priv == txn.acc.priv && h.exec == txn.acc.exec && h.secure == txn.secure &&
                      h.ia_base == ia_base && h.span_mask == mask && h.pa_base == (res.pa & ~mask);
    if (!same) {
        h = DmiHint();
        h.valid = true;
        h.sid = txn.sid;
        h.ssid = txn.ssid;
        h.ssv = txn.ssv;
        h.priv = txn.acc.priv;
        h.exec = txn.acc.exec;
        h.secure = txn.secure;
        h.ia_base = ia_base;
        h.pa_base = res.pa & ~mask;
        h.span_mask = mask;
    }
    // Write DMI only after a write went through the SMMU: that write made the core set the dirty state
    // (HTTU), which writes through a DMI pointer would otherwise skip.
    if (txn.acc.write)
        h.write = h.write || res.write;
    else
        h.read = h.read || res.read;
}

bool Smmuv3::upstream_get_dmi(int, tlm::tlm_generic_payload &gp, tlm::tlm_dmi &dmi) {
    // Translations are only remembered once some master asks for DMI: the bookkeeping is wasted time
    // otherwise.
    dmi_requested_ = true;
    const uint64_t addr = gp.get_address();
    // Denials describe the page only, so the master asks again after a later b_transport.
    dmi.allow_none();
    dmi.set_start_address(addr & ~((uint64_t{1} << kMinPageShift) - 1));
    dmi.set_end_address(addr | ((uint64_t{1} << kMinPageShift) - 1));
    const TxnAttr *attr = TxnAttr::of(gp);
    const DmiHint &h = dmi_hints_[(addr >> kMinPageShift) % kDmiHints];
    const bool want_write = gp.is_write();
    if (!attr || !h.valid || h.sid != attr->stream_id || h.ssv != attr->ssv ||
        (attr->ssv && h.ssid != attr->substream_id) || h.priv != attr->priv ||
        h.exec != (attr->exec && !want_write) || h.secure != (attr->security == SecurityState::Secure) ||
        (addr & ~h.span_mask) != h.ia_base || !(want_write ? h.write : h.read)) {
        ++counters_.dmi_denials;
        return false;
    }
    const uint64_t pa = h.pa_base + (addr - h.ia_base);
    tlm::tlm_generic_payload down;
    down.set_address(pa);
    down.set_command(want_write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    tlm::tlm_dmi down_dmi;
    if (!downstream_socket->get_direct_mem_ptr(down, down_dmi) || down_dmi.get_start_address() > pa ||
        down_dmi.get_end_address() < pa) {
        ++counters_.dmi_denials;
        return false;
    }
    const uint64_t pa_start = std::max<uint64_t>(h.pa_base, down_dmi.get_start_address());
    const uint64_t pa_end = std::min<uint64_t>(h.pa_base + h.span_mask, down_dmi.get_end_address());
    dmi.set_dmi_ptr(down_dmi.get_dmi_ptr() + (pa_start - down_dmi.get_start_address()));
    dmi.set_start_address(h.ia_base + (pa_start - h.pa_base));
    dmi.set_end_address(h.ia_base + (pa_end - h.pa_base));
    const bool read = h.read && down_dmi.is_read_allowed();
    const bool write = h.write && down_dmi.is_write_allowed();
    if (!read && !write) {
        ++counters_.dmi_denials;
        return false;
    }
    if (read && write)
        dmi.allow_read_write();
    else if (read)
        dmi.allow_read();
    else
        dmi.allow_write();
    dmi.set_read_latency(down_dmi.get_read_latency());
    dmi.set_write_latency(down_dmi.get_write_latency());
    ++counters_.dmi_grants;
    dmi_outstanding_ = true;
    return true;
}

unsigned Smmuv3::upstream_transport_dbg(int, tlm::tlm_generic_payload &) {
    // A debug access would have to translate, which fills caches and may record events: not side-effect free.
    return 0;
}

void Smmuv3::invalidate_upstream_dmi() {
    for (DmiHint &h : dmi_hints_)
        h.valid = false;
    if (!dmi_outstanding_)
        return;
    dmi_outstanding_ = false;
    ++counters_.dmi_invalidations;
    for (unsigned i = 0; i < upstream_socket.size(); ++i)
        upstream_socket[i]->invalidate_direct_mem_ptr(0, ~sc_dt::uint64{0});
}

void Smmuv3::downstream_invalidate(sc_dt::uint64, sc_dt::uint64) {
    // Upstream regions are in input addresses: finding the ones backed by this PA range is not worth it.
    invalidate_upstream_dmi();
}

// ---------------------------------------------------------------------------------------------------------------
// Registers.

bool Smmuv3::register_write_changes_translation(uint64_t offset) const {
    const uint64_t reg = offset & ~uint64_t{7};
    return offset == kRegCr0 || offset == kRegCr2 || offset == kRegGbpa || reg == kRegStrtabBase ||
           offset == kRegStrtabBaseCfg;
}

void Smmuv3::reg_b_transport(tlm::tlm_generic_payload &gp, sc_time &delay) {
    const uint64_t offset = gp.get_address();
    const unsigned len = gp.get_data_length();
    unsigned char *data = gp.get_data_ptr();
    tlm::tlm_response_status check = check_register_access(gp, SMMU_REG_SPACE_SIZE);
    // A register access from inside the core's own work (an MSI aimed at the SMMU itself) cannot re-enter it.
    if (check == tlm::TLM_OK_RESPONSE && core_depth_ != 0)
        check = tlm::TLM_GENERIC_ERROR_RESPONSE;
    if (check != tlm::TLM_OK_RESPONSE) {
        ++counters_.reg_errors;
        gp.set_response_status(check);
        return;
    }
    smmu_call call{&delay};
    bool ok;
    if (gp.is_read()) {
        ++counters_.reg_reads;
        uint64_t value = 0;
        {
            CoreCall busy(*this);
            ok = smmu_reg_read(core_, &call, offset, len, &value);
        }
        store_le(data, value, len);
    } else {
        ++counters_.reg_writes;
        const uint64_t value = load_le(data, len);
        reg_write_open_ = trace_signals_on_;
        reg_write_time_known_ = false;
        {
            CoreCall busy(*this);
            ok = smmu_reg_write(core_, &call, offset, len, value);
        }
        reg_write_open_ = false;
        if (ok && trace_signals_on_)
            stamp_register_write(&call, offset, len);
        if (ok && register_write_changes_translation(offset))
            invalidate_upstream_dmi();
    }
    if (!ok)
        ++counters_.reg_errors;
    gp.set_response_status(ok ? tlm::TLM_OK_RESPONSE : tlm::TLM_GENERIC_ERROR_RESPONSE);
    if (trace_signals_on_)
        sample_queue_pointers(now_with_delay(&call));
}

unsigned Smmuv3::reg_transport_dbg(tlm::tlm_generic_payload &gp) {
    // Reads only: SMMU register reads have no side effects, writes do (commands, queue enables).
    const uint64_t offset = gp.get_address();
    const unsigned len = gp.get_data_length();
    if (!gp.is_read() || core_depth_ != 0 || offset >= SMMU_REG_SPACE_SIZE ||
        len > SMMU_REG_SPACE_SIZE - offset)
        return 0;
    unsigned char *data = gp.get_data_ptr();
    for (unsigned i = 0; i < len;) {
        const uint64_t word = (offset + i) & ~uint64_t{3};
        uint64_t value = 0;
        if (!smmu_reg_peek(core_, word, 4, &value))
            value = 0;
        for (unsigned b = (offset + i) & 3; b < 4 && i < len; ++b, ++i)
            data[i] = static_cast<unsigned char>(value >> (8 * b));
    }
    return len;
}

// A message that is not a memory request: only the kinds an endpoint sends upstream are accepted.
void Smmuv3::receive_message(smmu_call *call, TxnAttr &attr, tlm::tlm_generic_payload &gp) {
    if (attr.kind == TxnKind::PageRequest) {
        // Taken whatever becomes of it: the core queues it or answers it itself through message_socket.
        smmu_page_req req{};
        req.sid = attr.stream_id;
        req.ssv = attr.ssv;
        req.ssid = attr.substream_id;
        req.exec = attr.exec;
        req.priv = attr.priv;
        req.read = attr.read;
        req.write = attr.write;
        req.last = attr.last;
        req.prg_index = attr.prg_index;
        req.addr = gp.get_address();
        req.secure = attr.security == SecurityState::Secure;
        {
            CoreCall busy(*this);
            smmu_page_request(core_, call, &req);
        }
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    if (attr.kind == TxnKind::AtsInvalidationCompletion) {
        {
            CoreCall busy(*this);
            smmu_ats_inv_completion(core_, call, attr.stream_id, attr.itag_vector, attr.completion_count);
        }
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    ++counters_.upstream_unsupported;
    if (!unsupported_reported_) {
        unsupported_reported_ = true;
        SC_REPORT_WARNING(name(), "PCIe message of a kind the SMMU does not take on its upstream socket");
    }
    gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
}

// The command queue runs here, not inside the register write that made it runnable: each command takes cmd_ps
// before it completes (CONS passes it then), a CMD_SYNC can wait for ATS invalidation completions while the
// CPU goes on, and nothing waits inside a register access.
void Smmuv3::cmdq_kick(smmu_call *call) {
    cmdq_kicked_ = true;
    cmdq_kick_event_.notify(call ? *call->delay : sc_core::SC_ZERO_TIME);
}

void Smmuv3::cmdq_thread() {
    bool retry = false; // the command at CONS blocked: it already took its cmd_ps
    for (;;) {
        if (!cmdq_kicked_)
            sc_core::wait(cmdq_kick_event_);
        cmdq_kicked_ = false;
        if (!retry)
            sc_core::wait(cmd_time_);
        sc_time delay = sc_core::SC_ZERO_TIME;
        smmu_call call{&delay};
        uint64_t wake_ps = UINT64_MAX;
        smmu_cmdq_status status;
        {
            CoreCall busy(*this);
            status = smmu_cmdq_step(core_, &call, &wake_ps);
        }
        if (trace_signals_on_)
            sample_queue_pointers(now_with_delay(&call));
        if (delay != sc_core::SC_ZERO_TIME)
            sc_core::wait(delay);
        retry = status == SMMU_CMDQ_BLOCKED;
        if (status == SMMU_CMDQ_PROGRESS) {
            cmdq_kicked_ = true; // take the next one
        } else if (status == SMMU_CMDQ_BLOCKED && wake_ps != UINT64_MAX && !cmdq_kicked_) {
            const uint64_t now = ps_of(sc_core::sc_time_stamp());
            if (wake_ps > now)
                sc_core::wait(sc_time(static_cast<double>(wake_ps - now), sc_core::SC_PS), cmdq_kick_event_);
            cmdq_kicked_ = true; // step again: a completion arrived or the timeout passed
        }
    }
}

// One message toward the root complex, at the annotated time of the step that sends it.
bool Smmuv3::send_message(smmu_call *call, const smmu_msg &msg) {
    if (message_socket.size() == 0)
        return false;
    TxnAttr *attr = new TxnAttr(msg.sid, msg.ssid, msg.ssv);
    tlm::tlm_generic_payload gp;
    gp.set_extension(attr); // deleted with gp
    uint64_t body = 0;
    gp.set_command(tlm::TLM_WRITE_COMMAND);
    gp.set_data_ptr(reinterpret_cast<unsigned char *>(&body));
    gp.set_data_length(sizeof body);
    gp.set_streaming_width(sizeof body);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    switch (msg.kind) {
    case SMMU_MSG_ATS_INV_REQ:
        attr->kind = TxnKind::AtsInvalidationRequest;
        gp.set_address(msg.addr);
        attr->inv_size = msg.size_log2 >= 64 ? 0 : uint64_t{1} << msg.size_log2;
        attr->inv_global = msg.global;
        attr->itag = msg.itag;
        break;
    case SMMU_MSG_PRG_RESP:
        attr->kind = TxnKind::PrgResponse;
        gp.set_address(0);
        attr->prg_index = msg.prg_index;
        attr->prg_response = static_cast<PrgResponseCode>(msg.response);
        break;
    default:
        return false;
    }
    ++counters_.messages_sent;
    sc_time &delay = call ? *call->delay : scratch_delay_;
    message_socket->b_transport(gp, delay);
    return gp.is_response_ok();
}

// ---------------------------------------------------------------------------------------------------------------
// Host interface of the core.

bool Smmuv3::mem_access(smmu_call *call, smmu_mem_kind kind, uint64_t pa, void *buf, unsigned len,
                        bool write) {
    sc_time &delay = call ? *call->delay : scratch_delay_;
    if (write) {
        ++counters_.mem_writes;
        if (kind == SMMU_MEM_MSI) {
            ++counters_.msi_writes;
            if (trace_signals_on_)
                msi_count_.change_at(sc_core::sc_time_stamp() + delay, ++msi_writes_seen_);
        }
    } else {
        ++counters_.mem_reads;
    }
    if (len == 0)
        return true;
    const uint64_t last = pa + len - 1;
    if (last >= pa) {
        for (WalkDmiRegion &r : walk_dmi_) {
            if (!r.valid || pa < r.start || last > r.end || !(write ? r.write : r.read))
                continue;
            unsigned char *p = r.ptr + (pa - r.start);
            if (write) {
                std::memcpy(p, buf, len);
                delay += r.write_latency;
            } else {
                std::memcpy(buf, p, len);
                delay += r.read_latency;
            }
            ++counters_.mem_dmi_accesses;
            return true;
        }
    }
    mem_gp_.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    mem_gp_.set_address(pa);
    mem_gp_.set_data_ptr(static_cast<unsigned char *>(buf));
    mem_gp_.set_data_length(len);
    mem_gp_.set_streaming_width(len);
    mem_gp_.set_byte_enable_ptr(nullptr);
    mem_gp_.set_byte_enable_length(0);
    mem_gp_.set_dmi_allowed(false);
    mem_gp_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    own_access_socket->b_transport(mem_gp_, delay);
    if (!mem_gp_.is_response_ok()) {
        ++counters_.mem_errors;
        return false;
    }
    // MSIs go to interrupt controllers, never worth a DMI region.
    if (params_.walk_dmi && kind != SMMU_MEM_MSI && mem_gp_.is_dmi_allowed()) {
        tlm::tlm_dmi dmi;
        mem_gp_.set_address(pa);
        if (own_access_socket->get_direct_mem_ptr(mem_gp_, dmi) && dmi.get_start_address() <= pa &&
            dmi.get_end_address() >= pa) {
            WalkDmiRegion &r = walk_dmi_[walk_dmi_next_];
            walk_dmi_next_ = (walk_dmi_next_ + 1) % kWalkDmiRegions;
            r.valid = true;
            r.start = dmi.get_start_address();
            r.end = dmi.get_end_address();
            r.ptr = dmi.get_dmi_ptr();
            r.read = dmi.is_read_allowed();
            r.write = dmi.is_write_allowed();
            r.read_latency = dmi.get_read_latency();
            r.write_latency = dmi.get_write_latency();
        }
    }
    return true;
}

void Smmuv3::walk_invalidate(sc_dt::uint64 start, sc_dt::uint64 end) {
    for (WalkDmiRegion &r : walk_dmi_) {
        if (r.valid && r.start <= end && start <= r.end)
            r.valid = false;
    }
}

void Smmuv3::advance(smmu_call *call, uint64_t ps) {
    sc_time &delay = call ? *call->delay : scratch_delay_;
    // The core charges the same few latencies over and over: converting each once keeps the hot path cheap.
    if (ps != cached_ps_) {
        cached_ps_ = ps;
        cached_time_ =
            ps_is_time_unit_ ? sc_time::from_value(ps) : sc_time(static_cast<double>(ps), sc_core::SC_PS);
    }
    delay += cached_time_;
}

sc_time Smmuv3::now_with_delay(const smmu_call *call) {
    return sc_core::sc_time_stamp() + (call ? *call->delay : sc_time());
}

void Smmuv3::irq_set(smmu_call *call, smmu_irq_line line, bool level) {
    if (line >= SMMU_IRQ_COUNT)
        return;
    IrqLine &l = irq_lines_[line];
    const bool rising = level && !l.core_level;
    l.core_level = level;
    if (!rising)
        return; // the core only pulses: the pulse's length is the shell's, not the time between the calls
    ++counters_.irq_pulses[line];
    const sc_time width = params_.irq_pulse_width;
    const sc_time period = width + width; // high for the width, then low for at least the width
    const sc_time now = sc_core::sc_time_stamp();
    while (!l.pulse_starts.empty() && l.pulse_starts.front() + period <= now)
        l.pulse_starts.pop_front();
    // The earliest start at or after the annotated time that keeps a period clear around every scheduled
    // pulse: usually the annotated time itself, or the end of the previous pulse's low gap.
    const sc_time requested = now_with_delay(call);
    sc_time start = requested;
    auto pos = l.pulse_starts.begin();
    for (; pos != l.pulse_starts.end(); ++pos) {
        if (start + period <= *pos)
            break;
        start = std::max(start, *pos + period);
    }
    l.pulse_starts.insert(pos, start);
    irq_writers_[line]->write_at(start, true);
    irq_writers_[line]->write_at(start + width, false);
    if (trace_ && start != requested && trace_->wants(name(), "irq")) {
        // The core's "irq" line has the requested time; this one gives the edge's own, as the waveform does.
        static const char *const kNames[SMMU_IRQ_COUNT] = {"evtq", "priq", "cmd-sync", "gerror"};
        trace_->line(start, name(), "irq",
                     std::string(kNames[line]) + " edge queued from " + std::to_string(ps_of(requested)) +
                         " ps");
    }
}

void Smmuv3::trace_line(smmu_call *call, const char *kind, const char *fields) {
    const sc_time at = now_with_delay(call);
    if (trace_signals_on_) {
        // The first line of a register write is the core's "write" line, traced before the write applies.
        if (reg_write_open_) {
            reg_write_open_ = false;
            reg_write_time_ = at;
            reg_write_time_known_ = true;
        }
        sample_queue_pointers(at);
        sample_activity(at);
    }
    if (trace_)
        trace_->line(at, name(), kind, fields);
}

void Smmuv3::set_trace(Trace *trace) {
    trace_ = trace;
    // The waveform signals take their times from the core's trace records, so the core keeps tracing for
    // them.
    smmu_set_trace(core_, trace_ != nullptr || trace_signals_on_);
}

void Smmuv3::set_trace_stream(std::ostream *os) {
    own_trace_.set_stream(os);
    set_trace(os ? &own_trace_ : nullptr);
}

// ---------------------------------------------------------------------------------------------------------------
// Observability.

void Smmuv3::trace(sc_core::sc_trace_file *tf) {
    trace_signals_on_ = true;
    smmu_set_trace(core_, true);
    const std::string prefix = std::string(name()) + ".";
    sc_core::sc_trace(tf, evtq_irq, prefix + "evtq_irq");
    sc_core::sc_trace(tf, priq_irq, prefix + "priq_irq");
    sc_core::sc_trace(tf, cmd_sync_irq, prefix + "cmd_sync_irq");
    sc_core::sc_trace(tf, gerror_irq, prefix + "gerror_irq");
    for (auto *sig : {&cmdq_prod_, &cmdq_cons_, &evtq_prod_, &evtq_cons_, &priq_prod_, &priq_cons_,
                      &last_sid_, &last_ssid_, &last_result_})
        sc_core::sc_trace(tf, *sig, sig->name());
    for (auto *sig :
         {&tlb_hits_, &tlb_misses_, &last_addr_, &last_pa_, &upstream_count_, &msi_count_, &stalled_,
          &walk_cache_hits_, &walk_cache_misses_, &config_cache_hits_, &config_cache_misses_})
        sc_core::sc_trace(tf, *sig, sig->name());
    for (auto *sig : {&cr0ack_, &walk_stage_, &walk_level_})
        sc_core::sc_trace(tf, *sig, sig->name());
    sc_core::sc_trace(tf, smmuen_, smmuen_.name());
    const unsigned ports = std::min<unsigned>(kTracedPorts, upstream_socket.size());
    for (unsigned i = 0; i < ports; ++i) {
        PortSignals &p = *port_signals_[i];
        for (auto *sig : {&p.sid, &p.ssid, &p.rw, &p.result})
            sc_core::sc_trace(tf, *sig, sig->name());
        sc_core::sc_trace(tf, p.addr, p.addr.name());
    }
    // The state so far, from now on.
    sample_queue_pointers(sc_core::sc_time_stamp());
    sample_upstream(sc_core::sc_time_stamp());
    sample_activity(sc_core::sc_time_stamp());
}

namespace {

uint32_t peek32(smmu *core, uint64_t offset) {
    uint64_t value = 0;
    smmu_reg_peek(core, offset, 4, &value);
    return static_cast<uint32_t>(value);
}

} // namespace

void Smmuv3::sample_queue_pointers(const sc_time &at) {
    cmdq_prod_.change_at(at, peek32(core_, kRegCmdqProd));
    cmdq_cons_.change_at(at, peek32(core_, kRegCmdqCons));
    evtq_prod_.change_at(at, peek32(core_, kRegEvtqProd));
    evtq_cons_.change_at(at, peek32(core_, kRegEvtqCons));
    priq_prod_.change_at(at, peek32(core_, kRegPriqProd));
    priq_cons_.change_at(at, peek32(core_, kRegPriqCons));
    smmuen_.change_at(at, (peek32(core_, kRegCr0) & 1u) != 0);
    cr0ack_.change_at(at, peek32(core_, kRegCr0Ack));
}

// The walk in progress and the cache counters, after a step of the core.
void Smmuv3::sample_activity(const sc_time &at) {
    smmu_activity a;
    smmu_get_activity(core_, &a);
    walk_stage_.change_at(at, a.walk_stage);
    walk_level_.change_at(at, a.walk_stage ? static_cast<uint32_t>(a.walk_level) : 0);
    tlb_hits_.change_at(at, a.tlb_hits);
    tlb_misses_.change_at(at, a.tlb_misses);
    walk_cache_hits_.change_at(at, a.walk_cache_hits);
    walk_cache_misses_.change_at(at, a.walk_cache_misses);
    config_cache_hits_.change_at(at, a.config_cache_hits);
    config_cache_misses_.change_at(at, a.config_cache_misses);
}

// The pointer registers a write covered take their new value at the time of the core's "write" line (the
// core applies the write right after tracing it, before any other step).
void Smmuv3::stamp_register_write(const smmu_call *call, uint64_t offset, unsigned len) {
    const sc_time at = reg_write_time_known_ ? reg_write_time_ : now_with_delay(call);
    const struct {
        uint64_t offset;
        TimedSignal<uint32_t> *signal;
    } pointers[] = {{kRegCmdqProd, &cmdq_prod_}, {kRegCmdqCons, &cmdq_cons_}, {kRegEvtqProd, &evtq_prod_},
                    {kRegEvtqCons, &evtq_cons_}, {kRegPriqProd, &priq_prod_}, {kRegPriqCons, &priq_cons_}};
    for (const auto &p : pointers) {
        if (p.offset >= offset && p.offset < offset + len)
            p.signal->write_at(at, peek32(core_, p.offset));
    }
    if (kRegCr0 >= offset && kRegCr0 < offset + len) {
        smmuen_.write_at(at, (peek32(core_, kRegCr0) & 1u) != 0);
        cr0ack_.write_at(at, peek32(core_, kRegCr0Ack));
    }
}

void Smmuv3::sample_upstream(const sc_time &at) {
    sample_queue_pointers(at);
    sample_activity(at);
    last_sid_.change_at(at, last_sid_value_);
    last_ssid_.change_at(at, last_ssid_value_);
    last_result_.change_at(at, last_result_value_);
    last_addr_.change_at(at, last_addr_value_);
    last_pa_.change_at(at, last_pa_value_);
    upstream_count_.change_at(at, counters_.upstream_transactions);
}

void Smmuv3::stats(const std::function<void(const std::string &, uint64_t)> &cb) const {
    const Counters &c = counters_;
    cb("upstream.transactions", c.upstream_transactions);
    cb("upstream.bytes", c.upstream_bytes);
    cb("upstream.splits", c.upstream_splits);
    cb("upstream.aborts", c.upstream_aborts);
    cb("upstream.raz_wi", c.upstream_raz_wi);
    cb("upstream.stalls", c.upstream_stalls);
    cb("upstream.stall_retries", c.upstream_stall_retries);
    cb("upstream.missing_attr", c.upstream_missing_attr);
    cb("upstream.unsupported", c.upstream_unsupported);
    cb("upstream.downstream_errors", c.upstream_downstream_errors);
    cb("upstream.ats_translation_requests", c.ats_translation_requests);
    cb("upstream.dmi_grants", c.dmi_grants);
    cb("upstream.dmi_denials", c.dmi_denials);
    cb("upstream.dmi_invalidations", c.dmi_invalidations);
    cb("socket.reads", c.reg_reads);
    cb("socket.writes", c.reg_writes);
    cb("socket.errors", c.reg_errors);
    cb("mem.reads", c.mem_reads);
    cb("mem.writes", c.mem_writes);
    cb("mem.dmi_accesses", c.mem_dmi_accesses);
    cb("mem.errors", c.mem_errors);
    cb("mem.cas", c.mem_cas);
    cb("mem.msi_writes", c.msi_writes);
    cb("messages.sent", c.messages_sent);
    cb("irq.evtq.pulses", c.irq_pulses[SMMU_IRQ_EVTQ]);
    cb("irq.priq.pulses", c.irq_pulses[SMMU_IRQ_PRIQ]);
    cb("irq.cmd_sync.pulses", c.irq_pulses[SMMU_IRQ_CMD_SYNC]);
    cb("irq.gerror.pulses", c.irq_pulses[SMMU_IRQ_GERROR]);
    using Callback = std::function<void(const std::string &, uint64_t)>;
    smmu_stats(
        core_,
        [](void *arg, const char *name, uint64_t value) {
            (*static_cast<const Callback *>(arg))(name, value);
        },
        const_cast<void *>(static_cast<const void *>(&cb)));
}

void Smmuv3::register_stats(Stats &stats, const std::string &prefix) const {
    const std::string p = prefix.empty() ? std::string(name()) : prefix;
    stats.counters_from(p, [this](const auto &each) { this->stats(each); });
    stats.histogram(p + ".stall.residency_ps", &stall_residency_ps_);
}

} // namespace vp
