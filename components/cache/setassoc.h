/* A set-associative cache of fixed-size entries, with LRU, FIFO or seeded RANDOM replacement, statistics, and
 * optional secondary indexes that group entries by caller-chosen 64-bit keys. It knows nothing of what it
 * caches: the caller decides which set a key maps to, compares tags itself while probing the ways of a set,
 * and names the groups an entry belongs to. Groups make scoped invalidation cost what it removes: visiting a
 * group touches only its members, never the whole cache.
 *
 * Plain C11; all memory is allocated by vp_setassoc_init; not thread-safe. */
#ifndef VP_SETASSOC_H
#define VP_SETASSOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "No slot": the end of an iteration, or no match. */
#define VP_SETASSOC_NONE UINT32_MAX
/* Secondary indexes one cache can have. */
#define VP_SETASSOC_MAX_INDEXES 4u
/* Entries one cache can have (slots are 32-bit indexes). */
#define VP_SETASSOC_MAX_ENTRIES (UINT32_C(1) << 30)

typedef enum vp_setassoc_policy {
    VP_SETASSOC_LRU = 0,   /* evict the least recently inserted or hit entry */
    VP_SETASSOC_FIFO = 1,  /* evict the oldest insertion; hits do not protect */
    VP_SETASSOC_RANDOM = 2 /* evict a way chosen by a xorshift32 sequence from the seed */
} vp_setassoc_policy;

typedef struct vp_setassoc_config {
    uint32_t sets; /* 0 (or ways 0): a disabled cache that holds nothing */
    uint32_t ways;
    vp_setassoc_policy policy;
    uint32_t seed;     /* RANDOM: first state of the sequence (0 is replaced by a fixed non-zero value) */
    size_t entry_size; /* bytes of the caller's entry */
    unsigned indexes;  /* secondary indexes, 0..VP_SETASSOC_MAX_INDEXES */
} vp_setassoc_config;

typedef struct vp_setassoc_stats {
    uint64_t lookups, hits, misses, inserts, evictions, invalidated;
} vp_setassoc_stats;

/* Per slot and per index: the group key and the neighbours in that group. */
typedef struct vp_setassoc_link {
    uint64_t key;
    uint32_t prev, next;
} vp_setassoc_link;

/* Open-addressing table from group key to its first member and size. */
typedef struct vp_setassoc_group {
    uint64_t key;
    uint32_t head;
    uint32_t size; /* 0: an empty bucket */
} vp_setassoc_group;

typedef struct vp_setassoc_groups {
    vp_setassoc_group *buckets;
    uint32_t capacity; /* a power of two, at least twice the entries */
    uint32_t used;
} vp_setassoc_groups;

/* The cache. Fields are visible so that the probing helpers below inline; treat them as private. */
typedef struct vp_setassoc {
    uint32_t sets, ways;
    vp_setassoc_policy policy;
    size_t entry_size;
    unsigned indexes;
    unsigned char *entries; /* sets * ways entries, set-major */
    uint64_t *stamp;        /* per slot: last use (LRU) or insertion (FIFO); 0 marks a free slot */
    uint32_t *all_prev, *all_next;
    uint32_t all_head;
    uint32_t count; /* valid entries */
    vp_setassoc_link *links[VP_SETASSOC_MAX_INDEXES];
    vp_setassoc_groups groups[VP_SETASSOC_MAX_INDEXES];
    uint64_t clock;
    uint32_t random_state;
    vp_setassoc_stats stats;
} vp_setassoc;

/* Returns false, leaving *c disabled, for an invalid configuration (entry_size 0, more than
 * VP_SETASSOC_MAX_ENTRIES entries or VP_SETASSOC_MAX_INDEXES indexes, an unknown policy) or when memory runs
 * out. A configuration with 0 sets or ways gives a disabled cache and returns true. */
bool vp_setassoc_init(vp_setassoc *c, const vp_setassoc_config *cfg);
void vp_setassoc_free(vp_setassoc *c);

static inline bool vp_setassoc_enabled(const vp_setassoc *c) {
    return c->sets != 0;
}

/* First slot of the set that `key` maps to (key modulo the number of sets); its ways follow it. */
static inline uint32_t vp_setassoc_set_first(const vp_setassoc *c, uint64_t key) {
    return (uint32_t)(key % c->sets) * c->ways;
}

static inline bool vp_setassoc_valid(const vp_setassoc *c, uint32_t slot) {
    return c->stamp[slot] != 0;
}

/* The caller's entry in `slot`, valid or not. */
static inline void *vp_setassoc_entry(const vp_setassoc *c, uint32_t slot) {
    return c->entries + (size_t)slot * c->entry_size;
}

/* Statistics of a lookup the caller performs by probing ways: one note_lookup per lookup, then either
 * vp_setassoc_hit on the entry it used or note_miss. */
static inline void vp_setassoc_note_lookup(vp_setassoc *c) {
    c->stats.lookups++;
}
static inline void vp_setassoc_note_miss(vp_setassoc *c) {
    c->stats.misses++;
}
static inline void vp_setassoc_hit(vp_setassoc *c, uint32_t slot) {
    c->stats.hits++;
    if (c->policy == VP_SETASSOC_LRU)
        c->stamp[slot] = ++c->clock;
}

/* The slot a new entry of the set starting at `set_first` goes to: a free way if there is one (the first),
 * else the policy's victim, which is evicted (counted, removed from every group). The slot stays free until
 * vp_setassoc_insert. */
uint32_t vp_setassoc_victim(vp_setassoc *c, uint32_t set_first);

/* Makes the entry the caller wrote into `slot` valid, as a new insertion (counted, stamped), member of group
 * keys[i] of index i (keys may be NULL without indexes). A slot that is already valid is replaced in place:
 * it leaves its old groups without counting an eviction or invalidation. */
void vp_setassoc_insert(vp_setassoc *c, uint32_t slot, const uint64_t *keys);

/* Invalidates one valid entry (counted as invalidated). */
void vp_setassoc_remove(vp_setassoc *c, uint32_t slot);

/* Empties the cache without counting anything (a reset). */
void vp_setassoc_clear(vp_setassoc *c);

static inline uint32_t vp_setassoc_count(const vp_setassoc *c) {
    return c->count;
}

/* Every valid entry, most recently inserted first: for (s = first(c); s != NONE; s = next(c, s)). Fetch the
 * next slot before removing the current one. */
static inline uint32_t vp_setassoc_first(const vp_setassoc *c) {
    return c->sets ? c->all_head : VP_SETASSOC_NONE;
}
static inline uint32_t vp_setassoc_next(const vp_setassoc *c, uint32_t slot) {
    return c->all_next[slot];
}

/* The members of group `key` of index `index`, in the same way. */
uint32_t vp_setassoc_group_first(const vp_setassoc *c, unsigned index, uint64_t key);
static inline uint32_t vp_setassoc_group_next(const vp_setassoc *c, unsigned index, uint32_t slot) {
    return c->links[index][slot].next;
}
uint32_t vp_setassoc_group_size(const vp_setassoc *c, unsigned index, uint64_t key);

/* Removes (counted as invalidated) every entry for which match(entry, arg) is true, among all entries or
 * among the members of one group. Returns how many were removed. */
uint64_t vp_setassoc_remove_if(vp_setassoc *c, bool (*match)(const void *entry, const void *arg),
                               const void *arg);
uint64_t vp_setassoc_remove_group_if(vp_setassoc *c, unsigned index, uint64_t key,
                                     bool (*match)(const void *entry, const void *arg), const void *arg);

#ifdef __cplusplus
}
#endif

#endif
