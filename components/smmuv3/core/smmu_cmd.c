/* Command decode (IHI0070 4.1-4.7): one pass over the two doublewords that reads every field and decides
 * CERROR_ILL, so the executor never looks at encodings. */
#include "smmu_cmd.h"

#include <string.h>

#include "smmu_regs.h"
#include "smmu_structs.h"

const char *smmu_opcode_name(unsigned opcode) {
    switch (opcode) {
    case SMMU_OP_PREFETCH_CONFIG:
        return "PREFETCH_CONFIG";
    case SMMU_OP_PREFETCH_ADDR:
        return "PREFETCH_ADDR";
    case SMMU_OP_CFGI_STE:
        return "CFGI_STE";
    case SMMU_OP_CFGI_STE_RANGE:
        return "CFGI_STE_RANGE";
    case SMMU_OP_CFGI_CD:
        return "CFGI_CD";
    case SMMU_OP_CFGI_CD_ALL:
        return "CFGI_CD_ALL";
    case SMMU_OP_CFGI_VMS_PIDM:
        return "CFGI_VMS_PIDM";
    case SMMU_OP_TLBI_NH_ALL:
        return "TLBI_NH_ALL";
    case SMMU_OP_TLBI_NH_ASID:
        return "TLBI_NH_ASID";
    case SMMU_OP_TLBI_NH_VA:
        return "TLBI_NH_VA";
    case SMMU_OP_TLBI_NH_VAA:
        return "TLBI_NH_VAA";
    case SMMU_OP_TLBI_EL3_ALL:
        return "TLBI_EL3_ALL";
    case SMMU_OP_TLBI_EL3_VA:
        return "TLBI_EL3_VA";
    case SMMU_OP_TLBI_EL2_ALL:
        return "TLBI_EL2_ALL";
    case SMMU_OP_TLBI_EL2_ASID:
        return "TLBI_EL2_ASID";
    case SMMU_OP_TLBI_EL2_VA:
        return "TLBI_EL2_VA";
    case SMMU_OP_TLBI_EL2_VAA:
        return "TLBI_EL2_VAA";
    case SMMU_OP_TLBI_S12_VMALL:
        return "TLBI_S12_VMALL";
    case SMMU_OP_TLBI_S2_IPA:
        return "TLBI_S2_IPA";
    case SMMU_OP_TLBI_NSNH_ALL:
        return "TLBI_NSNH_ALL";
    case SMMU_OP_ATC_INV:
        return "ATC_INV";
    case SMMU_OP_PRI_RESP:
        return "PRI_RESP";
    case SMMU_OP_RESUME:
        return "RESUME";
    case SMMU_OP_STALL_TERM:
        return "STALL_TERM";
    case SMMU_OP_SYNC:
        return "SYNC";
    default:
        return NULL;
    }
}

static bool has(const smmu_params *p, unsigned idr, uint64_t mask) {
    return (p->idr[idr] & mask) != 0;
}

/* Addr/Leaf and, with IDR3.RIL, the range fields TG/SCALE/NUM/TTL of a TLBI by address (4.4.1). Returns false
 * for the reserved range encoding: TG != 0 with NUM = SCALE = 0 and an effective TTL of 0. */
static bool decode_range(const smmu_params *p, uint64_t d0, uint64_t d1, uint64_t addr_mask, smmu_cmd *c) {
    c->addr = d1 & addr_mask;
    c->num_bytes = 0;
    c->ttl = 0;
    if (!has(p, 3, SMMU_IDR3_RIL))
        return true; /* TG/NUM/SCALE/TTL are RES0 without RIL */
    c->tg = (uint8_t)SMMU_FIELD_GET(SMMU_CMD1_TG, d1);
    c->num = (uint8_t)SMMU_FIELD_GET(SMMU_CMD0_NUM, d0);
    c->scale = (uint8_t)SMMU_FIELD_GET(SMMU_CMD0_SCALE, d0);
    c->ttl_field = (uint8_t)SMMU_FIELD_GET(SMMU_CMD1_TTL, d1);
    if (c->tg == 0)
        return true; /* not a range invalidation: the fields carry nothing */
    static const uint8_t granule_shift[4] = {0, 12, 14, 16};
    unsigned shift = granule_shift[c->tg];
    c->num_bytes = ((uint64_t)c->num + 1u) << c->scale << shift;
    c->addr &= ~((UINT64_C(1) << shift) - 1u);
    c->ttl = c->ttl_field;
    if (c->ttl == 1 && shift != 12)
        c->ttl = 0; /* no level-1 leaf entries with 16K/64K granules: the hint carries no information */
    return c->num != 0 || c->scale != 0 || c->ttl != 0;
}

unsigned smmu_cmd_decode(const smmu_params *p, uint64_t d0, uint64_t d1, smmu_cmd *c) {
    memset(c, 0, sizeof(*c));
    c->raw[0] = d0;
    c->raw[1] = d1;
    c->opcode = (uint8_t)SMMU_FIELD_GET(SMMU_CMD0_OPCODE, d0);
    c->ssec = (d0 & SMMU_CMD0_SSEC) != 0;
    c->sid = (uint32_t)SMMU_FIELD_GET(SMMU_CMD0_SID, d0);
    c->ssv = (d0 & SMMU_CMD0_SSV) != 0;
    c->ssid = (uint32_t)SMMU_FIELD_GET(SMMU_CMD0_SSID, d0);
    c->vmid = (uint16_t)SMMU_FIELD_GET(SMMU_CMD0_VMID, d0);
    if (!has(p, 0, SMMU_IDR0_VMID16))
        c->vmid &= 0xFF;
    c->asid = (uint16_t)SMMU_FIELD_GET(SMMU_CMD0_ASID, d0);
    if (!has(p, 0, SMMU_IDR0_ASID16))
        c->asid &= 0xFF;
    c->leaf = (d1 & SMMU_CMD1_LEAF) != 0;

    const bool s1p = has(p, 0, SMMU_IDR0_S1P), s2p = has(p, 0, SMMU_IDR0_S2P), hyp = has(p, 0, SMMU_IDR0_HYP);
    /* With the terminate model (STALL_MODEL = 1) nothing ever stalls: RESUME and STALL_TERM have no use. */
    const bool stalls = SMMU_FIELD_GET(SMMU_IDR0_STALL_MODEL, p->idr[0]) != 1;
    bool legal;
    switch (c->opcode) {
    case SMMU_OP_PREFETCH_CONFIG:
    case SMMU_OP_CFGI_STE:
    case SMMU_OP_TLBI_NSNH_ALL:
        legal = true;
        break;
    case SMMU_OP_PREFETCH_ADDR:
        c->size = (uint8_t)SMMU_FIELD_GET(SMMU_CMD1_PREFETCH_SIZE, d1);
        c->addr = d1 & SMMU_CMD1_ADDR;
        legal = true;
        break;
    case SMMU_OP_CFGI_STE_RANGE:
        c->range = (uint8_t)SMMU_FIELD_GET(SMMU_CMD1_RANGE, d1);
        legal = true;
        break;
    case SMMU_OP_CFGI_CD:
    case SMMU_OP_CFGI_CD_ALL: /* no CDs without stage 1 */
    case SMMU_OP_TLBI_NH_ALL:
    case SMMU_OP_TLBI_NH_ASID:
        legal = s1p;
        break;
    case SMMU_OP_TLBI_NH_VA:
    case SMMU_OP_TLBI_NH_VAA:
        legal = decode_range(p, d0, d1, SMMU_CMD1_VA, c) && s1p;
        break;
    case SMMU_OP_TLBI_EL2_ALL:
    case SMMU_OP_TLBI_EL2_ASID:
        legal = hyp;
        break;
    case SMMU_OP_TLBI_EL2_VA:
    case SMMU_OP_TLBI_EL2_VAA:
        legal = decode_range(p, d0, d1, SMMU_CMD1_VA, c) && hyp;
        break;
    case SMMU_OP_TLBI_S12_VMALL:
        legal = s2p;
        break;
    case SMMU_OP_TLBI_S2_IPA:
        legal = decode_range(p, d0, d1, SMMU_CMD1_IPA, c) && s2p;
        break;
    case SMMU_OP_ATC_INV:
        c->global = (d0 & SMMU_CMD0_ATC_GLOBAL) != 0;
        c->size = (uint8_t)SMMU_FIELD_GET(SMMU_CMD1_ATC_SIZE, d1);
        c->addr = d1 & SMMU_CMD1_ADDR;
        /* Size above 52 may be ILLEGAL (IHI0070 4.5.1): this model says so rather than guess a span; a PASID
         * needs substreams. */
        legal = has(p, 0, SMMU_IDR0_ATS) && c->size <= 52 &&
                !(c->ssv && SMMU_FIELD_GET(SMMU_IDR1_SSIDSIZE, p->idr[1]) == 0);
        break;
    case SMMU_OP_PRI_RESP:
        c->prg_index = (uint16_t)SMMU_FIELD_GET(SMMU_CMD1_PRI_PRGIDX, d1);
        c->resp = (uint8_t)SMMU_FIELD_GET(SMMU_CMD1_PRI_RESP, d1);
        legal = has(p, 0, SMMU_IDR0_PRI) && c->resp != 3;
        break;
    case SMMU_OP_RESUME:
        c->ac = (d0 & SMMU_CMD0_RESUME_AC) != 0;
        c->ab = (d0 & SMMU_CMD0_RESUME_AB) != 0;
        c->stag = (uint16_t)SMMU_FIELD_GET(SMMU_CMD1_RESUME_STAG, d1);
        legal = stalls;
        break;
    case SMMU_OP_STALL_TERM:
        legal = stalls;
        break;
    case SMMU_OP_SYNC:
        c->cs = (uint8_t)SMMU_FIELD_GET(SMMU_CMD0_SYNC_CS, d0);
        c->msh = (uint8_t)SMMU_FIELD_GET(SMMU_CMD0_SYNC_MSH, d0);
        c->msi_attr = (uint8_t)SMMU_FIELD_GET(SMMU_CMD0_SYNC_MSIATTR, d0);
        c->msi_data = (uint32_t)SMMU_FIELD_GET(SMMU_CMD0_SYNC_MSIDATA, d0);
        c->msi_addr = SMMU_ADDR_GET(SMMU_CMD1_SYNC_MSIADDR, d1);
        legal = c->cs != 3;
        break;
    case SMMU_OP_CFGI_VMS_PIDM: /* needs MPAM */
    default:                    /* reserved and Secure-only (EL3, S_*) opcodes */
        legal = false;
        break;
    }
    /* SSec is bit 10 of every command, RES0 where a command has no SSec field: 1 is never legal on the
     * Non-secure queue. */
    return legal && !c->ssec ? SMMU_CERROR_NONE : SMMU_CERROR_ILL;
}
