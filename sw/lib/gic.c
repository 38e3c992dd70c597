/* GICv2 distributor and CPU interface, single CPU. Registers are accessed as 32-bit words only (byte access
 * to the priority and target registers is optional for a model), hence the read-modify-write helpers. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <fw/gic.h>
#include <fw/mmio.h>
#include <fw/platform.h>
#include <fw/runtime.h>

#define GICD_CTLR (FW_GICD_BASE + 0x000)
#define GICD_TYPER (FW_GICD_BASE + 0x004)
#define GICD_ISENABLER (FW_GICD_BASE + 0x100)
#define GICD_ICENABLER (FW_GICD_BASE + 0x180)
#define GICD_ISPENDR (FW_GICD_BASE + 0x200)
#define GICD_ICPENDR (FW_GICD_BASE + 0x280)
#define GICD_ICACTIVER (FW_GICD_BASE + 0x380)
#define GICD_IPRIORITYR (FW_GICD_BASE + 0x400)
#define GICD_ITARGETSR (FW_GICD_BASE + 0x800)
#define GICD_ICFGR (FW_GICD_BASE + 0xc00)
#define GICD_SGIR (FW_GICD_BASE + 0xf00)

#define GICC_CTLR (FW_GICC_BASE + 0x000)
#define GICC_PMR (FW_GICC_BASE + 0x004)
#define GICC_BPR (FW_GICC_BASE + 0x008)
#define GICC_IAR (FW_GICC_BASE + 0x00c)
#define GICC_EOIR (FW_GICC_BASE + 0x010)

#define GICD_CTLR_ENABLE 1U
#define GICC_CTLR_ENABLE 1U
#define GICD_TYPER_IT_LINES_MASK 0x1fU
#define GICD_SGIR_FILTER_TARGET_LIST (0U << 24)
#define GICD_SGIR_FILTER_SELF (2U << 24)
#define GICC_IAR_INTID_MASK 0x3ffU
#define DEFAULT_PRIORITY 0xa0U
#define PRIORITY_MASK_ALL 0xffU

struct irq_handler_slot {
    gic_irq_handler handler;
    void *context;
};

static struct irq_handler_slot handlers[GIC_MAX_INTIDS];
static unsigned int implemented_intids;
static uint32_t current_iar;

/* One bit per INTID, 32 INTIDs per register. */
static uintptr_t bit_register(uintptr_t base, uint32_t intid) {
    return base + (intid / 32U) * 4U;
}
static uint32_t bit_mask(uint32_t intid) {
    return 1U << (intid % 32U);
}

/* A field of `bits` bits per INTID, packed into 32-bit registers. */
static void write_field(uintptr_t base, uint32_t intid, unsigned int bits, uint32_t value) {
    unsigned int per_register = 32U / bits;
    uintptr_t address = base + (intid / per_register) * 4U;
    unsigned int shift = (intid % per_register) * bits;
    uint32_t mask = ((1U << bits) - 1U) << shift;
    uint32_t word = mmio_read32_relaxed(address);
    mmio_write32_relaxed(address, (word & ~mask) | ((value << shift) & mask));
}

static int valid_intid(uint32_t intid) {
    return intid < GIC_MAX_INTIDS;
}

unsigned int gic_init(void) {
    mmio_write32_relaxed(GICD_CTLR, 0);
    unsigned int count = 32U * ((mmio_read32_relaxed(GICD_TYPER) & GICD_TYPER_IT_LINES_MASK) + 1U);
    if (count > GIC_MAX_INTIDS)
        count = GIC_MAX_INTIDS;
    implemented_intids = count;

    for (uint32_t intid = 0; intid < count; intid += 32U) {
        mmio_write32_relaxed(bit_register(GICD_ICENABLER, intid), 0xffffffffU);
        mmio_write32_relaxed(bit_register(GICD_ICPENDR, intid), 0xffffffffU);
        mmio_write32_relaxed(bit_register(GICD_ICACTIVER, intid), 0xffffffffU);
    }
    uint32_t priorities = DEFAULT_PRIORITY * 0x01010101U;
    for (uint32_t intid = 0; intid < count; intid += 4U)
        mmio_write32_relaxed(GICD_IPRIORITYR + intid, priorities);
    /* ITARGETSR of SGIs and PPIs is read-only; SPIs go to CPU 0. */
    for (uint32_t intid = GIC_FIRST_SPI; intid < count; intid += 4U)
        mmio_write32_relaxed(GICD_ITARGETSR + intid, 0x01010101U);
    /* Level-triggered SPIs: ICFGR0 (SGIs) is read-only and ICFGR1 (PPIs) is implementation-defined. */
    for (uint32_t intid = GIC_FIRST_SPI; intid < count; intid += 16U)
        mmio_write32_relaxed(GICD_ICFGR + intid / 4U, 0);

    mmio_write32_relaxed(GICD_CTLR, GICD_CTLR_ENABLE);
    mmio_write32_relaxed(GICC_PMR, PRIORITY_MASK_ALL);
    mmio_write32_relaxed(GICC_BPR, 0);
    mmio_write32(GICC_CTLR, GICC_CTLR_ENABLE);
    return count;
}

unsigned int gic_num_intids(void) {
    return implemented_intids;
}

void gic_enable_irq(uint32_t intid) {
    if (valid_intid(intid))
        mmio_write32(bit_register(GICD_ISENABLER, intid), bit_mask(intid));
}

void gic_disable_irq(uint32_t intid) {
    if (valid_intid(intid))
        mmio_write32(bit_register(GICD_ICENABLER, intid), bit_mask(intid));
}

void gic_set_priority(uint32_t intid, uint8_t priority) {
    if (valid_intid(intid))
        write_field(GICD_IPRIORITYR, intid, 8, priority);
}

void gic_set_target(uint32_t intid, uint8_t cpu_mask) {
    if (valid_intid(intid) && intid >= GIC_FIRST_SPI)
        write_field(GICD_ITARGETSR, intid, 8, cpu_mask);
}

void gic_set_edge_triggered(uint32_t intid, bool edge) {
    /* Bit 1 of each 2-bit field; bit 0 is reserved in GICv2. */
    if (valid_intid(intid) && intid >= GIC_NUM_SGIS)
        write_field(GICD_ICFGR, intid, 2, edge ? 2U : 0U);
}

bool gic_is_pending(uint32_t intid) {
    return valid_intid(intid) && (mmio_read32(bit_register(GICD_ISPENDR, intid)) & bit_mask(intid)) != 0;
}

void gic_clear_pending(uint32_t intid) {
    if (valid_intid(intid))
        mmio_write32(bit_register(GICD_ICPENDR, intid), bit_mask(intid));
}

void gic_send_sgi_to_self(uint32_t sgi) {
    if (sgi < GIC_NUM_SGIS)
        mmio_write32(GICD_SGIR, GICD_SGIR_FILTER_SELF | sgi);
}

void gic_send_sgi_to_targets(uint32_t sgi, uint8_t cpu_mask) {
    if (sgi < GIC_NUM_SGIS)
        mmio_write32(GICD_SGIR, GICD_SGIR_FILTER_TARGET_LIST | ((uint32_t)cpu_mask << 16) | sgi);
}

void gic_register_handler(uint32_t intid, gic_irq_handler handler, void *context) {
    if (!valid_intid(intid))
        return;
    handlers[intid].handler = handler;
    handlers[intid].context = context;
}

uint32_t gic_current_iar(void) {
    return current_iar;
}

void gic_handle_irq(void) {
    for (;;) {
        uint32_t iar = mmio_read32(GICC_IAR);
        uint32_t intid = iar & GICC_IAR_INTID_MASK;
        if (intid >= GIC_MAX_INTIDS)
            return; /* 1023: nothing (more) pending */
        const struct irq_handler_slot *slot = &handlers[intid];
        if (slot->handler == NULL) {
            printf("fw: unhandled IRQ %u (IAR 0x%x)\n", (unsigned int)intid, (unsigned int)iar);
            mmio_write32(GICC_EOIR, iar);
            exit(FW_EXIT_UNHANDLED_IRQ);
        }
        uint32_t outer_iar = current_iar;
        current_iar = iar;
        slot->handler(intid, slot->context);
        current_iar = outer_iar;
        mmio_write32(GICC_EOIR, iar);
    }
}
