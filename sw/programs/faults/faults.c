/* Faults on purpose, on the platform (the DMA test master, which can send any StreamID and SubstreamID) and
 * on QEMU (the edu device), each reported by the driver's interrupt handlers and checked against the literal
 * codes of IHI0070: configuration errors C_BAD_STE (V = 0, and an ILLEGAL S1CDMax), C_BAD_CD, C_BAD_STREAMID
 * and C_BAD_SUBSTREAMID; translation faults F_TRANSLATION (no PRI: an event, not a page request) and
 * F_PERMISSION; a CERROR_ILL (reserved opcode, and an ILLEGAL field) repaired and acknowledged; global errors
 * EVENTQ_ABT_ERR (event queue at an address nothing decodes) and MSI_CMDQ_ABT_ERR (a CMD_SYNC MSI there),
 * each raised through the GERROR interrupt, acknowledged through GERRORN, and recovered from. Parts a host
 * cannot do (decided from the ID registers or the device found) print a SKIP line. */
#include <stdio.h>
#include <string.h>

#include <fw/gic.h>
#include <fw/mmio.h>
#include <fw/page_alloc.h>
#include <fw/pci.h>
#include <fw/platform.h>
#include <fw/sysreg.h>
#include <fw/timer.h>
#include <fwsmmu/dma_master.h>
#include <fwsmmu/edu.h>
#include <fwsmmu/smmu.h>

/* IHI0070 7.3 event numbers, 7.1 command errors and 6.3.19 GERROR bits, written out: the checks compare with
 * the architecture's values, and the shared header must agree with them. */
#define EVT_C_BAD_STREAMID 0x02U
#define EVT_C_BAD_STE 0x04U
#define EVT_C_BAD_SUBSTREAMID 0x08U
#define EVT_C_BAD_CD 0x0AU
#define EVT_F_TRANSLATION 0x10U
#define EVT_F_PERMISSION 0x13U
#define CERROR_ILL 0x01U
#define GERROR_CMDQ_ERR 0x001U
#define GERROR_EVENTQ_ABT_ERR 0x004U
#define GERROR_MSI_CMDQ_ABT_ERR 0x010U
#define EVENT_CLASS_IN 2U
#define IDR0_TERM_MODEL (1U << 26)
#define CD0_R (1ULL << 45)
#define CD0_A (1ULL << 46)
_Static_assert(SMMU_EVT_C_BAD_STREAMID == EVT_C_BAD_STREAMID && SMMU_EVT_C_BAD_STE == EVT_C_BAD_STE &&
                   SMMU_EVT_C_BAD_SUBSTREAMID == EVT_C_BAD_SUBSTREAMID && SMMU_EVT_C_BAD_CD == EVT_C_BAD_CD &&
                   SMMU_EVT_F_TRANSLATION == EVT_F_TRANSLATION && SMMU_EVT_F_PERMISSION == EVT_F_PERMISSION,
               "event numbers");
_Static_assert(SMMU_CERROR_ILL == CERROR_ILL && SMMU_GERROR_CMDQ_ERR == GERROR_CMDQ_ERR &&
                   SMMU_GERROR_EVENTQ_ABT_ERR == GERROR_EVENTQ_ABT_ERR &&
                   SMMU_GERROR_MSI_CMDQ_ABT_ERR == GERROR_MSI_CMDQ_ABT_ERR,
               "error numbers");

#define RESERVED_OPCODE 0x3FU
#define PRI_RESP_ILLEGAL 3U        /* CMD_PRI_RESP Resp = 0b11 is ILLEGAL (IHI0070 4.5.2) */
#define ADDRESS_HOLE 0x0f000000ULL /* nothing decodes it, on the platform or on QEMU's virt */
#define ASID 1U
#define CD_TABLE_BITS 2U /* four CDs: SSIDs 0..3 */
#define BAD_SSID_NO_CDS 5U
#define BAD_SSID_BEYOND 9U
/* IOVAs stay below 256 MiB: QEMU's edu keeps 28 address bits. */
#define IOVA_READABLE 0x01000000ULL
#define IOVA_RW 0x01001000ULL
#define IOVA_READ_ONLY 0x01002000ULL
#define IOVA_UNMAPPED 0x01100000ULL
#define TRANSFER_BYTES 0x100U
#define EVENT_WAIT_NS 5000000ULL    /* for a record that must come (it comes within microseconds) */
#define NO_EVENT_WAIT_NS 1000000ULL /* for one that must not */
#define QUIET_NS 100000ULL          /* after the first record: long enough for a wrong second one to arrive */
#define EDU_TIMEOUT_MS 2000U
#define EVENT_LOG 16U

static struct smmu_device smmu;
static struct edu_device edu;
static bool use_dma_master;
static uint32_t device_sid;
static uint8_t *page_readable, *page_rw, *page_read_only;
static uint64_t *cd_table;
static struct io_pgtable_cfg s1_cfg;
static int failures;

static void check(bool ok, const char *what) {
    printf("faults: %s: %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        failures++;
}

/* ---- events and global errors, as the interrupt handlers report them ---- */

/* The first records since expect_events() (QEMU's edu makes one transaction, and one record, per word), how
 * many there were, and whether they were all of the first one's kind. */
static struct smmu_event reported[EVENT_LOG];
static volatile uint32_t reported_count;
static volatile bool reported_mixed;
static uint32_t reported_mark;

/* Called by the driver's event-queue interrupt handler for every record it drains. */
static void report_event(struct smmu_device *s, const struct smmu_event *event, void *context) {
    (void)s;
    (void)context;
    uint32_t index = reported_count - reported_mark;
    if (index < EVENT_LOG)
        reported[index] = *event;
    if (index > 0 && event->id != reported[0].id)
        reported_mixed = true;
    reported_count++;
}

static void expect_events(void) {
    reported_mark = reported_count;
    reported_mixed = false;
}

/* Waits for the interrupt handler to report a record, then a little longer for any other. */
static uint32_t events_within(uint64_t wait_ns) {
    uint64_t deadline = now_ns() + wait_ns;
    while (reported_count == reported_mark && now_ns() < deadline)
        ;
    if (reported_count != reported_mark)
        ndelay(QUIET_NS);
    return reported_count - reported_mark;
}

/* One kind of record (the device may make more than one transaction that faults alike), with these fields. */
static void check_event(const char *what, unsigned int id, bool ssid_valid, uint32_t ssid, bool translation,
                        uint64_t input, bool read) {
    uint32_t count = events_within(EVENT_WAIT_NS);
    const struct smmu_event *e = &reported[0];
    bool ok = count >= 1 && !reported_mixed;
    if (count)
        smmu_print_event(e);
    ok = ok && e->id == id && e->sid == device_sid && (!ssid_valid || e->ssid == ssid);
    if (ok && translation) {
        ok = e->input_address == input && e->rnw == read && !e->s2 && !e->stall;
        /* QEMU 7.2 reports CLASS = CD for input-address faults; the platform's record is checked for IN. */
        if (use_dma_master)
            ok = ok && e->event_class == EVENT_CLASS_IN;
    }
    if (!ok)
        printf("faults: wanted event 0x%02x from StreamID 0x%x, %u reported\n", id, (unsigned int)device_sid,
               (unsigned int)count);
    check(ok, what);
}

static bool no_events(void) {
    return events_within(NO_EVENT_WAIT_NS) == 0;
}

static bool wait_for_gerror(uint32_t irqs_before) {
    uint64_t deadline = now_ns() + EVENT_WAIT_NS;
    while (smmu.gerror_irqs == irqs_before && now_ns() < deadline)
        ;
    return smmu.gerror_irqs != irqs_before;
}

/* ---- the device ---- */

struct stream {
    uint32_t sid;
    bool ssv;
    uint32_t ssid;
};

/* The device writes memory at `address` (write) or reads it (read), TRANSFER_BYTES. The DMA master copies
 * from IOVA_READABLE (write) or to IOVA_RW (read) and returns its final status; the edu moves its buffer and
 * does not report aborts (QEMU's ignores DMA errors): memory and events tell. */
static uint32_t device_access(bool write, uint64_t address, const struct stream *stream) {
    if (use_dma_master) {
        struct dma_job job = {.source = write ? IOVA_READABLE : address,
                              .destination = write ? address : IOVA_RW,
                              .length = TRANSFER_BYTES,
                              .stream_id = stream->sid,
                              .substream_valid = stream->ssv,
                              .substream_id = stream->ssid};
        return dma_run(&job, NULL);
    }
    edu_dma_start(&edu, address, 0, TRANSFER_BYTES, write, false);
    return edu_dma_wait(&edu, EDU_TIMEOUT_MS) ? DMA_STATUS_DONE : DMA_STATUS_TIMEOUT;
}

static const struct stream *device_stream(void) {
    static struct stream plain;
    plain = (struct stream){.sid = device_sid};
    return &plain;
}

/* Expected outcome of a faulting access: the DMA master reports the abort, the edu just finishes. */
static bool aborted(uint32_t status, bool write) {
    if (!use_dma_master)
        return status == DMA_STATUS_DONE;
    return status == (write ? DMA_STATUS_WRITE_FAULT : DMA_STATUS_READ_FAULT);
}

static bool page_holds(const uint8_t *page, uint8_t seed) {
    for (unsigned int i = 0; i < TRANSFER_BYTES; i++)
        if (page[i] != (uint8_t)(seed + i * 3U))
            return false;
    return true;
}

static void fill(uint8_t *page, uint8_t seed) {
    for (unsigned int i = 0; i < PAGE_SIZE; i++)
        page[i] = (uint8_t)(seed + i * 3U);
}

/* ---- configuration ---- */

static bool install_stage1(unsigned int s1cdmax) {
    return smmu_write_cd(&smmu, device_sid, cd_table, 0, ASID, &s1_cfg) &&
           smmu_ste_stage1(&smmu, device_sid, (uintptr_t)cd_table, s1cdmax);
}

static bool setup_smmu(unsigned int sid_bits) {
    struct smmu_init_options options;
    smmu_default_init_options(&options);
    options.sid_bits = sid_bits;
    if (!smmu_init(&smmu, &options) || !smmu_setup_irqs(&smmu))
        return false;
    smmu.event_handler = report_event;
    return true;
}

/* ---- the scenarios ---- */

static void translation_faults(void) {
    const struct stream *stream = device_stream();
    fill(page_readable, 0x31);
    memset(page_rw, 0, PAGE_SIZE);
    /* A good transfer first, so that the faults below are the configuration's doing. */
    bool moved;
    expect_events();
    if (use_dma_master) {
        struct dma_job job = {.source = IOVA_READABLE,
                              .destination = IOVA_RW,
                              .length = TRANSFER_BYTES,
                              .stream_id = device_sid};
        moved = dma_run(&job, NULL) == DMA_STATUS_DONE;
    } else {
        moved = device_access(false, IOVA_READABLE, stream) == DMA_STATUS_DONE &&
                device_access(true, IOVA_RW, stream) == DMA_STATUS_DONE;
    }
    check(moved && page_holds(page_rw, 0x31) && no_events(), "stage 1 translates, no event");

    expect_events();
    memset(page_rw, 0xEE, PAGE_SIZE);
    uint32_t status = device_access(true, IOVA_UNMAPPED, stream);
    check(aborted(status, true), "write to an unmapped IOVA is aborted");
    check_event("F_TRANSLATION (0x10) without PRI: an event with InputAddr, write, stage 1",
                EVT_F_TRANSLATION, false, 0, true, IOVA_UNMAPPED, false);

    expect_events();
    status = device_access(false, IOVA_UNMAPPED, stream);
    check(aborted(status, false), "read of an unmapped IOVA is aborted");
    check_event("F_TRANSLATION (0x10) for the read", EVT_F_TRANSLATION, false, 0, true, IOVA_UNMAPPED, true);

    fill(page_read_only, 0x77);
    expect_events();
    status = device_access(true, IOVA_READ_ONLY, stream);
    check(aborted(status, true) && page_holds(page_read_only, 0x77), "write to a read-only page is refused");
    check_event("F_PERMISSION (0x13) for the write", EVT_F_PERMISSION, false, 0, true, IOVA_READ_ONLY, false);
}

/* CD.R = 0 and CD.A = 0 (IHI0070 5.5, allowed with IDR0.TERM_MODEL = 0): a translation fault is terminated
 * without a record, reads as zero and drops writes, and the device sees success. */
static void silent_termination(void) {
    if (!use_dma_master || (smmu.features.idr[0] & IDR0_TERM_MODEL)) {
        printf("faults: CD.R = 0, CD.A = 0 (RAZ/WI, no record): SKIP: %s\n",
               (smmu.features.idr[0] & IDR0_TERM_MODEL) ? "IDR0.TERM_MODEL = 1 (faults always abort)"
                                                        : "the edu does not report aborts");
        return;
    }
    volatile uint64_t *cd0 = cd_table;
    uint64_t saved = cd0[0];
    /* One 64-bit field change in a live CD: single-copy atomic, then CFGI_CD (IHI0070 3.21). */
    cd0[0] = saved & ~(CD0_R | CD0_A);
    check(smmu_cfgi_cd(&smmu, device_sid, 0), "CD 0 with R = 0 and A = 0");
    memset(page_rw, 0xEE, PAGE_SIZE);
    expect_events();
    struct dma_job job = {
        .source = IOVA_UNMAPPED, .destination = IOVA_RW, .length = TRANSFER_BYTES, .stream_id = device_sid};
    uint32_t status = dma_run(&job, NULL);
    bool zeros = true;
    for (unsigned int i = 0; i < TRANSFER_BYTES; i++)
        zeros = zeros && page_rw[i] == 0;
    check(status == DMA_STATUS_DONE && zeros && no_events(),
          "unmapped read: RAZ, the master sees success, no record");
    cd0[0] = saved;
    check(smmu_cfgi_cd(&smmu, device_sid, 0), "CD 0 with R = 1 and A = 1 again");
}

static void bad_cd(void) {
    const struct stream *stream = device_stream();
    volatile uint64_t *cd0 = cd_table;
    uint64_t saved = cd0[0];
    cd0[0] = saved & ~(uint64_t)SMMU_CD0_V;
    check(smmu_cfgi_cd(&smmu, device_sid, 0), "CD 0 made invalid (V = 0), CFGI_CD");
    expect_events();
    uint32_t status = device_access(false, IOVA_READABLE, stream);
    check(aborted(status, false), "transaction through the invalid CD is aborted");
    check_event("C_BAD_CD (0x0a)", EVT_C_BAD_CD, false, 0, false, 0, false);
    cd0[0] = saved;
    check(smmu_cfgi_cd(&smmu, device_sid, 0), "CD 0 valid again");
}

static void bad_ste(void) {
    const struct stream *stream = device_stream();
    uint64_t invalid[SMMU_STE_DWORDS] = {0};
    check(smmu_write_ste(&smmu, device_sid, invalid), "STE with V = 0");
    expect_events();
    check(aborted(device_access(false, IOVA_READABLE, stream), false), "transaction aborted");
    check_event("C_BAD_STE (0x04) for V = 0", EVT_C_BAD_STE, false, 0, false, 0, false);

    /* S1CDMax above IDR1.SSIDSIZE makes the STE ILLEGAL (IHI0070 5.2). */
    unsigned int s1cdmax = smmu.features.ssid_bits + 1U;
    check(smmu_ste_stage1(&smmu, device_sid, (uintptr_t)cd_table, s1cdmax), "STE with S1CDMax > SSIDSIZE");
    expect_events();
    check(aborted(device_access(false, IOVA_READABLE, stream), false), "transaction aborted");
    check_event("C_BAD_STE (0x04) for an ILLEGAL STE", EVT_C_BAD_STE, false, 0, false, 0, false);
    check(install_stage1(0), "stage-1 STE again");
}

static void bad_substream(void) {
    if (!use_dma_master || smmu.features.ssid_bits < CD_TABLE_BITS) {
        printf("faults: C_BAD_SUBSTREAMID: SKIP: %s\n", smmu.features.ssid_bits < CD_TABLE_BITS
                                                            ? "no substreams (IDR1.SSIDSIZE = 0)"
                                                            : "no device that sends a SubstreamID");
        return;
    }
    struct stream stream = {.sid = device_sid, .ssv = true, .ssid = BAD_SSID_NO_CDS};
    expect_events();
    check(device_access(false, IOVA_READABLE, &stream) == DMA_STATUS_READ_FAULT,
          "SubstreamID on an STE with S1CDMax = 0 is aborted");
    check_event("C_BAD_SUBSTREAMID (0x08), SubstreamID reported", EVT_C_BAD_SUBSTREAMID, true,
                BAD_SSID_NO_CDS, false, 0, false);

    check(install_stage1(CD_TABLE_BITS), "STE with four CDs (S1CDMax = 2)");
    stream.ssid = BAD_SSID_BEYOND;
    expect_events();
    check(device_access(false, IOVA_READABLE, &stream) == DMA_STATUS_READ_FAULT,
          "SubstreamID 9 beyond the CD table is aborted");
    check_event("C_BAD_SUBSTREAMID (0x08) for SSID >= 2^S1CDMax", EVT_C_BAD_SUBSTREAMID, true,
                BAD_SSID_BEYOND, false, 0, false);
    check(install_stage1(0), "stage-1 STE again");
}

/* A command the SMMU refuses, between two good ones: consumption stops at it with CERROR_ILL in CMDQ_CONS.ERR
 * and GERROR.CMDQ_ERR active (the GERROR interrupt says so); the driver replaces it by a CMD_SYNC and
 * acknowledges through GERRORN; the command after it then runs. */
static void illegal_command(const char *what, uint64_t dword0, uint64_t dword1) {
    char line[112];
    uint32_t irqs = smmu.gerror_irqs, cerrors = smmu.cerrors;
    bool issued = smmu_cmdq_issue(&smmu, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_TLBI_NSNH_ALL), 0);
    uint32_t bad_slot = smmu.cmdq.prod;
    issued = issued && smmu_cmdq_issue(&smmu, dword0, dword1) &&
             smmu_cmdq_issue(&smmu, SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_CFGI_STE_RANGE),
                             SMMU_FIELD_PREP(SMMU_CMD1_RANGE, SMMU_CFGI_RANGE_ALL));
    bool signalled = issued && wait_for_gerror(irqs);
    uint32_t cons = mmio_read32(smmu.base + SMMU_CMDQ_CONS);
    snprintf(line, sizeof(line), "%s: GERROR interrupt with CMDQ_ERR (0x1)", what);
    check(signalled && (smmu.gerror_active & GERROR_CMDQ_ERR) &&
              (smmu_gerror_active(&smmu) & GERROR_CMDQ_ERR),
          line);
    snprintf(line, sizeof(line), "%s: CMDQ_CONS.ERR = CERROR_ILL (0x1), RD at the command", what);
    check(((cons >> 24) & 0x7FU) == CERROR_ILL && (cons & SMMU_Q_PTR_MASK) == bad_slot, line);
    snprintf(line, sizeof(line), "%s: skipped, acknowledged, the next commands ran", what);
    check(smmu_cmdq_sync(&smmu) && smmu.cerrors == cerrors + 1 && smmu.last_cerror == CERROR_ILL &&
              smmu_gerror_active(&smmu) == 0 && smmu_tlbi_nsnh_all(&smmu) && smmu.cerrors == cerrors + 1,
          line);
}

static void command_errors(void) {
    illegal_command("CERROR_ILL for reserved opcode 0x3f", SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, RESERVED_OPCODE),
                    0);
    if (smmu.features.pri)
        illegal_command("CERROR_ILL for CMD_PRI_RESP with Resp = 0b11",
                        SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_PRI_RESP) |
                            SMMU_FIELD_PREP(SMMU_CMD0_SID, device_sid),
                        SMMU_FIELD_PREP(SMMU_CMD1_PRI_RESP, PRI_RESP_ILLEGAL));
    else
        printf("faults: CERROR_ILL for an ILLEGAL CMD_PRI_RESP: SKIP: no PRI (IDR0.PRI = 0)\n");
}

/* The event queue moved to an address nothing decodes: the next record cannot be written,
 * GERROR.EVENTQ_ABT_ERR is raised (the GERROR handler acknowledges it) and the record is lost; the queue is
 * then restarted where it was, and records arrive again. */
static void event_queue_abort(void) {
    const struct stream *stream = device_stream();
    uint32_t cr0 = mmio_read32(smmu.base + SMMU_CR0);
    bool moved = smmu_write_cr0(&smmu, cr0 & ~(uint32_t)SMMU_CR0_EVENTQEN);
    mmio_write64(smmu.base + SMMU_EVENTQ_BASE,
                 SMMU_ADDR_GET(SMMU_Q_BASE_ADDR, ADDRESS_HOLE) |
                     SMMU_FIELD_PREP(SMMU_Q_BASE_LOG2SIZE, smmu.evtq.log2_entries));
    mmio_write32(smmu.base + SMMU_EVENTQ_PROD, 0);
    mmio_write32(smmu.base + SMMU_EVENTQ_CONS, 0);
    moved = moved && smmu_write_cr0(&smmu, cr0);
    check(moved, "event queue moved to an address nothing decodes");
    uint32_t irqs = smmu.gerror_irqs;
    expect_events();
    uint32_t status = device_access(true, IOVA_UNMAPPED, stream);
    bool signalled = wait_for_gerror(irqs);
    check(aborted(status, true) && signalled && (smmu.gerror_active & GERROR_EVENTQ_ABT_ERR) && no_events(),
          "EVENTQ_ABT_ERR (0x4) by the GERROR interrupt, the record lost");
    check(smmu_gerror_active(&smmu) == 0, "EVENTQ_ABT_ERR acknowledged through GERRORN");
    check(smmu_evtq_restart(&smmu), "event queue restarted");
    expect_events();
    device_access(true, IOVA_UNMAPPED, stream);
    check_event("records again after the recovery: F_TRANSLATION (0x10)", EVT_F_TRANSLATION, false, 0, true,
                IOVA_UNMAPPED, false);
}

static void msi_abort(void) {
    if (!smmu.features.msi) {
        printf("faults: MSI_CMDQ_ABT_ERR: SKIP: no MSIs (IDR0.MSI = 0)\n");
        return;
    }
    uint32_t irqs = smmu.gerror_irqs;
    /* CS = SIG_IRQ with an MSI address nothing decodes: the SYNC completes, its MSI aborts. */
    uint64_t dword0 = SMMU_FIELD_PREP(SMMU_CMD0_OPCODE, SMMU_OP_SYNC) |
                      SMMU_FIELD_PREP(SMMU_CMD0_SYNC_CS, SMMU_SYNC_CS_IRQ) |
                      SMMU_FIELD_PREP(SMMU_CMD0_SYNC_MSH, 3U) | SMMU_FIELD_PREP(SMMU_CMD0_SYNC_MSIATTR, 0x1U);
    bool done = smmu_cmdq_issue(&smmu, dword0, SMMU_ADDR_GET(SMMU_CMD1_SYNC_MSIADDR, ADDRESS_HOLE)) &&
                smmu_cmdq_sync(&smmu);
    bool signalled = wait_for_gerror(irqs);
    check(done && signalled && (smmu.gerror_active & GERROR_MSI_CMDQ_ABT_ERR),
          "MSI_CMDQ_ABT_ERR (0x10) by the GERROR interrupt for a CMD_SYNC MSI nobody decodes");
    check(smmu_gerror_active(&smmu) == 0 && smmu_tlbi_nsnh_all(&smmu),
          "MSI_CMDQ_ABT_ERR acknowledged, commands still run");
}

/* A stream table too small for the device's StreamID: CR2.RECINVSID (set by the driver) makes the SMMU record
 * C_BAD_STREAMID. */
static void bad_stream_id(void) {
    unsigned int sid_bits = 31U - (unsigned int)__builtin_clz(device_sid); /* 2^sid_bits <= sid */
    check(setup_smmu(sid_bits), "SMMU reset with a stream table that ends below the device's StreamID");
    expect_events();
    uint32_t status = device_access(false, IOVA_READABLE, device_stream());
    check(aborted(status, false), "transaction from beyond the stream table is aborted");
    check_event("C_BAD_STREAMID (0x02)", EVT_C_BAD_STREAMID, false, 0, false, 0, false);
}

int main(void) {
    if (!smmu_probe(&smmu, FW_SMMU_BASE)) {
        printf("faults: no usable SMMUv3\n");
        return 1;
    }
    if (!smmu.features.s1p) {
        printf("SKIP: the SMMU has no stage 1 (IDR0.S1P = 0)\n");
        return 0;
    }
    gic_init();
    pci_enumerate();
    use_dma_master = dma_master_present();
    if (use_dma_master) {
        device_sid = 0x10U;
        printf("faults: initiator: the platform DMA master\n");
    } else if (edu_probe(&edu)) {
        device_sid = pci_dev_rid(edu.pdev);
        printf("faults: initiator: edu %s\n", edu.pdev->name);
    } else {
        printf("SKIP: no device to make DMA (no DMA master, no edu)\n");
        return 0;
    }
    check(setup_smmu(8), "SMMU enabled, interrupts for events and global errors");
    local_irq_enable();

    page_readable = alloc_page();
    page_rw = alloc_page();
    page_read_only = alloc_page();
    cd_table = smmu_alloc_cd_table(CD_TABLE_BITS);
    static struct smmu_tlb_domain domain;
    struct io_pgtable_ops *s1 = smmu_alloc_pgtable(&domain, &smmu, 1, ASID, 0, &s1_cfg);
    check(s1 && cd_table &&
              s1->map(s1, IOVA_READABLE, (uintptr_t)page_readable, PAGE_SIZE, IOMMU_READ, NULL) == 0 &&
              s1->map(s1, IOVA_RW, (uintptr_t)page_rw, PAGE_SIZE, IOMMU_READ | IOMMU_WRITE, NULL) == 0 &&
              s1->map(s1, IOVA_READ_ONLY, (uintptr_t)page_read_only, PAGE_SIZE, IOMMU_READ, NULL) == 0 &&
              install_stage1(0),
          "stage-1 tables, CD and STE");

    translation_faults();
    silent_termination();
    bad_cd();
    bad_ste();
    bad_substream();
    command_errors();
    event_queue_abort();
    msi_abort();
    bad_stream_id();

    local_irq_disable();
    smmu_disable(&smmu);
    if (failures)
        printf("faults: %d checks failed\n", failures);
    else
        printf("faults: ok\n");
    return failures ? 1 : 0;
}
