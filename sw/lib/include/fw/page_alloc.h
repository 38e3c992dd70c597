/* Buddy allocator of physical pages: blocks of 2^order 4 KiB pages, each aligned to its own size, over the
 * free RAM above the firmware image. Page tables, queues and process memory all come from here, and the
 * counters let a test check that everything it took was given back. The firmware runs identity-mapped (MMU
 * off, or on with the identity map of fw/mmu.h), so a block's address is both its PA and its pointer. */
#ifndef FW_PAGE_ALLOC_H
#define FW_PAGE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PAGE_SHIFT 12U
#define PAGE_SIZE (1UL << PAGE_SHIFT)
/* Largest block: 2^PAGE_ALLOC_MAX_ORDER pages (4 MiB). */
#define PAGE_ALLOC_MAX_ORDER 10U
/* The region the allocator manages when nobody called page_alloc_init: this many bytes from __image_end. */
#define PAGE_ALLOC_DEFAULT_BYTES (64UL << 20)
/* Largest region page_alloc_init accepts (its per-page state is static). */
#define PAGE_ALLOC_MAX_BYTES (128UL << 20)

struct page_alloc_stats {
    size_t pages_total;   /* pages the region holds */
    size_t pages_free;    /* pages in free blocks */
    size_t blocks_in_use; /* allocated blocks not yet freed */
    uint64_t allocations, frees;
    uint64_t failures;  /* allocations refused: no block of that order */
    uint64_t bad_frees; /* frees of something that was not an allocated block of that order (ignored) */
};

/* (Re)starts the allocator over [start, end), rounded inward to pages; everything is free afterwards. Any
 * block handed out before is forgotten. Returns false if the region is empty or too large. */
bool page_alloc_init(uintptr_t start, uintptr_t end);
/* Lazy default: PAGE_ALLOC_DEFAULT_BYTES from __image_end. Called by the first allocation if needed. */
void page_alloc_init_default(void);

/* A zeroed block of 2^order pages, aligned to its size; NULL (and a printed line) when none is left. */
void *alloc_pages(unsigned int order);
/* The same without zeroing, for buffers the caller fills itself (the ISS pays for every store). */
void *alloc_pages_uninitialised(unsigned int order);
static inline void *alloc_page(void) {
    return alloc_pages(0);
}
/* Gives a block back; order must be the one it was allocated with. Returns false (and counts a bad free)
 * for anything else, leaving the allocator unchanged. */
bool free_pages(void *block, unsigned int order);
static inline bool free_page(void *page) {
    return free_pages(page, 0);
}
/* Smallest order whose block holds `bytes`, or PAGE_ALLOC_MAX_ORDER + 1 if none does. */
unsigned int page_alloc_order_for(size_t bytes);

void page_alloc_get_stats(struct page_alloc_stats *stats);
/* Pages currently allocated (in use): the number a leak check compares with a baseline. */
size_t page_alloc_pages_in_use(void);
/* The managed region, [start, end). */
void page_alloc_region(uintptr_t *start, uintptr_t *end);

/* Stores zero with 64-bit writes (size a multiple of 8, address 8-aligned). */
void page_zero(void *memory, size_t size);

#ifdef __cplusplus
}
#endif

#endif
