/* Bump allocator of zeroed 4 KiB pages from the free RAM above the firmware image. Nothing is ever freed: the
 * programs are short tests. The MMU is off, so a physical address is also the pointer to the memory. */
#ifndef FWSMMU_PGALLOC_H
#define FWSMMU_PGALLOC_H

#include <stddef.h>
#include <stdint.h>

#define PGALLOC_PAGE_SIZE 4096UL

/* Hands out pages from [start, end); both 4 KiB aligned. Called once by smmu_init if nobody did before. */
void pgalloc_init(uintptr_t start, uintptr_t end);
/* Default region: from __image_end, PGALLOC_DEFAULT_SIZE bytes. */
#define PGALLOC_DEFAULT_SIZE (32UL << 20)
void pgalloc_init_default(void);
/* Zeroed memory of at least `bytes`, aligned to the next power of two of max(bytes, 4 KiB) (what the SMMU
 * wants for queues and linear tables). Returns NULL (and prints why) when the region is exhausted. */
void *pgalloc_alloc(size_t bytes);
/* One zeroed 4 KiB page. */
void *pgalloc_page(void);
/* Same, but not zeroed: for data buffers the caller fills itself (the ISS is slow on stores). */
void *pgalloc_alloc_uninitialised(size_t bytes);
/* Next address the allocator would hand out (to know which pages a sequence of allocations used). */
uintptr_t pgalloc_cursor(void);

/* Stores zero with 64-bit writes (size a multiple of 8, address 8-aligned). */
void pgalloc_zero(void *memory, size_t size);

#endif
