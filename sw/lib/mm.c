/* Address spaces the CPU runs with at EL1: io-pgtable stage-1 tables with CPU TLB maintenance, VMAs,
 * notifiers. */
#include <stdio.h>

#include <fw/errno.h>
#include <fw/mm.h>
#include <fw/page_alloc.h>
#include <fw/platform.h>
#include <fw/sysreg.h>

#define GIB (1ULL << 30)
#define ENTRIES 512U
#define DESC_VALID (1ULL << 0)
#define DESC_TABLE (1ULL << 1)
#define DESC_ATTRINDX(index) ((uint64_t)(index) << 2)
#define DESC_SH_INNER (3ULL << 8)
#define DESC_AF (1ULL << 10)
#define DESC_PXN (1ULL << 53)
#define DESC_UXN (1ULL << 54)

/* TCR_EL1: T0SZ 16, IRGN0/ORGN0 WBWA, SH0 inner, TG0 4K; EPD1 (no TTBR1 walks), TG1 4K (0b10); IPS 40 bits;
 * AS = 0 (8-bit ASIDs), A1 = 0 (the ASID comes from TTBR0). */
#define TCR_T0SZ(bits) (64ULL - (bits))
#define TCR_IRGN0_WBWA (1ULL << 8)
#define TCR_ORGN0_WBWA (1ULL << 10)
#define TCR_SH0_INNER (3ULL << 12)
#define TCR_TG0_4K (0ULL << 14)
#define TCR_T1SZ(bits) ((64ULL - (bits)) << 16)
#define TCR_EPD1 (1ULL << 23)
#define TCR_TG1_4K (2ULL << 30)
#define TCR_IPS_40 (2ULL << 32)
#define MM_PA_BITS 40U
#define TCR_VALUE                                                                                            \
    (TCR_T0SZ(MM_VA_BITS) | TCR_IRGN0_WBWA | TCR_ORGN0_WBWA | TCR_SH0_INNER | TCR_TG0_4K |                   \
     TCR_T1SZ(MM_VA_BITS) | TCR_EPD1 | TCR_TG1_4K | TCR_IPS_40)
#define SCTLR_M (1ULL << 0)
#define SCTLR_C (1ULL << 2)
#define SCTLR_I (1ULL << 12)
#define TTBR_ASID_SHIFT 48U
/* More pages than this in one invalidation: invalidate the whole ASID instead. */
#define TLBI_MAX_PAGES 64U
/* mm_unmap frees pages in batches of this many, each batch after its TLB and notifier invalidation. */
#define UNMAP_BATCH_PAGES 64U

static uint64_t *kernel_l0, *kernel_l1; /* the firmware's own TTBR0 tables; kernel_l1 is shared by every mm */
static struct mm_struct *current_mm;
static bool asid_used[MM_ASID_COUNT];

uint64_t mm_tcr(void) {
    return TCR_VALUE;
}

uint64_t mm_mair(void) {
    return IO_PGTABLE_MAIR;
}

unsigned int mm_pa_bits(void) {
    return MM_PA_BITS;
}

bool mmu_enabled(void) {
    return (read_sysreg(sctlr_el1) & SCTLR_M) != 0;
}

static void local_tlb_flush_all(void) {
    __asm__ volatile("dsb ishst\n tlbi vmalle1is\n dsb ish\n isb" ::: "memory");
}

bool mmu_enable(void) {
    if (!kernel_l0) {
        kernel_l0 = alloc_page();
        kernel_l1 = alloc_page();
        if (!kernel_l0 || !kernel_l1)
            return false;
        /* Devices: Device-nGnRE, never executable. RAM: Normal write-back, executable at EL1 only. Both
         * privileged-only (AP = 00) and global. */
        kernel_l1[0] =
            0 | DESC_ATTRINDX(IO_PGTABLE_MAIR_IDX_DEVICE) | DESC_AF | DESC_PXN | DESC_UXN | DESC_VALID;
        kernel_l1[FW_RAM_BASE / GIB] = FW_RAM_BASE | DESC_ATTRINDX(IO_PGTABLE_MAIR_IDX_NORMAL) |
                                       DESC_SH_INNER | DESC_AF | DESC_UXN | DESC_VALID;
        kernel_l0[0] = (uint64_t)(uintptr_t)kernel_l1 | DESC_TABLE | DESC_VALID;
    }
    if (mmu_enabled())
        return true;
    write_sysreg(mair_el1, IO_PGTABLE_MAIR);
    write_sysreg(tcr_el1, TCR_VALUE);
    write_sysreg(ttbr0_el1, (uint64_t)(uintptr_t)kernel_l0);
    write_sysreg(ttbr1_el1, 0);
    __asm__ volatile("dsb ish\n isb" ::: "memory");
    local_tlb_flush_all();
    write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) | SCTLR_M | SCTLR_C | SCTLR_I);
    __asm__ volatile("isb" ::: "memory");
    current_mm = NULL;
    return true;
}

void mmu_disable(void) {
    mm_switch(NULL);
    write_sysreg(sctlr_el1, read_sysreg(sctlr_el1) & ~(SCTLR_M | SCTLR_C | SCTLR_I));
    __asm__ volatile("isb" ::: "memory");
    local_tlb_flush_all();
}

/* ---- CPU TLB callbacks of an mm's tables (cookie: the mm) ---- */

static uint64_t tlbi_operand(const struct mm_struct *mm, uint64_t va) {
    return ((uint64_t)mm->asid << TTBR_ASID_SHIFT) | ((va >> PAGE_SHIFT) & ((1ULL << 44) - 1));
}

static void cpu_flush_asid(struct mm_struct *mm) {
    __asm__ volatile("dsb ishst\n tlbi aside1is, %0\n dsb ish\n isb"
                     :
                     : "r"((uint64_t)mm->asid << TTBR_ASID_SHIFT)
                     : "memory");
}

static void cpu_flush_range(struct mm_struct *mm, uint64_t va, uint64_t size, uint64_t step, bool leaf) {
    if (size / step > TLBI_MAX_PAGES) {
        cpu_flush_asid(mm);
        return;
    }
    __asm__ volatile("dsb ishst" ::: "memory");
    for (uint64_t offset = 0; offset < size; offset += step) {
        if (leaf)
            __asm__ volatile("tlbi vale1is, %0" : : "r"(tlbi_operand(mm, va + offset)) : "memory");
        else
            __asm__ volatile("tlbi vae1is, %0" : : "r"(tlbi_operand(mm, va + offset)) : "memory");
    }
    __asm__ volatile("dsb ish\n isb" ::: "memory");
}

static void cpu_tlb_flush_all(void *cookie) {
    cpu_flush_asid(cookie);
}

static void cpu_tlb_flush_walk(uint64_t iova, size_t size, size_t granule, void *cookie) {
    cpu_flush_range(cookie, iova, size, granule, false);
}

static void cpu_tlb_sync(struct iommu_iotlb_gather *gather, void *cookie) {
    if (!iommu_iotlb_gather_empty(gather))
        cpu_flush_range(cookie, gather->start, gather->end - gather->start + 1, gather->pgsize, true);
}

static void cpu_tlb_add_page(struct iommu_iotlb_gather *gather, uint64_t iova, size_t granule, void *cookie) {
    if (!iommu_iotlb_gather_empty(gather) &&
        (gather->pgsize != granule || iommu_iotlb_gather_is_disjoint(gather, iova, granule))) {
        cpu_tlb_sync(gather, cookie);
        iommu_iotlb_gather_init(gather);
    }
    iommu_iotlb_gather_add_range(gather, iova, granule);
    gather->pgsize = granule;
}

static const struct iommu_flush_ops cpu_flush_ops = {
    .tlb_flush_all = cpu_tlb_flush_all,
    .tlb_flush_walk = cpu_tlb_flush_walk,
    .tlb_add_page = cpu_tlb_add_page,
    .tlb_sync = cpu_tlb_sync,
};

/* ---- address spaces ---- */

struct mm_struct *mm_create(void) {
    if (!kernel_l1)
        return NULL;
    unsigned int asid = 1;
    while (asid < MM_ASID_COUNT && asid_used[asid])
        asid++;
    if (asid == MM_ASID_COUNT)
        return NULL;
    struct mm_struct *mm = alloc_page();
    if (!mm)
        return NULL;
    struct io_pgtable_cfg cfg = {
        .granule = PAGE_SIZE, .ias = MM_VA_BITS, .oas = MM_PA_BITS, .tlb = &cpu_flush_ops};
    mm->pgtable = alloc_io_pgtable_ops(ARM_64_LPAE_S1, &cfg, mm);
    if (!mm->pgtable) {
        free_page(mm);
        return NULL;
    }
    mm->asid = (uint16_t)asid;
    asid_used[asid] = true;
    mm->pgd = cfg.arm_lpae_s1_cfg.ttbr;
    /* The firmware's identity map below MM_USER_VA_START: io-pgtable never walks into entry 0 since no user
     * VA selects it, and mm_exit unhooks it before the tables are freed. */
    *(volatile uint64_t *)(uintptr_t)mm->pgd = (uint64_t)(uintptr_t)kernel_l1 | DESC_TABLE | DESC_VALID;
    return mm;
}

static bool user_range(uint64_t va, uint64_t size) {
    return size != 0 && ((va | size) & (PAGE_SIZE - 1)) == 0 && va >= MM_USER_VA_START && va + size > va &&
           va + size <= MM_USER_VA_END;
}

const struct vm_area *mm_find_vma(const struct mm_struct *mm, uint64_t va) {
    for (unsigned int i = 0; i < MM_MAX_VMAS; i++)
        if (mm->vmas[i].end != 0 && va >= mm->vmas[i].start && va < mm->vmas[i].end)
            return &mm->vmas[i];
    return NULL;
}

static unsigned int iommu_prot(unsigned int prot) {
    return ((prot & MM_PROT_READ) ? IOMMU_READ : 0U) | ((prot & MM_PROT_WRITE) ? IOMMU_WRITE : 0U) |
           ((prot & MM_PROT_EXEC) ? 0U : IOMMU_NOEXEC);
}

static int map_new_page(struct mm_struct *mm, uint64_t va, unsigned int prot) {
    void *page = alloc_page();
    if (!page)
        return -ENOMEM;
    int result =
        mm->pgtable->map(mm->pgtable, va, (uint64_t)(uintptr_t)page, PAGE_SIZE, iommu_prot(prot), NULL);
    if (result) {
        free_page(page);
        return result;
    }
    mm->resident_pages++;
    return 0;
}

int mm_map(struct mm_struct *mm, uint64_t va, uint64_t size, unsigned int prot, unsigned int flags) {
    if (!user_range(va, size) || !(prot & (MM_PROT_READ | MM_PROT_WRITE)))
        return -EINVAL;
    struct vm_area *slot = NULL;
    for (unsigned int i = 0; i < MM_MAX_VMAS; i++) {
        struct vm_area *vma = &mm->vmas[i];
        if (vma->end == 0) {
            if (!slot)
                slot = vma;
        } else if (va < vma->end && vma->start < va + size) {
            return -EEXIST;
        }
    }
    if (!slot)
        return -ENOMEM;
    *slot = (struct vm_area){.start = va, .end = va + size, .prot = prot};
    if (flags & MM_MAP_POPULATE) {
        for (uint64_t offset = 0; offset < size; offset += PAGE_SIZE) {
            int result = map_new_page(mm, va + offset, prot);
            if (result) {
                mm_unmap(mm, va, size);
                return result;
            }
        }
    }
    return 0;
}

int mm_populate_page(struct mm_struct *mm, uint64_t va, bool write) {
    const struct vm_area *vma = mm_find_vma(mm, va);
    if (!vma)
        return -EFAULT;
    if (!(vma->prot & (write ? MM_PROT_WRITE : MM_PROT_READ)))
        return -EACCES;
    uint64_t page_va = va & ~(uint64_t)(PAGE_SIZE - 1);
    if (mm->pgtable->iova_to_phys(mm->pgtable, page_va) != 0)
        return 0; /* another fault on the same page got there first */
    return map_new_page(mm, page_va, vma->prot);
}

static void notify_invalidate(struct mm_struct *mm, uint64_t start, uint64_t end) {
    for (struct mmu_notifier *n = mm->notifiers; n; n = n->next)
        if (n->ops->invalidate_range)
            n->ops->invalidate_range(n, mm, start, end);
}

/* Clears one batch window: PTEs, CPU TLB, notifiers, then frees the pages. */
static void unmap_window(struct mm_struct *mm, uint64_t start, uint64_t end) {
    uint64_t pages[UNMAP_BATCH_PAGES];
    unsigned int count = 0;
    for (uint64_t va = start; va < end; va += PAGE_SIZE) {
        uint64_t pa = mm->pgtable->iova_to_phys(mm->pgtable, va);
        if (pa)
            pages[count++] = pa;
    }
    if (count == 0)
        return;
    io_pgtable_unmap_strict(mm->pgtable, start, end - start);
    notify_invalidate(mm, start, end);
    for (unsigned int i = 0; i < count; i++)
        free_page((void *)(uintptr_t)pages[i]);
    mm->resident_pages -= count;
}

static void unmap_pages(struct mm_struct *mm, uint64_t start, uint64_t end) {
    for (uint64_t window = start; window < end;) {
        uint64_t window_end = window + (uint64_t)UNMAP_BATCH_PAGES * PAGE_SIZE;
        if (window_end > end || window_end < window)
            window_end = end;
        unmap_window(mm, window, window_end);
        window = window_end;
    }
}

int mm_unmap(struct mm_struct *mm, uint64_t va, uint64_t size) {
    if (!user_range(va, size))
        return -EINVAL;
    uint64_t end = va + size;
    for (unsigned int i = 0; i < MM_MAX_VMAS; i++) {
        struct vm_area *vma = &mm->vmas[i];
        if (vma->end == 0 || vma->end <= va || vma->start >= end)
            continue;
        uint64_t cut_start = vma->start > va ? vma->start : va, cut_end = vma->end < end ? vma->end : end;
        unmap_pages(mm, cut_start, cut_end);
        if (cut_start == vma->start && cut_end == vma->end) {
            vma->end = 0;
        } else if (cut_start == vma->start) {
            vma->start = cut_end;
        } else if (cut_end == vma->end) {
            vma->end = cut_start;
        } else {
            /* A hole in the middle: the upper part becomes a VMA of its own. */
            struct vm_area upper = {.start = cut_end, .end = vma->end, .prot = vma->prot};
            vma->end = cut_start;
            for (unsigned int j = 0; j < MM_MAX_VMAS; j++)
                if (mm->vmas[j].end == 0) {
                    mm->vmas[j] = upper;
                    upper.end = 0;
                    break;
                }
            if (upper.end != 0) /* no slot left: the upper part's pages go as well */
                unmap_pages(mm, upper.start, upper.end);
        }
    }
    return 0;
}

void mm_switch(struct mm_struct *mm) {
    uint64_t ttbr = mm ? (mm->pgd | ((uint64_t)mm->asid << TTBR_ASID_SHIFT)) : (uint64_t)(uintptr_t)kernel_l0;
    /* The walker must see the tables as written before it may walk them. */
    __asm__ volatile("dsb ishst" ::: "memory");
    write_sysreg(ttbr0_el1, ttbr);
    __asm__ volatile("isb" ::: "memory");
    current_mm = mm;
}

struct mm_struct *mm_current(void) {
    return current_mm;
}

void mm_exit(struct mm_struct *mm) {
    for (struct mmu_notifier *n = mm->notifiers; n; n = n->next)
        if (n->ops->release)
            n->ops->release(n, mm);
    mm->notifiers = NULL;
    if (current_mm == mm)
        mm_switch(NULL);
    for (unsigned int i = 0; i < MM_MAX_VMAS; i++)
        if (mm->vmas[i].end != 0)
            mm_unmap(mm, mm->vmas[i].start, mm->vmas[i].end - mm->vmas[i].start);
    *(volatile uint64_t *)(uintptr_t)mm->pgd = 0; /* the shared identity table is not the mm's to free */
    free_io_pgtable_ops(mm->pgtable);             /* flushes the ASID first */
    asid_used[mm->asid] = false;
    free_page(mm);
}

uint64_t mm_va_to_pa(struct mm_struct *mm, uint64_t va) {
    if (va < MM_USER_VA_START || va >= MM_USER_VA_END)
        return 0;
    return mm->pgtable->iova_to_phys(mm->pgtable, va);
}

int mmu_notifier_register(struct mmu_notifier *notifier, struct mm_struct *mm) {
    for (struct mmu_notifier *n = mm->notifiers; n; n = n->next)
        if (n == notifier)
            return -EEXIST;
    notifier->next = mm->notifiers;
    mm->notifiers = notifier;
    return 0;
}

void mmu_notifier_unregister(struct mmu_notifier *notifier, struct mm_struct *mm) {
    for (struct mmu_notifier **link = &mm->notifiers; *link; link = &(*link)->next)
        if (*link == notifier) {
            *link = notifier->next;
            notifier->next = NULL;
            return;
        }
}
