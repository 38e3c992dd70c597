/* Set-associative cache storage, replacement, statistics and group indexes (see setassoc.h). */
#include "setassoc.h"

#include <stdlib.h>
#include <string.h>

/* ---- Group tables: open addressing with linear probing and backward-shift deletion ---- */

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

/* The bucket holding `key`, or the empty bucket where it would go. */
static uint32_t group_find(const vp_setassoc_groups *g, uint64_t key) {
    uint32_t mask = g->capacity - 1;
    uint32_t i = (uint32_t)mix64(key) & mask;
    while (g->buckets[i].size != 0 && g->buckets[i].key != key)
        i = (i + 1) & mask;
    return i;
}

/* Empties bucket i and moves later members of its probe run back so that every key stays reachable. */
static void group_erase(vp_setassoc_groups *g, uint32_t i) {
    uint32_t mask = g->capacity - 1;
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & mask; g->buckets[j].size != 0; j = (j + 1) & mask) {
        uint32_t home = (uint32_t)mix64(g->buckets[j].key) & mask;
        /* Move j into the hole unless its home lies cyclically in (hole, j]. */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            g->buckets[hole] = g->buckets[j];
            hole = j;
        }
    }
    g->buckets[hole].size = 0;
    g->used--;
}

static const vp_setassoc_group *group_lookup(const vp_setassoc_groups *g, uint64_t key) {
    const vp_setassoc_group *b = &g->buckets[group_find(g, key)];
    return b->size ? b : NULL;
}

/* ---- Slot lists ---- */

static void link_all(vp_setassoc *c, uint32_t slot) {
    c->all_prev[slot] = VP_SETASSOC_NONE;
    c->all_next[slot] = c->all_head;
    if (c->all_head != VP_SETASSOC_NONE)
        c->all_prev[c->all_head] = slot;
    c->all_head = slot;
}

static void unlink_all(vp_setassoc *c, uint32_t slot) {
    uint32_t prev = c->all_prev[slot], next = c->all_next[slot];
    if (prev != VP_SETASSOC_NONE)
        c->all_next[prev] = next;
    else
        c->all_head = next;
    if (next != VP_SETASSOC_NONE)
        c->all_prev[next] = prev;
}

static void link_group(vp_setassoc *c, unsigned index, uint32_t slot, uint64_t key) {
    vp_setassoc_groups *g = &c->groups[index];
    vp_setassoc_link *l = &c->links[index][slot];
    l->key = key;
    vp_setassoc_group *b = &g->buckets[group_find(g, key)];
    if (b->size == 0) {
        b->key = key;
        b->head = VP_SETASSOC_NONE;
        g->used++;
    }
    l->prev = VP_SETASSOC_NONE;
    l->next = b->head;
    if (b->head != VP_SETASSOC_NONE)
        c->links[index][b->head].prev = slot;
    b->head = slot;
    b->size++;
}

static void unlink_group(vp_setassoc *c, unsigned index, uint32_t slot) {
    vp_setassoc_groups *g = &c->groups[index];
    vp_setassoc_link *l = &c->links[index][slot];
    uint32_t i = group_find(g, l->key);
    vp_setassoc_group *b = &g->buckets[i];
    if (l->prev != VP_SETASSOC_NONE)
        c->links[index][l->prev].next = l->next;
    else
        b->head = l->next;
    if (l->next != VP_SETASSOC_NONE)
        c->links[index][l->next].prev = l->prev;
    if (--b->size == 0)
        group_erase(g, i);
}

/* Takes a valid slot out of every list and marks it free, without counting. */
static void drop(vp_setassoc *c, uint32_t slot) {
    unlink_all(c, slot);
    for (unsigned i = 0; i < c->indexes; i++)
        unlink_group(c, i, slot);
    c->stamp[slot] = 0;
    c->count--;
}

/* ---- Lifetime ---- */

bool vp_setassoc_init(vp_setassoc *c, const vp_setassoc_config *cfg) {
    memset(c, 0, sizeof(*c));
    c->all_head = VP_SETASSOC_NONE;
    /* xorshift32 never leaves 0, so a zero seed gets a fixed non-zero substitute. */
    c->random_state = cfg->seed ? cfg->seed : UINT32_C(0x9e3779b9);
    c->policy = cfg->policy;
    if (cfg->sets == 0 || cfg->ways == 0)
        return true;
    uint64_t n = (uint64_t)cfg->sets * cfg->ways;
    if (cfg->entry_size == 0 || n > VP_SETASSOC_MAX_ENTRIES || cfg->indexes > VP_SETASSOC_MAX_INDEXES ||
        cfg->policy > VP_SETASSOC_RANDOM)
        return false;
    c->entry_size = cfg->entry_size;
    c->indexes = cfg->indexes;
    /* calloc: a zero stamp marks a free slot, and untouched pages of a large cache cost no memory. */
    c->entries = calloc(n, cfg->entry_size);
    c->stamp = calloc(n, sizeof(*c->stamp));
    c->all_prev = malloc(n * sizeof(*c->all_prev));
    c->all_next = malloc(n * sizeof(*c->all_next));
    bool ok = c->entries && c->stamp && c->all_prev && c->all_next;
    /* Each group has at least one member, so twice the entries keeps every table at most half full: lookups
     * stay short and an insert never needs to grow a table. */
    uint32_t capacity = 16;
    while (capacity < 2 * n)
        capacity *= 2;
    for (unsigned i = 0; i < cfg->indexes && ok; i++) {
        c->links[i] = malloc(n * sizeof(*c->links[i]));
        c->groups[i].buckets = calloc(capacity, sizeof(*c->groups[i].buckets));
        c->groups[i].capacity = capacity;
        ok = c->links[i] && c->groups[i].buckets;
    }
    if (!ok) {
        vp_setassoc_free(c);
        return false;
    }
    c->sets = cfg->sets;
    c->ways = cfg->ways;
    return true;
}

void vp_setassoc_free(vp_setassoc *c) {
    free(c->entries);
    free(c->stamp);
    free(c->all_prev);
    free(c->all_next);
    for (unsigned i = 0; i < VP_SETASSOC_MAX_INDEXES; i++) {
        free(c->links[i]);
        free(c->groups[i].buckets);
    }
    memset(c, 0, sizeof(*c));
    c->all_head = VP_SETASSOC_NONE;
}

void vp_setassoc_clear(vp_setassoc *c) {
    for (uint32_t s = vp_setassoc_first(c), next; s != VP_SETASSOC_NONE; s = next) {
        next = c->all_next[s];
        drop(c, s);
    }
    c->clock = 0;
}

/* ---- Replacement ---- */

static uint32_t next_random(vp_setassoc *c) {
    uint32_t x = c->random_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c->random_state = x;
    return x;
}

uint32_t vp_setassoc_victim(vp_setassoc *c, uint32_t set_first) {
    for (uint32_t way = 0; way < c->ways; way++)
        if (c->stamp[set_first + way] == 0)
            return set_first + way;
    uint32_t victim = set_first;
    if (c->policy == VP_SETASSOC_RANDOM) {
        victim = set_first + next_random(c) % c->ways;
    } else {
        /* LRU stamps on use, FIFO on insertion only: both evict the smallest stamp. */
        for (uint32_t way = 1; way < c->ways; way++)
            if (c->stamp[set_first + way] < c->stamp[victim])
                victim = set_first + way;
    }
    c->stats.evictions++;
    drop(c, victim);
    return victim;
}

void vp_setassoc_insert(vp_setassoc *c, uint32_t slot, const uint64_t *keys) {
    if (c->stamp[slot] != 0)
        drop(c, slot);
    c->stamp[slot] = ++c->clock;
    c->count++;
    c->stats.inserts++;
    link_all(c, slot);
    for (unsigned i = 0; i < c->indexes; i++)
        link_group(c, i, slot, keys[i]);
}

void vp_setassoc_remove(vp_setassoc *c, uint32_t slot) {
    drop(c, slot);
    c->stats.invalidated++;
}

/* ---- Iteration ---- */

uint32_t vp_setassoc_group_first(const vp_setassoc *c, unsigned index, uint64_t key) {
    if (!c->sets || index >= c->indexes)
        return VP_SETASSOC_NONE;
    const vp_setassoc_group *b = group_lookup(&c->groups[index], key);
    return b ? b->head : VP_SETASSOC_NONE;
}

uint32_t vp_setassoc_group_size(const vp_setassoc *c, unsigned index, uint64_t key) {
    if (!c->sets || index >= c->indexes)
        return 0;
    const vp_setassoc_group *b = group_lookup(&c->groups[index], key);
    return b ? b->size : 0;
}

uint64_t vp_setassoc_remove_if(vp_setassoc *c, bool (*match)(const void *entry, const void *arg),
                               const void *arg) {
    uint64_t removed = 0;
    for (uint32_t s = vp_setassoc_first(c), next; s != VP_SETASSOC_NONE; s = next) {
        next = c->all_next[s];
        if (match(vp_setassoc_entry(c, s), arg)) {
            vp_setassoc_remove(c, s);
            removed++;
        }
    }
    return removed;
}

uint64_t vp_setassoc_remove_group_if(vp_setassoc *c, unsigned index, uint64_t key,
                                     bool (*match)(const void *entry, const void *arg), const void *arg) {
    uint64_t removed = 0;
    for (uint32_t s = vp_setassoc_group_first(c, index, key), next; s != VP_SETASSOC_NONE; s = next) {
        next = c->links[index][s].next;
        if (match(vp_setassoc_entry(c, s), arg)) {
            vp_setassoc_remove(c, s);
            removed++;
        }
    }
    return removed;
}
