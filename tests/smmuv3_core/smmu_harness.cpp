#include "smmu_harness.h"

#include <cstring>
#include <stdexcept>

namespace smmu_test {

// ---- SparseMemory ----

bool SparseMemory::hits(const std::vector<Range> &rs, uint64_t pa, unsigned len) {
    for (const Range &r : rs)
        if (pa < r.hi && pa + len > r.lo)
            return true;
    return false;
}

void SparseMemory::read(uint64_t pa, void *buf, unsigned len) const {
    auto *out = static_cast<uint8_t *>(buf);
    for (unsigned i = 0; i < len; i++) {
        uint64_t a = pa + i;
        auto it = pages_.find(a >> 12);
        out[i] = it == pages_.end() ? 0 : it->second[a & 0xFFF];
    }
}

void SparseMemory::write(uint64_t pa, const void *buf, unsigned len) {
    const auto *in = static_cast<const uint8_t *>(buf);
    for (unsigned i = 0; i < len; i++) {
        uint64_t a = pa + i;
        auto it = pages_.find(a >> 12);
        if (it == pages_.end())
            it = pages_.emplace(a >> 12, std::array<uint8_t, 4096>{}).first;
        it->second[a & 0xFFF] = in[i];
    }
}

uint64_t SparseMemory::read64(uint64_t pa) const {
    uint8_t b[8];
    read(pa, b, 8);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

uint32_t SparseMemory::read32(uint64_t pa) const {
    return (uint32_t)read64(pa);
}

void SparseMemory::write64(uint64_t pa, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    write(pa, b, 8);
}

// ---- host callbacks ----

static Harness *H(void *ctx) {
    return static_cast<Harness *>(ctx);
}

static void note_access(void *ctx, smmu_mem_kind kind, uint64_t pa, unsigned len,
                        const smmu_mem_attrs *attrs) {
    Harness *h = H(ctx);
    h->last_attrs[kind] = *attrs;
    h->accesses[kind]++;
    if ((pa + len - 1) >> h->oas_bits)
        h->above_oas.push_back(pa);
}

static bool host_read(void *ctx, smmu_call *, smmu_mem_kind kind, uint64_t pa, void *buf, unsigned len,
                      const smmu_mem_attrs *attrs) {
    note_access(ctx, kind, pa, len, attrs);
    if (H(ctx)->mem.read_aborts(pa, len))
        return false;
    H(ctx)->mem.read(pa, buf, len);
    return true;
}

static bool host_write(void *ctx, smmu_call *, smmu_mem_kind kind, uint64_t pa, const void *buf, unsigned len,
                       const smmu_mem_attrs *attrs) {
    note_access(ctx, kind, pa, len, attrs);
    if (H(ctx)->mem.write_aborts(pa, len))
        return false;
    if (kind == SMMU_MEM_MSI && len == 4) {
        uint32_t data;
        std::memcpy(&data, buf, 4);
        H(ctx)->msis.push_back({pa, data});
    }
    H(ctx)->mem.write(pa, buf, len);
    return true;
}

static bool host_cas(void *ctx, smmu_call *, uint64_t pa, uint64_t expected, uint64_t desired,
                     uint64_t *observed, const smmu_mem_attrs *attrs) {
    note_access(ctx, SMMU_MEM_TT, pa, 8, attrs);
    if (H(ctx)->mem.read_aborts(pa, 8) || H(ctx)->mem.write_aborts(pa, 8))
        return false;
    *observed = H(ctx)->mem.read64(pa);
    if (*observed == expected)
        H(ctx)->mem.write64(pa, desired);
    return true;
}

static void host_irq(void *ctx, smmu_call *, smmu_irq_line line, bool level) {
    if (level)
        H(ctx)->irq_pulses[line]++;
}

static void host_advance(void *ctx, smmu_call *, uint64_t ps) {
    H(ctx)->time_ps += ps;
}
static void host_changed(void *ctx, smmu_call *) {
    H(ctx)->translations_changed++;
}
// As the platform's trace prints it, without the time: "smmu: KIND FIELDS".
static void host_trace(void *ctx, smmu_call *, const char *kind, const char *fields) {
    std::string line = std::string("smmu: ") + kind;
    if (*fields)
        line += std::string(" ") + fields;
    H(ctx)->trace.push_back(line);
}
static bool host_send_msg(void *ctx, smmu_call *, const smmu_msg *msg) {
    H(ctx)->sent_msgs.push_back(*msg);
    return H(ctx)->msgs_deliverable;
}

// ---- Harness ----

Harness::Harness(const smmu_params *p) {
    if (p)
        params = *p;
    else
        smmu_params_default(&params);
    ops_.mem_read = host_read;
    ops_.mem_write = host_write;
    ops_.mem_cas64 = host_cas;
    ops_.irq_set = host_irq;
    ops_.advance = host_advance;
    ops_.translations_changed = host_changed;
    ops_.trace = host_trace;
    ops_.send_msg = host_send_msg;
    ops_.now_ps = [](void *ctx, smmu_call *) { return H(ctx)->now_ps; };
    ops_.stall_resolved = [](void *ctx, smmu_call *, uint32_t sid, uint16_t stag, smmu_stall_action action) {
        H(ctx)->stall_resolutions.push_back({sid, stag, action});
    };
    oas_bits = smmu_pa_size_bits((unsigned)SMMU_FIELD_GET(SMMU_IDR5_OAS, params.idr[5]));
    s = smmu_create(&params, &ops_, this);
    if (!s)
        throw std::runtime_error("smmu_create failed");
}

Harness::~Harness() {
    smmu_destroy(s);
}

uint64_t Harness::alloc(uint64_t size, uint64_t align) {
    next_alloc_ = (next_alloc_ + align - 1) & ~(align - 1);
    uint64_t a = next_alloc_;
    next_alloc_ += size;
    return a;
}

uint64_t Harness::alloc_aligned(uint64_t size) {
    return alloc(size, size > 4096 ? size : 4096);
}

uint32_t Harness::rd32(uint64_t off) {
    uint64_t v = 0;
    if (!smmu_reg_read(s, nullptr, off, 4, &v))
        throw std::runtime_error("register read refused");
    return (uint32_t)v;
}

uint64_t Harness::rd64(uint64_t off) {
    uint64_t v = 0;
    if (!smmu_reg_read(s, nullptr, off, 8, &v))
        throw std::runtime_error("register read refused");
    return v;
}

void Harness::wr32(uint64_t off, uint32_t v) {
    if (!smmu_reg_write(s, nullptr, off, 4, v))
        throw std::runtime_error("register write refused");
}

void Harness::wr64(uint64_t off, uint64_t v) {
    if (!smmu_reg_write(s, nullptr, off, 8, v))
        throw std::runtime_error("register write refused");
}

static uint32_t sw_prod_of(Harness &h) {
    return h.rd32(SMMU_CMDQ_PROD);
}

void Harness::setup_queues(unsigned cq_log2, unsigned eq_log2) {
    cmdq_log2 = cq_log2;
    evtq_log2 = eq_log2;
    // Queues and stream tables are aligned to their size, as the SMMU ignores the address bits below it.
    cmdq_base = alloc_aligned(uint64_t(SMMU_CMD_SIZE) << cq_log2);
    evtq_base = alloc_aligned(uint64_t(SMMU_EVT_SIZE) << eq_log2);
    uint32_t cr0 = rd32(SMMU_CR0);
    wr32(SMMU_CR0, cr0 & ~(uint32_t)(SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN));
    wr64(SMMU_CMDQ_BASE, cmdq_base | SMMU_FIELD_PREP(SMMU_Q_BASE_LOG2SIZE, cq_log2));
    wr64(SMMU_EVENTQ_BASE, evtq_base | SMMU_FIELD_PREP(SMMU_Q_BASE_LOG2SIZE, eq_log2));
    wr32(SMMU_CMDQ_PROD, 0);
    wr32(SMMU_CMDQ_CONS, 0);
    wr32(SMMU_EVENTQ_PROD, 0);
    wr32(SMMU_EVENTQ_CONS, 0);
    wr32(SMMU_CR0, cr0 | (uint32_t)(SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN));
}

void Harness::setup_stream_table(const StreamTableLayout &layout) {
    st = layout;
    if (!layout.two_level) {
        strtab_base = alloc_aligned(uint64_t(SMMU_STE_SIZE) << layout.log2size);
        wr64(SMMU_STRTAB_BASE, strtab_base);
        wr32(SMMU_STRTAB_BASE_CFG, (uint32_t)SMMU_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, layout.log2size));
    } else {
        uint64_t l1_count =
            layout.log2size > layout.split ? (uint64_t(1) << (layout.log2size - layout.split)) : 1;
        strtab_base = alloc_aligned(l1_count * SMMU_L1STD_SIZE);
        wr64(SMMU_STRTAB_BASE, strtab_base);
        wr32(SMMU_STRTAB_BASE_CFG,
             (uint32_t)(SMMU_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, layout.log2size) |
                        SMMU_FIELD_PREP(SMMU_STRTAB_BASE_CFG_SPLIT, layout.split) |
                        SMMU_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT, SMMU_STRTAB_FMT_2LVL)));
    }
}

uint64_t Harness::install_l2(uint32_t sid) {
    uint64_t size = uint64_t(SMMU_STE_SIZE) << st.split;
    uint64_t leaf = alloc(size, size);
    uint64_t l1 = strtab_base + uint64_t(sid >> st.split) * SMMU_L1STD_SIZE;
    mem.write64(l1, leaf | SMMU_FIELD_PREP(SMMU_L1STD_SPAN, st.split + 1));
    return leaf;
}

void Harness::enable(uint32_t extra_cr0) {
    wr32(SMMU_CR0, rd32(SMMU_CR0) | (uint32_t)SMMU_CR0_SMMUEN | extra_cr0);
}

void Harness::bring_up(const StreamTableLayout &layout) {
    setup_queues();
    setup_stream_table(layout);
    enable();
}

void Harness::push_cmd(uint64_t d0, uint64_t d1) {
    uint32_t prod = pending_prod_valid_ ? pending_prod_ : sw_prod_of(*this);
    uint32_t mask = (2u << cmdq_log2) - 1;
    uint64_t addr = cmdq_base + uint64_t(prod & ((1u << cmdq_log2) - 1)) * SMMU_CMD_SIZE;
    mem.write64(addr, d0);
    mem.write64(addr + 8, d1);
    pending_prod_ = (prod & ~mask) | ((prod + 1) & mask);
    pending_prod_valid_ = true;
}

void Harness::publish() {
    if (pending_prod_valid_)
        wr32(SMMU_CMDQ_PROD, pending_prod_);
    pending_prod_valid_ = false;
}

void Harness::sync() {
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC));
}

void Harness::cfgi_ste(uint32_t sid, bool leaf) {
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE) | SMMU_FIELD_PREP(SMMU_CMD0_SID, sid),
        leaf ? SMMU_CMD1_LEAF : 0);
    sync();
}

void Harness::cfgi_cd(uint32_t sid, uint32_t ssid, bool leaf) {
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_CD) | SMMU_FIELD_PREP(SMMU_CMD0_SID, sid) |
            SMMU_FIELD_PREP(SMMU_CMD0_SSID, ssid),
        leaf ? SMMU_CMD1_LEAF : 0);
    sync();
}

void Harness::cfgi_all() {
    cmd(SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE_RANGE), SMMU_FIELD_PREP(SMMU_CMD1_RANGE, 31));
    sync();
}

uint32_t Harness::cmdq_cons_err() {
    return (uint32_t)SMMU_FIELD_GET(SMMU_CMDQ_CONS_ERR, rd32(SMMU_CMDQ_CONS));
}

std::vector<Event> Harness::events() {
    std::vector<Event> out;
    uint32_t prod = rd32(SMMU_EVENTQ_PROD);
    uint32_t cons = rd32(SMMU_EVENTQ_CONS);
    uint32_t mask = (2u << evtq_log2) - 1;
    unsigned guard = 0;
    while (((prod ^ cons) & mask) != 0 && guard++ < (2u << evtq_log2)) {
        Event e;
        uint64_t addr = evtq_base + uint64_t(cons & ((1u << evtq_log2) - 1)) * SMMU_EVT_SIZE;
        for (int i = 0; i < 4; i++)
            e.raw[i] = mem.read64(addr + 8 * i);
        out.push_back(e);
        cons = (cons & ~mask) | ((cons + 1) & mask);
    }
    // Acknowledge an overflow the way Linux does: copy OVFLG into OVACKFLG.
    wr32(SMMU_EVENTQ_CONS, (cons & mask) | (prod & (uint32_t)SMMU_Q_PROD_OVFLG));
    return out;
}

uint64_t Harness::ste_addr(uint32_t sid) {
    if (!st.two_level)
        return strtab_base + uint64_t(sid) * SMMU_STE_SIZE;
    uint64_t l1 = mem.read64(strtab_base + uint64_t(sid >> st.split) * SMMU_L1STD_SIZE);
    uint64_t leaf = SMMU_ADDR_GET(SMMU_L1STD_L2PTR, l1);
    if (SMMU_FIELD_GET(SMMU_L1STD_SPAN, l1) == 0)
        leaf = install_l2(sid);
    return leaf + uint64_t(sid & ((1u << st.split) - 1)) * SMMU_STE_SIZE;
}

void Harness::write_ste(uint32_t sid, const std::array<uint64_t, 8> &d) {
    uint64_t a = ste_addr(sid);
    for (int i = 0; i < 8; i++)
        mem.write64(a + 8 * i, d[i]);
}

std::array<uint64_t, 8> Harness::ste_bypass() {
    return {SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_BYPASS),
            SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING)};
}

std::array<uint64_t, 8> Harness::ste_abort() {
    return {SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_ABORT)};
}

std::array<uint64_t, 8> Harness::ste_s1(uint64_t ctx_ptr, unsigned cdmax, unsigned fmt, unsigned dss) {
    return {SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_S1) |
                SMMU_FIELD_PREP(SMMU_STE0_S1FMT, fmt) | SMMU_ADDR_GET(SMMU_STE0_S1CTXPTR, ctx_ptr) |
                SMMU_FIELD_PREP(SMMU_STE0_S1CDMAX, cdmax),
            SMMU_FIELD_PREP(SMMU_STE1_S1DSS, dss) | SMMU_FIELD_PREP(SMMU_STE1_S1CIR, 1) |
                SMMU_FIELD_PREP(SMMU_STE1_S1COR, 1) | SMMU_FIELD_PREP(SMMU_STE1_S1CSH, 3) |
                SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING)};
}

std::array<uint64_t, 8> Harness::ste_s2(uint64_t s2ttb, uint16_t vmid) {
    std::array<uint64_t, 8> d{};
    d[0] = SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_S2);
    d[1] = SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING);
    d[2] = SMMU_FIELD_PREP(SMMU_STE2_S2VMID, vmid) | SMMU_FIELD_PREP(SMMU_STE2_S2T0SZ, 25) |
           SMMU_FIELD_PREP(SMMU_STE2_S2SL0, 1) | SMMU_FIELD_PREP(SMMU_STE2_S2IR0, 1) |
           SMMU_FIELD_PREP(SMMU_STE2_S2OR0, 1) | SMMU_FIELD_PREP(SMMU_STE2_S2SH0, 3) |
           SMMU_FIELD_PREP(SMMU_STE2_S2TG, SMMU_TG0_4K) | SMMU_FIELD_PREP(SMMU_STE2_S2PS, 5) |
           SMMU_STE2_S2AA64 | SMMU_STE2_S2R;
    d[3] = SMMU_ADDR_GET(SMMU_STE3_S2TTB, s2ttb);
    return d;
}

std::array<uint64_t, 8> Harness::cd(uint64_t ttb0, uint16_t asid) {
    std::array<uint64_t, 8> d{};
    d[0] = SMMU_FIELD_PREP(SMMU_CD0_T0SZ, 25) | SMMU_FIELD_PREP(SMMU_CD0_TG0, SMMU_TG0_4K) |
           SMMU_FIELD_PREP(SMMU_CD0_IR0, 1) | SMMU_FIELD_PREP(SMMU_CD0_OR0, 1) |
           SMMU_FIELD_PREP(SMMU_CD0_SH0, 3) | SMMU_CD0_EPD1 | SMMU_CD0_V | SMMU_FIELD_PREP(SMMU_CD0_IPS, 5) |
           SMMU_CD0_AA64 | SMMU_CD0_R | SMMU_CD0_A | SMMU_FIELD_PREP(SMMU_CD0_ASID, asid);
    d[1] = SMMU_ADDR_GET(SMMU_CD1_TTB0, ttb0);
    d[3] = 0xFF; // MAIR index 0: Normal WB
    return d;
}

void Harness::write_cd(uint64_t addr, const std::array<uint64_t, 8> &d) {
    for (int i = 0; i < 8; i++)
        mem.write64(addr + 8 * i, d[i]);
}

smmu_result Harness::translate(uint32_t sid, uint64_t addr, bool write, bool ssv, uint32_t ssid,
                               smmu_pcie_at at, bool priv, bool exec) {
    smmu_txn t{};
    t.sid = sid;
    t.ssid = ssid;
    t.ssv = ssv;
    t.addr = addr;
    t.len = 4;
    t.acc.write = write;
    t.acc.priv = priv;
    t.acc.exec = exec;
    t.at = at;
    smmu_result r{};
    smmu_translate(s, nullptr, &t, &r);
    return r;
}

static void collect(void *arg, const char *name, uint64_t value) {
    (*static_cast<std::map<std::string, uint64_t> *>(arg))[name] = value;
}

std::map<std::string, uint64_t> Harness::stats() {
    std::map<std::string, uint64_t> m;
    smmu_stats(s, collect, &m);
    return m;
}

uint64_t Harness::stat(const std::string &name) {
    auto m = stats();
    auto it = m.find(name);
    if (it == m.end())
        throw std::runtime_error("no statistic " + name);
    return it->second;
}

// ---- PageTable ----

PageTable::PageTable(Harness &h, int start_level) : h_(h), start_level_(start_level), root_(h.alloc(4096)) {}

static unsigned level_shift(int level) {
    return 12 + 9 * (3 - level);
}

uint64_t PageTable::desc_addr(uint64_t ia, int level) const {
    uint64_t table = root_;
    for (int l = start_level_; l < level; l++) {
        uint64_t d = h_.mem.read64(table + ((ia >> level_shift(l)) & 511) * 8);
        table = d & 0x0000FFFFFFFFF000ull;
    }
    return table + ((ia >> level_shift(level)) & 511) * 8;
}

void PageTable::map(uint64_t ia, uint64_t pa, uint64_t attrs, int leaf_level) {
    uint64_t table = root_;
    for (int l = start_level_; l < leaf_level; l++) {
        uint64_t da = table + ((ia >> level_shift(l)) & 511) * 8;
        uint64_t d = h_.mem.read64(da);
        if (!(d & kDescValid) || !(d & kDescTable)) {
            uint64_t next = h_.alloc(4096);
            d = next | kDescValid | kDescTable;
            h_.mem.write64(da, d);
        }
        table = d & 0x0000FFFFFFFFF000ull;
    }
    uint64_t out = pa & ~((uint64_t(1) << level_shift(leaf_level)) - 1);
    h_.mem.write64(table + ((ia >> level_shift(leaf_level)) & 511) * 8,
                   out | attrs | kDescValid | (leaf_level == 3 ? kDescTable : 0));
}

S1Stream make_s1_stream(Harness &h, uint32_t sid, uint16_t asid) {
    S1Stream s;
    s.cd_addr = h.alloc(64, 64);
    s.pt = std::make_unique<PageTable>(h, 1);
    h.write_cd(s.cd_addr, Harness::cd(s.pt->root(), asid));
    h.write_ste(sid, Harness::ste_s1(s.cd_addr));
    return s;
}

} // namespace smmu_test
