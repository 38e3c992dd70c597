/* Storage and replacement for the engine's set-associative caches (see smmu_tlb.h). */
#include "smmu_tlb.h"

#include <stdlib.h>
#include <string.h>

bool smmu_tlb_init(smmu_tlb *tlb, const smmu_cache_params *params, uint32_t random_seed) {
    memset(tlb, 0, sizeof(*tlb));
    tlb->policy = params->policy;
    tlb->lookup_ps = params->lookup_ps;
    /* xorshift32 never leaves 0, so a zero seed gets a fixed non-zero substitute. */
    tlb->random_state = random_seed ? random_seed : 0x9e3779b9u;
    if (params->sets == 0 || params->ways == 0)
        return true;
    tlb->entries = calloc((size_t)params->sets * params->ways, sizeof(*tlb->entries));
    if (!tlb->entries)
        return false;
    tlb->sets = params->sets;
    tlb->ways = params->ways;
    return true;
}

void smmu_tlb_free(smmu_tlb *tlb) {
    free(tlb->entries);
    tlb->entries = NULL;
    tlb->sets = 0;
}

static uint32_t next_random(smmu_tlb *tlb) {
    uint32_t x = tlb->random_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    tlb->random_state = x;
    return x;
}

smmu_tlb_entry *smmu_tlb_victim(smmu_tlb *tlb, smmu_tlb_entry *set) {
    for (uint32_t way = 0; way < tlb->ways; way++) {
        if (!(set[way].flags & SMMU_TLB_F_VALID))
            return &set[way];
    }
    smmu_tlb_entry *victim = &set[0];
    if (tlb->policy == SMMU_REPL_RANDOM) {
        victim = &set[next_random(tlb) % tlb->ways];
    } else {
        /* LRU stamps on use, FIFO stamps on insertion only: both evict the smallest stamp. */
        for (uint32_t way = 1; way < tlb->ways; way++) {
            if (set[way].stamp < victim->stamp)
                victim = &set[way];
        }
    }
    tlb->stats.evictions++;
    victim->flags = 0;
    return victim;
}

void smmu_tlb_commit(smmu_tlb *tlb, smmu_tlb_entry *e) {
    e->flags |= SMMU_TLB_F_VALID;
    e->stamp = ++tlb->clock;
    tlb->stats.inserts++;
}

uint64_t smmu_tlb_invalidate_if(smmu_tlb *tlb, bool (*match)(const smmu_tlb_entry *e, const void *arg),
                                const void *arg) {
    uint64_t removed = 0;
    uint64_t count = (uint64_t)tlb->sets * tlb->ways;
    for (uint64_t i = 0; i < count; i++) {
        smmu_tlb_entry *e = &tlb->entries[i];
        if ((e->flags & SMMU_TLB_F_VALID) && match(e, arg)) {
            e->flags = 0;
            removed++;
        }
    }
    tlb->stats.invalidated += removed;
    return removed;
}
