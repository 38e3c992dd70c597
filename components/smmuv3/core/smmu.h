/* SMMUv3 architectural core: public API used by the SystemC shell and by unit tests. No SystemC inside. */
#ifndef SMMU_H
#define SMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smmu_host.h"
#include "smmu_xlate.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the register space: page 0 and page 1. */
#define SMMU_REG_SPACE_SIZE 0x20000u

/* Everything an architect may sweep. Defaults from smmu_params_default(). */
typedef struct smmu_params {
    /* Raw ID register values, as the FVP model takes them. IIDR and AIDR too. */
    uint32_t idr[6];
    uint32_t iidr;
    uint32_t aidr;
    smmu_engine_params engine;
    smmu_cache_params config_cache; /* STE and CD cache */
    uint64_t cmd_ps;                /* processing time per command */
    uint64_t event_ps;              /* time to build and write one event record (besides the memory write) */
    uint64_t reg_access_ps;         /* register access latency */
    uint64_t msi_ps;                /* time to issue one MSI write (besides the memory write itself) */
} smmu_params;

/* A default SMMUv3.2-like envelope (S1P, S2P, nested, 2-level ST and CD, ASID16/VMID16, HTTU A+D, MSI, SEV,
 * RIL, XNX, FWB, BBML level 2, 4K/16K/64K, OAS 48, SSIDSIZE 20, SIDSIZE 16, queues >= 2^7; no ATS, PRI or
 * stall yet). */
void smmu_params_default(smmu_params *p);

/* Checks that the ID registers describe a possible SMMU (e.g. nested without S1P/S2P, STALL_MODEL 3, a queue
 * size above 19, no granule at all). Returns true if valid, else false with a one-line reason in err. */
bool smmu_params_validate(const smmu_params *p, char *err, size_t err_len);

typedef struct smmu smmu;

/* Returns NULL if the parameters are invalid (call smmu_params_validate first for the reason). */
smmu *smmu_create(const smmu_params *p, const smmu_host_ops *host, void *host_ctx);
void smmu_destroy(smmu *s);
/* Reset state: every register at its reset value, caches empty. */
void smmu_reset(smmu *s);

/* Every entry point that may call the host takes the host's context of the call (smmu_call, see
 * smmu_host.h), passed back to each callback it makes. */

/* Register access at `offset` in the 128 KiB space; size 4 or 8 bytes, naturally aligned. Returns false for
 * accesses the architecture does not allow (wrong size/alignment), which the shell answers with a bus error;
 * reserved offsets are RAZ/WI and return true. Writes to CMDQ_PROD, CR0 etc. do their work before returning
 * (command processing, enabling queues), charging the time via host->advance. */
bool smmu_reg_read(smmu *s, smmu_call *call, uint64_t offset, unsigned size, uint64_t *value);
/* The same value without counting or charging time: for observers (waveforms), whose reads are not the
 * guest's. */
bool smmu_reg_peek(smmu *s, uint64_t offset, unsigned size, uint64_t *value);
bool smmu_reg_write(smmu *s, smmu_call *call, uint64_t offset, unsigned size, uint64_t value);

/* An incoming transaction and its identity (the shell fills this from the TLM extension). */
typedef enum smmu_pcie_at {
    SMMU_AT_UNTRANSLATED = 0,
    SMMU_AT_TRANSLATION_REQ = 1,
    SMMU_AT_TRANSLATED = 2
} smmu_pcie_at;

typedef struct smmu_txn {
    uint32_t sid;
    uint32_t ssid;
    bool ssv;
    bool secure; /* Secure stream: this model implements only the Non-secure programming interface */
    uint64_t addr;
    uint32_t len; /* bytes; the transaction must not cross the translation it gets (the shell splits) */
    smmu_access acc;
    smmu_pcie_at at;
    bool no_write; /* ATS translation request: NW */
} smmu_txn;

typedef enum smmu_result_status {
    SMMU_XLATE_OK = 0, /* pass downstream to `pa` */
    SMMU_XLATE_ABORT,  /* terminate with an abort (TLM error response, PCIe UR/CA for ATS) */
    SMMU_XLATE_RAZ_WI, /* terminate: reads return zero, writes are ignored, success response */
} smmu_result_status;

typedef struct smmu_result {
    smmu_result_status status;
    uint64_t pa;
    uint8_t size_shift; /* span over which pa - addr stays constant and the permissions apply (for DMI) */
    bool read, write, exec;
    bool bypass; /* no translation was applied (SMMUEN=0 with GBPA bypass, or STE bypass) */
    uint8_t mem_attr, share;
    bool event_recorded; /* an event record was written for this transaction */
    uint8_t event_id;    /* the event raised (recorded or not), 0 if none */
} smmu_result;

void smmu_translate(smmu *s, smmu_call *call, const smmu_txn *txn, smmu_result *res);

/* Text trace on/off (host->trace must be set for lines to appear). */
void smmu_set_trace(smmu *s, bool on);

/* Statistics of the whole SMMU (registers, commands by type, events by type, config cache, engine). */
void smmu_stats(const smmu *s, void (*cb)(void *arg, const char *name, uint64_t value), void *arg);

#ifdef __cplusplus
}
#endif

#endif
