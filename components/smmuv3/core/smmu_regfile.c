/* The register file (IHI0070 chapter 6): every register read and write of page 0 and page 1, the rules on
 * which fields are writable in which state, CR0/CR0ACK and IRQ_CTRL/IRQ_CTRLACK completion, GERROR/GERRORN
 * acknowledgement, the queue registers, and the reset values. Writes that start work (CMDQ_PROD, CMDQEN, a
 * CMDQ_ERR acknowledgement) hand over to smmu_cmdq.c. */
#include "smmu_attrs.h"
#include "smmu_internal.h"

void smmu_regs_reset(smmu *s) {
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
}

smmu_mem_attrs smmu_cr1_table_attrs(const smmu *s) {
    return smmu_attrs_cr1((unsigned)SMMU_FIELD_GET(SMMU_CR1_TABLE_IC, s->cr1),
                          (unsigned)SMMU_FIELD_GET(SMMU_CR1_TABLE_OC, s->cr1),
                          (unsigned)SMMU_FIELD_GET(SMMU_CR1_TABLE_SH, s->cr1));
}

smmu_mem_attrs smmu_cr1_queue_attrs(const smmu *s) {
    return smmu_attrs_cr1((unsigned)SMMU_FIELD_GET(SMMU_CR1_QUEUE_IC, s->cr1),
                          (unsigned)SMMU_FIELD_GET(SMMU_CR1_QUEUE_OC, s->cr1),
                          (unsigned)SMMU_FIELD_GET(SMMU_CR1_QUEUE_SH, s->cr1));
}

/* ---- Reads and writes ---- */

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
        s->host.translations_changed(s->host_ctx, s->call);
    if ((s->cr0ack & SMMU_CR0_CMDQEN) && !(old & SMMU_CR0_CMDQEN))
        smmu_cmdq_kick(s);
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
                s->host.translations_changed(s->host_ctx, s->call);
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
            smmu_cmdq_kick(s);
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
        smmu_cmdq_kick(s);
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

bool smmu_reg_read(smmu *s, smmu_call *call, uint64_t offset, unsigned size, uint64_t *value) {
    if (!access_ok(offset, size))
        return false;
    smmu_call *outer = smmu_call_enter(s, call);
    s->st.reg_reads++;
    smmu_advance(s, s->p.reg_access_ps);
    bool ok = smmu_reg_peek(s, offset, size, value);
    smmu_call_leave(s, outer);
    return ok;
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

bool smmu_reg_write(smmu *s, smmu_call *call, uint64_t offset, unsigned size, uint64_t value) {
    if (!access_ok(offset, size))
        return false;
    smmu_call *outer = smmu_call_enter(s, call);
    s->st.reg_writes++;
    smmu_advance(s, s->p.reg_access_ps);
    if (smmu_tracing(s)) {
        const char *name = reg_name(offset);
        if (name)
            smmu_tracef(s, "write", "%s = 0x%llx", name, (unsigned long long)value);
        else
            smmu_tracef(s, "write", "0x%05llx = 0x%llx", (unsigned long long)offset,
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
    /* EVENTQ_CONS, CR0.EVENTQEN or a GERRORN acknowledging EVENTQ_ABT_ERR may have made room for the stall
     * records that wait: they are never dropped, so they go in as soon as the queue takes them. */
    smmu_stall_flush_pending(s);
    smmu_call_leave(s, outer);
    return true;
}
