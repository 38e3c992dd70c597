/* Command queue consumption and the execution of decoded commands (IHI0070 chapter 4 and 7.1); decode is in
 * smmu_cmd.c. */
#include <stdio.h>
#include <string.h>

#include "smmu_internal.h"

static uint64_t get_le64(const uint8_t *b) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

static void config_changed(smmu *s) {
    if (s->host.translations_changed)
        s->host.translations_changed(s->host_ctx, s->call);
}

static void trace_range(smmu *s, const smmu_cmd *c, bool vmid, bool asid) {
    if (!smmu_tracing(s))
        return;
    char ids[40] = "";
    if (vmid && asid)
        snprintf(ids, sizeof(ids), " vmid=0x%x asid=0x%x", c->vmid, c->asid);
    else if (vmid)
        snprintf(ids, sizeof(ids), " vmid=0x%x", c->vmid);
    else if (asid)
        snprintf(ids, sizeof(ids), " asid=0x%x", c->asid);
    smmu_tracef(s, "cmd", "%s%s addr=0x%llx bytes=0x%llx leaf=%d ttl=%u", smmu_opcode_name(c->opcode), ids,
                (unsigned long long)c->addr, (unsigned long long)c->num_bytes, c->leaf, c->ttl);
}

static unsigned cmd_sync(smmu *s, const smmu_cmd *c) {
    if (!s->cmd_retry)
        SMMU_TRACE(s, "cmd", "SYNC cs=%s msiaddr=0x%llx msidata=0x%x",
                   c->cs == SMMU_SYNC_CS_IRQ ? "irq" : (c->cs == SMMU_SYNC_CS_SEV ? "sev" : "none"),
                   (unsigned long long)c->msi_addr, c->msi_data);
    /* Earlier invalidations, configuration and TLB commands completed when they were consumed; earlier
     * CMD_ATC_INVs complete only with their endpoints' completions. */
    uint64_t deadline = UINT64_MAX;
    bool timed_out = false;
    if (!smmu_atc_inv_synced(s, &deadline, &timed_out)) {
        if (!timed_out) {
            s->cmdq_wake_ps = deadline;
            if (!s->cmd_retry)
                SMMU_TRACE(s, "cmd", "SYNC waits for atc_inv completions");
            return SMMU_CMD_BLOCKED;
        }
        SMMU_TRACE(s, "cmd", "SYNC atc_inv timeout");
        return SMMU_CERROR_ATC_INV_SYNC; /* CONS stays at the SYNC, which signals nothing */
    }
    if (c->cs == SMMU_SYNC_CS_IRQ) {
        /* The MSI goes to MSIAddress truncated to the OAS (the zero test is on the whole field); the wired
         * output is pulsed whatever MSIAddress is, so software may use either. */
        if (smmu_has(s, 0, SMMU_IDR0_MSI) && c->msi_addr != 0) {
            uint32_t attr = (uint32_t)(SMMU_FIELD_PREP(SMMU_IRQ_CFG2_MEMATTR, c->msi_attr) |
                                       SMMU_FIELD_PREP(SMMU_IRQ_CFG2_SH, c->msh));
            s->st.sync_msi++;
            if (!smmu_msi_write(s, c->msi_addr, c->msi_data, attr))
                smmu_gerror_raise(s, SMMU_GERROR_MSI_CMDQ_ABT_ERR);
        }
        s->st.sync_irq++;
        smmu_irq_pulse(s, SMMU_IRQ_CMD_SYNC);
    } else if (c->cs == SMMU_SYNC_CS_SEV && smmu_has(s, 0, SMMU_IDR0_SEV)) {
        s->st.sync_sev++;
        SMMU_TRACE(s, "sev", "%s", "");
    }
    return SMMU_CERROR_NONE;
}

unsigned smmu_cmd_execute(smmu *s, const smmu_cmd *c) {
    const bool s2p = smmu_has(s, 0, SMMU_IDR0_S2P);
    char ssid_text[16];

    switch (c->opcode) {
    case SMMU_OP_PREFETCH_CONFIG:
    case SMMU_OP_PREFETCH_ADDR:
        /* Prefetch is a hint: this model does not prefetch and never reports errors for it. */
        SMMU_TRACE(s, "cmd", "%s sid=0x%x ssid=%s", smmu_opcode_name(c->opcode), c->sid,
                   smmu_ssid_str(ssid_text, c->ssv, c->ssid));
        return SMMU_CERROR_NONE;
    case SMMU_OP_CFGI_STE:
        SMMU_TRACE(s, "cmd", "CFGI_STE sid=0x%x leaf=%d", c->sid, c->leaf);
        smmu_cc_inv_ste_range(s, c->sid, 1, c->leaf);
        config_changed(s);
        return SMMU_CERROR_NONE;
    case SMMU_OP_CFGI_STE_RANGE:
        if (c->range == SMMU_CFGI_RANGE_ALL) {
            SMMU_TRACE(s, "cmd", "CFGI_ALL");
            smmu_cc_inv_all(s);
        } else {
            uint64_t count = UINT64_C(1) << (c->range + 1);
            uint32_t first = (uint32_t)(c->sid & ~(count - 1u));
            SMMU_TRACE(s, "cmd", "CFGI_STE_RANGE sid=0x%x range=%u", first, c->range);
            smmu_cc_inv_ste_range(s, first, count, false);
        }
        config_changed(s);
        return SMMU_CERROR_NONE;
    case SMMU_OP_CFGI_CD:
        SMMU_TRACE(s, "cmd", "CFGI_CD sid=0x%x ssid=0x%x leaf=%d", c->sid, c->ssid, c->leaf);
        smmu_cc_inv_cd(s, c->sid, c->ssid, c->leaf);
        config_changed(s);
        return SMMU_CERROR_NONE;
    case SMMU_OP_CFGI_CD_ALL:
        SMMU_TRACE(s, "cmd", "CFGI_CD_ALL sid=0x%x", c->sid);
        smmu_cc_inv_cd_all(s, c->sid);
        config_changed(s);
        return SMMU_CERROR_NONE;
    case SMMU_OP_TLBI_NH_ALL:
        SMMU_TRACE(s, "cmd", "TLBI_NH_ALL vmid=0x%x", c->vmid);
        smmu_engine_inv_nh_all(s->eng, c->vmid, s2p);
        return SMMU_CERROR_NONE;
    case SMMU_OP_TLBI_NH_ASID:
        SMMU_TRACE(s, "cmd", "TLBI_NH_ASID vmid=0x%x asid=0x%x", c->vmid, c->asid);
        smmu_engine_inv_asid(s->eng, SMMU_REGIME_NS_EL1, c->vmid, c->asid);
        return SMMU_CERROR_NONE;
    case SMMU_OP_TLBI_NH_VA:
    case SMMU_OP_TLBI_NH_VAA: {
        bool by_asid = c->opcode == SMMU_OP_TLBI_NH_VA;
        trace_range(s, c, true, by_asid);
        smmu_engine_inv_va(s->eng, SMMU_REGIME_NS_EL1, c->vmid, by_asid, by_asid ? c->asid : 0, c->addr,
                           c->num_bytes, c->leaf, c->ttl);
        return SMMU_CERROR_NONE;
    }
    case SMMU_OP_TLBI_EL2_ALL:
        SMMU_TRACE(s, "cmd", "TLBI_EL2_ALL");
        smmu_engine_inv_regime_all(s->eng, SMMU_REGIME_EL2);
        smmu_engine_inv_regime_all(s->eng, SMMU_REGIME_EL2_E2H);
        return SMMU_CERROR_NONE;
    case SMMU_OP_TLBI_EL2_ASID:
        SMMU_TRACE(s, "cmd", "TLBI_EL2_ASID asid=0x%x", c->asid);
        smmu_engine_inv_asid(s->eng, SMMU_REGIME_EL2_E2H, 0, c->asid);
        return SMMU_CERROR_NONE;
    case SMMU_OP_TLBI_EL2_VA:
    case SMMU_OP_TLBI_EL2_VAA: {
        smmu_regime regime = (s->cr2 & SMMU_CR2_E2H) ? SMMU_REGIME_EL2_E2H : SMMU_REGIME_EL2;
        /* EL2 without E2H has no ASIDs, so TLBI_EL2_VA matches on address only there. */
        bool by_asid = c->opcode == SMMU_OP_TLBI_EL2_VA && regime == SMMU_REGIME_EL2_E2H;
        trace_range(s, c, false, c->opcode == SMMU_OP_TLBI_EL2_VA);
        smmu_engine_inv_va(s->eng, regime, 0, by_asid, by_asid ? c->asid : 0, c->addr, c->num_bytes, c->leaf,
                           c->ttl);
        return SMMU_CERROR_NONE;
    }
    case SMMU_OP_TLBI_S12_VMALL:
        SMMU_TRACE(s, "cmd", "TLBI_S12_VMALL vmid=0x%x", c->vmid);
        smmu_engine_inv_vmid_all(s->eng, c->vmid);
        return SMMU_CERROR_NONE;
    case SMMU_OP_TLBI_S2_IPA:
        trace_range(s, c, true, false);
        smmu_engine_inv_ipa(s->eng, c->vmid, c->addr, c->num_bytes, c->leaf, c->ttl);
        return SMMU_CERROR_NONE;
    case SMMU_OP_TLBI_NSNH_ALL:
        SMMU_TRACE(s, "cmd", "TLBI_NSNH_ALL");
        smmu_engine_inv_all(s->eng);
        return SMMU_CERROR_NONE;
    case SMMU_OP_SYNC:
        return cmd_sync(s, c);
    case SMMU_OP_ATC_INV:
        return smmu_atc_inv_send(s, c);
    case SMMU_OP_PRI_RESP:
        smmu_pri_resp(s, c);
        return SMMU_CERROR_NONE;
    case SMMU_OP_RESUME:
        /* Acted on when consumed, so a later CMD_SYNC has nothing to wait for. */
        smmu_stall_resume(s, c);
        return SMMU_CERROR_NONE;
    case SMMU_OP_STALL_TERM:
        smmu_stall_term(s, c->sid);
        return SMMU_CERROR_NONE;
    default:
        /* Decode lets nothing else through. */
        return SMMU_CERROR_ILL;
    }
}

static void cmdq_error(smmu *s, unsigned cerror) {
    smmu_queue *q = &s->cmdq;
    q->cons = (uint32_t)SMMU_FIELD_SET(q->cons, SMMU_CMDQ_CONS_ERR, cerror);
    const char *name = "CERROR_ABT";
    if (cerror == SMMU_CERROR_ILL) {
        s->st.cmd_errors_ill++;
        name = "CERROR_ILL";
    } else if (cerror == SMMU_CERROR_ATC_INV_SYNC) {
        s->st.cmd_errors_atc_inv_sync++;
        name = "CERROR_ATC_INV_SYNC";
    } else {
        s->st.cmd_errors_abt++;
    }
    SMMU_TRACE(s, "cmdq", "error %s cons=0x%x", name, q->cons);
    /* ERR is visible before GERROR.CMDQ_ERR toggles. */
    smmu_gerror_raise(s, SMMU_GERROR_CMDQ_ERR);
}

static bool cmdq_runnable(const smmu *s) {
    return (s->cr0ack & SMMU_CR0_CMDQEN) && !((s->gerror ^ s->gerrorn) & SMMU_GERROR_CMDQ_ERR) &&
           !smmu_q_empty(&s->cmdq);
}

/* Fetches, decodes and executes the command at CONS. */
static smmu_cmdq_status cmdq_step(smmu *s, uint64_t *wake_ps) {
    /* An MSI written back into our own registers must not nest command processing. */
    if (s->in_cmdq || !cmdq_runnable(s))
        return SMMU_CMDQ_IDLE;
    s->in_cmdq = true;
    smmu_queue *q = &s->cmdq;
    const smmu_mem_attrs attrs = smmu_cr1_queue_attrs(s);
    uint8_t buf[SMMU_CMD_SIZE];
    smmu_cmdq_status status = SMMU_CMDQ_PROGRESS;
    if (!smmu_mem_read(s, SMMU_MEM_QUEUE, smmu_q_entry_addr(q, q->cons, SMMU_CMD_SIZE), buf, sizeof(buf),
                       &attrs)) {
        s->cmd_retry = false;
        cmdq_error(s, SMMU_CERROR_ABT);
        s->in_cmdq = false;
        return status;
    }
    smmu_cmd cmd;
    unsigned cerror = smmu_cmd_decode(&s->p, get_le64(buf), get_le64(buf + 8), &cmd);
    if (!s->cmd_retry)
        s->st.cmds[cmd.opcode]++;
    if (cerror == SMMU_CERROR_NONE)
        cerror = smmu_cmd_execute(s, &cmd);
    if (cerror == SMMU_CMD_BLOCKED) {
        s->cmd_retry = true;
        *wake_ps = s->cmdq_wake_ps;
        status = SMMU_CMDQ_BLOCKED;
    } else if (cerror != SMMU_CERROR_NONE) {
        s->cmd_retry = false;
        if (cerror != SMMU_CERROR_ATC_INV_SYNC) {
            const char *name = smmu_opcode_name(cmd.opcode);
            SMMU_TRACE(s, "cmd", "%s (0x%02x) illegal: 0x%016llx 0x%016llx", name ? name : "UNKNOWN",
                       cmd.opcode, (unsigned long long)cmd.raw[0], (unsigned long long)cmd.raw[1]);
        }
        cmdq_error(s, cerror);
    } else {
        s->cmd_retry = false;
        q->cons = smmu_q_inc(q, q->cons);
    }
    s->in_cmdq = false;
    return status;
}

smmu_cmdq_status smmu_cmdq_step(smmu *s, smmu_call *call, uint64_t *wake_ps) {
    smmu_call *outer = smmu_call_enter(s, call);
    uint64_t ignored = UINT64_MAX;
    smmu_cmdq_status status = cmdq_step(s, wake_ps ? wake_ps : &ignored);
    smmu_call_leave(s, outer);
    return status;
}

static smmu_cmdq_status cmdq_run(smmu *s) {
    /* At most one pass over the queue per call, whatever software does to PROD meanwhile. */
    uint64_t budget = UINT64_C(2) << smmu_q_log2(&s->cmdq);
    smmu_cmdq_status status = SMMU_CMDQ_IDLE;
    uint64_t wake = UINT64_MAX;
    while (budget-- && cmdq_runnable(s) && !s->in_cmdq) {
        if (!s->cmd_retry)
            smmu_advance(s, s->p.cmd_ps);
        status = cmdq_step(s, &wake);
        if (status != SMMU_CMDQ_PROGRESS)
            break;
    }
    return status;
}

smmu_cmdq_status smmu_cmdq_run(smmu *s, smmu_call *call) {
    smmu_call *outer = smmu_call_enter(s, call);
    smmu_cmdq_status status = cmdq_run(s);
    smmu_call_leave(s, outer);
    return status;
}

void smmu_cmdq_kick(smmu *s) {
    if (s->host.cmdq_kick)
        s->host.cmdq_kick(s->host_ctx, s->call);
    else
        cmdq_run(s);
}
