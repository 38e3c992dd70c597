/* io-pgtable: translation tables for IOMMU drivers as Linux structures them. One ops interface (map, unmap,
 * iova_to_phys) over pluggable formats; the driver gets TLB maintenance requests through callbacks it
 * supplies.
 *
 * Formats: VMSAv8-64 stage 1 and stage 2 ("LPAE"), 4 KiB, 16 KiB or 64 KiB granule, any input size from
 * granule + 1 to 48 bits, output size 32..48 bits. Mappings use the largest block the size and alignment
 * allow (4K: 4 KiB, 2 MiB, 1 GiB; 16K: 16 KiB, 32 MiB; 64K: 64 KiB, 512 MiB). Unmapping part of a block
 * splits it; a table that becomes empty is unhooked, its walk flushed, and freed. Stage 2 concatenates up to
 * 16 start-level tables where that saves a level (as the architecture allows).
 *
 * The file is plain C11 with no firmware dependency but fw/page_alloc.h (alloc_pages, free_pages) and
 * fw/errno.h, so the host unit test (tests/fw_iopgtable) compiles it natively. */
#ifndef FWSMMU_IO_PGTABLE_H
#define FWSMMU_IO_PGTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Access a mapping grants (Linux's IOMMU_* prot bits). */
#define IOMMU_READ (1U << 0)
#define IOMMU_WRITE (1U << 1)
#define IOMMU_PRIV (1U << 2)   /* stage 1: privileged only (AP[1] = 0) */
#define IOMMU_NOEXEC (1U << 3) /* stage 1: UXN and PXN; stage 2: XN */
#define IOMMU_MMIO (1U << 4)   /* Device-nGnRE instead of Normal write-back */

/* MAIR the stage-1 descriptors assume (AttrIndx): index 0 Normal write-back, index 1 Device-nGnRE. The CPU
 * uses the same value for its processes (fw/mm.h), so a shared (SVA) CD can copy it. */
#define IO_PGTABLE_MAIR 0x04FFULL
#define IO_PGTABLE_MAIR_IDX_NORMAL 0U
#define IO_PGTABLE_MAIR_IDX_DEVICE 1U

/* TCR-style encodings the cfg outputs use (CD.TG0, STE.S2TG and TCR_EL1.TG0 agree). */
#define IO_PGTABLE_TG_4K 0U
#define IO_PGTABLE_TG_64K 1U
#define IO_PGTABLE_TG_16K 2U
#define IO_PGTABLE_RGN_WBWA 1U
#define IO_PGTABLE_SH_INNER 3U

enum io_pgtable_fmt {
    ARM_64_LPAE_S1,
    ARM_64_LPAE_S2,
    IO_PGTABLE_NUM_FMTS,
};

/* TLB invalidations an unmap owes, accumulated so that several unmaps can share one invalidation and one sync
 * (Linux's iommu_iotlb_gather). [start, end] is inclusive; start > end means empty. */
struct iommu_iotlb_gather {
    uint64_t start, end;
    size_t pgsize; /* leaf size of what was gathered (one size per batch) */
    bool queued;   /* a flush queue will invalidate everything later: leaves need not be added */
};

static inline void iommu_iotlb_gather_init(struct iommu_iotlb_gather *gather) {
    gather->start = UINT64_MAX;
    gather->end = 0;
    gather->pgsize = 0;
    gather->queued = false;
}

static inline bool iommu_iotlb_gather_empty(const struct iommu_iotlb_gather *gather) {
    return gather->start > gather->end;
}

/* Would adding [iova, iova + size) to the gather widen it over addresses nobody unmapped? Then the driver
 * should sync what it holds first (as Linux's iommu_iotlb_gather_add_page does). */
static inline bool iommu_iotlb_gather_is_disjoint(const struct iommu_iotlb_gather *gather, uint64_t iova,
                                                  size_t size) {
    uint64_t last = iova + size - 1;
    return !iommu_iotlb_gather_empty(gather) && (last + 1 < gather->start || iova > gather->end + 1);
}

static inline void iommu_iotlb_gather_add_range(struct iommu_iotlb_gather *gather, uint64_t iova,
                                                size_t size) {
    uint64_t last = iova + size - 1;
    if (iova < gather->start)
        gather->start = iova;
    if (last > gather->end)
        gather->end = last;
}

/* Callbacks of the IOMMU driver owning the tables; `cookie` is the one given to alloc_io_pgtable_ops. */
struct iommu_flush_ops {
    /* Invalidate every TLB and walk-cache entry of these tables, and wait. */
    void (*tlb_flush_all)(void *cookie);
    /* Invalidate leaf and walk-cache (non-leaf) entries for [iova, iova + size), granule being the
     * translation granule, and wait: the tables below are about to be freed. */
    void (*tlb_flush_walk)(uint64_t iova, size_t size, size_t granule, void *cookie);
    /* A leaf of `granule` bytes at iova was removed: record it in the gather (may invalidate at once). */
    void (*tlb_add_page)(struct iommu_iotlb_gather *gather, uint64_t iova, size_t granule, void *cookie);
    /* Invalidate what the gather holds and wait for completion (Linux: the iommu_ops iotlb_sync). */
    void (*tlb_sync)(struct iommu_iotlb_gather *gather, void *cookie);
};

/* What a stage-1 CD needs (CD.TTB0, T0SZ, TG0, IR0, OR0, SH0, IPS, MAIR). */
struct io_pgtable_s1_cfg {
    uint64_t ttbr; /* root table address for CD.TTB0 (PA + table_pa_offset) */
    struct {
        unsigned int tsz, tg, irgn, orgn, sh, ips;
    } tcr;
    uint64_t mair;
};

/* What a stage-2 STE needs (STE.S2TTB, S2T0SZ, S2SL0, S2TG, S2IR0, S2OR0, S2SH0, S2PS). */
struct io_pgtable_s2_cfg {
    uint64_t vttbr;
    struct {
        unsigned int tsz, sl, tg, irgn, orgn, sh, ps; /* sl: the S2SL0 encoding */
    } vtcr;
};

struct io_pgtable_cfg {
    /* Inputs. */
    size_t granule;                    /* 4096, 16384 or 65536 */
    unsigned int ias;                  /* input address bits */
    unsigned int oas;                  /* output address bits (32, 36, 40, 42, 44 or 48) */
    const struct iommu_flush_ops *tlb; /* NULL: the caller does its own TLB maintenance */
    /* Added to every table address written into a descriptor or a TTB output: 0 normally; for a nested stage
     * 1 whose tables live in IPA space, the IPA - PA offset stage 2 applies to them. */
    uint64_t table_pa_offset;

    /* Outputs, filled by alloc_io_pgtable_ops. */
    uint64_t pgsize_bitmap; /* leaf sizes: the granule and the block sizes */
    unsigned int start_level;
    unsigned int concat_tables; /* stage 2: concatenated start-level tables (1 = none); stage 1: 1 */
    union {
        struct io_pgtable_s1_cfg arm_lpae_s1_cfg;
        struct io_pgtable_s2_cfg arm_lpae_s2_cfg;
    };
};

struct io_pgtable_ops {
    /* Maps [iova, iova + size) to [paddr, paddr + size); all three granule-aligned, prot must grant READ or
     * WRITE. Returns 0, -EINVAL (bad arguments), -EEXIST (something is mapped there already) or -ENOMEM. On
     * failure *mapped (may be NULL) says how much from iova was mapped before it; the caller unmaps it. */
    int (*map)(struct io_pgtable_ops *ops, uint64_t iova, uint64_t paddr, size_t size, unsigned int prot,
               size_t *mapped);
    /* Unmaps whatever is mapped in [iova, iova + size) (granule-aligned), splitting blocks that straddle
     * the range, freeing tables that become empty (after tlb_flush_walk). Leaves go to the gather through
     * tlb_add_page; the caller syncs it. Returns the number of bytes that were mapped there. */
    size_t (*unmap)(struct io_pgtable_ops *ops, uint64_t iova, size_t size,
                    struct iommu_iotlb_gather *gather);
    /* Output address of iova, or 0 if it is not mapped (as Linux). */
    uint64_t (*iova_to_phys)(struct io_pgtable_ops *ops, uint64_t iova);
};

/* Builds empty tables for `fmt`; validates cfg and fills its outputs. NULL if cfg is not supported or memory
 * is short. */
struct io_pgtable_ops *alloc_io_pgtable_ops(enum io_pgtable_fmt fmt, struct io_pgtable_cfg *cfg,
                                            void *cookie);
/* tlb_flush_all (if there are TLB callbacks), then frees every table. */
void free_io_pgtable_ops(struct io_pgtable_ops *ops);

/* The configuration the tables were built with (outputs included). */
const struct io_pgtable_cfg *io_pgtable_ops_cfg(const struct io_pgtable_ops *ops);
/* The root table (its PA, without table_pa_offset). */
uint64_t io_pgtable_root_pa(const struct io_pgtable_ops *ops);

/* Invalidates what the gather holds through tlb_sync (if it holds anything) and empties it. */
void io_pgtable_tlb_sync(struct io_pgtable_ops *ops, struct iommu_iotlb_gather *gather);
/* Strict unmap: unmap, then the invalidation and its sync before returning. */
size_t io_pgtable_unmap_strict(struct io_pgtable_ops *ops, uint64_t iova, size_t size);

/* Number of table pages (of the granule) the tables hold now, root excluded: for tests of table freeing. */
size_t io_pgtable_table_count(const struct io_pgtable_ops *ops);

#ifdef __cplusplus
}
#endif

#endif
