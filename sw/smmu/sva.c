/* Shared Virtual Addressing and I/O page faults, after Linux's arm-smmu-v3-sva.c, iommu-sva.c and
 * io-pgfault.c (the order of operations, not their code). */
#include <stdio.h>
#include <string.h>

#include <fw/errno.h>
#include <fw/page_alloc.h>
#include <fw/sysreg.h>
#include <fwsmmu/iommu.h>

#include "iommu_internal.h"

#define TCR_IPS_SHIFT 32U
#define TCR_IPS_MASK 7U

#define trace(...)                                                                                           \
    do {                                                                                                     \
        if (iommu_trace_enabled)                                                                             \
            printf(__VA_ARGS__);                                                                             \
    } while (0)

/* One per mm (Linux: the iommu_mm_data with its PASID, plus the SMMU's mmu notifier and shared CD). */
struct sva_mm {
    struct mmu_notifier notifier; /* first: the notifier callbacks convert back */
    struct mm_struct *mm;         /* NULL once released */
    uint32_t pasid;
    uint16_t asid;
    unsigned int bonds;
    bool used, released;
};

struct iommu_sva {
    struct smmu_master *master;
    struct sva_mm *smm;
    unsigned int refs;
    bool used;
};

static struct sva_mm sva_mms[IOMMU_MAX_SVA_MMS];
static struct iommu_sva bonds[IOMMU_MAX_SVA_BONDS];
static bool pasid_used[IOMMU_PASID_MAX];

/* Complete groups waiting for the fault work (Linux: the iopf workqueue). */
static struct iommu_fault_group pending[IOMMU_MAX_PENDING_GROUPS];
static unsigned int pending_head, pending_count;

bool iommu_master_has_bonds(const struct smmu_master *master) {
    for (unsigned int i = 0; i < IOMMU_MAX_SVA_BONDS; i++)
        if (bonds[i].used && bonds[i].master == master)
            return true;
    return false;
}

unsigned int iommu_sva_bond_count(void) {
    unsigned int count = 0;
    for (unsigned int i = 0; i < IOMMU_MAX_SVA_BONDS; i++)
        count += bonds[i].used;
    return count;
}

static struct iommu_sva *find_bond(const struct smmu_master *master, uint32_t pasid) {
    for (unsigned int i = 0; i < IOMMU_MAX_SVA_BONDS; i++)
        if (bonds[i].used && bonds[i].master == master && bonds[i].smm->pasid == pasid)
            return &bonds[i];
    return NULL;
}

static struct sva_mm *find_mm(const struct mm_struct *mm) {
    for (unsigned int i = 0; i < IOMMU_MAX_SVA_MMS; i++)
        if (sva_mms[i].used && !sva_mms[i].released && sva_mms[i].mm == mm)
            return &sva_mms[i];
    return NULL;
}

uint32_t iommu_sva_mm_pasid(const struct mm_struct *mm) {
    const struct sva_mm *smm = find_mm(mm);
    return smm ? smm->pasid : 0;
}

uint32_t iommu_sva_get_pasid(const struct iommu_sva *handle) {
    return handle ? handle->smm->pasid : 0;
}

/* The CD sharing the process's tables: TTB0 = pgd, T0SZ/TG0/IPS from the CPU's TCR, MAIR_EL1, the mm's ASID
 * (ASET = 0: shared with the CPU), EPD1. */
static void shared_cd(const struct smmu_master *master, const struct sva_mm *smm, uint64_t cd[4]) {
    unsigned int ips = (unsigned int)(mm_tcr() >> TCR_IPS_SHIFT) & TCR_IPS_MASK;
    iommu_build_cd(master->smmu, 64U - MM_VA_BITS, IO_PGTABLE_TG_4K, ips, smm->mm->pgd, mm_mair(), smm->asid,
                   true, master->stall_enabled, cd);
}

/* ---- mm notifier ---- */

static void sva_invalidate_range(struct mmu_notifier *notifier, struct mm_struct *mm, uint64_t start,
                                 uint64_t end) {
    (void)mm;
    struct sva_mm *smm = (struct sva_mm *)notifier;
    struct smmu_device *smmu = iommu_smmu;
    trace("smmu_mm_invalidate: pasid=%u start=0x%llx end=0x%llx\n", (unsigned int)smm->pasid,
          (unsigned long long)start, (unsigned long long)end);
    /* PTM is set (no broadcast TLB maintenance reaches the SMMU): TLBI by ASID and range, walk caches
     * included since unmap may have freed tables; the SYNC before any ATC invalidation, so that a translation
     * request racing it cannot refill the ATC from a stale TLB entry. */
    smmu_tlbi_s1_range_walk(smmu, smm->asid, 0, start, end - start);
    for (unsigned int i = 0; i < IOMMU_MAX_SVA_BONDS; i++)
        if (bonds[i].used && bonds[i].smm == smm)
            smmu_atc_inv_master(bonds[i].master, true, smm->pasid, start, end - start);
}

static void sva_release(struct mmu_notifier *notifier, struct mm_struct *mm) {
    (void)mm;
    struct sva_mm *smm = (struct sva_mm *)notifier;
    trace("smmu_mm_release: pasid=%u\n", (unsigned int)smm->pasid);
    /* DMA may still run: the CD stays valid (no C_BAD_CD) but EPD0 makes every walk a translation fault, ATS
     * requests get no access and page requests are refused below. */
    for (unsigned int i = 0; i < IOMMU_MAX_SVA_BONDS; i++)
        if (bonds[i].used && bonds[i].smm == smm) {
            uint64_t cd[4];
            shared_cd(bonds[i].master, smm, cd);
            cd[0] |= SMMU_CD0_EPD0;
            iommu_write_cd(bonds[i].master, smm->pasid, cd);
        }
    smmu_tlbi_asid(iommu_smmu, smm->asid, 0);
    for (unsigned int i = 0; i < IOMMU_MAX_SVA_BONDS; i++)
        if (bonds[i].used && bonds[i].smm == smm)
            smmu_atc_inv_master(bonds[i].master, true, smm->pasid, 0, 0);
    smm->released = true;
    smm->mm = NULL;
}

static const struct mmu_notifier_ops sva_notifier_ops = {
    .invalidate_range = sva_invalidate_range,
    .release = sva_release,
};

/* ---- bind / unbind ---- */

static bool sva_supported(const struct smmu_master *master) {
    const struct smmu_features *f = &master->smmu->features;
    if (!f->s1p || master->ssid_bits == 0 || !(f->granules & (1U << PAGE_SHIFT)))
        return false;
    /* As Linux's arm_smmu_sva_supported: the SMMU must output every PA the CPU can, and walk coherently. */
    return f->oas_bits >= mm_pa_bits() && f->coherent;
}

static int alloc_pasid(unsigned int limit_bits) {
    uint32_t limit = 1U << limit_bits;
    for (uint32_t pasid = 1; pasid < IOMMU_PASID_MAX && pasid < limit; pasid++)
        if (!pasid_used[pasid]) {
            pasid_used[pasid] = true;
            return (int)pasid;
        }
    return -ENOSPC;
}

struct iommu_sva *iommu_sva_bind_device(struct smmu_master *master, struct mm_struct *mm) {
    if (!sva_supported(master)) {
        printf("smmu: %s: SVA not supported\n", master->name);
        return NULL;
    }
    struct sva_mm *smm = find_mm(mm);
    if (smm) {
        struct iommu_sva *bond = find_bond(master, smm->pasid);
        if (bond) {
            bond->refs++;
            trace("smmu_bind_get: dev=%s pasid=%u refs=%u\n", master->name, (unsigned int)smm->pasid,
                  bond->refs);
            return bond;
        }
        if (smm->pasid >> master->ssid_bits)
            return NULL; /* the mm's PASID is beyond this device's PASID space */
    } else {
        for (unsigned int i = 0; i < IOMMU_MAX_SVA_MMS && !smm; i++)
            if (!sva_mms[i].used)
                smm = &sva_mms[i];
        if (!smm)
            return NULL;
        int pasid = alloc_pasid(master->ssid_bits);
        if (pasid < 0)
            return NULL;
        *smm = (struct sva_mm){.notifier = {.ops = &sva_notifier_ops},
                               .mm = mm,
                               .pasid = (uint32_t)pasid,
                               .asid = mm->asid,
                               .used = true};
        mmu_notifier_register(&smm->notifier, mm);
    }
    struct iommu_sva *bond = NULL;
    for (unsigned int i = 0; i < IOMMU_MAX_SVA_BONDS && !bond; i++)
        if (!bonds[i].used)
            bond = &bonds[i];
    uint64_t cd[4];
    shared_cd(master, smm, cd);
    if (!bond || iommu_write_cd(master, smm->pasid, cd) != 0) {
        if (smm->bonds == 0) {
            mmu_notifier_unregister(&smm->notifier, mm);
            pasid_used[smm->pasid] = false;
            smm->used = false;
        }
        return NULL;
    }
    bool first_bond = !iommu_master_has_bonds(master);
    *bond = (struct iommu_sva){.master = master, .smm = smm, .refs = 1, .used = true};
    smm->bonds++;
    if (first_bond)
        iommu_install_ste(master); /* the STE now needs the CD table even without a RID domain */
    trace("smmu_bind_alloc: dev=%s pasid=%u\n", master->name, (unsigned int)smm->pasid);
    return bond;
}

static void discard_partial(struct smmu_master *master, bool all, uint32_t pasid) {
    unsigned int kept = 0;
    for (unsigned int i = 0; i < master->partial_count; i++) {
        const struct iommu_fault *fault = &master->partial[i];
        if (all || (fault->pasid_valid && fault->pasid == pasid))
            master->partial_dropped++;
        else
            master->partial[kept++] = *fault;
    }
    master->partial_count = kept;
}

void iommu_sva_unbind_device(struct iommu_sva *handle) {
    if (!handle || !handle->used)
        return;
    struct smmu_master *master = handle->master;
    struct sva_mm *smm = handle->smm;
    if (--handle->refs) {
        trace("smmu_unbind_put: dev=%s pasid=%u refs=%u\n", master->name, (unsigned int)smm->pasid,
              handle->refs);
        return;
    }
    /* The device no longer uses the PASID. Answer whatever it asked before stopping (the bond still
     * resolves it), drop the groups whose Last never came, then remove the CD and every cached translation;
     * only then may the PASID go to another address space. */
    iommu_process_faults();
    discard_partial(master, false, smm->pasid);
    iommu_write_cd(master, smm->pasid, NULL);
    smmu_atc_inv_master(master, true, smm->pasid, 0, 0);
    smmu_tlbi_asid(master->smmu, smm->asid, 0);
    handle->used = false;
    if (!iommu_master_has_bonds(master))
        iommu_install_ste(master);
    trace("smmu_unbind_free: dev=%s pasid=%u\n", master->name, (unsigned int)smm->pasid);
    if (--smm->bonds == 0) {
        if (!smm->released)
            mmu_notifier_unregister(&smm->notifier, smm->mm);
        pasid_used[smm->pasid] = false;
        smm->used = false;
    }
}

int iommu_register_device_fault_handler(struct smmu_master *master, iommu_dev_fault_handler_t handler,
                                        void *data) {
    if (master->iopf_handler)
        return -EBUSY;
    master->iopf_handler = handler;
    master->iopf_data = data;
    return 0;
}

void iommu_unregister_device_fault_handler(struct smmu_master *master) {
    master->iopf_handler = NULL;
    master->iopf_data = NULL;
}

/* ---- I/O page faults ---- */

static const char *prot_string(const struct iommu_fault *fault) {
    static char text[8];
    unsigned int n = 0;
    if (fault->read)
        text[n++] = 'r';
    if (fault->write)
        text[n++] = 'w';
    if (fault->exec)
        text[n++] = 'x';
    if (fault->priv)
        text[n++] = 'p';
    if (n == 0)
        text[n++] = '-';
    text[n] = 0;
    return text;
}

static void trace_fault(const struct smmu_master *master, const struct iommu_fault *fault) {
    trace("dev_fault: dev=%s pasid=%u group=%u addr=0x%llx prot=%s last=%u\n", master->name,
          fault->pasid_valid ? (unsigned int)fault->pasid : 0U, (unsigned int)fault->grpid,
          (unsigned long long)fault->address, prot_string(fault), (unsigned int)fault->last);
}

static void respond(struct iommu_fault_group *group, enum iommu_page_response_code code) {
    struct smmu_master *master = group->master;
    const struct iommu_fault *last = &group->last;
    if (group->stall) {
        smmu_resume(master->smmu, master->sid, last->grpid, code == IOMMU_PAGE_RESP_SUCCESS);
    } else {
        static const unsigned int encoding[3] = {SMMU_PRI_RESP_SUCCESS, SMMU_PRI_RESP_INVALID,
                                                 SMMU_PRI_RESP_FAILURE};
        /* The PASID goes with the response when the request had one and the device needs it. */
        bool ssv = last->pasid_valid && master->prg_resp_needs_pasid;
        smmu_pri_resp(master->smmu, master->sid, ssv, last->pasid, last->grpid, encoding[code]);
    }
    master->responses[code]++;
    trace("dev_page_response: dev=%s pasid=%u group=%u code=%u\n", master->name,
          last->pasid_valid ? (unsigned int)last->pasid : 0U, (unsigned int)last->grpid, (unsigned int)code);
}

/* Linux's iommu_sva_handle_iopf: every page of the group against the bound mm. */
static enum iommu_page_response_code resolve(struct iommu_fault_group *group) {
    const struct iommu_fault *last = &group->last;
    if (!last->pasid_valid)
        return IOMMU_PAGE_RESP_INVALID; /* no recoverable faults on the RID domains */
    struct iommu_sva *bond = find_bond(group->master, last->pasid);
    if (!bond || bond->smm->released || !bond->smm->mm)
        return IOMMU_PAGE_RESP_INVALID; /* unbound, or the process has exited */
    struct mm_struct *mm = bond->smm->mm;
    for (unsigned int i = 0; i < group->count; i++) {
        const struct iommu_fault *fault = &group->faults[i];
        if (fault->priv)
            return IOMMU_PAGE_RESP_INVALID; /* process pages are user pages */
        if (fault->exec) {
            const struct vm_area *vma = mm_find_vma(mm, fault->address);
            if (!vma || !(vma->prot & MM_PROT_EXEC))
                return IOMMU_PAGE_RESP_INVALID;
        }
        if (mm_populate_page(mm, fault->address, fault->write) != 0)
            return IOMMU_PAGE_RESP_INVALID;
    }
    return IOMMU_PAGE_RESP_SUCCESS;
}

static void handle_group(struct iommu_fault_group *group) {
    enum iommu_page_response_code code = group->refused ? IOMMU_PAGE_RESP_INVALID : resolve(group);
    group->master->groups++;
    if (group->master->iopf_handler && !group->refused)
        group->master->iopf_handler(group, &code, group->master->iopf_data);
    respond(group, code);
}

static struct iommu_fault_group *queue_group(void) {
    if (pending_count == IOMMU_MAX_PENDING_GROUPS)
        return NULL;
    struct iommu_fault_group *group = &pending[(pending_head + pending_count) % IOMMU_MAX_PENDING_GROUPS];
    pending_count++;
    return group;
}

static void run_pending_groups(void) {
    while (pending_count) {
        struct iommu_fault_group group = pending[pending_head];
        pending_head = (pending_head + 1U) % IOMMU_MAX_PENDING_GROUPS;
        pending_count--;
        handle_group(&group);
    }
}

/* Linux's iommu_report_device_fault for page requests: partial until Last, then one group. */
static void report_fault(struct smmu_master *master, const struct iommu_fault *fault, bool stall) {
    master->faults++;
    trace_fault(master, fault);
    if (!fault->last) {
        if (master->partial_count == IOMMU_MAX_PARTIAL_FAULTS)
            master->partial_dropped++; /* its group will be answered from the faults kept */
        else
            master->partial[master->partial_count++] = *fault;
        return;
    }
    struct iommu_fault_group *group = queue_group();
    if (!group) {
        run_pending_groups();
        group = queue_group();
    }
    group->master = master;
    group->stall = stall;
    group->refused = false;
    group->last = *fault;
    group->count = 0;
    unsigned int kept = 0;
    for (unsigned int i = 0; i < master->partial_count; i++) {
        const struct iommu_fault *partial = &master->partial[i];
        if (partial->grpid == fault->grpid && group->count < IOMMU_MAX_GROUP_FAULTS - 1U)
            group->faults[group->count++] = *partial;
        else
            master->partial[kept++] = *partial;
    }
    master->partial_count = kept;
    group->faults[group->count++] = *fault;
}

static void handle_ppr(struct smmu_device *smmu, const struct smmu_ppr *ppr, bool overflow, void *context) {
    (void)context;
    if (overflow) {
        /* The SMMU answered the Last requests it could not queue; the partial groups they belonged to will
         * never be completed here, and their PRG indexes may come back for new groups. */
        for (unsigned int i = 0; i < IOMMU_MAX_MASTERS; i++)
            if (iommu_masters[i])
                discard_partial(iommu_masters[i], true, 0);
        return;
    }
    struct smmu_master *master = smmu_find_master(ppr->sid);
    if (ppr->last && ppr->ssv && !ppr->read && !ppr->write) {
        /* Stop marker: the device stopped the PASID without waiting for its responses; the requests before
         * it were already queued, and unbind flushes them. Nothing to answer. */
        if (master)
            master->stop_markers++;
        trace("dev_stop_marker: dev=%s pasid=%u\n", master ? master->name : "?", (unsigned int)ppr->ssid);
        return;
    }
    if (!master || !master->pri_enabled) {
        if (ppr->last) /* nobody asked for these: refuse the group */
            smmu_pri_resp(smmu, ppr->sid, false, 0, ppr->grpid, SMMU_PRI_RESP_INVALID);
        return;
    }
    struct iommu_fault fault = {.address = ppr->address,
                                .pasid = ppr->ssid,
                                .pasid_valid = ppr->ssv,
                                .read = ppr->read,
                                .write = ppr->write,
                                .exec = ppr->exec,
                                .priv = ppr->priv,
                                .last = ppr->last,
                                .grpid = ppr->grpid};
    if (!ppr->read && !ppr->write) {
        master->bad_requests++;
        if (!ppr->last)
            return;
    }
    report_fault(master, &fault, false);
}

void iommu_handle_event(struct smmu_device *smmu, const struct smmu_event *event, void *context) {
    (void)context;
    struct smmu_master *master = smmu_find_master(event->sid);
    if (event->stall) {
        if (!master || !master->stall_enabled) {
            smmu_resume(smmu, event->sid, event->stag, false);
            return;
        }
        struct iommu_fault fault = {.address = event->input_address & ~(uint64_t)(PAGE_SIZE - 1),
                                    .pasid = event->ssid,
                                    .pasid_valid = event->ssv,
                                    .read = event->rnw,
                                    .write = !event->rnw,
                                    .exec = event->ind,
                                    .priv = event->pnu,
                                    .last = true,
                                    .grpid = event->stag};
        report_fault(master, &fault, true);
        return;
    }
    if (master && master->domain && master->domain->fault_handler)
        master->domain->fault_handler(master->domain, master, event, master->domain->fault_token);
}

void iommu_iopf_remove_device(struct smmu_master *master) {
    discard_partial(master, true, 0);
    for (unsigned int i = 0; i < pending_count; i++) {
        struct iommu_fault_group *group = &pending[(pending_head + i) % IOMMU_MAX_PENDING_GROUPS];
        if (group->master == master)
            group->refused = true;
    }
    run_pending_groups();
}

unsigned int iommu_process_faults(void) {
    struct smmu_device *smmu = iommu_smmu;
    if (!smmu)
        return 0;
    /* The queues are also drained by nothing else while this runs: IRQ handlers only count. */
    bool irqs = local_irqs_enabled();
    local_irq_disable();
    unsigned int handled = smmu_evtq_drain(smmu);
    handled += smmu_priq_drain(smmu, handle_ppr, NULL);
    if (irqs)
        local_irq_enable();
    run_pending_groups();
    return handled;
}
