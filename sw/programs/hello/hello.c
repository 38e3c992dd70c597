/* First program: prints a greeting and checks the printf family against known answers. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <fw/sysreg.h>

static int mismatches;

/* Formats into a buffer and compares with the expected text and length. */
#define CHECK_FORMAT(expected, ...)                                                                          \
    check_format(__LINE__, (expected), snprintf(buffer, sizeof(buffer), __VA_ARGS__), buffer)

static char buffer[96];
/* volatile: hides the NULL from the compiler's format checks, which would reject it. */
static const char *volatile null_string;

static void check_format(int line, const char *expected, int returned_length, const char *produced) {
    if (strcmp(produced, expected) != 0 || returned_length != (int)strlen(expected)) {
        printf("printf: mismatch at hello.c:%d: got '%s' (length %d), expected '%s'\n", line, produced,
               returned_length, expected);
        mismatches++;
    }
}

static void check_truncation(void) {
    char small[6];
    memset(small, 'x', sizeof(small));
    int length = snprintf(small, sizeof(small), "%s", "truncated");
    if (length != 9 || strcmp(small, "trunc") != 0) {
        printf("printf: mismatch: truncation gave '%s' length %d\n", small, length);
        mismatches++;
    }
    /* Size 0 writes nothing at all but still reports the length. */
    small[0] = 'y';
    length = snprintf(small, 0, "%d", 12345);
    if (length != 5 || small[0] != 'y') {
        printf("printf: mismatch: size 0 gave length %d, first byte '%c'\n", length, small[0]);
        mismatches++;
    }
}

int main(void) {
    printf("hello: firmware running at EL%u\n", current_el());
    printf("hello: %d %i %u 0x%x %s %c%%\n", -42, 7, 3000000000U, 0xbeefU, "abc", 'Z');

    CHECK_FORMAT("0", "%d", 0);
    CHECK_FORMAT("-2147483648", "%d", (int)INT32_MIN);
    CHECK_FORMAT("4294967295", "%u", 0xffffffffU);
    CHECK_FORMAT("-9223372036854775808", "%lld", (long long)INT64_MIN);
    CHECK_FORMAT("18446744073709551615", "%llu", 0xffffffffffffffffULL);
    CHECK_FORMAT("9223372036854775807", "%ld", (long)INT64_MAX);
    CHECK_FORMAT("123456789012", "%lu", 123456789012UL);
    CHECK_FORMAT("dead", "%x", 0xdeadU);
    CHECK_FORMAT("DEAD", "%X", 0xdeadU);
    CHECK_FORMAT("fedcba9876543210", "%lx", 0xfedcba9876543210UL);
    CHECK_FORMAT("123456789abcdef0", "%llx", 0x123456789abcdef0ULL);
    CHECK_FORMAT("4096", "%zu", (size_t)4096);
    CHECK_FORMAT("0x40080000", "%p", (void *)0x40080000UL);
    CHECK_FORMAT("0x0", "%p", (void *)0);
    CHECK_FORMAT("[   42]", "[%5d]", 42);
    CHECK_FORMAT("[42   ]", "[%-5d]", 42);
    CHECK_FORMAT("[00042]", "[%05d]", 42);
    CHECK_FORMAT("[-0042]", "[%05d]", -42);
    CHECK_FORMAT("[0000beef]", "[%08x]", 0xbeefU);
    CHECK_FORMAT("[  ab]", "[%4s]", "ab");
    CHECK_FORMAT("[ab  ]", "[%-4s]", "ab");
    CHECK_FORMAT("[abc]", "[%.3s]", "abcdef");
    CHECK_FORMAT("[   x]", "[%4c]", 'x');
    CHECK_FORMAT("[x   ]", "[%-4c]", 'x');
    CHECK_FORMAT("[     7]", "[%*d]", 6, 7);
    CHECK_FORMAT("[007]", "[%.3d]", 7);
    CHECK_FORMAT("0x1f", "%#x", 0x1fU);
    CHECK_FORMAT("+5", "%+d", 5);
    CHECK_FORMAT("17", "%o", 15U);
    CHECK_FORMAT("-1 255 65535", "%hhd %hhu %hu", -1, 255, 65535);
    CHECK_FORMAT("(null)", "%s", null_string);
    CHECK_FORMAT("100%", "%d%%", 100);
    CHECK_FORMAT("a-b-c", "%c-%c-%c", 'a', 'b', 'c');
    CHECK_FORMAT("", "%s", "");
    check_truncation();

    if (mismatches == 0)
        printf("printf: ok\n");
    else
        printf("printf: %d mismatches\n", mismatches);
    return mismatches == 0 ? 0 : 1;
}
