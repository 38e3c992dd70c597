// A fake root complex for the PCIe personality tests: sparse memory behind mem_request, a translation table
// that answers Translation Requests and translates untranslated requests (an IOMMU stand-in), a page request
// handler that maps the pages and answers each group, and a time-ordered event queue the test pumps. Every
// answer goes through the queue, never from inside the call that asked, as pcie_ep_host_ops requires.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "pcie_ep.h"

namespace fake {

struct Mapping {
    uint64_t phys_page;
    bool read = true, write = true;
};

enum class PriPolicy { Manual, MapAndSucceed, Invalid, Failure, SucceedWithoutMapping };

struct Host {
    pcie_ep *ep = nullptr;

    // ---- time ----
    uint64_t now = 0;
    uint64_t seq = 0;
    std::map<std::pair<uint64_t, uint64_t>, std::function<void()>> events;
    void at(uint64_t delay, std::function<void()> fn) {
        events.emplace(std::make_pair(now + delay, seq++), fn);
    }
    // Runs events in time order; false if max_events ran out (a livelock).
    bool run(uint64_t max_events = 5'000'000) {
        while (!events.empty()) {
            if (max_events-- == 0)
                return false;
            auto it = events.begin();
            now = it->first.first;
            auto fn = std::move(it->second);
            events.erase(it);
            fn();
        }
        return true;
    }
    bool run_until(const std::function<bool()> &pred, uint64_t max_events = 5'000'000) {
        while (!pred()) {
            if (events.empty() || max_events-- == 0)
                return false;
            auto it = events.begin();
            now = it->first.first;
            auto fn = std::move(it->second);
            events.erase(it);
            fn();
        }
        return true;
    }

    // ---- memory ----
    std::map<uint64_t, std::array<uint8_t, 4096>> pages;
    uint8_t peek(uint64_t a) const {
        auto it = pages.find(a & ~0xFFFull);
        return it == pages.end() ? 0 : it->second[a & 0xFFF];
    }
    void poke(uint64_t a, uint8_t v) {
        auto it = pages.find(a & ~0xFFFull);
        if (it == pages.end())
            it = pages.emplace(a & ~0xFFFull, std::array<uint8_t, 4096>{}).first;
        it->second[a & 0xFFF] = v;
    }
    uint64_t peek64(uint64_t a) const {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
            v = v << 8 | peek(a + i);
        return v;
    }
    void poke64(uint64_t a, uint64_t v) {
        for (int i = 0; i < 8; i++, v >>= 8)
            poke(a + i, (uint8_t)v);
    }

    // ---- translation ----
    std::map<std::tuple<bool, uint32_t, uint64_t>, Mapping> table; // (pasid_valid, pasid, page)
    bool translate_untranslated = false;       // false: untranslated addresses are physical
    std::optional<uint8_t> translation_status; // forces UR (1) / CA (4) on Translation Requests
    std::function<std::optional<pcie_ep_cpl_status>(const pcie_ep_mem_req &)> mem_status; // forced status
    // Translation Requests answered with `cached` forced to fail by an invalidation racing them.
    unsigned race_next_translations = 0;
    uint64_t mem_latency = 100, translation_latency = 100, pri_latency = 1000;

    void map(uint64_t page, uint64_t phys, bool r = true, bool w = true, bool pv = false,
             uint32_t pasid = 0) {
        table[{pv, pasid, page & ~0xFFFull}] = Mapping{phys & ~0xFFFull, r, w};
    }
    const Mapping *lookup(bool pv, uint32_t pasid, uint64_t addr) const {
        auto it = table.find({pv, pv ? pasid : 0, addr & ~0xFFFull});
        return it == table.end() ? nullptr : &it->second;
    }

    // ---- records ----
    struct Req {
        uint32_t tag;
        pcie_ep_mem_req req;
        uint64_t time;
    };
    std::vector<Req> reqs;
    std::vector<pcie_ep_msg> msgs;
    std::vector<std::pair<uint64_t, uint32_t>> msi;
    std::vector<bool> intx;
    std::vector<std::pair<uint16_t, uint8_t>> responses; // PRG Responses sent
    PriPolicy pri_policy = PriPolicy::MapAndSucceed;
    uint64_t fault_in_phys_offset = 0x1'0000'0000ull; // where page requests map their pages
    unsigned max_outstanding_page_requests = 0;       // seen at once (for the Allocation check)
    unsigned outstanding_page_requests = 0;
    std::vector<pcie_ep_msg> group; // page requests of the group being received

    std::vector<uint64_t> data_addrs(bool write) const {
        std::vector<uint64_t> v;
        for (const auto &r : reqs)
            if (r.req.at != PCIE_EP_AT_TRANSLATION_REQ && r.req.write == write)
                v.push_back(r.req.addr);
        return v;
    }
    size_t count_at(pcie_ep_at at) const {
        size_t n = 0;
        for (const auto &r : reqs)
            n += r.req.at == at;
        return n;
    }
    std::vector<pcie_ep_msg> page_requests() const {
        std::vector<pcie_ep_msg> v;
        for (const auto &m : msgs)
            if (m.kind == PCIE_EP_MSG_PAGE_REQUEST && (m.read || m.write))
                v.push_back(m);
        return v;
    }
    std::vector<pcie_ep_msg> stop_markers() const {
        std::vector<pcie_ep_msg> v;
        for (const auto &m : msgs)
            if (m.kind == PCIE_EP_MSG_PAGE_REQUEST && !m.read && !m.write && m.last)
                v.push_back(m);
        return v;
    }

    void answer_group(uint16_t index, uint8_t code) {
        responses.push_back({index, code});
        pcie_ep_prg_response(ep, index, code);
    }

    // ---- pcie_ep_host_ops ----
    unsigned data_inflight = 0, max_data_inflight = 0;
    void on_mem(uint32_t tag, const pcie_ep_mem_req &r) {
        reqs.push_back({tag, r, now});
        if (r.at != PCIE_EP_AT_TRANSLATION_REQ && ++data_inflight > max_data_inflight)
            max_data_inflight = data_inflight;
        pcie_ep_mem_req copy = r;
        if (r.at == PCIE_EP_AT_TRANSLATION_REQ) {
            at(translation_latency, [this, tag, copy] { complete_translation(tag, copy); });
        } else {
            at(mem_latency, [this, tag, copy] { complete_mem(tag, copy); });
        }
    }
    void complete_translation(uint32_t tag, const pcie_ep_mem_req &r) {
        pcie_ep_ats_cpl c{};
        if (translation_status) {
            c.status = *translation_status;
        } else if (const Mapping *m = lookup(r.pasid_valid, r.pasid, r.addr)) {
            c.addr = m->phys_page;
            c.read = m->read;
            c.write = m->write;
            c.exec = true;
            c.priv = r.priv;
        }
        if (race_next_translations && (c.read || c.write)) {
            race_next_translations--;
            // An invalidation of the page overtakes the completion: the core must not cache it.
            pcie_ep_inv_req inv{};
            inv.addr = r.addr & ~0xFFFull;
            inv.size_log2 = 12;
            inv.pasid_valid = r.pasid_valid;
            inv.pasid = r.pasid;
            inv.itag = 31;
            pcie_ep_ats_invalidate(ep, &inv);
        }
        pcie_ep_translation_done(ep, tag, &c);
    }
    void complete_mem(uint32_t tag, const pcie_ep_mem_req &r) {
        data_inflight--;
        if (mem_status) {
            if (auto st = mem_status(r)) {
                pcie_ep_mem_done(ep, tag, *st);
                return;
            }
        }
        uint64_t phys = r.addr;
        if (r.at == PCIE_EP_AT_UNTRANSLATED && translate_untranslated) {
            const Mapping *m = lookup(r.pasid_valid, r.pasid, r.addr);
            if (!m || (r.write ? !m->write : !m->read)) {
                pcie_ep_mem_done(ep, tag, PCIE_EP_CPL_UR);
                return;
            }
            phys = m->phys_page | (r.addr & 0xFFF);
        }
        for (uint32_t i = 0; i < r.len; i++) {
            if (r.write)
                poke(phys + i, r.data[i]);
            else
                r.data[i] = peek(phys + i);
        }
        pcie_ep_mem_done(ep, tag, PCIE_EP_CPL_SC);
    }
    void on_msg(const pcie_ep_msg &m) {
        msgs.push_back(m);
        if (m.kind != PCIE_EP_MSG_PAGE_REQUEST || (!m.read && !m.write))
            return;
        outstanding_page_requests++;
        if (outstanding_page_requests > max_outstanding_page_requests)
            max_outstanding_page_requests = outstanding_page_requests;
        group.push_back(m);
        if (!m.last)
            return;
        std::vector<pcie_ep_msg> g = group;
        group.clear();
        if (pri_policy == PriPolicy::Manual)
            return;
        at(pri_latency, [this, g] {
            outstanding_page_requests -= (unsigned)g.size();
            uint8_t code = 0;
            if (pri_policy == PriPolicy::Invalid)
                code = 1;
            else if (pri_policy == PriPolicy::Failure)
                code = 0xF;
            else if (pri_policy == PriPolicy::MapAndSucceed)
                for (const auto &p : g)
                    map(p.addr, p.addr + fault_in_phys_offset, true, true, p.pasid_valid, p.pasid);
            answer_group(g.back().prg_index, code);
        });
    }
    // Answers a group the test held back (Manual policy).
    void release_manual(uint16_t index, uint8_t code, unsigned pages) {
        outstanding_page_requests -= pages;
        answer_group(index, code);
    }

    static void mem_cb(void *ctx, uint32_t tag, const pcie_ep_mem_req *r) {
        static_cast<Host *>(ctx)->on_mem(tag, *r);
    }
    static void msg_cb(void *ctx, const pcie_ep_msg *m) { static_cast<Host *>(ctx)->on_msg(*m); }
    static void sched_cb(void *ctx, uint64_t ps, void (*fn)(void *), void *arg) {
        static_cast<Host *>(ctx)->at(ps, [fn, arg] { fn(arg); });
    }
    static void msi_cb(void *ctx, uint64_t addr, uint32_t data) {
        auto *h = static_cast<Host *>(ctx);
        h->msi.push_back({addr, data});
    }
    static void intx_cb(void *ctx, bool level) { static_cast<Host *>(ctx)->intx.push_back(level); }
    pcie_ep_host_ops ops() { return pcie_ep_host_ops{mem_cb, msg_cb, sched_cb, msi_cb, intx_cb, nullptr}; }
};

// ---- configuration helpers (offsets from the PCI and PCIe specifications) ----
inline void cfg_w(pcie_ep *ep, uint32_t off, unsigned size, uint32_t v) {
    pcie_ep_cfg_write(ep, off, size, v);
}
inline uint32_t cfg_r(pcie_ep *ep, uint32_t off, unsigned size) {
    uint32_t v = 0;
    pcie_ep_cfg_read(ep, off, size, &v);
    return v;
}
// Memory Space and Bus Master.
inline void enable_function(pcie_ep *ep) {
    cfg_w(ep, 0x04, 2, 0x0006);
}
// PASID Enable with Execute and Privileged Mode, then ATS Enable (STU 0), in the order Linux uses.
inline void enable_pasid_ats(pcie_ep *ep) {
    cfg_w(ep, PCIE_EP_ECAP_PASID + 6, 2, 0x0007);
    cfg_w(ep, PCIE_EP_ECAP_ATS + 6, 2, 0x8000);
}
inline void enable_pri(pcie_ep *ep, uint32_t allocation) {
    cfg_w(ep, PCIE_EP_ECAP_PRI + 0x0C, 4, allocation);
    cfg_w(ep, PCIE_EP_ECAP_PRI + 4, 2, 0x0001);
}
inline void assign_bar64(pcie_ep *ep, unsigned bar, uint64_t addr) {
    cfg_w(ep, 0x10 + 4 * bar, 4, (uint32_t)addr);
    cfg_w(ep, 0x14 + 4 * bar, 4, (uint32_t)(addr >> 32));
}
inline void assign_bar32(pcie_ep *ep, unsigned bar, uint32_t addr) {
    cfg_w(ep, 0x10 + 4 * bar, 4, addr);
}

} // namespace fake
