/* PCIe device personalities: the device logic (registers behind the BARs, a DMA engine) on top of one
 * endpoint function core (pcie_ep). Plain C11; a SystemC shell hosts any of them through this interface
 * alone.
 *
 * A personality is created by name with `key=value` parameters, so platform configuration and tests name
 * devices the same way. The host interface is the function core's (pcie_ep_host_ops): the device issues its
 * DMA through the core and the host answers the core (pcie_ep_mem_done, pcie_ep_translation_done,
 * pcie_ep_ats_invalidate, pcie_ep_prg_response), which passes what concerns the device on to it. */
#ifndef PCIE_DEV_H
#define PCIE_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "pcie_ep.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pcie_dev pcie_dev;

typedef struct pcie_dev_param {
    const char *key;
    const char *value;
} pcie_dev_param;

/* Personality names, NULL-terminated ("edu", "testengine"). */
const char *const *pcie_dev_personalities(void);

/* NULL with a one-line reason in err (unknown personality, unknown key, a value out of range, an
 * inconsistent function) when it cannot be created. */
pcie_dev *pcie_dev_create(const char *personality, const pcie_dev_param *params, size_t count,
                          const pcie_ep_host_ops *ops, void *ctx, char *err, size_t err_len);
void pcie_dev_destroy(pcie_dev *dev);

/* The function core: configuration space, MMIO (pcie_ep_mmio_read/write), and the host's answers. */
pcie_ep *pcie_dev_ep(pcie_dev *dev);
const char *pcie_dev_personality(const pcie_dev *dev);

/* Every counter of the device and its function core (ATC hits, misses, page requests, bytes moved, ...),
 * as stable `name value` pairs without a component prefix. */
void pcie_dev_stats(const pcie_dev *dev, void (*cb)(void *arg, const char *name, uint64_t value), void *arg);

#ifdef __cplusplus
}
#endif

#endif
