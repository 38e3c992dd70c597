/* Bump allocator of 4 KiB pages above the firmware image. */
#include <stdio.h>

#include <fw/runtime.h>
#include <fwsmmu/pgalloc.h>

static uintptr_t next_free, region_end;

void pgalloc_init(uintptr_t start, uintptr_t end) {
    next_free = start;
    region_end = end;
}

void pgalloc_init_default(void) {
    uintptr_t start = (uintptr_t)__image_end;
    pgalloc_init(start, start + PGALLOC_DEFAULT_SIZE);
}

/* QEMU does not promise zeroed RAM, so every table page is cleared; the ISS pays per store, hence 64-bit
 * stores and no zeroing of data buffers (pgalloc_alloc_uninitialised). */
void pgalloc_zero(void *memory, size_t size) {
    volatile uint64_t *word = memory;
    for (size_t i = 0; i < size / 8; i++)
        word[i] = 0;
}

void *pgalloc_alloc_uninitialised(size_t bytes) {
    if (next_free == 0)
        pgalloc_init_default();
    size_t size = PGALLOC_PAGE_SIZE;
    while (size < bytes)
        size <<= 1;
    uintptr_t address = (next_free + size - 1) & ~(uintptr_t)(size - 1);
    if (address + size > region_end || address + size < address) {
        printf("pgalloc: out of memory (%zu bytes wanted)\n", bytes);
        return NULL;
    }
    next_free = address + size;
    return (void *)address;
}

void *pgalloc_alloc(size_t bytes) {
    void *memory = pgalloc_alloc_uninitialised(bytes);
    if (memory) {
        size_t size = PGALLOC_PAGE_SIZE;
        while (size < bytes)
            size <<= 1;
        pgalloc_zero(memory, size);
    }
    return memory;
}

void *pgalloc_page(void) {
    return pgalloc_alloc(PGALLOC_PAGE_SIZE);
}

uintptr_t pgalloc_cursor(void) {
    if (next_free == 0)
        pgalloc_init_default();
    return next_free;
}
