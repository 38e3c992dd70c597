/* Byte-sized allocations of the SMMU driver (queues, stream and CD tables, DMA buffers) on top of the page
 * allocator of libfw (fw/page_alloc.h): each is a buddy block, so it is aligned to the next power of two of
 * its size, as the SMMU wants for queues and linear tables. */
#ifndef FWSMMU_PGALLOC_H
#define FWSMMU_PGALLOC_H

#include <stddef.h>
#include <stdint.h>

#include <fw/page_alloc.h>

#define PGALLOC_PAGE_SIZE PAGE_SIZE

/* Zeroed memory of at least `bytes`, aligned to the next power of two of max(bytes, 4 KiB). Returns NULL (and
 * prints why) when no block is left. */
void *pgalloc_alloc(size_t bytes);
/* One zeroed 4 KiB page. */
void *pgalloc_page(void);
/* Same as pgalloc_alloc, but not zeroed: for data buffers the caller fills itself (the ISS is slow on
 * stores). */
void *pgalloc_alloc_uninitialised(size_t bytes);
/* Gives back what pgalloc_alloc* returned for the same `bytes`. */
void pgalloc_free(void *memory, size_t bytes);

#endif
