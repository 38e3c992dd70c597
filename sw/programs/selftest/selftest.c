/* Known-answer checks of libfw beyond printf: the string functions (including overlapping and unaligned
 * copies) and the generic-timer delays. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <fw/timer.h>

static int failures;

#define CHECK(condition)                                                                                     \
    do {                                                                                                     \
        if (!(condition)) {                                                                                  \
            printf("selftest: check failed at selftest.c:%d: %s\n", __LINE__, #condition);                   \
            failures++;                                                                                      \
        }                                                                                                    \
    } while (0)

static unsigned char source[80], destination[80];

static void fill_with_index(unsigned char *bytes, size_t size) {
    for (size_t i = 0; i < size; i++)
        bytes[i] = (unsigned char)(i + 1);
}

static int equals_index_from(const unsigned char *bytes, size_t size, size_t first) {
    for (size_t i = 0; i < size; i++) {
        if (bytes[i] != (unsigned char)(first + i + 1))
            return 0;
    }
    return 1;
}

static void check_memory_functions(void) {
    /* memset: unaligned head, word body, tail; the neighbours stay untouched. */
    memset(destination, 0, sizeof(destination));
    memset(destination + 3, 0xa5, 29);
    CHECK(destination[2] == 0 && destination[3] == 0xa5 && destination[31] == 0xa5 && destination[32] == 0);

    /* memcpy with equal and with different alignment of source and destination. */
    fill_with_index(source, sizeof(source));
    memset(destination, 0, sizeof(destination));
    memcpy(destination + 5, source + 5, 60);
    CHECK(equals_index_from(destination + 5, 60, 5) && destination[4] == 0 && destination[65] == 0);
    memcpy(destination + 2, source + 7, 41);
    CHECK(equals_index_from(destination + 2, 41, 7));
    CHECK(memcmp(destination + 2, source + 7, 41) == 0);

    /* memmove both ways over overlapping ranges. */
    fill_with_index(source, sizeof(source));
    memmove(source + 3, source, 50);
    CHECK(equals_index_from(source + 3, 50, 0));
    fill_with_index(source, sizeof(source));
    memmove(source, source + 9, 50);
    CHECK(equals_index_from(source, 50, 9));

    CHECK(memcmp("abc", "abd", 3) < 0 && memcmp("abd", "abc", 3) > 0 && memcmp("abc", "abd", 2) == 0);
}

static void check_string_functions(void) {
    char text[16];
    CHECK(strlen("") == 0 && strlen("firmware") == 8);
    CHECK(strnlen("firmware", 4) == 4 && strnlen("fw", 8) == 2);
    CHECK(strcmp("abc", "abc") == 0 && strcmp("abc", "abd") < 0 && strcmp("b", "abc") > 0);
    CHECK(strcmp("ab", "abc") < 0 && strcmp("\xff", "a") > 0); /* compared as unsigned char */
    CHECK(strncmp("smmu_v3", "smmu_v2", 6) == 0 && strncmp("smmu_v3", "smmu_v2", 7) > 0);
    CHECK(strncmp("ab", "ab\0x", 4) == 0);
    CHECK(strcpy(text, "copied") == text && strcmp(text, "copied") == 0);
}

static void check_timer(void) {
    CHECK(timer_frequency_hz() == 62500000U);
    uint64_t before = now_ns();
    udelay(2000);
    uint64_t after = now_ns();
    /* A tick is 16 ns, so a 2 ms delay measured by the same counter is at least 2 ms less one tick. */
    CHECK(after - before >= 2000000U - 16U);
    uint64_t ticks_before = timer_ticks();
    ndelay(100);
    CHECK(timer_ticks() > ticks_before);
}

int main(void) {
    check_memory_functions();
    check_string_functions();
    check_timer();
    if (failures == 0)
        printf("selftest: ok\n");
    return failures == 0 ? 0 : 1;
}
