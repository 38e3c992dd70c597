/* The personality registry: names, `key=value` parameters, and the common stats view; see pcie_dev.h. */
#include "pcie_dev.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edu.h"
#include "testengine.h"

typedef enum key_type { KEY_BOOL, KEY_U8, KEY_U16, KEY_U32, KEY_U64 } key_type;

typedef struct key_desc {
    const char *name;
    key_type type;
    size_t offset;
    uint64_t min, max;
} key_desc;

typedef struct personality {
    const char *name;
    const key_desc *keys;
    size_t nkeys;
    size_t params_size;
    void (*defaults)(void *params);
    void *(*create)(const void *params, const pcie_ep_host_ops *ops, void *ctx, char *err, size_t err_len);
    void (*destroy)(void *impl);
    pcie_ep *(*ep)(void *impl);
    void (*stats)(const void *impl, void (*cb)(void *arg, const char *name, uint64_t value), void *arg);
} personality;

struct pcie_dev {
    const personality *pers;
    void *impl;
    pcie_ep *ep;
};

/* ---- testengine ---- */

#define TE_KEY(field, type, lo, hi)                                                                          \
    { #field, type, offsetof(testengine_params, field), lo, hi }
static const key_desc testengine_keys[] = {
    TE_KEY(frames, KEY_U32, 1, TESTENGINE_MAX_PAIRS),
    TE_KEY(inflight, KEY_U32, 1, PCIE_EP_MAX_INFLIGHT),
    TE_KEY(issue_ps, KEY_U64, 0, UINT64_MAX),
    TE_KEY(stop_marker, KEY_BOOL, 0, 1),
    TE_KEY(ats, KEY_BOOL, 0, 1),
    TE_KEY(pri, KEY_BOOL, 0, 1),
    TE_KEY(pasid, KEY_BOOL, 0, 1),
    TE_KEY(pasid_width, KEY_U8, 0, 20),
    TE_KEY(atc_sets, KEY_U32, 1, UINT32_MAX),
    TE_KEY(atc_ways, KEY_U32, 1, UINT32_MAX),
    TE_KEY(inv_queue_depth, KEY_U8, 1, 32),
    TE_KEY(pri_capacity, KEY_U32, 0, UINT32_MAX),
    TE_KEY(msix_vectors, KEY_U16, 1, 2048),
    TE_KEY(prg_pages, KEY_U32, 1, PCIE_EP_PRG_INDEXES),
    TE_KEY(chunk, KEY_U32, 8, 4096),
    TE_KEY(max_attempts, KEY_U32, 1, UINT32_MAX),
};

static void te_defaults(void *p) {
    testengine_default_params(p);
}
static void *te_create(const void *p, const pcie_ep_host_ops *ops, void *ctx, char *err, size_t len) {
    return testengine_create(p, ops, ctx, err, len);
}
static void te_destroy(void *impl) {
    testengine_destroy(impl);
}
static pcie_ep *te_ep(void *impl) {
    return testengine_ep(impl);
}
static void te_stats(const void *impl, void (*cb)(void *, const char *, uint64_t), void *arg) {
    testengine_stats(impl, cb, arg);
}

/* ---- edu ---- */

#define EDU_KEY(field, type, lo, hi)                                                                         \
    { #field, type, offsetof(edu_params, field), lo, hi }
static const key_desc edu_keys[] = {
    EDU_KEY(dma_mask, KEY_U8, 1, 64),
    EDU_KEY(fact_ps, KEY_U64, 0, UINT64_MAX),
    EDU_KEY(dma_bytes_per_ns, KEY_U32, 1, UINT32_MAX),
};

static void edu_defaults_any(void *p) {
    edu_default_params(p);
}
static void *edu_create_any(const void *p, const pcie_ep_host_ops *ops, void *ctx, char *err, size_t len) {
    return edu_create(p, ops, ctx, err, len);
}
static void edu_destroy_any(void *impl) {
    edu_destroy(impl);
}
static pcie_ep *edu_ep_any(void *impl) {
    return edu_ep(impl);
}
static void edu_stats_any(const void *impl, void (*cb)(void *, const char *, uint64_t), void *arg) {
    edu_stats(impl, cb, arg);
}

/* ---- registry ---- */

static const personality personalities[] = {
    {"edu", edu_keys, sizeof edu_keys / sizeof edu_keys[0], sizeof(edu_params), edu_defaults_any,
     edu_create_any, edu_destroy_any, edu_ep_any, edu_stats_any},
    {"testengine", testengine_keys, sizeof testengine_keys / sizeof testengine_keys[0],
     sizeof(testengine_params), te_defaults, te_create, te_destroy, te_ep, te_stats},
};
#define NPERS (sizeof personalities / sizeof personalities[0])

static const char *const names[NPERS + 1] = {"edu", "testengine", NULL};

const char *const *pcie_dev_personalities(void) {
    return names;
}

static void fail(char *err, size_t len, const char *fmt, ...) {
    if (!err || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

/* "a, b, c" into buf. */
static void join_names(char *buf, size_t len, const char *const *list, size_t n, size_t stride) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        const char *name = *(const char *const *)((const char *)list + i * stride);
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* Decimal or 0x-hex without sign or trailing text; booleans also as true/false. */
static bool parse_value(const char *s, key_type type, uint64_t *out) {
    if (type == KEY_BOOL) {
        if (!strcmp(s, "true")) {
            *out = 1;
            return true;
        }
        if (!strcmp(s, "false")) {
            *out = 0;
            return true;
        }
    }
    if (!s[0] || s[0] == '-' || s[0] == '+' || s[0] == ' ')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static void store(void *params, const key_desc *k, uint64_t v) {
    char *p = (char *)params + k->offset;
    switch (k->type) {
    case KEY_BOOL: {
        bool b = v != 0;
        memcpy(p, &b, sizeof b);
        break;
    }
    case KEY_U8: {
        uint8_t x = (uint8_t)v;
        memcpy(p, &x, sizeof x);
        break;
    }
    case KEY_U16: {
        uint16_t x = (uint16_t)v;
        memcpy(p, &x, sizeof x);
        break;
    }
    case KEY_U32: {
        uint32_t x = (uint32_t)v;
        memcpy(p, &x, sizeof x);
        break;
    }
    case KEY_U64:
        memcpy(p, &v, sizeof v);
        break;
    }
}

pcie_dev *pcie_dev_create(const char *name, const pcie_dev_param *params, size_t count,
                          const pcie_ep_host_ops *ops, void *ctx, char *err, size_t err_len) {
    if (err && err_len)
        err[0] = '\0';
    const personality *pers = NULL;
    for (size_t i = 0; name && i < NPERS; i++)
        if (!strcmp(personalities[i].name, name))
            pers = &personalities[i];
    if (!pers) {
        char known[128];
        join_names(known, sizeof known, names, NPERS, sizeof names[0]);
        fail(err, err_len, "unknown PCIe device personality '%s' (known: %s)", name ? name : "(null)", known);
        return NULL;
    }
    if (!ops || !ops->mem_request || (!ops->send_msg && pers->keys == testengine_keys)) {
        fail(err, err_len, "%s: the host interface lacks mem_request%s", pers->name,
             pers->keys == testengine_keys ? " or send_msg" : "");
        return NULL;
    }
    union {
        testengine_params te;
        edu_params edu;
    } values;
    pers->defaults(&values);
    for (size_t i = 0; i < count; i++) {
        const char *key = params[i].key, *val = params[i].value;
        const key_desc *k = NULL;
        for (size_t j = 0; key && j < pers->nkeys; j++)
            if (!strcmp(pers->keys[j].name, key))
                k = &pers->keys[j];
        if (!k) {
            char valid[512];
            join_names(valid, sizeof valid, &pers->keys[0].name, pers->nkeys, sizeof pers->keys[0]);
            fail(err, err_len, "%s: unknown key '%s' (valid: %s)", pers->name, key ? key : "(null)", valid);
            return NULL;
        }
        for (size_t j = 0; j < i; j++)
            if (params[j].key && !strcmp(params[j].key, key)) {
                fail(err, err_len, "%s: key '%s' given twice", pers->name, key);
                return NULL;
            }
        uint64_t v = 0;
        if (!val || !parse_value(val, k->type, &v)) {
            fail(err, err_len, "%s: %s=%s is not %s", pers->name, key, val ? val : "(null)",
                 k->type == KEY_BOOL ? "0, 1, true or false" : "a non-negative integer (decimal or 0x hex)");
            return NULL;
        }
        if (v < k->min || v > k->max) {
            fail(err, err_len, "%s: %s=%s is out of range [%llu, %llu]", pers->name, key, val,
                 (unsigned long long)k->min, (unsigned long long)k->max);
            return NULL;
        }
        store(&values, k, v);
    }
    pcie_dev *dev = calloc(1, sizeof *dev);
    if (!dev) {
        fail(err, err_len, "%s: out of memory", pers->name);
        return NULL;
    }
    dev->pers = pers;
    dev->impl = pers->create(&values, ops, ctx, err, err_len);
    if (!dev->impl) {
        free(dev);
        return NULL;
    }
    dev->ep = pers->ep(dev->impl);
    return dev;
}

void pcie_dev_destroy(pcie_dev *dev) {
    if (!dev)
        return;
    dev->pers->destroy(dev->impl);
    free(dev);
}

pcie_ep *pcie_dev_ep(pcie_dev *dev) {
    return dev->ep;
}

const char *pcie_dev_personality(const pcie_dev *dev) {
    return dev->pers->name;
}

void pcie_dev_stats(const pcie_dev *dev, void (*cb)(void *arg, const char *name, uint64_t value), void *arg) {
    dev->pers->stats(dev->impl, cb, arg);
    pcie_ep_stats_each(dev->ep, cb, arg);
}
