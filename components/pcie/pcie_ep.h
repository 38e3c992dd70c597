/* A PCIe endpoint function core: type 0 configuration space with ATS, PRI and PASID extended capabilities, an
 * Address Translation Cache, and the ATS invalidation and PRI page request protocol. Plain C11, no SystemC;
 * it reaches the world only through pcie_ep_host_ops, so a SystemC shell or a unit test can host it.
 *
 * Requests the core issues upstream are asynchronous: the host answers each with pcie_ep_mem_done or
 * pcie_ep_translation_done, naming the tag the core gave it. Not thread-safe. */
#ifndef PCIE_EP_H
#define PCIE_EP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PCIE_EP_CFG_SIZE 4096u
#define PCIE_EP_BARS 6u
/* Requests one function may have in flight (untranslated, translated and translation requests together). */
#define PCIE_EP_MAX_INFLIGHT 64u
#define PCIE_EP_PRG_INDEXES 512u

/* Where the capabilities sit: fixed, so tests and drivers can find them without walking the lists. */
#define PCIE_EP_CAP_PCIE 0x40u
#define PCIE_EP_ECAP_ATS 0x100u
#define PCIE_EP_ECAP_PRI 0x110u
#define PCIE_EP_ECAP_PASID 0x120u

/* The personality of one function. */
typedef struct pcie_ep_params {
    uint16_t vendor_id, device_id;
    uint8_t revision;
    uint32_t class_code; /* 24 bits: base class, subclass, programming interface */
    /* 32-bit non-prefetchable memory BARs; 0 leaves a BAR unimplemented, otherwise a power of two >= 16. */
    uint32_t bar_size[PCIE_EP_BARS];

    bool ats;
    uint8_t inv_queue_depth; /* 1..32 invalidations accepted at once; 0 means 32, as the register does */
    bool global_inv;         /* Global Invalidate Supported */
    uint32_t atc_sets, atc_ways;
    uint64_t inv_latency_ps; /* time from drained to the Invalidation Completion; 0 sends it at once */

    bool pri;
    uint32_t pri_capacity;        /* Outstanding Page Request Capacity */
    bool prg_resp_pasid_required; /* PRI Status bit 15 */

    bool pasid;
    uint8_t pasid_width; /* Max PASID Width, 0..20 */
    bool exec_supported, priv_supported;
    /* How the function stops a PASID with page requests outstanding: true sends a Stop Marker and stops at
     * once, false waits until every group of that PASID has its response. */
    bool stop_marker;
} pcie_ep_params;

typedef enum pcie_ep_at {
    PCIE_EP_AT_UNTRANSLATED = 0,
    PCIE_EP_AT_TRANSLATION_REQ = 1,
    PCIE_EP_AT_TRANSLATED = 2,
} pcie_ep_at;

/* A memory request upstream. Translation requests are 8-byte reads of a 4 KiB aligned address. */
typedef struct pcie_ep_mem_req {
    pcie_ep_at at;
    uint64_t addr;
    uint32_t len;
    bool write;
    bool no_write; /* Translation request NW */
    bool pasid_valid;
    uint32_t pasid;
    bool exec, priv; /* PASID prefix Execute / Privileged Mode Requested */
} pcie_ep_mem_req;

typedef enum pcie_ep_msg_kind {
    PCIE_EP_MSG_INV_COMPLETION = 1,
    PCIE_EP_MSG_PAGE_REQUEST = 2, /* a Stop Marker is one too: last = 1, read = write = 0, with a PASID */
} pcie_ep_msg_kind;

typedef struct pcie_ep_msg {
    pcie_ep_msg_kind kind;
    bool pasid_valid;
    uint32_t pasid;
    bool exec, priv;
    /* Page Request */
    uint64_t addr;
    uint16_t prg_index;
    bool last, read, write;
    /* Invalidation Completion */
    uint32_t itag_vector;
    uint8_t completion_count;
} pcie_ep_msg;

typedef struct pcie_ep_host_ops {
    void (*mem_request)(void *ctx, uint32_t tag, const pcie_ep_mem_req *req);
    void (*send_msg)(void *ctx, const pcie_ep_msg *msg);
    /* Calls fn(arg) delay_ps from now. May be NULL: then everything the core would delay happens at once. */
    void (*schedule)(void *ctx, uint64_t delay_ps, void (*fn)(void *arg), void *arg);
    void (*raise_msix)(void *ctx, uint16_t vector);
} pcie_ep_host_ops;

typedef struct pcie_ep pcie_ep;

/* NULL for an inconsistent personality (a BAR size that is not a power of two >= 16, a queue depth above 32,
 * a PASID width above 20, an ATC geometry vp_setassoc refuses) or when memory runs out. */
pcie_ep *pcie_ep_create(const pcie_ep_params *params, const pcie_ep_host_ops *ops, void *ctx);
void pcie_ep_destroy(pcie_ep *ep);

/* size 1, 2 or 4, offset aligned to it, inside the 4 KiB space; false otherwise. Unimplemented registers
 * read as zero and ignore writes. */
bool pcie_ep_cfg_read(pcie_ep *ep, uint32_t offset, unsigned size, uint32_t *value);
bool pcie_ep_cfg_write(pcie_ep *ep, uint32_t offset, unsigned size, uint32_t value);

/* One DMA access of the function's engine (must not cross a 4 KiB boundary). */
typedef struct pcie_ep_access {
    uint64_t addr;
    uint32_t len;
    bool write;
    bool pasid_valid;
    uint32_t pasid;
    bool exec, priv;
} pcie_ep_access;

typedef enum pcie_ep_result {
    PCIE_EP_ISSUED_TRANSLATED = 0, /* ATC hit: issued with AT = Translated */
    PCIE_EP_ISSUED_UNTRANSLATED,   /* ATS disabled, or the entry says U: issued untranslated */
    PCIE_EP_ATC_MISS,              /* nothing issued: translate first (pcie_ep_translate) */
    PCIE_EP_DENIED, /* nothing issued: Bus Master off, PASID not enabled, or the entry denies the access */
    PCIE_EP_BUSY,   /* nothing issued: every tag is in flight */
} pcie_ep_result;

pcie_ep_result pcie_ep_dma(pcie_ep *ep, const pcie_ep_access *a, uint32_t *tag);
/* Issues a Translation Request for the page holding a->addr (a->write clear asks with NW = 1). */
pcie_ep_result pcie_ep_translate(pcie_ep *ep, const pcie_ep_access *a, uint32_t *tag);

/* The host's answer to a memory request (its completion; for writes, the point it is ordered). */
void pcie_ep_mem_done(pcie_ep *ep, uint32_t tag);

typedef struct pcie_ep_ats_cpl {
    uint8_t status;    /* 0 SC, 1 UR, 4 CA */
    uint64_t addr;     /* translated address */
    bool s;            /* S: size encoded in addr's low bits */
    uint8_t size_log2; /* when non-zero, the size instead of the S encoding */
    bool read, write, exec, priv, global, untranslated_only, non_snooped;
} pcie_ep_ats_cpl;

/* Completes a translation request; true if the translation now sits in the ATC (status SC with R or W). */
bool pcie_ep_translation_done(pcie_ep *ep, uint32_t tag, const pcie_ep_ats_cpl *cpl);

/* log2 of the range that a 4 KiB aligned address with S = 1 encodes: the lowest clear bit n at or above 12
 * gives 2^(n+1) bytes. 64 when every bit is set. */
uint8_t pcie_ep_s_size_log2(uint64_t addr);

typedef struct pcie_ep_inv_req {
    uint64_t addr;     /* untranslated base */
    uint8_t size_log2; /* 12..64 */
    bool pasid_valid;
    uint32_t pasid;
    bool global;  /* Global Invalidate */
    uint8_t itag; /* 0..31 */
} pcie_ep_inv_req;

typedef enum pcie_ep_inv_result {
    PCIE_EP_INV_ACCEPTED = 0,
    PCIE_EP_INV_QUEUE_FULL, /* back-pressure: Invalidate Queue Depth invalidations are pending */
    PCIE_EP_INV_BAD_ITAG,   /* the ITag is still pending, or above 31 */
} pcie_ep_inv_result;

pcie_ep_inv_result pcie_ep_ats_invalidate(pcie_ep *ep, const pcie_ep_inv_req *req);
/* Invalidations received and not yet completed. */
unsigned pcie_ep_inv_pending(const pcie_ep *ep);

typedef struct pcie_ep_atc_info {
    uint32_t entries;
    uint64_t hits, misses, invalidated;
} pcie_ep_atc_info;
void pcie_ep_atc_stats(const pcie_ep *ep, pcie_ep_atc_info *info);

/* Sends one Page Request (PRI enabled, not stopped by a Response Failure, a credit of the Outstanding Page
 * Request Allocation left). */
bool pcie_ep_page_request(pcie_ep *ep, const pcie_ep_access *a, uint16_t prg_index, bool last);
/* A PRG Response: releases the group's credits; a Response Failure sets RF, an unknown index UPRGI. */
void pcie_ep_prg_response(pcie_ep *ep, uint16_t prg_index, uint8_t code);
/* Stops using a PASID: true when the stop is complete (a Stop Marker went out, or nothing was outstanding).
 */
bool pcie_ep_stop_pasid(pcie_ep *ep, uint32_t pasid);

/* Raises an MSI-X vector; false while Bus Master is off. */
bool pcie_ep_raise_msix(pcie_ep *ep, uint16_t vector);

#ifdef __cplusplus
}
#endif

#endif
