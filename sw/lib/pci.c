/* PCI Express enumeration and capabilities over ECAM, bus 0. */
#include <stdio.h>

#include <fw/errno.h>
#include <fw/mmio.h>
#include <fw/pci.h>
#include <fw/platform.h>
#include <fw/timer.h>

#define ECAM_BUS_SHIFT 20U
#define ECAM_DEVICE_SHIFT 15U
#define ECAM_FUNCTION_SHIFT 12U
#define PCI_DEVICES_PER_BUS 32U
#define PCI_FUNCTIONS_PER_DEVICE 8U
#define CAPABILITY_WALK_LIMIT 48U      /* (256 - 64) / 4: more than that is a loop */
#define EXT_CAPABILITY_WALK_LIMIT 960U /* (4096 - 256) / 4 */
#define GICV2M_MSI_TYPER 0x008U
#define GICV2M_MSI_SETSPI_NS 0x040U
#define GICV2M_TYPER_BASE(typer) (((typer) >> 16) & 0x3FFU)
#define GICV2M_TYPER_NUMBER(typer) ((typer)&0x3FFU)

static struct pci_dev devices[PCI_MAX_DEVICES];
static unsigned int device_count;

uint32_t pci_config_address(uint8_t bus, uint8_t device, uint8_t function, uint16_t offset) {
    return ((uint32_t)bus << ECAM_BUS_SHIFT) | ((uint32_t)device << ECAM_DEVICE_SHIFT) |
           ((uint32_t)function << ECAM_FUNCTION_SHIFT) | (offset & 0xFFFU);
}

static uintptr_t config(const struct pci_dev *dev, uint16_t offset) {
    return FW_PCIE_ECAM_BASE + pci_config_address(dev->bus, dev->device, dev->function, offset);
}

uint8_t pci_read8(const struct pci_dev *dev, uint16_t offset) {
    return mmio_read8(config(dev, offset));
}
uint16_t pci_read16(const struct pci_dev *dev, uint16_t offset) {
    return mmio_read16(config(dev, offset));
}
uint32_t pci_read32(const struct pci_dev *dev, uint16_t offset) {
    return mmio_read32(config(dev, offset));
}
void pci_write8(const struct pci_dev *dev, uint16_t offset, uint8_t value) {
    mmio_write8(config(dev, offset), value);
}
void pci_write16(const struct pci_dev *dev, uint16_t offset, uint16_t value) {
    mmio_write16(config(dev, offset), value);
}
void pci_write32(const struct pci_dev *dev, uint16_t offset, uint32_t value) {
    mmio_write32(config(dev, offset), value);
}

uint32_t pci_dev_rid(const struct pci_dev *dev) {
    return ((uint32_t)dev->bus << 8) | ((uint32_t)dev->device << 3) | dev->function;
}

/* ---- capabilities ---- */

uint16_t pci_find_capability(const struct pci_dev *dev, uint8_t id) {
    if (!(pci_read16(dev, PCI_STATUS) & PCI_STATUS_CAP_LIST))
        return 0;
    uint8_t position = pci_read8(dev, PCI_CAPABILITY_LIST) & 0xFCU;
    for (unsigned int i = 0; i < CAPABILITY_WALK_LIMIT && position >= 0x40U; i++) {
        uint16_t header = pci_read16(dev, position);
        if ((header & 0xFFU) == 0xFFU)
            return 0;
        if ((header & 0xFFU) == id)
            return position;
        position = (uint8_t)(header >> 8) & 0xFCU;
    }
    return 0;
}

uint16_t pci_find_ext_capability(const struct pci_dev *dev, uint16_t id) {
    /* Only PCI Express functions have extended configuration space. */
    if (!dev->exp_cap && !pci_find_capability(dev, PCI_CAP_ID_EXP))
        return 0;
    uint16_t position = PCI_CFG_SPACE_SIZE;
    for (unsigned int i = 0; i < EXT_CAPABILITY_WALK_LIMIT; i++) {
        uint32_t header = pci_read32(dev, position);
        if (header == 0 || header == 0xFFFFFFFFU)
            return 0;
        if ((header & 0xFFFFU) == id)
            return position;
        position = (uint16_t)((header >> 20) & 0xFFCU);
        if (position < PCI_CFG_SPACE_SIZE)
            return 0;
    }
    return 0;
}

/* ---- enumeration ---- */

struct bar_request {
    struct pci_dev *dev;
    unsigned int bar;
    uint64_t size;
};

/* Sizes BAR `bar` (the write-ones, read-back protocol with decoding off); returns the slots it takes (2 for a
 * 64-bit BAR) and fills size (0: unimplemented or I/O). */
static unsigned int size_bar(struct pci_dev *dev, unsigned int bar, uint64_t *size) {
    uint16_t offset = (uint16_t)(PCI_BASE_ADDRESS_0 + bar * 4U);
    uint32_t original = pci_read32(dev, offset);
    *size = 0;
    if (original & PCI_BASE_ADDRESS_SPACE_IO)
        return 1; /* the window has no I/O space: left unassigned */
    bool is64 = (original & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;
    pci_write32(dev, offset, 0xFFFFFFFFU);
    uint64_t mask = pci_read32(dev, offset) & PCI_BASE_ADDRESS_MEM_MASK;
    pci_write32(dev, offset, original);
    if (is64 && bar + 1U < PCI_NUM_BARS) {
        uint32_t original_high = pci_read32(dev, (uint16_t)(offset + 4U));
        pci_write32(dev, (uint16_t)(offset + 4U), 0xFFFFFFFFU);
        mask |= (uint64_t)pci_read32(dev, (uint16_t)(offset + 4U)) << 32;
        pci_write32(dev, (uint16_t)(offset + 4U), original_high);
    } else if (is64) {
        return 1; /* a 64-bit BAR cannot start in the last slot */
    } else {
        mask |= 0xFFFFFFFF00000000ULL;
    }
    if (mask != 0 && mask != 0xFFFFFFFF00000000ULL)
        *size = ~mask + 1U;
    dev->bar_64bit[bar] = is64;
    dev->bar_prefetchable[bar] = original & PCI_BASE_ADDRESS_MEM_PREFETCH;
    return is64 ? 2U : 1U;
}

static void probe_function(struct pci_dev *dev, struct bar_request *requests, unsigned int *request_count) {
    uint32_t class_revision = pci_read32(dev, PCI_CLASS_REVISION);
    dev->class_code = class_revision >> 8;
    dev->header_type = pci_read8(dev, PCI_HEADER_TYPE);
    dev->interrupt_pin = pci_read8(dev, PCI_INTERRUPT_PIN);
    snprintf(dev->name, sizeof(dev->name), "%02x:%02x.%x", (unsigned int)dev->bus, (unsigned int)dev->device,
             (unsigned int)dev->function);
    dev->msi_cap = pci_find_capability(dev, PCI_CAP_ID_MSI);
    dev->msix_cap = pci_find_capability(dev, PCI_CAP_ID_MSIX);
    dev->exp_cap = pci_find_capability(dev, PCI_CAP_ID_EXP);
    dev->ats_cap = pci_find_ext_capability(dev, PCI_EXT_CAP_ID_ATS);
    dev->pri_cap = pci_find_ext_capability(dev, PCI_EXT_CAP_ID_PRI);
    dev->pasid_cap = pci_find_ext_capability(dev, PCI_EXT_CAP_ID_PASID);
    if ((dev->header_type & PCI_HEADER_TYPE_MASK) != 0)
        return; /* bridges: bus 0 only, nothing behind them is configured */
    /* Decoding off while the BARs move. */
    pci_write16(dev, PCI_COMMAND,
                pci_read16(dev, PCI_COMMAND) & (uint16_t) ~(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER));
    for (unsigned int bar = 0; bar < PCI_NUM_BARS;) {
        uint64_t size;
        unsigned int slots = size_bar(dev, bar, &size);
        if (size && *request_count < PCI_MAX_DEVICES * PCI_NUM_BARS)
            requests[(*request_count)++] = (struct bar_request){.dev = dev, .bar = bar, .size = size};
        bar += slots;
    }
}

static int assign_bars(struct bar_request *requests, unsigned int count) {
    /* Largest first: every BAR is then aligned by the running sum of larger powers of two, no holes. */
    for (unsigned int i = 1; i < count; i++)
        for (unsigned int j = i; j > 0 && requests[j].size > requests[j - 1].size; j--) {
            struct bar_request swap = requests[j];
            requests[j] = requests[j - 1];
            requests[j - 1] = swap;
        }
    uint64_t next = FW_PCIE_MMIO_BASE;
    for (unsigned int i = 0; i < count; i++) {
        struct bar_request *r = &requests[i];
        uint64_t address = (next + r->size - 1U) & ~(r->size - 1U);
        if (address + r->size > FW_PCIE_MMIO_END || address + r->size < address) {
            printf("pci: %s BAR%u of 0x%llx bytes does not fit the window\n", r->dev->name, r->bar,
                   (unsigned long long)r->size);
            return -1;
        }
        uint16_t offset = (uint16_t)(PCI_BASE_ADDRESS_0 + r->bar * 4U);
        uint32_t flags = pci_read32(r->dev, offset) & ~PCI_BASE_ADDRESS_MEM_MASK;
        pci_write32(r->dev, offset, (uint32_t)address | flags);
        if (r->dev->bar_64bit[r->bar])
            pci_write32(r->dev, (uint16_t)(offset + 4U), (uint32_t)(address >> 32));
        r->dev->bar_address[r->bar] = address;
        r->dev->bar_size[r->bar] = r->size;
        next = address + r->size;
    }
    return 0;
}

int pci_enumerate(void) {
    static struct bar_request requests[PCI_MAX_DEVICES * PCI_NUM_BARS];
    unsigned int request_count = 0;
    device_count = 0;
    for (uint8_t device = 0; device < PCI_DEVICES_PER_BUS; device++) {
        for (uint8_t function = 0; function < PCI_FUNCTIONS_PER_DEVICE; function++) {
            struct pci_dev probe = {.bus = 0, .device = device, .function = function};
            uint16_t vendor = pci_read16(&probe, PCI_VENDOR_ID);
            if (vendor == 0xFFFFU || vendor == 0) {
                if (function == 0)
                    break; /* no device: no other functions either */
                continue;
            }
            if (device_count == PCI_MAX_DEVICES)
                break;
            struct pci_dev *dev = &devices[device_count++];
            *dev = probe;
            dev->vendor_id = vendor;
            dev->device_id = pci_read16(dev, PCI_DEVICE_ID);
            probe_function(dev, requests, &request_count);
            if (function == 0 && !(dev->header_type & PCI_HEADER_TYPE_MULTI_FUNCTION))
                break;
        }
    }
    if (assign_bars(requests, request_count) < 0)
        return -1;
    for (unsigned int i = 0; i < device_count; i++)
        if ((devices[i].header_type & PCI_HEADER_TYPE_MASK) == 0)
            pci_write16(&devices[i], PCI_COMMAND, pci_read16(&devices[i], PCI_COMMAND) | PCI_COMMAND_MEMORY);
    return (int)device_count;
}

unsigned int pci_device_count(void) {
    return device_count;
}

struct pci_dev *pci_device_at(unsigned int index) {
    return index < device_count ? &devices[index] : NULL;
}

struct pci_dev *pci_find_device(uint16_t vendor_id, uint16_t device_id, unsigned int index) {
    for (unsigned int i = 0; i < device_count; i++)
        if (devices[i].vendor_id == vendor_id && devices[i].device_id == device_id && index-- == 0)
            return &devices[i];
    return NULL;
}

void pci_print_devices(void) {
    for (unsigned int i = 0; i < device_count; i++) {
        const struct pci_dev *dev = &devices[i];
        printf("pci: %s [%04x:%04x] class %06x%s%s%s%s%s%s\n", dev->name, (unsigned int)dev->vendor_id,
               (unsigned int)dev->device_id, (unsigned int)dev->class_code, dev->msi_cap ? " MSI" : "",
               dev->msix_cap ? " MSI-X" : "", dev->exp_cap ? " PCIe" : "", dev->ats_cap ? " ATS" : "",
               dev->pri_cap ? " PRI" : "", dev->pasid_cap ? " PASID" : "");
        for (unsigned int bar = 0; bar < PCI_NUM_BARS; bar++)
            if (dev->bar_size[bar])
                printf("pci: %s BAR%u 0x%llx size 0x%llx%s%s\n", dev->name, bar,
                       (unsigned long long)dev->bar_address[bar], (unsigned long long)dev->bar_size[bar],
                       dev->bar_64bit[bar] ? " 64-bit" : "",
                       dev->bar_prefetchable[bar] ? " prefetchable" : "");
    }
}

void pci_set_master(struct pci_dev *dev, bool enable) {
    uint16_t command = pci_read16(dev, PCI_COMMAND);
    command = enable ? (command | PCI_COMMAND_MASTER) : (command & (uint16_t)~PCI_COMMAND_MASTER);
    pci_write16(dev, PCI_COMMAND, command);
}

uintptr_t pci_bar(const struct pci_dev *dev, unsigned int bar) {
    return bar < PCI_NUM_BARS ? (uintptr_t)dev->bar_address[bar] : 0;
}

/* ---- MSI / MSI-X ---- */

bool pci_enable_msi(struct pci_dev *dev, uint64_t address, uint32_t data) {
    if (!dev->msi_cap)
        return false;
    uint16_t cap = dev->msi_cap;
    uint16_t flags = pci_read16(dev, (uint16_t)(cap + PCI_MSI_FLAGS));
    flags &= (uint16_t) ~(PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE); /* one vector */
    pci_write16(dev, (uint16_t)(cap + PCI_MSI_FLAGS), flags);
    pci_write32(dev, (uint16_t)(cap + PCI_MSI_ADDRESS_LO), (uint32_t)address);
    if (flags & PCI_MSI_FLAGS_64BIT) {
        pci_write32(dev, (uint16_t)(cap + PCI_MSI_ADDRESS_HI), (uint32_t)(address >> 32));
        pci_write16(dev, (uint16_t)(cap + PCI_MSI_DATA_64), (uint16_t)data);
    } else {
        if (address >> 32)
            return false;
        pci_write16(dev, (uint16_t)(cap + PCI_MSI_DATA_32), (uint16_t)data);
    }
    pci_write16(dev, PCI_COMMAND, pci_read16(dev, PCI_COMMAND) | PCI_COMMAND_INTX_DISABLE);
    pci_write16(dev, (uint16_t)(cap + PCI_MSI_FLAGS), flags | PCI_MSI_FLAGS_ENABLE);
    dev->msi_enabled = true;
    return true;
}

void pci_disable_msi(struct pci_dev *dev) {
    if (!dev->msi_cap)
        return;
    uint16_t flags = pci_read16(dev, (uint16_t)(dev->msi_cap + PCI_MSI_FLAGS));
    pci_write16(dev, (uint16_t)(dev->msi_cap + PCI_MSI_FLAGS), flags & (uint16_t)~PCI_MSI_FLAGS_ENABLE);
    dev->msi_enabled = false;
}

static uintptr_t msix_entry(const struct pci_dev *dev, unsigned int vector) {
    return (uintptr_t)dev->msix_table + (uintptr_t)vector * PCI_MSIX_ENTRY_SIZE;
}

int pci_enable_msix(struct pci_dev *dev) {
    if (!dev->msix_cap)
        return -ENODEV;
    uint16_t cap = dev->msix_cap;
    uint16_t flags = pci_read16(dev, (uint16_t)(cap + PCI_MSIX_FLAGS));
    uint32_t table = pci_read32(dev, (uint16_t)(cap + PCI_MSIX_TABLE));
    unsigned int bir = table & PCI_MSIX_BIR_MASK;
    if (bir >= PCI_NUM_BARS || !dev->bar_address[bir])
        return -ENODEV;
    dev->msix_vectors = (uint16_t)((flags & PCI_MSIX_FLAGS_QSIZE) + 1U);
    dev->msix_table = dev->bar_address[bir] + (table & ~PCI_MSIX_BIR_MASK);
    /* Enabled but function-masked while the table is written, as Linux does. */
    pci_write16(dev, (uint16_t)(cap + PCI_MSIX_FLAGS),
                (uint16_t)(flags | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL));
    for (unsigned int v = 0; v < dev->msix_vectors; v++)
        mmio_write32(msix_entry(dev, v) + PCI_MSIX_ENTRY_VECTOR_CTRL, PCI_MSIX_ENTRY_CTRL_MASKBIT);
    pci_write16(dev, PCI_COMMAND, pci_read16(dev, PCI_COMMAND) | PCI_COMMAND_INTX_DISABLE);
    pci_write16(dev, (uint16_t)(cap + PCI_MSIX_FLAGS), (uint16_t)(flags | PCI_MSIX_FLAGS_ENABLE));
    dev->msix_enabled = true;
    return dev->msix_vectors;
}

bool pci_msix_set_vector(struct pci_dev *dev, unsigned int vector, uint64_t address, uint32_t data) {
    if (!dev->msix_enabled || vector >= dev->msix_vectors)
        return false;
    uintptr_t entry = msix_entry(dev, vector);
    mmio_write32(entry + PCI_MSIX_ENTRY_VECTOR_CTRL, PCI_MSIX_ENTRY_CTRL_MASKBIT);
    mmio_write32(entry + PCI_MSIX_ENTRY_LOWER_ADDR, (uint32_t)address);
    mmio_write32(entry + PCI_MSIX_ENTRY_UPPER_ADDR, (uint32_t)(address >> 32));
    mmio_write32(entry + PCI_MSIX_ENTRY_DATA, data);
    mmio_write32(entry + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
    return true;
}

void pci_msix_mask_vector(struct pci_dev *dev, unsigned int vector, bool masked) {
    if (dev->msix_enabled && vector < dev->msix_vectors)
        mmio_write32(msix_entry(dev, vector) + PCI_MSIX_ENTRY_VECTOR_CTRL,
                     masked ? PCI_MSIX_ENTRY_CTRL_MASKBIT : 0);
}

bool pci_msix_pending(const struct pci_dev *dev, unsigned int vector) {
    if (!dev->msix_cap || vector >= dev->msix_vectors)
        return false;
    uint32_t pba = pci_read32(dev, (uint16_t)(dev->msix_cap + PCI_MSIX_PBA));
    unsigned int bir = pba & PCI_MSIX_BIR_MASK;
    if (bir >= PCI_NUM_BARS || !dev->bar_address[bir])
        return false;
    uintptr_t word = (uintptr_t)(dev->bar_address[bir] + (pba & ~PCI_MSIX_BIR_MASK)) + (vector / 32U) * 4U;
    return (mmio_read32(word) >> (vector % 32U)) & 1U;
}

void pci_disable_msix(struct pci_dev *dev) {
    if (!dev->msix_cap)
        return;
    uint16_t flags = pci_read16(dev, (uint16_t)(dev->msix_cap + PCI_MSIX_FLAGS));
    pci_write16(dev, (uint16_t)(dev->msix_cap + PCI_MSIX_FLAGS), flags & (uint16_t)~PCI_MSIX_FLAGS_ENABLE);
    dev->msix_enabled = false;
}

/* ---- PASID, ATS, PRI ---- */

int pci_enable_pasid(struct pci_dev *dev, uint16_t features) {
    if (!dev->pasid_cap)
        return -ENODEV;
    if (dev->ats_enabled)
        return -EBUSY; /* PASID enables must not change while ATS is on */
    uint16_t supported = pci_read16(dev, (uint16_t)(dev->pasid_cap + PCI_PASID_CAP));
    uint16_t control =
        PCI_PASID_CTRL_ENABLE | (features & supported & (PCI_PASID_CTRL_EXEC | PCI_PASID_CTRL_PRIV));
    pci_write16(dev, (uint16_t)(dev->pasid_cap + PCI_PASID_CTRL), control);
    dev->pasid_enabled = true;
    return 0;
}

int pci_disable_pasid(struct pci_dev *dev) {
    if (!dev->pasid_cap)
        return -ENODEV;
    if (dev->ats_enabled)
        return -EBUSY;
    pci_write16(dev, (uint16_t)(dev->pasid_cap + PCI_PASID_CTRL), 0);
    dev->pasid_enabled = false;
    return 0;
}

unsigned int pci_max_pasid_bits(const struct pci_dev *dev) {
    if (!dev->pasid_cap)
        return 0;
    return PCI_PASID_CAP_WIDTH(pci_read16(dev, (uint16_t)(dev->pasid_cap + PCI_PASID_CAP)));
}

int pci_enable_ats(struct pci_dev *dev, unsigned int granule_shift) {
    if (!dev->ats_cap)
        return -ENODEV;
    if (granule_shift < PCI_ATS_MIN_STU)
        return -EINVAL;
    dev->ats_stu = (uint8_t)(granule_shift - PCI_ATS_MIN_STU);
    pci_write16(dev, (uint16_t)(dev->ats_cap + PCI_ATS_CTRL), PCI_ATS_CTRL_STU(dev->ats_stu));
    pci_write16(dev, (uint16_t)(dev->ats_cap + PCI_ATS_CTRL),
                (uint16_t)(PCI_ATS_CTRL_ENABLE | PCI_ATS_CTRL_STU(dev->ats_stu)));
    dev->ats_enabled = true;
    return 0;
}

void pci_disable_ats(struct pci_dev *dev) {
    if (!dev->ats_cap)
        return;
    pci_write16(dev, (uint16_t)(dev->ats_cap + PCI_ATS_CTRL), PCI_ATS_CTRL_STU(dev->ats_stu));
    dev->ats_enabled = false;
}

unsigned int pci_ats_queue_depth(const struct pci_dev *dev) {
    if (!dev->ats_cap)
        return 0;
    unsigned int depth = PCI_ATS_CAP_QDEP(pci_read16(dev, (uint16_t)(dev->ats_cap + PCI_ATS_CAP)));
    return depth ? depth : 32U;
}

int pci_reset_pri(struct pci_dev *dev) {
    if (!dev->pri_cap)
        return -ENODEV;
    if (dev->pri_enabled)
        return -EBUSY;
    pci_write16(dev, (uint16_t)(dev->pri_cap + PCI_PRI_CTRL), PCI_PRI_CTRL_RESET);
    return 0;
}

int pci_enable_pri(struct pci_dev *dev, uint32_t requests) {
    if (!dev->pri_cap)
        return -ENODEV;
    if (dev->pri_enabled)
        return -EBUSY;
    if (!(pci_pri_status(dev) & PCI_PRI_STATUS_STOPPED))
        return -EBUSY;
    uint32_t capacity = pci_read32(dev, (uint16_t)(dev->pri_cap + PCI_PRI_MAX_REQ));
    dev->pri_requests = requests < capacity ? requests : capacity;
    pci_write32(dev, (uint16_t)(dev->pri_cap + PCI_PRI_ALLOC_REQ), dev->pri_requests);
    pci_write16(dev, (uint16_t)(dev->pri_cap + PCI_PRI_CTRL), PCI_PRI_CTRL_ENABLE);
    dev->pri_enabled = true;
    return 0;
}

void pci_disable_pri(struct pci_dev *dev) {
    if (!dev->pri_cap)
        return;
    pci_write16(dev, (uint16_t)(dev->pri_cap + PCI_PRI_CTRL), 0);
    dev->pri_enabled = false;
}

uint16_t pci_pri_status(const struct pci_dev *dev) {
    return dev->pri_cap ? pci_read16(dev, (uint16_t)(dev->pri_cap + PCI_PRI_STATUS)) : 0;
}

bool pci_prg_resp_pasid_required(const struct pci_dev *dev) {
    return pci_pri_status(dev) & PCI_PRI_STATUS_PASID;
}

/* ---- GICv2m ---- */

bool gicv2m_probe(struct gicv2m_frame *frame) {
    uint32_t typer = mmio_read32(FW_GICV2M_BASE + GICV2M_MSI_TYPER);
    *frame = (struct gicv2m_frame){.base = FW_GICV2M_BASE,
                                   .doorbell = FW_GICV2M_BASE + GICV2M_MSI_SETSPI_NS,
                                   .first_spi_intid = GICV2M_TYPER_BASE(typer),
                                   .spi_count = GICV2M_TYPER_NUMBER(typer)};
    return frame->spi_count != 0 && frame->first_spi_intid >= 32U;
}
