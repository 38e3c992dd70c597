/* SMMUv3 core: lifetime, trace and statistics. The register file is in smmu_regfile.c, the transaction path
 * in smmu_txn.c, memory attributes in smmu_attrs.c, configuration decode and its cache in smmu_config.c,
 * commands in smmu_cmd.c and smmu_cmdq.c, events and interrupts in smmu_evtq.c, the PRI queue in smmu_priq.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smmu_internal.h"

/* ---- Trace ---- */

void smmu_tracef(smmu *s, const char *kind, const char *fmt, ...) {
    char fields[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fields, sizeof(fields), fmt, ap);
    va_end(ap);
    s->host.trace(s->host_ctx, s->call, kind, fields);
}

void smmu_set_trace(smmu *s, bool on) {
    s->trace_on = on;
    smmu_engine_set_trace(s->eng, on && s->host.trace);
}

void smmu_get_activity(const smmu *s, smmu_activity *a) {
    smmu_engine_activity e;
    smmu_engine_get_activity(s->eng, &e);
    a->walk_stage = e.walk_stage;
    a->walk_level = e.walk_level;
    a->tlb_hits = e.tlb_hits;
    a->tlb_misses = e.tlb_misses;
    a->walk_cache_hits = e.walk_cache_hits;
    a->walk_cache_misses = e.walk_cache_misses;
    a->config_cache_hits = s->cc.stats.hits;
    a->config_cache_misses = s->cc.stats.misses;
}

const char *smmu_ssid_str(char *buf, bool ssv, uint32_t ssid) {
    if (!ssv)
        return "-";
    snprintf(buf, 16, "0x%x", ssid);
    return buf;
}

/* ---- Lifetime ---- */

smmu *smmu_create(const smmu_params *p, const smmu_host_ops *host, void *host_ctx) {
    if (!p || !host || !smmu_params_validate(p, NULL, 0))
        return NULL;
    smmu *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->p = *p;
    s->host = *host;
    s->host_ctx = host_ctx;
    s->oas_bits = (uint8_t)smmu_pa_size_bits((unsigned)SMMU_FIELD_GET(SMMU_IDR5_OAS, p->idr[5]));
    /* The engine's architectural limits come from the ID registers, not from its own parameters. */
    smmu_engine_params ep = p->engine;
    unsigned httu = (unsigned)SMMU_FIELD_GET(SMMU_IDR0_HTTU, p->idr[0]);
    ep.oas_bits = s->oas_bits;
    ep.hw_af = httu >= 1;
    ep.hw_dirty = httu >= 2;
    ep.xnx = (p->idr[3] & SMMU_IDR3_XNX) != 0;
    s->p.engine = ep;
    s->eng = smmu_engine_create(&ep, host, host_ctx);
    if (!s->eng) {
        free(s);
        return NULL;
    }
    s->cmdq.max_log2 = (uint8_t)SMMU_FIELD_GET(SMMU_IDR1_CMDQS, p->idr[1]);
    s->evtq.max_log2 = (uint8_t)SMMU_FIELD_GET(SMMU_IDR1_EVENTQS, p->idr[1]);
    s->priq.max_log2 = (uint8_t)SMMU_FIELD_GET(SMMU_IDR1_PRIQS, p->idr[1]);
    if (!smmu_cc_init(s)) {
        smmu_engine_destroy(s->eng);
        free(s);
        return NULL;
    }
    if (!smmu_stall_init(s)) {
        smmu_cc_free(s);
        smmu_engine_destroy(s->eng);
        free(s);
        return NULL;
    }
    smmu_reset(s);
    return s;
}

void smmu_destroy(smmu *s) {
    if (!s)
        return;
    smmu_engine_destroy(s->eng);
    smmu_cc_free(s);
    smmu_stall_free(s);
    free(s);
}

void smmu_reset(smmu *s) {
    smmu_regs_reset(s);
    s->in_cmdq = false;
    s->cmd_retry = false;
    smmu_atc_inv_reset(s);
    smmu_stall_reset(s);
    s->pending_ps = 0;
    smmu_cc_clear(s);
    smmu_engine_inv_all(s->eng);
}

/* ---- Statistics ---- */

typedef struct prefixed_cb {
    void (*cb)(void *arg, const char *name, uint64_t value);
    void *arg;
} prefixed_cb;

static void engine_stat(void *arg, const char *name, uint64_t value) {
    prefixed_cb *p = arg;
    char full[128];
    snprintf(full, sizeof(full), "engine.%s", name);
    p->cb(p->arg, full, value);
}

void smmu_stats(const smmu *s, void (*cb)(void *arg, const char *name, uint64_t value), void *arg) {
    char name[96];
    const smmu_counters *c = &s->st;
    cb(arg, "regs.reads", c->reg_reads);
    cb(arg, "regs.writes", c->reg_writes);
    uint64_t unknown = 0;
    for (unsigned op = 0; op < SMMU_STATS_OPCODES; op++) {
        const char *n = smmu_opcode_name(op);
        if (!n) {
            unknown += c->cmds[op];
            continue;
        }
        snprintf(name, sizeof(name), "cmd.%s", n);
        cb(arg, name, c->cmds[op]);
    }
    cb(arg, "cmd.UNKNOWN", unknown);
    cb(arg, "cmd.errors.ill", c->cmd_errors_ill);
    cb(arg, "cmd.errors.abt", c->cmd_errors_abt);
    cb(arg, "cmd.errors.atc_inv_sync", c->cmd_errors_atc_inv_sync);
    cb(arg, "atc_inv.sent", c->atc_inv_sent);
    cb(arg, "atc_inv.undeliverable", c->atc_inv_undeliverable);
    cb(arg, "atc_inv.completions", c->atc_inv_completions);
    cb(arg, "atc_inv.stray_completions", c->atc_inv_stray_completions);
    cb(arg, "atc_inv.timeouts", c->atc_inv_timeouts);
    cb(arg, "atc_inv.itag_waits", c->atc_inv_itag_waits);
    cb(arg, "cmd.sync.sev", c->sync_sev);
    cb(arg, "cmd.sync.msi", c->sync_msi);
    cb(arg, "cmd.sync.irq", c->sync_irq);
    for (unsigned id = 0; id < SMMU_STATS_EVENTS; id++) {
        const char *n = smmu_event_name(id);
        if (!n)
            continue;
        snprintf(name, sizeof(name), "event.%s", n);
        cb(arg, name, c->events_raised[id]);
    }
    cb(arg, "evtq.recorded", c->events_recorded);
    cb(arg, "evtq.dropped", c->events_dropped);
    cb(arg, "evtq.overflows", c->evtq_overflows);
    const vp_setassoc_stats *cc = &s->cc.stats;
    cb(arg, "config_cache.hits", cc->hits);
    cb(arg, "config_cache.misses", cc->misses);
    cb(arg, "config_cache.fetches", c->cc_fetches);
    cb(arg, "config_cache.evictions", cc->evictions);
    cb(arg, "config_cache.invalidated", cc->invalidated);
    cb(arg, "config_cache.lookups", cc->lookups);
    cb(arg, "config_cache.inserts", cc->inserts);
    cb(arg, "translations.total", c->translations);
    cb(arg, "translations.ok", c->translations_ok);
    cb(arg, "translations.bypassed", c->bypassed);
    cb(arg, "translations.aborted", c->aborts);
    cb(arg, "translations.raz_wi", c->raz_wi);
    cb(arg, "irq.pulses", c->irq_pulses);
    cb(arg, "msi.writes", c->msi_writes);
    cb(arg, "msi.aborts", c->msi_aborts);
    cb(arg, "gerror.activations", c->gerrors);
    smmu_priq_stats(s, cb, arg);
    smmu_stall_stats(s, cb, arg);
    prefixed_cb p = {cb, arg};
    smmu_engine_stats(s->eng, engine_stat, &p);
}
