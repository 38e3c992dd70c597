/* PCI Express over ECAM (bus 0 of the root complex at FW_PCIE_ECAM_BASE): enumeration, BAR sizing and
 * assignment in the 32-bit window, Command enables, legacy and extended capabilities, MSI and MSI-X, and the
 * ATS / PRI / PASID capabilities in the order Linux and the PCIe specification use them (PASID on before ATS
 * and off after it; PRI reset while disabled, then the request allocation, then Enable; ATS STU from the
 * IOMMU's smallest granule).
 *
 * Configuration accesses use the register's natural width (8, 16 or 32 bits), as Linux does, so a write of a
 * 16-bit Control register never rewrites the RW1C Status register beside it. */
#ifndef FW_PCI_H
#define FW_PCI_H

#include <stdbool.h>
#include <stdint.h>

/* Configuration header (type 0). */
#define PCI_VENDOR_ID 0x00U
#define PCI_DEVICE_ID 0x02U
#define PCI_COMMAND 0x04U
#define PCI_STATUS 0x06U
#define PCI_CLASS_REVISION 0x08U
#define PCI_HEADER_TYPE 0x0EU
#define PCI_BASE_ADDRESS_0 0x10U
#define PCI_CAPABILITY_LIST 0x34U
#define PCI_INTERRUPT_LINE 0x3CU
#define PCI_INTERRUPT_PIN 0x3DU

#define PCI_COMMAND_MEMORY 0x0002U
#define PCI_COMMAND_MASTER 0x0004U
#define PCI_COMMAND_INTX_DISABLE 0x0400U
#define PCI_STATUS_CAP_LIST 0x0010U
#define PCI_HEADER_TYPE_MASK 0x7FU
#define PCI_HEADER_TYPE_MULTI_FUNCTION 0x80U

#define PCI_BASE_ADDRESS_SPACE_IO 0x1U
#define PCI_BASE_ADDRESS_MEM_TYPE_MASK 0x6U
#define PCI_BASE_ADDRESS_MEM_TYPE_64 0x4U
#define PCI_BASE_ADDRESS_MEM_PREFETCH 0x8U
#define PCI_BASE_ADDRESS_MEM_MASK 0xFFFFFFF0U

/* Capability IDs (legacy list) and extended capability IDs. */
#define PCI_CAP_ID_MSI 0x05U
#define PCI_CAP_ID_EXP 0x10U
#define PCI_CAP_ID_MSIX 0x11U
#define PCI_EXT_CAP_ID_ATS 0x000FU
#define PCI_EXT_CAP_ID_PRI 0x0013U
#define PCI_EXT_CAP_ID_PASID 0x001BU
#define PCI_CFG_SPACE_SIZE 0x100U
#define PCI_CFG_SPACE_EXP_SIZE 0x1000U

/* MSI capability. */
#define PCI_MSI_FLAGS 0x02U
#define PCI_MSI_FLAGS_ENABLE 0x0001U
#define PCI_MSI_FLAGS_QMASK 0x000EU
#define PCI_MSI_FLAGS_QSIZE 0x0070U
#define PCI_MSI_FLAGS_64BIT 0x0080U
#define PCI_MSI_ADDRESS_LO 0x04U
#define PCI_MSI_ADDRESS_HI 0x08U
#define PCI_MSI_DATA_32 0x08U
#define PCI_MSI_DATA_64 0x0CU

/* MSI-X capability and table. */
#define PCI_MSIX_FLAGS 0x02U
#define PCI_MSIX_FLAGS_QSIZE 0x07FFU
#define PCI_MSIX_FLAGS_MASKALL 0x4000U
#define PCI_MSIX_FLAGS_ENABLE 0x8000U
#define PCI_MSIX_TABLE 0x04U
#define PCI_MSIX_PBA 0x08U
#define PCI_MSIX_BIR_MASK 0x7U
#define PCI_MSIX_ENTRY_SIZE 16U
#define PCI_MSIX_ENTRY_LOWER_ADDR 0x0U
#define PCI_MSIX_ENTRY_UPPER_ADDR 0x4U
#define PCI_MSIX_ENTRY_DATA 0x8U
#define PCI_MSIX_ENTRY_VECTOR_CTRL 0xCU
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 0x1U

/* ATS extended capability. */
#define PCI_ATS_CAP 0x04U
#define PCI_ATS_CAP_QDEP(cap) ((cap)&0x1FU)
#define PCI_ATS_CAP_PAGE_ALIGNED 0x0020U
#define PCI_ATS_CAP_GLOBAL_INVALIDATE 0x0040U
#define PCI_ATS_CTRL 0x06U
#define PCI_ATS_CTRL_ENABLE 0x8000U
#define PCI_ATS_CTRL_STU(stu) ((stu)&0x1FU)
#define PCI_ATS_MIN_STU 12U /* STU 0 is 4 KiB */

/* PRI extended capability. */
#define PCI_PRI_CTRL 0x04U
#define PCI_PRI_CTRL_ENABLE 0x0001U
#define PCI_PRI_CTRL_RESET 0x0002U
#define PCI_PRI_STATUS 0x06U
#define PCI_PRI_STATUS_RF 0x0001U
#define PCI_PRI_STATUS_UPRGI 0x0002U
#define PCI_PRI_STATUS_STOPPED 0x0100U
#define PCI_PRI_STATUS_PASID 0x8000U
#define PCI_PRI_MAX_REQ 0x08U
#define PCI_PRI_ALLOC_REQ 0x0CU

/* PASID extended capability. */
#define PCI_PASID_CAP 0x04U
#define PCI_PASID_CAP_EXEC 0x0002U
#define PCI_PASID_CAP_PRIV 0x0004U
#define PCI_PASID_CAP_WIDTH(cap) (((cap) >> 8) & 0x1FU)
#define PCI_PASID_CTRL 0x06U
#define PCI_PASID_CTRL_ENABLE 0x0001U
#define PCI_PASID_CTRL_EXEC 0x0002U
#define PCI_PASID_CTRL_PRIV 0x0004U

#define PCI_MAX_DEVICES 32U /* functions pci_enumerate keeps */
#define PCI_NUM_BARS 6U

struct pci_dev {
    uint8_t bus, device, function;
    uint16_t vendor_id, device_id;
    uint32_t class_code; /* base class, sub-class, programming interface (24 bits) */
    uint8_t header_type;
    uint8_t interrupt_pin;
    /* Assigned memory BARs (0 where there is none; the upper half of a 64-bit BAR is 0 too). */
    uint64_t bar_address[PCI_NUM_BARS];
    uint64_t bar_size[PCI_NUM_BARS];
    bool bar_64bit[PCI_NUM_BARS], bar_prefetchable[PCI_NUM_BARS];
    /* Capability offsets, 0 when absent. */
    uint16_t msi_cap, msix_cap, exp_cap, ats_cap, pri_cap, pasid_cap;
    /* State of the features enabled through this library. */
    bool msi_enabled, msix_enabled, ats_enabled, pri_enabled, pasid_enabled;
    uint16_t msix_vectors;
    uint64_t msix_table; /* CPU address of the MSI-X table */
    uint8_t ats_stu;
    uint32_t pri_requests; /* Outstanding Page Request Allocation granted */
    char name[8];          /* "BB:DD.F" as Linux prints it */
};

/* ---- configuration space ---- */
uint32_t pci_config_address(uint8_t bus, uint8_t device, uint8_t function, uint16_t offset);
uint8_t pci_read8(const struct pci_dev *dev, uint16_t offset);
uint16_t pci_read16(const struct pci_dev *dev, uint16_t offset);
uint32_t pci_read32(const struct pci_dev *dev, uint16_t offset);
void pci_write8(const struct pci_dev *dev, uint16_t offset, uint8_t value);
void pci_write16(const struct pci_dev *dev, uint16_t offset, uint16_t value);
void pci_write32(const struct pci_dev *dev, uint16_t offset, uint32_t value);


/* ---- enumeration ---- */
/* Scans bus 0 (every device, every function of multi-function devices), sizes and assigns the memory BARs of
 * type-0 functions in [FW_PCIE_MMIO_BASE, FW_PCIE_MMIO_END) (naturally aligned, largest first, 64-bit BARs
 * with a zero upper half), finds their capabilities and sets Memory Space (not Bus Master). Returns the
 * number of functions found (also kept for pci_find_device), or -1 if the window is exhausted. */
int pci_enumerate(void);
unsigned int pci_device_count(void);
struct pci_dev *pci_device_at(unsigned int index);
/* The index-th function (0: first) with these IDs, or NULL. */
struct pci_dev *pci_find_device(uint16_t vendor_id, uint16_t device_id, unsigned int index);
/* Requester ID: bus << 8 | device << 3 | function (the StreamID under an identity RID map). */
uint32_t pci_dev_rid(const struct pci_dev *dev);
void pci_print_devices(void);

void pci_set_master(struct pci_dev *dev, bool enable);
/* The MMIO address of a BAR (its CPU address: the window is identity mapped). */
uintptr_t pci_bar(const struct pci_dev *dev, unsigned int bar);

/* ---- capabilities ---- */
/* Offset of the first legacy capability with this ID, or 0. The walk is bounded (no loops). */
uint16_t pci_find_capability(const struct pci_dev *dev, uint8_t id);
/* Offset of the first extended capability with this ID (from 0x100), or 0. */
uint16_t pci_find_ext_capability(const struct pci_dev *dev, uint16_t id);

/* ---- interrupts ---- */
/* MSI with one vector: the message address and data, then Enable (and INTx disabled). */
bool pci_enable_msi(struct pci_dev *dev, uint64_t address, uint32_t data);
void pci_disable_msi(struct pci_dev *dev);
/* MSI-X as Linux brings it up: Enable with Function Mask set, every entry masked, then the caller programs
 * vectors with pci_msix_set_vector and unmasks them; Function Mask is cleared here. Returns the table size.
 */
int pci_enable_msix(struct pci_dev *dev);
/* Programs entry `vector` (address, data) and unmasks it. */
bool pci_msix_set_vector(struct pci_dev *dev, unsigned int vector, uint64_t address, uint32_t data);
void pci_msix_mask_vector(struct pci_dev *dev, unsigned int vector, bool masked);
bool pci_msix_pending(const struct pci_dev *dev, unsigned int vector);
void pci_disable_msix(struct pci_dev *dev);

/* ---- ATS, PRI, PASID ---- */
/* PASID: Enable plus Exe/Priv where both the capability and `features` (PCI_PASID_CTRL_EXEC/PRIV) ask.
 * Must precede ATS Enable (changing PASID enables while ATS is on is undefined). */
int pci_enable_pasid(struct pci_dev *dev, uint16_t features);
int pci_disable_pasid(struct pci_dev *dev);
/* Max PASID width the function supports (0 without the capability). */
unsigned int pci_max_pasid_bits(const struct pci_dev *dev);
/* ATS Enable with the Smallest Translation Unit log2(granule) - 12. -EINVAL for an STU under 4 KiB. */
int pci_enable_ats(struct pci_dev *dev, unsigned int granule_shift);
void pci_disable_ats(struct pci_dev *dev);
unsigned int pci_ats_queue_depth(const struct pci_dev *dev);
/* PRI Reset (only while disabled). */
int pci_reset_pri(struct pci_dev *dev);
/* Allocation = min(requests, capacity), then Enable. -EBUSY unless Stopped (the interface must be idle). */
int pci_enable_pri(struct pci_dev *dev, uint32_t requests);
void pci_disable_pri(struct pci_dev *dev);
/* PRI Status "PRG Response PASID Required". */
bool pci_prg_resp_pasid_required(const struct pci_dev *dev);
uint16_t pci_pri_status(const struct pci_dev *dev);

/* ---- GICv2m MSI frame (FW_GICV2M_BASE) ---- */
struct gicv2m_frame {
    uintptr_t base;
    uint64_t doorbell; /* MSI_SETSPI_NS: a device writes the SPI's INTID here */
    uint32_t first_spi_intid, spi_count;
};
/* Reads MSI_TYPER; false if the frame does not look like a GICv2m (no SPIs). */
bool gicv2m_probe(struct gicv2m_frame *frame);

#endif
