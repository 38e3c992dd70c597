/* Commands decoded from their 16 bytes (IHI0070 chapter 4). The decoder reads every field a command has and
 * decides, once, whether the command is CERROR_ILL for this SMMU; the executor (smmu_cmdq.c) then works from
 * the decoded form only. Not a public interface of the shell; tests use it to check encodings. */
#ifndef SMMU_CMD_H
#define SMMU_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include "smmu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct smmu_cmd {
    uint64_t raw[2]; /* the command as read, for traces of failures */
    uint8_t opcode;
    bool ssec;
    /* Stream and substream (PREFETCH_*, CFGI_*, ATC_INV, PRI_RESP, RESUME, STALL_TERM). */
    uint32_t sid;
    bool ssv;
    uint32_t ssid;
    /* TLBI scopes, already cut to 8 bits without IDR0.VMID16 / IDR0.ASID16. */
    uint16_t vmid, asid;
    bool leaf; /* CFGI_STE, CFGI_CD, TLBI by address */
    /* TLBI by address: the range fields as encoded (TG = 0: not a range; all RES0 without IDR3.RIL)... */
    uint8_t tg, num, scale, ttl_field;
    /* ...and the span they describe: Addr (VA or IPA; aligned down to the TG granule for a range), the number
     * of bytes (0: the one entry containing addr, whatever its size) and the effective level hint (0: none).
     */
    uint64_t addr;
    uint64_t num_bytes;
    uint8_t ttl;
    uint8_t range;      /* CFGI_STE_RANGE: 2^(Range+1) StreamIDs; 31 is CFGI_ALL */
    uint8_t size;       /* PREFETCH_ADDR: 2^Size translations; ATC_INV: 4 KiB x 2^Size bytes */
    bool global;        /* ATC_INV: Global Invalidate */
    uint16_t prg_index; /* PRI_RESP */
    uint8_t resp;       /* PRI_RESP: 0 ResponseFailure, 1 InvalidRequest, 2 Success */
    bool ac, ab;        /* RESUME: retry (Ac), abort rather than RAZ/WI on terminate (Ab) */
    uint16_t stag;      /* RESUME */
    /* CMD_SYNC */
    uint8_t cs; /* SMMU_SYNC_CS_* */
    uint8_t msh, msi_attr;
    uint32_t msi_data;
    uint64_t msi_addr; /* MSIAddress[55:2] as programmed (truncated to the OAS when written) */
} smmu_cmd;

/* Decodes the command d0/d1 for an SMMU described by `p` and returns the CERROR it raises: SMMU_CERROR_ILL
 * for a reserved or Secure-only opcode, SSec = 1, a command of a feature the ID registers do not advertise,
 * and reserved encodings (CMD_SYNC CS = 0b11, PRI_RESP Resp = 0b11, a range TLBI with NUM = SCALE = 0 and no
 * level hint); SMMU_CERROR_NONE otherwise. Other non-zero RES0 fields are accepted (the architecture permits
 * either). *cmd is filled in both cases. */
unsigned smmu_cmd_decode(const smmu_params *p, uint64_t d0, uint64_t d1, smmu_cmd *cmd);

/* "CFGI_STE", ... for the opcodes of the architecture, NULL for reserved ones. */
const char *smmu_opcode_name(unsigned opcode);

#ifdef __cplusplus
}
#endif

#endif
