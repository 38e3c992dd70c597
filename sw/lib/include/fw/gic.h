/* GICv2 driver: distributor at FW_GICD_BASE, CPU interface at FW_GICC_BASE, one CPU (CPU interface 0).
 * All interrupts are left in group 0 and signalled as IRQ. */
#ifndef FW_GIC_H
#define FW_GIC_H

#include <stdbool.h>
#include <stdint.h>

#define GIC_MAX_INTIDS 1020U /* INTIDs 1020..1023 are special (1023: spurious) */
#define GIC_NUM_SGIS 16U
#define GIC_FIRST_SPI 32U

/* Called in IRQ context with the interrupt acknowledged; it is ended (EOIR) when the handler returns. */
typedef void (*gic_irq_handler)(uint32_t intid, void *context);

/* Disables the distributor, sets every interrupt to disabled, not pending, priority 0xa0, level-triggered and
 * targeted at CPU 0, then enables distributor and CPU interface (priority mask lets everything through).
 * Returns the number of INTIDs the distributor implements (GICD_TYPER). Handlers stay registered. */
unsigned int gic_init(void);
/* Number of INTIDs found by gic_init (0 before). */
unsigned int gic_num_intids(void);

void gic_enable_irq(uint32_t intid);
void gic_disable_irq(uint32_t intid);
/* Lower value = higher priority; the GIC may implement only the top bits. */
void gic_set_priority(uint32_t intid, uint8_t priority);
/* SPIs only: bit n of cpu_mask = CPU interface n. */
void gic_set_target(uint32_t intid, uint8_t cpu_mask);
/* SPIs and PPIs: edge (true) or level (false) triggered. SGIs are always edge. */
void gic_set_edge_triggered(uint32_t intid, bool edge);
bool gic_is_pending(uint32_t intid);
void gic_clear_pending(uint32_t intid);

/* Software-generated interrupts through GICD_SGIR. */
void gic_send_sgi_to_self(uint32_t sgi);
void gic_send_sgi_to_targets(uint32_t sgi, uint8_t cpu_mask);

/* Registers (or, with NULL, removes) the handler of an INTID. An interrupt without handler ends the run with
 * FW_EXIT_UNHANDLED_IRQ, since it means the program enabled something it did not expect. */
void gic_register_handler(uint32_t intid, gic_irq_handler handler, void *context);

/* Raw GICC_IAR value of the interrupt being handled (INTID in bits 9:0, for SGIs the sender CPU in 12:10);
 * only meaningful inside a handler. */
uint32_t gic_current_iar(void);

/* Called by the IRQ vector: acknowledges and dispatches interrupts until the CPU interface reports spurious.
 */
void gic_handle_irq(void);

#endif
