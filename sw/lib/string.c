/* String and memory functions. Built with -fno-tree-loop-distribute-patterns so the compiler does not turn
 * these loops back into calls to themselves. With the MMU off, RAM is Device memory and unaligned accesses
 * fault, so the word-sized paths only run on addresses aligned for them. */
#include <stdint.h>
#include <string.h>

#define WORD_SIZE sizeof(uint64_t)

static int is_word_aligned(const void *pointer) {
    return ((uintptr_t)pointer & (WORD_SIZE - 1)) == 0;
}

void *memset(void *destination, int byte, size_t size) {
    unsigned char *out = destination;
    while (size > 0 && !is_word_aligned(out)) {
        *out++ = (unsigned char)byte;
        size--;
    }
    uint64_t pattern = 0x0101010101010101ULL * (unsigned char)byte;
    for (; size >= WORD_SIZE; size -= WORD_SIZE, out += WORD_SIZE)
        *(uint64_t *)(void *)out = pattern;
    while (size-- > 0)
        *out++ = (unsigned char)byte;
    return destination;
}

/* Forward copy, also correct for overlapping buffers whose destination is below the source. */
static void copy_forward(unsigned char *out, const unsigned char *in, size_t size) {
    if (((uintptr_t)out & (WORD_SIZE - 1)) == ((uintptr_t)in & (WORD_SIZE - 1))) {
        while (size > 0 && !is_word_aligned(out)) {
            *out++ = *in++;
            size--;
        }
        for (; size >= WORD_SIZE; size -= WORD_SIZE, out += WORD_SIZE, in += WORD_SIZE)
            *(uint64_t *)(void *)out = *(const uint64_t *)(const void *)in;
    }
    while (size-- > 0)
        *out++ = *in++;
}

void *memcpy(void *restrict destination, const void *restrict source, size_t size) {
    copy_forward(destination, source, size);
    return destination;
}

void *memmove(void *destination, const void *source, size_t size) {
    unsigned char *out = destination;
    const unsigned char *in = source;
    if (out <= in || out >= in + size) {
        copy_forward(out, in, size);
        return destination;
    }
    /* Overlapping with the destination above the source: copy backwards. */
    while (size-- > 0)
        out[size] = in[size];
    return destination;
}

int memcmp(const void *left, const void *right, size_t size) {
    const unsigned char *a = left;
    const unsigned char *b = right;
    for (size_t i = 0; i < size; i++) {
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    }
    return 0;
}

size_t strlen(const char *s) {
    size_t length = 0;
    while (s[length] != '\0')
        length++;
    return length;
}

size_t strnlen(const char *s, size_t max_length) {
    size_t length = 0;
    while (length < max_length && s[length] != '\0')
        length++;
    return length;
}

int strcmp(const char *left, const char *right) {
    const unsigned char *a = (const unsigned char *)left;
    const unsigned char *b = (const unsigned char *)right;
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return (*a > *b) - (*a < *b);
}

int strncmp(const char *left, const char *right, size_t size) {
    const unsigned char *a = (const unsigned char *)left;
    const unsigned char *b = (const unsigned char *)right;
    for (; size > 0; size--, a++, b++) {
        if (*a != *b)
            return (*a > *b) - (*a < *b);
        if (*a == '\0')
            break;
    }
    return 0;
}

char *strcpy(char *restrict destination, const char *restrict source) {
    char *out = destination;
    while ((*out++ = *source++) != '\0') {
    }
    return destination;
}
