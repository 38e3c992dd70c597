/* SMMUv3 core: lifetime, register file and the transaction path (IHI0070 chapters 3, 6 and 7). Configuration
 * decode lives in smmu_config.c, commands in smmu_cmdq.c, events and interrupts in smmu_evtq.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smmu_internal.h"

/* ---- Trace ---- */

void smmu_tracef(smmu *s, const char *fmt, ...) {
    char line[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    s->host.trace(s->host_ctx, line);
}

void smmu_set_trace(smmu *s, bool on) {
    s->trace_on = on;
}

const char *smmu_ssid_str(char *buf, bool ssv, uint32_t ssid) {
    if (!ssv)
        return "-";
    snprintf(buf, 16, "0x%x", ssid);
    return buf;
}

/* ---- Lifetime ---- */

/* CR1 cacheability fields: 0b11 is reserved and treated as Non-cacheable. */
static uint8_t cr1_cache(unsigned c) {
    return (uint8_t)(c == 3 ? 0 : c);
}

/* Attributes of a CR1-described access. With both levels Non-cacheable the SH field is IGNORED and the access
 * is Outer Shareable; the reserved SH value 0b01 is treated as Non-shareable. */
static smmu_mem_attrs cr1_attrs(unsigned ic, unsigned oc, unsigned sh) {
    smmu_mem_attrs a = {.cache = cr1_cache(ic),
                        .outer_cache = cr1_cache(oc),
                        .share = (uint8_t)(sh == 1 ? 0 : sh),
                        .ns = true};
    if (a.cache == 0 && a.outer_cache == 0)
        a.share = 2;
    return a;
}

smmu_mem_attrs smmu_cr1_table_attrs(const smmu *s) {
    return cr1_attrs((unsigned)SMMU_FIELD_GET(SMMU_CR1_TABLE_IC, s->cr1),
                     (unsigned)SMMU_FIELD_GET(SMMU_CR1_TABLE_OC, s->cr1),
                     (unsigned)SMMU_FIELD_GET(SMMU_CR1_TABLE_SH, s->cr1));
}

smmu_mem_attrs smmu_cr1_queue_attrs(const smmu *s) {
    return cr1_attrs((unsigned)SMMU_FIELD_GET(SMMU_CR1_QUEUE_IC, s->cr1),
                     (unsigned)SMMU_FIELD_GET(SMMU_CR1_QUEUE_OC, s->cr1),
                     (unsigned)SMMU_FIELD_GET(SMMU_CR1_QUEUE_SH, s->cr1));
}

smmu *smmu_create(const smmu_params *p, const smmu_host_ops *host, void *host_ctx) {
    if (!p || !host || !smmu_params_validate(p, NULL, 0))
        return NULL;
    smmu *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->p = *p;
    s->host = *host;
    s->host_ctx = host_ctx;
    s->oas_bits = (uint8_t)smmu_pa_size_bits((unsigned)SMMU_FIELD_GET(SMMU_IDR5_OAS, p->idr[5]));
    /* The engine's architectural limits come from the ID registers, not from its own parameters. */
    smmu_engine_params ep = p->engine;
    unsigned httu = (unsigned)SMMU_FIELD_GET(SMMU_IDR0_HTTU, p->idr[0]);
    ep.oas_bits = s->oas_bits;
    ep.hw_af = httu >= 1;
    ep.hw_dirty = httu >= 2;
    ep.xnx = (p->idr[3] & SMMU_IDR3_XNX) != 0;
    s->p.engine = ep;
    s->eng = smmu_engine_create(&ep, host, host_ctx);
    if (!s->eng) {
        free(s);
        return NULL;
    }
    s->cmdq.max_log2 = (uint8_t)SMMU_FIELD_GET(SMMU_IDR1_CMDQS, p->idr[1]);
    s->evtq.max_log2 = (uint8_t)SMMU_FIELD_GET(SMMU_IDR1_EVENTQS, p->idr[1]);
    s->priq.max_log2 = (uint8_t)SMMU_FIELD_GET(SMMU_IDR1_PRIQS, p->idr[1]);
    smmu_cc_init(s);
    smmu_reset(s);
    return s;
}

void smmu_destroy(smmu *s) {
    if (!s)
        return;
    smmu_engine_destroy(s->eng);
    smmu_cc_free(s);
    free(s);
}

void smmu_reset(smmu *s) {
    s->cr0 = s->cr0ack = s->cr1 = s->cr2 = 0;
    /* GBPA resets to bypass with incoming shareability (ABORT's reset value is IMPLEMENTATION DEFINED). */
    s->gbpa = (uint32_t)SMMU_FIELD_PREP(SMMU_GBPA_SHCFG, SMMU_SHCFG_INCOMING);
    s->irq_ctrl = s->irq_ctrlack = 0;
    s->gerror = s->gerrorn = 0;
    s->gerror_irq_cfg0 = 0;
    s->gerror_irq_cfg1 = s->gerror_irq_cfg2 = 0;
    s->strtab_base = 0;
    s->strtab_base_cfg = 0;
    s->cmdq.base = s->evtq.base = s->priq.base = 0;
    s->cmdq.prod = s->cmdq.cons = s->evtq.prod = s->evtq.cons = s->priq.prod = s->priq.cons = 0;
    s->evtq_irq_cfg0 = s->priq_irq_cfg0 = 0;
    s->evtq_irq_cfg1 = s->evtq_irq_cfg2 = s->priq_irq_cfg1 = s->priq_irq_cfg2 = 0;
    s->in_cmdq = false;
    s->pending_ps = 0;
    smmu_cc_clear(s);
    smmu_engine_inv_all(s->eng);
}

/* ---- Registers ---- */

static const char *reg_name(uint64_t off) {
    switch (off) {
    case SMMU_CR0:
        return "CR0";
    case SMMU_CR1:
        return "CR1";
    case SMMU_CR2:
        return "CR2";
    case SMMU_GBPA:
        return "GBPA";
    case SMMU_AGBPA:
        return "AGBPA";
    case SMMU_IRQ_CTRL:
        return "IRQ_CTRL";
    case SMMU_GERRORN:
        return "GERRORN";
    case SMMU_GERROR_IRQ_CFG0:
        return "GERROR_IRQ_CFG0";
    case SMMU_GERROR_IRQ_CFG1:
        return "GERROR_IRQ_CFG1";
    case SMMU_GERROR_IRQ_CFG2:
        return "GERROR_IRQ_CFG2";
    case SMMU_STRTAB_BASE:
        return "STRTAB_BASE";
    case SMMU_STRTAB_BASE_CFG:
        return "STRTAB_BASE_CFG";
    case SMMU_CMDQ_BASE:
        return "CMDQ_BASE";
    case SMMU_CMDQ_PROD:
        return "CMDQ_PROD";
    case SMMU_CMDQ_CONS:
        return "CMDQ_CONS";
    case SMMU_EVENTQ_BASE:
        return "EVENTQ_BASE";
    case SMMU_EVENTQ_IRQ_CFG0:
        return "EVENTQ_IRQ_CFG0";
    case SMMU_EVENTQ_IRQ_CFG1:
        return "EVENTQ_IRQ_CFG1";
    case SMMU_EVENTQ_IRQ_CFG2:
        return "EVENTQ_IRQ_CFG2";
    case SMMU_PRIQ_BASE:
        return "PRIQ_BASE";
    case SMMU_PRIQ_IRQ_CFG0:
        return "PRIQ_IRQ_CFG0";
    case SMMU_PRIQ_IRQ_CFG1:
        return "PRIQ_IRQ_CFG1";
    case SMMU_PRIQ_IRQ_CFG2:
        return "PRIQ_IRQ_CFG2";
    case SMMU_EVENTQ_PROD:
    case SMMU_EVENTQ_PROD_ALIAS:
        return "EVENTQ_PROD";
    case SMMU_EVENTQ_CONS:
    case SMMU_EVENTQ_CONS_ALIAS:
        return "EVENTQ_CONS";
    case SMMU_PRIQ_PROD:
    case SMMU_PRIQ_PROD_ALIAS:
        return "PRIQ_PROD";
    case SMMU_PRIQ_CONS:
    case SMMU_PRIQ_CONS_ALIAS:
        return "PRIQ_CONS";
    default:
        return NULL;
    }
}

static bool is_reg64(uint64_t off) {
    switch (off) {
    case SMMU_GERROR_IRQ_CFG0:
    case SMMU_STRTAB_BASE:
    case SMMU_CMDQ_BASE:
    case SMMU_EVENTQ_BASE:
    case SMMU_EVENTQ_IRQ_CFG0:
    case SMMU_PRIQ_BASE:
    case SMMU_PRIQ_IRQ_CFG0:
        return true;
    default:
        return false;
    }
}

static uint64_t *reg64_ptr(smmu *s, uint64_t off) {
    switch (off) {
    case SMMU_GERROR_IRQ_CFG0:
        return &s->gerror_irq_cfg0;
    case SMMU_STRTAB_BASE:
        return &s->strtab_base;
    case SMMU_CMDQ_BASE:
        return &s->cmdq.base;
    case SMMU_EVENTQ_BASE:
        return &s->evtq.base;
    case SMMU_EVENTQ_IRQ_CFG0:
        return &s->evtq_irq_cfg0;
    case SMMU_PRIQ_BASE:
        return &s->priq.base;
    case SMMU_PRIQ_IRQ_CFG0:
        return &s->priq_irq_cfg0;
    default:
        return NULL;
    }
}

static uint32_t pidr(const smmu *s, unsigned n) {
    uint32_t iidr = s->p.iidr;
    unsigned product = (unsigned)SMMU_FIELD_GET(SMMU_IIDR_PRODUCTID, iidr);
    unsigned impl = (unsigned)SMMU_FIELD_GET(SMMU_IIDR_IMPLEMENTER, iidr);
    switch (n) {
    case 0:
        return product & 0xFF;
    case 1:
        return ((product >> 8) & 0xF) | ((impl & 0xF) << 4);
    case 2:
        return ((impl >> 4) & 0x7) | 0x8u /* JEDEC-assigned identity */ |
               ((unsigned)SMMU_FIELD_GET(SMMU_IIDR_VARIANT, iidr) << 4);
    case 3:
        return (unsigned)SMMU_FIELD_GET(SMMU_IIDR_REVISION, iidr) << 4;
    case 4:
        return (impl >> 8) & 0xF;
    default:
        return 0;
    }
}

static bool msi_supported(const smmu *s) {
    return smmu_has(s, 0, SMMU_IDR0_MSI);
}

static uint32_t read32(smmu *s, uint64_t off) {
    if (is_reg64(off & ~UINT64_C(7))) {
        uint64_t v = *reg64_ptr(s, off & ~UINT64_C(7));
        return (off & 4) ? (uint32_t)(v >> 32) : (uint32_t)v;
    }
    switch (off) {
    case SMMU_IDR0:
    case SMMU_IDR1:
    case SMMU_IDR2:
    case SMMU_IDR3:
    case SMMU_IDR4:
    case SMMU_IDR5:
        return s->p.idr[off / 4];
    case SMMU_IIDR:
        return s->p.iidr;
    case SMMU_AIDR:
        return s->p.aidr;
    case SMMU_CR0:
        return s->cr0;
    case SMMU_CR0ACK:
        return s->cr0ack;
    case SMMU_CR1:
        return s->cr1;
    case SMMU_CR2:
        return s->cr2;
    case SMMU_STATUSR:
        return 0;
    case SMMU_GBPA:
        return s->gbpa;
    case SMMU_IRQ_CTRL:
        return s->irq_ctrl;
    case SMMU_IRQ_CTRLACK:
        return s->irq_ctrlack;
    case SMMU_GERROR:
        return s->gerror;
    case SMMU_GERRORN:
        return s->gerrorn;
    case SMMU_GERROR_IRQ_CFG1:
        return s->gerror_irq_cfg1;
    case SMMU_GERROR_IRQ_CFG2:
        return s->gerror_irq_cfg2;
    case SMMU_STRTAB_BASE_CFG:
        return s->strtab_base_cfg;
    case SMMU_CMDQ_PROD:
        return s->cmdq.prod;
    case SMMU_CMDQ_CONS:
        return s->cmdq.cons;
    case SMMU_EVENTQ_IRQ_CFG1:
        return s->evtq_irq_cfg1;
    case SMMU_EVENTQ_IRQ_CFG2:
        return s->evtq_irq_cfg2;
    case SMMU_PRIQ_IRQ_CFG1:
        return s->priq_irq_cfg1;
    case SMMU_PRIQ_IRQ_CFG2:
        return s->priq_irq_cfg2;
    case SMMU_EVENTQ_PROD:
    case SMMU_EVENTQ_PROD_ALIAS:
        return s->evtq.prod;
    case SMMU_EVENTQ_CONS:
    case SMMU_EVENTQ_CONS_ALIAS:
        return s->evtq.cons;
    case SMMU_PRIQ_PROD:
    case SMMU_PRIQ_PROD_ALIAS:
        return s->priq.prod;
    case SMMU_PRIQ_CONS:
    case SMMU_PRIQ_CONS_ALIAS:
        return s->priq.cons;
    case SMMU_PIDR0:
    case SMMU_PIDR1:
    case SMMU_PIDR2:
    case SMMU_PIDR3:
        return pidr(s, (unsigned)(off - SMMU_PIDR0) / 4);
    case SMMU_PIDR4:
        return pidr(s, 4);
    case SMMU_CIDR0:
        return 0x0D;
    case SMMU_CIDR1:
        return 0xF0;
    case SMMU_CIDR2:
        return 0x05;
    case SMMU_CIDR3:
        return 0xB1;
    default:
        return 0; /* reserved, IMPLEMENTATION DEFINED (AGBPA) and unimplemented registers: RAZ/WI */
    }
}

static void write64(smmu *s, uint64_t off, uint64_t v) {
    const bool smmuen = smmu_enabled(s);
    switch (off) {
    case SMMU_STRTAB_BASE:
        if (!smmuen)
            s->strtab_base = v & (SMMU_STRTAB_BASE_ADDR | SMMU_STRTAB_BASE_RA);
        break;
    case SMMU_CMDQ_BASE:
        if (!(s->cr0ack & SMMU_CR0_CMDQEN))
            s->cmdq.base = v & (SMMU_Q_BASE_ADDR | SMMU_Q_BASE_RWA | SMMU_Q_BASE_LOG2SIZE);
        break;
    case SMMU_EVENTQ_BASE:
        if (!(s->cr0ack & SMMU_CR0_EVENTQEN))
            s->evtq.base = v & (SMMU_Q_BASE_ADDR | SMMU_Q_BASE_RWA | SMMU_Q_BASE_LOG2SIZE);
        break;
    case SMMU_PRIQ_BASE:
        if (!(s->cr0ack & SMMU_CR0_PRIQEN))
            s->priq.base = v & (SMMU_Q_BASE_ADDR | SMMU_Q_BASE_RWA | SMMU_Q_BASE_LOG2SIZE);
        break;
    /* MSI configuration is RES0 without MSIs and ignored while its interrupt is enabled. */
    case SMMU_GERROR_IRQ_CFG0:
        if (msi_supported(s) && !(s->irq_ctrlack & SMMU_IRQ_CTRL_GERROR_IRQEN))
            s->gerror_irq_cfg0 = v & SMMU_IRQ_CFG0_ADDR;
        break;
    case SMMU_EVENTQ_IRQ_CFG0:
        if (msi_supported(s) && !(s->irq_ctrlack & SMMU_IRQ_CTRL_EVENTQ_IRQEN))
            s->evtq_irq_cfg0 = v & SMMU_IRQ_CFG0_ADDR;
        break;
    case SMMU_PRIQ_IRQ_CFG0:
        if (msi_supported(s) && smmu_has(s, 0, SMMU_IDR0_PRI) && !(s->irq_ctrlack & SMMU_IRQ_CTRL_PRIQ_IRQEN))
            s->priq_irq_cfg0 = v & SMMU_IRQ_CFG0_ADDR;
        break;
    default:
        break;
    }
}

static void write_cr0(smmu *s, uint32_t v) {
    uint32_t mask = (uint32_t)(SMMU_CR0_SMMUEN | SMMU_CR0_EVENTQEN | SMMU_CR0_CMDQEN);
    if (smmu_has(s, 0, SMMU_IDR0_PRI))
        mask |= (uint32_t)SMMU_CR0_PRIQEN;
    if (smmu_has(s, 0, SMMU_IDR0_ATS))
        mask |= (uint32_t)SMMU_CR0_ATSCHK;
    if (smmu_has(s, 0, SMMU_IDR0_VMW))
        mask |= (uint32_t)SMMU_CR0_VMW;
    uint32_t old = s->cr0ack;
    /* The model completes every enable/disable at once, so CR0ACK follows CR0 immediately. */
    s->cr0 = s->cr0ack = v & mask;
    if ((old ^ s->cr0ack) & SMMU_CR0_SMMUEN && s->host.translations_changed)
        s->host.translations_changed(s->host_ctx);
    if ((s->cr0ack & SMMU_CR0_CMDQEN) && !(old & SMMU_CR0_CMDQEN))
        smmu_cmdq_process(s);
}

static void write32(smmu *s, uint64_t off, uint32_t v) {
    if (is_reg64(off & ~UINT64_C(7))) {
        uint64_t base = off & ~UINT64_C(7);
        uint64_t old = *reg64_ptr(s, base);
        uint64_t merged =
            (off & 4) ? ((old & 0xFFFFFFFFu) | ((uint64_t)v << 32)) : ((old & ~UINT64_C(0xFFFFFFFF)) | v);
        write64(s, base, merged);
        return;
    }
    const bool smmuen = smmu_enabled(s);
    switch (off) {
    case SMMU_CR0:
        write_cr0(s, v);
        break;
    case SMMU_CR1: {
        uint32_t writable = 0;
        if (!(s->cr0ack & (SMMU_CR0_CMDQEN | SMMU_CR0_EVENTQEN | SMMU_CR0_PRIQEN)))
            writable |= (uint32_t)SMMU_CR1_QUEUE_FIELDS;
        if (!smmuen)
            writable |= (uint32_t)SMMU_CR1_TABLE_FIELDS;
        s->cr1 = (s->cr1 & ~writable) | (v & writable);
        break;
    }
    case SMMU_CR2:
        if (!smmuen) {
            uint32_t mask = (uint32_t)(SMMU_CR2_RECINVSID | SMMU_CR2_PTM);
            if (smmu_has(s, 0, SMMU_IDR0_HYP))
                mask |= (uint32_t)SMMU_CR2_E2H;
            if (smmu_has(s, 0, SMMU_IDR0_ATS))
                mask |= (uint32_t)SMMU_CR2_REC_CFG_ATS;
            s->cr2 = v & mask;
        }
        break;
    case SMMU_GBPA:
        /* Only a write with Update=1 changes the attributes; the model completes it at once and clears
         * Update. */
        if (v & SMMU_GBPA_UPDATE) {
            s->gbpa = v & (uint32_t)SMMU_GBPA_FIELDS;
            if (!smmuen && s->host.translations_changed)
                s->host.translations_changed(s->host_ctx);
        }
        break;
    case SMMU_IRQ_CTRL: {
        uint32_t mask = (uint32_t)(SMMU_IRQ_CTRL_GERROR_IRQEN | SMMU_IRQ_CTRL_EVENTQ_IRQEN);
        if (smmu_has(s, 0, SMMU_IDR0_PRI))
            mask |= (uint32_t)SMMU_IRQ_CTRL_PRIQ_IRQEN;
        s->irq_ctrl = s->irq_ctrlack = v & mask;
        break;
    }
    case SMMU_GERRORN: {
        uint32_t was_active = s->gerror ^ s->gerrorn;
        s->gerrorn = v & (uint32_t)SMMU_GERROR_ACKABLE;
        if ((was_active & SMMU_GERROR_CMDQ_ERR) && !((s->gerror ^ s->gerrorn) & SMMU_GERROR_CMDQ_ERR))
            smmu_cmdq_process(s);
        break;
    }
    case SMMU_GERROR_IRQ_CFG1:
        if (msi_supported(s) && !(s->irq_ctrlack & SMMU_IRQ_CTRL_GERROR_IRQEN))
            s->gerror_irq_cfg1 = v;
        break;
    case SMMU_GERROR_IRQ_CFG2:
        if (msi_supported(s) && !(s->irq_ctrlack & SMMU_IRQ_CTRL_GERROR_IRQEN))
            s->gerror_irq_cfg2 = v & (uint32_t)(SMMU_IRQ_CFG2_SH | SMMU_IRQ_CFG2_MEMATTR);
        break;
    case SMMU_EVENTQ_IRQ_CFG1:
        if (msi_supported(s) && !(s->irq_ctrlack & SMMU_IRQ_CTRL_EVENTQ_IRQEN))
            s->evtq_irq_cfg1 = v;
        break;
    case SMMU_EVENTQ_IRQ_CFG2:
        if (msi_supported(s) && !(s->irq_ctrlack & SMMU_IRQ_CTRL_EVENTQ_IRQEN))
            s->evtq_irq_cfg2 = v & (uint32_t)(SMMU_IRQ_CFG2_SH | SMMU_IRQ_CFG2_MEMATTR);
        break;
    case SMMU_PRIQ_IRQ_CFG1:
        if (msi_supported(s) && smmu_has(s, 0, SMMU_IDR0_PRI) && !(s->irq_ctrlack & SMMU_IRQ_CTRL_PRIQ_IRQEN))
            s->priq_irq_cfg1 = v;
        break;
    case SMMU_PRIQ_IRQ_CFG2:
        if (msi_supported(s) && smmu_has(s, 0, SMMU_IDR0_PRI) && !(s->irq_ctrlack & SMMU_IRQ_CTRL_PRIQ_IRQEN))
            s->priq_irq_cfg2 =
                v & (uint32_t)(SMMU_IRQ_CFG2_SH | SMMU_IRQ_CFG2_MEMATTR | SMMU_PRIQ_IRQ_CFG2_LO);
        break;
    case SMMU_STRTAB_BASE_CFG:
        if (!smmuen) {
            uint32_t mask = (uint32_t)(SMMU_STRTAB_BASE_CFG_LOG2SIZE | SMMU_STRTAB_BASE_CFG_SPLIT);
            if (SMMU_FIELD_GET(SMMU_IDR0_ST_LEVEL, s->p.idr[0]) == 1)
                mask |= (uint32_t)SMMU_STRTAB_BASE_CFG_FMT;
            s->strtab_base_cfg = v & mask;
        }
        break;
    case SMMU_CMDQ_PROD:
        s->cmdq.prod = v & (uint32_t)SMMU_Q_PTR_MASK;
        smmu_cmdq_process(s);
        break;
    case SMMU_CMDQ_CONS:
        if (!(s->cr0ack & SMMU_CR0_CMDQEN))
            s->cmdq.cons = (s->cmdq.cons & (uint32_t)SMMU_CMDQ_CONS_ERR) | (v & (uint32_t)SMMU_Q_PTR_MASK);
        break;
    case SMMU_EVENTQ_PROD:
    case SMMU_EVENTQ_PROD_ALIAS:
        if (!(s->cr0ack & SMMU_CR0_EVENTQEN))
            s->evtq.prod = v & (uint32_t)(SMMU_Q_PTR_MASK | SMMU_Q_PROD_OVFLG);
        break;
    case SMMU_EVENTQ_CONS:
    case SMMU_EVENTQ_CONS_ALIAS:
        s->evtq.cons = v & (uint32_t)(SMMU_Q_PTR_MASK | SMMU_Q_CONS_OVACKFLG);
        break;
    case SMMU_PRIQ_PROD:
    case SMMU_PRIQ_PROD_ALIAS:
        if (!(s->cr0ack & SMMU_CR0_PRIQEN))
            s->priq.prod = v & (uint32_t)(SMMU_Q_PTR_MASK | SMMU_Q_PROD_OVFLG);
        break;
    case SMMU_PRIQ_CONS:
    case SMMU_PRIQ_CONS_ALIAS:
        s->priq.cons = v & (uint32_t)(SMMU_Q_PTR_MASK | SMMU_Q_CONS_OVACKFLG);
        break;
    default:
        break; /* read-only, reserved and IMPLEMENTATION DEFINED registers: writes ignored */
    }
}

static bool access_ok(uint64_t offset, unsigned size) {
    return (size == 4 || size == 8) && (offset % size) == 0 && offset + size <= SMMU_REG_SPACE_SIZE;
}

bool smmu_reg_read(smmu *s, uint64_t offset, unsigned size, uint64_t *value) {
    if (!access_ok(offset, size))
        return false;
    s->st.reg_reads++;
    smmu_advance(s, s->p.reg_access_ps);
    return smmu_reg_peek(s, offset, size, value);
}

bool smmu_reg_peek(smmu *s, uint64_t offset, unsigned size, uint64_t *value) {
    if (!access_ok(offset, size))
        return false;
    if (size == 8 && is_reg64(offset))
        *value = *reg64_ptr(s, offset);
    else if (size == 8) /* a pair of 32-bit registers reads as two accesses */
        *value = read32(s, offset) | ((uint64_t)read32(s, offset + 4) << 32);
    else
        *value = read32(s, offset);
    return true;
}

bool smmu_reg_write(smmu *s, uint64_t offset, unsigned size, uint64_t value) {
    if (!access_ok(offset, size))
        return false;
    s->st.reg_writes++;
    smmu_advance(s, s->p.reg_access_ps);
    if (smmu_tracing(s)) {
        const char *name = reg_name(offset);
        if (name)
            smmu_tracef(s, "smmu: write %s = 0x%llx", name, (unsigned long long)value);
        else
            smmu_tracef(s, "smmu: write 0x%05llx = 0x%llx", (unsigned long long)offset,
                        (unsigned long long)value);
    }
    if (size == 8 && is_reg64(offset)) {
        write64(s, offset, value);
    } else if (size == 8) {
        write32(s, offset, (uint32_t)value);
        write32(s, offset + 4, (uint32_t)(value >> 32));
    } else {
        write32(s, offset, (uint32_t)value);
    }
    return true;
}

/* ---- Transactions ---- */

/* ---- Memory attributes (IHI0070 chapter 13) ----
 * Types are decoded from their encodings (MAIR bytes, MemAttr fields) into mem_type, combined there, and
 * encoded back into the MAIR byte the result carries. */

enum { CACHE_NC = 0, CACHE_WT = 1, CACHE_WB = 2 }; /* in order of strength: combining keeps the weaker */

/* One cacheability level of a Normal type with its allocation and transient hints. */
typedef struct mem_level {
    uint8_t cache;
    bool ra, wa, tr;
} mem_level;

/* Device (dev: the MAIR dd encoding, 0 nGnRnE .. 3 GRE, smaller is stricter) or Normal. */
typedef struct mem_type {
    bool device;
    uint8_t dev;
    mem_level inner, outer;
} mem_type;

/* A type and its shareability (0 NSH, 2 OSH, 3 ISH). */
typedef struct mem_attrs {
    mem_type type;
    uint8_t share;
} mem_attrs;

/* A Normal MAIR nibble: 0b0100 NC, 0b00RW / 0b01RW (RW != 00) WT / WB transient, 0b10RW / 0b11RW WT / WB
 * non-transient. 0b0000 is UNPREDICTABLE for a Normal type and is taken as NC. */
static mem_level mair_level(unsigned nibble) {
    mem_level l = {CACHE_NC, false, false, false};
    if (nibble == 0x4 || nibble == 0)
        return l;
    l.cache = (nibble & 0x4) ? CACHE_WB : CACHE_WT;
    l.tr = !(nibble & 0x8);
    l.ra = (nibble & 0x2) != 0;
    l.wa = (nibble & 0x1) != 0;
    return l;
}

static unsigned level_nibble(mem_level l) {
    if (l.cache == CACHE_NC)
        return 0x4;                   /* Non-cacheable has no hints */
    bool tr = l.tr && (l.ra || l.wa); /* no-allocate is non-transient (13.1.7) */
    return (tr ? 0u : 0x8u) | (l.cache == CACHE_WB ? 0x4u : 0u) | (l.ra ? 0x2u : 0u) | (l.wa ? 0x1u : 0u);
}

/* A MAIR attribute byte: 0b0000ddxx is Device (xx != 00 is UNPREDICTABLE and ignored), anything else Normal.
 */
static mem_type mair_type(uint8_t mair) {
    mem_type t = {0};
    if ((mair & 0xF0) == 0) {
        t.device = true;
        t.dev = (mair >> 2) & 3;
        return t;
    }
    t.outer = mair_level(mair >> 4);
    t.inner = mair_level(mair & 0xF);
    return t;
}

static uint8_t type_mair(mem_type t) {
    if (t.device)
        return (uint8_t)(t.dev << 2);
    return (uint8_t)(level_nibble(t.outer) << 4 | level_nibble(t.inner));
}

/* MemAttr[3:0] in the stage-2 encoding (stage-2 descriptors without FWB, STE.MemAttr, GBPA.MemAttr). It has
 * no hints: the default input hints (Read-Allocate, Write-Allocate, non-transient, IHI0070 13.1.3) apply,
 * which also leave the other side's hints unchanged when combined. */
static mem_type memattr_type(unsigned memattr) {
    mem_type t = {0};
    if (smmu_memattr_is_device(memattr)) {
        t.device = true;
        t.dev = (memattr & 0xC) ? 0 : (uint8_t)(memattr & 3); /* reserved: Device-nGnRnE */
        return t;
    }
    static const uint8_t cache[4] = {CACHE_NC, CACHE_NC, CACHE_WT, CACHE_WB}; /* -, NC, WT, WB */
    t.outer = (mem_level){cache[(memattr >> 2) & 3], true, true, false};
    t.inner = (mem_level){cache[memattr & 3], true, true, false};
    return t;
}

/* Each level keeps the weaker cacheability and the stronger hints: no-allocate beats allocate, transient
 * beats non-transient (IHI0070 13.1.5). */
static mem_level combine_level(mem_level a, mem_level b) {
    mem_level l = {a.cache < b.cache ? a.cache : b.cache, a.ra && b.ra, a.wa && b.wa, a.tr || b.tr};
    return l;
}

/* Two types applied in sequence: Device beats Normal and the stricter Device type wins, else each level
 * combines as above. */
static mem_type combine_types(mem_type a, mem_type b) {
    mem_type t = {0};
    if (a.device || b.device) {
        t.device = true;
        t.dev = a.device && b.device ? (a.dev < b.dev ? a.dev : b.dev) : (a.device ? a.dev : b.dev);
        return t;
    }
    t.outer = combine_level(a.outer, b.outer);
    t.inner = combine_level(a.inner, b.inner);
    return t;
}

/* Shareability field encodings: 0b01 is reserved and behaves as Non-shareable. */
static uint8_t sh_field(unsigned sh) {
    return (uint8_t)(sh == 1 ? 0 : sh & 3);
}

/* The more shareable of two domains: Outer > Inner > Non-shareable. */
static uint8_t combine_share(uint8_t a, uint8_t b) {
    static const uint8_t rank[4] = {0, 0, 2, 1};
    a = sh_field(a);
    b = sh_field(b);
    return rank[a] >= rank[b] ? a : b;
}

/* Any-Device and Normal iNC-oNC are Outer Shareable whatever an SH field or SHCFG says: shareability only
 * varies for types with a cacheable level (IHI0070 13.1.4, 13.1.7). */
static uint8_t effective_share(mem_attrs a) {
    bool nc = !a.type.device && a.type.inner.cache == CACHE_NC && a.type.outer.cache == CACHE_NC;
    return a.type.device || nc ? 2 : sh_field(a.share);
}

/* A cacheability level forced to Write-Back by FEAT_S2FWB keeps stage 1's hints where stage 1 was cacheable
 * there, else it gets Read-Allocate, Write-Allocate, non-transient. */
static mem_level forced_wb(mem_level in) {
    mem_level l = {CACHE_WB, true, true, false};
    if (in.cache != CACHE_NC) {
        l.ra = in.ra;
        l.wa = in.wa;
        l.tr = in.tr;
    }
    return l;
}

/* STE.S2FWB: stage 2 may override stage 1's type instead of combining with it (the A-profile FEAT_S2FWB
 * rules; MemAttr[3] is RES0 without FEAT_MTE_PERM). MemAttr[2] == 0 is a Device type that combines as usual;
 * 0b101 is Non-cacheable unless stage 1 is Device, 0b110 forces Write-Back whatever stage 1 is, 0b111 keeps
 * stage 1's type. 0b100 is reserved: Device-nGnRnE, as smmu_s2_memattr_is_device says. */
static mem_type combine_types_fwb(mem_type in, unsigned s2_memattr) {
    unsigned m = s2_memattr & 0x7;
    mem_type t = {0};
    if (smmu_s2_memattr_is_device(m, true)) {
        t.device = true;
        t.dev = (m & 0x4) ? 0 : (uint8_t)(m & 3);
        return combine_types(in, t);
    }
    switch (m & 3) {
    case 1:
        if (in.device)
            return in;
        t.inner.cache = t.outer.cache = CACHE_NC;
        return t;
    case 2:
        t.inner = forced_wb(in.inner);
        t.outer = forced_wb(in.outer);
        return t;
    default:
        return in;
    }
}

/* The one combination of every path with stage 2: `in` (stage 1's attributes, or the incoming attributes
 * after the STE overrides when stage 1 is bypassed) combined with the stage-2 descriptor's MemAttr and SH,
 * with the FEAT_S2FWB rules when STE.S2FWB is set. `in` counts as OSH when its own type is Device or iNC-oNC
 * (which matters when FWB forces Write-Back); the result's type has the last word when it is output
 * (set_result_attrs). FWB does not change how shareability combines. */
static mem_attrs combine_stage2(mem_attrs in, unsigned s2_memattr, unsigned s2_sh, bool fwb) {
    mem_attrs out = {fwb ? combine_types_fwb(in.type, s2_memattr)
                         : combine_types(in.type, memattr_type(s2_memattr)),
                     combine_share(effective_share(in), (uint8_t)s2_sh)};
    return out;
}

/* The attributes entering translation when stage 1 provides none: the incoming ones, which the transaction
 * does not carry and so are the architecture's default input (Normal WB Non-shareable, IHI0070 13.1.3),
 * replaced by the MTCFG/MemAttr, ALLOCCFG and SHCFG overrides of the STE or GBPA. ALLOCCFG 0b1RWT sets the
 * read-allocate, write-allocate and transient hints of both levels; Device and Non-cacheable have none. */
static mem_attrs incoming_attrs(bool mtcfg, unsigned memattr, unsigned alloccfg, unsigned shcfg) {
    mem_attrs a = {memattr_type(mtcfg ? memattr : 0xF), (uint8_t)(shcfg == SMMU_SHCFG_INCOMING ? 0 : shcfg)};
    if ((alloccfg & 0x8) && !a.type.device) {
        mem_level *levels[2] = {&a.type.inner, &a.type.outer};
        for (unsigned i = 0; i < 2; i++) {
            if (levels[i]->cache == CACHE_NC)
                continue;
            levels[i]->ra = (alloccfg & 0x4) != 0;
            levels[i]->wa = (alloccfg & 0x2) != 0;
            levels[i]->tr = (alloccfg & 0x1) != 0;
        }
    }
    return a;
}

static void set_result_attrs(smmu_result *res, mem_attrs a) {
    res->mem_attr = type_mair(a.type);
    res->share = effective_share(a);
}

static void set_bypass(const smmu *s, const smmu_txn *t, bool mtcfg, unsigned memattr, unsigned alloccfg,
                       unsigned shcfg, smmu_access acc, smmu_result *res) {
    res->status = SMMU_XLATE_OK;
    res->pa = t->addr;
    res->bypass = true;
    /* The identity mapping holds across the whole output range: let the host cache it widely. */
    res->size_shift = s->oas_bits;
    res->read = res->write = true;
    res->exec = !acc.write;
    set_result_attrs(res, incoming_attrs(mtcfg, memattr, alloccfg, shcfg));
}

static smmu_access apply_overrides(smmu_access acc, unsigned privcfg, unsigned instcfg) {
    if (privcfg == SMMU_PRIVCFG_UNPRIV)
        acc.priv = false;
    else if (privcfg == SMMU_PRIVCFG_PRIV)
        acc.priv = true;
    if (instcfg == SMMU_INSTCFG_DATA)
        acc.exec = false;
    else if (instcfg == SMMU_INSTCFG_INSTR)
        acc.exec = !acc.write; /* only reads can be instruction fetches */
    if (acc.write)
        acc.exec = false;
    return acc;
}

/* What the transaction tells any event; the record keeps only the fields its event type has (smmu_evtq.c).
 * The SubstreamID is 0 without one: C_BAD_SUBSTREAMID, which has no SSV, then reports CD 0 (STE.S1DSS =
 * 0b10). */
static void base_event(smmu_event *ev, uint8_t id, const smmu_txn *t, smmu_access acc) {
    memset(ev, 0, sizeof(*ev));
    ev->id = id;
    ev->sid = t->sid;
    ev->ssv = t->ssv;
    ev->ssid = t->ssv ? t->ssid : 0;
    ev->input_addr = t->addr;
    ev->rnw = !acc.write;
    ev->ind = acc.exec;
    ev->pnu = acc.priv;
}

static void terminate(smmu *s, smmu_result *res, smmu_result_status status, uint8_t id, bool recorded) {
    res->status = status;
    res->event_id = id;
    res->event_recorded = recorded;
    if (id)
        s->st.events_raised[id]++;
    if (status == SMMU_XLATE_RAZ_WI)
        s->st.raz_wi++;
    else
        s->st.aborts++;
}

static bool is_translation_related(smmu_fault_type t) {
    return t == SMMU_FAULT_TRANSLATION || t == SMMU_FAULT_ADDR_SIZE || t == SMMU_FAULT_ACCESS ||
           t == SMMU_FAULT_PERMISSION;
}

/* A fault from the engine: stage-1 translation-related faults follow CD.{R,A}, stage-2 ones STE.S2R; external
 * aborts always abort and record. */
static void walk_fault(smmu *s, const smmu_txn *t, smmu_access acc, const smmu_ste_cfg *ste,
                       const smmu_cd_cfg *cd, const smmu_fault *flt, smmu_result *res) {
    smmu_event ev;
    char ssid_text[16];
    uint8_t id = smmu_fault_event_id(flt->type);
    base_event(&ev, id, t, acc);
    ev.s2 = flt->stage == 2;
    ev.fclass = (uint8_t)flt->fclass;
    ev.ttrnw = flt->ttrnw;
    ev.ipa = flt->ipa;
    ev.fetch_addr = flt->fetch_addr;
    bool record = true;
    smmu_result_status status = SMMU_XLATE_ABORT;
    if (is_translation_related(flt->type)) {
        if (ev.s2) {
            record = ste->s2r;
        } else if (cd) {
            record = cd->record;
            if (!cd->abort_on_fault && !smmu_has(s, 0, SMMU_IDR0_TERM_MODEL))
                status = SMMU_XLATE_RAZ_WI;
        }
    }
    SMMU_TRACE(s, "smmu: fault %s sid=0x%x ssid=%s addr=0x%llx stage=%u level=%d class=%u %s%s",
               smmu_event_name(id), t->sid, smmu_ssid_str(ssid_text, t->ssv, t->ssid),
               (unsigned long long)t->addr, flt->stage, flt->level, ev.fclass,
               status == SMMU_XLATE_RAZ_WI ? "raz-wi" : "abort", record ? "" : " unrecorded");
    bool recorded = record && smmu_event_record(s, &ev);
    terminate(s, res, status, id, recorded);
}

/* A configuration error or fetch abort: always aborts and always tries to record (C_BAD_STREAMID only with
 * CR2.RECINVSID). A nested CD fetch that faulted at stage 2 reports that stage-2 fault with CLASS CD. */
static void config_fault(smmu *s, const smmu_txn *t, smmu_access acc, const smmu_ste_cfg *ste,
                         const smmu_cfg_fault *f, smmu_result *res) {
    if (f->has_s2_fault) {
        walk_fault(s, t, acc, ste, NULL, &f->s2_fault, res);
        return;
    }
    smmu_event ev;
    char ssid_text[16];
    base_event(&ev, f->event_id, t, acc);
    ev.fetch_addr = f->fetch_addr;
    bool record = f->event_id != SMMU_EVT_C_BAD_STREAMID || (s->cr2 & SMMU_CR2_RECINVSID);
    SMMU_TRACE(s, "smmu: fault %s sid=0x%x ssid=%s addr=0x%llx abort%s", smmu_event_name(f->event_id), t->sid,
               smmu_ssid_str(ssid_text, t->ssv, t->ssid), (unsigned long long)t->addr,
               record ? "" : " unrecorded");
    bool recorded = record && smmu_event_record(s, &ev);
    terminate(s, res, SMMU_XLATE_ABORT, f->event_id, recorded);
}

static void raise_and_abort(smmu *s, const smmu_txn *t, smmu_access acc, uint8_t id, uint16_t uut_reason,
                            smmu_result *res) {
    smmu_cfg_fault f;
    memset(&f, 0, sizeof(f));
    f.event_id = id;
    if (id == SMMU_EVT_F_UUT) {
        smmu_event ev;
        base_event(&ev, id, t, acc);
        ev.uut_reason = uut_reason;
        SMMU_TRACE(s, "smmu: fault F_UUT sid=0x%x addr=0x%llx reason=%u abort", t->sid,
                   (unsigned long long)t->addr, uut_reason);
        terminate(s, res, SMMU_XLATE_ABORT, id, smmu_event_record(s, &ev));
        return;
    }
    config_fault(s, t, acc, NULL, &f, res);
}

static void translate(smmu *s, const smmu_txn *t, smmu_result *res) {
    memset(res, 0, sizeof(*res));
    s->st.translations++;
    smmu_access acc = t->acc;
    if (acc.write)
        acc.exec = false;

    /* Without an ATS interface (IDR0.ATS == 0) a Translation Request is an unsupported transaction. */
    if (t->at == SMMU_AT_TRANSLATION_REQ) {
        raise_and_abort(s, t, acc, SMMU_EVT_F_UUT, SMMU_UUT_ATS_NOT_IMPLEMENTED, res);
        return;
    }
    if (!smmu_enabled(s)) {
        if (t->at == SMMU_AT_TRANSLATED) {
            raise_and_abort(s, t, acc, SMMU_EVT_F_TRANSL_FORBIDDEN, 0, res);
            return;
        }
        /* Global bypass: an address beyond the OAS cannot be output and aborts (no event queue to report to).
         */
        if ((s->gbpa & SMMU_GBPA_ABORT) || (t->addr >> s->oas_bits)) {
            terminate(s, res, SMMU_XLATE_ABORT, 0, false);
            return;
        }
        /* As for STEs, the overrides exist only where IDR1 advertises them; otherwise "use incoming". */
        const bool types = smmu_has(s, 1, SMMU_IDR1_ATTR_TYPES_OVR),
                   perms = smmu_has(s, 1, SMMU_IDR1_ATTR_PERMS_OVR);
        if (perms)
            acc = apply_overrides(acc, (unsigned)SMMU_FIELD_GET(SMMU_GBPA_PRIVCFG, s->gbpa),
                                  (unsigned)SMMU_FIELD_GET(SMMU_GBPA_INSTCFG, s->gbpa));
        set_bypass(s, t, types && (s->gbpa & SMMU_GBPA_MTCFG) != 0,
                   (unsigned)SMMU_FIELD_GET(SMMU_GBPA_MEMATTR, s->gbpa),
                   types ? (unsigned)SMMU_FIELD_GET(SMMU_GBPA_ALLOCCFG, s->gbpa) : 0,
                   types ? (unsigned)SMMU_FIELD_GET(SMMU_GBPA_SHCFG, s->gbpa) : SMMU_SHCFG_INCOMING, acc,
                   res);
        s->st.bypassed++;
        return;
    }

    smmu_cfg_fault f;
    const smmu_ste_cfg *ste = smmu_get_ste(s, t->sid, &f);
    if (!ste) {
        config_fault(s, t, acc, NULL, &f, res);
        return;
    }
    if (ste->config == SMMU_STE_CONFIG_ABORT) {
        terminate(s, res, SMMU_XLATE_ABORT, 0, false); /* abort with no event */
        return;
    }
    /* Without ATS, EATS is effectively 0b00: Translated traffic is never allowed to skip translation. */
    if (t->at == SMMU_AT_TRANSLATED) {
        raise_and_abort(s, t, acc, SMMU_EVT_F_TRANSL_FORBIDDEN, 0, res);
        return;
    }
    acc = apply_overrides(acc, ste->privcfg, ste->instcfg);

    smmu_ste_cfg ste_copy; /* where a CD fetch moves the STE, since it may evict it from the cache */
    const smmu_cd_cfg *cd = NULL;
    bool stage1 = ste->s1_enabled;
    if (stage1) {
        uint32_t index = 0;
        if (ste->s1cdmax == 0) {
            if (t->ssv) {
                raise_and_abort(s, t, acc, SMMU_EVT_C_BAD_SUBSTREAMID, 0, res);
                return;
            }
        } else if (!t->ssv) {
            if (ste->s1dss == SMMU_STE_S1DSS_TERMINATE) {
                raise_and_abort(s, t, acc, SMMU_EVT_F_STREAM_DISABLED, 0, res);
                return;
            }
            stage1 = ste->s1dss == SMMU_STE_S1DSS_SSID0;
        } else {
            if (((uint64_t)t->ssid >> ste->s1cdmax) != 0) {
                raise_and_abort(s, t, acc, SMMU_EVT_C_BAD_SUBSTREAMID, 0, res);
                return;
            }
            if (ste->s1dss == SMMU_STE_S1DSS_SSID0 && t->ssid == 0) {
                raise_and_abort(s, t, acc, SMMU_EVT_F_STREAM_DISABLED, 0, res);
                return;
            }
            index = t->ssid;
        }
        if (stage1) {
            cd = smmu_get_cd(s, t->sid, &ste, &ste_copy, index, &f);
            if (!cd) {
                config_fault(s, t, acc, ste, &f, res);
                return;
            }
        }
    } else if (t->ssv) {
        raise_and_abort(s, t, acc, SMMU_EVT_C_BAD_SUBSTREAMID, 0, res); /* a SubstreamID needs stage 1 */
        return;
    }

    const smmu_s2_cfg *s2 = ste->s2_enabled ? &ste->s2 : NULL;
    if (!cd && !s2) {
        /* Both stages bypassed: an input beyond the IAS (= OAS) is a stage-1 Address Size fault (3.4). */
        if (t->addr >> s->oas_bits) {
            smmu_fault flt;
            memset(&flt, 0, sizeof(flt));
            flt.type = SMMU_FAULT_ADDR_SIZE;
            flt.stage = 1;
            flt.level = -1;
            flt.fclass = SMMU_CLASS_IN;
            walk_fault(s, t, acc, ste, NULL, &flt, res);
            return;
        }
        set_bypass(s, t, ste->mtcfg, ste->memattr, ste->alloccfg, ste->shcfg, acc, res);
        s->st.bypassed++;
        return;
    }
    smmu_xlate_out out;
    smmu_fault flt;
    memset(&flt, 0, sizeof(flt));
    if (!smmu_engine_translate(s->eng, t->sid, cd ? &cd->s1 : NULL, s2, t->addr, acc, &out, &flt)) {
        walk_fault(s, t, acc, ste, cd, &flt, res);
        return;
    }
    res->status = SMMU_XLATE_OK;
    res->pa = out.oa;
    res->size_shift = out.size_shift;
    res->read = out.read;
    res->write = out.write;
    res->exec = out.exec;
    /* Stage 1 alone: its MAIR byte as programmed, and its SH unless the type makes that OSH. */
    res->mem_attr = out.mem_attr;
    res->share = effective_share((mem_attrs){mair_type(out.mem_attr), out.share});
    if (s2) {
        /* Stage 2 combines with stage 1, or with the incoming attributes after the STE overrides when stage 1
         * is bypassed (IHI0070 13.5). */
        mem_attrs in = cd ? (mem_attrs){mair_type(out.mem_attr), out.share}
                          : incoming_attrs(ste->mtcfg, ste->memattr, ste->alloccfg, ste->shcfg);
        set_result_attrs(res, combine_stage2(in, out.s2_mem_attr, out.s2_share, s2->fwb));
    }
    s->st.translations_ok++;
}

void smmu_translate(smmu *s, const smmu_txn *t, smmu_result *res) {
    translate(s, t, res);
    if (s->pending_ps) {
        smmu_advance(s, s->pending_ps);
        s->pending_ps = 0;
    }
}

/* ---- Statistics ---- */

typedef struct prefixed_cb {
    void (*cb)(void *arg, const char *name, uint64_t value);
    void *arg;
} prefixed_cb;

static void engine_stat(void *arg, const char *name, uint64_t value) {
    prefixed_cb *p = arg;
    char full[128];
    snprintf(full, sizeof(full), "engine.%s", name);
    p->cb(p->arg, full, value);
}

void smmu_stats(const smmu *s, void (*cb)(void *arg, const char *name, uint64_t value), void *arg) {
    char name[96];
    const smmu_counters *c = &s->st;
    cb(arg, "regs.reads", c->reg_reads);
    cb(arg, "regs.writes", c->reg_writes);
    uint64_t unknown = 0;
    for (unsigned op = 0; op < SMMU_STATS_OPCODES; op++) {
        const char *n = smmu_opcode_name(op);
        if (!n) {
            unknown += c->cmds[op];
            continue;
        }
        snprintf(name, sizeof(name), "cmd.%s", n);
        cb(arg, name, c->cmds[op]);
    }
    cb(arg, "cmd.UNKNOWN", unknown);
    cb(arg, "cmd.errors.ill", c->cmd_errors_ill);
    cb(arg, "cmd.errors.abt", c->cmd_errors_abt);
    cb(arg, "cmd.sync.sev", c->sync_sev);
    cb(arg, "cmd.sync.msi", c->sync_msi);
    cb(arg, "cmd.sync.irq", c->sync_irq);
    for (unsigned id = 0; id < SMMU_STATS_EVENTS; id++) {
        const char *n = smmu_event_name(id);
        if (!n)
            continue;
        snprintf(name, sizeof(name), "event.%s", n);
        cb(arg, name, c->events_raised[id]);
    }
    cb(arg, "evtq.recorded", c->events_recorded);
    cb(arg, "evtq.dropped", c->events_dropped);
    cb(arg, "evtq.overflows", c->evtq_overflows);
    cb(arg, "config_cache.hits", c->cc_hits);
    cb(arg, "config_cache.misses", c->cc_misses);
    cb(arg, "config_cache.fetches", c->cc_fetches);
    cb(arg, "config_cache.evictions", c->cc_evictions);
    cb(arg, "config_cache.invalidated", c->cc_invalidated);
    cb(arg, "translations.total", c->translations);
    cb(arg, "translations.ok", c->translations_ok);
    cb(arg, "translations.bypassed", c->bypassed);
    cb(arg, "translations.aborted", c->aborts);
    cb(arg, "translations.raz_wi", c->raz_wi);
    cb(arg, "irq.pulses", c->irq_pulses);
    cb(arg, "msi.writes", c->msi_writes);
    cb(arg, "msi.aborts", c->msi_aborts);
    cb(arg, "gerror.activations", c->gerrors);
    prefixed_cb p = {cb, arg};
    smmu_engine_stats(s->eng, engine_stat, &p);
}
