/* Time from the generic timer's virtual counter (CNTVCT_EL0 at CNTFRQ_EL0 Hz). On the virtual platform it
 * counts simulated time, on QEMU host time; both run it at 62.5 MHz. */
#ifndef FW_TIMER_H
#define FW_TIMER_H

#include <stdint.h>

uint64_t timer_frequency_hz(void);
uint64_t timer_ticks(void);
/* Time since the counter started, in nanoseconds. */
uint64_t now_ns(void);
/* Busy-waits at least the given time. */
void udelay(uint64_t microseconds);
void ndelay(uint64_t nanoseconds);

#endif
