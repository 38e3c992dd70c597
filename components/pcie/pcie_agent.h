/* The DMA logic a PCIe function needs when its engine works page by page, on top of the endpoint core
 * (pcie_ep): ATC lookup, Translation Requests on a miss, Page Request Groups when a translation grants no
 * access, retry after a PRG Response Success, and stopping a PASID. Plain C11.
 *
 * One access is at most one 4 KiB page. It ends with exactly one callback, ok or a fault naming the address
 * and a reason; the callback may run before pcie_agent_submit returns (a refusal decided at once), and it may
 * submit further accesses. Everything else is driven by the host's answers, which the personality forwards
 * from its pcie_ep_device_ops (pcie_agent_mem_done and the others below). Nothing blocks, nothing waits on
 * time: an access that needs a resource (a request tag, PRI credits, a PRG index) queues until one frees.
 *
 * A misbehaving host cannot make an access loop forever: every Translation Request the access needs counts
 * as an attempt, and after max_attempts the access fails with PCIE_AGENT_RETRY_LIMIT. Not thread-safe. */
#ifndef PCIE_AGENT_H
#define PCIE_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "pcie_ep.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PCIE_AGENT_PAGE 4096u
#define PCIE_AGENT_DEFAULT_MAX_ATTEMPTS 8u

typedef enum pcie_agent_status {
    PCIE_AGENT_OK = 0,
    PCIE_AGENT_DENIED,          /* Bus Master off, PASID not enabled, or an access crossing a page */
    PCIE_AGENT_TRANSLATION_UR,  /* the Translation Completion said Unsupported Request */
    PCIE_AGENT_TRANSLATION_CA,  /* ... Completer Abort (or a reserved status) */
    PCIE_AGENT_NO_PERMISSION,   /* the translation does not allow the access and PRI cannot help */
    PCIE_AGENT_PRI_INVALID,     /* PRG Response Invalid Request (or a reserved code) */
    PCIE_AGENT_PRI_FAILURE,     /* PRG Response Failure, or PRI Status.RF already set */
    PCIE_AGENT_PRI_UNAVAILABLE, /* PRI turned off or reset, or an Allocation of 0, while the access needed it
                                 */
    PCIE_AGENT_MEM_UR,          /* the memory request completed with Unsupported Request */
    PCIE_AGENT_MEM_CA,          /* ... with Completer Abort */
    PCIE_AGENT_RETRY_LIMIT,     /* max_attempts Translation Requests did not get the access through */
    PCIE_AGENT_STOPPED,         /* its PASID is being stopped (pcie_agent_stop_pasid) */
} pcie_agent_status;

/* A short stable name ("ok", "mem_ur", ...). */
const char *pcie_agent_status_name(pcie_agent_status st);

typedef struct pcie_agent_req {
    pcie_ep_access access; /* must not cross a 4 KiB boundary; data stays valid until the callback */
    /* The caller's own ATS enable: clear, the access goes untranslated even while the function's ATS Enable
     * is set (it needs both to use the ATC). */
    bool ats;
    bool pri; /* the caller's own PRI enable (the core's PRI Enable is checked too) */
    /* When a page request is needed: how many pages after this one, in the caller's region, to ask for in the
     * same group (prefetch). The group is shortened to the Outstanding Page Request Allocation. */
    uint32_t prefetch_pages;
    void *cookie; /* handed back in the callback */
} pcie_agent_req;

/* fault_addr is the access's address on a fault and 0 on success. */
typedef void (*pcie_agent_done_fn)(void *owner, void *cookie, pcie_agent_status status, uint64_t fault_addr);

typedef struct pcie_agent pcie_agent;

pcie_agent *pcie_agent_create(pcie_ep *ep, pcie_agent_done_fn done, void *owner);
void pcie_agent_destroy(pcie_agent *ag);
/* Translation Requests one access may need before it gives up; at least 1. */
void pcie_agent_set_max_attempts(pcie_agent *ag, unsigned attempts);

/* Starts an access. false only when memory runs out (nothing happens then). */
bool pcie_agent_submit(pcie_agent *ag, const pcie_agent_req *req);
/* Accesses submitted and not yet called back. */
uint32_t pcie_agent_active(const pcie_agent *ag);

/* The host's answers, as the core passes them to pcie_ep_device_ops. Tags the agent did not issue are
 * ignored, so a personality may issue requests of its own through the same core. */
void pcie_agent_mem_done(pcie_agent *ag, uint32_t tag, pcie_ep_cpl_status status);
void pcie_agent_translation_done(pcie_agent *ag, uint32_t tag, const pcie_ep_ats_cpl *cpl, bool cached);
void pcie_agent_prg_response(pcie_agent *ag, uint16_t prg_index, uint8_t code);
/* Re-examines what waits on the enables: turning PRI off (or resetting it) fails the accesses that wait for
 * a PRG Response or for credits, since their groups will never be answered. */
void pcie_agent_config_changed(pcie_agent *ag);

/* Stops using a PASID (PCIe's device-specific "stop" of a PASID): accesses of that PASID that are not on the
 * wire fail with PCIE_AGENT_STOPPED at once, the ones on the wire complete (a completion that would need a
 * retry fails instead), new ones fail at once; when none is on the wire the core's pcie_ep_stop_pasid runs (a
 * Stop Marker, or a wait for every outstanding group's response, as the function's stop_marker says) and
 * then done(arg, pasid) is called, possibly before this returns. Accesses waiting on a group of that PASID
 * fail when its response arrives or when the Stop Marker goes out. The PASID stays stopped for every user of
 * the agent until pcie_agent_resume_pasid. false if the PASID is already stopping or stopped, or when memory
 * runs out. */
bool pcie_agent_stop_pasid(pcie_agent *ag, uint32_t pasid, void (*done)(void *arg, uint32_t pasid),
                           void *arg);
void pcie_agent_resume_pasid(pcie_agent *ag, uint32_t pasid);
/* true between pcie_agent_stop_pasid and pcie_agent_resume_pasid. */
bool pcie_agent_pasid_stopping(const pcie_agent *ag, uint32_t pasid);

typedef struct pcie_agent_stats {
    uint64_t accesses, completed, faults;
    uint64_t bytes_read, bytes_written; /* by accesses that completed ok */
    uint64_t mem_requests, translation_requests;
    uint64_t
        translation_retries; /* completions that left nothing usable in the ATC (a race, ATS turned off) */
    uint64_t page_groups, page_requests,
        page_group_joins; /* joins: an access that waited on an existing group */
    uint64_t prg_success, prg_invalid, prg_failure;
    uint64_t tag_waits, credit_waits; /* times an access queued for a request tag / for PRI credits */
    uint64_t retry_limit_hits, stops;
} pcie_agent_stats;
void pcie_agent_get_stats(const pcie_agent *ag, pcie_agent_stats *stats);
/* The counters as `name value` pairs, named like the members, in member order. */
void pcie_agent_stats_each(const pcie_agent *ag, const char *prefix,
                           void (*cb)(void *arg, const char *name, uint64_t value), void *arg);

#ifdef __cplusplus
}
#endif

#endif
