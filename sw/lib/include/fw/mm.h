/* Processes' address spaces ("mm"), Linux style, for the CPU at EL1 and for SVA.
 *
 * mmu_enable() turns the MMU on with 48-bit VAs, the 4 KiB granule and 8-bit ASIDs. The firmware keeps
 * running on an identity map: TTBR0's level-0 entry 0 (VAs below 512 GiB) points at one shared level-1 table
 * of 1 GiB blocks (devices at 0..1 GiB, RAM at 1..2 GiB), privileged-only and global (nG = 0). Every mm has
 * its own level-0 table whose entry 0 is that same table, so the firmware runs unchanged under any mm;
 * process mappings live at [MM_USER_VA_START, MM_USER_VA_END), are ASID-tagged (nG = 1) and
 * unprivileged-accessible (AP[1] = 1), like Linux user pages. A device sharing the tables (an SVA CD: TTB0 =
 * mm->pgd, ASID = mm->asid, TCR fields from mm_tcr(), MAIR = mm_mair()) thus reaches only process pages with
 * unprivileged transactions; the identity map gives it permission faults.
 *
 * The tables are io-pgtable stage-1 tables (fwsmmu/io_pgtable.h) whose TLB callbacks are CPU TLBIs by ASID/VA
 * (inner-shareable broadcast). Unmaps then call the mm's notifiers, which is where an IOMMU driver
 * invalidates its own TLBs and ATCs; exit calls their release first. */
#ifndef FW_MM_H
#define FW_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fwsmmu/io_pgtable.h>

#define MM_USER_VA_START 0x0000008000000000ULL /* level-0 entry 1: clear of the identity map */
#define MM_USER_VA_END 0x0001000000000000ULL   /* 48-bit VAs */
#define MM_VA_BITS 48U
#define MM_MAX_VMAS 16U
#define MM_ASID_COUNT 256U /* TCR_EL1.AS = 0; ASID 0 is the firmware's own (no process) */

/* mm_map prot (Linux's PROT_*). */
#define MM_PROT_READ (1U << 0)
#define MM_PROT_WRITE (1U << 1)
#define MM_PROT_EXEC (1U << 2)
/* mm_map flags */
#define MM_MAP_POPULATE (1U << 0) /* allocate and map every page now; otherwise mm_populate_page does it */

struct mm_struct;
struct mmu_notifier;

struct mmu_notifier_ops {
    /* [start, end) of mm no longer maps what it did: the CPU TLB is already invalidated, the pages are freed
     * after this returns. */
    void (*invalidate_range)(struct mmu_notifier *notifier, struct mm_struct *mm, uint64_t start,
                             uint64_t end);
    /* The mm is exiting: its mappings and tables go away right after this returns. */
    void (*release)(struct mmu_notifier *notifier, struct mm_struct *mm);
};

struct mmu_notifier {
    const struct mmu_notifier_ops *ops;
    struct mmu_notifier *next; /* the mm's list; owned by mm.c */
};

struct vm_area {
    uint64_t start, end; /* [start, end), page aligned; end == 0: slot unused */
    unsigned int prot;   /* MM_PROT_* */
};

struct mm_struct {
    uint16_t asid;
    uint64_t pgd; /* PA of the level-0 table: TTBR0.BADDR and an SVA CD's TTB0 */
    struct io_pgtable_ops *pgtable;
    struct vm_area vmas[MM_MAX_VMAS];
    struct mmu_notifier *notifiers;
    size_t resident_pages; /* data pages mapped now */
};

/* ---- the CPU's MMU ---- */
/* Builds the identity map (once), programs MAIR/TCR/TTBR0 (ASID 0, no process), TTBR1 unused (EPD1), and
 * turns on the MMU and caches. Returns false if the page allocator is exhausted. */
bool mmu_enable(void);
/* Back to the MMU off (TTBR0 left on the firmware's tables). */
void mmu_disable(void);
bool mmu_enabled(void);
/* The values the CPU runs with: a shared CD copies them. */
uint64_t mm_tcr(void);
uint64_t mm_mair(void);
/* PARange the TCR's IPS encodes, in bits. */
unsigned int mm_pa_bits(void);

/* ---- address spaces ---- */
/* A new empty address space with a free ASID; NULL when ASIDs or pages run out. Needs mmu_enable() first. */
struct mm_struct *mm_create(void);
/* Adds a VMA [va, va + size) (page aligned, inside the user range, not overlapping another VMA). With
 * MM_MAP_POPULATE every page is allocated (zeroed) and mapped now. Returns 0, -EINVAL, -EEXIST, -ENOMEM. */
int mm_map(struct mm_struct *mm, uint64_t va, uint64_t size, unsigned int prot, unsigned int flags);
/* Fault handling: maps a zeroed page at the page of va if a VMA allows the access. Returns 0 (mapped now or
 * already), -EFAULT (no VMA there), -EACCES (the VMA forbids the access), -ENOMEM. */
int mm_populate_page(struct mm_struct *mm, uint64_t va, bool write);
/* Removes the VMAs' parts in [va, va + size) and the pages mapped there: PTEs cleared, CPU TLB invalidated by
 * ASID/VA, notifiers' invalidate_range, then the pages freed. Returns 0 or -EINVAL. */
int mm_unmap(struct mm_struct *mm, uint64_t va, uint64_t size);
/* Runs the CPU on mm's tables (TTBR0 = pgd | ASID << 48, ISB); NULL: the firmware's own tables. */
void mm_switch(struct mm_struct *mm);
struct mm_struct *mm_current(void);
/* Process exit: notifiers' release, then every mapping, table and the ASID go (switching away first if mm is
 * current). */
void mm_exit(struct mm_struct *mm);
/* PA behind va in mm, or 0 if nothing is mapped there. */
uint64_t mm_va_to_pa(struct mm_struct *mm, uint64_t va);
/* The VMA holding va, or NULL. */
const struct vm_area *mm_find_vma(const struct mm_struct *mm, uint64_t va);

/* Returns 0, or -EEXIST if the notifier is on this mm already. Notifiers are called newest first. */
int mmu_notifier_register(struct mmu_notifier *notifier, struct mm_struct *mm);
void mmu_notifier_unregister(struct mmu_notifier *notifier, struct mm_struct *mm);

#endif
