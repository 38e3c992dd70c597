/* ISS throughput benchmark: about 300 million integer instructions with no memory accesses in the loop. */
#include <stdint.h>
#include <stdio.h>

/* 7 instructions per iteration with Debian 12's gcc 12 at -O2 (see the disassembly of compute()). */
#define ITERATIONS 42857143U

/* noinline: keeps the loop a unit one can find and count in the disassembly. */
static __attribute__((noinline)) uint64_t compute(uint64_t state, uint32_t iterations) {
    uint64_t accumulator = 0;
    for (uint32_t i = 0; i < iterations; i++) {
        /* xorshift64 step: no closed form, so the compiler must run every iteration. */
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        accumulator += state * 0x2545f4914f6cdd1dULL;
        accumulator = (accumulator << 5) | (accumulator >> 59);
    }
    return accumulator ^ state;
}

int main(void) {
    printf("bench_compute: %u iterations\n", ITERATIONS);
    uint64_t checksum = compute(0x9e3779b97f4a7c15ULL, ITERATIONS);
    printf("bench_compute: checksum 0x%016llx\n", (unsigned long long)checksum);
    return 0;
}
