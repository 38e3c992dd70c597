/* IOMMU API over the SMMUv3 driver: masters, CD tables, STE installation with ATS, domains and their TLB/ATC
 * maintenance. SVA and I/O page faults: sva.c. */
#include <stdio.h>
#include <string.h>

#include <fw/errno.h>
#include <fw/page_alloc.h>
#include <fw/sysreg.h>
#include <fwsmmu/iommu.h>
#include <fwsmmu/pgalloc.h>

#include "iommu_internal.h"

#define IOMMU_MAX_DOMAINS 16U
#define CDS_PER_LEAF 64U /* 4 KiB leaves (S1Fmt = 1) */
#define CD_LEAF_SHIFT 6U
#define LINEAR_CD_MAX_BITS 6U
#define PRIVATE_ASID_FIRST16 0x100U /* above every CPU ASID (8-bit): never shared by accident */
#define PRIVATE_ASID_LAST8 255U     /* without ASID16: from the top down, CPU ASIDs come from 1 up */

bool iommu_trace_enabled = true;

struct smmu_device *iommu_smmu;
struct smmu_master *iommu_masters[IOMMU_MAX_MASTERS];
static struct iommu_domain domain_pool[IOMMU_MAX_DOMAINS];
static bool domain_used[IOMMU_MAX_DOMAINS];
static bool asid_taken[PRIVATE_ASID_FIRST16 + IOMMU_MAX_DOMAINS];
static uint16_t next_vmid = 1;

void iommu_init(struct smmu_device *smmu) {
    iommu_smmu = smmu;
    memset(iommu_masters, 0, sizeof(iommu_masters));
    smmu->event_handler = iommu_handle_event;
    smmu->event_handler_context = NULL;
}

struct smmu_master *smmu_find_master(uint32_t sid) {
    for (unsigned int i = 0; i < IOMMU_MAX_MASTERS; i++)
        if (iommu_masters[i] && iommu_masters[i]->sid == sid)
            return iommu_masters[i];
    return NULL;
}

/* ---- CD tables ---- */

static bool alloc_cd_table(struct smmu_master *master) {
    const struct smmu_features *f = &master->smmu->features;
    if (master->ssid_bits > LINEAR_CD_MAX_BITS && f->cd2l) {
        size_t l1_entries = (size_t)1 << (master->ssid_bits - CD_LEAF_SHIFT);
        master->cd_two_level = true;
        master->cd_table = pgalloc_alloc(l1_entries * SMMU_L1CD_SIZE);
        master->cd_leaves = pgalloc_alloc(l1_entries * sizeof(uint64_t *));
        return master->cd_table && master->cd_leaves;
    }
    if (master->ssid_bits > LINEAR_CD_MAX_BITS + 4U)
        master->ssid_bits = LINEAR_CD_MAX_BITS + 4U; /* 64 KiB of linear CDs at most */
    master->cd_two_level = false;
    master->cd_table = pgalloc_alloc((size_t)SMMU_CD_SIZE << master->ssid_bits);
    return master->cd_table != NULL;
}

static bool cfgi_cd(struct smmu_master *master, uint32_t ssid, bool leaf) {
    return smmu_cmd(master->smmu,
                    SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_CD) |
                        SMMU_FIELD_PREP(SMMU_CMD0_SID, master->sid) | SMMU_FIELD_PREP(SMMU_CMD0_SSID, ssid),
                    leaf ? SMMU_CMD1_LEAF : 0);
}

/* The CD of `ssid`; with allocate, a missing 2-level leaf is created and its L1 descriptor published (and
 * the possibly cached invalid descriptor invalidated, as Linux does). */
static volatile uint64_t *cd_slot(struct smmu_master *master, uint32_t ssid, bool allocate) {
    if (ssid >> master->ssid_bits)
        return NULL;
    if (!master->cd_two_level)
        return (volatile uint64_t *)&master->cd_table[(size_t)ssid * SMMU_CD_DWORDS];
    uint32_t l1 = ssid >> CD_LEAF_SHIFT;
    if (!master->cd_leaves[l1]) {
        if (!allocate)
            return NULL;
        uint64_t *leaf = pgalloc_alloc(CDS_PER_LEAF * SMMU_CD_SIZE);
        if (!leaf)
            return NULL;
        master->cd_leaves[l1] = leaf;
        master->cd_table[l1] = SMMU_ADDR_GET(SMMU_L1CD_L2PTR, (uintptr_t)leaf) | SMMU_L1CD_V;
        if (!cfgi_cd(master, ssid, false))
            return NULL;
    }
    return (volatile uint64_t *)&master->cd_leaves[l1][(size_t)(ssid & (CDS_PER_LEAF - 1U)) * SMMU_CD_DWORDS];
}

int iommu_write_cd(struct smmu_master *master, uint32_t ssid, const uint64_t *cd) {
    volatile uint64_t *slot = cd_slot(master, ssid, cd != NULL);
    if (!slot)
        return cd ? -ENOSPC : 0;
    if (!cd) {
        slot[0] = 0;
        return cfgi_cd(master, ssid, true) ? 0 : -ETIMEDOUT;
    }
    bool live = slot[0] & SMMU_CD0_V;
    if (live && slot[1] == cd[1] && slot[2] == cd[2] && slot[3] == cd[3]) {
        /* Only dword 0 changes (quiesce with EPD0): one 64-bit single-copy-atomic write is enough. */
        slot[0] = cd[0];
        return cfgi_cd(master, ssid, true) ? 0 : -ETIMEDOUT;
    }
    if (live) {
        slot[0] = 0;
        if (!cfgi_cd(master, ssid, true))
            return -ETIMEDOUT;
    }
    /* Linux order: the other dwords, invalidate, then dword 0 with V, invalidate. */
    for (unsigned int i = 1; i < SMMU_CD_DWORDS; i++)
        slot[i] = i < 4 ? cd[i] : 0;
    if (!cfgi_cd(master, ssid, true))
        return -ETIMEDOUT;
    slot[0] = cd[0];
    return cfgi_cd(master, ssid, true) ? 0 : -ETIMEDOUT;
}

uint64_t iommu_read_cd0(struct smmu_master *master, uint32_t ssid) {
    volatile uint64_t *slot = cd_slot(master, ssid, false);
    return slot ? slot[0] : 0;
}

static unsigned int ips_for(const struct smmu_device *smmu, unsigned int ips) {
    return ips < smmu->features.oas_encoding ? ips : smmu->features.oas_encoding;
}

void iommu_build_cd(const struct smmu_device *smmu, unsigned int tsz, unsigned int tg, unsigned int ips,
                    uint64_t ttb, uint64_t mair, uint16_t asid, bool shared, bool stall, uint64_t cd[4]) {
    cd[0] = SMMU_FIELD_PREP(SMMU_CD0_T0SZ, tsz) | SMMU_FIELD_PREP(SMMU_CD0_TG0, tg) |
            SMMU_FIELD_PREP(SMMU_CD0_IR0, IO_PGTABLE_RGN_WBWA) |
            SMMU_FIELD_PREP(SMMU_CD0_OR0, IO_PGTABLE_RGN_WBWA) |
            SMMU_FIELD_PREP(SMMU_CD0_SH0, IO_PGTABLE_SH_INNER) | SMMU_CD0_EPD1 | SMMU_CD0_V |
            SMMU_FIELD_PREP(SMMU_CD0_IPS, ips_for(smmu, ips)) | SMMU_CD0_AA64 | SMMU_CD0_R | SMMU_CD0_A |
            SMMU_FIELD_PREP(SMMU_CD0_ASID, asid);
    if (!shared)
        cd[0] |= SMMU_CD0_ASET; /* a private ASID: broadcast TLBIs of the CPU need not reach it */
    if (stall)
        cd[0] |= SMMU_CD0_S;
    cd[1] = SMMU_ADDR_GET(SMMU_CD1_TTB0, ttb);
    cd[2] = 0;
    cd[3] = mair;
}

static void domain_cd(const struct iommu_domain *domain, const struct smmu_master *master, uint64_t cd[4]) {
    const struct io_pgtable_s1_cfg *c = &domain->cfg.arm_lpae_s1_cfg;
    iommu_build_cd(domain->smmu, c->tcr.tsz, c->tcr.tg, c->tcr.ips, c->ttbr, c->mair, domain->asid, false,
                   master->stall_enabled, cd);
}

/* ---- masters ---- */

static unsigned int granule_shift_of(const struct smmu_device *smmu) {
    return (unsigned int)__builtin_ctz(smmu->features.granules);
}

int smmu_master_init(struct smmu_master *master, struct smmu_device *smmu, struct pci_dev *pdev, uint32_t sid,
                     const char *name, unsigned int ssid_bits) {
    memset(master, 0, sizeof(*master));
    master->smmu = smmu;
    master->pdev = pdev;
    master->sid = sid;
    snprintf(master->name, sizeof(master->name), "%s", pdev ? pdev->name : name);
    unsigned int bits = ssid_bits;
    if (bits > smmu->features.ssid_bits)
        bits = smmu->features.ssid_bits;
    unsigned int pasid_space_bits = (unsigned int)__builtin_ctz(IOMMU_PASID_MAX);
    if (bits > pasid_space_bits)
        bits = pasid_space_bits;
    if (pdev) {
        unsigned int device_bits = pci_max_pasid_bits(pdev);
        if (bits > device_bits)
            bits = device_bits;
        if (bits && pci_enable_pasid(pdev, 0) < 0)
            bits = 0;
        master->ats_supported = pdev->ats_cap && smmu->features.ats;
    }
    master->ssid_bits = bits;
    if (!alloc_cd_table(master))
        return -ENOMEM;
    unsigned int slot = 0;
    while (slot < IOMMU_MAX_MASTERS && iommu_masters[slot])
        slot++;
    if (slot == IOMMU_MAX_MASTERS)
        return -ENOSPC;
    iommu_masters[slot] = master;
    return smmu_ste_abort(smmu, sid) ? 0 : -ETIMEDOUT;
}

int smmu_master_enable_iopf(struct smmu_master *master, uint32_t requests) {
    if (master->pdev) {
        if (!master->smmu->features.pri || !master->pdev->pri_cap)
            return -ENODEV;
        int result = pci_reset_pri(master->pdev);
        if (result == 0)
            result = pci_enable_pri(master->pdev, requests);
        if (result)
            return result;
        master->pri_enabled = true;
        master->prg_resp_needs_pasid = pci_prg_resp_pasid_required(master->pdev);
        return iommu_install_ste(master);
    }
    if (master->smmu->features.stall_model != 0)
        return -ENODEV;
    master->stall_enabled = true;
    return iommu_install_ste(master);
}

int smmu_master_disable_iopf(struct smmu_master *master) {
    if (master->pri_enabled) {
        pci_disable_pri(master->pdev);
        master->pri_enabled = false;
        iommu_iopf_remove_device(master);
    }
    if (master->stall_enabled) {
        master->stall_enabled = false;
        iommu_iopf_remove_device(master);
    }
    return iommu_install_ste(master);
}

int smmu_master_stall_term(struct smmu_master *master) {
    struct smmu_device *smmu = master->smmu;
    if (!master->stall_enabled)
        return -EINVAL;
    /* IHI0070 4.7.2: CMD_STALL_TERM only after the STE aborts new transactions of the stream. */
    if (!smmu_ste_abort(smmu, master->sid) || !smmu_stall_term(smmu, master->sid) || !smmu_cmdq_sync(smmu))
        return -ETIMEDOUT;
    /* The records of the terminated transactions are still in the event queue: take them now and answer
     * their groups Invalid without resolving them (a CMD_RESUME for a STAG that no longer stalls is
     * ignored), so no page is populated for a transaction that is gone. */
    bool irqs = local_irqs_enabled();
    local_irq_disable();
    smmu_evtq_drain(smmu);
    if (irqs)
        local_irq_enable();
    iommu_iopf_remove_device(master);
    return iommu_install_ste(master);
}

bool smmu_atc_inv_master(struct smmu_master *master, bool ssv, uint32_t pasid, uint64_t iova, uint64_t size) {
    if (!master->ats_enabled)
        return true;
    return smmu_atc_inv(master->smmu, master->sid, ssv, pasid, iova, size) && smmu_cmdq_sync(master->smmu);
}

/* The STE the master's state asks for, then ATS enabled or disabled around it in the architecture's order:
 * EATS first and the ATC emptied before the device may use ATS; ATS off at the device and the ATC emptied
 * before EATS goes. */
int iommu_install_ste(struct smmu_master *master) {
    struct smmu_device *smmu = master->smmu;
    struct iommu_domain *domain = master->domain;
    bool sva = iommu_master_has_bonds(master);
    struct smmu_ste_config c = {.config = SMMU_STE_CONFIG_ABORT};
    uint64_t cd_table = (uintptr_t)master->cd_table;
    if (domain && domain->type == IOMMU_DOMAIN_IDENTITY && !sva) {
        c.config = SMMU_STE_CONFIG_BYPASS;
    } else if (domain && domain->type == IOMMU_DOMAIN_S2 && !sva) {
        c.config = SMMU_STE_CONFIG_S2;
        c.s2 = &domain->cfg;
        c.vmid = domain->vmid;
    } else if ((domain && (domain->type == IOMMU_DOMAIN_DMA || domain->type == IOMMU_DOMAIN_NESTED)) || sva) {
        c.config = SMMU_STE_CONFIG_S1;
        c.s1fmt = master->cd_two_level ? SMMU_STE_S1FMT_2LVL_4K : SMMU_STE_S1FMT_LINEAR;
        c.s1cdmax = master->ssid_bits;
        c.s1dss = domain && domain->type != IOMMU_DOMAIN_IDENTITY ? SMMU_STE_S1DSS_SSID0
                  : domain                                        ? SMMU_STE_S1DSS_BYPASS
                                                                  : SMMU_STE_S1DSS_TERMINATE;
        if (domain && domain->type == IOMMU_DOMAIN_NESTED) {
            c.config = SMMU_STE_CONFIG_NESTED;
            c.s2 = &domain->parent->cfg;
            c.vmid = domain->parent->vmid;
            cd_table += domain->cfg.table_pa_offset;
        }
        c.cd_table = cd_table;
        c.ppar = master->prg_resp_needs_pasid;
        c.stall = master->stall_enabled;
    }
    bool translated = c.config == SMMU_STE_CONFIG_S1 || c.config == SMMU_STE_CONFIG_S2 ||
                      c.config == SMMU_STE_CONFIG_NESTED;
    c.ats = translated && master->ats_supported;
    if (!c.ats && master->ats_enabled) {
        pci_disable_ats(master->pdev);
        master->ats_enabled = false;
        if (!smmu_atc_inv(smmu, master->sid, false, 0, 0, 0) || !smmu_cmdq_sync(smmu))
            return -ETIMEDOUT;
    }
    uint64_t ste[SMMU_STE_DWORDS];
    smmu_build_ste(smmu, &c, ste);
    if (!smmu_write_ste(smmu, master->sid, ste))
        return -ETIMEDOUT;
    if (c.ats && !master->ats_enabled) {
        if (!smmu_atc_inv(smmu, master->sid, false, 0, 0, 0) || !smmu_cmdq_sync(smmu))
            return -ETIMEDOUT;
        int result = pci_enable_ats(master->pdev, granule_shift_of(smmu));
        if (result)
            return result;
        master->ats_enabled = true;
    }
    return 0;
}

/* ---- domain TLB and ATC maintenance ---- */

static void domain_atc_inv(struct iommu_domain *domain, uint64_t iova, uint64_t size) {
    bool issued = false;
    for (unsigned int i = 0; i < domain->master_count; i++) {
        struct smmu_master *master = domain->masters[i];
        if (master->ats_enabled) {
            /* Without SSV: the non-PASID (CD 0) entries can only be removed this way. */
            if (!smmu_atc_inv(domain->smmu, master->sid, false, 0, iova, size))
                domain->tlb.failed = true;
            issued = true;
        }
    }
    if (issued) {
        domain->atc_invalidations++;
        if (!smmu_cmdq_sync(domain->smmu))
            domain->tlb.failed = true;
    }
}

static void domain_tlb_flush_all(void *cookie) {
    smmu_flush_ops.tlb_flush_all(cookie);
    domain_atc_inv(cookie, 0, 0);
}

static void domain_tlb_flush_walk(uint64_t iova, size_t size, size_t granule, void *cookie) {
    smmu_flush_ops.tlb_flush_walk(iova, size, granule, cookie); /* TLBI + SYNC */
    domain_atc_inv(cookie, iova, size);                         /* then ATC_INV + SYNC */
}

static void domain_tlb_sync(struct iommu_iotlb_gather *gather, void *cookie) {
    if (iommu_iotlb_gather_empty(gather))
        return;
    smmu_flush_ops.tlb_sync(gather, cookie);
    domain_atc_inv(cookie, gather->start, gather->end - gather->start + 1);
}

static void domain_tlb_add_page(struct iommu_iotlb_gather *gather, uint64_t iova, size_t granule,
                                void *cookie) {
    if (!iommu_iotlb_gather_empty(gather) &&
        (gather->pgsize != granule || iommu_iotlb_gather_is_disjoint(gather, iova, granule))) {
        domain_tlb_sync(gather, cookie);
        bool queued = gather->queued;
        iommu_iotlb_gather_init(gather);
        gather->queued = queued;
    }
    iommu_iotlb_gather_add_range(gather, iova, granule);
    gather->pgsize = granule;
}

static const struct iommu_flush_ops domain_flush_ops = {
    .tlb_flush_all = domain_tlb_flush_all,
    .tlb_flush_walk = domain_tlb_flush_walk,
    .tlb_add_page = domain_tlb_add_page,
    .tlb_sync = domain_tlb_sync,
};

/* ---- domains ---- */

static int alloc_private_asid(const struct smmu_device *smmu) {
    if (smmu->features.asid16) {
        for (unsigned int i = 0; i < IOMMU_MAX_DOMAINS; i++)
            if (!asid_taken[PRIVATE_ASID_FIRST16 + i]) {
                asid_taken[PRIVATE_ASID_FIRST16 + i] = true;
                return (int)(PRIVATE_ASID_FIRST16 + i);
            }
        return -ENOSPC;
    }
    for (unsigned int asid = PRIVATE_ASID_LAST8; asid > PRIVATE_ASID_LAST8 - IOMMU_MAX_DOMAINS; asid--)
        if (!asid_taken[asid]) {
            asid_taken[asid] = true;
            return (int)asid;
        }
    return -ENOSPC;
}

static struct iommu_domain *new_domain(struct smmu_device *smmu, enum iommu_domain_type type) {
    for (unsigned int i = 0; i < IOMMU_MAX_DOMAINS; i++)
        if (!domain_used[i]) {
            domain_used[i] = true;
            struct iommu_domain *domain = &domain_pool[i];
            memset(domain, 0, sizeof(*domain));
            domain->type = type;
            domain->smmu = smmu;
            domain->tlb.smmu = smmu;
            return domain;
        }
    return NULL;
}

static void release_domain(struct iommu_domain *domain) {
    if (domain->asid)
        asid_taken[domain->asid] = false;
    domain_used[domain - domain_pool] = false;
}

static bool alloc_tables(struct iommu_domain *domain, unsigned int stage) {
    struct smmu_device *smmu = domain->smmu;
    unsigned int oas = smmu->features.oas_bits < 48 ? smmu->features.oas_bits : 48U;
    domain->cfg.granule = 4096;
    domain->cfg.ias = stage == 1 ? 48U : 40U;
    domain->cfg.oas = stage == 1 ? oas : (oas < 40 ? oas : 40U);
    domain->cfg.tlb = &domain_flush_ops;
    domain->tlb.stage = stage;
    domain->tlb.asid = domain->asid;
    domain->tlb.vmid = domain->vmid;
    domain->tlb.granule_shift = 12;
    domain->ops = alloc_io_pgtable_ops(stage == 1 ? ARM_64_LPAE_S1 : ARM_64_LPAE_S2, &domain->cfg, domain);
    return domain->ops != NULL;
}

struct iommu_domain *iommu_domain_alloc(struct smmu_device *smmu, enum iommu_domain_type type) {
    if ((type == IOMMU_DOMAIN_DMA && !smmu->features.s1p) ||
        (type == IOMMU_DOMAIN_S2 && !smmu->features.s2p) || type == IOMMU_DOMAIN_NESTED)
        return NULL;
    struct iommu_domain *domain = new_domain(smmu, type);
    if (!domain)
        return NULL;
    if (type == IOMMU_DOMAIN_IDENTITY)
        return domain;
    if (type == IOMMU_DOMAIN_DMA) {
        int asid = alloc_private_asid(smmu);
        if (asid < 0) {
            release_domain(domain);
            return NULL;
        }
        domain->asid = (uint16_t)asid;
    } else {
        domain->vmid = next_vmid++;
    }
    if (!alloc_tables(domain, type == IOMMU_DOMAIN_DMA ? 1U : 2U)) {
        release_domain(domain);
        return NULL;
    }
    return domain;
}

struct iommu_domain *iommu_domain_alloc_nested(struct iommu_domain *parent, uint64_t ipa_offset) {
    struct smmu_device *smmu = parent->smmu;
    if (parent->type != IOMMU_DOMAIN_S2 || !smmu->features.s1p)
        return NULL;
    struct iommu_domain *domain = new_domain(smmu, IOMMU_DOMAIN_NESTED);
    if (!domain)
        return NULL;
    int asid = alloc_private_asid(smmu);
    if (asid < 0) {
        release_domain(domain);
        return NULL;
    }
    domain->asid = (uint16_t)asid;
    domain->vmid = parent->vmid;
    domain->parent = parent;
    domain->cfg.table_pa_offset = ipa_offset;
    if (!alloc_tables(domain, 1)) {
        release_domain(domain);
        return NULL;
    }
    return domain;
}

void iommu_domain_free(struct iommu_domain *domain) {
    if (!domain || domain->master_count)
        return;
    if (domain->ops)
        free_io_pgtable_ops(domain->ops);
    release_domain(domain);
}

int iommu_attach_device(struct iommu_domain *domain, struct smmu_master *master) {
    if (master->domain == domain)
        return 0;
    if (master->domain)
        iommu_detach_device(master->domain, master);
    if (domain->master_count == IOMMU_MAX_MASTERS)
        return -ENOSPC;
    if (domain->type == IOMMU_DOMAIN_DMA || domain->type == IOMMU_DOMAIN_NESTED) {
        uint64_t cd[4];
        domain_cd(domain, master, cd);
        int result = iommu_write_cd(master, 0, cd);
        if (result)
            return result;
    }
    domain->masters[domain->master_count++] = master;
    master->domain = domain;
    return iommu_install_ste(master);
}

void iommu_detach_device(struct iommu_domain *domain, struct smmu_master *master) {
    if (master->domain != domain)
        return;
    for (unsigned int i = 0; i < domain->master_count; i++)
        if (domain->masters[i] == master) {
            domain->masters[i] = domain->masters[--domain->master_count];
            break;
        }
    master->domain = NULL;
    iommu_install_ste(master); /* ATS off first when nothing translates any more */
    iommu_write_cd(master, 0, NULL);
    if (domain->type == IOMMU_DOMAIN_DMA || domain->type == IOMMU_DOMAIN_NESTED)
        smmu_tlbi_asid(domain->smmu, domain->asid, domain->vmid);
}

int iommu_map(struct iommu_domain *domain, uint64_t iova, uint64_t paddr, size_t size, unsigned int prot) {
    if (!domain->ops)
        return -EINVAL;
    size_t mapped = 0;
    int result = domain->ops->map(domain->ops, iova, paddr, size, prot, &mapped);
    if (result && mapped)
        iommu_unmap(domain, iova, mapped);
    return result;
}

size_t iommu_unmap_fast(struct iommu_domain *domain, uint64_t iova, size_t size,
                        struct iommu_iotlb_gather *gather) {
    return domain->ops ? domain->ops->unmap(domain->ops, iova, size, gather) : 0;
}

void iommu_iotlb_sync(struct iommu_domain *domain, struct iommu_iotlb_gather *gather) {
    if (domain->ops)
        io_pgtable_tlb_sync(domain->ops, gather);
}

size_t iommu_unmap(struct iommu_domain *domain, uint64_t iova, size_t size) {
    struct iommu_iotlb_gather gather;
    iommu_iotlb_gather_init(&gather);
    size_t unmapped = iommu_unmap_fast(domain, iova, size, &gather);
    iommu_iotlb_sync(domain, &gather);
    return unmapped;
}

uint64_t iommu_iova_to_phys(struct iommu_domain *domain, uint64_t iova) {
    if (domain->type == IOMMU_DOMAIN_IDENTITY)
        return iova;
    return domain->ops ? domain->ops->iova_to_phys(domain->ops, iova) : 0;
}

uint64_t iommu_dma_map_msi(struct iommu_domain *domain, uint64_t doorbell) {
    uint64_t page = doorbell & ~(uint64_t)(PAGE_SIZE - 1);
    if (domain->type == IOMMU_DOMAIN_IDENTITY)
        return doorbell;
    if (domain->type == IOMMU_DOMAIN_NESTED)
        return 0;
    if (!domain->msi_iova) {
        if (iommu_map(domain, MSI_IOVA_BASE, page, PAGE_SIZE, IOMMU_READ | IOMMU_WRITE | IOMMU_MMIO) != 0)
            return 0;
        domain->msi_iova = MSI_IOVA_BASE;
    }
    return domain->msi_iova + (doorbell - page);
}

void iommu_set_fault_handler(struct iommu_domain *domain, iommu_fault_handler_t handler, void *token) {
    domain->fault_handler = handler;
    domain->fault_token = token;
}
