#include <fw/sysreg.h>
#include <fw/timer.h>

#define DEFAULT_FREQUENCY_HZ 62500000ULL
#define NS_PER_SECOND 1000000000ULL

uint64_t timer_frequency_hz(void) {
    uint64_t frequency = read_sysreg(cntfrq_el0) & 0xffffffffULL;
    /* CNTFRQ_EL0 is written by boot firmware; with none in front of us it may still read 0. */
    return frequency != 0 ? frequency : DEFAULT_FREQUENCY_HZ;
}

uint64_t timer_ticks(void) {
    /* The ISB keeps the counter read from being hoisted above earlier instructions. */
    __asm__ volatile("isb" ::: "memory");
    return read_sysreg(cntvct_el0);
}

/* ticks * 1e9 / frequency without overflowing 64 bits for any realistic run length. */
static uint64_t ticks_to_ns(uint64_t ticks, uint64_t frequency) {
    return ticks / frequency * NS_PER_SECOND + ticks % frequency * NS_PER_SECOND / frequency;
}

uint64_t now_ns(void) {
    return ticks_to_ns(timer_ticks(), timer_frequency_hz());
}

void ndelay(uint64_t nanoseconds) {
    uint64_t frequency = timer_frequency_hz();
    /* Round up so that a short delay never becomes zero ticks. */
    uint64_t ticks = nanoseconds / NS_PER_SECOND * frequency +
                     (nanoseconds % NS_PER_SECOND * frequency + NS_PER_SECOND - 1) / NS_PER_SECOND;
    uint64_t start = timer_ticks();
    while (timer_ticks() - start < ticks) {
    }
}

void udelay(uint64_t microseconds) {
    ndelay(microseconds * 1000ULL);
}
