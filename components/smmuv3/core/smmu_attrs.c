/* Memory attributes (IHI0070 chapter 13). Types are decoded from their encodings (MAIR bytes, MemAttr fields,
 * CR1 and TCR-style cacheability fields) into mem_type, combined there, and encoded back into the MAIR byte a
 * result carries or the host attributes an SMMU access carries. */
#include "smmu_attrs.h"

#include "smmu_bits.h"
#include "smmu_regs.h"
#include "smmu_structs.h"
#include "smmu_xlate.h"

/* ---- Shareability ---- */

uint8_t smmu_share_normalise(bool device, bool inner_nc, bool outer_nc, unsigned sh) {
    if (device || (inner_nc && outer_nc))
        return SMMU_SH_OSH;
    sh &= 3;
    return (uint8_t)(sh == 1 ? SMMU_SH_NSH : sh);
}

/* ---- Attributes of the SMMU's own accesses ---- */

/* Host cacheability encoding (smmu_mem_attrs): 0 NC, 1 WB, 2 WT. */
enum { HOST_NC = 0, HOST_WB = 1, HOST_WT = 2 };

static smmu_mem_attrs host_attrs(uint8_t inner, uint8_t outer, unsigned sh) {
    smmu_mem_attrs a = {.cache = inner,
                        .outer_cache = outer,
                        .share = smmu_share_normalise(false, inner == HOST_NC, outer == HOST_NC, sh),
                        .ns = true};
    return a;
}

/* CR1 cacheability fields already use the host encoding; 0b11 is reserved. */
static uint8_t cr1_cache(unsigned c) {
    return (uint8_t)(c == 3 ? HOST_NC : c);
}

smmu_mem_attrs smmu_attrs_cr1(unsigned ic, unsigned oc, unsigned sh) {
    return host_attrs(cr1_cache(ic), cr1_cache(oc), sh);
}

/* TCR-style region cacheability: 0 NC, 1 WB-WA, 2 WT, 3 WB. */
static uint8_t rgn_cache(unsigned rgn) {
    return rgn == 2 ? HOST_WT : (rgn == 0 ? HOST_NC : HOST_WB);
}

smmu_mem_attrs smmu_attrs_walk(unsigned ir, unsigned orgn, unsigned sh) {
    return host_attrs(rgn_cache(ir), rgn_cache(orgn), sh);
}

/* ---- Memory types ---- */

enum { CACHE_NC = 0, CACHE_WT = 1, CACHE_WB = 2 }; /* in order of strength: combining keeps the weaker */

/* One cacheability level of a Normal type with its allocation and transient hints. */
typedef struct mem_level {
    uint8_t cache;
    bool ra, wa, tr;
} mem_level;

/* Device (dev: the MAIR dd encoding, 0 nGnRnE .. 3 GRE, smaller is stricter) or Normal. */
typedef struct mem_type {
    bool device;
    uint8_t dev;
    mem_level inner, outer;
} mem_type;

static uint8_t type_share(mem_type t, unsigned sh) {
    return smmu_share_normalise(t.device, t.inner.cache == CACHE_NC, t.outer.cache == CACHE_NC, sh);
}

/* A Normal MAIR nibble: 0b0100 NC, 0b00RW / 0b01RW (RW != 00) WT / WB transient, 0b10RW / 0b11RW WT / WB
 * non-transient. 0b0000 is UNPREDICTABLE for a Normal type and is taken as NC. */
static mem_level mair_level(unsigned nibble) {
    mem_level l = {CACHE_NC, false, false, false};
    if (nibble == 0x4 || nibble == 0)
        return l;
    l.cache = (nibble & 0x4) ? CACHE_WB : CACHE_WT;
    l.tr = !(nibble & 0x8);
    l.ra = (nibble & 0x2) != 0;
    l.wa = (nibble & 0x1) != 0;
    return l;
}

static unsigned level_nibble(mem_level l) {
    if (l.cache == CACHE_NC)
        return 0x4;                   /* Non-cacheable has no hints */
    bool tr = l.tr && (l.ra || l.wa); /* no-allocate is non-transient (13.1.7) */
    return (tr ? 0u : 0x8u) | (l.cache == CACHE_WB ? 0x4u : 0u) | (l.ra ? 0x2u : 0u) | (l.wa ? 0x1u : 0u);
}

/* A MAIR attribute byte: 0b0000ddxx is Device (xx != 00 is UNPREDICTABLE and ignored), anything else Normal.
 */
static mem_type mair_type(uint8_t mair) {
    mem_type t = {0};
    if ((mair & 0xF0) == 0) {
        t.device = true;
        t.dev = (mair >> 2) & 3;
        return t;
    }
    t.outer = mair_level(mair >> 4);
    t.inner = mair_level(mair & 0xF);
    return t;
}

static uint8_t type_mair(mem_type t) {
    if (t.device)
        return (uint8_t)(t.dev << 2);
    return (uint8_t)(level_nibble(t.outer) << 4 | level_nibble(t.inner));
}

/* MemAttr[3:0] in the stage-2 encoding (stage-2 descriptors without FWB, STE.MemAttr, GBPA.MemAttr, MSI
 * MemAttr). It has no hints: the default input hints (Read-Allocate, Write-Allocate, non-transient, 13.1.3)
 * apply, which also leave the other side's hints unchanged when combined. */
static mem_type memattr_type(unsigned memattr) {
    mem_type t = {0};
    if (smmu_memattr_is_device(memattr)) {
        t.device = true;
        t.dev = (memattr & 0xC) ? 0 : (uint8_t)(memattr & 3); /* reserved: Device-nGnRnE */
        return t;
    }
    static const uint8_t cache[4] = {CACHE_NC, CACHE_NC, CACHE_WT, CACHE_WB}; /* -, NC, WT, WB */
    t.outer = (mem_level){cache[(memattr >> 2) & 3], true, true, false};
    t.inner = (mem_level){cache[memattr & 3], true, true, false};
    return t;
}

/* An MSI's MemAttr goes to the host as is (`cache` holds both levels), its SH by the rule above. */
smmu_mem_attrs smmu_attrs_msi(uint32_t cfg2) {
    unsigned memattr = (unsigned)SMMU_FIELD_GET(SMMU_IRQ_CFG2_MEMATTR, cfg2);
    smmu_mem_attrs a = {
        .cache = (uint8_t)memattr,
        .share = type_share(memattr_type(memattr), (unsigned)SMMU_FIELD_GET(SMMU_IRQ_CFG2_SH, cfg2)),
        .ns = true};
    return a;
}

/* Each level keeps the weaker cacheability and the stronger hints: no-allocate beats allocate, transient
 * beats non-transient (13.1.5). */
static mem_level combine_level(mem_level a, mem_level b) {
    mem_level l = {a.cache < b.cache ? a.cache : b.cache, a.ra && b.ra, a.wa && b.wa, a.tr || b.tr};
    return l;
}

/* Two types applied in sequence: Device beats Normal and the stricter Device type wins, else each level
 * combines as above. */
static mem_type combine_types(mem_type a, mem_type b) {
    mem_type t = {0};
    if (a.device || b.device) {
        t.device = true;
        t.dev = a.device && b.device ? (a.dev < b.dev ? a.dev : b.dev) : (a.device ? a.dev : b.dev);
        return t;
    }
    t.outer = combine_level(a.outer, b.outer);
    t.inner = combine_level(a.inner, b.inner);
    return t;
}

/* The more shareable of two domains: Outer > Inner > Non-shareable. */
static uint8_t combine_share(unsigned a, unsigned b) {
    static const uint8_t rank[4] = {0, 0, 2, 1};
    uint8_t na = smmu_share_normalise(false, false, false, a),
            nb = smmu_share_normalise(false, false, false, b);
    return rank[na] >= rank[nb] ? na : nb;
}

/* A cacheability level forced to Write-Back by FEAT_S2FWB keeps stage 1's hints where stage 1 was cacheable
 * there, else it gets Read-Allocate, Write-Allocate, non-transient. */
static mem_level forced_wb(mem_level in) {
    mem_level l = {CACHE_WB, true, true, false};
    if (in.cache != CACHE_NC) {
        l.ra = in.ra;
        l.wa = in.wa;
        l.tr = in.tr;
    }
    return l;
}

/* STE.S2FWB: stage 2 may override stage 1's type instead of combining with it (the A-profile FEAT_S2FWB
 * rules; MemAttr[3] is RES0 without FEAT_MTE_PERM). MemAttr[2] == 0 is a Device type that combines as usual;
 * 0b101 is Non-cacheable unless stage 1 is Device, 0b110 forces Write-Back whatever stage 1 is, 0b111 keeps
 * stage 1's type. 0b100 is reserved: Device-nGnRnE, as smmu_s2_memattr_is_device says. */
static mem_type combine_types_fwb(mem_type in, unsigned s2_memattr) {
    unsigned m = s2_memattr & 0x7;
    mem_type t = {0};
    if (smmu_s2_memattr_is_device(m, true)) {
        t.device = true;
        t.dev = (m & 0x4) ? 0 : (uint8_t)(m & 3);
        return combine_types(in, t);
    }
    switch (m & 3) {
    case 1:
        if (in.device)
            return in;
        t.inner.cache = t.outer.cache = CACHE_NC;
        return t;
    case 2:
        t.inner = forced_wb(in.inner);
        t.outer = forced_wb(in.outer);
        return t;
    default:
        return in;
    }
}

/* ---- Result attributes ---- */

/* ALLOCCFG 0b1RWT sets the read-allocate, write-allocate and transient hints of both levels; Device and
 * Non-cacheable have none to replace. SHCFG "incoming" is the default input's Non-shareable. */
smmu_attr smmu_attr_incoming(bool mtcfg, unsigned memattr, unsigned alloccfg, unsigned shcfg) {
    mem_type t = memattr_type(mtcfg ? memattr : 0xF);
    if ((alloccfg & 0x8) && !t.device) {
        mem_level *levels[2] = {&t.inner, &t.outer};
        for (unsigned i = 0; i < 2; i++) {
            if (levels[i]->cache == CACHE_NC)
                continue;
            levels[i]->ra = (alloccfg & 0x4) != 0;
            levels[i]->wa = (alloccfg & 0x2) != 0;
            levels[i]->tr = (alloccfg & 0x1) != 0;
        }
    }
    smmu_attr a = {type_mair(t), (uint8_t)(shcfg == SMMU_SHCFG_INCOMING ? SMMU_SH_NSH : shcfg)};
    return a;
}

/* The one combination of every path with stage 2. `in` counts as OSH when its own type is Device or iNC-oNC
 * (which matters when FWB forces Write-Back); the result's type has the last word when it is output
 * (smmu_attr_share). FWB does not change how shareability combines. */
smmu_attr smmu_attr_combine_s2(smmu_attr in, unsigned s2_memattr, unsigned s2_sh, bool fwb) {
    mem_type in_type = mair_type(in.mair);
    mem_type out =
        fwb ? combine_types_fwb(in_type, s2_memattr) : combine_types(in_type, memattr_type(s2_memattr));
    smmu_attr a = {type_mair(out), combine_share(type_share(in_type, in.sh), s2_sh)};
    return a;
}

uint8_t smmu_attr_share(smmu_attr a) {
    return type_share(mair_type(a.mair), a.sh);
}
