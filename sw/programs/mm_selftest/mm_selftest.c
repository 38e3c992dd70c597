/* Processes at EL1: two address spaces map the same VA to different pages, the CPU reads and writes through
 * each after mm_switch (ASID-tagged: no TLB flush between them), a lazily populated VMA gets its pages from
 * the fault path (mm_populate_page, called here as an IOMMU fault handler would), unmap reaches the mm's
 * notifier with the range, exit calls release, and the page allocator ends where it started. */
#include <stdio.h>

#include <fw/errno.h>
#include <fw/mm.h>
#include <fw/page_alloc.h>
#include <fw/sysreg.h>

#define SHARED_VA 0x0000aaaa00000000ULL /* both processes map it */
#define LAZY_VA 0x0000aaab00000000ULL
#define PAGES 4U
#define PATTERN_A 0xa0a0a0a000000000ULL
#define PATTERN_B 0xb0b0b0b000000000ULL

static int failures;

static void check(bool ok, const char *what) {
    printf("mm_selftest: %s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
}

struct recording_notifier {
    struct mmu_notifier notifier; /* first: the callbacks convert back */
    unsigned int invalidations, releases;
    uint64_t last_start, last_end;
    struct mm_struct *last_mm;
};

static void record_invalidate(struct mmu_notifier *notifier, struct mm_struct *mm, uint64_t start,
                              uint64_t end) {
    struct recording_notifier *r = (struct recording_notifier *)notifier;
    r->invalidations++;
    r->last_start = start;
    r->last_end = end;
    r->last_mm = mm;
}

static void record_release(struct mmu_notifier *notifier, struct mm_struct *mm) {
    struct recording_notifier *r = (struct recording_notifier *)notifier;
    r->releases++;
    r->last_mm = mm;
    /* Release comes before teardown: the mm's pages are still mapped. */
    if (mm_va_to_pa(mm, SHARED_VA) == 0)
        r->releases += 100;
}

static const struct mmu_notifier_ops recording_ops = {.invalidate_range = record_invalidate,
                                                      .release = record_release};

static void fill(uint64_t va, uint64_t pattern) {
    volatile uint64_t *words = (volatile uint64_t *)(uintptr_t)va;
    for (unsigned int page = 0; page < PAGES; page++)
        words[page * (PAGE_SIZE / 8) + 1] = pattern | page;
}

static bool holds(uint64_t va, uint64_t pattern) {
    volatile uint64_t *words = (volatile uint64_t *)(uintptr_t)va;
    for (unsigned int page = 0; page < PAGES; page++)
        if (words[page * (PAGE_SIZE / 8) + 1] != (pattern | page))
            return false;
    return true;
}

/* The same word read through the identity map, at the PA the process's tables give. */
static bool zeroed(uint64_t va) {
    volatile uint64_t *words = (volatile uint64_t *)(uintptr_t)va;
    for (unsigned int page = 0; page < PAGES; page++)
        if (words[page * (PAGE_SIZE / 8) + 1] != 0)
            return false;
    return true;
}

static uint64_t word_at_pa(struct mm_struct *mm, uint64_t va) {
    uint64_t pa = mm_va_to_pa(mm, va);
    return pa ? *(volatile uint64_t *)(uintptr_t)pa : 0;
}

int main(void) {
    check(mmu_enable() && mmu_enabled(), "MMU on, firmware on its identity map");
    size_t baseline = page_alloc_pages_in_use();

    struct mm_struct *a = mm_create(), *b = mm_create();
    if (!a || !b) {
        printf("mm_selftest: cannot create processes\n");
        return 1;
    }
    check(a->asid != 0 && b->asid != 0 && a->asid != b->asid && a->pgd != b->pgd,
          "two mms, own ASIDs and tables");
    static struct recording_notifier notify_a = {.notifier = {.ops = &recording_ops}},
                                     notify_b = {.notifier = {.ops = &recording_ops}};
    check(mmu_notifier_register(&notify_a.notifier, a) == 0 &&
              mmu_notifier_register(&notify_b.notifier, b) == 0 &&
              mmu_notifier_register(&notify_a.notifier, a) == -EEXIST,
          "notifiers registered");

    check(mm_map(a, SHARED_VA, PAGES * PAGE_SIZE, MM_PROT_READ | MM_PROT_WRITE, MM_MAP_POPULATE) == 0 &&
              a->resident_pages == PAGES,
          "A: eager VMA populated");
    check(mm_map(b, SHARED_VA, PAGES * PAGE_SIZE, MM_PROT_READ | MM_PROT_WRITE, 0) == 0 &&
              b->resident_pages == 0 && mm_va_to_pa(b, SHARED_VA) == 0,
          "B: lazy VMA has no pages");
    check(mm_map(a, SHARED_VA + PAGE_SIZE, PAGE_SIZE, MM_PROT_READ, 0) == -EEXIST &&
              mm_map(a, 0x40080000ULL, PAGE_SIZE, MM_PROT_READ, 0) == -EINVAL,
          "overlapping VMA and firmware addresses refused");

    mm_switch(a);
    check(read_sysreg(ttbr0_el1) == (a->pgd | ((uint64_t)a->asid << 48)),
          "switch to A: TTBR0 = pgd | ASID << 48");
    fill(SHARED_VA, PATTERN_A);
    check(holds(SHARED_VA, PATTERN_A) && word_at_pa(a, SHARED_VA + 8) == PATTERN_A,
          "A: CPU writes through its VA");

    /* B's pages come from the fault path, one by one, as an IOMMU fault handler would ask for them. */
    int populated = 0;
    for (unsigned int page = 0; page < PAGES; page++)
        populated |= mm_populate_page(b, SHARED_VA + page * PAGE_SIZE + 0x10, true);
    check(populated == 0 && b->resident_pages == PAGES && mm_populate_page(b, SHARED_VA, false) == 0 &&
              b->resident_pages == PAGES,
          "B: pages populated on demand (twice is harmless)");
    check(mm_populate_page(b, SHARED_VA + PAGES * PAGE_SIZE, false) == -EFAULT,
          "B: fault outside any VMA refused");
    check(mm_map(b, LAZY_VA, PAGE_SIZE, MM_PROT_READ, 0) == 0 &&
              mm_populate_page(b, LAZY_VA, true) == -EACCES && mm_populate_page(b, LAZY_VA, false) == 0,
          "B: write fault on a read-only VMA refused, read fault served");

    mm_switch(b);
    check(zeroed(SHARED_VA) && *(volatile uint64_t *)(uintptr_t)LAZY_VA == 0,
          "B: same VA, fresh zeroed pages");
    fill(SHARED_VA, PATTERN_B);
    check(holds(SHARED_VA, PATTERN_B) && word_at_pa(b, SHARED_VA + 8) == PATTERN_B &&
              mm_va_to_pa(a, SHARED_VA) != mm_va_to_pa(b, SHARED_VA),
          "B: CPU writes through the same VA to other pages");
    mm_switch(a);
    check(holds(SHARED_VA, PATTERN_A), "A again: its own data at the VA");
    mm_switch(b);
    check(holds(SHARED_VA, PATTERN_B), "B again: its own data at the VA");

    size_t before_unmap = page_alloc_pages_in_use();
    check(mm_unmap(a, SHARED_VA + PAGE_SIZE, PAGE_SIZE) == 0 && notify_a.invalidations == 1 &&
              notify_a.last_start == SHARED_VA + PAGE_SIZE &&
              notify_a.last_end == SHARED_VA + 2 * PAGE_SIZE && notify_a.last_mm == a &&
              notify_b.invalidations == 0,
          "unmap in A: A's notifier got the range, B's nothing");
    check(mm_va_to_pa(a, SHARED_VA + PAGE_SIZE) == 0 && mm_va_to_pa(a, SHARED_VA) != 0 &&
              mm_find_vma(a, SHARED_VA + PAGE_SIZE) == NULL &&
              mm_find_vma(a, SHARED_VA + 2 * PAGE_SIZE) != NULL && a->resident_pages == PAGES - 1 &&
              page_alloc_pages_in_use() == before_unmap - 1,
          "unmap in A: hole in the VMA, page freed");
    mm_switch(a);
    volatile uint64_t *a_words = (volatile uint64_t *)(uintptr_t)SHARED_VA;
    check(a_words[1] == PATTERN_A && a_words[2 * (PAGE_SIZE / 8) + 1] == (PATTERN_A | 2),
          "A: the rest still readable after the unmap");

    mm_exit(a);
    check(notify_a.releases == 1 && mm_current() == NULL && notify_b.releases == 0,
          "exit of A: release called once");
    mm_switch(b);
    check(holds(SHARED_VA, PATTERN_B), "B unaffected by A's exit");
    unsigned int b_invalidations = notify_b.invalidations;
    mm_exit(b);
    check(notify_b.releases == 1 && notify_b.invalidations == b_invalidations,
          "exit of B: release, no notifier after");

    check(page_alloc_pages_in_use() == baseline, "page allocator back to its baseline");
    /* The ASIDs are free again. */
    struct mm_struct *c = mm_create();
    check(c && c->asid == 1, "ASID reused after exit");
    if (c)
        mm_exit(c);
    check(page_alloc_pages_in_use() == baseline, "no pages left behind");
    mmu_disable();
    if (failures == 0)
        printf("mm_selftest: ok\n");
    return failures == 0 ? 0 : 1;
}
