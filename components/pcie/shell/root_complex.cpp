#include "root_complex.h"

#include <cstdio>
#include <cstring>
#include <ostream>
#include <stdexcept>

#include "endpoint.h"
#include "reg_access.h"

namespace vp {

using sc_core::sc_time;

namespace {

constexpr uint32_t kAllOnes = 0xFFFFFFFF;

void validate_rid_map(const std::vector<PcieRidRange> &map) {
    for (size_t i = 0; i < map.size(); ++i) {
        const PcieRidRange &r = map[i];
        char what[96];
        std::snprintf(what, sizeof what, "RID map range 0x%x +%u -> 0x%x: ", r.rid_base, r.count, r.sid_base);
        if (r.count == 0)
            throw std::invalid_argument(std::string(what) + "empty");
        if (uint64_t{r.rid_base} + r.count > 0x10000)
            throw std::invalid_argument(std::string(what) + "RIDs beyond 0xffff");
        if (uint64_t{r.sid_base} + r.count > 0x100000000)
            throw std::invalid_argument(std::string(what) + "StreamIDs beyond 0xffffffff");
        for (size_t j = 0; j < i; ++j) {
            const PcieRidRange &o = map[j];
            if (r.rid_base < o.rid_base + o.count && o.rid_base < r.rid_base + r.count)
                throw std::invalid_argument(std::string(what) + "overlaps the RIDs of another range");
            // Messages from the SMMU find their endpoint through the inverse map: it must be one-to-one.
            if (uint64_t{r.sid_base} < uint64_t{o.sid_base} + o.count &&
                uint64_t{o.sid_base} < uint64_t{r.sid_base} + r.count)
                throw std::invalid_argument(std::string(what) + "overlaps the StreamIDs of another range");
        }
    }
}

} // namespace

std::string pcie_bdf_text(uint16_t bdf) {
    char text[16];
    std::snprintf(text, sizeof text, "%02x:%02x.%x", bdf >> 8, (bdf >> 3) & 0x1F, bdf & 7);
    return text;
}

PcieRootComplex::PcieRootComplex(sc_core::sc_module_name name, const Params &params)
    : sc_module(name), ecam_socket("ecam_socket"), mmio_socket("mmio_socket"), smmu_socket("smmu_socket"),
      message_socket("message_socket"), link_up_socket("link_up_socket"),
      link_down_socket("link_down_socket"), intx("intx", kIntxLines), params_(params),
      host_bridge_writes_("host_bridge_writes") {
    validate_rid_map(params_.rid_map);
    pcie_ep_params bridge{};
    bridge.vendor_id = kHostBridgeVendor;
    bridge.device_id = kHostBridgeDevice;
    bridge.class_code = kHostBridgeClass;
    // The host bridge never issues requests or interrupts: no host operation is ever called.
    static const pcie_ep_host_ops no_requests{};
    host_bridge_ = pcie_ep_create(&bridge, &no_requests, this);
    if (!host_bridge_)
        throw std::logic_error("PCIe root complex: the host bridge function cannot be created");

    ecam_socket.register_b_transport(this, &PcieRootComplex::ecam_b_transport);
    ecam_socket.register_transport_dbg(this, &PcieRootComplex::ecam_transport_dbg);
    mmio_socket.register_b_transport(this, &PcieRootComplex::mmio_b_transport);
    mmio_socket.register_transport_dbg(this, &PcieRootComplex::mmio_transport_dbg);
    message_socket.register_b_transport(this, &PcieRootComplex::message_b_transport);
    link_up_socket.register_b_transport(this, &PcieRootComplex::link_up_b_transport);
    static const char *const line_names[kIntxLines] = {"inta", "intb", "intc", "intd"};
    for (unsigned i = 0; i < kIntxLines; ++i)
        intx_writers_.push_back(std::make_unique<TimedWriter<bool>>(intx[i], line_names[i]));
}

PcieRootComplex::~PcieRootComplex() {
    pcie_ep_destroy(host_bridge_);
}

void PcieRootComplex::attach(PcieEndpoint &endpoint) {
    const uint16_t bdf = endpoint.bdf();
    const std::string where = "PCIe endpoint at " + pcie_bdf_text(bdf) + ": ";
    if (bdf == 0)
        throw std::invalid_argument(where + "00:00.0 is the host bridge");
    if ((bdf >> 8) != 0)
        throw std::invalid_argument(where + "only bus 00 exists (the root complex has no bridges)");
    if (port_of_bdf(bdf) >= 0)
        throw std::invalid_argument(where + "another endpoint already has this BDF");
    // Both multi-sockets number their bindings in order: port N is endpoints_[N] in both directions.
    link_down_socket.bind(endpoint.link_down_socket);
    endpoint.link_up_socket.bind(link_up_socket);
    endpoints_.push_back(&endpoint);
    intx_asserted_.push_back({});
}

int PcieRootComplex::port_of_bdf(uint16_t bdf) const {
    for (size_t i = 0; i < endpoints_.size(); ++i)
        if (endpoints_[i]->bdf() == bdf)
            return static_cast<int>(i);
    return -1;
}

bool PcieRootComplex::stream_id_of(uint16_t rid, uint32_t &sid) const {
    if (params_.rid_map.empty()) {
        sid = rid;
        return true;
    }
    for (const PcieRidRange &r : params_.rid_map) {
        if (rid >= r.rid_base && rid - r.rid_base < r.count) {
            sid = r.sid_base + (rid - r.rid_base);
            return true;
        }
    }
    return false;
}

bool PcieRootComplex::rid_of(uint32_t sid, uint16_t &rid) const {
    if (params_.rid_map.empty()) {
        if (sid > 0xFFFF)
            return false;
        rid = static_cast<uint16_t>(sid);
        return true;
    }
    for (const PcieRidRange &r : params_.rid_map) {
        if (sid >= r.sid_base && sid - r.sid_base < r.count) {
            rid = static_cast<uint16_t>(r.rid_base + (sid - r.sid_base));
            return true;
        }
    }
    return false;
}

// One request over the link of PORT, with a TxnAttr of KIND unless the payload carries one; the link's time
// both ways is in DELAY. False: the function answered with an error (Unsupported Request).
bool PcieRootComplex::link_transport(int port, tlm::tlm_generic_payload &gp, TxnKind kind, sc_time &delay) {
    TxnAttr attr;
    attr.kind = kind;
    const bool own_attr = TxnAttr::of(gp) == nullptr;
    if (own_attr)
        gp.set_extension(&attr);
    delay += params_.link_latency;
    link_down_socket[port]->b_transport(gp, delay);
    delay += params_.link_latency;
    if (own_attr)
        gp.clear_extension(&attr); // stack-owned: the payload must not free it
    return gp.is_response_ok();
}

// ---------------------------------------------------------------------------------------------------------------
// Configuration space (ECAM).

bool PcieRootComplex::config_read(uint16_t bdf, uint32_t reg, unsigned size, uint32_t &value, sc_time &delay,
                                  bool debug) {
    if (bdf == 0)
        return pcie_ep_cfg_read(host_bridge_, reg, size, &value);
    const int port = port_of_bdf(bdf);
    if (port < 0)
        return false;
    unsigned char bytes[4] = {};
    tlm::tlm_generic_payload gp;
    TxnAttr attr;
    attr.kind = TxnKind::ConfigRequest;
    gp.set_extension(&attr);
    gp.set_command(tlm::TLM_READ_COMMAND);
    gp.set_address(reg);
    gp.set_data_ptr(bytes);
    gp.set_data_length(size);
    gp.set_streaming_width(size);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    bool ok;
    if (debug) {
        ok = link_down_socket[port]->transport_dbg(gp) == size;
    } else {
        delay += params_.link_latency;
        link_down_socket[port]->b_transport(gp, delay);
        delay += params_.link_latency;
        ok = gp.is_response_ok();
    }
    gp.clear_extension(&attr);
    // An Unsupported Request completion of an existing function reads as all-ones too.
    value = ok ? static_cast<uint32_t>(load_le(bytes, size)) : kAllOnes;
    return true;
}

bool PcieRootComplex::config_write(uint16_t bdf, uint32_t reg, unsigned size, uint32_t value,
                                   sc_time &delay) {
    if (bdf == 0) {
        host_bridge_writes_.after(
            delay, [this, reg, size, value] { pcie_ep_cfg_write(host_bridge_, reg, size, value); });
        return true;
    }
    const int port = port_of_bdf(bdf);
    if (port < 0)
        return false;
    unsigned char bytes[4];
    store_le(bytes, value, size);
    tlm::tlm_generic_payload gp;
    gp.set_command(tlm::TLM_WRITE_COMMAND);
    gp.set_address(reg);
    gp.set_data_ptr(bytes);
    gp.set_data_length(size);
    gp.set_streaming_width(size);
    gp.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    link_transport(port, gp, TxnKind::ConfigRequest, delay);
    return true;
}

void PcieRootComplex::ecam_b_transport(tlm::tlm_generic_payload &gp, sc_time &delay) {
    const uint64_t offset = gp.get_address();
    const unsigned len = gp.get_data_length();
    if (!is_single_access(gp) || offset >= kEcamSize) {
        ++counters_.ecam_errors;
        gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    const auto bdf = static_cast<uint16_t>(offset >> 12); // bus[23:20] dev[19:15] fn[14:12]
    const auto reg = static_cast<uint32_t>(offset & 0xFFF);
    unsigned char *data = gp.get_data_ptr();
    delay += params_.rc_latency;
    // Configuration requests are at most a DWORD: a 64-bit access is two of them, low first.
    for (unsigned done = 0; done < len; done += 4) {
        const unsigned size = len < 4 ? len : 4;
        if (gp.is_read()) {
            ++counters_.ecam_reads;
            uint32_t value = kAllOnes;
            if (!config_read(bdf, reg + done, size, value, delay, false)) {
                ++counters_.ecam_absent;
                value = kAllOnes;
            }
            store_le(data + done, value, size);
        } else {
            ++counters_.ecam_writes;
            if (!config_write(bdf, reg + done, size, static_cast<uint32_t>(load_le(data + done, size)),
                              delay))
                ++counters_.ecam_absent;
        }
    }
    delay += params_.rc_latency;
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned PcieRootComplex::ecam_transport_dbg(tlm::tlm_generic_payload &gp) {
    if (!gp.is_read() || !is_single_access(gp) || gp.get_address() >= kEcamSize)
        return 0;
    const uint64_t offset = gp.get_address();
    const unsigned len = gp.get_data_length();
    sc_time unused = sc_core::SC_ZERO_TIME;
    for (unsigned done = 0; done < len; done += 4) {
        const unsigned size = len < 4 ? len : 4;
        uint32_t value = kAllOnes;
        if (!config_read(static_cast<uint16_t>(offset >> 12), static_cast<uint32_t>(offset & 0xFFF) + done,
                         size, value, unused, true))
            value = kAllOnes;
        store_le(gp.get_data_ptr() + done, value, size);
    }
    return len;
}

// ---------------------------------------------------------------------------------------------------------------
// MMIO window.

int PcieRootComplex::claiming_port(uint64_t bus_addr, unsigned size) const {
    for (size_t i = 0; i < endpoints_.size(); ++i)
        if (endpoints_[i]->claims(bus_addr, size))
            return static_cast<int>(i);
    return -1;
}

// As QEMU's generic host bridge does: an address no BAR claims, or a BAR access the function refuses (UR),
// reads as all-ones and drops a write, instead of a bus error (Linux and firmware probe this way).
void PcieRootComplex::mmio_b_transport(tlm::tlm_generic_payload &gp, sc_time &delay) {
    if (!is_single_access(gp)) {
        gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    const uint64_t offset = gp.get_address();
    const uint64_t bus_addr = params_.mmio_base + offset;
    const unsigned len = gp.get_data_length();
    const bool read = gp.is_read();
    (read ? counters_.mmio_reads : counters_.mmio_writes)++;
    delay += params_.rc_latency;
    const int port = claiming_port(bus_addr, len);
    if (port < 0) {
        ++counters_.mmio_unclaimed;
        if (read)
            std::memset(gp.get_data_ptr(), 0xFF, len);
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    }
    gp.set_address(bus_addr);
    if (read) {
        const bool ok = link_transport(port, gp, TxnKind::Memory, delay);
        delay += params_.rc_latency;
        if (!ok) {
            ++counters_.mmio_ur;
            std::memset(gp.get_data_ptr(), 0xFF, len);
        }
    } else {
        // Posted: the CPU is done once the root complex has the write; the function sees it a link later.
        sc_time arrival = delay;
        if (!link_transport(port, gp, TxnKind::Memory, arrival))
            ++counters_.mmio_ur;
    }
    gp.set_address(offset);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned PcieRootComplex::mmio_transport_dbg(tlm::tlm_generic_payload &) {
    return 0; // BAR reads may have side effects in the device logic
}

// ---------------------------------------------------------------------------------------------------------------
// Messages from the SMMU toward an endpoint (posted: the SMMU does not wait for the delivery).

void PcieRootComplex::message_b_transport(tlm::tlm_generic_payload &gp, sc_time &delay) {
    TxnAttr *attr = TxnAttr::of(gp);
    if (!attr || (attr->kind != TxnKind::AtsInvalidationRequest && attr->kind != TxnKind::PrgResponse)) {
        ++counters_.bad_upstream;
        gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
        return;
    }
    uint16_t rid = 0;
    const int port = rid_of(attr->stream_id, rid) ? port_of_bdf(rid) : -1;
    if (trace_) {
        char fields[96];
        std::snprintf(fields, sizeof fields, "msg=%s sid=0x%x to=%s%s",
                      attr->kind == TxnKind::PrgResponse ? "prg_resp" : "ats_inv", attr->stream_id,
                      port < 0 ? "-" : pcie_bdf_text(rid).c_str(), port < 0 ? " dropped" : "");
        trace_line(sc_core::sc_time_stamp() + delay, "msg_down", fields);
    }
    if (port < 0) {
        // Nobody can take it: the SMMU treats it as answered (as after an Unsupported Request).
        ++counters_.downstream_dropped;
        gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    ++counters_.downstream_messages;
    attr->requester_id = rid; // routed by ID
    sc_time arrival = delay + params_.rc_latency + params_.link_latency;
    link_down_socket[port]->b_transport(gp, arrival);
    gp.set_response_status(tlm::TLM_OK_RESPONSE);
}

// ---------------------------------------------------------------------------------------------------------------
// Requests and messages from the endpoints.

void PcieRootComplex::link_up_b_transport(int port, tlm::tlm_generic_payload &gp, sc_time &delay) {
    TxnAttr *attr = TxnAttr::of(gp);
    if (!attr || port < 0 || static_cast<size_t>(port) >= endpoints_.size()) {
        ++counters_.bad_upstream;
        gp.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
        return;
    }
    // The RID is the link's: a function cannot claim another's identity.
    attr->requester_id = endpoints_[port]->bdf();
    delay += params_.link_latency;
    uint32_t sid = 0;
    const bool mapped = stream_id_of(attr->requester_id, sid);
    switch (attr->kind) {
    case TxnKind::Memory: {
        const bool non_posted = gp.is_read() || attr->at == PcieAt::TranslationRequest;
        if (!mapped) {
            if (trace_) {
                char fields[80];
                std::snprintf(fields, sizeof fields, "from=%s addr=0x%llx",
                              pcie_bdf_text(attr->requester_id).c_str(),
                              static_cast<unsigned long long>(gp.get_address()));
                trace_line(sc_core::sc_time_stamp() + delay, "unmapped", fields);
            }
            ++counters_.unmapped_rid_requests;
            gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE); // Unsupported Request
            if (non_posted)
                delay += params_.rc_latency + params_.link_latency;
            return;
        }
        attr->stream_id = sid;
        ++counters_.upstream_requests;
        if (attr->at == PcieAt::TranslationRequest)
            ++counters_.upstream_translation_requests;
        delay += params_.rc_latency;
        smmu_socket->b_transport(gp, delay);
        if (!gp.is_response_ok())
            ++counters_.upstream_errors;
        if (non_posted)
            delay += params_.rc_latency + params_.link_latency;
        return;
    }
    case TxnKind::PageRequest:
    case TxnKind::AtsInvalidationCompletion:
        if (trace_) {
            char fields[96];
            if (mapped)
                std::snprintf(fields, sizeof fields, "msg=%s from=%s sid=0x%x",
                              attr->kind == TxnKind::PageRequest ? "page_req" : "atc_inv_cpl",
                              pcie_bdf_text(attr->requester_id).c_str(), sid);
            else
                std::snprintf(fields, sizeof fields, "msg=%s from=%s sid=- dropped",
                              attr->kind == TxnKind::PageRequest ? "page_req" : "atc_inv_cpl",
                              pcie_bdf_text(attr->requester_id).c_str());
            trace_line(sc_core::sc_time_stamp() + delay, "msg_up", fields);
        }
        if (!mapped) {
            ++counters_.unmapped_rid_messages;
            gp.set_response_status(tlm::TLM_OK_RESPONSE); // posted: dropped here, nobody is told
            return;
        }
        attr->stream_id = sid;
        ++counters_.upstream_messages;
        delay += params_.rc_latency;
        smmu_socket->b_transport(gp, delay);
        return;
    case TxnKind::IntxAssert:
    case TxnKind::IntxDeassert:
        intx_message(port, *attr, delay + params_.rc_latency);
        gp.set_response_status(tlm::TLM_OK_RESPONSE);
        return;
    default:
        ++counters_.bad_upstream;
        gp.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
        return;
    }
}

// The standard swizzle of a device on bus 0: virtual wire PIN of device DEV drives line (DEV + PIN) % 4; the
// lines are wired-OR across the functions that share them.
void PcieRootComplex::intx_message(int port, const TxnAttr &attr, const sc_time &delay) {
    const bool assert = attr.kind == TxnKind::IntxAssert;
    (assert ? counters_.intx_assert : counters_.intx_deassert)++;
    const unsigned pin = attr.intx_pin & 3u;
    bool &state = intx_asserted_[port][pin];
    if (state == assert)
        return;
    state = assert;
    const unsigned dev = (endpoints_[port]->bdf() >> 3) & 0x1F;
    const unsigned line = (dev + pin) % kIntxLines;
    if (assert)
        ++intx_sources_[line];
    else
        --intx_sources_[line];
    intx_writers_[line]->write_after(delay, intx_sources_[line] != 0);
    if (trace_) {
        char fields[64];
        std::snprintf(fields, sizeof fields, "from=%s line=INT%c sources=%u",
                      pcie_bdf_text(endpoints_[port]->bdf()).c_str(), static_cast<char>('A' + line),
                      intx_sources_[line]);
        trace_line(sc_core::sc_time_stamp() + delay, "intx", fields);
    }
}

// ---------------------------------------------------------------------------------------------------------------

void PcieRootComplex::stats(const std::function<void(const std::string &, uint64_t)> &cb) const {
    cb("ecam_reads", counters_.ecam_reads);
    cb("ecam_writes", counters_.ecam_writes);
    cb("ecam_absent", counters_.ecam_absent);
    cb("ecam_errors", counters_.ecam_errors);
    cb("mmio_reads", counters_.mmio_reads);
    cb("mmio_writes", counters_.mmio_writes);
    cb("mmio_unclaimed", counters_.mmio_unclaimed);
    cb("mmio_ur", counters_.mmio_ur);
    cb("upstream_requests", counters_.upstream_requests);
    cb("upstream_translation_requests", counters_.upstream_translation_requests);
    cb("upstream_errors", counters_.upstream_errors);
    cb("upstream_messages", counters_.upstream_messages);
    cb("unmapped_rid_requests", counters_.unmapped_rid_requests);
    cb("unmapped_rid_messages", counters_.unmapped_rid_messages);
    cb("bad_upstream", counters_.bad_upstream);
    cb("downstream_messages", counters_.downstream_messages);
    cb("downstream_dropped", counters_.downstream_dropped);
    cb("intx_assert", counters_.intx_assert);
    cb("intx_deassert", counters_.intx_deassert);
}

void PcieRootComplex::register_stats(Stats &stats, const std::string &prefix) const {
    stats.counters_from(prefix.empty() ? std::string(name()) : prefix,
                        [this](const auto &each) { this->stats(each); });
}

} // namespace vp
