/* Memory attributes (IHI0070 chapter 13): the attributes of the SMMU's own accesses (CR1, STE/CD walk fields,
 * MSI configuration) and of translation results (overrides, stage 1, stage 2, FEAT_S2FWB). Every memory-type,
 * cacheability and shareability rule of the core lives in smmu_attrs.c; the other files only pass fields in.
 * Not a public interface. */
#ifndef SMMU_ATTRS_H
#define SMMU_ATTRS_H

#include <stdbool.h>
#include <stdint.h>

#include "smmu_host.h"

/* Shareability as the host and the results report it. */
enum { SMMU_SH_NSH = 0, SMMU_SH_OSH = 2, SMMU_SH_ISH = 3 };

/* The single shareability rule: a Device type, or Normal Non-cacheable at both levels, is Outer Shareable
 * whatever an SH field or SHCFG says (13.1.4, 13.1.7); otherwise the 2-bit SH field, whose reserved 0b01
 * behaves as Non-shareable. */
uint8_t smmu_share_normalise(bool device, bool inner_nc, bool outer_nc, unsigned sh);

/* Attributes of a CR1-described access (CR1.TABLE_* or CR1.QUEUE_*): cacheability 0 NC, 1 WB, 2 WT and the
 * reserved 3 as Non-cacheable. */
smmu_mem_attrs smmu_attrs_cr1(unsigned ic, unsigned oc, unsigned sh);
/* Attributes of a table walk or CD fetch from a TCR-style IRx/ORx/SHx triple (CD.{IR,OR,SH}{0,1},
 * STE.S2{IR,OR,SH}0, STE.S1C{IR,OR,SH}): 0 NC, 1 and 3 WB, 2 WT. */
smmu_mem_attrs smmu_attrs_walk(unsigned ir, unsigned orgn, unsigned sh);
/* Attributes of an MSI write from an xxx_IRQ_CFG2-layout value (MemAttr[3:0], SH[5:4]). */
smmu_mem_attrs smmu_attrs_msi(uint32_t cfg2);

/* A result memory type: a MAIR attribute byte and the SH value that came with it (not yet normalised). */
typedef struct smmu_attr {
    uint8_t mair;
    uint8_t sh;
} smmu_attr;

/* The attributes entering translation when stage 1 provides none: the transaction carries none, so the
 * architecture's default input (Normal Write-Back, Non-shareable, 13.1.3), replaced by the MTCFG/MemAttr,
 * ALLOCCFG and SHCFG overrides of the STE or GBPA (fields as encoded there). */
smmu_attr smmu_attr_incoming(bool mtcfg, unsigned memattr, unsigned alloccfg, unsigned shcfg);
/* `in` (stage 1's, or the incoming attributes) combined with a stage-2 descriptor's MemAttr[3:0] and SH, with
 * the FEAT_S2FWB rules when fwb (13.5). */
smmu_attr smmu_attr_combine_s2(smmu_attr in, unsigned s2_memattr, unsigned s2_sh, bool fwb);
/* The shareability a result reports for `a`. */
uint8_t smmu_attr_share(smmu_attr a);

#endif
