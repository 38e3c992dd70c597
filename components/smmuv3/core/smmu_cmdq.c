/* Command queue consumption and command execution (IHI0070 chapter 4 and §7.1). */
#include <stdio.h>
#include <string.h>

#include "smmu_internal.h"

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

static uint64_t get_le64(const uint8_t *b) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

typedef struct tlbi_range {
    uint64_t addr;
    uint64_t num_bytes; /* 0: the single entry containing addr */
    bool leaf;
    uint8_t ttl;
} tlbi_range;

/* Decodes Addr/Leaf and, with IDR3.RIL, the range fields TG/SCALE/NUM/TTL of a TLBI-by-address command.
 * Returns false for the reserved range encoding (TG != 0 with NUM = SCALE = 0 and an effective TTL of 0),
 * which is CERROR_ILL. */
static bool decode_range(const smmu *s, uint64_t d0, uint64_t d1, uint64_t addr_mask, tlbi_range *out) {
    tlbi_range r = {.addr = d1 & addr_mask, .num_bytes = 0, .leaf = (d1 & SMMU_CMD1_LEAF) != 0, .ttl = 0};
    *out = r;
    unsigned tg = (unsigned)SMMU_FIELD_GET(SMMU_CMD1_TG, d1);
    if (!smmu_has(s, 3, SMMU_IDR3_RIL) || tg == 0)
        return true; /* TG/NUM/SCALE/TTL are RES0 without RIL; TG == 0 is a non-range invalidation */
    static const uint8_t granule_shift[4] = {0, 12, 14, 16};
    unsigned shift = granule_shift[tg];
    unsigned num = (unsigned)SMMU_FIELD_GET(SMMU_CMD0_NUM, d0);
    unsigned scale = (unsigned)SMMU_FIELD_GET(SMMU_CMD0_SCALE, d0);
    r.num_bytes = ((uint64_t)num + 1u) << scale << shift;
    r.addr &= ~((UINT64_C(1) << shift) - 1u);
    r.ttl = (uint8_t)SMMU_FIELD_GET(SMMU_CMD1_TTL, d1);
    if (r.ttl == 1 && shift != 12)
        r.ttl = 0; /* no level-1 leaf entries with 16K/64K granules: the hint carries no information */
    *out = r;
    return num != 0 || scale != 0 || r.ttl != 0;
}

static uint16_t cmd_vmid(const smmu *s, uint64_t d0) {
    uint16_t vmid = (uint16_t)SMMU_FIELD_GET(SMMU_CMD0_VMID, d0);
    return smmu_has(s, 0, SMMU_IDR0_VMID16) ? vmid : (uint16_t)(vmid & 0xFF);
}

static uint16_t cmd_asid(const smmu *s, uint64_t d0) {
    uint16_t asid = (uint16_t)SMMU_FIELD_GET(SMMU_CMD0_ASID, d0);
    return smmu_has(s, 0, SMMU_IDR0_ASID16) ? asid : (uint16_t)(asid & 0xFF);
}

static void config_changed(smmu *s) {
    if (s->host.translations_changed)
        s->host.translations_changed(s->host_ctx);
}

static void trace_range(smmu *s, const char *name, uint64_t d0, const tlbi_range *r, bool vmid, bool asid) {
    if (!smmu_tracing(s))
        return;
    char ids[40] = "";
    if (vmid && asid)
        snprintf(ids, sizeof(ids), " vmid=0x%x asid=0x%x", cmd_vmid(s, d0), cmd_asid(s, d0));
    else if (vmid)
        snprintf(ids, sizeof(ids), " vmid=0x%x", cmd_vmid(s, d0));
    else if (asid)
        snprintf(ids, sizeof(ids), " asid=0x%x", cmd_asid(s, d0));
    smmu_tracef(s, "smmu: cmd %s%s addr=0x%llx bytes=0x%llx leaf=%d ttl=%u", name, ids,
                (unsigned long long)r->addr, (unsigned long long)r->num_bytes, r->leaf, r->ttl);
}

static unsigned cmd_sync(smmu *s, uint64_t d0, uint64_t d1) {
    unsigned cs = (unsigned)SMMU_FIELD_GET(SMMU_CMD0_SYNC_CS, d0);
    if (cs == 3)
        return SMMU_CERROR_ILL;
    uint64_t msi_addr = SMMU_ADDR_GET(SMMU_CMD1_SYNC_MSIADDR, d1);
    SMMU_TRACE(s, "smmu: cmd SYNC cs=%s msiaddr=0x%llx msidata=0x%x",
               cs == SMMU_SYNC_CS_IRQ ? "irq" : (cs == SMMU_SYNC_CS_SEV ? "sev" : "none"),
               (unsigned long long)msi_addr, (unsigned)SMMU_FIELD_GET(SMMU_CMD0_SYNC_MSIDATA, d0));
    /* Every earlier command has completed by now: the model executes commands in order and at once. */
    if (cs == SMMU_SYNC_CS_IRQ) {
        /* The MSI goes to MSIAddress truncated to the OAS (the zero test is on the whole field); the wired
         * output is pulsed whatever MSIAddress is, so software may use either. */
        if (smmu_has(s, 0, SMMU_IDR0_MSI) && msi_addr != 0) {
            uint32_t attr =
                (uint32_t)(SMMU_FIELD_PREP(SMMU_IRQ_CFG2_MEMATTR,
                                           SMMU_FIELD_GET(SMMU_CMD0_SYNC_MSIATTR, d0)) |
                           SMMU_FIELD_PREP(SMMU_IRQ_CFG2_SH, SMMU_FIELD_GET(SMMU_CMD0_SYNC_MSH, d0)));
            s->st.sync_msi++;
            if (!smmu_msi_write(s, msi_addr, (uint32_t)SMMU_FIELD_GET(SMMU_CMD0_SYNC_MSIDATA, d0), attr))
                smmu_gerror_raise(s, SMMU_GERROR_MSI_CMDQ_ABT_ERR);
        }
        s->st.sync_irq++;
        smmu_irq_pulse(s, SMMU_IRQ_CMD_SYNC);
    } else if (cs == SMMU_SYNC_CS_SEV && smmu_has(s, 0, SMMU_IDR0_SEV)) {
        s->st.sync_sev++;
        SMMU_TRACE(s, "smmu: sev");
    }
    return SMMU_CERROR_NONE;
}

/* Executes one command; returns a CERROR code (0 on success). */
static unsigned exec_cmd(smmu *s, uint64_t d0, uint64_t d1) {
    unsigned op = (unsigned)SMMU_FIELD_GET(SMMU_CMD0_OPCODE, d0);
    s->st.cmds[op]++;
    if (d0 & SMMU_CMD0_SSEC)
        return SMMU_CERROR_ILL; /* SSec must be 0 on the Non-secure queue */
    const uint32_t sid = (uint32_t)SMMU_FIELD_GET(SMMU_CMD0_SID, d0);
    const uint32_t ssid = (uint32_t)SMMU_FIELD_GET(SMMU_CMD0_SSID, d0);
    const bool leaf = (d1 & SMMU_CMD1_LEAF) != 0;
    const bool s1p = smmu_has(s, 0, SMMU_IDR0_S1P), s2p = smmu_has(s, 0, SMMU_IDR0_S2P);
    const bool el2_regime_e2h = (s->cr2 & SMMU_CR2_E2H) != 0;
    tlbi_range r;
    char ssid_text[16];

    switch (op) {
    case SMMU_OP_PREFETCH_CONFIG:
    case SMMU_OP_PREFETCH_ADDR:
        /* Prefetch is a hint: this model does not prefetch and never reports errors for it. */
        SMMU_TRACE(s, "smmu: cmd %s sid=0x%x ssid=%s", smmu_opcode_name(op), sid,
                   smmu_ssid_str(ssid_text, (d0 & SMMU_CMD0_SSV) != 0, ssid));
        return SMMU_CERROR_NONE;
    case SMMU_OP_CFGI_STE:
        SMMU_TRACE(s, "smmu: cmd CFGI_STE sid=0x%x leaf=%d", sid, leaf);
        smmu_cc_inv_ste_range(s, sid, 1, leaf);
        config_changed(s);
        return SMMU_CERROR_NONE;
    case SMMU_OP_CFGI_STE_RANGE: {
        unsigned range = (unsigned)SMMU_FIELD_GET(SMMU_CMD1_RANGE, d1);
        if (range == SMMU_CFGI_RANGE_ALL) {
            SMMU_TRACE(s, "smmu: cmd CFGI_ALL");
            smmu_cc_inv_all(s);
        } else {
            uint64_t count = UINT64_C(1) << (range + 1);
            uint32_t first = (uint32_t)(sid & ~(count - 1u));
            SMMU_TRACE(s, "smmu: cmd CFGI_STE_RANGE sid=0x%x range=%u", first, range);
            smmu_cc_inv_ste_range(s, first, count, false);
        }
        config_changed(s);
        return SMMU_CERROR_NONE;
    }
    case SMMU_OP_CFGI_CD:
        if (!s1p)
            return SMMU_CERROR_ILL;
        SMMU_TRACE(s, "smmu: cmd CFGI_CD sid=0x%x ssid=0x%x leaf=%d", sid, ssid, leaf);
        smmu_cc_inv_cd(s, sid, ssid, leaf);
        config_changed(s);
        return SMMU_CERROR_NONE;
    case SMMU_OP_CFGI_CD_ALL:
        if (!s1p)
            return SMMU_CERROR_ILL;
        SMMU_TRACE(s, "smmu: cmd CFGI_CD_ALL sid=0x%x", sid);
        smmu_cc_inv_cd_all(s, sid);
        config_changed(s);
        return SMMU_CERROR_NONE;
    case SMMU_OP_TLBI_NH_ALL:
        if (!s1p)
            return SMMU_CERROR_ILL; /* stage-1 invalidations on a stage-2-only SMMU */
        SMMU_TRACE(s, "smmu: cmd TLBI_NH_ALL vmid=0x%x", cmd_vmid(s, d0));
        smmu_engine_inv_nh_all(s->eng, cmd_vmid(s, d0), s2p);
        return SMMU_CERROR_NONE;
    case SMMU_OP_TLBI_NH_ASID:
        if (!s1p)
            return SMMU_CERROR_ILL;
        SMMU_TRACE(s, "smmu: cmd TLBI_NH_ASID vmid=0x%x asid=0x%x", cmd_vmid(s, d0), cmd_asid(s, d0));
        smmu_engine_inv_asid(s->eng, SMMU_REGIME_NS_EL1, cmd_vmid(s, d0), cmd_asid(s, d0));
        return SMMU_CERROR_NONE;
    case SMMU_OP_TLBI_NH_VA:
    case SMMU_OP_TLBI_NH_VAA: {
        bool by_asid = op == SMMU_OP_TLBI_NH_VA;
        if (!s1p || !decode_range(s, d0, d1, SMMU_CMD1_VA, &r))
            return SMMU_CERROR_ILL;
        trace_range(s, smmu_opcode_name(op), d0, &r, true, by_asid);
        smmu_engine_inv_va(s->eng, SMMU_REGIME_NS_EL1, cmd_vmid(s, d0), by_asid,
                           by_asid ? cmd_asid(s, d0) : 0, r.addr, r.num_bytes, r.leaf, r.ttl);
        return SMMU_CERROR_NONE;
    }
    case SMMU_OP_TLBI_EL2_ALL:
    case SMMU_OP_TLBI_EL2_ASID:
    case SMMU_OP_TLBI_EL2_VA:
    case SMMU_OP_TLBI_EL2_VAA: {
        if (!smmu_has(s, 0, SMMU_IDR0_HYP))
            return SMMU_CERROR_ILL;
        smmu_regime regime = el2_regime_e2h ? SMMU_REGIME_EL2_E2H : SMMU_REGIME_EL2;
        if (op == SMMU_OP_TLBI_EL2_ALL) {
            SMMU_TRACE(s, "smmu: cmd TLBI_EL2_ALL");
            smmu_engine_inv_regime_all(s->eng, SMMU_REGIME_EL2);
            smmu_engine_inv_regime_all(s->eng, SMMU_REGIME_EL2_E2H);
        } else if (op == SMMU_OP_TLBI_EL2_ASID) {
            SMMU_TRACE(s, "smmu: cmd TLBI_EL2_ASID asid=0x%x", cmd_asid(s, d0));
            smmu_engine_inv_asid(s->eng, SMMU_REGIME_EL2_E2H, 0, cmd_asid(s, d0));
        } else {
            /* EL2 without E2H has no ASIDs, so TLBI_EL2_VA matches on address only there. */
            bool by_asid = op == SMMU_OP_TLBI_EL2_VA && regime == SMMU_REGIME_EL2_E2H;
            if (!decode_range(s, d0, d1, SMMU_CMD1_VA, &r))
                return SMMU_CERROR_ILL;
            trace_range(s, smmu_opcode_name(op), d0, &r, false, op == SMMU_OP_TLBI_EL2_VA);
            smmu_engine_inv_va(s->eng, regime, 0, by_asid, by_asid ? cmd_asid(s, d0) : 0, r.addr, r.num_bytes,
                               r.leaf, r.ttl);
        }
        return SMMU_CERROR_NONE;
    }
    case SMMU_OP_TLBI_S12_VMALL:
        if (!s2p)
            return SMMU_CERROR_ILL;
        SMMU_TRACE(s, "smmu: cmd TLBI_S12_VMALL vmid=0x%x", cmd_vmid(s, d0));
        smmu_engine_inv_vmid_all(s->eng, cmd_vmid(s, d0));
        return SMMU_CERROR_NONE;
    case SMMU_OP_TLBI_S2_IPA:
        if (!s2p)
            return SMMU_CERROR_ILL;
        if (!decode_range(s, d0, d1, SMMU_CMD1_IPA, &r))
            return SMMU_CERROR_ILL;
        trace_range(s, "TLBI_S2_IPA", d0, &r, true, false);
        smmu_engine_inv_ipa(s->eng, cmd_vmid(s, d0), r.addr, r.num_bytes, r.leaf, r.ttl);
        return SMMU_CERROR_NONE;
    case SMMU_OP_TLBI_NSNH_ALL:
        SMMU_TRACE(s, "smmu: cmd TLBI_NSNH_ALL");
        smmu_engine_inv_all(s->eng);
        return SMMU_CERROR_NONE;
    case SMMU_OP_SYNC:
        return cmd_sync(s, d0, d1);
    case SMMU_OP_ATC_INV:  /* IDR0.ATS == 0 */
    case SMMU_OP_PRI_RESP: /* IDR0.PRI == 0 */
    case SMMU_OP_RESUME:   /* IDR0.STALL_MODEL == 1 (terminate only) */
    case SMMU_OP_STALL_TERM:
    default: /* reserved, Secure-only (EL3, S_*) and unimplemented (CFGI_VMS_PIDM without MPAM) opcodes */
        return SMMU_CERROR_ILL;
    }
}

static void cmdq_error(smmu *s, unsigned cerror) {
    smmu_queue *q = &s->cmdq;
    q->cons = (uint32_t)SMMU_FIELD_SET(q->cons, SMMU_CMDQ_CONS_ERR, cerror);
    if (cerror == SMMU_CERROR_ILL)
        s->st.cmd_errors_ill++;
    else
        s->st.cmd_errors_abt++;
    SMMU_TRACE(s, "smmu: cmdq error %s cons=0x%x", cerror == SMMU_CERROR_ILL ? "CERROR_ILL" : "CERROR_ABT",
               q->cons);
    smmu_gerror_raise(s, SMMU_GERROR_CMDQ_ERR);
}

void smmu_cmdq_process(smmu *s) {
    if (s->in_cmdq)
        return; /* an MSI written back into our own registers must not nest command processing */
    s->in_cmdq = true;
    smmu_queue *q = &s->cmdq;
    const smmu_mem_attrs attrs = smmu_cr1_queue_attrs(s);
    /* At most one pass over the queue per call, whatever software does to PROD meanwhile. */
    uint64_t budget = UINT64_C(2) << smmu_q_log2(q);
    while ((s->cr0ack & SMMU_CR0_CMDQEN) && !((s->gerror ^ s->gerrorn) & SMMU_GERROR_CMDQ_ERR) &&
           !smmu_q_empty(q) && budget--) {
        uint64_t addr = smmu_q_entry_addr(q, q->cons, SMMU_CMD_SIZE) & smmu_oas_mask(s);
        uint8_t buf[SMMU_CMD_SIZE];
        smmu_advance(s, s->p.cmd_ps);
        if (!s->host.mem_read ||
            !s->host.mem_read(s->host_ctx, SMMU_MEM_QUEUE, addr, buf, sizeof(buf), &attrs)) {
            cmdq_error(s, SMMU_CERROR_ABT);
            break;
        }
        uint64_t d0 = get_le64(buf), d1 = get_le64(buf + 8);
        unsigned cerror = exec_cmd(s, d0, d1);
        if (cerror != SMMU_CERROR_NONE) {
            SMMU_TRACE(s, "smmu: cmd %s (0x%02x) illegal: 0x%016llx 0x%016llx",
                       smmu_opcode_name((unsigned)(d0 & 0xFF)) ? smmu_opcode_name((unsigned)(d0 & 0xFF))
                                                               : "UNKNOWN",
                       (unsigned)(d0 & 0xFF), (unsigned long long)d0, (unsigned long long)d1);
            cmdq_error(s, cerror);
            break;
        }
        q->cons = smmu_q_inc(q, q->cons);
    }
    s->in_cmdq = false;
}
