/* Process-level services of the firmware: exit statuses and the exception report. */
#ifndef FW_RUNTIME_H
#define FW_RUNTIME_H

/* Exit statuses the library itself uses; programs use 0 for success and small positive values for their own
 * failures. */
#define FW_EXIT_SYNC_EXCEPTION 90    /* synchronous exception (data/instruction abort, undefined, ...) */
#define FW_EXIT_UNEXPECTED_VECTOR 91 /* FIQ, SError, or an exception from a lower EL or AArch32 */
#define FW_EXIT_UNHANDLED_IRQ 92     /* an IRQ with no registered handler */
#define FW_EXIT_ASSERT 93            /* FW_ASSERT failed */

/* Symbols of the linker script. */
extern char __image_start[], __image_end[], __bss_start[], __bss_end[], __stack_bottom[], __stack_top[];

#endif
