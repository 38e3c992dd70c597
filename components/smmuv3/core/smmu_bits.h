/* Bit-field helpers shared by every SMMUv3 core file. Fields are described by their mask, as in the
 * architecture's bit diagrams, so a layout is written exactly once (see smmu_regs.h / smmu_structs.h). */
#ifndef SMMU_BITS_H
#define SMMU_BITS_H

#include <stdint.h>

#define SMMU_BIT(n) (UINT64_C(1) << (n))
/* Mask of bits hi..lo inclusive (hi >= lo, hi <= 63). */
#define SMMU_GENMASK(hi, lo) ((~UINT64_C(0) >> (63 - (hi))) & (~UINT64_C(0) << (lo)))
#define SMMU_FIELD_SHIFT(mask) (__builtin_ctzll(mask))
#define SMMU_FIELD_GET(mask, val) (((uint64_t)(val) & (mask)) >> SMMU_FIELD_SHIFT(mask))
#define SMMU_FIELD_PREP(mask, val) (((uint64_t)(val) << SMMU_FIELD_SHIFT(mask)) & (mask))
/* Replace the field `mask` of `reg` with `val`. */
#define SMMU_FIELD_SET(reg, mask, val) (((reg) & ~(uint64_t)(mask)) | SMMU_FIELD_PREP(mask, val))

/* An address field kept in place (e.g. TTB0[55:4]): mask it, do not shift. */
#define SMMU_ADDR_GET(mask, val) ((uint64_t)(val) & (mask))

#endif
