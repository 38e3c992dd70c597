/* Byte-sized allocations as buddy blocks of the page allocator. */
#include <fwsmmu/pgalloc.h>

void *pgalloc_alloc_uninitialised(size_t bytes) {
    return alloc_pages_uninitialised(page_alloc_order_for(bytes));
}

void *pgalloc_alloc(size_t bytes) {
    return alloc_pages(page_alloc_order_for(bytes));
}

void *pgalloc_page(void) {
    return alloc_pages(0);
}

void pgalloc_free(void *memory, size_t bytes) {
    free_pages(memory, page_alloc_order_for(bytes));
}
