/* VMSAv8-64 translation tables for the SMMU, 4 KiB granule and 4 KiB pages only:
 *  - stage 1: 48-bit input (T0SZ 16), levels 0..3;
 *  - stage 2: 40-bit IPA (S2T0SZ 24), start level 1 with two concatenated level-1 tables (8 KiB root). */
#ifndef FWSMMU_IO_PGTABLE_H
#define FWSMMU_IO_PGTABLE_H

#include <stdbool.h>
#include <stdint.h>

#define IO_PGTABLE_S1_IAS 48U
#define IO_PGTABLE_S2_IAS 40U
#define IO_PAGE_SIZE 4096ULL

/* Access a mapping grants. */
#define IOMMU_READ (1U << 0)
#define IOMMU_WRITE (1U << 1)
#define IOMMU_PRIV (1U << 2) /* stage 1: privileged only (AP[1] = 0) */
#define IOMMU_NOEXEC (1U << 3)

/* MAIR the stage-1 descriptors assume: index 0 Normal write-back, index 1 Device-nGnRE. */
#define IO_PGTABLE_MAIR 0x04FFULL

struct io_pgtable {
    unsigned int stage; /* 1 or 2 */
    uint64_t *root;     /* PA of the root table (8 KiB for stage 2) */
    /* Added to every next-level table address written into a descriptor. 0 normally; for a nested stage 1
     * whose tables live in IPA space it is the IPA - PA offset stage 2 applies to them. */
    uint64_t table_address_offset;
};

/* Return false when the page allocator is exhausted. */
bool io_pgtable_init(struct io_pgtable *table, unsigned int stage);
/* Maps one 4 KiB page; both addresses 4 KiB aligned and iova inside the input size. Overwrites a mapping. */
bool io_pgtable_map(struct io_pgtable *table, uint64_t iova, uint64_t pa, unsigned int prot);
/* Maps `size` bytes page by page. */
bool io_pgtable_map_range(struct io_pgtable *table, uint64_t iova, uint64_t pa, uint64_t size,
                          unsigned int prot);
/* Clears the leaf descriptor; returns whether a page was mapped there. The caller invalidates the TLB
 * (smmu_unmap_and_flush does both). Tables are not freed. */
bool io_pgtable_unmap(struct io_pgtable *table, uint64_t iova);
/* Software walk: output address of iova, or false if unmapped. */
bool io_pgtable_lookup(const struct io_pgtable *table, uint64_t iova, uint64_t *pa);

#endif
