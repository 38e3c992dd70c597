/* Contract between the SMMUv3 control plane (stream/CD decode, commands, events: smmu.c and friends) and the
 * translation engine (one VMSAv8-64 walker for stage 1, stage 2 and nested, the TLB and the walk cache:
 * smmu_walk.c, smmu_tlb.c). The control plane decodes STEs and CDs into the configurations below; the engine
 * translates and caches, and knows nothing about STEs, CDs, queues or events. */
#ifndef SMMU_XLATE_H
#define SMMU_XLATE_H

#include <stdbool.h>
#include <stdint.h>

#include "smmu_host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Translation regime of stage 1 (STE.STRW and CR2.E2H): decides TLB tagging and which TLBI commands apply. */
typedef enum smmu_regime {
    SMMU_REGIME_NS_EL1 = 0, /* tagged by VMID (when S2 is on) and ASID */
    SMMU_REGIME_EL2 = 1,    /* no ASID, no VMID (STRW=EL2 without E2H) */
    SMMU_REGIME_EL2_E2H = 2 /* ASID, no VMID */
} smmu_regime;

/* One translation table: TTB0 or TTB1 of stage 1, or the stage-2 table. */
typedef struct smmu_tt_cfg {
    uint64_t ttb;          /* base address as programmed (PA, or IPA for stage 1 under nesting) */
    uint8_t tsz;           /* TxSZ: the region covers 2^(64 - tsz) bytes */
    uint8_t granule_shift; /* 12, 14 or 16 */
    int8_t start_level;    /* first lookup level; stage 1: derived from tsz; stage 2: from S2SL0 */
    uint8_t concat_tables; /* stage 2 concatenated start tables (1..16); 1 for stage 1 */
    uint8_t oa_bits;       /* effective output size: min(IPS or S2PS, IDR5.OAS) in bits */
    bool disabled;         /* EPDx = 1: a walk here is a translation fault */
    bool big_endian;       /* CD.ENDI / STE.S2ENDI */
    bool ha, hd;           /* hardware access flag / dirty state update enabled */
    bool affd;             /* access flag fault disable: AF=0 behaves as AF=1, no fault */
    bool had;              /* hierarchical attribute disable (APTable/XNTable ignored) */
    smmu_mem_attrs walk_attrs;
} smmu_tt_cfg;

typedef struct smmu_s1_cfg {
    smmu_tt_cfg tt[2]; /* TTB0, TTB1 */
    bool tbi[2];       /* top byte ignore for the TTB0 / TTB1 half */
    bool wxn, uwxn, pan;
    uint64_t mair;
    uint16_t asid;
    smmu_regime regime;
    /* Added by the engine helper: VMID tag of a stage-1-only NS-EL1 stream (STE.S2VMID when IDR0.S2P == 1).
     * Ignored with stage 2 (s2->vmid tags then) and outside NS-EL1. vmid_valid == false leaves stage-1-only
     * entries untagged; VMID-scoped invalidations then remove them for any VMID (allowed over-invalidation).
     */
    bool vmid_valid;
    uint16_t vmid;
} smmu_s1_cfg;

typedef struct smmu_s2_cfg {
    smmu_tt_cfg tt;
    uint16_t vmid;
    bool ptw; /* STE.S2PTW: stage-1 walks that hit stage-2 Device memory fault (permission) */
    bool fwb; /* STE.S2FWB: descriptor MemAttr has the FEAT_S2FWB encoding (smmu_s2_memattr_is_device) */
} smmu_s2_cfg;

/* The access being translated. */
typedef struct smmu_access {
    bool write; /* RnW = 0 */
    bool exec;  /* InD = 1: instruction fetch (reads only) */
    bool priv;  /* PnU = 1: privileged */
} smmu_access;

typedef enum smmu_fault_type {
    SMMU_FAULT_NONE = 0,
    SMMU_FAULT_TRANSLATION, /* F_TRANSLATION */
    SMMU_FAULT_ADDR_SIZE,   /* F_ADDR_SIZE */
    SMMU_FAULT_ACCESS,      /* F_ACCESS */
    SMMU_FAULT_PERMISSION,  /* F_PERMISSION */
    SMMU_FAULT_WALK_EABT,   /* F_WALK_EABT: abort fetching or updating a descriptor */
} smmu_fault_type;

/* Event CLASS field: what was being done when the fault hit. Stage-1 translation-related faults are CLASS IN;
 * a stage-1 F_WALK_EABT is CLASS TT; a stage-2 fault has the class of what stage 2 was translating. */
typedef enum smmu_fault_class {
    SMMU_CLASS_CD = 0, /* fetching a CD through stage 2 (set by the control plane) */
    SMMU_CLASS_TT = 1, /* fetching / updating a stage-1 table descriptor (through stage 2, or its PA) */
    SMMU_CLASS_IN = 2, /* translating the input address itself */
} smmu_fault_class;

typedef struct smmu_fault {
    smmu_fault_type type;
    uint8_t stage; /* 1 or 2 (event S2 bit = stage == 2) */
    int8_t level;  /* lookup level where the fault was found, -1 when not defined */
    smmu_fault_class fclass;
    bool ttrnw;          /* CLASS TT: 1 = descriptor read, 0 = descriptor write (HTTU) */
    uint64_t ipa;        /* stage-2 faults: the IPA being translated by stage 2 */
    uint64_t fetch_addr; /* F_WALK_EABT: PA of the descriptor access that aborted */
} smmu_fault;

/* A successful translation of one input address. */
typedef struct smmu_xlate_out {
    uint64_t oa;            /* output address of the input address (not just the page base) */
    uint8_t size_shift;     /* log2 of the span this translation covers (smaller of stage-1 and stage-2) */
    bool read, write, exec; /* what the final translation permits for this access's privilege */
    uint8_t mem_attr;       /* resolved stage-1 MAIR attribute byte (stage 1 bypassed: 0xFF, WB) */
    uint8_t share;          /* stage-1 SH[1:0]: 0 NSH, 2 OSH, 3 ISH (stage 1 bypassed: the stage-2 SH) */
    bool global;            /* stage-1 nG == 0 */
    bool tlb_hit;           /* served from the TLB without a walk */
    uint8_t s2_mem_attr;    /* added by the engine helper: stage-2 MemAttr[3:0] (stage 2 bypassed: 0xFF) */
    uint8_t s2_share;       /* stage-2 SH[1:0] (stage 2 bypassed: 0xFF). The engine reports each stage's raw
                             * attributes; the control plane combines them (IHI0070 chapter 13). */
} smmu_xlate_out;

/* Is a MemAttr[3:0] value in the stage-2 descriptor encoding (also that of STE.MemAttr, GBPA.MemAttr and the
 * MSI MemAttr fields) a Device type? 0b00dd is Device; the reserved 0b0100, 0b1000 and 0b1100 behave as
 * Device-nGnRnE: the SMMU architecture says so for STE/GBPA.MemAttr, and in a stage-2 descriptor (CONSTRAINED
 * UNPREDICTABLE, may act as any allocated value) the model makes the same, most restrictive, choice. */
static inline bool smmu_memattr_is_device(unsigned memattr) {
    return (memattr & 0xC) == 0 || (memattr & 0x3) == 0;
}

/* The same for a stage-2 descriptor's MemAttr with STE.S2FWB. With FWB MemAttr[3] is RES0 (no FEAT_MTE_PERM)
 * and MemAttr[2] == 0 is Device (MemAttr[1:0] the type); 0b100 is reserved and, as above, Device-nGnRnE. The
 * other encodings (0b101 Non-cacheable, 0b110 Write-Back, 0b111 stage 1's type) are Normal at stage 2. */
static inline bool smmu_s2_memattr_is_device(unsigned memattr, bool fwb) {
    if (!fwb)
        return smmu_memattr_is_device(memattr);
    return (memattr & 0x4) == 0 || (memattr & 0x7) == 0x4;
}

/* Micro-architecture parameters of the translation engine. */
typedef enum smmu_repl_policy {
    SMMU_REPL_LRU = 0,
    SMMU_REPL_FIFO = 1,
    SMMU_REPL_RANDOM = 2
} smmu_repl_policy;

typedef struct smmu_cache_params {
    uint32_t sets; /* 0 disables the cache; smmu_params_validate allows at most 2^20 entries and 1024 ways */
    uint32_t ways;
    smmu_repl_policy policy;
    uint64_t lookup_ps; /* latency of one lookup, hit or miss */
} smmu_cache_params;

typedef struct smmu_engine_params {
    smmu_cache_params tlb;
    smmu_cache_params walk_cache; /* caches non-leaf table descriptors, per stage and level */
    bool tlb_tag_stream;   /* also tag TLB entries with the StreamID (per-stream micro-TLB behaviour) */
    uint64_t walk_step_ps; /* fixed cost per walk step on top of the memory access time */
    uint32_t random_seed;  /* for SMMU_REPL_RANDOM: deterministic */
    uint8_t oas_bits;      /* IDR5.OAS in bits: caps every output; 52 adds the 64 KB granule's
                            * OA[51:48] in descriptor bits [15:12] and its level-1 blocks (FEAT_LPA) */
    bool hw_af, hw_dirty;  /* IDR0.HTTU allows HA / HD at all */
    bool xnx; /* IDR3.XNX (FEAT_XNX): stage-2 XN[1:0] tells EL0 from EL1; without it bit 53 is RES0
               * and XN (bit 54) forbids execution at both */
} smmu_engine_params;

typedef struct smmu_engine smmu_engine;

smmu_engine *smmu_engine_create(const smmu_engine_params *params, const smmu_host_ops *host, void *host_ctx);
void smmu_engine_destroy(smmu_engine *eng);
/* The host's context passed to every callback until the next call (see smmu_call in smmu_host.h); returns the
 * previous one so a caller can restore it. NULL after create. */
smmu_call *smmu_engine_set_call(smmu_engine *eng, smmu_call *call);
/* Trace records (host->trace) of walk steps and TLB / walk cache lookups on or off. */
void smmu_engine_set_trace(smmu_engine *eng, bool on);

/* What the engine is doing now, for waveforms: the stage (1 or 2; 0 when no walk is in progress) and level
 * of the walk step last made, and the lookups of both caches so far. */
typedef struct smmu_engine_activity {
    uint8_t walk_stage;
    int8_t walk_level;
    uint64_t tlb_hits, tlb_misses, walk_cache_hits, walk_cache_misses;
} smmu_engine_activity;
void smmu_engine_get_activity(const smmu_engine *eng, smmu_engine_activity *a);

/* Translate input address `ia` (a VA with s1, an IPA without) of StreamID `sid`. s1 == NULL bypasses stage 1,
 * s2 == NULL bypasses stage 2 (both NULL is not allowed). Returns true with *out filled, or false with *fault
 * filled. Performs HTTU updates, fills the TLB and walk cache, charges latencies via host->advance. */
bool smmu_engine_translate(smmu_engine *eng, uint32_t sid, const smmu_s1_cfg *s1, const smmu_s2_cfg *s2,
                           uint64_t ia, smmu_access acc, smmu_xlate_out *out, smmu_fault *fault);

/* Legal TxSZ values of one translation table (SMMUv3.1+: anything outside makes the CD or STE ILLEGAL). */
typedef struct smmu_tsz_range {
    uint8_t min, max;
} smmu_tsz_range;
/* CD.T0SZ/T1SZ: at most 39, or 48 (47 with 64 KB) with IDR3.STT; at least 16, or 12 with the 64 KB granule
 * when 52-bit VAs are implemented (IDR5.VAX). */
smmu_tsz_range smmu_s1_tsz_range(uint8_t granule_shift, bool stt, bool va52);
/* STE.S2T0SZ: the same maximum; at least MAX(16, 64 - IAS), or MAX(12, 64 - IAS) with the 64 KB granule. */
smmu_tsz_range smmu_s2_tsz_range(uint8_t granule_shift, bool stt, unsigned ias_bits);

/* Stage-2 start level and number of concatenated tables for S2SL0/S2T0SZ/granule, or false if the combination
 * is not a legal stage-2 configuration (the control plane then reports C_BAD_STE). pa_bits = effective S2PS.
 */
bool smmu_s2_start_level(uint8_t granule_shift, uint8_t t0sz, smmu_tsz_range range, uint8_t sl0,
                         uint8_t pa_bits, int8_t *start_level, uint8_t *concat_tables);
/* Stage-1 start level for a TxSZ / granule, or false if TxSZ is outside `range`. */
bool smmu_s1_start_level(uint8_t granule_shift, uint8_t tsz, smmu_tsz_range range, int8_t *start_level);

/* Invalidation, one function per architectural scope. `range` calls take the TLBI range fields already
 * decoded: an address and a number of bytes (num_bytes == 0: the single page/block containing addr, any
 * size), `leaf` and `ttl` (level hint, 0 = none) as in the command. Each function removes exactly what the
 * architecture says (it may remove more only where the architecture permits) and calls
 * host->translations_changed. */
void smmu_engine_inv_all(smmu_engine *eng);                     /* NSNH_ALL and CFGI_ALL-style */
void smmu_engine_inv_vmid_all(smmu_engine *eng, uint16_t vmid); /* S12_VMALL: S1+S2 of a VMID */
void smmu_engine_inv_nh_all(smmu_engine *eng, uint16_t vmid,
                            bool vmid_valid); /* TLBI_NH_ALL: stage 1 of VMID */
void smmu_engine_inv_asid(smmu_engine *eng, smmu_regime regime, uint16_t vmid,
                          uint16_t asid); /* NH/EL2_ASID */
void smmu_engine_inv_va(smmu_engine *eng, smmu_regime regime, uint16_t vmid, bool by_asid, uint16_t asid,
                        uint64_t addr, uint64_t num_bytes, bool leaf, uint8_t ttl); /* NH_VA(A), EL2_VA(A) */
void smmu_engine_inv_regime_all(smmu_engine *eng, smmu_regime regime);              /* TLBI_EL2_ALL */
void smmu_engine_inv_ipa(smmu_engine *eng, uint16_t vmid, uint64_t ipa, uint64_t num_bytes, bool leaf,
                         uint8_t ttl); /* S2_IPA */

/* Statistics: calls cb once per counter with a stable dotted name (e.g. "tlb.hits"). */
void smmu_engine_stats(const smmu_engine *eng, void (*cb)(void *arg, const char *name, uint64_t value),
                       void *arg);

#ifdef __cplusplus
}
#endif

#endif
