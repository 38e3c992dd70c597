/* The transaction path shared by ordinary traffic (smmu_txn.c) and ATS Translation Requests (smmu_ats.c):
 * both resolve their configuration the same way and run the same engine; only the per-request policy
 * differs. Not a public interface. */
#ifndef SMMU_TXN_PATH_H
#define SMMU_TXN_PATH_H

#include "smmu_internal.h"

/* How an ATS Translation Request ends when the shared path terminates it (IHI0070 3.9.1.2). */
typedef enum smmu_ats_end {
    SMMU_ATS_END_CA = 0, /* configuration error or external abort: Completer Abort */
    SMMU_ATS_END_UR,     /* ATS disabled for the stream: Unsupported Request */
    SMMU_ATS_END_DENY,   /* translation-related fault: Success with no permission */
} smmu_ats_end;

/* A request whose configuration is being resolved. */
typedef struct smmu_txn_ctx {
    const smmu_txn *t;
    smmu_access acc;         /* as checked: InD = 0 for writes, STE/GBPA PRIVCFG/INSTCFG applied */
    const smmu_ste_cfg *ste; /* may point at ste_copy */
    smmu_ste_cfg ste_copy;   /* where a CD fetch moves the STE, since it may evict it from the cache */
    const smmu_cd_cfg *cd;   /* NULL: stage 1 bypassed */
    const smmu_s2_cfg *s2;   /* NULL: stage 2 bypassed */
    smmu_ats_end ats_end;    /* set whenever the path ends a Translation Request */
} smmu_txn_ctx;

void smmu_txn_ctx_init(smmu *s, smmu_txn_ctx *c, const smmu_txn *t, smmu_result *res);
/* SMMUEN = 1: the STE (with the ATS gate of the request's AT) and the CD. Returns false with the request
 * ended in *res (and c->ats_end for a Translation Request). */
bool smmu_txn_resolve(smmu *s, smmu_txn_ctx *c, smmu_result *res);
/* Ends the request with an abort and event `id`, always recorded (F_UUT with its reason, F_BAD_ATS_TREQ,
 * F_TRANSL_FORBIDDEN). */
void smmu_txn_forbid(smmu *s, smmu_txn_ctx *c, uint8_t id, uint16_t uut_reason, smmu_result *res);
/* Ends the request on an engine fault, with the recording rules of its AT. */
void smmu_txn_walk_fault(smmu *s, smmu_txn_ctx *c, const smmu_fault *flt, smmu_result *res);
bool smmu_txn_is_translation_related(smmu_fault_type t);
/* Charges the configuration-cache latency gathered during the request. */
void smmu_txn_charge(smmu *s);

#endif
