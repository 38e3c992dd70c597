/* Guards the ISS against losing state when a quantum ends inside an MMIO access: every SMMU register read has
 * an annotated delay, so with a small quantum (the test runs it with --quantum 1000) many reads end a
 * quantum. RAM written just before the reads and the values read must come out intact. */
#include <stdio.h>
#include <string.h>

#include <fw/mmio.h>
#include <fw/platform.h>

#include "smmu_regs.h"

#define ROUNDS 200
#define ID_REGISTERS 8U /* IDR0..IDR5, IIDR, AIDR */

static struct {
    uintptr_t base;
    uint32_t id[ID_REGISTERS];
    uint8_t padding[1024]; /* a memset-sized object, like the driver's device structure */
} snapshot;

int main(void) {
    uint32_t reference[ID_REGISTERS];
    for (unsigned int i = 0; i < ID_REGISTERS; i++)
        reference[i] = mmio_read32(FW_SMMU_BASE + SMMU_IDR0 + 4U * i);
    int bad_rounds = 0;
    for (int round = 0; round < ROUNDS; round++) {
        if (round & 1)
            memset(&snapshot, 0, sizeof snapshot);
        snapshot.base = FW_SMMU_BASE;
        for (unsigned int i = 0; i < ID_REGISTERS; i++)
            snapshot.id[i] = mmio_read32(snapshot.base + SMMU_IDR0 + 4U * i);
        if (snapshot.base != FW_SMMU_BASE || memcmp(snapshot.id, reference, sizeof reference) != 0) {
            printf("smmu_regread_stress: round %d: base 0x%lx IDR0 0x%x (want 0x%lx 0x%x)\n", round,
                   (unsigned long)snapshot.base, (unsigned int)snapshot.id[0], (unsigned long)FW_SMMU_BASE,
                   (unsigned int)reference[0]);
            bad_rounds++;
        }
    }
    printf("smmu_regread_stress: %d rounds, %d bad\n", ROUNDS, bad_rounds);
    return bad_rounds ? 1 : 0;
}
