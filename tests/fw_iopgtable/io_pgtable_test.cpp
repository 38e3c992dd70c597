// The firmware's io-pgtable, built for the host, checked by walking its tables with the SMMU model's own
// translation engine (smmu_engine_translate with caches off: every lookup is a fresh walk). The tables live
// in an arena mapped at a fixed low host address, so a table's pointer is also the "physical" address the
// walker reads and fits any output size under test. The firmware's buddy allocator (sw/lib/page_alloc.c)
// manages the arena, so leaks show in its counters.
#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include <fw/errno.h>
#include <fw/page_alloc.h>
#include <fwsmmu/io_pgtable.h>
}
#include "smmu_xlate.h"

// page_alloc_init_default refers to the firmware image's end; the tests always initialise the region
// themselves.
extern "C" char __image_end[];
char __image_end[1];

namespace {

constexpr uint64_t kArenaBase = 0x20000000; // below 4 GiB: table addresses fit a 32-bit output size
constexpr uint64_t kArenaBytes = 64ull << 20;

bool MapArena() {
    static bool mapped = [] {
        void *p = mmap(reinterpret_cast<void *>(kArenaBase), kArenaBytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        return p == reinterpret_cast<void *>(kArenaBase);
    }();
    return mapped;
}

bool InArena(uint64_t pa, unsigned len) {
    return pa >= kArenaBase && pa + len <= kArenaBase + kArenaBytes;
}

// Callbacks of a pretend IOMMU driver: every call recorded. tlb_add_page behaves like Linux's
// iommu_iotlb_gather_add_page: a disjoint range or another page size syncs what is gathered first.
struct FlushLog {
    struct Call {
        char kind; // 'A' flush all, 'W' walk, 'P' add page, 'S' sync
        uint64_t iova, size, granule;
    };
    std::vector<Call> calls;
    size_t Count(char kind) const {
        size_t n = 0;
        for (const Call &c : calls)
            n += c.kind == kind;
        return n;
    }
    bool Has(char kind, uint64_t iova, uint64_t size) const {
        for (const Call &c : calls)
            if (c.kind == kind && c.iova == iova && c.size == size)
                return true;
        return false;
    }
};

void FlushAll(void *cookie) {
    static_cast<FlushLog *>(cookie)->calls.push_back({'A', 0, 0, 0});
}
void FlushWalk(uint64_t iova, size_t size, size_t granule, void *cookie) {
    static_cast<FlushLog *>(cookie)->calls.push_back({'W', iova, size, granule});
}
void Sync(iommu_iotlb_gather *gather, void *cookie) {
    static_cast<FlushLog *>(cookie)->calls.push_back(
        {'S', gather->start, gather->end - gather->start + 1, gather->pgsize});
}
void AddPage(iommu_iotlb_gather *gather, uint64_t iova, size_t granule, void *cookie) {
    auto *log = static_cast<FlushLog *>(cookie);
    if (!iommu_iotlb_gather_empty(gather) &&
        (gather->pgsize != granule || iommu_iotlb_gather_is_disjoint(gather, iova, granule))) {
        Sync(gather, cookie);
        iommu_iotlb_gather_init(gather);
    }
    log->calls.push_back({'P', iova, granule, granule});
    iommu_iotlb_gather_add_range(gather, iova, granule);
    gather->pgsize = granule;
}
const iommu_flush_ops kFlushOps = {FlushAll, FlushWalk, AddPage, Sync};

// The SMMU model's engine reading the arena.
class ModelWalker {
  public:
    ModelWalker() {
        ops_.mem_read = [](void *, smmu_call *, smmu_mem_kind, uint64_t pa, void *buf, unsigned len,
                           const smmu_mem_attrs *) {
            if (!InArena(pa, len))
                return false;
            std::memcpy(buf, reinterpret_cast<const void *>(pa), len);
            return true;
        };
        ops_.mem_write = [](void *, smmu_call *, smmu_mem_kind, uint64_t, const void *, unsigned,
                            const smmu_mem_attrs *) { return false; };
        smmu_engine_params params{};
        params.oas_bits = 48; // caches stay at 0 sets: disabled
        engine_ = smmu_engine_create(&params, &ops_, nullptr);
    }
    ~ModelWalker() { smmu_engine_destroy(engine_); }

    // Stage configuration from the cfg outputs, cross-checked against the model's own start-level rules.
    bool Configure(io_pgtable_fmt fmt, const io_pgtable_cfg &cfg, std::string *why) {
        uint8_t gs = cfg.granule == 4096 ? 12 : cfg.granule == 16384 ? 14 : 16;
        if (fmt == ARM_64_LPAE_S1) {
            const io_pgtable_s1_cfg &c = cfg.arm_lpae_s1_cfg;
            int8_t level = -1;
            if (!smmu_s1_start_level(gs, uint8_t(c.tcr.tsz), smmu_s1_tsz_range(gs, true, false), &level)) {
                *why = "model refuses T0SZ";
                return false;
            }
            if (level != int(cfg.start_level)) {
                *why = "start level " + std::to_string(cfg.start_level) + ", model " + std::to_string(level);
                return false;
            }
            s1_ = smmu_s1_cfg{};
            s1_.tt[0].ttb = c.ttbr;
            s1_.tt[0].tsz = uint8_t(c.tcr.tsz);
            s1_.tt[0].granule_shift = gs;
            s1_.tt[0].start_level = level;
            s1_.tt[0].concat_tables = 1;
            s1_.tt[0].oa_bits = uint8_t(cfg.oas);
            s1_.tt[1] = s1_.tt[0];
            s1_.tt[1].disabled = true;
            s1_.mair = c.mair;
            s1_.asid = 1;
            s1_.regime = SMMU_REGIME_NS_EL1;
            use_s1_ = true;
        } else {
            const io_pgtable_s2_cfg &c = cfg.arm_lpae_s2_cfg;
            int8_t level = -1;
            uint8_t concat = 0;
            if (!smmu_s2_start_level(gs, uint8_t(c.vtcr.tsz), smmu_s2_tsz_range(gs, true, 48),
                                     uint8_t(c.vtcr.sl), uint8_t(cfg.oas), &level, &concat)) {
                *why = "model refuses S2T0SZ/S2SL0";
                return false;
            }
            if (level != int(cfg.start_level) || concat != cfg.concat_tables) {
                *why = "start level " + std::to_string(cfg.start_level) + " x" +
                       std::to_string(cfg.concat_tables) + ", model " + std::to_string(level) + " x" +
                       std::to_string(concat);
                return false;
            }
            s2_ = smmu_s2_cfg{};
            s2_.tt.ttb = c.vttbr;
            s2_.tt.tsz = uint8_t(c.vtcr.tsz);
            s2_.tt.granule_shift = gs;
            s2_.tt.start_level = level;
            s2_.tt.concat_tables = concat;
            s2_.tt.oa_bits = uint8_t(cfg.oas);
            s2_.vmid = 1;
            use_s1_ = false;
        }
        return true;
    }

    bool Translate(uint64_t ia, smmu_access access, smmu_xlate_out *out, smmu_fault *fault) {
        return smmu_engine_translate(engine_, 0, use_s1_ ? &s1_ : nullptr, use_s1_ ? nullptr : &s2_, ia,
                                     access, out, fault);
    }

  private:
    smmu_host_ops ops_{};
    smmu_engine *engine_ = nullptr;
    smmu_s1_cfg s1_{};
    smmu_s2_cfg s2_{};
    bool use_s1_ = true;
};

constexpr smmu_access kRead{false, false, false}; // unprivileged data read
constexpr smmu_access kWrite{true, false, false};
constexpr smmu_access kPrivRead{false, false, true};

struct Format {
    io_pgtable_fmt fmt;
    size_t granule;
    unsigned ias, oas;
};

std::string FormatName(const testing::TestParamInfo<Format> &info) {
    const Format &f = info.param;
    return std::string(f.fmt == ARM_64_LPAE_S1 ? "S1" : "S2") + "_" + std::to_string(f.granule / 1024) +
           "K_ias" + std::to_string(f.ias) + "_oas" + std::to_string(f.oas);
}

class IoPgtableFormat : public testing::TestWithParam<Format> {
  protected:
    void SetUp() override {
        ASSERT_TRUE(MapArena()) << "cannot map the table arena at 0x20000000";
        ASSERT_TRUE(page_alloc_init(kArenaBase, kArenaBase + kArenaBytes));
        baseline_ = page_alloc_pages_in_use();
        const Format &f = GetParam();
        cfg_ = io_pgtable_cfg{};
        cfg_.granule = f.granule;
        cfg_.ias = f.ias;
        cfg_.oas = f.oas;
        cfg_.tlb = &kFlushOps;
        ops_ = alloc_io_pgtable_ops(f.fmt, &cfg_, &log_);
        ASSERT_NE(ops_, nullptr);
        std::string why;
        ASSERT_TRUE(walker_.Configure(f.fmt, cfg_, &why)) << why;
        granule_ = f.granule;
        block_ = f.granule == 4096 ? 2ull << 20 : f.granule == 16384 ? 32ull << 20 : 512ull << 20;
    }
    void TearDown() override {
        if (ops_) {
            free_io_pgtable_ops(ops_);
            EXPECT_EQ(page_alloc_pages_in_use(), baseline_) << "pages leaked";
        }
    }

    // Translates through the model; returns the OA, or ~0 on a fault (its type in *type).
    uint64_t Walk(uint64_t ia, smmu_access access = kRead, unsigned *size_shift = nullptr,
                  smmu_fault_type *type = nullptr) {
        smmu_xlate_out out{};
        smmu_fault fault{};
        if (!walker_.Translate(ia, access, &out, &fault)) {
            if (type)
                *type = fault.type;
            return ~0ull;
        }
        if (size_shift)
            *size_shift = out.size_shift;
        return out.oa;
    }
    unsigned Shift(uint64_t size) const { return unsigned(__builtin_ctzll(size)); }
    // An output address congruent to iova modulo every block size, inside the output size.
    uint64_t PaFor(uint64_t iova) const { return (1ull << (GetParam().oas - 2)) + iova; }

    io_pgtable_cfg cfg_{};
    io_pgtable_ops *ops_ = nullptr;
    FlushLog log_;
    ModelWalker walker_;
    size_t baseline_ = 0;
    uint64_t granule_ = 0, block_ = 0;
};

TEST_P(IoPgtableFormat, LeafSizesAreTheGranuleAndItsBlocks) {
    uint64_t expected = granule_ == 4096 ? 0x40201000ull : granule_ == 16384 ? 0x02004000ull : 0x20010000ull;
    // 1 GiB blocks need a level-1 table: not there when the walk starts at level 2 (small inputs, or a stage
    // 2 that concatenated its way down).
    if (cfg_.start_level > 1)
        expected &= ~0x40000000ull;
    EXPECT_EQ(cfg_.pgsize_bitmap, expected);
    if (GetParam().fmt == ARM_64_LPAE_S1) {
        EXPECT_EQ(cfg_.arm_lpae_s1_cfg.mair, 0x04FFull);
    }
}

// Pages up to a block boundary, one block, pages after it: the model sees 2 leaf sizes at the right OAs.
TEST_P(IoPgtableFormat, MapUsesBlocksWhereSizeAndAlignmentAllow) {
    uint64_t iova = 2 * block_ - 2 * granule_, size = block_ + 4 * granule_, pa = PaFor(iova);
    size_t mapped = 0;
    ASSERT_EQ(ops_->map(ops_, iova, pa, size, IOMMU_READ | IOMMU_WRITE, &mapped), 0);
    EXPECT_EQ(mapped, size);
    unsigned shift = 0;
    EXPECT_EQ(Walk(iova, kRead, &shift), pa);
    EXPECT_EQ(shift, Shift(granule_));
    EXPECT_EQ(Walk(2 * block_ + 5 * granule_ + 0x18, kWrite, &shift),
              pa + 2 * granule_ + 5 * granule_ + 0x18);
    EXPECT_EQ(shift, Shift(block_));
    EXPECT_EQ(Walk(3 * block_ + granule_ + 8, kRead, &shift), PaFor(3 * block_ + granule_ + 8));
    EXPECT_EQ(shift, Shift(granule_));
    EXPECT_EQ(Walk(3 * block_ + 2 * granule_), ~0ull);
    EXPECT_EQ(Walk(iova - granule_), ~0ull);
    EXPECT_EQ(ops_->iova_to_phys(ops_, 2 * block_ + 0x1234), PaFor(2 * block_ + 0x1234));
    EXPECT_EQ(ops_->iova_to_phys(ops_, iova - granule_), 0u);
}

// 4 KiB granule: a 1 GiB-aligned gigabyte is one level-1 block where a level-1 table exists.
class GigabyteBlocks : public IoPgtableFormat {};

TEST_P(GigabyteBlocks, FourKilobyteGranuleHasThemAtLevelOne) {
    ASSERT_LE(cfg_.start_level, 1u);
    uint64_t gig = 1ull << 30;
    ASSERT_EQ(ops_->map(ops_, gig, PaFor(gig), gig, IOMMU_READ, nullptr), 0);
    EXPECT_EQ(io_pgtable_table_count(ops_), cfg_.start_level == 0 ? 1u : 0u);
    unsigned shift = 0;
    EXPECT_EQ(Walk(gig + 0x12345678, kRead, &shift), PaFor(gig + 0x12345678));
    EXPECT_EQ(shift, 30u);
    // Splitting it twice down to one page: 1 GiB -> 2 MiB blocks -> 4 KiB pages.
    EXPECT_EQ(io_pgtable_unmap_strict(ops_, gig + 0x00201000, 0x1000), 0x1000u);
    EXPECT_EQ(Walk(gig + 0x00201000), ~0ull);
    EXPECT_EQ(Walk(gig + 0x00200000, kRead, &shift), PaFor(gig + 0x00200000));
    EXPECT_EQ(shift, 12u);
    EXPECT_EQ(Walk(gig + 0x00400000, kRead, &shift), PaFor(gig + 0x00400000));
    EXPECT_EQ(shift, 21u);
}

// Unmapping one page inside a block splits it: only that page faults, its neighbours are pages now, and the
// gather got the block (TLBs may cache it whole) and the page.
TEST_P(IoPgtableFormat, UnmapInsideABlockSplitsIt) {
    uint64_t base = 2 * block_, pa = PaFor(base);
    ASSERT_EQ(ops_->map(ops_, base, pa, block_, IOMMU_READ | IOMMU_WRITE, nullptr), 0);
    size_t tables_with_block = io_pgtable_table_count(ops_);
    iommu_iotlb_gather gather;
    iommu_iotlb_gather_init(&gather);
    uint64_t hole = base + 7 * granule_;
    EXPECT_EQ(ops_->unmap(ops_, hole, granule_, &gather), granule_);
    EXPECT_EQ(io_pgtable_table_count(ops_), tables_with_block + 1);
    EXPECT_TRUE(log_.Has('P', base, block_));
    EXPECT_TRUE(log_.Has('P', hole, granule_));
    io_pgtable_tlb_sync(ops_, &gather);
    EXPECT_TRUE(log_.Has('S', hole, granule_));
    EXPECT_TRUE(iommu_iotlb_gather_empty(&gather));

    smmu_fault_type type = SMMU_FAULT_NONE;
    EXPECT_EQ(Walk(hole, kRead, nullptr, &type), ~0ull);
    EXPECT_EQ(type, SMMU_FAULT_TRANSLATION);
    unsigned shift = 0;
    EXPECT_EQ(Walk(hole - granule_, kRead, &shift), pa + 6 * granule_);
    EXPECT_EQ(shift, Shift(granule_));
    EXPECT_EQ(Walk(base + block_ - 8, kWrite, &shift), pa + block_ - 8);
    EXPECT_EQ(ops_->iova_to_phys(ops_, hole), 0u);

    // The rest of the block goes too; the split table empties and is freed after a walk flush.
    log_.calls.clear();
    EXPECT_EQ(io_pgtable_unmap_strict(ops_, base, block_), block_ - granule_);
    EXPECT_EQ(io_pgtable_table_count(ops_), 0u);
    // The split table's entry covered the whole range: one walk flush, no leaves to sync.
    EXPECT_TRUE(log_.Has('W', base, block_));
    EXPECT_EQ(log_.Count('P'), 0u);
    EXPECT_EQ(log_.Count('S'), 0u);
    EXPECT_EQ(Walk(base + block_ - 8), ~0ull);
}

// Tables are freed as they empty, each after a walk flush of the span it translated; the allocator is back
// to its count with only the root left.
TEST_P(IoPgtableFormat, EmptyTablesAreFreedAfterAWalkFlush) {
    size_t with_root = page_alloc_pages_in_use();
    uint64_t a = 5 * block_ + 3 * granule_;
    ASSERT_EQ(ops_->map(ops_, a, PaFor(a), 2 * granule_, IOMMU_READ, nullptr), 0);
    EXPECT_GT(io_pgtable_table_count(ops_), 0u);
    iommu_iotlb_gather gather;
    iommu_iotlb_gather_init(&gather);
    EXPECT_EQ(ops_->unmap(ops_, a, granule_, &gather), granule_);
    EXPECT_EQ(log_.Count('W'), 0u); // the leaf table still holds a page
    EXPECT_EQ(ops_->unmap(ops_, a + granule_, granule_, &gather), granule_);
    EXPECT_TRUE(log_.Has('W', 5 * block_, block_)); // the leaf table spans one block
    EXPECT_EQ(log_.Count('S'), 0u);                 // contiguous pages: still one batch
    io_pgtable_tlb_sync(ops_, &gather);
    EXPECT_TRUE(log_.Has('S', a, 2 * granule_));
    EXPECT_EQ(io_pgtable_table_count(ops_), 0u);
    EXPECT_EQ(page_alloc_pages_in_use(), with_root);
}

// An unmap covering a whole table entry drops the subtree at once: one walk flush, no per-leaf calls.
TEST_P(IoPgtableFormat, UnmapOfAWholeTableSpanDropsTheSubtree) {
    uint64_t base = 4 * block_;
    ASSERT_EQ(ops_->map(ops_, base + granule_, PaFor(base + granule_), 3 * granule_, IOMMU_READ, nullptr), 0);
    iommu_iotlb_gather gather;
    iommu_iotlb_gather_init(&gather);
    EXPECT_EQ(ops_->unmap(ops_, base, block_, &gather), 3 * granule_);
    EXPECT_TRUE(log_.Has('W', base, block_));
    EXPECT_EQ(log_.Count('P'), 0u);
    EXPECT_EQ(io_pgtable_table_count(ops_), 0u);
    EXPECT_EQ(Walk(base + granule_), ~0ull);
}

TEST_P(IoPgtableFormat, PermissionsReachTheDescriptors) {
    uint64_t ro = 6 * block_, rw = ro + granule_;
    ASSERT_EQ(ops_->map(ops_, ro, PaFor(ro), granule_, IOMMU_READ, nullptr), 0);
    ASSERT_EQ(ops_->map(ops_, rw, PaFor(rw), granule_, IOMMU_READ | IOMMU_WRITE, nullptr), 0);
    smmu_fault_type type = SMMU_FAULT_NONE;
    EXPECT_EQ(Walk(ro, kRead), PaFor(ro));
    EXPECT_EQ(Walk(ro, kWrite, nullptr, &type), ~0ull);
    EXPECT_EQ(type, SMMU_FAULT_PERMISSION);
    EXPECT_EQ(Walk(rw, kWrite), PaFor(rw));
    if (GetParam().fmt == ARM_64_LPAE_S1) {
        uint64_t priv = rw + granule_;
        ASSERT_EQ(ops_->map(ops_, priv, PaFor(priv), granule_, IOMMU_READ | IOMMU_PRIV, nullptr), 0);
        EXPECT_EQ(Walk(priv, kPrivRead), PaFor(priv));
        EXPECT_EQ(Walk(priv, kRead, nullptr, &type), ~0ull);
        EXPECT_EQ(type, SMMU_FAULT_PERMISSION);
    } else {
        uint64_t wo = rw + granule_;
        ASSERT_EQ(ops_->map(ops_, wo, PaFor(wo), granule_, IOMMU_WRITE, nullptr), 0);
        EXPECT_EQ(Walk(wo, kWrite), PaFor(wo));
        EXPECT_EQ(Walk(wo, kRead, nullptr, &type), ~0ull);
        EXPECT_EQ(type, SMMU_FAULT_PERMISSION);
    }
}

TEST_P(IoPgtableFormat, BadRequestsAreRefusedWithoutChangingTheTables) {
    uint64_t a = 3 * block_;
    EXPECT_EQ(ops_->map(ops_, a + 8, PaFor(a), granule_, IOMMU_READ, nullptr), -EINVAL);
    EXPECT_EQ(ops_->map(ops_, a, PaFor(a), granule_ / 2, IOMMU_READ, nullptr), -EINVAL);
    EXPECT_EQ(ops_->map(ops_, a, PaFor(a), granule_, 0, nullptr), -EINVAL);
    EXPECT_EQ(ops_->map(ops_, 1ull << GetParam().ias, 0, granule_, IOMMU_READ, nullptr), -EINVAL);
    EXPECT_EQ(ops_->map(ops_, a, 1ull << GetParam().oas, granule_, IOMMU_READ, nullptr), -EINVAL);
    EXPECT_EQ(io_pgtable_table_count(ops_), 0u);
    ASSERT_EQ(ops_->map(ops_, a + granule_, PaFor(a + granule_), granule_, IOMMU_READ, nullptr), 0);
    EXPECT_EQ(ops_->map(ops_, a + granule_, PaFor(a), granule_, IOMMU_READ, nullptr), -EEXIST);
    size_t mapped = 1;
    EXPECT_EQ(ops_->map(ops_, a, PaFor(a), block_, IOMMU_READ, &mapped), -EEXIST); // a table is there
    EXPECT_EQ(mapped, 0u);
    EXPECT_EQ(Walk(a + granule_), PaFor(a + granule_));
    iommu_iotlb_gather gather;
    iommu_iotlb_gather_init(&gather);
    EXPECT_EQ(ops_->unmap(ops_, a, granule_, &gather), 0u); // nothing mapped there
    EXPECT_EQ(ops_->unmap(ops_, a + 1, granule_, &gather), 0u);
    EXPECT_TRUE(iommu_iotlb_gather_empty(&gather));
}

// A queued gather (a flush queue invalidates everything later) collects no leaves.
TEST_P(IoPgtableFormat, QueuedGatherSkipsLeafInvalidation) {
    uint64_t a = 3 * block_;
    ASSERT_EQ(ops_->map(ops_, a, PaFor(a), 4 * granule_, IOMMU_READ, nullptr), 0);
    iommu_iotlb_gather gather;
    iommu_iotlb_gather_init(&gather);
    gather.queued = true;
    EXPECT_EQ(ops_->unmap(ops_, a, 2 * granule_, &gather), 2 * granule_);
    EXPECT_EQ(log_.Count('P'), 0u);
    EXPECT_TRUE(iommu_iotlb_gather_empty(&gather));
}

// Several batches in one gather: a disjoint page makes the driver sync the first batch.
TEST_P(IoPgtableFormat, DisjointLeavesSyncTheBatchFirst) {
    uint64_t a = 3 * block_, b = a + 16 * granule_;
    ASSERT_EQ(ops_->map(ops_, a, PaFor(a), granule_, IOMMU_READ, nullptr), 0);
    ASSERT_EQ(ops_->map(ops_, b, PaFor(b), granule_, IOMMU_READ, nullptr), 0);
    iommu_iotlb_gather gather;
    iommu_iotlb_gather_init(&gather);
    ops_->unmap(ops_, a, granule_, &gather);
    ops_->unmap(ops_, b, granule_, &gather);
    EXPECT_TRUE(log_.Has('S', a, granule_));
    io_pgtable_tlb_sync(ops_, &gather);
    EXPECT_TRUE(log_.Has('S', b, granule_));
    EXPECT_EQ(log_.Count('S'), 2u);
}

INSTANTIATE_TEST_SUITE_P(
    AllGranulesAndStages, IoPgtableFormat,
    testing::Values(Format{ARM_64_LPAE_S1, 4096, 32, 40}, Format{ARM_64_LPAE_S1, 4096, 39, 48},
                    Format{ARM_64_LPAE_S1, 4096, 48, 48}, Format{ARM_64_LPAE_S1, 16384, 36, 40},
                    Format{ARM_64_LPAE_S1, 16384, 47, 48}, Format{ARM_64_LPAE_S1, 16384, 48, 48},
                    Format{ARM_64_LPAE_S1, 65536, 42, 44}, Format{ARM_64_LPAE_S1, 65536, 48, 48},
                    Format{ARM_64_LPAE_S2, 4096, 32, 40}, Format{ARM_64_LPAE_S2, 4096, 40, 40},
                    Format{ARM_64_LPAE_S2, 4096, 42, 42}, Format{ARM_64_LPAE_S2, 4096, 48, 48},
                    Format{ARM_64_LPAE_S2, 16384, 36, 36}, Format{ARM_64_LPAE_S2, 16384, 40, 40},
                    Format{ARM_64_LPAE_S2, 16384, 47, 48}, Format{ARM_64_LPAE_S2, 16384, 48, 48},
                    Format{ARM_64_LPAE_S2, 65536, 36, 40}, Format{ARM_64_LPAE_S2, 65536, 44, 44},
                    Format{ARM_64_LPAE_S2, 65536, 48, 48}),
    FormatName);

INSTANTIATE_TEST_SUITE_P(FourKilobyteGranule, GigabyteBlocks,
                         testing::Values(Format{ARM_64_LPAE_S1, 4096, 32, 40},
                                         Format{ARM_64_LPAE_S1, 4096, 48, 48},
                                         Format{ARM_64_LPAE_S2, 4096, 40, 40},
                                         Format{ARM_64_LPAE_S2, 4096, 48, 48}),
                         FormatName);

// Literal start levels and roots for the configurations the firmware uses (IHI0070 / VMSAv8-64 rules): a
// 40-bit stage 2 with 4 KiB pages starts at level 1 with two concatenated tables (S2SL0 = 1, S2T0SZ = 24); a
// 48-bit stage 1 at level 0 (T0SZ = 16, TG0 = 0, IPS = 5).
TEST(IoPgtableConfig, FirmwareConfigurationsHaveTheKnownEncodings) {
    ASSERT_TRUE(MapArena());
    ASSERT_TRUE(page_alloc_init(kArenaBase, kArenaBase + kArenaBytes));
    io_pgtable_cfg s2{};
    s2.granule = 4096;
    s2.ias = 40;
    s2.oas = 40;
    io_pgtable_ops *ops = alloc_io_pgtable_ops(ARM_64_LPAE_S2, &s2, nullptr);
    ASSERT_NE(ops, nullptr);
    EXPECT_EQ(s2.start_level, 1u);
    EXPECT_EQ(s2.concat_tables, 2u);
    EXPECT_EQ(s2.arm_lpae_s2_cfg.vtcr.sl, 1u);
    EXPECT_EQ(s2.arm_lpae_s2_cfg.vtcr.tsz, 24u);
    EXPECT_EQ(s2.arm_lpae_s2_cfg.vtcr.ps, 2u);
    EXPECT_EQ(s2.arm_lpae_s2_cfg.vttbr % 8192, 0u);
    free_io_pgtable_ops(ops);

    io_pgtable_cfg s1{};
    s1.granule = 4096;
    s1.ias = 48;
    s1.oas = 48;
    s1.table_pa_offset = 0x8000000000ull;
    ops = alloc_io_pgtable_ops(ARM_64_LPAE_S1, &s1, nullptr);
    ASSERT_NE(ops, nullptr);
    EXPECT_EQ(s1.start_level, 0u);
    EXPECT_EQ(s1.arm_lpae_s1_cfg.tcr.tsz, 16u);
    EXPECT_EQ(s1.arm_lpae_s1_cfg.tcr.tg, 0u);
    EXPECT_EQ(s1.arm_lpae_s1_cfg.tcr.ips, 5u);
    EXPECT_EQ(s1.arm_lpae_s1_cfg.ttbr, io_pgtable_root_pa(ops) + 0x8000000000ull);
    // Table descriptors carry the offset too (nested stage 1 with its tables in IPA space).
    ASSERT_EQ(ops->map(ops, 0x1000, 0x5000, 0x1000, IOMMU_READ, nullptr), 0);
    uint64_t level0 = *reinterpret_cast<const uint64_t *>(io_pgtable_root_pa(ops));
    EXPECT_EQ(level0 & 3u, 3u);
    EXPECT_GE(level0 & 0xFFFFFFFFF000ull, 0x8000000000ull);
    EXPECT_EQ(ops->iova_to_phys(ops, 0x1234), 0x5234u);
    free_io_pgtable_ops(ops);
    EXPECT_EQ(page_alloc_pages_in_use(), 0u);

    io_pgtable_cfg bad{};
    bad.granule = 8192;
    bad.ias = 48;
    bad.oas = 48;
    EXPECT_EQ(alloc_io_pgtable_ops(ARM_64_LPAE_S1, &bad, nullptr), nullptr);
    bad.granule = 4096;
    bad.oas = 52;
    EXPECT_EQ(alloc_io_pgtable_ops(ARM_64_LPAE_S1, &bad, nullptr), nullptr);
}

// The buddy allocator itself: blocks aligned to their size, buddies merge back, bad frees refused.
TEST(PageAlloc, BlocksAreAlignedAndMergeBack) {
    ASSERT_TRUE(MapArena());
    ASSERT_TRUE(page_alloc_init(kArenaBase + 0x3000, kArenaBase + (8ull << 20))); // unaligned start
    page_alloc_stats before{};
    page_alloc_get_stats(&before);
    EXPECT_EQ(before.pages_total, 2048u - 3u);
    void *order3 = alloc_pages(3);
    ASSERT_NE(order3, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(order3) % (8 * 4096), 0u);
    void *page = alloc_page();
    ASSERT_NE(page, nullptr);
    static_cast<uint64_t *>(page)[3] = 0x1234;
    EXPECT_EQ(page_alloc_pages_in_use(), 9u);
    EXPECT_FALSE(free_pages(order3, 2)); // wrong order
    EXPECT_FALSE(free_pages(static_cast<char *>(order3) + 4096, 0));
    EXPECT_TRUE(free_page(page));
    EXPECT_FALSE(free_page(page)); // double free
    EXPECT_TRUE(free_pages(order3, 3));
    page_alloc_stats after{};
    page_alloc_get_stats(&after);
    EXPECT_EQ(after.pages_free, before.pages_free);
    EXPECT_EQ(after.bad_frees, 3u);
    EXPECT_EQ(page_alloc_pages_in_use(), 0u);
    // Merged back: the largest block is available again, and a page comes back zeroed.
    void *big = alloc_pages(PAGE_ALLOC_MAX_ORDER);
    EXPECT_NE(big, nullptr);
    void *again = alloc_page();
    ASSERT_NE(again, nullptr);
    for (unsigned i = 0; i < 512; i++)
        ASSERT_EQ(static_cast<uint64_t *>(again)[i], 0u);
    EXPECT_EQ(alloc_pages(PAGE_ALLOC_MAX_ORDER + 1), nullptr);
}

} // namespace
