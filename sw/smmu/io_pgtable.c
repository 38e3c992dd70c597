/* VMSAv8-64 stage-1 and stage-2 tables behind the io_pgtable_ops interface. Levels are numbered as the
 * architecture does (the start level is 0..3, leaves at 3 are pages, leaves above are blocks). */
#include <fw/errno.h>
#include <fw/page_alloc.h>
#include <fwsmmu/io_pgtable.h>

#define DESC_VALID (1ULL << 0)
#define DESC_TABLE (1ULL << 1) /* table above level 3, page at level 3; clear: block */
#define DESC_OA_TOP 48U        /* descriptors hold OA[47:granule shift] */
#define DESC_ATTRINDX_SHIFT 2U
#define DESC_S1_AP_UNPRIV (1ULL << 6) /* AP[1] */
#define DESC_S1_AP_RDONLY (1ULL << 7) /* AP[2] */
#define DESC_SH_INNER (3ULL << 8)
#define DESC_AF (1ULL << 10)
#define DESC_S1_NG (1ULL << 11) /* ASID-tagged, as Linux makes every stage-1 leaf */
#define DESC_S1_PXN (1ULL << 53)
#define DESC_S1_UXN (1ULL << 54)
#define DESC_S2_MEMATTR_NORMAL_WB (0xFULL << 2)
#define DESC_S2_MEMATTR_DEVICE_NGNRE (0x1ULL << 2)
#define DESC_S2AP_READ (1ULL << 6)
#define DESC_S2AP_WRITE (1ULL << 7)
#define DESC_S2_XN (2ULL << 53)

#define MAX_LEVEL 3U
#define MAX_CONCAT_BITS 4U /* at most 16 concatenated stage-2 start tables */

struct lpae_pgtable {
    struct io_pgtable_ops ops; /* first: ops pointers convert back */
    enum io_pgtable_fmt fmt;
    struct io_pgtable_cfg cfg;
    void *cookie;
    unsigned int granule_shift, bits_per_level, start_level, root_bits;
    unsigned int table_order, root_order; /* page-allocator orders of a table and of the root */
    volatile uint64_t *root;
    size_t tables; /* non-root tables allocated now */
};

/* The walker must see a table's zeroed entries before the descriptor that links it. */
static inline void publish_barrier(void) {
#if defined(__aarch64__)
    __asm__ volatile("dmb ishst" ::: "memory");
#else
    __asm__ volatile("" ::: "memory");
#endif
}

static struct lpae_pgtable *to_pgtable(const struct io_pgtable_ops *ops) {
    return (struct lpae_pgtable *)(uintptr_t)ops;
}

static unsigned int level_shift(const struct lpae_pgtable *t, unsigned int level) {
    return t->granule_shift + (MAX_LEVEL - level) * t->bits_per_level;
}

static uint64_t level_size(const struct lpae_pgtable *t, unsigned int level) {
    return 1ULL << level_shift(t, level);
}

static unsigned int entries_at(const struct lpae_pgtable *t, unsigned int level) {
    return 1U << (level == t->start_level ? t->root_bits : t->bits_per_level);
}

static unsigned int index_at(const struct lpae_pgtable *t, unsigned int level, uint64_t iova) {
    return (unsigned int)((iova >> level_shift(t, level)) & (entries_at(t, level) - 1U));
}

/* Blocks exist at level 2 for every granule and at level 1 for 4 KiB (without 52-bit addressing). */
static bool leaf_allowed(const struct lpae_pgtable *t, unsigned int level) {
    return level == MAX_LEVEL || level == 2 || (level == 1 && t->granule_shift == 12);
}

static uint64_t output_mask(const struct lpae_pgtable *t, unsigned int level) {
    return ((1ULL << DESC_OA_TOP) - 1) & ~(level_size(t, level) - 1);
}

static bool is_leaf(uint64_t descriptor, unsigned int level) {
    return (descriptor & DESC_VALID) && (level == MAX_LEVEL || !(descriptor & DESC_TABLE));
}

static volatile uint64_t *table_of(const struct lpae_pgtable *t, uint64_t descriptor) {
    uint64_t address = descriptor & ((1ULL << DESC_OA_TOP) - 1) & ~((1ULL << t->granule_shift) - 1);
    return (volatile uint64_t *)(uintptr_t)(address - t->cfg.table_pa_offset);
}

static uint64_t table_descriptor(const struct lpae_pgtable *t, volatile uint64_t *table) {
    return ((uint64_t)(uintptr_t)table + t->cfg.table_pa_offset) | DESC_TABLE | DESC_VALID;
}

static volatile uint64_t *new_table(struct lpae_pgtable *t) {
    volatile uint64_t *table = alloc_pages(t->table_order);
    if (table)
        t->tables++;
    return table;
}

static void free_table(struct lpae_pgtable *t, volatile uint64_t *table) {
    free_pages((void *)(uintptr_t)table, t->table_order);
    t->tables--;
}

/* Leaf attributes (no address, no type bits) for prot. */
static uint64_t leaf_attributes(const struct lpae_pgtable *t, unsigned int prot) {
    uint64_t attributes = DESC_AF | DESC_SH_INNER | DESC_VALID;
    if (t->fmt == ARM_64_LPAE_S1) {
        unsigned int index = (prot & IOMMU_MMIO) ? IO_PGTABLE_MAIR_IDX_DEVICE : IO_PGTABLE_MAIR_IDX_NORMAL;
        attributes |= DESC_S1_NG | ((uint64_t)index << DESC_ATTRINDX_SHIFT);
        if (!(prot & IOMMU_PRIV))
            attributes |= DESC_S1_AP_UNPRIV;
        if (!(prot & IOMMU_WRITE))
            attributes |= DESC_S1_AP_RDONLY;
        if (prot & IOMMU_NOEXEC)
            attributes |= DESC_S1_PXN | DESC_S1_UXN;
    } else {
        attributes |= (prot & IOMMU_MMIO) ? DESC_S2_MEMATTR_DEVICE_NGNRE : DESC_S2_MEMATTR_NORMAL_WB;
        if (prot & IOMMU_READ)
            attributes |= DESC_S2AP_READ;
        if (prot & IOMMU_WRITE)
            attributes |= DESC_S2AP_WRITE;
        if (prot & IOMMU_NOEXEC)
            attributes |= DESC_S2_XN;
    }
    return attributes;
}

static uint64_t leaf_descriptor(unsigned int level, uint64_t pa, uint64_t attributes) {
    return pa | attributes | (level == MAX_LEVEL ? DESC_TABLE : 0);
}

/* ---- map ---- */

static int map_one(struct lpae_pgtable *t, uint64_t iova, uint64_t pa, unsigned int target_level,
                   uint64_t attributes) {
    volatile uint64_t *table = t->root;
    for (unsigned int level = t->start_level; level < target_level; level++) {
        volatile uint64_t *slot = &table[index_at(t, level, iova)];
        uint64_t descriptor = *slot;
        if (!(descriptor & DESC_VALID)) {
            volatile uint64_t *next = new_table(t);
            if (!next)
                return -ENOMEM;
            publish_barrier();
            *slot = table_descriptor(t, next);
            table = next;
        } else if (is_leaf(descriptor, level)) {
            return -EEXIST; /* a block covers it */
        } else {
            table = table_of(t, descriptor);
        }
    }
    volatile uint64_t *slot = &table[index_at(t, target_level, iova)];
    if (*slot & DESC_VALID)
        return -EEXIST; /* a leaf, or a table still holding mappings (empty ones are freed on unmap) */
    *slot = leaf_descriptor(target_level, pa, attributes);
    return 0;
}

static int lpae_map(struct io_pgtable_ops *ops, uint64_t iova, uint64_t paddr, size_t size, unsigned int prot,
                    size_t *mapped) {
    struct lpae_pgtable *t = to_pgtable(ops);
    uint64_t granule_mask = t->cfg.granule - 1;
    if (mapped)
        *mapped = 0;
    if (size == 0 || ((iova | paddr | size) & granule_mask) != 0 || !(prot & (IOMMU_READ | IOMMU_WRITE)))
        return -EINVAL;
    if (iova + size < iova || ((iova + size - 1) >> t->cfg.ias) != 0 || paddr + size < paddr ||
        ((paddr + size - 1) >> t->cfg.oas) != 0)
        return -EINVAL;
    uint64_t attributes = leaf_attributes(t, prot);
    while (size) {
        /* The largest leaf that fits both alignments and the remaining size. */
        unsigned int level = t->start_level;
        while (level < MAX_LEVEL && (!leaf_allowed(t, level) || level_size(t, level) > size ||
                                     ((iova | paddr) & (level_size(t, level) - 1))))
            level++;
        int result = map_one(t, iova, paddr, level, attributes);
        if (result)
            return result;
        uint64_t step = level_size(t, level);
        iova += step;
        paddr += step;
        size -= step;
        if (mapped)
            *mapped += step;
    }
    return 0;
}

/* ---- unmap ---- */

static void add_leaf(struct lpae_pgtable *t, struct iommu_iotlb_gather *gather, uint64_t iova,
                     uint64_t size) {
    if (t->cfg.tlb && t->cfg.tlb->tlb_add_page && !gather->queued)
        t->cfg.tlb->tlb_add_page(gather, iova, size, t->cookie);
}

static void flush_walk(struct lpae_pgtable *t, uint64_t iova, uint64_t size) {
    if (t->cfg.tlb && t->cfg.tlb->tlb_flush_walk)
        t->cfg.tlb->tlb_flush_walk(iova, size, t->cfg.granule, t->cookie);
}

static bool table_empty(const struct lpae_pgtable *t, unsigned int level, volatile uint64_t *table) {
    for (unsigned int i = 0; i < entries_at(t, level); i++)
        if (table[i] & DESC_VALID)
            return false;
    return true;
}

/* Frees `table` (at `level`) and everything below it; returns the bytes its leaves mapped. */
static uint64_t free_subtree(struct lpae_pgtable *t, unsigned int level, volatile uint64_t *table) {
    uint64_t mapped = 0;
    for (unsigned int i = 0; i < entries_at(t, level); i++) {
        uint64_t descriptor = table[i];
        if (is_leaf(descriptor, level))
            mapped += level_size(t, level);
        else if (descriptor & DESC_VALID)
            mapped += free_subtree(t, level + 1, table_of(t, descriptor));
    }
    if (level != t->start_level)
        free_table(t, table);
    return mapped;
}

/* A table of the next level mapping exactly what the block at `level` mapped, or NULL. */
static volatile uint64_t *split_block(struct lpae_pgtable *t, unsigned int level, uint64_t block) {
    volatile uint64_t *table = new_table(t);
    if (!table)
        return NULL;
    unsigned int child = level + 1;
    uint64_t base = block & output_mask(t, level);
    uint64_t attributes = block & ~output_mask(t, level) & ~DESC_TABLE;
    for (unsigned int i = 0; i < entries_at(t, child); i++)
        table[i] = leaf_descriptor(child, base + (uint64_t)i * level_size(t, child), attributes);
    return table;
}

static uint64_t unmap_level(struct lpae_pgtable *t, unsigned int level, volatile uint64_t *table,
                            uint64_t start, uint64_t end, struct iommu_iotlb_gather *gather) {
    uint64_t unmapped = 0, span = level_size(t, level);
    for (uint64_t iova = start; iova < end;) {
        uint64_t entry_base = iova & ~(span - 1), entry_end = entry_base + span;
        uint64_t chunk_end = end < entry_end ? end : entry_end;
        bool whole = iova == entry_base && chunk_end == entry_end;
        volatile uint64_t *slot = &table[index_at(t, level, iova)];
        uint64_t descriptor = *slot;
        if (is_leaf(descriptor, level) && whole) {
            *slot = 0;
            unmapped += span;
            add_leaf(t, gather, entry_base, span);
        } else if (is_leaf(descriptor, level)) {
            volatile uint64_t *split = split_block(t, level, descriptor);
            if (!split)
                return unmapped; /* the block stays mapped: the caller sees less unmapped than asked */
            publish_barrier();
            *slot = table_descriptor(t, split);
            /* TLBs may hold the block itself: invalidate its whole span (the rest re-walks to the table). */
            add_leaf(t, gather, entry_base, span);
            unmapped += unmap_level(t, level + 1, split, iova, chunk_end, gather);
        } else if ((descriptor & DESC_VALID) && whole) {
            *slot = 0;
            flush_walk(t, entry_base, span);
            unmapped += free_subtree(t, level + 1, table_of(t, descriptor));
        } else if (descriptor & DESC_VALID) {
            volatile uint64_t *next = table_of(t, descriptor);
            unmapped += unmap_level(t, level + 1, next, iova, chunk_end, gather);
            if (table_empty(t, level + 1, next)) {
                *slot = 0;
                flush_walk(t, entry_base, span); /* walk caches may still point at it */
                free_table(t, next);
            }
        }
        iova = chunk_end;
    }
    return unmapped;
}

static size_t lpae_unmap(struct io_pgtable_ops *ops, uint64_t iova, size_t size,
                         struct iommu_iotlb_gather *gather) {
    struct lpae_pgtable *t = to_pgtable(ops);
    if (size == 0 || ((iova | size) & (t->cfg.granule - 1)) != 0 || iova + size < iova ||
        ((iova + size - 1) >> t->cfg.ias) != 0)
        return 0;
    return (size_t)unmap_level(t, t->start_level, t->root, iova, iova + size, gather);
}

static uint64_t lpae_iova_to_phys(struct io_pgtable_ops *ops, uint64_t iova) {
    struct lpae_pgtable *t = to_pgtable(ops);
    if ((iova >> t->cfg.ias) != 0)
        return 0;
    volatile uint64_t *table = t->root;
    for (unsigned int level = t->start_level; level <= MAX_LEVEL; level++) {
        uint64_t descriptor = table[index_at(t, level, iova)];
        if (!(descriptor & DESC_VALID))
            return 0;
        if (is_leaf(descriptor, level))
            return (descriptor & output_mask(t, level)) | (iova & (level_size(t, level) - 1));
        table = table_of(t, descriptor);
    }
    return 0;
}

/* ---- set-up ---- */

static bool encode_output_size(unsigned int bits, unsigned int *encoding) {
    static const unsigned int sizes[] = {32, 36, 40, 42, 44, 48};
    for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        if (sizes[i] == bits) {
            *encoding = i;
            return true;
        }
    return false;
}

static unsigned int granule_encoding(unsigned int granule_shift) {
    return granule_shift == 12   ? IO_PGTABLE_TG_4K
           : granule_shift == 14 ? IO_PGTABLE_TG_16K
                                 : IO_PGTABLE_TG_64K;
}

/* Start level and root size. Stage 2 starts one level lower with 2..16 concatenated tables when the natural
 * start level resolves at most 4 bits, if that level is a legal start (4 KiB: levels 0..2; 16 and 64 KiB:
 * 1..3); a 16 KiB stage 2 may not start at level 0 at all. */
static bool choose_levels(struct lpae_pgtable *t) {
    unsigned int bits = t->cfg.ias - t->granule_shift;
    unsigned int levels = (bits + t->bits_per_level - 1) / t->bits_per_level;
    if (levels == 0 || levels > 4)
        return false;
    t->start_level = 4U - levels;
    t->root_bits = bits - (levels - 1) * t->bits_per_level;
    t->cfg.concat_tables = 1;
    if (t->fmt == ARM_64_LPAE_S2) {
        unsigned int deepest_start = t->granule_shift == 12 ? 2U : 3U;
        if (t->root_bits <= MAX_CONCAT_BITS && t->start_level < deepest_start) {
            t->cfg.concat_tables = 1U << t->root_bits;
            t->start_level++;
            t->root_bits += t->bits_per_level;
        }
        if (t->start_level == 0 && t->granule_shift != 12)
            return false;
        if (t->start_level > deepest_start)
            return false;
    }
    return true;
}

struct io_pgtable_ops *alloc_io_pgtable_ops(enum io_pgtable_fmt fmt, struct io_pgtable_cfg *cfg,
                                            void *cookie) {
    unsigned int granule_shift = cfg->granule == 4096    ? 12U
                                 : cfg->granule == 16384 ? 14U
                                 : cfg->granule == 65536 ? 16U
                                                         : 0U;
    unsigned int output_encoding;
    if ((fmt != ARM_64_LPAE_S1 && fmt != ARM_64_LPAE_S2) || granule_shift == 0 || cfg->ias <= granule_shift ||
        cfg->ias > 48 || !encode_output_size(cfg->oas, &output_encoding))
        return NULL;
    if (sizeof(struct lpae_pgtable) > PAGE_SIZE)
        return NULL;
    struct lpae_pgtable *t = alloc_pages(0);
    if (!t)
        return NULL;
    t->fmt = fmt;
    t->cfg = *cfg;
    t->cookie = cookie;
    t->granule_shift = granule_shift;
    t->bits_per_level = granule_shift - 3;
    t->table_order = granule_shift - PAGE_SHIFT;
    t->tables = 0;
    if (!choose_levels(t)) {
        free_pages(t, 0);
        return NULL;
    }
    t->root_order = page_alloc_order_for((size_t)8 << t->root_bits);
    t->root = alloc_pages(t->root_order);
    if (!t->root) {
        free_pages(t, 0);
        return NULL;
    }
    t->cfg.pgsize_bitmap = 0;
    for (unsigned int level = t->start_level; level <= MAX_LEVEL; level++)
        if (leaf_allowed(t, level))
            t->cfg.pgsize_bitmap |= level_size(t, level);
    t->cfg.start_level = t->start_level;
    uint64_t root = (uint64_t)(uintptr_t)t->root + t->cfg.table_pa_offset;
    if (fmt == ARM_64_LPAE_S1) {
        t->cfg.arm_lpae_s1_cfg.ttbr = root;
        t->cfg.arm_lpae_s1_cfg.tcr.tsz = 64U - t->cfg.ias;
        t->cfg.arm_lpae_s1_cfg.tcr.tg = granule_encoding(granule_shift);
        t->cfg.arm_lpae_s1_cfg.tcr.irgn = IO_PGTABLE_RGN_WBWA;
        t->cfg.arm_lpae_s1_cfg.tcr.orgn = IO_PGTABLE_RGN_WBWA;
        t->cfg.arm_lpae_s1_cfg.tcr.sh = IO_PGTABLE_SH_INNER;
        t->cfg.arm_lpae_s1_cfg.tcr.ips = output_encoding;
        t->cfg.arm_lpae_s1_cfg.mair = IO_PGTABLE_MAIR;
    } else {
        t->cfg.arm_lpae_s2_cfg.vttbr = root;
        t->cfg.arm_lpae_s2_cfg.vtcr.tsz = 64U - t->cfg.ias;
        /* S2SL0: 4 KiB counts from level 2 (0b00) up, 16 and 64 KiB from level 3. */
        t->cfg.arm_lpae_s2_cfg.vtcr.sl = (granule_shift == 12 ? 2U : 3U) - t->start_level;
        t->cfg.arm_lpae_s2_cfg.vtcr.tg = granule_encoding(granule_shift);
        t->cfg.arm_lpae_s2_cfg.vtcr.irgn = IO_PGTABLE_RGN_WBWA;
        t->cfg.arm_lpae_s2_cfg.vtcr.orgn = IO_PGTABLE_RGN_WBWA;
        t->cfg.arm_lpae_s2_cfg.vtcr.sh = IO_PGTABLE_SH_INNER;
        t->cfg.arm_lpae_s2_cfg.vtcr.ps = output_encoding;
    }
    *cfg = t->cfg;
    t->ops.map = lpae_map;
    t->ops.unmap = lpae_unmap;
    t->ops.iova_to_phys = lpae_iova_to_phys;
    return &t->ops;
}

void free_io_pgtable_ops(struct io_pgtable_ops *ops) {
    if (!ops)
        return;
    struct lpae_pgtable *t = to_pgtable(ops);
    if (t->cfg.tlb && t->cfg.tlb->tlb_flush_all)
        t->cfg.tlb->tlb_flush_all(t->cookie);
    free_subtree(t, t->start_level, t->root);
    free_pages((void *)(uintptr_t)t->root, t->root_order);
    free_pages(t, 0);
}

const struct io_pgtable_cfg *io_pgtable_ops_cfg(const struct io_pgtable_ops *ops) {
    return &to_pgtable(ops)->cfg;
}

uint64_t io_pgtable_root_pa(const struct io_pgtable_ops *ops) {
    return (uint64_t)(uintptr_t)to_pgtable(ops)->root;
}

size_t io_pgtable_table_count(const struct io_pgtable_ops *ops) {
    return to_pgtable(ops)->tables;
}

void io_pgtable_tlb_sync(struct io_pgtable_ops *ops, struct iommu_iotlb_gather *gather) {
    struct lpae_pgtable *t = to_pgtable(ops);
    if (!iommu_iotlb_gather_empty(gather) && t->cfg.tlb && t->cfg.tlb->tlb_sync)
        t->cfg.tlb->tlb_sync(gather, t->cookie);
    bool queued = gather->queued;
    iommu_iotlb_gather_init(gather);
    gather->queued = queued;
}

size_t io_pgtable_unmap_strict(struct io_pgtable_ops *ops, uint64_t iova, size_t size) {
    struct iommu_iotlb_gather gather;
    iommu_iotlb_gather_init(&gather);
    size_t unmapped = ops->unmap(ops, iova, size, &gather);
    io_pgtable_tlb_sync(ops, &gather);
    return unmapped;
}
