#include "endpoint.h"
#include "root_complex.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <stdexcept>

#include "reg_access.h"

#ifdef VP_HAVE_PCIE_DEV
#include "pcie_dev.h"
#endif

namespace vp {

using sc_core::sc_time;

namespace {

constexpr uint32_t kConfigInterruptPin = 0x3D;

// What a requester hears back for a TLM error: an address nobody claims (no RID mapping, a translation fault
// or an unmapped bus address) is an Unsupported Request; any other refusal is a Completer Abort.
pcie_ep_cpl_status completion_status(const tlm::tlm_generic_payload &gp) {
    if (gp.is_response_ok())
        return PCIE_EP_CPL_SC;
    return gp.get_response_status() == tlm::TLM_ADDRESS_ERROR_RESPONSE ? PCIE_EP_CPL_UR : PCIE_EP_CPL_CA;
}

uint8_t log2_of(uint64_t size) {
    uint8_t log2 = 0;
    while (log2 < 63 && (uint64_t{1} << (log2 + 1)) <= size)
        ++log2;
    return log2;
}

uint64_t ps_of(const sc_time &t) {
    return static_cast<uint64_t>(std::llround(t.to_seconds() * 1e12));
}

} // namespace

unsigned PcieEndpoint::validated_lanes(unsigned lanes) {
    // Checked before the function core exists, so a refusal leaves nothing to release.
    if (lanes == 0 || lanes > kMaxLanes)
        throw std::invalid_argument("PCIe endpoint: lanes must be between 1 and " +
                                    std::to_string(kMaxLanes));
    return lanes;
}

const pcie_ep_host_ops PcieEndpoint::host_ops_ = {
    &PcieEndpoint::host_mem_request, &PcieEndpoint::host_send_msg, &PcieEndpoint::host_schedule,
    &PcieEndpoint::host_msi_write,   &PcieEndpoint::host_set_intx, &PcieEndpoint::host_trace};

PcieEndpoint::PcieEndpoint(sc_core::sc_module_name name, uint16_t bdf, const std::string &personality,
                           const DeviceParams &device_params, const Params &params)
    : sc_module(name), link_down_socket("link_down_socket"), link_up_socket("link_up_socket"), bdf_(bdf),
      lane_count_(validated_lanes(params.lanes)), arrivals_("arrivals") {
#ifdef VP_HAVE_PCIE_DEV
    std::vector<pcie_dev_param> list;
    list.reserve(device_params.size());
    for (const auto &kv : device_params)
        list.push_back(pcie_dev_param{kv.first.c_str(), kv.second.c_str()});
    char err[256] = "";
    dev_ = pcie_dev_create(personality.c_str(), list.data(), list.size(), &host_ops_, this, err, sizeof err);
    if (!dev_)
        throw std::invalid_argument(err[0] ? err : "personality '" + personality + "' cannot be created");
    ep_ = pcie_dev_ep(dev_);
#else
    (void)device_params;
    throw std::invalid_argument("personality '" + personality +
                                "': this build has no PCIe personalities (vp_pcie_dev missing)");
#endif
    init();
}

PcieEndpoint::PcieEndpoint(sc_core::sc_module_name name, uint16_t bdf, const pcie_ep_params &function,
                           const Params &params)
    : sc_module(name), link_down_socket("link_down_socket"), link_up_socket("link_up_socket"), bdf_(bdf),
      lane_count_(validated_lanes(params.lanes)), arrivals_("arrivals") {
    ep_ = pcie_ep_create(&function, &host_ops_, this);
    if (!ep_)
        throw std::invalid_argument(std::string(this->name()) + ": inconsistent PCIe function parameters");
    init();
}

void PcieEndpoint::init() {
    update_core_tracing();
    link_down_socket.register_b_transport(this, &PcieEndpoint::link_down_b_transport);
    link_down_socket.register_transport_dbg(this, &PcieEndpoint::link_down_transport_dbg);
    std::vector<Lane>(lane_count_).swap(lanes_);
    for (unsigned i = 0; i < lane_count_; ++i) {
        lanes_[i].attr = new TxnAttr;
        lanes_[i].gp.set_extension(lanes_[i].attr);
        sc_core::sc_spawn_options options;
        sc_core::sc_spawn([this, i] { lane_thread(i); }, sc_core::sc_gen_unique_name("lane"), &options);
    }
    posted_attr_ = new TxnAttr;
    posted_gp_.set_extension(posted_attr_);
    SC_THREAD(posted_thread);
    SC_METHOD(scheduler_method);
    sensitive << timed_work_event_;
    dont_initialize();
}

PcieEndpoint::~PcieEndpoint() {
#ifdef VP_HAVE_PCIE_DEV
    if (dev_) {
        pcie_dev_destroy(dev_);
        dev_ = nullptr;
        ep_ = nullptr;
    }
#endif
    if (ep_) {
        pcie_ep_destroy(ep_);
        ep_ = nullptr;
    }
}

bool PcieEndpoint::personalities_available() {
#ifdef VP_HAVE_PCIE_DEV
    return true;
#else
    return false;
#endif
}

bool PcieEndpoint::claims(uint64_t addr, unsigned size) const {
    unsigned bar = 0;
    uint64_t offset = 0;
    return pcie_ep_bar_decode(ep_, addr, size, &bar, &offset);
}

// ---------------------------------------------------------------------------------------------------------------
// Host interface of the function core. Nothing here calls back into the core: the answers come from the
// processes below.

// ---------------------------------------------------------------------------------------------------------------
// Observability.

namespace {

std::string pasid_text(bool valid, uint32_t pasid) {
    if (!valid)
        return "-";
    char text[16];
    std::snprintf(text, sizeof text, "0x%x", pasid);
    return text;
}

std::string hex_text(uint64_t value) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

const char *completion_name(unsigned status) {
    return status == PCIE_EP_CPL_SC   ? "SC"
           : status == PCIE_EP_CPL_UR ? "UR"
           : status == PCIE_EP_CPL_CA ? "CA"
                                      : "?";
}

} // namespace

void PcieEndpoint::set_trace(Trace *trace) {
    trace_ = trace;
    trace_name_ = "pcie." + pcie_bdf_text(bdf_);
    update_core_tracing();
}

// The core's trace records feed the text trace and the waveform samples: without either, it formats none.
void PcieEndpoint::update_core_tracing() {
    pcie_ep_set_tracing(ep_, trace_ != nullptr || signals_on_);
}

void PcieEndpoint::host_trace(void *ctx, const char *kind, const char *fields) {
    auto *self = static_cast<PcieEndpoint *>(ctx);
    self->trace_line(kind, fields);
    if (self->signals_on_)
        self->sample_signals();
}

// Every line of this function is made at the kernel's time: the shell calls the core only from processes
// running at the time of the step (arrivals_, the scheduler, the lanes after their completion's time).
void PcieEndpoint::trace_line(const char *kind, const std::string &fields) {
    if (trace_)
        trace_->line(sc_core::sc_time_stamp(), trace_name_, kind, fields);
}

void PcieEndpoint::trace(sc_core::sc_trace_file *tf) {
    signals_on_ = true;
    update_core_tracing();
    for (auto *sig : {&ats_in_flight_signal_, &atc_entries_signal_, &pri_requests_signal_,
                      &pri_groups_signal_, &msi_count_signal_})
        sc_core::sc_trace(tf, *sig, sig->name());
    sc_core::sc_trace(tf, stop_marker_pulse_, stop_marker_pulse_.name());
    sc_core::sc_trace(tf, prg_response_pulse_, prg_response_pulse_.name());
    sample_signals();
}

void PcieEndpoint::sample_signals() {
    const sc_time now = sc_core::sc_time_stamp();
    pcie_ep_stats stats{};
    pcie_ep_get_stats(ep_, &stats);
    uint32_t requests = 0, groups = 0;
    pcie_ep_pri_outstanding(ep_, &requests, &groups);
    ats_in_flight_signal_.change_at(now, ats_in_flight_);
    atc_entries_signal_.change_at(now, stats.atc_entries);
    pri_requests_signal_.change_at(now, requests);
    pri_groups_signal_.change_at(now, groups);
    msi_count_signal_.change_at(now, msis_sent_);
}

void PcieEndpoint::pulse(TimedSignal<bool> &signal) {
    const sc_time now = sc_core::sc_time_stamp();
    signal.write_at(now, true);
    signal.write_at(now + sc_time(1, sc_core::SC_NS), false);
}

void PcieEndpoint::host_mem_request(void *ctx, uint32_t tag, const pcie_ep_mem_req *req) {
    auto *self = static_cast<PcieEndpoint *>(ctx);
    if (req->at == PCIE_EP_AT_TRANSLATION_REQ) {
        ++self->ats_in_flight_;
        if (self->trace_)
            self->trace_line("ats_req", "tag=" + std::to_string(tag) + " addr=" + hex_text(req->addr) +
                                            " pasid=" + pasid_text(req->pasid_valid, req->pasid) +
                                            " nw=" + (req->no_write ? "1" : "0"));
        if (self->signals_on_)
            self->sample_signals();
    } else if (self->trace_ && self->trace_->wants(self->trace_name_, "mem")) {
        self->trace_line("mem", "tag=" + std::to_string(tag) + " at=" +
                                    (req->at == PCIE_EP_AT_TRANSLATED ? "translated" : "untranslated") +
                                    " addr=" + hex_text(req->addr) + " len=" + std::to_string(req->len) +
                                    " dir=" + (req->write ? "w" : "r") +
                                    " pasid=" + pasid_text(req->pasid_valid, req->pasid));
    }
    self->requests_.push_back(Request{tag, *req, sc_core::sc_time_stamp()});
    self->request_event_.notify(sc_core::SC_ZERO_TIME);
}

void PcieEndpoint::host_send_msg(void *ctx, const pcie_ep_msg *msg) {
    auto *self = static_cast<PcieEndpoint *>(ctx);
    const TxnKind kind =
        msg->kind == PCIE_EP_MSG_INV_COMPLETION ? TxnKind::AtsInvalidationCompletion : TxnKind::PageRequest;
    const bool is_stop_marker = kind == TxnKind::PageRequest && msg->last && !msg->read && !msg->write;
    if (self->trace_) {
        if (kind == TxnKind::AtsInvalidationCompletion)
            self->trace_line("atc_inv_cpl", "itags=" + hex_text(msg->itag_vector) +
                                                " cc=" + std::to_string(msg->completion_count));
        else if (is_stop_marker)
            self->trace_line("stop_marker", "pasid=" + pasid_text(msg->pasid_valid, msg->pasid) +
                                                " prgi=" + hex_text(msg->prg_index));
        else
            self->trace_line("page_req", "addr=" + hex_text(msg->addr) +
                                             " pasid=" + pasid_text(msg->pasid_valid, msg->pasid) + " prgi=" +
                                             hex_text(msg->prg_index) + " last=" + (msg->last ? "1" : "0") +
                                             " rw=" + (msg->read ? "r" : "-") + (msg->write ? "w" : "-") +
                                             (msg->exec ? "x" : "") + (msg->priv ? "p" : ""));
    }
    if (self->signals_on_) {
        if (is_stop_marker)
            self->pulse(self->stop_marker_pulse_);
        self->sample_signals();
    }
    self->posted_.push_back(Posted{kind, *msg, 0, 0});
    self->posted_event_.notify(sc_core::SC_ZERO_TIME);
    if (kind == TxnKind::PageRequest && msg->last && !is_stop_marker) // a Stop Marker gets no response
        self->groups_sent_[msg->prg_index] = sc_core::sc_time_stamp();
    // A completion frees room in the Invalidate Queue: what flow control held back can go in now.
    if (kind == TxnKind::AtsInvalidationCompletion && !self->held_invalidations_.empty())
        self->at_time(sc_core::sc_time_stamp(), [self] { self->retry_held_invalidations(); });
}

void PcieEndpoint::host_schedule(void *ctx, uint64_t delay_ps, void (*fn)(void *arg), void *arg) {
    auto *self = static_cast<PcieEndpoint *>(ctx);
    self->at_time(sc_core::sc_time_stamp() + sc_time(static_cast<double>(delay_ps), sc_core::SC_PS),
                  [fn, arg] { fn(arg); });
}

void PcieEndpoint::host_msi_write(void *ctx, uint64_t addr, uint32_t data) {
    auto *self = static_cast<PcieEndpoint *>(ctx);
    ++self->msis_sent_;
    if (self->trace_)
        self->trace_line("msi", "addr=" + hex_text(addr) + " data=" + hex_text(data));
    if (self->signals_on_)
        self->sample_signals();
    self->posted_.push_back(Posted{TxnKind::Memory, pcie_ep_msg{}, addr, data});
    self->posted_event_.notify(sc_core::SC_ZERO_TIME);
}

void PcieEndpoint::host_set_intx(void *ctx, bool asserted) {
    auto *self = static_cast<PcieEndpoint *>(ctx);
    if (self->trace_)
        self->trace_line("intx", asserted ? "level=1" : "level=0");
    self->posted_.push_back(
        Posted{asserted ? TxnKind::IntxAssert : TxnKind::IntxDeassert, pcie_ep_msg{}, 0, 0});
    self->posted_event_.notify(sc_core::SC_ZERO_TIME);
}

void PcieEndpoint::at_time(const sc_time &when, std::function<void()> fn) {
    timed_work_.emplace(when, std::move(fn)); // after the entries of the same time already queued
    const sc_time now = sc_core::sc_time_stamp();
    timed_work_event_.notify(timed_work_.begin()->first > now ? timed_work_.begin()->first - now
                                                              : sc_core::SC_ZERO_TIME);
}

void PcieEndpoint::scheduler_method() {
    const sc_time now = sc_core::sc_time_stamp();
    while (!timed_work_.empty() && timed_work_.begin()->first <= now) {
        std::function<void()> fn = std::move(timed_work_.begin()->second);
        timed_work_.erase(timed_work_.begin());
        fn();
    }
    if (!timed_work_.empty())
        timed_work_event_.notify(timed_work_.begin()->first - now);
}

// ---------------------------------------------------------------------------------------------------------------
// Upstream.

void PcieEndpoint::lane_thread(unsigned index) {
    Lane &lane = lanes_[index];
    for (;;) {
        while (requests_.empty())
            sc_core::wait(request_event_);
        const Request request = requests_.front();
        requests_.pop_front();
        const pcie_ep_mem_req &req = request.req;
        const bool translation = req.at == PCIE_EP_AT_TRANSLATION_REQ;

        TxnAttr &attr = *lane.attr;
        attr = TxnAttr();
        attr.requester_id = bdf_;
        attr.kind = TxnKind::Memory;
        attr.at = translation                       ? PcieAt::TranslationRequest
                  : req.at == PCIE_EP_AT_TRANSLATED ? PcieAt::Translated
                                                    : PcieAt::Untranslated;
        attr.no_write = translation && req.no_write;
        attr.ssv = req.pasid_valid;
        attr.substream_id = req.pasid_valid ? req.pasid : 0;
        attr.exec = req.exec;
        attr.priv = req.priv;

        tlm::tlm_generic_payload &gp = lane.gp;
        const bool write = !translation && req.write;
        unsigned char *data =
            translation ? reinterpret_cast<unsigned char *>(&lane.translation_data) : req.data;
        const unsigned len = translation ? 8u : req.len;
        lane.translation_data = 0;
        gp.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
        gp.set_address(req.addr);
        gp.set_data_ptr(data);
        gp.set_data_length(len);
        gp.set_streaming_width(len);
        gp.set_byte_enable_ptr(nullptr);
        gp.set_byte_enable_length(0);
        gp.set_dmi_allowed(false);
        gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        ++counters_.mem_requests;
        if (translation)
            ++counters_.translation_requests;

        sc_time delay = sc_core::SC_ZERO_TIME;
        link_up_socket->b_transport(gp, delay);

        pcie_ep_cpl_status status = completion_status(gp);
        if (translation && status == PCIE_EP_CPL_SC && !attr.ats_valid)
            status = PCIE_EP_CPL_CA; // a completer that does not do ATS
        if (status == PCIE_EP_CPL_UR)
            ++counters_.completions_ur;
        else if (status == PCIE_EP_CPL_CA)
            ++counters_.completions_ca;
        pcie_ep_ats_cpl cpl{};
        if (translation) {
            cpl.status = static_cast<uint8_t>(status == PCIE_EP_CPL_SC ? static_cast<uint8_t>(attr.ats.status)
                                                                       : static_cast<uint8_t>(status));
            if (status == PCIE_EP_CPL_SC) {
                const AtsCompletion &ats = attr.ats;
                cpl.addr = ats.translated_addr;
                cpl.size_log2 = ats.size >= 4096 ? log2_of(ats.size) : 12;
                cpl.s = cpl.size_log2 > 12;
                cpl.read = ats.read;
                cpl.write = ats.write;
                cpl.exec = ats.exec;
                cpl.priv = ats.priv;
                cpl.global = ats.global;
                cpl.untranslated_only = ats.untranslated_only;
                cpl.non_snooped = ats.non_snooped;
            }
        }
        // The completion reaches the function at its annotated time. Completions of several lanes due at the
        // same time are applied in the order their requests completed here, not in the order the kernel
        // resumes the lanes (which depends on everything else it has scheduled, the CPU's quantum included),
        // so the function's tags and ATC see the same sequence in every run.
        completions_.at(sc_core::sc_time_stamp() + delay,
                        [this, request, status, cpl, translation, write, len] {
                            complete(request, status, cpl, translation, write, len);
                        });
        sc_core::wait(delay); // the lane is busy until then
    }
}

void PcieEndpoint::complete(const Request &request, pcie_ep_cpl_status status, const pcie_ep_ats_cpl &cpl,
                            bool translation, bool write, unsigned len) {
    const pcie_ep_mem_req &req = request.req;
    if (translation) {
        ats_round_trip_ps_.add(ps_of(sc_core::sc_time_stamp() - request.issued));
        --ats_in_flight_;
        const bool cached = pcie_ep_translation_done(ep_, request.tag, &cpl);
        if (trace_) {
            std::string fields =
                "tag=" + std::to_string(request.tag) + " status=" + completion_name(cpl.status);
            if (cpl.status == PCIE_EP_CPL_SC)
                fields += " out=" + hex_text(cpl.addr) + " size=2^" + std::to_string(cpl.size_log2) +
                          " perm=" + (cpl.read ? "r" : "") + (cpl.write ? "w" : "") + (cpl.exec ? "x" : "") +
                          (cpl.priv ? "p" : "") + (cpl.global ? "g" : "") +
                          (cpl.untranslated_only ? "u" : "");
            trace_line("ats_cpl", fields + " cached=" + (cached ? "1" : "0"));
        }
        if (signals_on_)
            sample_signals();
    } else {
        if (status == PCIE_EP_CPL_SC)
            (write ? counters_.bytes_written : counters_.bytes_read) += len;
        else if (trace_)
            trace_line("mem_cpl", "tag=" + std::to_string(request.tag) +
                                      " status=" + completion_name(status) + " addr=" + hex_text(req.addr));
        pcie_ep_mem_done(ep_, request.tag, status);
    }
}

// Messages, MSIs and INTx messages are posted and keep their order.
void PcieEndpoint::posted_thread() {
    for (;;) {
        while (posted_.empty())
            sc_core::wait(posted_event_);
        const Posted p = posted_.front();
        posted_.pop_front();

        TxnAttr &attr = *posted_attr_;
        attr = TxnAttr();
        attr.requester_id = bdf_;
        attr.kind = p.kind;
        uint64_t body = 0;
        uint64_t address = 0;
        unsigned len = 8;
        switch (p.kind) {
        case TxnKind::Memory:
            address = p.msi_addr;
            body = p.msi_data;
            len = 4;
            ++counters_.msi_writes;
            break;
        case TxnKind::PageRequest:
            address = p.msg.addr;
            attr.ssv = p.msg.pasid_valid;
            attr.substream_id = p.msg.pasid_valid ? p.msg.pasid : 0;
            attr.exec = p.msg.exec;
            attr.priv = p.msg.priv;
            attr.prg_index = p.msg.prg_index;
            attr.last = p.msg.last;
            attr.read = p.msg.read;
            attr.write = p.msg.write;
            ++counters_.messages_sent;
            break;
        case TxnKind::AtsInvalidationCompletion:
            attr.itag_vector = p.msg.itag_vector;
            attr.completion_count = p.msg.completion_count;
            ++counters_.messages_sent;
            break;
        default: { // INTx: the virtual wire is the function's Interrupt Pin
            uint32_t pin = 0;
            pcie_ep_cfg_read(ep_, kConfigInterruptPin, 1, &pin);
            if (pin < 1 || pin > 4)
                continue; // no INTx pin: nothing to signal
            attr.intx_pin = static_cast<uint8_t>(pin - 1);
            ++counters_.intx_messages;
            break;
        }
        }
        unsigned char data[8];
        store_le(data, body, len);
        posted_gp_.set_command(tlm::TLM_WRITE_COMMAND);
        posted_gp_.set_address(address);
        posted_gp_.set_data_ptr(data);
        posted_gp_.set_data_length(len);
        posted_gp_.set_streaming_width(len);
        posted_gp_.set_byte_enable_ptr(nullptr);
        posted_gp_.set_byte_enable_length(0);
        posted_gp_.set_dmi_allowed(false);
        posted_gp_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
        sc_time delay = sc_core::SC_ZERO_TIME;
        link_up_socket->b_transport(posted_gp_, delay);
        sc_core::wait(delay);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// From the root complex.

void PcieEndpoint::link_down_b_transport(tlm::tlm_generic_payload &gp, sc_time &delay) {
    const TxnAttr *attr = TxnAttr::of(gp);
    const TxnKind kind = attr ? attr->kind : TxnKind::Memory;
    if (gp.is_read() && (kind == TxnKind::ConfigRequest || kind == TxnKind::Memory)) {
        // A read is answered with the function's state when it arrives: it waits for its arrival time when
        // the caller is a thread (so the device's own timed work up to then has happened), and it never
        // passes a posted write that arrived before it (PCIe ordering).
        if (delay > sc_core::SC_ZERO_TIME &&
            sc_core::sc_get_current_process_handle().proc_kind() == sc_core::SC_THREAD_PROC_) {
            sc_core::wait(delay);
            delay = sc_core::SC_ZERO_TIME;
        }
        arrivals_.run_until(sc_core::sc_time_stamp() + delay);
    }
    const sc_time when = sc_core::sc_time_stamp() + delay;
    const uint64_t addr = gp.get_address();
    const unsigned len = gp.get_data_length();
    unsigned char *data = gp.get_data_ptr();
    switch (kind) {
    case TxnKind::ConfigRequest: {
        if (!is_single_access(gp, false) || addr >= PCIE_EP_CFG_SIZE) {
            gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
            return;
        }
        if (gp.is_read()) {
            ++counters_.config_reads;
            uint32_t value = 0;
            if (!pcie_ep_cfg_read(ep_, static_cast<uint32_t>(addr), len, &value)) {
                gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
                return;
            }
            store_le(data, value, len);
        } else {
            ++counters_.config_writes;
            const auto value = static_cast<uint32_t>(load_le(data, len));
            arrivals_.at(when, [this, addr, len, value] {
                pcie_ep_cfg_write(ep_, static_cast<uint32_t>(addr), len, value);
            });
        }
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    case TxnKind::Memory: {
        if (!is_single_access(gp, true)) {
            gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
            return;
        }
        if (gp.is_read()) {
            ++counters_.mmio_reads;
            uint64_t value = 0;
            if (!pcie_ep_mmio_read(ep_, addr, len, &value)) {
                gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
                return;
            }
            store_le(data, value, len);
        } else {
            ++counters_.mmio_writes;
            const uint64_t value = load_le(data, len);
            // Posted: a refusal has no one to tell.
            arrivals_.at(when, [this, addr, len, value] { pcie_ep_mmio_write(ep_, addr, len, value); });
        }
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    case TxnKind::AtsInvalidationRequest: {
        pcie_ep_inv_req req{};
        req.addr = addr;
        req.size_log2 = attr->inv_size == 0 ? 64 : log2_of(attr->inv_size);
        req.pasid_valid = attr->ssv;
        req.pasid = attr->ssv ? attr->substream_id : 0;
        req.global = attr->inv_global;
        req.itag = attr->itag;
        ++counters_.invalidations_received;
        arrivals_.at(when, [this, req] { receive_invalidation(req); });
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    case TxnKind::PrgResponse: {
        const uint16_t index = attr->prg_index;
        const auto code = static_cast<uint8_t>(attr->prg_response);
        ++counters_.prg_responses;
        arrivals_.at(when, [this, index, code] {
            if (trace_)
                trace_line("prg_resp", "prgi=" + hex_text(index) + " code=" + hex_text(code));
            if (signals_on_)
                pulse(prg_response_pulse_);
            auto group = groups_sent_.find(index);
            if (group != groups_sent_.end()) {
                pri_response_time_ps_.add(ps_of(sc_core::sc_time_stamp() - group->second));
                groups_sent_.erase(group);
            }
            pcie_ep_prg_response(ep_, index, code);
            if (signals_on_)
                sample_signals();
        });
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    default:
        gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
        return;
    }
}

unsigned PcieEndpoint::link_down_transport_dbg(tlm::tlm_generic_payload &gp) {
    // Configuration space only: BAR reads may have side effects in the device logic.
    const TxnAttr *attr = TxnAttr::of(gp);
    if (!attr || attr->kind != TxnKind::ConfigRequest || !gp.is_read() || !is_single_access(gp, false) ||
        gp.get_address() >= PCIE_EP_CFG_SIZE)
        return 0;
    uint32_t value = 0;
    if (!pcie_ep_cfg_read(ep_, static_cast<uint32_t>(gp.get_address()), gp.get_data_length(), &value))
        return 0;
    store_le(gp.get_data_ptr(), value, gp.get_data_length());
    return gp.get_data_length();
}

// Link-level flow control: an invalidation the function cannot take now waits here, and the ones behind it
// wait too, so they reach the function in the order they were sent.
void PcieEndpoint::receive_invalidation(const pcie_ep_inv_req &req) {
    const char *outcome = "accepted";
    if (!held_invalidations_.empty()) {
        held_invalidations_.push_back(req);
        ++counters_.invalidations_held;
        outcome = "held";
    } else {
        switch (pcie_ep_ats_invalidate(ep_, &req)) {
        case PCIE_EP_INV_QUEUE_FULL:
            held_invalidations_.push_back(req);
            ++counters_.invalidations_held;
            outcome = "held";
            break;
        case PCIE_EP_INV_BAD_ITAG:
            ++counters_.invalidations_dropped;
            outcome = "bad_itag";
            break;
        default:
            break;
        }
    }
    if (trace_)
        trace_line("atc_inv", "addr=" + hex_text(req.addr) + " size=2^" + std::to_string(req.size_log2) +
                                  " pasid=" + pasid_text(req.pasid_valid, req.pasid) +
                                  " global=" + (req.global ? "1" : "0") +
                                  " itag=" + std::to_string(req.itag) + " " + outcome);
    if (signals_on_)
        sample_signals();
}

void PcieEndpoint::retry_held_invalidations() {
    while (!held_invalidations_.empty()) {
        const pcie_ep_inv_req &req = held_invalidations_.front();
        const pcie_ep_inv_result result = pcie_ep_ats_invalidate(ep_, &req);
        if (result == PCIE_EP_INV_QUEUE_FULL)
            return;
        if (trace_)
            trace_line("atc_inv",
                       "addr=" + hex_text(req.addr) + " size=2^" + std::to_string(req.size_log2) +
                           " pasid=" + pasid_text(req.pasid_valid, req.pasid) +
                           " global=" + (req.global ? "1" : "0") + " itag=" + std::to_string(req.itag) + " " +
                           (result == PCIE_EP_INV_BAD_ITAG ? "bad_itag" : "accepted") + " retried");
        if (signals_on_)
            sample_signals();
        if (result == PCIE_EP_INV_BAD_ITAG)
            ++counters_.invalidations_dropped;
        held_invalidations_.pop_front();
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics.

void PcieEndpoint::stats(const std::function<void(const std::string &, uint64_t)> &cb) const {
    cb("link.mem_requests", counters_.mem_requests);
    cb("link.translation_requests", counters_.translation_requests);
    cb("link.completions_ur", counters_.completions_ur);
    cb("link.completions_ca", counters_.completions_ca);
    cb("link.bytes_read", counters_.bytes_read);
    cb("link.bytes_written", counters_.bytes_written);
    cb("link.msi_writes", counters_.msi_writes);
    cb("link.messages_sent", counters_.messages_sent);
    cb("link.intx_messages", counters_.intx_messages);
    cb("link.config_reads", counters_.config_reads);
    cb("link.config_writes", counters_.config_writes);
    cb("link.mmio_reads", counters_.mmio_reads);
    cb("link.mmio_writes", counters_.mmio_writes);
    cb("link.invalidations_received", counters_.invalidations_received);
    cb("link.invalidations_held", counters_.invalidations_held);
    cb("link.invalidations_dropped", counters_.invalidations_dropped);
    cb("link.prg_responses", counters_.prg_responses);
#ifdef VP_HAVE_PCIE_DEV
    if (dev_) {
        pcie_dev_stats(
            dev_,
            [](void *arg, const char *name, uint64_t value) {
                (*static_cast<const std::function<void(const std::string &, uint64_t)> *>(arg))(name, value);
            },
            const_cast<void *>(static_cast<const void *>(&cb)));
        return;
    }
#endif
    pcie_ep_atc_info atc{};
    pcie_ep_atc_stats(ep_, &atc);
    cb("atc.entries", atc.entries);
    cb("atc.hits", atc.hits);
    cb("atc.misses", atc.misses);
    cb("atc.invalidated", atc.invalidated);
}

void PcieEndpoint::register_stats(Stats &stats, const std::string &prefix) const {
    const std::string p = prefix.empty() ? std::string(name()) : prefix;
    stats.counters_from(p, [this](const auto &each) { this->stats(each); });
    stats.histogram(p + ".ats.round_trip_ps", &ats_round_trip_ps_);
    stats.histogram(p + ".pri.response_time_ps", &pri_response_time_ps_);
}

} // namespace vp
