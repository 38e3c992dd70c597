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
#define PCIE_EP_CAP_MSI 0x80u  /* when params.msi: the 64-bit layout, 16 bytes */
#define PCIE_EP_CAP_MSIX 0x90u /* when params.msix_vectors: 12 bytes */
#define PCIE_EP_ECAP_ATS 0x100u
#define PCIE_EP_ECAP_PRI 0x110u
#define PCIE_EP_ECAP_PASID 0x120u

/* The personality of one function. */
typedef struct pcie_ep_params {
    uint16_t vendor_id, device_id;
    uint8_t revision;
    uint32_t class_code; /* 24 bits: base class, subclass, programming interface */
    /* Memory BARs; 0 leaves a BAR unimplemented, otherwise a power of two >= 16. A BAR whose bit is set in
     * bar_64bit is a 64-bit BAR and takes the next BAR's slot as its upper half (whose size must be 0); a
     * 32-bit BAR is at most 2 GiB. */
    uint64_t bar_size[PCIE_EP_BARS];
    uint8_t bar_64bit;
    uint8_t bar_prefetchable;

    /* MSI-X: msix_vectors 0 leaves the capability out; otherwise 1..2048 vectors, the table (16 bytes per
     * vector) and the PBA (a bit per vector, in 8-byte words) in the named BARs at 8-byte aligned offsets
     * that must fit the BAR and not overlap each other. */
    uint16_t msix_vectors;
    uint8_t msix_table_bar, msix_pba_bar;
    uint32_t msix_table_offset, msix_pba_offset;
    /* MSI capability (what QEMU's edu has): one vector, 64-bit address, no per-vector masking. */
    bool msi;
    /* INTx: 0 none, 1..4 INTA..INTD (Interrupt Pin); Command.Interrupt Disable is writable when present. */
    uint8_t intx_pin;

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
    /* len bytes: the data of a write, or where the host puts the data of a read. Owned by whoever called
     * pcie_ep_dma (pcie_ep_access.data) and valid until the request completes; NULL for translation requests.
     */
    uint8_t *data;
    bool no_write; /* Translation request NW */
    bool pasid_valid;
    uint32_t pasid;
    bool exec, priv; /* PASID prefix Execute / Privileged Mode Requested */
} pcie_ep_mem_req;

/* Completion status of a memory request (the TLP encoding). */
typedef enum pcie_ep_cpl_status {
    PCIE_EP_CPL_SC = 0, /* Successful Completion (or, for a write, accepted) */
    PCIE_EP_CPL_UR = 1, /* Unsupported Request */
    PCIE_EP_CPL_CA = 4, /* Completer Abort */
} pcie_ep_cpl_status;

struct pcie_ep_ats_cpl;

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
    /* Must not call back into the core before returning: the answer comes later through pcie_ep_mem_done or
     * pcie_ep_translation_done. */
    void (*mem_request)(void *ctx, uint32_t tag, const pcie_ep_mem_req *req);
    void (*send_msg)(void *ctx, const pcie_ep_msg *msg);
    /* Calls fn(arg) delay_ps from now. May be NULL: then everything the core would delay happens at once. */
    void (*schedule)(void *ctx, uint64_t delay_ps, void (*fn)(void *arg), void *arg);
    /* An MSI or MSI-X: a posted 32-bit memory write upstream (untranslated, no PASID), so it goes through the
     * SMMU with the function's StreamID like any other write. No completion. */
    void (*msi_write)(void *ctx, uint64_t addr, uint32_t data);
    /* Assert_INTx / Deassert_INTx for the function's Interrupt Pin. May be NULL when intx_pin is 0. */
    void (*set_intx)(void *ctx, bool asserted);
    /* One record of the platform's text trace (docs/trace.md), made now: KIND is one word, FIELDS the rest
     * of the line. The host adds the time and the function's name. May be NULL (no trace). */
    void (*trace)(void *ctx, const char *kind, const char *fields);
} pcie_ep_host_ops;

/* What a personality (the device logic behind the function) hears from the core. Every member may be NULL. */
typedef struct pcie_ep_device_ops {
    /* Accesses that hit a BAR outside the MSI-X table and PBA. offset is from the BAR's base; size 1, 2, 4 or
     * 8. Return false to answer Unsupported Request. */
    bool (*bar_read)(void *dev, unsigned bar, uint64_t offset, unsigned size, uint64_t *value);
    bool (*bar_write)(void *dev, unsigned bar, uint64_t offset, unsigned size, uint64_t value);
    /* After the core's own bookkeeping for pcie_ep_mem_done / pcie_ep_translation_done. */
    void (*mem_done)(void *dev, uint32_t tag, pcie_ep_cpl_status status);
    void (*translation_done)(void *dev, uint32_t tag, const struct pcie_ep_ats_cpl *cpl, bool cached);
    /* A PRG Response the core accepted (known index); after its credits were released. */
    void (*prg_response)(void *dev, uint16_t prg_index, uint8_t code);
    /* A configuration write changed one of the enables (Command, ATS, PRI, PASID, MSI, MSI-X Control). */
    void (*config_changed)(void *dev);
} pcie_ep_device_ops;

typedef struct pcie_ep pcie_ep;

/* NULL for an inconsistent personality (a BAR size that is not a power of two >= 16, a 64-bit BAR in BAR5 or
 * with a sized upper slot, a 32-bit BAR above 2 GiB, an MSI-X table or PBA that is misplaced, an intx_pin
 * above 4, a queue depth above 32, a PASID width above 20, an ATC geometry vp_setassoc refuses) or when
 * memory runs out. */
pcie_ep *pcie_ep_create(const pcie_ep_params *params, const pcie_ep_host_ops *ops, void *ctx);
void pcie_ep_destroy(pcie_ep *ep);
/* Attaches the personality; done once, right after create. */
void pcie_ep_set_device(pcie_ep *ep, const pcie_ep_device_ops *ops, void *dev);

/* A trace record through the host's trace op (nothing when it is NULL): for the core and its personality. */
bool pcie_ep_tracing(const pcie_ep *ep);
/* Whether the core (and the personality, through pcie_ep_tracef) formats trace lines; on at creation when the
 * host has a trace op. A host whose trace is off turns it off, so nothing is formatted for nobody. */
void pcie_ep_set_tracing(pcie_ep *ep, bool on);
void pcie_ep_tracef(pcie_ep *ep, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The enables software set, for the personality and the shell. */
bool pcie_ep_memory_enabled(const pcie_ep *ep);     /* Command.Memory Space */
bool pcie_ep_bus_master_enabled(const pcie_ep *ep); /* Command.Bus Master */
bool pcie_ep_ats_enabled(const pcie_ep *ep);
bool pcie_ep_pri_enabled(const pcie_ep *ep);
bool pcie_ep_pasid_enabled(const pcie_ep *ep);
/* ATS Control.STU as a byte count (4096 << STU). */
uint64_t pcie_ep_ats_stu_bytes(const pcie_ep *ep);

/* The BAR that decodes [addr, addr + size) and the offset in it; false while Memory Space is off, for an
 * unassigned or unimplemented BAR, or when no BAR decodes it. */
bool pcie_ep_bar_decode(const pcie_ep *ep, uint64_t addr, unsigned size, unsigned *bar, uint64_t *offset);
/* A memory access from the root complex at a bus address: decoded through the BARs, served by the core for
 * the MSI-X table and PBA and by the personality's bar_read / bar_write otherwise. size 1, 2, 4 or 8, aligned
 * to itself. false: not claimed or refused (Unsupported Request). */
bool pcie_ep_mmio_read(pcie_ep *ep, uint64_t addr, unsigned size, uint64_t *value);
bool pcie_ep_mmio_write(pcie_ep *ep, uint64_t addr, unsigned size, uint64_t value);

/* size 1, 2 or 4, offset aligned to it, inside the 4 KiB space; false otherwise. Unimplemented registers
 * read as zero and ignore writes. */
bool pcie_ep_cfg_read(pcie_ep *ep, uint32_t offset, unsigned size, uint32_t *value);
bool pcie_ep_cfg_write(pcie_ep *ep, uint32_t offset, unsigned size, uint32_t value);

/* One DMA access of the function's engine (must not cross a 4 KiB boundary). */
typedef struct pcie_ep_access {
    uint64_t addr;
    uint32_t len;
    bool write;
    uint8_t *data; /* see pcie_ep_mem_req.data; unused by pcie_ep_translate */
    bool pasid_valid;
    uint32_t pasid;
    bool exec, priv;
    /* The engine's own choice not to use ATS for this access (a per-engine enable such as the Test Engine's
     * pctrl.ATS_ENABLE): pcie_ep_dma issues it untranslated without looking at the ATC. */
    bool untranslated;
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

/* The host's answer to a memory request (its completion; for writes, the point it is ordered). Given the tag
 * of a translation request, it is that request's completion without translation data (UR or CA): the device
 * hears translation_done with cached = false. */
void pcie_ep_mem_done(pcie_ep *ep, uint32_t tag, pcie_ep_cpl_status status);

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

/* Every counter of the function since create. */
typedef struct pcie_ep_stats {
    uint64_t atc_entries; /* now, not a count of events */
    uint64_t atc_hits, atc_misses, atc_fills, atc_evictions;
    uint64_t atc_invalidated;      /* entries removed by ATS Invalidate Requests */
    uint64_t translation_requests; /* Translation Requests issued */
    uint64_t translations_cached;  /* completions that filled the ATC */
    uint64_t translations_raced;   /* SC completions dropped because an invalidation overtook them */
    uint64_t translated_requests, untranslated_requests;
    uint64_t requests_denied, requests_busy; /* pcie_ep_dma / pcie_ep_translate refusals */
    uint64_t mem_errors;                     /* memory requests completed with UR or CA */
    uint64_t invalidations, invalidations_refused, inv_completions; /* inv_completions: messages sent */
    uint64_t page_requests, stop_markers;
    uint64_t prg_success, prg_invalid, prg_failure, prg_other; /* PRG Responses by Response Code */
    uint64_t prg_unexpected; /* responses naming no outstanding group (UPRGI) */
    uint64_t prg_dropped;    /* late responses for a PASID stopped with a Stop Marker */
    uint64_t msi_sent, msix_sent, msix_pended, intx_asserts;
} pcie_ep_stats;
void pcie_ep_get_stats(const pcie_ep *ep, pcie_ep_stats *stats);
/* The same counters as stable `name value` pairs, named like the pcie_ep_stats members, in member order. */
void pcie_ep_stats_each(const pcie_ep *ep, void (*cb)(void *arg, const char *name, uint64_t value),
                        void *arg);

/* Page requests sent and not yet answered, and the groups (PRG indexes) they belong to. */
void pcie_ep_pri_outstanding(const pcie_ep *ep, uint32_t *requests, uint32_t *groups);

/* Sends one Page Request (PRI enabled, not stopped by a Response Failure, a credit of the Outstanding Page
 * Request Allocation left). */
bool pcie_ep_page_request(pcie_ep *ep, const pcie_ep_access *a, uint16_t prg_index, bool last);
/* A PRG Response: releases the group's credits; a Response Failure sets RF, an unknown index UPRGI. */
void pcie_ep_prg_response(pcie_ep *ep, uint16_t prg_index, uint8_t code);
/* Stops using a PASID: true when the stop is complete (a Stop Marker went out, or nothing was outstanding).
 */
bool pcie_ep_stop_pasid(pcie_ep *ep, uint32_t pasid);

/* Signals MSI-X vector `vector`: false (nothing happens) while Bus Master or MSI-X Enable is off or for a
 * vector outside the table. A masked vector (its own mask or Function Mask) sets its PBA bit instead, and the
 * message goes out when software unmasks it. */
bool pcie_ep_raise_msix(pcie_ep *ep, uint16_t vector);
/* Signals the MSI capability's message (false while Bus Master or MSI Enable is off). */
bool pcie_ep_raise_msi(pcie_ep *ep);
/* Drives the function's INTx level; the host hears an assert/deassert only on a change of the effective
 * level, which Command.Interrupt Disable forces low. Status.Interrupt Status follows the requested level. */
void pcie_ep_set_intx(pcie_ep *ep, bool level);

#ifdef __cplusplus
}
#endif

#endif
