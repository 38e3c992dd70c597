/* ISS memory benchmark: about 100 million instructions of loads and stores over a 256 KiB buffer. */
#include <stdint.h>
#include <stdio.h>

#define BUFFER_BYTES (256U * 1024U)
#define WORDS (BUFFER_BYTES / sizeof(uint64_t))
/* 6 instructions per word and pass with gcc 12 at -O2 (see the disassembly of pass_over()). */
#define PASSES 509U

static uint64_t buffer[WORDS];

/* One read-modify-write sweep; the carry chains the words so no sweep can be skipped or reordered. */
static __attribute__((noinline)) uint64_t pass_over(uint64_t *words, uint64_t carry) {
    for (uint32_t i = 0; i < WORDS; i++) {
        uint64_t value = words[i] + carry;
        carry = value ^ (value >> 9);
        words[i] = value;
    }
    return carry;
}

int main(void) {
    printf("bench_loadstore: %u passes over %u KiB\n", PASSES, BUFFER_BYTES / 1024U);
    for (uint32_t i = 0; i < WORDS; i++)
        buffer[i] = i * 0x9e3779b97f4a7c15ULL;
    uint64_t carry = 1;
    for (uint32_t pass = 0; pass < PASSES; pass++)
        carry = pass_over(buffer, carry + pass);
    uint64_t checksum = carry;
    for (uint32_t i = 0; i < WORDS; i++)
        checksum = (checksum << 1 | checksum >> 63) ^ buffer[i];
    printf("bench_loadstore: checksum 0x%016llx\n", (unsigned long long)checksum);
    return 0;
}
