// The set-associative cache library (components/cache): configuration checks, replacement policies,
// statistics, in-place replacement, and the group indexes that make scoped invalidation visit only the
// members of a group. A randomised run checks every group against a reference model.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <vector>

extern "C" {
#include "setassoc.h"
}

namespace {

struct Entry {
    uint64_t tag;
    uint32_t payload;
};

struct Cache {
    vp_setassoc c{};
    explicit Cache(uint32_t sets, uint32_t ways, vp_setassoc_policy policy = VP_SETASSOC_LRU,
                   unsigned indexes = 0, uint32_t seed = 1) {
        vp_setassoc_config cfg{sets, ways, policy, seed, sizeof(Entry), indexes};
        ok = vp_setassoc_init(&c, &cfg);
    }
    ~Cache() { vp_setassoc_free(&c); }
    Cache(const Cache &) = delete;
    Cache &operator=(const Cache &) = delete;
    bool ok = false;

    // Looks `tag` up in its set (set = tag), counting the lookup; returns the slot or NONE.
    uint32_t lookup(uint64_t tag) {
        vp_setassoc_note_lookup(&c);
        uint32_t set = vp_setassoc_set_first(&c, tag);
        for (uint32_t s = set; s < set + c.ways; s++) {
            if (vp_setassoc_valid(&c, s) && static_cast<Entry *>(vp_setassoc_entry(&c, s))->tag == tag) {
                vp_setassoc_hit(&c, s);
                return s;
            }
        }
        vp_setassoc_note_miss(&c);
        return VP_SETASSOC_NONE;
    }
    uint32_t insert(uint64_t tag, std::vector<uint64_t> keys = {}) {
        uint32_t slot = vp_setassoc_victim(&c, vp_setassoc_set_first(&c, tag));
        *static_cast<Entry *>(vp_setassoc_entry(&c, slot)) = Entry{tag, 0};
        vp_setassoc_insert(&c, slot, keys.empty() ? nullptr : keys.data());
        return slot;
    }
    std::set<uint64_t> group(unsigned index, uint64_t key) {
        std::set<uint64_t> tags;
        for (uint32_t s = vp_setassoc_group_first(&c, index, key); s != VP_SETASSOC_NONE;
             s = vp_setassoc_group_next(&c, index, s))
            tags.insert(static_cast<Entry *>(vp_setassoc_entry(&c, s))->tag);
        return tags;
    }
};

struct Visits {
    unsigned calls = 0;
    uint64_t remove_below = UINT64_MAX;
};

bool count_and_match(const void *entry, const void *arg) {
    auto *v = const_cast<Visits *>(static_cast<const Visits *>(arg));
    v->calls++;
    return static_cast<const Entry *>(entry)->tag < v->remove_below;
}

} // namespace

TEST(SetAssoc, DisabledAndInvalidConfigurations) {
    Cache disabled(0, 4);
    EXPECT_TRUE(disabled.ok);
    EXPECT_FALSE(vp_setassoc_enabled(&disabled.c));
    EXPECT_EQ(vp_setassoc_first(&disabled.c), VP_SETASSOC_NONE);
    EXPECT_EQ(vp_setassoc_group_size(&disabled.c, 0, 1), 0u);
    Cache no_ways(8, 0);
    EXPECT_TRUE(no_ways.ok);
    EXPECT_FALSE(vp_setassoc_enabled(&no_ways.c));

    vp_setassoc c;
    vp_setassoc_config too_big{1u << 16, 1u << 15, VP_SETASSOC_LRU, 1, sizeof(Entry), 0};
    EXPECT_FALSE(vp_setassoc_init(&c, &too_big)); // 2^31 entries
    EXPECT_FALSE(vp_setassoc_enabled(&c));
    vp_setassoc_config no_size{4, 4, VP_SETASSOC_LRU, 1, 0, 0};
    EXPECT_FALSE(vp_setassoc_init(&c, &no_size));
    vp_setassoc_config bad_policy{4, 4, static_cast<vp_setassoc_policy>(3), 1, sizeof(Entry), 0};
    EXPECT_FALSE(vp_setassoc_init(&c, &bad_policy));
    vp_setassoc_config many_indexes{4, 4, VP_SETASSOC_LRU, 1, sizeof(Entry), VP_SETASSOC_MAX_INDEXES + 1};
    EXPECT_FALSE(vp_setassoc_init(&c, &many_indexes));
}

TEST(SetAssoc, LruEvictsTheLeastRecentlyUsedWay) {
    Cache k(1, 2, VP_SETASSOC_LRU);
    ASSERT_TRUE(k.ok);
    k.insert(10);
    k.insert(20);
    EXPECT_NE(k.lookup(10), VP_SETASSOC_NONE);
    k.insert(30); // evicts 20
    EXPECT_NE(k.lookup(10), VP_SETASSOC_NONE);
    EXPECT_EQ(k.lookup(20), VP_SETASSOC_NONE);
    EXPECT_NE(k.lookup(30), VP_SETASSOC_NONE);
    const vp_setassoc_stats &st = k.c.stats;
    EXPECT_EQ(st.lookups, 4u);
    EXPECT_EQ(st.hits, 3u);
    EXPECT_EQ(st.misses, 1u);
    EXPECT_EQ(st.inserts, 3u);
    EXPECT_EQ(st.evictions, 1u);
    EXPECT_EQ(st.invalidated, 0u);
    EXPECT_EQ(vp_setassoc_count(&k.c), 2u);
}

TEST(SetAssoc, FifoIgnoresHits) {
    Cache k(1, 2, VP_SETASSOC_FIFO);
    ASSERT_TRUE(k.ok);
    k.insert(10);
    k.insert(20);
    EXPECT_NE(k.lookup(10), VP_SETASSOC_NONE);
    k.insert(30); // evicts 10, the oldest insertion
    EXPECT_EQ(k.lookup(10), VP_SETASSOC_NONE);
    EXPECT_NE(k.lookup(20), VP_SETASSOC_NONE);
}

TEST(SetAssoc, RandomFollowsTheSeed) {
    auto victims = [](uint32_t seed) {
        Cache k(1, 4, VP_SETASSOC_RANDOM, 0, seed);
        for (uint64_t t = 0; t < 4; t++)
            k.insert(t);
        std::vector<uint32_t> slots;
        for (uint64_t t = 4; t < 40; t++)
            slots.push_back(k.insert(t));
        return slots;
    };
    EXPECT_EQ(victims(7), victims(7));
    EXPECT_NE(victims(7), victims(8));
    // The first victim of seed 1 is way xorshift32(1) % 4: 1 -> 0x42021 -> way 1.
    Cache k(1, 4, VP_SETASSOC_RANDOM, 0, 1);
    for (uint64_t t = 0; t < 4; t++)
        k.insert(t);
    EXPECT_EQ(k.insert(99), 1u);
}

TEST(SetAssoc, FreeWaysAreFilledFirstAndSetsAreKeyModuloSets) {
    Cache k(4, 2);
    ASSERT_TRUE(k.ok);
    EXPECT_EQ(vp_setassoc_set_first(&k.c, 6), 4u); // set 2 of 4, two ways each
    EXPECT_EQ(k.insert(6), 4u);
    EXPECT_EQ(k.insert(2), 5u);
    EXPECT_EQ(k.c.stats.evictions, 0u);
    vp_setassoc_remove(&k.c, 4);
    EXPECT_EQ(k.insert(10), 4u) << "the freed way is reused before any eviction";
    EXPECT_EQ(k.c.stats.evictions, 0u);
    EXPECT_EQ(k.c.stats.invalidated, 1u);
}

TEST(SetAssoc, GroupsFollowInsertReplaceAndEviction) {
    Cache k(1, 3, VP_SETASSOC_LRU, 2);
    ASSERT_TRUE(k.ok);
    k.insert(1, {100, 7});
    k.insert(2, {100, 8});
    uint32_t s3 = k.insert(3, {200, 7});
    EXPECT_EQ(k.group(0, 100), (std::set<uint64_t>{1, 2}));
    EXPECT_EQ(k.group(1, 7), (std::set<uint64_t>{1, 3}));
    EXPECT_EQ(vp_setassoc_group_size(&k.c, 0, 200), 1u);
    // Replacing an entry in place moves it between groups without an eviction or an invalidation.
    uint64_t keys[2] = {100, 9};
    *static_cast<Entry *>(vp_setassoc_entry(&k.c, s3)) = Entry{4, 0};
    vp_setassoc_insert(&k.c, s3, keys);
    EXPECT_EQ(vp_setassoc_group_size(&k.c, 0, 200), 0u);
    EXPECT_EQ(k.group(0, 100), (std::set<uint64_t>{1, 2, 4}));
    EXPECT_EQ(k.group(1, 9), (std::set<uint64_t>{4}));
    EXPECT_EQ(k.c.stats.inserts, 4u);
    EXPECT_EQ(k.c.stats.evictions + k.c.stats.invalidated, 0u);
    // An eviction (LRU: tag 1) leaves every group.
    k.insert(5, {300, 7});
    EXPECT_EQ(k.group(0, 100), (std::set<uint64_t>{2, 4}));
    EXPECT_EQ(k.group(1, 7), (std::set<uint64_t>{5}));
    EXPECT_EQ(k.c.stats.evictions, 1u);
    // Clearing counts nothing and empties the groups.
    vp_setassoc_clear(&k.c);
    EXPECT_EQ(vp_setassoc_count(&k.c), 0u);
    EXPECT_EQ(vp_setassoc_group_size(&k.c, 0, 100), 0u);
    EXPECT_EQ(vp_setassoc_first(&k.c), VP_SETASSOC_NONE);
    EXPECT_EQ(k.c.stats.invalidated, 0u);
}

// What scoped invalidation costs: removing a group visits its members only, however large the cache.
TEST(SetAssoc, RemovingAGroupVisitsOnlyItsMembers) {
    Cache k(1024, 8, VP_SETASSOC_LRU, 1);
    ASSERT_TRUE(k.ok);
    for (uint64_t t = 0; t < 8192; t++)
        k.insert(t, {t % 64});
    ASSERT_EQ(vp_setassoc_count(&k.c), 8192u);
    Visits v;
    v.remove_below = 4096; // half of group 5's 128 members
    EXPECT_EQ(vp_setassoc_remove_group_if(&k.c, 0, 5, count_and_match, &v), 64u);
    EXPECT_EQ(v.calls, 128u);
    EXPECT_EQ(vp_setassoc_group_size(&k.c, 0, 5), 64u);
    Visits none;
    EXPECT_EQ(vp_setassoc_remove_group_if(&k.c, 0, 999, count_and_match, &none), 0u);
    EXPECT_EQ(none.calls, 0u);
    // A whole-cache pass visits the valid entries only: after removing most, it costs what is left.
    Visits all;
    all.remove_below = 8000;
    vp_setassoc_remove_if(&k.c, count_and_match, &all);
    EXPECT_EQ(all.calls, 8192u - 64u);
    Visits rest;
    vp_setassoc_remove_if(&k.c, count_and_match, &rest);
    EXPECT_EQ(rest.calls, 192u); // tags 8000..8191
    EXPECT_EQ(vp_setassoc_count(&k.c), 0u);
    EXPECT_EQ(k.c.stats.invalidated, 8192u);
}

// Random inserts (with evictions), replacements and removals against a reference of every group.
TEST(SetAssoc, GroupsMatchAReferenceModelUnderRandomOperations) {
    for (vp_setassoc_policy policy : {VP_SETASSOC_LRU, VP_SETASSOC_FIFO, VP_SETASSOC_RANDOM}) {
        Cache k(16, 4, policy, 2, 5);
        ASSERT_TRUE(k.ok);
        std::mt19937_64 rng(policy + 11);
        std::map<uint32_t, std::pair<uint64_t, uint64_t>> model; // slot -> group keys
        for (int step = 0; step < 20000; step++) {
            unsigned op = rng() % 10;
            if (op < 6) {
                uint64_t tag = rng() % 256;
                std::vector<uint64_t> keys = {rng() % 7, rng() % 5 + 1000};
                uint32_t slot = k.insert(tag, keys);
                model[slot] = {keys[0], keys[1]};
            } else if (op < 9 && !model.empty()) {
                auto it = model.begin();
                std::advance(it, rng() % model.size());
                vp_setassoc_remove(&k.c, it->first);
                model.erase(it);
            } else {
                uint64_t key = rng() % 7;
                vp_setassoc_remove_group_if(
                    &k.c, 0, key, [](const void *, const void *) { return true; }, nullptr);
                for (auto it = model.begin(); it != model.end();)
                    it = it->second.first == key ? model.erase(it) : std::next(it);
            }
            // Evicted slots were overwritten in the model by the insert that reused them.
            ASSERT_EQ(vp_setassoc_count(&k.c), model.size()) << "step " << step;
            if (step % 97 != 0)
                continue;
            for (uint64_t key = 0; key < 7; key++) {
                std::set<uint32_t> want, got;
                for (auto &m : model)
                    if (m.second.first == key)
                        want.insert(m.first);
                for (uint32_t s = vp_setassoc_group_first(&k.c, 0, key); s != VP_SETASSOC_NONE;
                     s = vp_setassoc_group_next(&k.c, 0, s))
                    got.insert(s);
                ASSERT_EQ(got, want) << "index 0 key " << key << " step " << step;
            }
            for (uint64_t key = 1000; key < 1005; key++) {
                unsigned want = 0;
                for (auto &m : model)
                    want += m.second.second == key;
                ASSERT_EQ(vp_setassoc_group_size(&k.c, 1, key), want) << "index 1 key " << key;
            }
        }
    }
}
