/* SMMUv3 driver: probe, reset, queues, STE/CD writers, TLB maintenance. The MMU is off, so every pointer the
 * driver hands to the SMMU is also the physical address, and memory is Device memory: no cache maintenance.
 */
#include <stdio.h>

#include <fw/gic.h>
#include <fw/mmio.h>
#include <fw/platform.h>
#include <fw/sysreg.h>
#include <fw/timer.h>
#include <fwsmmu/pgalloc.h>
#include <fwsmmu/smmu.h>

#define SMMU_TIMEOUT_NS 100000000ULL /* 100 ms: every handshake and wait gives up after it */
#define STRTAB_SPLIT 8U
#define GICV2M_MSI_SETSPI_NS (FW_GICV2M_BASE + 0x40UL)
#define MSIATTR_NORMAL_WB 0xFU
#define MSIATTR_DEVICE_NGNRE 0x1U
#define MSH_ISH 3U
#define RGN_WBWA 1U
#define SH_ISH 3U

static uint32_t reg_read32(const struct smmu_device *smmu, uint32_t offset) {
    return mmio_read32(smmu->base + offset);
}
static void reg_write32(const struct smmu_device *smmu, uint32_t offset, uint32_t value) {
    mmio_write32(smmu->base + offset, value);
}
static void reg_write64(const struct smmu_device *smmu, uint32_t offset, uint64_t value) {
    mmio_write64(smmu->base + offset, value);
}

/* Polls `offset` until (value & mask) == want. */
static bool poll_register(const struct smmu_device *smmu, uint32_t offset, uint32_t mask, uint32_t want) {
    uint64_t deadline = now_ns() + SMMU_TIMEOUT_NS;
    while ((reg_read32(smmu, offset) & mask) != want)
        if (now_ns() > deadline)
            return false;
    return true;
}

/* ---- probe ---- */

bool smmu_probe(struct smmu_device *smmu, uintptr_t base) {
    *smmu = (struct smmu_device){.base = base, .sync_mode = SMMU_SYNC_POLL};
    struct smmu_features *f = &smmu->features;
    static const uint32_t idr_offsets[6] = {SMMU_IDR0, SMMU_IDR1, SMMU_IDR2, SMMU_IDR3, SMMU_IDR4, SMMU_IDR5};
    for (unsigned int i = 0; i < 6; i++)
        f->idr[i] = reg_read32(smmu, idr_offsets[i]);
    f->iidr = reg_read32(smmu, SMMU_IIDR);
    f->aidr = reg_read32(smmu, SMMU_AIDR);

    uint32_t idr0 = f->idr[0], idr1 = f->idr[1], idr3 = f->idr[3], idr5 = f->idr[5];
    f->s1p = idr0 & SMMU_IDR0_S1P;
    f->s2p = idr0 & SMMU_IDR0_S2P;
    f->two_level_strtab = SMMU_FIELD_GET(SMMU_IDR0_ST_LEVEL, idr0) == 1;
    f->cd2l = idr0 & SMMU_IDR0_CD2L;
    f->msi = idr0 & SMMU_IDR0_MSI;
    f->sev = idr0 & SMMU_IDR0_SEV;
    f->asid16 = idr0 & SMMU_IDR0_ASID16;
    f->vmid16 = idr0 & SMMU_IDR0_VMID16;
    f->pri = idr0 & SMMU_IDR0_PRI;
    f->ats = idr0 & SMMU_IDR0_ATS;
    f->coherent = idr0 & SMMU_IDR0_COHACC;
    f->httu = (unsigned int)SMMU_FIELD_GET(SMMU_IDR0_HTTU, idr0);
    f->stall_model = (unsigned int)SMMU_FIELD_GET(SMMU_IDR0_STALL_MODEL, idr0);
    f->ril = idr3 & SMMU_IDR3_RIL;
    f->sid_bits = (unsigned int)SMMU_FIELD_GET(SMMU_IDR1_SIDSIZE, idr1);
    f->ssid_bits = (unsigned int)SMMU_FIELD_GET(SMMU_IDR1_SSIDSIZE, idr1);
    f->cmdq_log2 = (unsigned int)SMMU_FIELD_GET(SMMU_IDR1_CMDQS, idr1);
    f->evtq_log2 = (unsigned int)SMMU_FIELD_GET(SMMU_IDR1_EVENTQS, idr1);
    f->priq_log2 = (unsigned int)SMMU_FIELD_GET(SMMU_IDR1_PRIQS, idr1);
    f->granules = ((idr5 & SMMU_IDR5_GRAN4K) ? 1U << 12 : 0) | ((idr5 & SMMU_IDR5_GRAN16K) ? 1U << 14 : 0) |
                  ((idr5 & SMMU_IDR5_GRAN64K) ? 1U << 16 : 0);
    f->oas_encoding = (unsigned int)SMMU_FIELD_GET(SMMU_IDR5_OAS, idr5);
    f->oas_bits = smmu_pa_size_bits(f->oas_encoding);

    if (SMMU_FIELD_GET(SMMU_AIDR_MAJOR, f->aidr) != 0) {
        printf("smmu: AIDR 0x%x is not SMMUv3\n", (unsigned int)f->aidr);
        return false;
    }
    if (SMMU_FIELD_GET(SMMU_IDR0_TTF, idr0) < SMMU_IDR0_TTF_AARCH64 || !(f->granules & (1U << 12))) {
        printf("smmu: no AArch64 tables with 4 KiB granule\n");
        return false;
    }
    if (idr1 & (SMMU_IDR1_TABLES_PRESET | SMMU_IDR1_QUEUES_PRESET)) {
        printf("smmu: preset tables or queues are not supported\n");
        return false;
    }
    return true;
}

void smmu_print_features(const struct smmu_device *smmu) {
    const struct smmu_features *f = &smmu->features;
    printf("smmu: IDR0 0x%08x IDR1 0x%08x IDR3 0x%08x IDR5 0x%08x IIDR 0x%08x AIDR 0x%08x\n",
           (unsigned int)f->idr[0], (unsigned int)f->idr[1], (unsigned int)f->idr[3], (unsigned int)f->idr[5],
           (unsigned int)f->iidr, (unsigned int)f->aidr);
    printf("smmu: SMMUv3.%u, stages:%s%s, stream tables:%s, OAS %u bits, granules:%s%s%s\n",
           (unsigned int)SMMU_FIELD_GET(SMMU_AIDR_MINOR, f->aidr), f->s1p ? " S1" : "", f->s2p ? " S2" : "",
           f->two_level_strtab ? " linear, 2-level" : " linear", f->oas_bits,
           (f->granules & (1U << 12)) ? " 4K" : "", (f->granules & (1U << 14)) ? " 16K" : "",
           (f->granules & (1U << 16)) ? " 64K" : "");
    printf(
        "smmu: SIDSIZE %u SSIDSIZE %u CMDQS %u EVENTQS %u PRIQS %u, CD2L %u HTTU %u MSI %u SEV %u ASID16 %u "
        "VMID16 %u RIL %u PRI %u ATS %u STALL_MODEL %u\n",
        f->sid_bits, f->ssid_bits, f->cmdq_log2, f->evtq_log2, f->priq_log2, f->cd2l, f->httu, f->msi, f->sev,
        f->asid16, f->vmid16, f->ril, f->pri, f->ats, f->stall_model);
}

/* ---- control registers ---- */

bool smmu_write_cr0(struct smmu_device *smmu, uint32_t value) {
    reg_write32(smmu, SMMU_CR0, value);
    if (!poll_register(smmu, SMMU_CR0ACK, 0xFFFFFFFFU, value)) {
        printf("smmu: CR0ACK did not follow CR0 = 0x%x\n", (unsigned int)value);
        return false;
    }
    return true;
}

bool smmu_set_gbpa_abort(struct smmu_device *smmu, bool abort) {
    if (!poll_register(smmu, SMMU_GBPA, (uint32_t)SMMU_GBPA_UPDATE, 0))
        goto timeout;
    uint32_t gbpa = reg_read32(smmu, SMMU_GBPA);
    gbpa = abort ? (gbpa | (uint32_t)SMMU_GBPA_ABORT) : (gbpa & ~(uint32_t)SMMU_GBPA_ABORT);
    reg_write32(smmu, SMMU_GBPA, gbpa | (uint32_t)SMMU_GBPA_UPDATE);
    if (!poll_register(smmu, SMMU_GBPA, (uint32_t)SMMU_GBPA_UPDATE, 0))
        goto timeout;
    return true;
timeout:
    printf("smmu: GBPA update did not complete\n");
    return false;
}

static uint32_t current_cr0(const struct smmu_device *smmu) {
    return reg_read32(smmu, SMMU_CR0);
}

bool smmu_set_enabled(struct smmu_device *smmu, bool enabled) {
    uint32_t cr0 = current_cr0(smmu);
    cr0 = enabled ? (cr0 | (uint32_t)SMMU_CR0_SMMUEN) : (cr0 & ~(uint32_t)SMMU_CR0_SMMUEN);
    return smmu_write_cr0(smmu, cr0);
}

bool smmu_disable(struct smmu_device *smmu) {
    return smmu_write_cr0(smmu, 0);
}

static bool write_irq_ctrl(struct smmu_device *smmu, uint32_t value) {
    reg_write32(smmu, SMMU_IRQ_CTRL, value);
    if (!poll_register(smmu, SMMU_IRQ_CTRLACK, 0xFFFFFFFFU, value)) {
        printf("smmu: IRQ_CTRLACK did not follow IRQ_CTRL = 0x%x\n", (unsigned int)value);
        return false;
    }
    return true;
}

/* ---- queues ---- */

static uint32_t queue_index_mask(const struct smmu_queue *q) {
    return (1U << q->log2_entries) - 1U;
}
static uint32_t queue_pointer_mask(const struct smmu_queue *q) {
    return (2U << q->log2_entries) - 1U; /* index and wrap bit */
}
static uint32_t queue_next(const struct smmu_queue *q, uint32_t pointer) {
    return (pointer + 1U) & queue_pointer_mask(q);
}
static bool queue_full(const struct smmu_queue *q, uint32_t prod, uint32_t cons) {
    return ((prod ^ cons) & queue_pointer_mask(q)) == (1U << q->log2_entries);
}
static uint64_t *queue_entry(const struct smmu_queue *q, uint32_t pointer) {
    return q->base + (size_t)(pointer & queue_index_mask(q)) * q->entry_dwords;
}

static bool queue_alloc(struct smmu_queue *q, unsigned int log2_entries, unsigned int entry_bytes) {
    q->log2_entries = log2_entries;
    q->entry_dwords = entry_bytes / 8U;
    q->base = pgalloc_alloc((size_t)entry_bytes << log2_entries);
    q->prod = q->cons = 0;
    return q->base != NULL;
}

static uint64_t queue_base_value(const struct smmu_queue *q) {
    return SMMU_ADDR_GET(SMMU_Q_BASE_ADDR, (uintptr_t)q->base) | SMMU_Q_BASE_RWA |
           SMMU_FIELD_PREP(SMMU_Q_BASE_LOG2SIZE, q->log2_entries);
}

/* ---- command queue ---- */

uint32_t smmu_gerror_active(const struct smmu_device *smmu) {
    return (reg_read32(smmu, SMMU_GERROR) ^ reg_read32(smmu, SMMU_GERRORN)) & (uint32_t)SMMU_GERROR_ACKABLE;
}

static void ack_gerror(struct smmu_device *smmu, uint32_t bits) {
    uint32_t gerror = reg_read32(smmu, SMMU_GERROR);
    uint32_t gerrorn = reg_read32(smmu, SMMU_GERRORN);
    reg_write32(smmu, SMMU_GERRORN, (gerrorn & ~bits) | (gerror & bits));
}

static const char *cerror_name(uint32_t error) {
    switch (error) {
    case SMMU_CERROR_NONE:
        return "CERROR_NONE";
    case SMMU_CERROR_ILL:
        return "CERROR_ILL";
    case SMMU_CERROR_ABT:
        return "CERROR_ABT";
    case SMMU_CERROR_ATC_INV_SYNC:
        return "CERROR_ATC_INV_SYNC";
    default:
        return "CERROR_unknown";
    }
}

/* As Linux: report the error, replace an illegal command by a CMD_SYNC (an abort or ATC timeout is simply
 * retried), then acknowledge through GERRORN so that consumption resumes at CONS.RD. */
static void handle_cmdq_error(struct smmu_device *smmu) {
    uint32_t cons = reg_read32(smmu, SMMU_CMDQ_CONS);
    uint32_t error = (uint32_t)SMMU_FIELD_GET(SMMU_CMDQ_CONS_ERR, cons);
    uint64_t *entry = queue_entry(&smmu->cmdq, cons);
    unsigned int opcode = (unsigned int)SMMU_FIELD_GET(SMMU_CMD0_OPCODE, entry[0]);
    smmu->cerrors++;
    smmu->last_cerror = error;
    if (error == SMMU_CERROR_ATC_INV_SYNC)
        smmu->atc_inv_sync_errors++;
    printf("smmu: command error %s on opcode 0x%02x, %s\n", cerror_name(error), opcode,
           error == SMMU_CERROR_ILL ? "skipped" : "retried");
    if (error == SMMU_CERROR_ILL) {
        entry[0] = SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC);
        entry[1] = 0;
    }
    ack_gerror(smmu, (uint32_t)SMMU_GERROR_CMDQ_ERR);
}

static bool cmdq_error_active(const struct smmu_device *smmu) {
    return smmu_gerror_active(smmu) & (uint32_t)SMMU_GERROR_CMDQ_ERR;
}

bool smmu_cmdq_issue(struct smmu_device *smmu, uint64_t dword0, uint64_t dword1) {
    struct smmu_queue *q = &smmu->cmdq;
    uint64_t deadline = now_ns() + SMMU_TIMEOUT_NS;
    for (;;) {
        q->cons = reg_read32(smmu, SMMU_CMDQ_CONS) & queue_pointer_mask(q);
        if (!queue_full(q, q->prod, q->cons))
            break;
        if (cmdq_error_active(smmu))
            handle_cmdq_error(smmu);
        if (now_ns() > deadline) {
            printf("smmu: command queue stays full\n");
            return false;
        }
    }
    uint64_t *entry = queue_entry(q, q->prod);
    entry[0] = dword0;
    entry[1] = dword1;
    q->prod = queue_next(q, q->prod);
    reg_write32(smmu, SMMU_CMDQ_PROD, q->prod); /* its barrier publishes the entry first */
    return true;
}

static bool sync_signalled(struct smmu_device *smmu, const uint64_t *sync_entry, uint32_t irqs_before) {
    switch (smmu->sync_mode) {
    case SMMU_SYNC_WIRED_IRQ:
        return smmu->cmd_sync_irqs != irqs_before;
    case SMMU_SYNC_MSI_WORD:
        return *smmu->sync_msi_word == smmu->sync_sequence;
    case SMMU_SYNC_MSI_SELF: {
        uint64_t dword0 = *(volatile const uint64_t *)sync_entry;
        return (dword0 & 0xFFFFFFFFULL) == 0; /* the 32-bit MSI wrote MSIData (0) over the low word */
    }
    case SMMU_SYNC_MSI_DOORBELL:
        return smmu->doorbell_irqs != irqs_before;
    case SMMU_SYNC_POLL:
    default:
        return true;
    }
}

static bool sync_consumed(struct smmu_device *smmu, uint32_t prod_after_sync) {
    struct smmu_queue *q = &smmu->cmdq;
    q->cons = reg_read32(smmu, SMMU_CMDQ_CONS) & queue_pointer_mask(q);
    return q->cons == prod_after_sync;
}

bool smmu_cmdq_sync(struct smmu_device *smmu) {
    uint64_t dword0 = SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC);
    uint64_t dword1 = 0;
    uint32_t irqs_before =
        smmu->sync_mode == SMMU_SYNC_MSI_DOORBELL ? smmu->doorbell_irqs : smmu->cmd_sync_irqs;
    uint64_t *sync_entry = queue_entry(&smmu->cmdq, smmu->cmdq.prod);
    if (smmu->sync_mode != SMMU_SYNC_POLL) {
        uint64_t msi_address = 0;
        uint32_t msi_data = 0, msi_attr = MSIATTR_NORMAL_WB;
        if (smmu->sync_mode == SMMU_SYNC_MSI_WORD) {
            msi_address = (uintptr_t)smmu->sync_msi_word;
            msi_data = ++smmu->sync_sequence;
        } else if (smmu->sync_mode == SMMU_SYNC_MSI_SELF) {
            msi_address = (uintptr_t)sync_entry; /* the MSI zeroes the low word: opcode 0 = done */
        } else if (smmu->sync_mode == SMMU_SYNC_MSI_DOORBELL) {
            msi_address = GICV2M_MSI_SETSPI_NS;
            msi_data = smmu->doorbell_intid;
            msi_attr = MSIATTR_DEVICE_NGNRE;
        }
        dword0 |= SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_IRQ) |
                  SMMU_FIELD_PREP(SMMU_CMD0_SYNC_MSH, MSH_ISH) |
                  SMMU_FIELD_PREP(SMMU_CMD0_SYNC_MSIATTR, msi_attr) |
                  SMMU_FIELD_PREP(SMMU_CMD0_SYNC_MSIDATA, msi_data);
        dword1 = SMMU_ADDR_GET(SMMU_CMD1_SYNC_MSIADDR, msi_address);
    }
    if (!smmu_cmdq_issue(smmu, dword0, dword1))
        return false;
    uint32_t prod_after_sync = smmu->cmdq.prod;
    uint64_t deadline = now_ns() + SMMU_TIMEOUT_NS;
    for (;;) {
        if (cmdq_error_active(smmu))
            handle_cmdq_error(smmu);
        else if (sync_consumed(smmu, prod_after_sync) && sync_signalled(smmu, sync_entry, irqs_before))
            return true;
        if (now_ns() > deadline) {
            printf("smmu: CMD_SYNC did not complete (mode %u, CONS 0x%x, PROD 0x%x)\n",
                   (unsigned int)smmu->sync_mode, (unsigned int)reg_read32(smmu, SMMU_CMDQ_CONS),
                   (unsigned int)prod_after_sync);
            return false;
        }
    }
}

bool smmu_cmd(struct smmu_device *smmu, uint64_t dword0, uint64_t dword1) {
    return smmu_cmdq_issue(smmu, dword0, dword1) && smmu_cmdq_sync(smmu);
}

bool smmu_cfgi_ste(struct smmu_device *smmu, uint32_t sid) {
    /* Leaf = 0: also drop a cached level-1 descriptor (2-level tables). */
    return smmu_cmd(
        smmu, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE) | SMMU_FIELD_PREP(SMMU_CMD0_SID, sid), 0);
}

bool smmu_cfgi_cd(struct smmu_device *smmu, uint32_t sid, uint32_t ssid) {
    return smmu_cmd(smmu,
                    SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_CD) | SMMU_FIELD_PREP(SMMU_CMD0_SID, sid) |
                        SMMU_FIELD_PREP(SMMU_CMD0_SSID, ssid),
                    SMMU_CMD1_LEAF);
}

bool smmu_cfgi_all(struct smmu_device *smmu) {
    return smmu_cmd(smmu, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE_RANGE),
                    SMMU_FIELD_PREP(SMMU_CMD1_RANGE, SMMU_CFGI_RANGE_ALL));
}

bool smmu_tlbi_nsnh_all(struct smmu_device *smmu) {
    return smmu_cmd(smmu, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NSNH_ALL), 0);
}

/* ---- event queue ---- */

/* The fields each record has (IHI0070 7.3); the rest of a record is RES0 and is not decoded (left 0). */
enum {
    EVF_SSV = 1U << 0,   /* SSV and SubstreamID */
    EVF_SSID = 1U << 1,  /* SubstreamID without SSV (C_BAD_SUBSTREAMID: always valid) */
    EVF_INPUT = 1U << 2, /* InputAddr */
    EVF_RNW = 1U << 3,   /* RnW */
    EVF_ATTRS = 1U << 4, /* InD, PnU */
    EVF_STAGE = 1U << 5, /* S2, CLASS */
    EVF_XLATE = 1U << 6, /* Stall, STAG, NSIPA, IPA: the translation-related faults */
    EVF_FETCH = 1U << 7, /* FetchAddr */
};

static unsigned int event_fields(unsigned int id) {
    switch (id) {
    case SMMU_EVT_F_UUT:
        return EVF_SSV | EVF_INPUT | EVF_RNW | EVF_ATTRS;
    case SMMU_EVT_C_BAD_STREAMID:
    case SMMU_EVT_C_BAD_STE:
    case SMMU_EVT_C_BAD_CD:
        return EVF_SSV;
    case SMMU_EVT_F_STE_FETCH:
    case SMMU_EVT_F_CD_FETCH:
        return EVF_SSV | EVF_FETCH;
    case SMMU_EVT_F_TRANSL_FORBIDDEN:
        return EVF_INPUT | EVF_RNW;
    case SMMU_EVT_C_BAD_SUBSTREAMID:
        return EVF_SSID;
    case SMMU_EVT_F_WALK_EABT:
        return EVF_SSV | EVF_INPUT | EVF_RNW | EVF_ATTRS | EVF_STAGE | EVF_FETCH;
    case SMMU_EVT_F_TRANSLATION:
    case SMMU_EVT_F_ADDR_SIZE:
    case SMMU_EVT_F_ACCESS:
    case SMMU_EVT_F_PERMISSION:
        return EVF_SSV | EVF_INPUT | EVF_RNW | EVF_ATTRS | EVF_STAGE | EVF_XLATE;
    default: /* F_STREAM_DISABLED: StreamID only; others are not decoded beyond it */
        return 0;
    }
}

static void decode_event(const volatile uint64_t *record, struct smmu_event *event) {
    uint64_t d0 = record[0], d1 = record[1], d2 = record[2], d3 = record[3];
    unsigned int f = event_fields((unsigned int)SMMU_FIELD_GET(SMMU_EVT0_ID, d0));
    *event = (struct smmu_event){
        .id = (uint8_t)SMMU_FIELD_GET(SMMU_EVT0_ID, d0),
        .sid = (uint32_t)SMMU_FIELD_GET(SMMU_EVT0_SID, d0),
    };
    if (f & EVF_SSV)
        event->ssv = d0 & SMMU_EVT0_SSV;
    if ((f & EVF_SSID) || event->ssv)
        event->ssid = (uint32_t)SMMU_FIELD_GET(SMMU_EVT0_SSID, d0);
    if (f & EVF_INPUT)
        event->input_address = d2;
    if (f & EVF_RNW)
        event->rnw = d1 & SMMU_EVT1_RNW;
    if (f & EVF_ATTRS) {
        event->ind = d1 & SMMU_EVT1_IND;
        event->pnu = d1 & SMMU_EVT1_PNU;
    }
    if (f & EVF_STAGE) {
        event->s2 = d1 & SMMU_EVT1_S2;
        event->event_class = (unsigned int)SMMU_FIELD_GET(SMMU_EVT1_CLASS, d1);
    }
    if (f & EVF_XLATE) {
        event->stall = d1 & SMMU_EVT1_STALL;
        event->stag = (uint16_t)SMMU_FIELD_GET(SMMU_EVT1_STAG, d1);
        event->nsipa = d1 & SMMU_EVT1_NSIPA;
        if (event->s2)
            event->ipa = SMMU_ADDR_GET(SMMU_EVT3_IPA, d3);
    }
    if (f & EVF_FETCH)
        event->fetch_address = SMMU_ADDR_GET(SMMU_EVT3_FETCH_ADDR, d3);
}

unsigned int smmu_evtq_drain(struct smmu_device *smmu) {
    struct smmu_queue *q = &smmu->evtq;
    unsigned int drained = 0;
    uint32_t prod_register = mmio_read32(smmu->base + SMMU_EVENTQ_PROD);
    uint32_t overflow = prod_register & (uint32_t)SMMU_Q_PROD_OVFLG;
    if (overflow != (q->cons & (uint32_t)SMMU_Q_CONS_OVACKFLG)) {
        smmu->events_lost++;
        printf("smmu: event queue overflow, events lost\n");
    }
    uint32_t prod = prod_register & queue_pointer_mask(q);
    uint32_t cons = q->cons & queue_pointer_mask(q);
    while (cons != prod) {
        struct smmu_event *event = &smmu->events[smmu->event_count % SMMU_EVENT_LOG_SIZE];
        decode_event(queue_entry(q, cons), event);
        smmu->event_count++;
        drained++;
        cons = queue_next(q, cons);
        /* Consumed before it is handled: a stalled transaction's record is not needed once read, and the
         * handler may issue commands that wait for room the SMMU needs in this queue. */
        q->cons = cons | (q->cons & (uint32_t)SMMU_Q_CONS_OVACKFLG);
        mmio_write32(smmu->base + SMMU_EVENTQ_CONS, q->cons);
        if (smmu->event_handler)
            smmu->event_handler(smmu, event, smmu->event_handler_context);
    }
    q->cons = cons | overflow; /* OVACKFLG = OVFLG acknowledges the overflow */
    mmio_write32(smmu->base + SMMU_EVENTQ_CONS, q->cons);
    return drained;
}

bool smmu_evtq_restart(struct smmu_device *smmu) {
    /* EVENTQ_BASE and the pointers may only change while the queue is disabled. */
    uint32_t cr0 = current_cr0(smmu);
    if (!smmu_write_cr0(smmu, cr0 & ~(uint32_t)SMMU_CR0_EVENTQEN))
        return false;
    reg_write64(smmu, SMMU_EVENTQ_BASE, queue_base_value(&smmu->evtq));
    reg_write32(smmu, SMMU_EVENTQ_PROD, 0);
    reg_write32(smmu, SMMU_EVENTQ_CONS, 0);
    smmu->evtq.prod = smmu->evtq.cons = 0;
    if (!smmu_write_cr0(smmu, cr0 | (uint32_t)SMMU_CR0_EVENTQEN))
        return false;
    /* Acknowledged last: while the error is active the SMMU writes nothing, so no record can reach the
     * queue before it is usable again. */
    if (smmu_gerror_active(smmu) & (uint32_t)SMMU_GERROR_EVENTQ_ABT_ERR)
        ack_gerror(smmu, (uint32_t)SMMU_GERROR_EVENTQ_ABT_ERR);
    return true;
}

/* ---- PRI queue ---- */

static void decode_ppr(const volatile uint64_t *record, struct smmu_ppr *ppr) {
    uint64_t d0 = record[0], d1 = record[1];
    *ppr = (struct smmu_ppr){
        .sid = (uint32_t)SMMU_FIELD_GET(SMMU_PRI0_SID, d0),
        .ssv = d0 & SMMU_PRI0_SSV,
        .priv = d0 & SMMU_PRI0_PERM_PRIV,
        .exec = d0 & SMMU_PRI0_PERM_EXEC,
        .read = d0 & SMMU_PRI0_PERM_READ,
        .write = d0 & SMMU_PRI0_PERM_WRITE,
        .last = d0 & SMMU_PRI0_LAST,
        .grpid = (uint16_t)SMMU_FIELD_GET(SMMU_PRI1_GRPID, d1),
        .address = SMMU_ADDR_GET(SMMU_PRI1_ADDR, d1),
    };
    if (ppr->ssv)
        ppr->ssid = (uint32_t)SMMU_FIELD_GET(SMMU_PRI0_SSID, d0);
}

unsigned int smmu_priq_drain(struct smmu_device *smmu, smmu_ppr_handler handler, void *context) {
    struct smmu_queue *q = &smmu->priq;
    if (!q->base)
        return 0;
    unsigned int drained = 0;
    uint32_t prod_register = mmio_read32(smmu->base + SMMU_PRIQ_PROD);
    uint32_t overflow = prod_register & (uint32_t)SMMU_Q_PROD_OVFLG;
    uint32_t acked = q->cons & (uint32_t)SMMU_Q_CONS_OVACKFLG;
    uint32_t prod = prod_register & queue_pointer_mask(q);
    uint32_t cons = q->cons & queue_pointer_mask(q);
    while (cons != prod) {
        struct smmu_ppr ppr;
        decode_ppr(queue_entry(q, cons), &ppr);
        cons = queue_next(q, cons);
        drained++;
        smmu->pprs++;
        /* Consumed first: the handler's responses return credits, and the device may then need room. */
        q->cons = cons | acked;
        mmio_write32(smmu->base + SMMU_PRIQ_CONS, q->cons);
        if (handler)
            handler(smmu, &ppr, false, context);
    }
    if (overflow != acked) {
        /* No entry was written while the overflow was active: what is missing had Last answered by the
         * SMMU itself; groups left without their Last are dropped by the handler. Then one CONS write moves
         * RD and acknowledges (IHI0070 8.1.1). */
        smmu->priq_overflows++;
        printf("smmu: PRI queue overflow, requests lost\n");
        if (handler)
            handler(smmu, NULL, true, context);
        q->cons = cons | overflow;
        mmio_write32(smmu->base + SMMU_PRIQ_CONS, q->cons);
    }
    return drained;
}

/* ---- ATS, PRI and stall commands ---- */

bool smmu_atc_inv(struct smmu_device *smmu, uint32_t sid, bool ssv, uint32_t ssid, uint64_t address,
                  uint64_t size) {
    unsigned int log2_span = 52; /* Size = 52: everything */
    uint64_t page = 0;
    if (size) {
        /* As Linux: the smallest naturally aligned power-of-two span of 4 KiB pages holding the range, which
         * over-invalidates rather than issuing several commands. */
        uint64_t first = address >> 12, last = (address + size - 1) >> 12;
        log2_span = first == last ? 0U : 64U - (unsigned int)__builtin_clzll(first ^ last);
        if (log2_span > 52)
            log2_span = 52;
        page = log2_span >= 52 ? 0 : (first & ~((1ULL << log2_span) - 1)) << 12;
    }
    uint64_t dword0 =
        SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_ATC_INV) | SMMU_FIELD_PREP(SMMU_CMD0_SID, sid);
    if (ssv)
        dword0 |= SMMU_CMD0_SSV | SMMU_FIELD_PREP(SMMU_CMD0_SSID, ssid);
    return smmu_cmdq_issue(
        smmu, dword0, SMMU_FIELD_PREP(SMMU_CMD1_ATC_SIZE, log2_span) | SMMU_ADDR_GET(SMMU_CMD1_ADDR, page));
}

bool smmu_pri_resp(struct smmu_device *smmu, uint32_t sid, bool ssv, uint32_t ssid, uint16_t grpid,
                   unsigned int resp) {
    uint64_t dword0 =
        SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_PRI_RESP) | SMMU_FIELD_PREP(SMMU_CMD0_SID, sid);
    if (ssv)
        dword0 |= SMMU_CMD0_SSV | SMMU_FIELD_PREP(SMMU_CMD0_SSID, ssid);
    return smmu_cmdq_issue(smmu, dword0,
                           SMMU_FIELD_PREP(SMMU_CMD1_PRI_PRGIDX, grpid) |
                               SMMU_FIELD_PREP(SMMU_CMD1_PRI_RESP, resp));
}

bool smmu_resume(struct smmu_device *smmu, uint32_t sid, uint16_t stag, bool retry) {
    uint64_t dword0 = SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_RESUME) |
                      SMMU_FIELD_PREP(SMMU_CMD0_SID, sid) |
                      (retry ? SMMU_CMD0_RESUME_AC : SMMU_CMD0_RESUME_AB);
    return smmu_cmdq_issue(smmu, dword0, SMMU_FIELD_PREP(SMMU_CMD1_RESUME_STAG, stag));
}

bool smmu_stall_term(struct smmu_device *smmu, uint32_t sid) {
    return smmu_cmdq_issue(
        smmu, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_STALL_TERM) | SMMU_FIELD_PREP(SMMU_CMD0_SID, sid), 0);
}

bool smmu_tlbi_asid(struct smmu_device *smmu, uint16_t asid, uint16_t vmid) {
    return smmu_cmd(smmu,
                    SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NH_ASID) |
                        SMMU_FIELD_PREP(SMMU_CMD0_VMID, vmid) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, asid),
                    0);
}

const struct smmu_event *smmu_event_at(const struct smmu_device *smmu, uint32_t index) {
    return &smmu->events[index % SMMU_EVENT_LOG_SIZE];
}

static const char *event_name(unsigned int id) {
    switch (id) {
    case SMMU_EVT_F_UUT:
        return "F_UUT";
    case SMMU_EVT_C_BAD_STREAMID:
        return "C_BAD_STREAMID";
    case SMMU_EVT_F_STE_FETCH:
        return "F_STE_FETCH";
    case SMMU_EVT_C_BAD_STE:
        return "C_BAD_STE";
    case SMMU_EVT_F_BAD_ATS_TREQ:
        return "F_BAD_ATS_TREQ";
    case SMMU_EVT_F_STREAM_DISABLED:
        return "F_STREAM_DISABLED";
    case SMMU_EVT_F_TRANSL_FORBIDDEN:
        return "F_TRANSL_FORBIDDEN";
    case SMMU_EVT_C_BAD_SUBSTREAMID:
        return "C_BAD_SUBSTREAMID";
    case SMMU_EVT_F_CD_FETCH:
        return "F_CD_FETCH";
    case SMMU_EVT_C_BAD_CD:
        return "C_BAD_CD";
    case SMMU_EVT_F_WALK_EABT:
        return "F_WALK_EABT";
    case SMMU_EVT_F_TRANSLATION:
        return "F_TRANSLATION";
    case SMMU_EVT_F_ADDR_SIZE:
        return "F_ADDR_SIZE";
    case SMMU_EVT_F_ACCESS:
        return "F_ACCESS";
    case SMMU_EVT_F_PERMISSION:
        return "F_PERMISSION";
    default:
        return "event";
    }
}

void smmu_print_event(const struct smmu_event *e) {
    static const char *const classes[4] = {"CD", "TT", "IN", "reserved"};
    unsigned int f = event_fields(e->id);
    printf("smmu: event 0x%02x %s sid 0x%x", (unsigned int)e->id, event_name(e->id), (unsigned int)e->sid);
    if ((f & EVF_SSID) || e->ssv)
        printf(" ssid 0x%x", (unsigned int)e->ssid);
    if (f & EVF_INPUT)
        printf(" input 0x%llx", (unsigned long long)e->input_address);
    if (f & EVF_RNW)
        printf(" %s", e->rnw ? "read" : "write");
    if (f & EVF_ATTRS)
        printf("%s%s", e->ind ? " instr" : "", e->pnu ? " priv" : "");
    if (f & EVF_STAGE)
        printf(" s2 %u class %s", (unsigned int)e->s2, classes[e->event_class & 3U]);
    if (e->s2 && (f & EVF_XLATE))
        printf(" ipa 0x%llx", (unsigned long long)e->ipa);
    if (f & EVF_FETCH)
        printf(" fetch 0x%llx", (unsigned long long)e->fetch_address);
    if (e->stall)
        printf(" stall stag 0x%x", (unsigned int)e->stag);
    printf("\n");
}

/* ---- interrupts ---- */

static void evtq_irq(uint32_t intid, void *context) {
    (void)intid;
    struct smmu_device *smmu = context;
    smmu->evtq_irqs++;
    smmu_evtq_drain(smmu);
}

static void cmd_sync_irq(uint32_t intid, void *context) {
    (void)intid;
    struct smmu_device *smmu = context;
    smmu->cmd_sync_irqs++;
}

static void priq_irq(uint32_t intid, void *context) {
    (void)intid;
    struct smmu_device *smmu = context;
    smmu->priq_irqs++; /* the records are handled by the fault-processing loop, not in IRQ context */
}

static void doorbell_irq(uint32_t intid, void *context) {
    (void)intid;
    struct smmu_device *smmu = context;
    smmu->doorbell_irqs++;
}

/* Records GERROR and acknowledges everything except CMDQ_ERR, which the command-queue code owns: it must fix
 * the queue before the acknowledgement restarts consumption. */
static void gerror_irq(uint32_t intid, void *context) {
    (void)intid;
    struct smmu_device *smmu = context;
    smmu->gerror_irqs++;
    smmu->gerror_seen = reg_read32(smmu, SMMU_GERROR);
    smmu->gerror_active = smmu_gerror_active(smmu);
    uint32_t others = smmu->gerror_active & ~(uint32_t)SMMU_GERROR_CMDQ_ERR;
    if (others) {
        printf("smmu: GERROR 0x%x acknowledged\n", (unsigned int)others);
        ack_gerror(smmu, others);
    }
}

bool smmu_setup_irqs(struct smmu_device *smmu) {
    /* The SMMU signals its wired interrupts as pulses. */
    static const uint32_t intids[] = {FW_INTID_SMMU_EVTQ, FW_INTID_SMMU_CMDQ_SYNC, FW_INTID_SMMU_GERROR};
    static const gic_irq_handler handlers[] = {evtq_irq, cmd_sync_irq, gerror_irq};
    for (unsigned int i = 0; i < 3; i++) {
        gic_register_handler(intids[i], handlers[i], smmu);
        gic_set_edge_triggered(intids[i], true);
        gic_enable_irq(intids[i]);
    }
    if (smmu->doorbell_intid) {
        gic_register_handler(smmu->doorbell_intid, doorbell_irq, smmu);
        gic_set_edge_triggered(smmu->doorbell_intid, true);
        gic_enable_irq(smmu->doorbell_intid);
    }
    uint32_t irq_ctrl = (uint32_t)(SMMU_IRQ_CTRL_GERROR_IRQEN | SMMU_IRQ_CTRL_EVENTQ_IRQEN);
    if (smmu->priq.base) {
        gic_register_handler(FW_INTID_SMMU_PRIQ, priq_irq, smmu);
        gic_set_edge_triggered(FW_INTID_SMMU_PRIQ, true);
        gic_enable_irq(FW_INTID_SMMU_PRIQ);
        irq_ctrl |= (uint32_t)SMMU_IRQ_CTRL_PRIQ_IRQEN;
    }
    /* Wired interrupts, not MSIs, for the queues and GERROR. */
    reg_write64(smmu, SMMU_EVENTQ_IRQ_CFG0, 0);
    reg_write64(smmu, SMMU_GERROR_IRQ_CFG0, 0);
    if (smmu->features.pri)
        reg_write64(smmu, SMMU_PRIQ_IRQ_CFG0, 0);
    return write_irq_ctrl(smmu, irq_ctrl);
}

static void program_msi(struct smmu_device *smmu, uint32_t cfg0, uint64_t doorbell, uint32_t intid,
                        gic_irq_handler handler) {
    gic_register_handler(intid, handler, smmu);
    gic_set_edge_triggered(intid, true);
    gic_enable_irq(intid);
    reg_write64(smmu, cfg0, SMMU_ADDR_GET(SMMU_IRQ_CFG0_ADDR, doorbell));
    reg_write32(smmu, cfg0 + 8U, intid);
    reg_write32(smmu, cfg0 + 12U, (uint32_t)SMMU_FIELD_PREP(SMMU_IRQ_CFG2_MEMATTR, MSIATTR_DEVICE_NGNRE));
}

bool smmu_setup_msis(struct smmu_device *smmu, uint64_t doorbell, uint32_t first_intid) {
    if (!smmu->features.msi)
        return false;
    /* IRQ_CFGn may only change while the interrupt is disabled. */
    if (!write_irq_ctrl(smmu, 0))
        return false;
    smmu->msi_intid_evtq = first_intid;
    smmu->msi_intid_gerror = first_intid + 1U;
    program_msi(smmu, SMMU_EVENTQ_IRQ_CFG0, doorbell, smmu->msi_intid_evtq, evtq_irq);
    program_msi(smmu, SMMU_GERROR_IRQ_CFG0, doorbell, smmu->msi_intid_gerror, gerror_irq);
    uint32_t irq_ctrl = (uint32_t)(SMMU_IRQ_CTRL_GERROR_IRQEN | SMMU_IRQ_CTRL_EVENTQ_IRQEN);
    if (smmu->priq.base) {
        smmu->msi_intid_priq = first_intid + 2U;
        program_msi(smmu, SMMU_PRIQ_IRQ_CFG0, doorbell, smmu->msi_intid_priq, priq_irq);
        irq_ctrl |= (uint32_t)SMMU_IRQ_CTRL_PRIQ_IRQEN;
    }
    return write_irq_ctrl(smmu, irq_ctrl);
}

/* ---- stream table ---- */

static volatile uint64_t *ste_slot(struct smmu_device *smmu, uint32_t sid, bool *new_level2) {
    *new_level2 = false;
    if (sid >> smmu->strtab_sid_bits)
        return NULL;
    if (!smmu->two_level)
        return (volatile uint64_t *)&smmu->strtab[(size_t)sid * SMMU_STE_DWORDS];
    uint32_t l1_index = sid >> smmu->strtab_split;
    uint64_t *level2 = smmu->strtab_l2[l1_index];
    if (!level2) {
        size_t entries = (size_t)1 << smmu->strtab_split;
        level2 = pgalloc_alloc(entries * SMMU_STE_SIZE);
        if (!level2)
            return NULL;
        for (size_t i = 0; i < entries; i++) /* abort, as the linear table starts */
            level2[i * SMMU_STE_DWORDS] =
                SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_ABORT);
        smmu->strtab_l2[l1_index] = level2;
        *new_level2 = true;
    }
    return (volatile uint64_t *)&level2[(size_t)(sid & ((1U << smmu->strtab_split) - 1U)) * SMMU_STE_DWORDS];
}

bool smmu_write_ste(struct smmu_device *smmu, uint32_t sid, const uint64_t ste[SMMU_STE_DWORDS]) {
    bool new_level2;
    volatile uint64_t *slot = ste_slot(smmu, sid, &new_level2);
    if (!slot) {
        printf("smmu: no STE for StreamID 0x%x\n", (unsigned int)sid);
        return false;
    }
    if (new_level2) {
        uint32_t l1_index = sid >> smmu->strtab_split;
        smmu->strtab[l1_index] = SMMU_ADDR_GET(SMMU_L1STD_L2PTR, (uintptr_t)smmu->strtab_l2[l1_index]) |
                                 SMMU_FIELD_PREP(SMMU_L1STD_SPAN, smmu->strtab_split + 1U);
    }
    for (unsigned int i = 1; i < SMMU_STE_DWORDS; i++)
        slot[i] = ste[i];
    if (!smmu_cfgi_ste(smmu, sid))
        return false;
    slot[0] = ste[0];
    return smmu_cfgi_ste(smmu, sid);
}

static uint64_t ste_dword1_common(const struct smmu_device *smmu) {
    uint64_t dword1 = SMMU_FIELD_PREP(SMMU_STE1_S1CIR, RGN_WBWA) |
                      SMMU_FIELD_PREP(SMMU_STE1_S1COR, RGN_WBWA) | SMMU_FIELD_PREP(SMMU_STE1_S1CSH, SH_ISH) |
                      SMMU_FIELD_PREP(SMMU_STE1_STRW, SMMU_STE_STRW_NSEL1) |
                      SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING);
    if (smmu->features.stall_model == 0)
        dword1 |= SMMU_STE1_S1STALLD; /* stalls are for masters that opt in */
    return dword1;
}

bool smmu_ste_abort(struct smmu_device *smmu, uint32_t sid) {
    uint64_t ste[SMMU_STE_DWORDS] = {SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_ABORT)};
    return smmu_write_ste(smmu, sid, ste);
}

bool smmu_ste_bypass(struct smmu_device *smmu, uint32_t sid) {
    uint64_t ste[SMMU_STE_DWORDS] = {SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_BYPASS),
                                     SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING)};
    return smmu_write_ste(smmu, sid, ste);
}

static uint64_t ste_dword0_stage1(uint64_t cd_table_address, unsigned int s1cdmax, unsigned int config) {
    return SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, config) |
           SMMU_FIELD_PREP(SMMU_STE0_S1FMT, SMMU_STE_S1FMT_LINEAR) |
           SMMU_ADDR_GET(SMMU_STE0_S1CTXPTR, cd_table_address) | SMMU_FIELD_PREP(SMMU_STE0_S1CDMAX, s1cdmax);
}

static void ste_stage2_dwords(const struct smmu_device *smmu, uint64_t ste[SMMU_STE_DWORDS],
                              const struct io_pgtable_cfg *s2, uint16_t vmid) {
    const struct io_pgtable_s2_cfg *c = &s2->arm_lpae_s2_cfg;
    /* The tables' output size, capped by what this SMMU implements. */
    unsigned int ps = c->vtcr.ps < smmu->features.oas_encoding ? c->vtcr.ps : smmu->features.oas_encoding;
    ste[2] = SMMU_FIELD_PREP(SMMU_STE2_S2VMID, vmid) | SMMU_FIELD_PREP(SMMU_STE2_S2T0SZ, c->vtcr.tsz) |
             SMMU_FIELD_PREP(SMMU_STE2_S2SL0, c->vtcr.sl) | SMMU_FIELD_PREP(SMMU_STE2_S2IR0, c->vtcr.irgn) |
             SMMU_FIELD_PREP(SMMU_STE2_S2OR0, c->vtcr.orgn) | SMMU_FIELD_PREP(SMMU_STE2_S2SH0, c->vtcr.sh) |
             SMMU_FIELD_PREP(SMMU_STE2_S2TG, c->vtcr.tg) | SMMU_FIELD_PREP(SMMU_STE2_S2PS, ps) |
             SMMU_STE2_S2AA64 | SMMU_STE2_S2R;
    ste[3] = SMMU_ADDR_GET(SMMU_STE3_S2TTB, c->vttbr);
}

bool smmu_ste_stage1(struct smmu_device *smmu, uint32_t sid, uint64_t cd_table_address,
                     unsigned int s1cdmax) {
    uint64_t ste[SMMU_STE_DWORDS] = {ste_dword0_stage1(cd_table_address, s1cdmax, SMMU_STE_CONFIG_S1),
                                     ste_dword1_common(smmu)};
    return smmu_write_ste(smmu, sid, ste);
}

bool smmu_ste_stage2(struct smmu_device *smmu, uint32_t sid, const struct io_pgtable_cfg *s2, uint16_t vmid) {
    uint64_t ste[SMMU_STE_DWORDS] = {SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_S2),
                                     SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING)};
    ste_stage2_dwords(smmu, ste, s2, vmid);
    return smmu_write_ste(smmu, sid, ste);
}

bool smmu_ste_nested(struct smmu_device *smmu, uint32_t sid, uint64_t cd_table_address, unsigned int s1cdmax,
                     const struct io_pgtable_cfg *s2, uint16_t vmid) {
    uint64_t ste[SMMU_STE_DWORDS] = {ste_dword0_stage1(cd_table_address, s1cdmax, SMMU_STE_CONFIG_NESTED),
                                     ste_dword1_common(smmu)};
    ste_stage2_dwords(smmu, ste, s2, vmid);
    return smmu_write_ste(smmu, sid, ste);
}

void smmu_build_ste(const struct smmu_device *smmu, const struct smmu_ste_config *c,
                    uint64_t ste[SMMU_STE_DWORDS]) {
    for (unsigned int i = 0; i < SMMU_STE_DWORDS; i++)
        ste[i] = 0;
    ste[0] = SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, c->config);
    if (c->config == SMMU_STE_CONFIG_ABORT)
        return;
    ste[1] = SMMU_FIELD_PREP(SMMU_STE1_SHCFG, SMMU_SHCFG_INCOMING);
    if (c->config == SMMU_STE_CONFIG_BYPASS)
        return; /* never ATS on a bypass STE */
    if (c->config == SMMU_STE_CONFIG_S1 || c->config == SMMU_STE_CONFIG_NESTED) {
        ste[0] |= SMMU_FIELD_PREP(SMMU_STE0_S1FMT, c->s1cdmax ? c->s1fmt : SMMU_STE_S1FMT_LINEAR) |
                  SMMU_ADDR_GET(SMMU_STE0_S1CTXPTR, c->cd_table) |
                  SMMU_FIELD_PREP(SMMU_STE0_S1CDMAX, c->s1cdmax);
        ste[1] = ste_dword1_common(smmu);
        if (c->stall)
            ste[1] &= ~SMMU_STE1_S1STALLD;
        if (c->s1cdmax)
            ste[1] |= SMMU_FIELD_PREP(SMMU_STE1_S1DSS, c->s1dss);
        if (c->ppar && smmu->features.pri && c->s1cdmax)
            ste[1] |= SMMU_STE1_PPAR;
    }
    if ((c->config == SMMU_STE_CONFIG_S2 || c->config == SMMU_STE_CONFIG_NESTED) && c->s2)
        ste_stage2_dwords(smmu, ste, c->s2, c->vmid);
    if (c->ats)
        ste[1] |= SMMU_FIELD_PREP(SMMU_STE1_EATS, 1U);
}

/* ---- context descriptors ---- */

uint64_t *smmu_alloc_cd_table(unsigned int s1cdmax) {
    return pgalloc_alloc((size_t)SMMU_CD_SIZE << s1cdmax);
}

bool smmu_write_cd(struct smmu_device *smmu, uint32_t sid, uint64_t *cd_table, uint32_t ssid, uint16_t asid,
                   const struct io_pgtable_cfg *s1) {
    const struct io_pgtable_s1_cfg *c = &s1->arm_lpae_s1_cfg;
    volatile uint64_t *cd = &cd_table[(size_t)ssid * SMMU_CD_DWORDS];
    unsigned int ips = c->tcr.ips < smmu->features.oas_encoding ? c->tcr.ips : smmu->features.oas_encoding;
    cd[1] = SMMU_ADDR_GET(SMMU_CD1_TTB0, c->ttbr);
    cd[2] = 0;
    cd[3] = c->mair;
    if (!smmu_cfgi_cd(smmu, sid, ssid))
        return false;
    cd[0] = SMMU_FIELD_PREP(SMMU_CD0_T0SZ, c->tcr.tsz) | SMMU_FIELD_PREP(SMMU_CD0_TG0, c->tcr.tg) |
            SMMU_FIELD_PREP(SMMU_CD0_IR0, c->tcr.irgn) | SMMU_FIELD_PREP(SMMU_CD0_OR0, c->tcr.orgn) |
            SMMU_FIELD_PREP(SMMU_CD0_SH0, c->tcr.sh) | SMMU_CD0_EPD1 | SMMU_CD0_V |
            SMMU_FIELD_PREP(SMMU_CD0_IPS, ips) | SMMU_CD0_AA64 | SMMU_CD0_R | SMMU_CD0_A | SMMU_CD0_ASET |
            SMMU_FIELD_PREP(SMMU_CD0_ASID, asid);
    return smmu_cfgi_cd(smmu, sid, ssid);
}

/* ---- TLB maintenance ---- */

#define TLBI_RANGE_NUM_MAX 32U
/* Beyond this many commands without range invalidation, invalidate the whole ASID / VMID instead (as Linux
 * does): a walk flush of a 1 GiB table would otherwise be 262144 commands. */
#define TLBI_MAX_COMMANDS 64U

/* TLBI TG field: (log2(granule) - 10) / 2. */
static unsigned int tlbi_tg(unsigned int granule_shift) {
    return (granule_shift - 10U) / 2U;
}

/* Invalidates [address, address + size) in steps of `step` bytes (the leaf size, or the granule for walks).
 * With IDR3.RIL one command covers (NUM+1)·2^SCALE granules, with TTL the level of a `step`-sized leaf (0 for
 * non-leaf invalidations). Then one CMD_SYNC. `dword0` carries the opcode and the VMID/ASID. */
static bool tlbi_range(struct smmu_device *smmu, uint64_t dword0, uint64_t address_mask, uint64_t address,
                       uint64_t size, unsigned int granule_shift, uint64_t step, bool leaf) {
    uint64_t leaf_bit = leaf ? SMMU_CMD1_LEAF : 0;
    if (!smmu->features.ril) {
        for (uint64_t offset = 0; offset < size; offset += step)
            if (!smmu_cmdq_issue(smmu, dword0, leaf_bit | SMMU_ADDR_GET(address_mask, address + offset)))
                return false;
        return smmu_cmdq_sync(smmu);
    }
    unsigned int ttl = 0;
    if (leaf) {
        unsigned int step_shift = (unsigned int)__builtin_ctzll(step);
        ttl = 3U - (step_shift - granule_shift) / (granule_shift - 3U);
    }
    uint64_t granules = (size + (1ULL << granule_shift) - 1) >> granule_shift;
    while (granules) {
        /* (NUM + 1) << SCALE granules: take the lowest set bit of the count as SCALE. */
        unsigned int scale = (unsigned int)__builtin_ctzll(granules);
        uint64_t num = (granules >> scale) % TLBI_RANGE_NUM_MAX;
        if (num == 0)
            num = TLBI_RANGE_NUM_MAX - 1U;
        uint64_t chunk = num << scale;
        uint64_t command0 =
            dword0 | SMMU_FIELD_PREP(SMMU_CMD0_NUM, num - 1U) | SMMU_FIELD_PREP(SMMU_CMD0_SCALE, scale);
        uint64_t command1 = leaf_bit | SMMU_ADDR_GET(address_mask, address) |
                            SMMU_FIELD_PREP(SMMU_CMD1_TG, tlbi_tg(granule_shift)) |
                            SMMU_FIELD_PREP(SMMU_CMD1_TTL, ttl);
        if (chunk == 1 && ttl == 0) {
            /* One granule without a level hint is the reserved range encoding (TG != 0, NUM = SCALE = TTL =
             * 0): say it as a plain by-address TLBI (TG = 0), which covers every level. */
            command0 = dword0;
            command1 = leaf_bit | SMMU_ADDR_GET(address_mask, address);
        }
        if (!smmu_cmdq_issue(smmu, command0, command1))
            return false;
        address += chunk << granule_shift;
        granules -= chunk;
    }
    return smmu_cmdq_sync(smmu);
}

bool smmu_tlbi_s1_range(struct smmu_device *smmu, uint16_t asid, uint16_t vmid, uint64_t iova,
                        uint64_t size) {
    return tlbi_range(smmu,
                      SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NH_VA) |
                          SMMU_FIELD_PREP(SMMU_CMD0_VMID, vmid) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, asid),
                      SMMU_CMD1_VA, iova, size, 12U, 4096U, true);
}

bool smmu_tlbi_s1_range_walk(struct smmu_device *smmu, uint16_t asid, uint16_t vmid, uint64_t iova,
                             uint64_t size) {
    if (!smmu->features.ril && size / 4096U > TLBI_MAX_COMMANDS)
        return smmu_tlbi_asid(smmu, asid, vmid);
    return tlbi_range(smmu,
                      SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NH_VA) |
                          SMMU_FIELD_PREP(SMMU_CMD0_VMID, vmid) | SMMU_FIELD_PREP(SMMU_CMD0_ASID, asid),
                      SMMU_CMD1_VA, iova, size, 12U, 4096U, false);
}

bool smmu_tlbi_s2_range(struct smmu_device *smmu, uint16_t vmid, uint64_t ipa, uint64_t size) {
    return tlbi_range(
        smmu, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_S2_IPA) | SMMU_FIELD_PREP(SMMU_CMD0_VMID, vmid),
        SMMU_CMD1_IPA, ipa, size, 12U, 4096U, true);
}

/* ---- io-pgtable TLB callbacks ---- */

static bool domain_invalidate_all(struct smmu_tlb_domain *domain) {
    struct smmu_device *smmu = domain->smmu;
    if (domain->stage == 1)
        return smmu_cmd(smmu,
                        SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NH_ASID) |
                            SMMU_FIELD_PREP(SMMU_CMD0_VMID, domain->vmid) |
                            SMMU_FIELD_PREP(SMMU_CMD0_ASID, domain->asid),
                        0);
    return smmu_cmd(smmu,
                    SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_S12_VMALL) |
                        SMMU_FIELD_PREP(SMMU_CMD0_VMID, domain->vmid),
                    0);
}

static void domain_invalidate(struct smmu_tlb_domain *domain, uint64_t iova, uint64_t size, uint64_t step,
                              bool leaf) {
    struct smmu_device *smmu = domain->smmu;
    unsigned int granule_shift = domain->granule_shift ? domain->granule_shift : 12U;
    bool ok;
    domain->invalidations++;
    if (!smmu->features.ril && size / step > TLBI_MAX_COMMANDS) {
        ok = domain_invalidate_all(domain);
    } else if (domain->stage == 1) {
        ok = tlbi_range(smmu,
                        SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NH_VA) |
                            SMMU_FIELD_PREP(SMMU_CMD0_VMID, domain->vmid) |
                            SMMU_FIELD_PREP(SMMU_CMD0_ASID, domain->asid),
                        SMMU_CMD1_VA, iova, size, granule_shift, step, leaf);
    } else {
        /* A stage-2 change can also stale combined stage-1+2 entries: invalidate those of the VMID as well.
         */
        ok = tlbi_range(smmu,
                        SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_S2_IPA) |
                            SMMU_FIELD_PREP(SMMU_CMD0_VMID, domain->vmid),
                        SMMU_CMD1_IPA, iova, size, granule_shift, step, leaf) &&
             smmu_cmd(smmu,
                      SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NH_ALL) |
                          SMMU_FIELD_PREP(SMMU_CMD0_VMID, domain->vmid),
                      0);
    }
    if (!ok)
        domain->failed = true;
}

static void smmu_tlb_flush_all(void *cookie) {
    struct smmu_tlb_domain *domain = cookie;
    domain->invalidations++;
    if (!domain_invalidate_all(domain))
        domain->failed = true;
}

static void smmu_tlb_flush_walk(uint64_t iova, size_t size, size_t granule, void *cookie) {
    domain_invalidate(cookie, iova, size, granule, false);
}

static void smmu_tlb_sync(struct iommu_iotlb_gather *gather, void *cookie) {
    if (!iommu_iotlb_gather_empty(gather))
        domain_invalidate(cookie, gather->start, gather->end - gather->start + 1, gather->pgsize, true);
}

/* As Linux's iommu_iotlb_gather_add_page: a leaf of another size, or one that would stretch the range over
 * addresses nobody unmapped, first syncs what the gather holds. */
static void smmu_tlb_add_page(struct iommu_iotlb_gather *gather, uint64_t iova, size_t granule,
                              void *cookie) {
    if (!iommu_iotlb_gather_empty(gather) &&
        (gather->pgsize != granule || iommu_iotlb_gather_is_disjoint(gather, iova, granule))) {
        smmu_tlb_sync(gather, cookie);
        bool queued = gather->queued;
        iommu_iotlb_gather_init(gather);
        gather->queued = queued;
    }
    iommu_iotlb_gather_add_range(gather, iova, granule);
    gather->pgsize = granule;
}

const struct iommu_flush_ops smmu_flush_ops = {
    .tlb_flush_all = smmu_tlb_flush_all,
    .tlb_flush_walk = smmu_tlb_flush_walk,
    .tlb_add_page = smmu_tlb_add_page,
    .tlb_sync = smmu_tlb_sync,
};

struct io_pgtable_ops *smmu_alloc_pgtable(struct smmu_tlb_domain *domain, struct smmu_device *smmu,
                                          unsigned int stage, uint16_t asid, uint16_t vmid,
                                          struct io_pgtable_cfg *cfg) {
    *domain = (struct smmu_tlb_domain){.smmu = smmu, .stage = stage, .asid = asid, .vmid = vmid};
    if (cfg->granule == 0)
        cfg->granule = 4096;
    if (cfg->ias == 0)
        cfg->ias = stage == 1 ? 48U : 40U;
    if (cfg->oas == 0)
        cfg->oas = stage == 1 ? 48U : 40U;
    cfg->tlb = &smmu_flush_ops;
    domain->granule_shift = (unsigned int)__builtin_ctzll(cfg->granule);
    return alloc_io_pgtable_ops(stage == 1 ? ARM_64_LPAE_S1 : ARM_64_LPAE_S2, cfg, domain);
}

/* ---- reset ---- */

void smmu_default_init_options(struct smmu_init_options *options) {
    *options = (struct smmu_init_options){.sid_bits = 8,
                                          .two_level_strtab = false,
                                          .cmdq_log2 = 8,
                                          .evtq_log2 = 7,
                                          .priq_log2 = 8,
                                          .bypass_when_disabled = false};
}

static unsigned int min_unsigned(unsigned int a, unsigned int b) {
    return a < b ? a : b;
}

static bool setup_stream_table(struct smmu_device *smmu, const struct smmu_init_options *options) {
    const struct smmu_features *f = &smmu->features;
    smmu->two_level = options->two_level_strtab && f->two_level_strtab;
    smmu->strtab_sid_bits = min_unsigned(options->sid_bits, f->sid_bits);
    uint32_t base_cfg;
    if (smmu->two_level && smmu->strtab_sid_bits > STRTAB_SPLIT) {
        smmu->strtab_split = STRTAB_SPLIT;
        size_t l1_entries = (size_t)1 << (smmu->strtab_sid_bits - STRTAB_SPLIT);
        smmu->strtab = pgalloc_alloc(l1_entries * SMMU_L1STD_SIZE);       /* all invalid (Span 0) */
        smmu->strtab_l2 = pgalloc_alloc(l1_entries * sizeof(uint64_t *)); /* software shadow */
        if (!smmu->strtab || !smmu->strtab_l2)
            return false;
        base_cfg = (uint32_t)(SMMU_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT, SMMU_STRTAB_FMT_2LVL) |
                              SMMU_FIELD_PREP(SMMU_STRTAB_BASE_CFG_SPLIT, STRTAB_SPLIT) |
                              SMMU_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, smmu->strtab_sid_bits));
    } else {
        smmu->two_level = false;
        size_t entries = (size_t)1 << smmu->strtab_sid_bits;
        smmu->strtab = pgalloc_alloc(entries * SMMU_STE_SIZE);
        if (!smmu->strtab)
            return false;
        /* Unconfigured streams abort (without events) instead of raising C_BAD_STE. */
        for (size_t i = 0; i < entries; i++)
            smmu->strtab[i * SMMU_STE_DWORDS] =
                SMMU_STE0_V | SMMU_FIELD_PREP(SMMU_STE0_CONFIG, SMMU_STE_CONFIG_ABORT);
        base_cfg = (uint32_t)(SMMU_FIELD_PREP(SMMU_STRTAB_BASE_CFG_FMT, SMMU_STRTAB_FMT_LINEAR) |
                              SMMU_FIELD_PREP(SMMU_STRTAB_BASE_CFG_LOG2SIZE, smmu->strtab_sid_bits));
    }
    reg_write64(smmu, SMMU_STRTAB_BASE,
                SMMU_ADDR_GET(SMMU_STRTAB_BASE_ADDR, (uintptr_t)smmu->strtab) | SMMU_STRTAB_BASE_RA);
    reg_write32(smmu, SMMU_STRTAB_BASE_CFG, base_cfg);
    return true;
}

bool smmu_init(struct smmu_device *smmu, const struct smmu_init_options *options) {
    const struct smmu_features *f = &smmu->features;
    /* Quiesce first: with SMMUEN on, make the disabled state abort while tables are rebuilt. */
    if (current_cr0(smmu) & SMMU_CR0_SMMUEN) {
        if (!smmu_set_gbpa_abort(smmu, true))
            return false;
    }
    if (!smmu_disable(smmu) || !smmu_set_gbpa_abort(smmu, !options->bypass_when_disabled) ||
        !write_irq_ctrl(smmu, 0))
        return false;

    reg_write32(smmu, SMMU_CR1,
                (uint32_t)(SMMU_FIELD_PREP(SMMU_CR1_QUEUE_IC, RGN_WBWA) |
                           SMMU_FIELD_PREP(SMMU_CR1_QUEUE_OC, RGN_WBWA) |
                           SMMU_FIELD_PREP(SMMU_CR1_QUEUE_SH, SH_ISH) |
                           SMMU_FIELD_PREP(SMMU_CR1_TABLE_IC, RGN_WBWA) |
                           SMMU_FIELD_PREP(SMMU_CR1_TABLE_OC, RGN_WBWA) |
                           SMMU_FIELD_PREP(SMMU_CR1_TABLE_SH, SH_ISH)));
    reg_write32(smmu, SMMU_CR2, (uint32_t)(SMMU_CR2_PTM | SMMU_CR2_RECINVSID));

    if (!setup_stream_table(smmu, options))
        return false;

    if (!queue_alloc(&smmu->cmdq, min_unsigned(options->cmdq_log2, f->cmdq_log2), SMMU_CMD_SIZE) ||
        !queue_alloc(&smmu->evtq, min_unsigned(options->evtq_log2, f->evtq_log2), SMMU_EVT_SIZE))
        return false;
    reg_write64(smmu, SMMU_CMDQ_BASE, queue_base_value(&smmu->cmdq));
    reg_write32(smmu, SMMU_CMDQ_PROD, 0);
    reg_write32(smmu, SMMU_CMDQ_CONS, 0);
    reg_write64(smmu, SMMU_EVENTQ_BASE, queue_base_value(&smmu->evtq));
    reg_write32(smmu, SMMU_EVENTQ_PROD, 0);
    reg_write32(smmu, SMMU_EVENTQ_CONS, 0);
    uint32_t enables = (uint32_t)SMMU_CR0_EVENTQEN;
    if (f->pri) {
        if (!queue_alloc(&smmu->priq, min_unsigned(options->priq_log2, f->priq_log2), SMMU_PRI_SIZE))
            return false;
        reg_write64(smmu, SMMU_PRIQ_BASE, queue_base_value(&smmu->priq));
        reg_write32(smmu, SMMU_PRIQ_PROD, 0);
        reg_write32(smmu, SMMU_PRIQ_CONS, 0);
        enables |= (uint32_t)SMMU_CR0_PRIQEN;
    }

    /* Command queue first, to invalidate whatever an earlier user left cached, then the others, then
     * translation. */
    if (!smmu_write_cr0(smmu, (uint32_t)SMMU_CR0_CMDQEN))
        return false;
    if (!smmu_cmdq_issue(smmu, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE_RANGE),
                         SMMU_FIELD_PREP(SMMU_CMD1_RANGE, SMMU_CFGI_RANGE_ALL)) ||
        !smmu_cmdq_issue(smmu, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NSNH_ALL), 0) ||
        !smmu_cmdq_sync(smmu))
        return false;
    if (!smmu_write_cr0(smmu, (uint32_t)SMMU_CR0_CMDQEN | enables))
        return false;
    return smmu_write_cr0(smmu, (uint32_t)SMMU_CR0_CMDQEN | enables | (uint32_t)SMMU_CR0_SMMUEN);
}
