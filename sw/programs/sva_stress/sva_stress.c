/* SVA under a seeded random mix: several processes (all using the same virtual addresses for different
 * pages), both Test Engines, a PASID per process; steps map and unmap (whole or partial VMAs, lazy or
 * populated), bind and unbind, exit and re-create processes, and run work (RAND48, SUM64, MEMCPY; on one
 * engine or on both at once for two processes; sometimes over an unmapped page, which must end in ERROR).
 * After every command the CPU checks, through the process's own VAs, that the command did what it should
 * (RAND48 bytes, the SUM64 value, the MEMCPY copy), and that nothing else changed: every resident page of
 * every process, outside the command's range, keeps its checksum. At the end every bond is gone and no page
 * leaked.
 *
 * The seed is in the image (SVA_STRESS_SEED, overridable with -DSVA_STRESS_SEED=...) and read from a volatile
 * global, so a debugger or a patched image can replay another run. Platform only: QEMU has no PASID, PRI, ATS
 * or Test Engine (SKIP). */
#include <stdio.h>
#include <string.h>

#include <fw/mm.h>
#include <fw/page_alloc.h>
#include <fw/timer.h>
#include <fwsmmu/sva_env.h>

#ifndef SVA_STRESS_SEED
#define SVA_STRESS_SEED 0x5EED5EEDU
#endif
#ifndef SVA_STRESS_STEPS
#define SVA_STRESS_STEPS 6000U
#endif

/* The run's seed: patch it (symbol sva_stress_seed) to replay another sequence. */
volatile uint32_t sva_stress_seed = SVA_STRESS_SEED;

#define PROCESSES 4U
#define REGIONS 2U
#define REGION_PAGES 8U
#define REGION_BYTES (REGION_PAGES * PAGE_SIZE)
#define VA_REGION(r) (0x0000010000000000ULL + (uint64_t)(r)*0x10000000ULL)
#define TIMEOUT_MS 2000U
#define ALL_PAGES ((1U << REGION_PAGES) - 1U)

struct process {
    struct mm_struct *mm;
    struct iommu_sva *bond[SVA_ENV_MAX_ENGINES];
    uint32_t mapped[REGIONS]; /* bit n: page n of the region has a VMA */
};

static struct sva_env env;
static struct process procs[PROCESSES];
static int failures;
static uint64_t rng_state;
static unsigned int step;

/* Counters for the summary line. */
static unsigned int n_rand48, n_sum64, n_memcpy, n_parallel, n_bad, n_bind, n_unbind, n_map, n_unmap, n_exit;

static void fail(const char *what) {
    failures++;
    printf("sva_stress: step %u: %s: FAILED\n", step, what);
}

static void check(bool ok, const char *what) {
    if (!ok)
        fail(what);
}

/* xorshift64*: the run's only source of choices. */
static uint32_t rnd(uint32_t bound) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)(((rng_state * 0x2545F4914F6CDD1DULL) >> 32) % bound);
}

/* ---- memory seen by the CPU ---- */

/* Checksum of every resident page of p's regions, bytes in [skip_begin, skip_end] left out; a page that is
 * not resident counts as zeros (a page the engine faults in starts zeroed). Read through the PAs. */
static uint64_t checksum(const struct process *p, uint64_t skip_begin, uint64_t skip_end) {
    uint64_t sum = 0;
    for (unsigned int r = 0; r < REGIONS; r++)
        for (unsigned int page = 0; page < REGION_PAGES; page++) {
            uint64_t va = VA_REGION(r) + page * PAGE_SIZE;
            uint64_t pa = mm_va_to_pa(p->mm, va);
            if (!pa)
                continue;
            const volatile uint64_t *words = (const volatile uint64_t *)(uintptr_t)pa;
            bool partial = va + PAGE_SIZE > skip_begin && va <= skip_end;
            for (unsigned int w = 0; w < PAGE_SIZE / 8; w++) {
                uint64_t word = words[w], address = va + w * 8U;
                if (partial && address + 7 >= skip_begin && address <= skip_end) {
                    for (unsigned int b = 0; b < 8; b++)
                        if (address + b < skip_begin || address + b > skip_end)
                            sum += ((word >> (8 * b)) & 0xFF) * ((address + b) | 1U);
                } else {
                    for (unsigned int b = 0; b < 8; b++)
                        sum += ((word >> (8 * b)) & 0xFF) * ((address + b) | 1U);
                }
            }
        }
    return sum;
}

struct snapshot {
    uint64_t sums[PROCESSES];
};

/* What a command may change in its process: [begin, end] (begin > end: nothing). */
struct range {
    uint64_t begin, end;
};

static void take_snapshot(struct snapshot *s, const struct range changing[PROCESSES]) {
    for (unsigned int i = 0; i < PROCESSES; i++)
        s->sums[i] = checksum(&procs[i], changing[i].begin, changing[i].end);
}

static bool snapshot_unchanged(const struct snapshot *before, const struct range changing[PROCESSES]) {
    struct snapshot after;
    take_snapshot(&after, changing);
    return memcmp(before, &after, sizeof(after)) == 0;
}

static bool rand48_landed(struct process *p, uint32_t seed, uint64_t begin, uint64_t end) {
    mm_switch(p->mm);
    bool ok = true;
    /* In every page of the range: its first and last four bytes and every 251st between (each expected byte
     * costs its offset in the page in generator steps). */
    for (uint64_t page = begin & ~0xFFFULL; page <= end && ok; page += PAGE_SIZE) {
        uint64_t lo = page > begin ? page : begin,
                 hi = page + PAGE_SIZE - 1 < end ? page + PAGE_SIZE - 1 : end;
        for (uint64_t a = lo; a <= hi && ok; a += (a < lo + 4 || a + 4 > hi) ? 1 : 251)
            ok = *(const volatile uint8_t *)(uintptr_t)a == te_rand48_byte(seed, begin, a);
        for (uint64_t a = hi >= lo + 4 ? hi - 4 : lo; a <= hi && ok; a++)
            ok = *(const volatile uint8_t *)(uintptr_t)a == te_rand48_byte(seed, begin, a);
    }
    mm_switch(NULL);
    return ok;
}

static uint64_t cpu_sum64(struct process *p, uint64_t begin, uint64_t end) {
    mm_switch(p->mm);
    uint64_t sum = 0;
    for (uint64_t a = begin; a < end; a += 8)
        sum += *(const volatile uint64_t *)(uintptr_t)a;
    mm_switch(NULL);
    return sum;
}

static bool same_bytes(struct process *p, uint64_t a, uint64_t b, uint64_t bytes) {
    mm_switch(p->mm);
    bool same = memcmp((const void *)(uintptr_t)a, (const void *)(uintptr_t)b, bytes) == 0;
    mm_switch(NULL);
    return same;
}

/* ---- choices ---- */

/* A run of pages of region r all mapped (want_mapped) or all unmapped, of up to max_pages; false if none. */
static bool pick_run(const struct process *p, unsigned int r, bool want_mapped, unsigned int max_pages,
                     unsigned int *first, unsigned int *count) {
    unsigned int start = rnd(REGION_PAGES);
    for (unsigned int k = 0; k < REGION_PAGES; k++) {
        unsigned int page = (start + k) % REGION_PAGES;
        if (((p->mapped[r] >> page) & 1U) != want_mapped)
            continue;
        unsigned int n = 1, limit = 1 + rnd(max_pages);
        while (page + n < REGION_PAGES && n < limit && ((p->mapped[r] >> (page + n)) & 1U) == want_mapped)
            n++;
        *first = page;
        *count = n;
        return true;
    }
    return false;
}

static bool bound_anywhere(const struct process *p) {
    for (unsigned int e = 0; e < env.engines; e++)
        if (p->bond[e])
            return true;
    return false;
}

/* The process's PASID is the same on every engine and no other live process has it. */
static bool pasids_consistent(void) {
    for (unsigned int i = 0; i < PROCESSES; i++) {
        uint32_t pasid = iommu_sva_mm_pasid(procs[i].mm);
        for (unsigned int e = 0; e < env.engines; e++)
            if (procs[i].bond[e] && iommu_sva_get_pasid(procs[i].bond[e]) != pasid)
                return false;
        for (unsigned int j = 0; j < i && pasid; j++)
            if (iommu_sva_mm_pasid(procs[j].mm) == pasid)
                return false;
    }
    return true;
}

/* ---- steps ---- */

static void do_map(struct process *p) {
    unsigned int r = rnd(REGIONS), first, count;
    if (!pick_run(p, r, false, REGION_PAGES, &first, &count))
        return;
    bool populate = rnd(4) == 0;
    int result = mm_map(p->mm, VA_REGION(r) + first * PAGE_SIZE, count * PAGE_SIZE,
                        MM_PROT_READ | MM_PROT_WRITE, populate ? MM_MAP_POPULATE : 0);
    check(result == 0, "mm_map");
    if (result == 0)
        p->mapped[r] |= ((1U << count) - 1U) << first;
    n_map++;
}

static void do_unmap(struct process *p) {
    unsigned int r = rnd(REGIONS), first, count;
    if (!pick_run(p, r, true, REGION_PAGES, &first, &count))
        return;
    int result = mm_unmap(p->mm, VA_REGION(r) + first * PAGE_SIZE, count * PAGE_SIZE);
    check(result == 0, "mm_unmap");
    p->mapped[r] &= ~(((1U << count) - 1U) << first);
    for (unsigned int page = first; page < first + count; page++)
        check(mm_va_to_pa(p->mm, VA_REGION(r) + page * PAGE_SIZE) == 0, "unmapped page gone");
    n_unmap++;
}

static void do_bind(struct process *p, unsigned int e) {
    if (p->bond[e])
        return;
    p->bond[e] = iommu_sva_bind_device(&env.master[e], p->mm);
    check(p->bond[e] != NULL, "bind");
    check(pasids_consistent(), "one PASID per process, shared by its bonds, unique");
    n_bind++;
}

static void do_unbind(struct process *p, unsigned int e) {
    if (!p->bond[e])
        return;
    check(te_stop(&env.te[e], (unsigned int)(p - procs), TIMEOUT_MS), "engine stops using the PASID");
    iommu_sva_unbind_device(p->bond[e]);
    p->bond[e] = NULL;
    check(bound_anywhere(p) || iommu_sva_mm_pasid(p->mm) == 0, "PASID freed with the last bond");
    n_unbind++;
}

static void do_exit(struct process *p) {
    /* Exit with its bonds alive (the release quiesces the CDs), then the device driver unbinds. */
    for (unsigned int e = 0; e < env.engines; e++)
        if (p->bond[e])
            check(te_stop(&env.te[e], (unsigned int)(p - procs), TIMEOUT_MS), "engine stops before exit");
    mm_exit(p->mm);
    for (unsigned int e = 0; e < env.engines; e++)
        if (p->bond[e]) {
            iommu_sva_unbind_device(p->bond[e]);
            p->bond[e] = NULL;
        }
    *p = (struct process){.mm = mm_create()};
    check(p->mm != NULL, "new process");
    n_exit++;
}

/* A command prepared for one engine, checked after it ran. */
struct work {
    struct process *p;
    unsigned int engine;
    uint32_t command, seed;
    uint64_t begin, end, destination;
    bool expect_error;
    struct range changing; /* what the command may write */
};

static bool plan_work(struct work *w, struct process *p, unsigned int e, bool bad) {
    *w = (struct work){.p = p, .engine = e};
    unsigned int r = rnd(REGIONS), first, count;
    if (bad) {
        /* A run with an unmapped page in it: pages before it may be mapped or not. */
        if (!pick_run(p, r, false, 2, &first, &count))
            return false;
        w->command = TE_ENGINE_RAND48;
        w->seed = 1 + rnd(0xFFFF);
        w->begin = VA_REGION(r) + first * PAGE_SIZE + rnd(PAGE_SIZE);
        w->end = VA_REGION(r) + (first + count) * PAGE_SIZE - 1 - rnd(64);
        if (w->end < w->begin)
            w->end = w->begin;
        w->expect_error = true;
        return true;
    }
    if (!pick_run(p, r, true, 3, &first, &count))
        return false;
    uint64_t run = VA_REGION(r) + first * PAGE_SIZE, run_bytes = count * PAGE_SIZE;
    switch (rnd(3)) {
    case 0:
        w->command = TE_ENGINE_RAND48;
        w->seed = 1 + rnd(0xFFFF);
        w->begin = run + rnd((uint32_t)run_bytes);
        w->end = w->begin + rnd((uint32_t)(run + run_bytes - w->begin));
        return true;
    case 1:
        w->command = TE_ENGINE_SUM64;
        w->begin = run + 8ULL * rnd((uint32_t)(run_bytes / 8));
        w->end = w->begin + 8ULL * (1 + rnd((uint32_t)((run + run_bytes - w->begin) / 8))) - 1;
        return true;
    default: {
        /* From this run into a mapped run of the other region, as long as both allow. */
        unsigned int other = 1U - r, dfirst, dcount;
        if (!pick_run(p, other, true, 3, &dfirst, &dcount))
            return false;
        uint64_t dest_run = VA_REGION(other) + dfirst * PAGE_SIZE, dest_bytes = dcount * PAGE_SIZE;
        uint64_t length = 1 + rnd((uint32_t)(run_bytes < dest_bytes ? run_bytes : dest_bytes));
        w->command = TE_ENGINE_MEMCPY;
        w->begin = run + rnd((uint32_t)(run_bytes - length + 1));
        w->end = w->begin + length - 1;
        w->destination = dest_run + rnd((uint32_t)(dest_bytes - length + 1));
        return true;
    }
    }
}

static void start_work(struct work *w) {
    struct te_device *te = &env.te[w->engine];
    unsigned int frame = (unsigned int)(w->p - procs);
    te_setup_frame(te, frame, iommu_sva_get_pasid(w->p->bond[w->engine]), true, true);
    te_start(te, frame, w->command, w->begin, w->end, w->destination, w->seed);
}

static void finish_work(struct work *w) {
    struct te_device *te = &env.te[w->engine];
    unsigned int frame = (unsigned int)(w->p - procs);
    uint32_t state = te_wait(te, frame, TIMEOUT_MS);
    if (w->expect_error) {
        uint64_t fault = te_udata(te, frame, 2);
        check(state == TE_ENGINE_ERROR && fault >= w->begin && fault <= w->end &&
                  mm_find_vma(w->p->mm, fault) == NULL,
              "command over an unmapped page ends in ERROR at an unmapped address");
        n_bad++;
    } else if (w->command == TE_ENGINE_RAND48) {
        check(state == TE_ENGINE_HALTED && rand48_landed(w->p, w->seed, w->begin, w->end), "RAND48 data");
        n_rand48++;
    } else if (w->command == TE_ENGINE_SUM64) {
        check(state == TE_ENGINE_HALTED && te_udata(te, frame, 1) == cpu_sum64(w->p, w->begin, w->end + 1),
              "SUM64 value");
        n_sum64++;
    } else {
        check(state == TE_ENGINE_HALTED && same_bytes(w->p, w->begin, w->destination, w->end - w->begin + 1),
              "MEMCPY copy");
        n_memcpy++;
    }
}

/* What the command may change: RAND48 its range, MEMCPY its destination, SUM64 nothing. */
static void set_changing(struct work *w) {
    w->changing = (struct range){w->begin, w->end};
    if (w->command == TE_ENGINE_SUM64)
        w->changing = (struct range){1, 0};
    else if (w->command == TE_ENGINE_MEMCPY)
        w->changing = (struct range){w->destination, w->destination + (w->end - w->begin)};
}

/* Runs the commands (at most one per engine) at once, then checks each, and that every process outside the
 * commands' ranges kept its checksum. */
static void run_work(struct work *works, unsigned int count) {
    struct range changing[PROCESSES];
    for (unsigned int i = 0; i < PROCESSES; i++)
        changing[i] = (struct range){1, 0};
    for (unsigned int i = 0; i < count; i++) {
        set_changing(&works[i]);
        changing[works[i].p - procs] = works[i].changing;
    }
    struct snapshot before;
    take_snapshot(&before, changing);
    for (unsigned int i = 0; i < count; i++)
        start_work(&works[i]);
    for (unsigned int i = 0; i < count; i++)
        finish_work(&works[i]);
    check(snapshot_unchanged(&before, changing),
          "nothing outside the commands' ranges changed, in any process");
}

static bool pick_bound(unsigned int e, struct process **out) {
    unsigned int start = rnd(PROCESSES);
    for (unsigned int k = 0; k < PROCESSES; k++) {
        struct process *p = &procs[(start + k) % PROCESSES];
        if (p->bond[e]) {
            *out = p;
            return true;
        }
    }
    return false;
}

static void do_work(bool bad) {
    unsigned int e = rnd(env.engines);
    struct process *p;
    struct work w;
    if (!pick_bound(e, &p) || !plan_work(&w, p, e, bad))
        return;
    run_work(&w, 1);
}

/* Both engines at once, for two different processes: their faults and invalidations interleave. */
static void do_parallel_work(void) {
    if (env.engines < 2)
        return;
    struct process *p0, *p1;
    struct work w[2];
    if (!pick_bound(0, &p0) || !pick_bound(1, &p1) || p0 == p1 || !plan_work(&w[0], p0, 0, false) ||
        !plan_work(&w[1], p1, 1, false))
        return;
    run_work(w, 2);
    n_parallel++;
}

int main(void) {
    enum sva_env_result setup = sva_env_setup(&env, 8, 32);
    if (setup == SVA_ENV_SKIP)
        return 0;
    if (setup != SVA_ENV_READY) {
        printf("sva_stress: set-up: FAILED\n");
        return 1;
    }
    uint32_t seed = sva_stress_seed;
    rng_state = 0x9E3779B97F4A7C15ULL ^ seed;
    printf("sva_stress: seed 0x%x, %u steps, %u processes, %u engines\n", (unsigned int)seed,
           SVA_STRESS_STEPS, PROCESSES, env.engines);
    iommu_trace_enabled = false;
    /* Warm-up bind, as sva_pri: the first CD leaves stay allocated, so the leak check starts after them. */
    struct mm_struct *warm = mm_create();
    for (unsigned int e = 0; e < env.engines; e++)
        iommu_sva_unbind_device(iommu_sva_bind_device(&env.master[e], warm));
    mm_exit(warm);
    size_t baseline = page_alloc_pages_in_use();
    uint64_t started = now_ns();

    for (unsigned int i = 0; i < PROCESSES; i++)
        procs[i] = (struct process){.mm = mm_create()};
    for (step = 0; step < SVA_STRESS_STEPS; step++) {
        struct process *p = &procs[rnd(PROCESSES)];
        unsigned int choice = rnd(100);
        if (choice < 38)
            do_work(false);
        else if (choice < 50)
            do_parallel_work();
        else if (choice < 54)
            do_work(true);
        else if (choice < 64)
            do_bind(p, rnd(env.engines));
        else if (choice < 71)
            do_unbind(p, rnd(env.engines));
        else if (choice < 84)
            do_map(p);
        else if (choice < 97)
            do_unmap(p);
        else
            do_exit(p);
        if (failures > 10)
            break;
    }

    for (unsigned int i = 0; i < PROCESSES; i++) {
        for (unsigned int e = 0; e < env.engines; e++)
            do_unbind(&procs[i], e);
        mm_exit(procs[i].mm);
    }
    iommu_trace_enabled = true;
    printf("sva_stress: %u RAND48, %u SUM64, %u MEMCPY (%u pairs on both engines), %u refused; %u binds, %u "
           "unbinds, %u maps, %u unmaps, %u exits; %llu ms simulated\n",
           n_rand48, n_sum64, n_memcpy, n_parallel, n_bad, n_bind, n_unbind, n_map, n_unmap, n_exit,
           (unsigned long long)((now_ns() - started) / 1000000U));
    uint32_t requests = 0, groups = 0, refused = 0;
    for (unsigned int e = 0; e < env.engines; e++) {
        requests += env.master[e].faults;
        groups += env.master[e].groups;
        refused += env.master[e].responses[IOMMU_PAGE_RESP_INVALID];
    }
    printf("sva_stress: %u page requests in %u groups, %u answered Invalid Request\n", (unsigned int)requests,
           (unsigned int)groups, (unsigned int)refused);
    bool enough = requests > 0 && refused >= n_bad && n_rand48 && n_sum64 && n_memcpy && n_parallel &&
                  n_bad && n_bind && n_unbind && n_map && n_unmap && n_exit;
    printf("sva_stress: every kind of step ran: %s\n", enough ? "ok" : "FAILED");
    printf("sva_stress: every command's data checked: %s\n", failures ? "FAILED" : "ok");
    bool clean = iommu_sva_bond_count() == 0 && page_alloc_pages_in_use() == baseline;
    printf("sva_stress: no bond and no page left behind: %s\n", clean ? "ok" : "FAILED");
    if (!enough || !clean)
        failures++;
    if (failures)
        printf("sva_stress: %d checks failed\n", failures);
    else
        printf("sva_stress: ok\n");
    return failures ? 1 : 0;
}
