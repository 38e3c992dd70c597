/* Buddy allocator of 4 KiB pages. Block addresses are aligned to their size in absolute terms (not relative
 * to the region), so a buddy is always the block at pfn ^ (1 << order) and any region start works. Free
 * blocks are linked through their own first bytes; the per-page state says whether a page heads a free or an
 * allocated block and its order, which is all merging and free-time checks need. */
#include <stdio.h>

#include <fw/page_alloc.h>
#include <fw/runtime.h>

#define MAX_PAGES (PAGE_ALLOC_MAX_BYTES / PAGE_SIZE)
#define STATE_FREE_HEAD 0x40U
#define STATE_USED_HEAD 0x80U
#define STATE_ORDER 0x1fU

struct free_block {
    struct free_block *next, *prev;
};

static uintptr_t first_pfn, end_pfn; /* region [first_pfn, end_pfn) */
static bool initialised;
static uint8_t page_state[MAX_PAGES];
static struct free_block *free_lists[PAGE_ALLOC_MAX_ORDER + 1];
static struct page_alloc_stats stats;

void page_zero(void *memory, size_t size) {
    volatile uint64_t *word = memory;
    for (size_t i = 0; i < size / 8; i++)
        word[i] = 0;
}

static struct free_block *block_at(uintptr_t pfn) {
    return (struct free_block *)(pfn << PAGE_SHIFT);
}

static uintptr_t pfn_of(const void *block) {
    return (uintptr_t)block >> PAGE_SHIFT;
}

static void push_free(uintptr_t pfn, unsigned int order) {
    struct free_block *block = block_at(pfn);
    block->prev = NULL;
    block->next = free_lists[order];
    if (block->next)
        block->next->prev = block;
    free_lists[order] = block;
    page_state[pfn - first_pfn] = (uint8_t)(STATE_FREE_HEAD | order);
    stats.pages_free += (size_t)1 << order;
}

static void remove_free(uintptr_t pfn, unsigned int order) {
    struct free_block *block = block_at(pfn);
    if (block->prev)
        block->prev->next = block->next;
    else
        free_lists[order] = block->next;
    if (block->next)
        block->next->prev = block->prev;
    page_state[pfn - first_pfn] = 0;
    stats.pages_free -= (size_t)1 << order;
}

bool page_alloc_init(uintptr_t start, uintptr_t end) {
    uintptr_t first = (start + PAGE_SIZE - 1) >> PAGE_SHIFT, last = end >> PAGE_SHIFT;
    if (last <= first || last - first > MAX_PAGES)
        return false;
    first_pfn = first;
    end_pfn = last;
    for (unsigned int order = 0; order <= PAGE_ALLOC_MAX_ORDER; order++)
        free_lists[order] = NULL;
    for (size_t i = 0; i < MAX_PAGES; i++)
        page_state[i] = 0;
    stats = (struct page_alloc_stats){.pages_total = last - first};
    /* The largest naturally aligned blocks that fit, left to right. */
    for (uintptr_t pfn = first; pfn < last;) {
        unsigned int order = PAGE_ALLOC_MAX_ORDER;
        while (order > 0 &&
               ((pfn & (((uintptr_t)1 << order) - 1)) != 0 || pfn + ((uintptr_t)1 << order) > last))
            order--;
        push_free(pfn, order);
        pfn += (uintptr_t)1 << order;
    }
    initialised = true;
    return true;
}

void page_alloc_init_default(void) {
    uintptr_t start = (uintptr_t)__image_end;
    page_alloc_init(start, start + PAGE_ALLOC_DEFAULT_BYTES);
}

void *alloc_pages_uninitialised(unsigned int order) {
    if (!initialised)
        page_alloc_init_default();
    if (order > PAGE_ALLOC_MAX_ORDER) {
        stats.failures++;
        printf("page_alloc: no block of order %u\n", order);
        return NULL;
    }
    unsigned int found = order;
    while (found <= PAGE_ALLOC_MAX_ORDER && !free_lists[found])
        found++;
    if (found > PAGE_ALLOC_MAX_ORDER) {
        stats.failures++;
        printf("page_alloc: out of memory (order %u)\n", order);
        return NULL;
    }
    uintptr_t pfn = pfn_of(free_lists[found]);
    remove_free(pfn, found);
    /* Keep the lower half and free the upper one until the block has the order asked for: fresh blocks then
     * come out in ascending address order. */
    while (found > order) {
        found--;
        push_free(pfn + ((uintptr_t)1 << found), found);
    }
    page_state[pfn - first_pfn] = (uint8_t)(STATE_USED_HEAD | order);
    stats.blocks_in_use++;
    stats.allocations++;
    return block_at(pfn);
}

void *alloc_pages(unsigned int order) {
    void *block = alloc_pages_uninitialised(order);
    if (block)
        page_zero(block, PAGE_SIZE << order);
    return block;
}

bool free_pages(void *block, unsigned int order) {
    uintptr_t pfn = pfn_of(block);
    if (!initialised || ((uintptr_t)block & (PAGE_SIZE - 1)) != 0 || pfn < first_pfn || pfn >= end_pfn ||
        order > PAGE_ALLOC_MAX_ORDER || page_state[pfn - first_pfn] != (STATE_USED_HEAD | order)) {
        stats.bad_frees++;
        printf("page_alloc: bad free of %p (order %u)\n", block, order);
        return false;
    }
    page_state[pfn - first_pfn] = 0;
    stats.blocks_in_use--;
    stats.frees++;
    while (order < PAGE_ALLOC_MAX_ORDER) {
        uintptr_t buddy = pfn ^ ((uintptr_t)1 << order);
        if (buddy < first_pfn || buddy + ((uintptr_t)1 << order) > end_pfn ||
            page_state[buddy - first_pfn] != (STATE_FREE_HEAD | order))
            break;
        remove_free(buddy, order);
        pfn &= ~((uintptr_t)1 << order);
        order++;
    }
    push_free(pfn, order);
    return true;
}

unsigned int page_alloc_order_for(size_t bytes) {
    unsigned int order = 0;
    while (order <= PAGE_ALLOC_MAX_ORDER && (PAGE_SIZE << order) < bytes)
        order++;
    return order;
}

void page_alloc_get_stats(struct page_alloc_stats *out) {
    if (!initialised)
        page_alloc_init_default();
    *out = stats;
}

size_t page_alloc_pages_in_use(void) {
    if (!initialised)
        page_alloc_init_default();
    return stats.pages_total - stats.pages_free;
}

void page_alloc_region(uintptr_t *start, uintptr_t *end) {
    if (!initialised)
        page_alloc_init_default();
    *start = first_pfn << PAGE_SHIFT;
    *end = end_pfn << PAGE_SHIFT;
}
