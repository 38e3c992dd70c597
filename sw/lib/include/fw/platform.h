/* Physical memory map shared by the virtual platform and QEMU's virt machine (highmem=off). */
#ifndef FW_PLATFORM_H
#define FW_PLATFORM_H

#define FW_GICD_BASE 0x08000000UL
#define FW_GICC_BASE 0x08010000UL
#define FW_GICV2M_BASE 0x08020000UL
#define FW_PL011_BASE 0x09000000UL
#define FW_SMMU_BASE 0x09050000UL
#define FW_SMMU_SIZE 0x20000UL
#define FW_DMA_MASTER_BASE 0x0c000000UL /* the virtual platform only, absent on QEMU */
#define FW_PCIE_MMIO_BASE 0x10000000UL
#define FW_PCIE_MMIO_END 0x3eff0000UL /* exclusive */
#define FW_PCIE_ECAM_BASE 0x3f000000UL
#define FW_RAM_BASE 0x40000000UL

/* GIC interrupt IDs: SPI n is INTID 32 + n. */
#define FW_SPI_INTID(spi) (32U + (spi))
#define FW_INTID_PL011 FW_SPI_INTID(1)
#define FW_INTID_SMMU_EVTQ FW_SPI_INTID(74)
#define FW_INTID_SMMU_PRIQ FW_SPI_INTID(75)
#define FW_INTID_SMMU_CMDQ_SYNC FW_SPI_INTID(76)
#define FW_INTID_SMMU_GERROR FW_SPI_INTID(77)
#define FW_INTID_DMA_MASTER FW_SPI_INTID(112)

#endif
