/* Event queue, global errors and interrupt delivery (wired pulses and MSIs) (IHI0070 §3.5, §7.2-7.5). */
#include <string.h>

#include "smmu_attrs.h"
#include "smmu_internal.h"

/* The fields each event record has (IHI0070 7.3.2-7.3.16). EventID and StreamID are in every record; every
 * bit not listed is RES0 and written as 0. UNKNOWN fields (IPA when S2 = 0, TTRnW when CLASS != TT) are
 * written as 0 too. Stall and STAG are set in stall records only (smmu_stall.c). Fields that a record defines
 * but this model always leaves 0: NSIPA (Non-secure streams only), GPCF (no granule protection checks), the
 * IMPLEMENTATION DEFINED Reason of F_STE_FETCH, F_CD_FETCH and F_WALK_EABT, and the Overlay, AssuredOnly and
 * DirtyBit flags of F_PERMISSION (no S2PO, S2PI or S1PI). */
enum {
    EVF_SSV = 1u << 0,     /* SSV, and SubstreamID when SSV = 1 */
    EVF_SSID = 1u << 1,    /* SubstreamID with no SSV qualifier: always valid (C_BAD_SUBSTREAMID) */
    EVF_ADDR = 1u << 2,    /* InputAddr[63:0] */
    EVF_RNW = 1u << 3,     /* RnW */
    EVF_IND_PNU = 1u << 4, /* InD, PnU */
    EVF_STAGE = 1u << 5,   /* S2, CLASS */
    EVF_IPA = 1u << 6,     /* IPA[55:12], when S2 = 1 */
    EVF_TTRNW = 1u << 7,   /* TTRnW, when CLASS = TT */
    EVF_FETCH = 1u << 8,   /* FetchAddr[55:3] */
    EVF_REASON = 1u << 9,  /* Reason[79:64] (F_UUT) */
    EVF_STALL = 1u << 10,  /* Stall, and STAG when Stall = 1 */
};

#define EVF_XLATE_FAULT (EVF_SSV | EVF_ADDR | EVF_RNW | EVF_IND_PNU | EVF_STAGE | EVF_IPA | EVF_STALL)

static const struct {
    const char *name;
    uint16_t fields;
} event_types[SMMU_STATS_EVENTS] = {
    [SMMU_EVT_F_UUT] = {"F_UUT", EVF_SSV | EVF_REASON | EVF_RNW | EVF_IND_PNU | EVF_ADDR},
    [SMMU_EVT_C_BAD_STREAMID] = {"C_BAD_STREAMID", EVF_SSV},
    [SMMU_EVT_F_STE_FETCH] = {"F_STE_FETCH", EVF_SSV | EVF_FETCH},
    [SMMU_EVT_C_BAD_STE] = {"C_BAD_STE", EVF_SSV},
    /* SubstreamID and InputAddr where every event has them. The R/W/X/Priv and Span fields it also carries
     * are left 0: their bit positions are not confirmed (protocol-facts 4.1). */
    [SMMU_EVT_F_BAD_ATS_TREQ] = {"F_BAD_ATS_TREQ", EVF_SSV | EVF_ADDR},
    [SMMU_EVT_F_STREAM_DISABLED] = {"F_STREAM_DISABLED", 0},
    [SMMU_EVT_F_TRANSL_FORBIDDEN] = {"F_TRANSL_FORBIDDEN", EVF_ADDR | EVF_RNW},
    [SMMU_EVT_C_BAD_SUBSTREAMID] = {"C_BAD_SUBSTREAMID", EVF_SSID},
    [SMMU_EVT_F_CD_FETCH] = {"F_CD_FETCH", EVF_SSV | EVF_FETCH},
    [SMMU_EVT_C_BAD_CD] = {"C_BAD_CD", EVF_SSV},
    [SMMU_EVT_F_WALK_EABT] = {"F_WALK_EABT",
                              EVF_SSV | EVF_ADDR | EVF_RNW | EVF_IND_PNU | EVF_STAGE | EVF_FETCH},
    [SMMU_EVT_F_TRANSLATION] = {"F_TRANSLATION", EVF_XLATE_FAULT},
    [SMMU_EVT_F_ADDR_SIZE] = {"F_ADDR_SIZE", EVF_XLATE_FAULT},
    [SMMU_EVT_F_ACCESS] = {"F_ACCESS", EVF_XLATE_FAULT},
    [SMMU_EVT_F_PERMISSION] = {"F_PERMISSION", EVF_XLATE_FAULT | EVF_TTRNW},
};

const char *smmu_event_name(unsigned id) {
    return id < SMMU_STATS_EVENTS ? event_types[id].name : NULL;
}

void smmu_irq_pulse(smmu *s, smmu_irq_line line) {
    s->st.irq_pulses++;
    SMMU_TRACE(s, "irq", "%s",
               line == SMMU_IRQ_EVTQ       ? "evtq"
               : line == SMMU_IRQ_PRIQ     ? "priq"
               : line == SMMU_IRQ_CMD_SYNC ? "cmd-sync"
                                           : "gerror");
    if (s->host.irq_set) {
        s->host.irq_set(s->host_ctx, s->call, line, true);
        s->host.irq_set(s->host_ctx, s->call, line, false);
    }
}

/* Every MSI address (CMD_SYNC MSIAddress, EVENTQ/PRIQ/GERROR_IRQ_CFG0.ADDR) is truncated to the OAS (SMMU
 * spec 3.4.3); callers test the whole field for zero first. */
bool smmu_msi_write(smmu *s, uint64_t addr, uint32_t data, uint32_t cfg2_attr) {
    addr &= smmu_oas_mask(s);
    uint8_t buf[4] = {(uint8_t)data, (uint8_t)(data >> 8), (uint8_t)(data >> 16), (uint8_t)(data >> 24)};
    const smmu_mem_attrs attrs = smmu_attrs_msi(cfg2_attr);
    s->st.msi_writes++;
    smmu_advance(s, s->p.msi_ps);
    bool ok = smmu_mem_write(s, SMMU_MEM_MSI, addr, buf, sizeof(buf), &attrs);
    SMMU_TRACE(s, "msi", "addr=0x%llx data=0x%x%s", (unsigned long long)addr, data, ok ? "" : " abort");
    if (!ok)
        s->st.msi_aborts++;
    return ok;
}

void smmu_signal_irq(smmu *s, smmu_irq_line line, uint64_t cfg0, uint32_t cfg1, uint32_t cfg2,
                     uint32_t abt_bit) {
    uint64_t addr = SMMU_ADDR_GET(SMMU_IRQ_CFG0_ADDR, cfg0);
    if (smmu_has(s, 0, SMMU_IDR0_MSI) && addr != 0) {
        if (!smmu_msi_write(s, addr, cfg1, cfg2))
            smmu_gerror_raise(s, abt_bit);
    } else {
        smmu_irq_pulse(s, line);
    }
}

void smmu_gerror_raise(smmu *s, uint32_t bit) {
    if ((s->gerror ^ s->gerrorn) & bit)
        return; /* already active: the SMMU does not toggle again until software acknowledges */
    s->gerror ^= bit;
    s->st.gerrors++;
    SMMU_TRACE(s, "gerror", "0x%x gerror=0x%x gerrorn=0x%x", bit, s->gerror, s->gerrorn);
    if (bit == SMMU_GERROR_MSI_GERROR_ABT_ERR)
        return; /* never signalled, or an aborting GERROR MSI would loop */
    if (s->irq_ctrlack & SMMU_IRQ_CTRL_GERROR_IRQEN)
        smmu_signal_irq(s, SMMU_IRQ_GERROR, s->gerror_irq_cfg0, s->gerror_irq_cfg1, s->gerror_irq_cfg2,
                        SMMU_GERROR_MSI_GERROR_ABT_ERR);
}

/* Builds the record of ev from the fields its event type has (event_types). */
void smmu_event_encode(const smmu_event *ev, uint64_t rec[4]) {
    const unsigned f = event_types[ev->id].fields;
    rec[0] = SMMU_FIELD_PREP(SMMU_EVT0_ID, ev->id) | SMMU_FIELD_PREP(SMMU_EVT0_SID, ev->sid);
    rec[1] = 0;
    rec[2] = 0;
    rec[3] = 0;
    if ((f & EVF_SSV) && ev->ssv)
        rec[0] |= SMMU_EVT0_SSV | SMMU_FIELD_PREP(SMMU_EVT0_SSID, ev->ssid);
    if (f & EVF_SSID)
        rec[0] |= SMMU_FIELD_PREP(SMMU_EVT0_SSID, ev->ssid);
    if (f & EVF_REASON)
        rec[1] |= SMMU_FIELD_PREP(SMMU_EVT1_REASON, ev->uut_reason);
    if ((f & EVF_STALL) && ev->stall)
        rec[1] |= SMMU_EVT1_STALL | SMMU_FIELD_PREP(SMMU_EVT1_STAG, ev->stag);
    if ((f & EVF_RNW) && ev->rnw)
        rec[1] |= SMMU_EVT1_RNW;
    if (f & EVF_IND_PNU)
        rec[1] |= (ev->ind ? SMMU_EVT1_IND : 0) | (ev->pnu ? SMMU_EVT1_PNU : 0);
    if (f & EVF_STAGE)
        rec[1] |= (ev->s2 ? SMMU_EVT1_S2 : 0) | SMMU_FIELD_PREP(SMMU_EVT1_CLASS, ev->fclass);
    if ((f & EVF_TTRNW) && ev->fclass == SMMU_CLASS_TT && ev->ttrnw)
        rec[1] |= SMMU_EVT1_TTRNW;
    if (f & EVF_ADDR)
        rec[2] = ev->input_addr;
    if ((f & EVF_IPA) && ev->s2)
        rec[3] = SMMU_ADDR_GET(SMMU_EVT3_IPA, ev->ipa);
    if (f & EVF_FETCH)
        rec[3] = SMMU_ADDR_GET(SMMU_EVT3_FETCH_ADDR, ev->fetch_addr);
}

/* Writes one encoded record at PROD; *was_empty for signal_record. False on an abort (the caller activates
 * EVENTQ_ABT_ERR after its trace line). */
static bool write_record(smmu *s, const uint64_t rec[4], bool *was_empty) {
    smmu_queue *q = &s->evtq;
    uint8_t bytes[SMMU_EVT_SIZE];
    for (int i = 0; i < 4; i++)
        smmu_put_le64(&bytes[8 * i], rec[i]);
    *was_empty = smmu_q_empty(q);
    const smmu_mem_attrs attrs = smmu_cr1_queue_attrs(s);
    if (!smmu_mem_write(s, SMMU_MEM_QUEUE, smmu_q_entry_addr(q, q->prod, SMMU_EVT_SIZE), bytes, sizeof(bytes),
                        &attrs))
        return false;
    q->prod = smmu_q_inc(q, q->prod);
    s->st.events_recorded++;
    return true;
}

/* The queue's interrupt, after the record's trace line, when the record made the queue non-empty. */
static void signal_record(smmu *s, bool was_empty) {
    if (was_empty && (s->irq_ctrlack & SMMU_IRQ_CTRL_EVENTQ_IRQEN))
        smmu_signal_irq(s, SMMU_IRQ_EVTQ, s->evtq_irq_cfg0, s->evtq_irq_cfg1, s->evtq_irq_cfg2,
                        SMMU_GERROR_MSI_EVENTQ_ABT_ERR);
}

static bool queue_writable(const smmu *s) {
    return (s->cr0ack & SMMU_CR0_EVENTQEN) && !((s->gerror ^ s->gerrorn) & SMMU_GERROR_EVENTQ_ABT_ERR) &&
           !smmu_q_full(&s->evtq);
}

bool smmu_event_write_stall(smmu *s, const uint64_t rec[4], uint32_t sid) {
    if (!queue_writable(s))
        return false;
    bool was_empty = false;
    const bool ok = write_record(s, rec, &was_empty);
    SMMU_TRACE(s, "event", "%s sid=0x%x stag=0x%x prod=0x%x%s",
               smmu_event_name((unsigned)SMMU_FIELD_GET(SMMU_EVT0_ID, rec[0])), sid,
               (unsigned)SMMU_FIELD_GET(SMMU_EVT1_STAG, rec[1]), s->evtq.prod,
               ok ? " stall" : " kept=write-abort");
    if (ok)
        signal_record(s, was_empty);
    else
        smmu_gerror_raise(s, SMMU_GERROR_EVENTQ_ABT_ERR);
    return ok;
}

bool smmu_event_record(smmu *s, const smmu_event *ev) {
    smmu_advance(s, s->p.event_ps);
    /* Stall records waiting for room go first: records reach the queue in the order they were raised. */
    smmu_stall_flush_pending(s);
    smmu_queue *q = &s->evtq;
    const char *why = NULL;
    char ssid_text[16];
    if (!(s->cr0ack & SMMU_CR0_EVENTQEN))
        why = "disabled";
    else if ((s->gerror ^ s->gerrorn) & SMMU_GERROR_EVENTQ_ABT_ERR)
        why = "queue-abort";
    else if (smmu_q_full(q)) {
        why = "full";
        bool overflow_active = ((q->prod ^ q->cons) & SMMU_Q_PROD_OVFLG) != 0;
        if (!overflow_active) {
            q->prod ^= SMMU_Q_PROD_OVFLG;
            s->st.evtq_overflows++;
        }
    }
    if (why) {
        s->st.events_dropped++;
        SMMU_TRACE(s, "event", "%s sid=0x%x ssid=%s addr=0x%llx dropped=%s", smmu_event_name(ev->id), ev->sid,
                   smmu_ssid_str(ssid_text, ev->ssv, ev->ssid), (unsigned long long)ev->input_addr, why);
        return false;
    }

    uint64_t rec[4];
    smmu_event_encode(ev, rec);
    bool was_empty = false;
    if (!write_record(s, rec, &was_empty)) {
        s->st.events_dropped++;
        SMMU_TRACE(s, "event", "%s sid=0x%x dropped=write-abort", smmu_event_name(ev->id), ev->sid);
        smmu_gerror_raise(s, SMMU_GERROR_EVENTQ_ABT_ERR);
        return false;
    }
    SMMU_TRACE(s, "event", "%s sid=0x%x ssid=%s addr=0x%llx prod=0x%x", smmu_event_name(ev->id), ev->sid,
               smmu_ssid_str(ssid_text, ev->ssv, ev->ssid), (unsigned long long)ev->input_addr, q->prod);
    signal_record(s, was_empty);
    return true;
}
