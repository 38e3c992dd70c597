/* Stage-1 and stage-2 VMSAv8-64 tables, 4 KiB granule, 4 KiB leaf pages. */
#include <fwsmmu/io_pgtable.h>
#include <fwsmmu/pgalloc.h>

#define DESC_VALID (1ULL << 0)
#define DESC_TABLE (1ULL << 1) /* also "page" at level 3 */
#define DESC_ADDRESS 0x0000FFFFFFFFF000ULL
#define DESC_AF (1ULL << 10)
#define DESC_SH_INNER (3ULL << 8)
#define DESC_S1_ATTRINDX_NORMAL (0ULL << 2)
#define DESC_S1_AP_EL0 (1ULL << 6) /* AP[1]: unprivileged access allowed */
#define DESC_S1_AP_RO (1ULL << 7)  /* AP[2] */
#define DESC_S1_PXN (1ULL << 53)
#define DESC_S1_UXN (1ULL << 54)
#define DESC_S2_MEMATTR_NORMAL_WB (0xFULL << 2)
#define DESC_S2AP_READ (1ULL << 6)
#define DESC_S2AP_WRITE (1ULL << 7)
#define DESC_S2_XN (2ULL << 53)

#define LEVEL_BITS 9U
#define S2_ROOT_BYTES 8192U /* two concatenated level-1 tables resolve IPA bits 39:30 */

static unsigned int start_level(const struct io_pgtable *table) {
    return table->stage == 1 ? 0U : 1U;
}

static unsigned int index_at(const struct io_pgtable *table, unsigned int level, uint64_t iova) {
    unsigned int shift = 12U + (3U - level) * LEVEL_BITS;
    uint64_t index = iova >> shift;
    if (level == start_level(table))
        return (unsigned int)(index & ((table->stage == 2) ? 0x3FFU : 0x1FFU));
    return (unsigned int)(index & 0x1FFU);
}

bool io_pgtable_init(struct io_pgtable *table, unsigned int stage) {
    table->stage = stage;
    table->table_address_offset = 0;
    table->root = pgalloc_alloc(stage == 2 ? S2_ROOT_BYTES : PGALLOC_PAGE_SIZE);
    return table->root != NULL;
}

static bool input_in_range(const struct io_pgtable *table, uint64_t iova) {
    unsigned int ias = table->stage == 1 ? IO_PGTABLE_S1_IAS : IO_PGTABLE_S2_IAS;
    return (iova >> ias) == 0 && (iova & (IO_PAGE_SIZE - 1)) == 0;
}

static volatile uint64_t *next_table(const struct io_pgtable *table, uint64_t descriptor) {
    return (volatile uint64_t *)(uintptr_t)((descriptor & DESC_ADDRESS) - table->table_address_offset);
}

/* The leaf slot of iova, allocating the missing intermediate tables. */
static volatile uint64_t *leaf_slot_allocating(struct io_pgtable *table, uint64_t iova) {
    volatile uint64_t *entries = table->root;
    for (unsigned int level = start_level(table); level < 3; level++) {
        volatile uint64_t *slot = &entries[index_at(table, level, iova)];
        if (!(*slot & DESC_VALID)) {
            uint64_t *next = pgalloc_page();
            if (!next)
                return NULL;
            *slot = ((uint64_t)(uintptr_t)next + table->table_address_offset) | DESC_TABLE | DESC_VALID;
        }
        entries = next_table(table, *slot);
    }
    return &entries[index_at(table, 3, iova)];
}

/* The valid leaf descriptor slot of iova, or NULL. */
static volatile uint64_t *leaf_slot_existing(const struct io_pgtable *table, uint64_t iova) {
    volatile uint64_t *entries = table->root;
    for (unsigned int level = start_level(table); level < 3; level++) {
        uint64_t descriptor = entries[index_at(table, level, iova)];
        if (!(descriptor & DESC_VALID))
            return NULL;
        entries = next_table(table, descriptor);
    }
    volatile uint64_t *slot = &entries[index_at(table, 3, iova)];
    return (*slot & DESC_VALID) ? slot : NULL;
}

static uint64_t leaf_descriptor(const struct io_pgtable *table, uint64_t pa, unsigned int prot) {
    uint64_t descriptor = (pa & DESC_ADDRESS) | DESC_AF | DESC_SH_INNER | DESC_TABLE | DESC_VALID;
    if (table->stage == 1) {
        descriptor |= DESC_S1_ATTRINDX_NORMAL;
        if (!(prot & IOMMU_PRIV))
            descriptor |= DESC_S1_AP_EL0;
        if (!(prot & IOMMU_WRITE))
            descriptor |= DESC_S1_AP_RO;
        if (prot & IOMMU_NOEXEC)
            descriptor |= DESC_S1_PXN | DESC_S1_UXN;
    } else {
        descriptor |= DESC_S2_MEMATTR_NORMAL_WB;
        if (prot & IOMMU_READ)
            descriptor |= DESC_S2AP_READ;
        if (prot & IOMMU_WRITE)
            descriptor |= DESC_S2AP_WRITE;
        if (prot & IOMMU_NOEXEC)
            descriptor |= DESC_S2_XN;
    }
    return descriptor;
}

bool io_pgtable_map(struct io_pgtable *table, uint64_t iova, uint64_t pa, unsigned int prot) {
    if (!input_in_range(table, iova) || (pa & (IO_PAGE_SIZE - 1)) != 0)
        return false;
    volatile uint64_t *slot = leaf_slot_allocating(table, iova);
    if (!slot)
        return false;
    *slot = leaf_descriptor(table, pa, prot);
    return true;
}

bool io_pgtable_map_range(struct io_pgtable *table, uint64_t iova, uint64_t pa, uint64_t size,
                          unsigned int prot) {
    for (uint64_t offset = 0; offset < size; offset += IO_PAGE_SIZE)
        if (!io_pgtable_map(table, iova + offset, pa + offset, prot))
            return false;
    return true;
}

bool io_pgtable_unmap(struct io_pgtable *table, uint64_t iova) {
    if (!input_in_range(table, iova))
        return false;
    volatile uint64_t *slot = leaf_slot_existing(table, iova);
    if (!slot)
        return false;
    *slot = 0;
    return true;
}

bool io_pgtable_lookup(const struct io_pgtable *table, uint64_t iova, uint64_t *pa) {
    if (!input_in_range(table, iova & ~(IO_PAGE_SIZE - 1)))
        return false;
    volatile uint64_t *slot = leaf_slot_existing(table, iova & ~(IO_PAGE_SIZE - 1));
    if (!slot)
        return false;
    *pa = (*slot & DESC_ADDRESS) | (iova & (IO_PAGE_SIZE - 1));
    return true;
}
