/* QEMU's edu device as a personality; see edu.h for the register map. */
#include "edu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcie_agent.h"

#define PAGE 4096u
#define MSI_CONTROL (PCIE_EP_CAP_MSI + 2u)
#define MSI_ENABLE 0x1u

typedef struct edu_counters {
    uint64_t factorials, dma_transfers, dma_ignored, dma_errors, dma_bytes;
    uint64_t irq_raises;
} edu_counters;

struct edu {
    edu_params p;
    pcie_ep *ep;
    pcie_agent *ag;
    pcie_ep_host_ops ops;
    void *ctx;
    uint64_t ram_mask;

    uint32_t liveness, fact, status, irq_status;
    uint64_t dma_src, dma_dst, dma_count, dma_cmd;
    unsigned dma_pieces;
    uint8_t buf[EDU_DMA_BUF_SIZE];
    edu_counters c;
};

static bool msi_enabled(edu *e) {
    uint32_t ctl = 0;
    return pcie_ep_cfg_read(e->ep, MSI_CONTROL, 2, &ctl) && (ctl & MSI_ENABLE);
}

static void update_intx(edu *e) {
    pcie_ep_set_intx(e->ep, e->irq_status != 0 && !msi_enabled(e));
}

static void raise_irq(edu *e, uint32_t bits) {
    e->irq_status |= bits;
    e->c.irq_raises++;
    if (!e->irq_status)
        return;
    if (msi_enabled(e)) {
        pcie_ep_raise_msi(e->ep);
    } else {
        update_intx(e);
    }
}

static void lower_irq(edu *e, uint32_t bits) {
    e->irq_status &= ~bits;
    update_intx(e);
}

/* ---- factorial ---- */

static void fact_done(void *arg) {
    edu *e = arg;
    uint32_t n = e->fact, r = 1;
    while (n > 0)
        r *= n--;
    e->fact = r;
    e->status &= ~EDU_STATUS_COMPUTING;
    e->c.factorials++;
    if (e->status & EDU_STATUS_IRQ_FACT)
        raise_irq(e, EDU_IRQ_FACT);
}

static void later(edu *e, uint64_t ps, void (*fn)(void *), void *arg) {
    if (e->ops.schedule)
        e->ops.schedule(e->ctx, ps, fn, arg);
    else
        fn(arg);
}

/* ---- DMA ---- */

static void dma_end(edu *e) {
    e->dma_cmd &= ~(uint64_t)EDU_DMA_RUN;
    if (pcie_ep_tracing(e->ep))
        pcie_ep_tracef(e->ep, "cmd_end", "cmd=DMA errors_total=%llu", (unsigned long long)e->c.dma_errors);
    if (e->dma_cmd & EDU_DMA_IRQ)
        raise_irq(e, EDU_IRQ_DMA);
}

static void agent_done(void *owner, void *cookie, pcie_agent_status status, uint64_t fault_addr) {
    (void)cookie;
    (void)fault_addr;
    edu *e = owner;
    if (status != PCIE_AGENT_OK)
        e->c.dma_errors++;
    if (e->dma_pieces > 0 && --e->dma_pieces == 0)
        dma_end(e);
}

static void dma_start(void *arg) {
    edu *e = arg;
    bool to_ram = e->dma_cmd & EDU_DMA_TO_RAM;
    uint64_t edu_addr = to_ram ? e->dma_src : e->dma_dst;
    uint64_t ram = (to_ram ? e->dma_dst : e->dma_src) & e->ram_mask;
    uint64_t count = e->dma_count;
    /* QEMU's range check: the edu-side range must lie inside the buffer, without wrapping. */
    if (edu_addr < EDU_DMA_BUF_ADDR || count > EDU_DMA_BUF_SIZE ||
        edu_addr - EDU_DMA_BUF_ADDR > EDU_DMA_BUF_SIZE - count || count == 0) {
        if (count != 0)
            e->c.dma_ignored++;
        dma_end(e);
        return;
    }
    e->c.dma_transfers++;
    e->c.dma_bytes += count;
    if (pcie_ep_tracing(e->ep))
        pcie_ep_tracef(e->ep, "cmd_start", "cmd=DMA dir=%s ram=0x%llx edu=0x%llx count=0x%llx",
                       to_ram ? "to_ram" : "from_ram", (unsigned long long)ram, (unsigned long long)edu_addr,
                       (unsigned long long)count);
    uint8_t *buf = e->buf + (edu_addr - EDU_DMA_BUF_ADDR);
    uint32_t first = PAGE - (uint32_t)(ram & (PAGE - 1));
    if (first > count)
        first = (uint32_t)count;
    e->dma_pieces = first < count ? 2 : 1;
    for (uint32_t off = 0; off < count;) {
        uint32_t n = off == 0 ? first : (uint32_t)count - off;
        pcie_agent_req r = {.access = {.addr = ram + off, .len = n, .write = to_ram, .data = buf + off}};
        off += n;
        if (!pcie_agent_submit(e->ag, &r))
            agent_done(e, NULL, PCIE_AGENT_DENIED, ram + off - n);
    }
}

/* ---- registers ---- */

static bool bar_read(void *dev, unsigned bar, uint64_t offset, unsigned size, uint64_t *value) {
    edu *e = dev;
    uint64_t v = ~UINT64_C(0);
    if (bar != 0 || (offset < 0x80 && size != 4) || (size != 4 && size != 8)) {
        *value = size == 8 ? v : v & ((UINT64_C(1) << (8 * size)) - 1);
        return true;
    }
    switch (offset) {
    case EDU_REG_ID:
        v = EDU_ID_VALUE;
        break;
    case EDU_REG_LIVENESS:
        v = e->liveness;
        break;
    case EDU_REG_FACTORIAL:
        v = e->fact;
        break;
    case EDU_REG_STATUS:
        v = e->status;
        break;
    case EDU_REG_IRQ_STATUS:
        v = e->irq_status;
        break;
    case EDU_REG_DMA_SRC:
        v = e->dma_src;
        break;
    case EDU_REG_DMA_DST:
        v = e->dma_dst;
        break;
    case EDU_REG_DMA_COUNT:
        v = e->dma_count;
        break;
    case EDU_REG_DMA_CMD:
        v = e->dma_cmd;
        break;
    default:
        break;
    }
    *value = size == 8 ? v : (uint32_t)v;
    return true;
}

static void dma_reg_write(edu *e, uint64_t *reg, uint64_t value) {
    if (!(e->dma_cmd & EDU_DMA_RUN))
        *reg = value;
}

static bool bar_write(void *dev, unsigned bar, uint64_t offset, unsigned size, uint64_t value) {
    edu *e = dev;
    if (bar != 0 || (offset < 0x80 && size != 4) || (size != 4 && size != 8))
        return true;
    if (size == 4)
        value = (uint32_t)value;
    switch (offset) {
    case EDU_REG_LIVENESS:
        e->liveness = ~(uint32_t)value;
        break;
    case EDU_REG_FACTORIAL:
        if (e->status & EDU_STATUS_COMPUTING)
            break;
        e->fact = (uint32_t)value;
        e->status |= EDU_STATUS_COMPUTING;
        later(e, e->p.fact_ps, fact_done, e);
        break;
    case EDU_REG_STATUS:
        e->status = (e->status & ~EDU_STATUS_IRQ_FACT) | ((uint32_t)value & EDU_STATUS_IRQ_FACT);
        break;
    case EDU_REG_IRQ_RAISE:
        raise_irq(e, (uint32_t)value);
        break;
    case EDU_REG_IRQ_ACK:
        lower_irq(e, (uint32_t)value);
        break;
    case EDU_REG_DMA_SRC:
        dma_reg_write(e, &e->dma_src, value);
        break;
    case EDU_REG_DMA_DST:
        dma_reg_write(e, &e->dma_dst, value);
        break;
    case EDU_REG_DMA_COUNT:
        dma_reg_write(e, &e->dma_count, value);
        break;
    case EDU_REG_DMA_CMD:
        if (!(value & EDU_DMA_RUN) || (e->dma_cmd & EDU_DMA_RUN))
            break;
        e->dma_cmd = value;
        /* The transfer runs at dma_bytes_per_ns after a start-up time of one nanosecond. */
        later(e, 1000 + e->dma_count * 1000 / e->p.dma_bytes_per_ns, dma_start, e);
        break;
    default:
        break;
    }
    return true;
}

static void dev_mem_done(void *dev, uint32_t tag, pcie_ep_cpl_status status) {
    pcie_agent_mem_done(((edu *)dev)->ag, tag, status);
}

static void dev_config_changed(void *dev) {
    edu *e = dev;
    pcie_agent_config_changed(e->ag);
    update_intx(e);
}

static const pcie_ep_device_ops device_ops = {
    .bar_read = bar_read,
    .bar_write = bar_write,
    .mem_done = dev_mem_done,
    .config_changed = dev_config_changed,
};

/* ---- lifetime ---- */

void edu_default_params(edu_params *p) {
    *p = (edu_params){.dma_mask = 28, .fact_ps = 1000000, .dma_bytes_per_ns = 1};
}

static void set_err(char *err, size_t len, const char *msg) {
    if (err && len)
        snprintf(err, len, "%s", msg);
}

edu *edu_create(const edu_params *p, const pcie_ep_host_ops *ops, void *ctx, char *err, size_t err_len) {
    if (p->dma_mask < 1 || p->dma_mask > 64) {
        set_err(err, err_len, "edu: dma_mask must be 1..64 bits");
        return NULL;
    }
    if (p->dma_bytes_per_ns < 1) {
        set_err(err, err_len, "edu: dma_bytes_per_ns must be at least 1");
        return NULL;
    }
    edu *e = calloc(1, sizeof *e);
    if (!e) {
        set_err(err, err_len, "edu: out of memory");
        return NULL;
    }
    e->p = *p;
    e->ops = *ops;
    e->ctx = ctx;
    e->ram_mask = p->dma_mask >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << p->dma_mask) - 1;
    pcie_ep_params ep = {
        .vendor_id = EDU_VENDOR_ID,
        .device_id = EDU_DEVICE_ID,
        .revision = 0x10,
        /* QEMU sets the 16-bit class to PCI_CLASS_OTHERS (0x00ff): base class 0x00, sub-class 0xff. */
        .class_code = 0x00FF00,
        .msi = true,
        .intx_pin = 1};
    ep.bar_size[0] = EDU_BAR_SIZE;
    e->ep = pcie_ep_create(&ep, ops, ctx);
    e->ag = e->ep ? pcie_agent_create(e->ep, agent_done, e) : NULL;
    if (!e->ag) {
        set_err(err, err_len, e->ep ? "edu: out of memory" : "edu: the function core refused the parameters");
        edu_destroy(e);
        return NULL;
    }
    pcie_ep_set_device(e->ep, &device_ops, e);
    return e;
}

void edu_destroy(edu *e) {
    if (!e)
        return;
    pcie_agent_destroy(e->ag);
    pcie_ep_destroy(e->ep);
    free(e);
}

pcie_ep *edu_ep(edu *e) {
    return e->ep;
}

void edu_stats(const edu *e, void (*cb)(void *arg, const char *name, uint64_t value), void *arg) {
    const edu_counters *c = &e->c;
    const struct {
        const char *name;
        uint64_t value;
    } rows[] = {
        {"factorials", c->factorials}, {"dma_transfers", c->dma_transfers}, {"dma_ignored", c->dma_ignored},
        {"dma_errors", c->dma_errors}, {"dma_bytes", c->dma_bytes},         {"irq_raises", c->irq_raises},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++)
        cb(arg, rows[k].name, rows[k].value);
    pcie_agent_stats_each(e->ag, "agent_", cb, arg);
}
