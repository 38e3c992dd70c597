/* Arm's SMMUv3 Test Engine as a PCIe function (vendor 0x13B5, device 0xFF80), register-compatible with the
 * published interface restated in /work/shared/testengine.md, plus what Arm's own model leaves out: the
 * per-frame ATS_ENABLE / PRI_ENABLE bits really use ATS (a device ATC) and PRI (page requests, retry after a
 * Success response). Plain C11, on the endpoint core (pcie_ep) and the DMA helper (pcie_agent).
 *
 * BARs (the function's numbering; testengine.md's "BAR1"/"BAR2" are the second and third BARs here):
 * - BAR0, 64-bit (its upper half takes slot 1), non-prefetchable: `frames` pairs of 64 KiB pages, pair P at
 *   P * 0x20000 (User page), P * 0x20000 + 0x10000 (Privileged page), 512 frames of 128 bytes per page. The
 * BAR is the next power of two above the pairs; the rest reads as zero and ignores writes.
 * - BAR2, 32-bit: the MSI-X table at offset 0 (msix_vectors entries). BAR3, 32-bit: the PBA at offset 0.
 * Register accesses may be 1, 2, 4 or 8 bytes (naturally aligned); cmd acts only on a 4-byte write of its
 * own.
 *
 * Readings of testengine.md this model takes (where the page leaves room):
 * - Transactions. stride 1: the region in chunk-sized, chunk-aligned pieces (the first and last may be
 *   shorter). stride 8*k: one access of 8 bytes (fewer at the region's end) at begin + i * stride. A
 *   transaction may straddle a 4 KiB page (an unaligned begin, or a MEMCPY destination); it then takes two
 * DMA accesses. MEMCPY reads a transaction's source and then writes it to udata[0] + (addr - begin).
 *   count_of_transactions_launched/_returned count these transactions; both restart from 0 at each command.
 * - Order: seed 0 launches the transactions in ascending address order, 0xFFFFFFFF descending, any other seed
 *   in a permutation fixed by the seed (a keyed bijection with cycle walking, so each is launched once).
 * - RAND48: a byte's value depends only on its address (and seed and begin): the generator is reseeded at
 *   max(begin, the byte's 4 KiB page), then steps through the bytes in address order up to it, each byte
 *   taking two steps (the output and its bit 31), whatever the stride or the launch order.
 * - SUM64: udata[1] is set to the sum (mod 2^64) of the words read, starting from 0; written at the end, also
 *   after an error (then the partial sum).
 * - Misconfigured (checked at the cmd write, visible on the next read): an unknown command; stride 0 or
 *   neither 1 nor a multiple of 8; msiaddress not 0 or 1; msidata above 2047; substreamid not 0xFFFFFFFF and
 *   above 20 bits; end_incl < begin; the whole 64-bit space; SUM64 with begin not 8-aligned or end_incl not
 *   ending a word; a MEMCPY destination running past 2^64; pctrl.STOP set. Writing 0 (NO_FRAME) or 1 (HALTED)
 *   leaves the frame HALTED.
 * - A fault (an aborted access, a translation without permission and no PRI, PRI Invalid Request or Response
 *   Failure) stops launching; once the transactions in flight have returned, cmd reads ENGINE_ERROR and
 *   udata[2] the address of the first faulting access (for MEMCPY's writes, the destination address).
 * - Completion MSI (msiaddress = 1): MSI-X vector msidata. When the core cannot signal it (MSI-X disabled,
 * Bus Master off, a vector outside the table) uctrl.MSI_ABORTED is set; a masked vector is not an abort (its
 * PBA bit is set). MSI_ABORTED is cleared when a command starts; software may also clear it by writing 0.
 * - Attributes: the PnU bit (8) of the source (reads) or destination (writes) halfword asks for Privileged
 *   Mode and InD (10) of the source halfword asks for Execute, in the PASID prefix; both only with a PASID.
 * - ATS/PRI: pctrl.ATS_ENABLE and PRI_ENABLE act together with the function's capability enables. A page
 *   request group asks for prg_pages pages: the faulting one and those following it inside the region.
 *
 * Extension, privileged pctrl: bit 16 STOP, bit 17 STOPPED (read-only). Writing STOP = 1 stops the frame's
 * use of its PASID: a running command is aborted (no new launches; once its transactions have returned it
 * ends as ENGINE_ERROR with udata[2] the first aborted or unlaunched address, or HALTED if every transaction
 * had been launched and returned fine; the MSI follows the usual rule), the PASID is stopped in the DMA agent
 * and then in the core (a Stop Marker, or waiting for the outstanding groups' responses, per stop_marker),
 * and STOPPED is set when all that has completed. STOP is writable while a command runs (the rest of the
 * frame is not). Writing STOP = 0 once STOPPED is set clears both and lets the PASID be used again; while the
 * stop is in progress it is ignored. A frame without a PASID just aborts. Stopping a PASID stops it for every
 * frame that uses it. */
#ifndef TESTENGINE_H
#define TESTENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcie_ep.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TESTENGINE_VENDOR_ID 0x13B5u
#define TESTENGINE_DEVICE_ID 0xFF80u
#define TESTENGINE_PAIR_SIZE 0x20000u
#define TESTENGINE_PRIV_PAGE 0x10000u
#define TESTENGINE_FRAME_SIZE 0x80u
#define TESTENGINE_FRAMES_PER_PAGE 512u
#define TESTENGINE_FRAMES_BAR 0u
#define TESTENGINE_MSIX_TABLE_BAR 2u
#define TESTENGINE_MSIX_PBA_BAR 3u
#define TESTENGINE_MAX_PAIRS 64u

/* User frame registers */
#define TE_CMD 0x00u
#define TE_UCTRL 0x04u
#define TE_LAUNCHED 0x08u
#define TE_RETURNED 0x0Cu
#define TE_MSIADDRESS 0x10u
#define TE_MSIDATA 0x18u
#define TE_MSIATTR 0x1Cu
#define TE_ATTRIBUTES 0x20u
#define TE_SEED 0x24u
#define TE_BEGIN 0x28u
#define TE_END_INCL 0x30u
#define TE_STRIDE 0x38u
#define TE_UDATA 0x40u
/* Privileged frame registers */
#define TE_PCTRL 0x00u
#define TE_DOWNSTREAM_PORT 0x04u
#define TE_STREAMID 0x08u
#define TE_SUBSTREAMID 0x0Cu
#define TE_PDATA 0x10u

#define TE_UCTRL_MSI_ABORTED 0x1u
#define TE_PCTRL_SSD_NS 0x1u
#define TE_PCTRL_ATS_ENABLE 0x100u
#define TE_PCTRL_PRI_ENABLE 0x200u
#define TE_PCTRL_STOP 0x10000u
#define TE_PCTRL_STOPPED 0x20000u

#define TE_ENGINE_NO_FRAME 0x0u
#define TE_ENGINE_HALTED 0x1u
#define TE_ENGINE_MEMCPY 0x2u
#define TE_ENGINE_RAND48 0x3u
#define TE_ENGINE_SUM64 0x4u
#define TE_ENGINE_FRAME_MISCONFIGURED 0xFFFFFFFEu
#define TE_ENGINE_ERROR 0xFFFFFFFFu

typedef struct testengine_params {
    uint32_t frames;      /* pairs of pages, 1..TESTENGINE_MAX_PAIRS */
    uint32_t inflight;    /* transactions in flight per frame, 1..64 */
    uint64_t issue_ps;    /* time between two launches of one frame; 0: as fast as the agent takes them */
    bool stop_marker;     /* how a PASID stop treats outstanding page requests (pcie_ep_params.stop_marker) */
    bool ats, pri, pasid; /* the capabilities */
    uint8_t pasid_width;  /* 0..20 */
    uint32_t atc_sets, atc_ways;
    uint8_t inv_queue_depth; /* 1..32 */
    uint32_t pri_capacity;
    uint16_t msix_vectors; /* 1..2048 */
    uint32_t prg_pages;    /* pages per page request group, 1..512 */
    uint32_t chunk;        /* bytes per transaction with stride 1: a power of two, 8..4096 */
    /* Translation Requests one access may need before the engine gives up with ENGINE_ERROR (pcie_agent's
     * bound against a host that never lets it through). Every PRG Response Success costs one: while software
     * leaves a PRI queue overflow unacknowledged, the SMMU's automatic responses spend them quickly. */
    uint32_t max_attempts;
} testengine_params;

void testengine_default_params(testengine_params *p);

typedef struct testengine testengine;

/* NULL with a one-line reason in err for parameters out of range or a function the core refuses. */
testengine *testengine_create(const testengine_params *p, const pcie_ep_host_ops *ops, void *ctx, char *err,
                              size_t err_len);
void testengine_destroy(testengine *te);
pcie_ep *testengine_ep(testengine *te);

/* The engine's own counters, then the DMA agent's (prefixed agent_), as `name value` pairs. */
void testengine_stats(const testengine *te, void (*cb)(void *arg, const char *name, uint64_t value),
                      void *arg);

#ifdef __cplusplus
}
#endif

#endif
