/* Interrupt delivery through the GIC: two software-generated interrupts sent to ourselves must each reach
 * their handler with the right INTID in GICC_IAR, within a time limit. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <fw/gic.h>
#include <fw/sysreg.h>
#include <fw/timer.h>

#define FIRST_SGI 3U
#define SECOND_SGI 11U
#define DELIVERY_TIMEOUT_NS 100000000ULL /* 100 ms */
#define IAR_SOURCE_CPU(iar) (((iar) >> 10) & 7U)

struct delivery {
    volatile uint32_t count;
    volatile uint32_t intid; /* what the dispatcher passed */
    volatile uint32_t iar;   /* raw GICC_IAR of that interrupt */
};

static void record_delivery(uint32_t intid, void *context) {
    struct delivery *delivery = context;
    delivery->intid = intid;
    delivery->iar = gic_current_iar();
    delivery->count++;
}

/* Masks IRQs before checking, so an interrupt arriving between the check and WFI still ends the WFI. */
static bool wait_for_delivery(const struct delivery *delivery, uint32_t wanted_count) {
    uint64_t deadline = now_ns() + DELIVERY_TIMEOUT_NS;
    for (;;) {
        local_irq_disable();
        if (delivery->count >= wanted_count) {
            local_irq_enable();
            return true;
        }
        if (now_ns() > deadline) {
            local_irq_enable();
            return false;
        }
        wfi();
        local_irq_enable(); /* the pending IRQ is taken here */
    }
}

static int send_and_check(uint32_t sgi, struct delivery *delivery) {
    uint32_t count_before = delivery->count;
    gic_send_sgi_to_self(sgi);
    if (!wait_for_delivery(delivery, count_before + 1)) {
        printf("irq: sgi %u not delivered within %llu ms\n", (unsigned int)sgi,
               (unsigned long long)(DELIVERY_TIMEOUT_NS / 1000000ULL));
        return 1;
    }
    uint32_t iar_intid = delivery->iar & 0x3ffU;
    printf("irq: sgi %u delivered, iar intid %u source cpu %u\n", (unsigned int)sgi, (unsigned int)iar_intid,
           (unsigned int)IAR_SOURCE_CPU(delivery->iar));
    if (iar_intid != sgi || delivery->intid != sgi || IAR_SOURCE_CPU(delivery->iar) != 0) {
        printf("irq: wrong interrupt: expected intid %u from cpu 0\n", (unsigned int)sgi);
        return 1;
    }
    if (delivery->count != count_before + 1) {
        printf("irq: sgi %u delivered %u times\n", (unsigned int)sgi,
               (unsigned int)(delivery->count - count_before));
        return 1;
    }
    return 0;
}

int main(void) {
    unsigned int intids = gic_init();
    if (intids < GIC_FIRST_SPI) {
        printf("irq: GICD_TYPER reports only %u interrupts\n", intids);
        return 1;
    }
    static struct delivery first, second;
    gic_register_handler(FIRST_SGI, record_delivery, &first);
    gic_register_handler(SECOND_SGI, record_delivery, &second);
    gic_enable_irq(FIRST_SGI);
    gic_enable_irq(SECOND_SGI);
    local_irq_enable();

    int failures = send_and_check(FIRST_SGI, &first);
    failures += send_and_check(SECOND_SGI, &second);
    /* The first handler must not have run again for the second SGI. */
    if (first.count != 1) {
        printf("irq: sgi %u handler ran %u times\n", FIRST_SGI, (unsigned int)first.count);
        failures++;
    }
    local_irq_disable();

    if (failures == 0)
        printf("irq: ok\n");
    return failures == 0 ? 0 : 1;
}
