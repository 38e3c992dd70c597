/* SMMU parameters: the default ID-register envelope and the check that an ID-register set describes an SMMU
 * this model can be. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "smmu_internal.h"

void smmu_params_default(smmu_params *p) {
    memset(p, 0, sizeof(*p));
    p->idr[0] =
        (uint32_t)(SMMU_IDR0_S2P | SMMU_IDR0_S1P | SMMU_FIELD_PREP(SMMU_IDR0_TTF, SMMU_IDR0_TTF_AARCH64) |
                   SMMU_IDR0_COHACC | SMMU_FIELD_PREP(SMMU_IDR0_HTTU, 2) | SMMU_IDR0_HYP | SMMU_IDR0_ASID16 |
                   SMMU_IDR0_MSI | SMMU_IDR0_SEV | SMMU_IDR0_ATS | SMMU_IDR0_NS1ATS | SMMU_IDR0_PRI |
                   SMMU_IDR0_VMID16 | SMMU_IDR0_CD2L |
                   SMMU_FIELD_PREP(SMMU_IDR0_TTENDIAN, SMMU_IDR0_TTENDIAN_MIXED) |
                   SMMU_FIELD_PREP(SMMU_IDR0_STALL_MODEL, 0) | SMMU_FIELD_PREP(SMMU_IDR0_ST_LEVEL, 1));
    p->idr[1] = (uint32_t)(SMMU_FIELD_PREP(SMMU_IDR1_SIDSIZE, 16) | SMMU_FIELD_PREP(SMMU_IDR1_SSIDSIZE, 20) |
                           SMMU_FIELD_PREP(SMMU_IDR1_PRIQS, 19) | SMMU_FIELD_PREP(SMMU_IDR1_EVENTQS, 19) |
                           SMMU_FIELD_PREP(SMMU_IDR1_CMDQS, 19) | SMMU_IDR1_ATTR_TYPES_OVR |
                           SMMU_IDR1_ATTR_PERMS_OVR);
    p->idr[2] = 0;
    /* SMMUv3.2 makes FWB and a BBML of 1 or 2 mandatory; BBML = 2: see docs/smmuv3.md (the TLB uses one of
     * several overlapping entries whole and never reports a TLB conflict). */
    p->idr[3] = (uint32_t)(SMMU_IDR3_RIL | SMMU_IDR3_HAD | SMMU_IDR3_XNX | SMMU_IDR3_FWB |
                           SMMU_FIELD_PREP(SMMU_IDR3_BBML, 2));
    p->idr[4] = 0;
    p->idr[5] = (uint32_t)(SMMU_FIELD_PREP(SMMU_IDR5_STALL_MAX, 8) | SMMU_FIELD_PREP(SMMU_IDR5_OAS, 5) |
                           SMMU_IDR5_GRAN4K | SMMU_IDR5_GRAN16K | SMMU_IDR5_GRAN64K);
    /* No JEP106 identity is claimed: implementer 0, product 0. */
    p->iidr = 0;
    p->aidr = (uint32_t)SMMU_FIELD_PREP(SMMU_AIDR_MINOR, 2); /* SMMUv3.2 */

    p->engine.tlb = (smmu_cache_params){.sets = 128, .ways = 4, .policy = SMMU_REPL_LRU, .lookup_ps = 1000};
    p->engine.walk_cache =
        (smmu_cache_params){.sets = 32, .ways = 4, .policy = SMMU_REPL_LRU, .lookup_ps = 1000};
    p->engine.tlb_tag_stream = false;
    p->engine.walk_step_ps = 2000;
    p->engine.random_seed = 1;
    p->engine.oas_bits = 48;
    p->engine.hw_af = true;
    p->engine.hw_dirty = true;
    p->engine.xnx = true;
    p->config_cache = (smmu_cache_params){.sets = 64, .ways = 4, .policy = SMMU_REPL_LRU, .lookup_ps = 1000};
    p->cmd_ps = 10000;
    p->event_ps = 10000;
    p->reg_access_ps = 5000;
    p->msi_ps = 5000;
    /* PCIe allows an endpoint a minute to complete an invalidation; a model that waits that long is of no
     * use, so the default is 1 ms of simulated time (a sweepable parameter). */
    p->atc_inv_timeout_ps = UINT64_C(1000000000);
    p->atc_inv_queue_depth = 32;
}

unsigned smmu_granule_supported_mask(const smmu_params *p) {
    unsigned m = 0;
    if (p->idr[5] & SMMU_IDR5_GRAN4K)
        m |= 1u << 12;
    if (p->idr[5] & SMMU_IDR5_GRAN16K)
        m |= 1u << 14;
    if (p->idr[5] & SMMU_IDR5_GRAN64K)
        m |= 1u << 16;
    return m;
}

static bool fail(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(char *err, size_t err_len, const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* A cache geometry every accepted parameter set can build: storage for at most 2^20 entries (a few hundred
 * MiB of address space at most, touched only as entries are used), and at most 1024 ways because every lookup
 * compares each way of a set. sets = 0 is the documented "disabled"; then the other fields are ignored. */
#define SMMU_CACHE_MAX_ENTRIES (UINT64_C(1) << 20)
#define SMMU_CACHE_MAX_WAYS 1024u

static bool cache_params_ok(const char *name, const smmu_cache_params *c, char *err, size_t err_len) {
    if (c->sets == 0)
        return true;
    if (c->ways == 0)
        return fail(err, err_len, "%s: %u sets with 0 ways (sets = 0 disables the cache)", name, c->sets);
    if (c->ways > SMMU_CACHE_MAX_WAYS)
        return fail(err, err_len, "%s: %u ways, at most %u", name, c->ways, SMMU_CACHE_MAX_WAYS);
    if ((uint64_t)c->sets * c->ways > SMMU_CACHE_MAX_ENTRIES)
        return fail(err, err_len, "%s: %u sets x %u ways = %llu entries, at most %llu (2^20)", name, c->sets,
                    c->ways, (unsigned long long)c->sets * c->ways,
                    (unsigned long long)SMMU_CACHE_MAX_ENTRIES);
    if ((unsigned)c->policy > SMMU_REPL_RANDOM)
        return fail(err, err_len, "%s: replacement policy %u, expected 0 (LRU), 1 (FIFO) or 2 (RANDOM)", name,
                    (unsigned)c->policy);
    return true;
}

bool smmu_params_validate(const smmu_params *p, char *err, size_t err_len) {
    if (!p)
        return fail(err, err_len, "no parameters");
    const uint64_t idr0 = p->idr[0], idr1 = p->idr[1], idr3 = p->idr[3], idr5 = p->idr[5];
    const char *unsupported = "not supported by this model yet";

    if (!(idr0 & (SMMU_IDR0_S1P | SMMU_IDR0_S2P)))
        return fail(err, err_len, "IDR0: neither S1P nor S2P: an SMMU needs at least one translation stage");
    if (p->atc_inv_queue_depth < 1 || p->atc_inv_queue_depth > 32)
        return fail(err, err_len, "atc_inv_queue_depth %u: an endpoint takes 1 to 32 invalidations (ITags)",
                    p->atc_inv_queue_depth);
    unsigned ttf = (unsigned)SMMU_FIELD_GET(SMMU_IDR0_TTF, idr0);
    if (ttf == 0)
        return fail(err, err_len, "IDR0.TTF=0 is reserved");
    if (ttf != SMMU_IDR0_TTF_AARCH64)
        return fail(err, err_len, "IDR0.TTF=%u: AArch32 (LPAE) translation tables are %s", ttf, unsupported);
    if (SMMU_FIELD_GET(SMMU_IDR0_TTENDIAN, idr0) == SMMU_IDR0_TTENDIAN_RESERVED)
        return fail(err, err_len, "IDR0.TTENDIAN=1 is reserved");
    unsigned stall_model = (unsigned)SMMU_FIELD_GET(SMMU_IDR0_STALL_MODEL, idr0);
    if (stall_model == 3)
        return fail(err, err_len, "IDR0.STALL_MODEL=3 is reserved");
    if (stall_model != 1 && SMMU_FIELD_GET(SMMU_IDR5_STALL_MAX, idr5) == 0)
        return fail(err, err_len,
                    "IDR5.STALL_MAX=0 with IDR0.STALL_MODEL=%u: a model that stalls must be able to "
                    "hold at least one stalled transaction",
                    stall_model);
    if (SMMU_FIELD_GET(SMMU_IDR0_ST_LEVEL, idr0) > 1)
        return fail(err, err_len, "IDR0.ST_LEVEL=%u is reserved",
                    (unsigned)SMMU_FIELD_GET(SMMU_IDR0_ST_LEVEL, idr0));
    if ((idr0 & SMMU_IDR0_PRI) && !(idr0 & SMMU_IDR0_ATS))
        return fail(err, err_len, "IDR0.PRI=1 requires IDR0.ATS=1");
    if ((idr0 & SMMU_IDR0_ATS) && !(idr0 & SMMU_IDR0_NS1ATS))
        return fail(err, err_len, "IDR0.NS1ATS=0: split-stage ATS (STE.EATS=0b10) is %s", unsupported);
    if (SMMU_FIELD_GET(SMMU_IDR0_HTTU, idr0) == 3)
        return fail(err, err_len, "IDR0.HTTU=3: hardware table-descriptor access flags are %s", unsupported);
    if ((idr0 & SMMU_IDR0_CD2L) && !(idr0 & SMMU_IDR0_S1P))
        return fail(err, err_len, "IDR0.CD2L=1 without IDR0.S1P: CD tables need stage 1");
    if (idr0 & SMMU_IDR0_BTM)
        return fail(err, err_len, "IDR0.BTM=1: broadcast TLB maintenance is %s", unsupported);
    if (idr0 & SMMU_IDR0_VMW)
        return fail(err, err_len, "IDR0.VMW=1: VMID wildcards are %s", unsupported);
    if (idr0 & (SMMU_IDR0_ATOS | SMMU_IDR0_VATOS))
        return fail(err, err_len, "IDR0.ATOS/VATOS=1: address translation operations are %s", unsupported);
    if (idr0 & SMMU_IDR0_RME_IMPL)
        return fail(err, err_len, "IDR0.RME_IMPL=1: Realm management is %s", unsupported);
    if (idr0 & (SMMU_BIT(29) | SMMU_BIT(31)))
        return fail(err, err_len, "IDR0: reserved bits set");

    unsigned cmdqs = (unsigned)SMMU_FIELD_GET(SMMU_IDR1_CMDQS, idr1);
    unsigned eventqs = (unsigned)SMMU_FIELD_GET(SMMU_IDR1_EVENTQS, idr1);
    unsigned priqs = (unsigned)SMMU_FIELD_GET(SMMU_IDR1_PRIQS, idr1);
    if (cmdqs > 19 || eventqs > 19 || priqs > 19)
        return fail(err, err_len, "IDR1: queue size above 2^19 entries (CMDQS=%u EVENTQS=%u PRIQS=%u)", cmdqs,
                    eventqs, priqs);
    unsigned ssidsize = (unsigned)SMMU_FIELD_GET(SMMU_IDR1_SSIDSIZE, idr1);
    if (ssidsize > 20)
        return fail(err, err_len, "IDR1.SSIDSIZE=%u: above the 20-bit maximum", ssidsize);
    if ((idr0 & SMMU_IDR0_CD2L) && ssidsize == 0)
        return fail(err, err_len, "IDR0.CD2L=1 with IDR1.SSIDSIZE=0: 2-level CD tables need substreams");
    if (SMMU_FIELD_GET(SMMU_IDR1_SIDSIZE, idr1) > 32)
        return fail(err, err_len, "IDR1.SIDSIZE=%u: above 32 bits",
                    (unsigned)SMMU_FIELD_GET(SMMU_IDR1_SIDSIZE, idr1));
    if (idr1 & (SMMU_IDR1_ECMDQ | SMMU_IDR1_TABLES_PRESET | SMMU_IDR1_QUEUES_PRESET | SMMU_IDR1_REL))
        return fail(err, err_len, "IDR1: ECMDQ/TABLES_PRESET/QUEUES_PRESET/REL are %s", unsupported);

    if (p->idr[2] != 0)
        return fail(err, err_len, "IDR2 must be 0 without VATOS");
    if (idr3 & ~(uint64_t)(SMMU_IDR3_RIL | SMMU_IDR3_HAD | SMMU_IDR3_STT | SMMU_IDR3_XNX | SMMU_IDR3_PPS |
                           SMMU_IDR3_FWB | SMMU_IDR3_BBML))
        return fail(err, err_len, "IDR3=0x%x: only RIL, HAD, STT, XNX, PPS, FWB and BBML are %s",
                    (unsigned)idr3, "supported by this model yet");
    unsigned bbml = (unsigned)SMMU_FIELD_GET(SMMU_IDR3_BBML, idr3);
    if (bbml == 3)
        return fail(err, err_len, "IDR3.BBML=3 is reserved");
    const bool v3_0 = SMMU_FIELD_GET(SMMU_AIDR_MINOR, p->aidr) == 0;

    unsigned oas = (unsigned)SMMU_FIELD_GET(SMMU_IDR5_OAS, idr5);
    if (oas == 7)
        return fail(err, err_len, "IDR5.OAS=7: 56-bit addresses (SMMUv3.4 128-bit descriptors) are %s",
                    unsupported);
    if (oas == SMMU_IDR5_OAS_52 && v3_0)
        return fail(err, err_len, "IDR5.OAS=6 (52 bits) is reserved in SMMUv3.0 (AIDR)");
    if (!(idr5 & (SMMU_IDR5_GRAN4K | SMMU_IDR5_GRAN16K | SMMU_IDR5_GRAN64K)))
        return fail(err, err_len, "IDR5: no translation granule (GRAN4K/16K/64K all 0)");
    unsigned vax = (unsigned)SMMU_FIELD_GET(SMMU_IDR5_VAX, idr5);
    if (vax == 3)
        return fail(err, err_len, "IDR5.VAX=3 is reserved");
    if (vax == 2)
        return fail(err, err_len, "IDR5.VAX=2: 56-bit VAs (128-bit descriptors) are %s", unsupported);
    if (vax == SMMU_IDR5_VAX_52 && v3_0)
        return fail(err, err_len, "IDR5.VAX=1 (52-bit VAs) needs SMMUv3.1 or later (AIDR)");
    if (idr5 & (SMMU_BIT(7) | SMMU_BIT(8)))
        return fail(err, err_len, "IDR5.DS/D128: LPA2 and 128-bit descriptors are %s", unsupported);

    if (SMMU_FIELD_GET(SMMU_AIDR_MAJOR, p->aidr) != 0 || SMMU_FIELD_GET(SMMU_AIDR_MINOR, p->aidr) > 4)
        return fail(err, err_len, "AIDR=0x%x: not an SMMUv3.0..3.4 revision", p->aidr);
    /* Features a revision makes mandatory, or did not have yet. */
    if (v3_0 && (idr3 & SMMU_IDR3_XNX))
        return fail(err, err_len,
                    "IDR3.XNX=1 with AIDR = v3.0: stage-2 EL0/EL1 execute-never came with v3.1");
    if (!v3_0 && (idr0 & SMMU_IDR0_S2P) && !(idr3 & SMMU_IDR3_XNX))
        return fail(err, err_len, "IDR3.XNX=0 with IDR0.S2P=1: SMMUv3.1 and later must implement FEAT_XNX");
    const bool v3_2 = SMMU_FIELD_GET(SMMU_AIDR_MINOR, p->aidr) >= 2;
    if (v3_2 && !(idr3 & SMMU_IDR3_FWB))
        return fail(err, err_len,
                    "IDR3.FWB=0 with AIDR >= v3.2: SMMUv3.2 and later must implement FEAT_S2FWB");
    if (!v3_2 && (idr3 & SMMU_IDR3_FWB))
        return fail(err, err_len, "IDR3.FWB=1 with AIDR < v3.2: stage-2 forced write-back came with v3.2");
    if (v3_2 && bbml == 0)
        return fail(err, err_len,
                    "IDR3.BBML=0 with AIDR >= v3.2: SMMUv3.2 and later implement BBM level 1 or 2");
    if (!v3_2 && bbml != 0)
        return fail(err, err_len, "IDR3.BBML=%u with AIDR < v3.2: break-before-make levels came with v3.2",
                    bbml);

    return cache_params_ok("config_cache", &p->config_cache, err, err_len) &&
           cache_params_ok("engine.tlb", &p->engine.tlb, err, err_len) &&
           cache_params_ok("engine.walk_cache", &p->engine.walk_cache, err, err_len);
}
