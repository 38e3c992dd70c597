/* The byte format of a fuzz input, shared by the fuzz target (fuzz_smmu.c) and the seed generator
 * (gen_corpus.c), so that the seeds keep meaning what the target reads.
 *
 * An input is an 8-byte header (parameter variations) followed by operations. Each operation is one opcode
 * byte (taken modulo FZ_OP_COUNT, so every byte value is some operation) and a fixed payload, except
 * FZ_OP_MEM_BYTES whose payload carries its own length. Integers are little-endian; a payload cut short by
 * the end of the input reads as zeros, so every byte string is a valid input. */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stdint.h>

/* Guest memory: one flat arena at physical address 0. Accesses beyond it end in an external abort, so stray
 * pointers exercise the abort paths and pointers below FZ_ARENA_SIZE reach real structures. */
#define FZ_ARENA_SIZE (1u << 20)

/* Header byte 0: parameter variations, applied to smmu_params_default(). */
enum {
    FZ_H_NO_ATS = 1u << 0,  /* clear IDR0.ATS, NS1ATS and PRI (PRI needs ATS) */
    FZ_H_NO_PRI = 1u << 1,  /* clear IDR0.PRI */
    FZ_H_NO_HTTU = 1u << 2, /* IDR0.HTTU = 0 */
    FZ_H_NO_2LVL = 1u << 3, /* IDR0.ST_LEVEL = 0, CD2L = 0 */
    FZ_H_NO_MSI = 1u << 4,  /* clear IDR0.MSI */
    FZ_H_OAS = 1u << 5,     /* IDR5.OAS = header byte 1 bits [2:0] */
    FZ_H_SMALL_Q = 1u << 6, /* IDR1.CMDQS/EVENTQS/PRIQS = header byte 1 bits [7:4] */
    FZ_H_NO_MSGS = 1u << 7, /* send_msg answers "undeliverable" from the start */
};
/* Header byte 2: atc_inv_queue_depth if non-zero. Byte 3: atc_inv_timeout_ps = byte * 1 us if non-zero.
 * Byte 4: bits [2:0] which ID register (IDR0..5, IIDR, AIDR) bytes 5..7 (24 bits) are XORed into; bits [7:3]
 * FZ_H4_*, the optional parts of the host and the caches. */
enum {
    FZ_H4_NO_CAS = 1u << 3,    /* no mem_cas64: HTTU falls back to read and write */
    FZ_H4_NO_CACHES = 1u << 4, /* TLB, walk cache and configuration cache disabled (sets = 0) */
    FZ_H4_NO_TIME = 1u << 5,   /* no now_ps: time stands still */
    FZ_H4_NO_MSG = 1u << 6,    /* no send_msg: every message is undeliverable */
    FZ_H4_FIFO = 1u << 7,      /* FIFO replacement in every cache, 1 way */
};
#define FZ_HEADER_SIZE 8u

enum fz_op {
    FZ_OP_REG_WRITE = 0, /* u8 size (bit 0: 8 bytes, else 4), u32 offset (modulo 128 KiB), u64 value */
    FZ_OP_REG_READ,      /* u8 size, u32 offset */
    FZ_OP_MEM64,         /* u32 addr, u64 value: guest memory write (ignored beyond the arena) */
    FZ_OP_MEM_BYTES,     /* u32 addr, u8 len, len bytes */
    FZ_OP_FILL,          /* u32 addr, u16 len, u8 seed: pseudo-random bytes (garbage structures, cheaply) */
    FZ_OP_TRANSLATE,     /* fz_txn: smmu_translate */
    FZ_OP_ATS_TRANSLATE, /* fz_txn: smmu_ats_translate */
    FZ_OP_PAGE_REQUEST,  /* u32 sid, u32 ssid, u8 flags (FZ_PRI_*), u16 prg_index, u64 addr */
    FZ_OP_ATS_INV_CPL,   /* u32 sid, u32 itag_vector, u8 completion_count */
    FZ_OP_TIME,          /* u32 delta (ns): time passes, then the queue is run as a host woken by it would */
    FZ_OP_ABORTS,        /* u8 which (bit 0 reads, bit 1 writes; 0 clears), u32 lo, u32 hi */
    FZ_OP_MSGS,          /* u8: send_msg delivers (bit 0) */
    FZ_OP_RESET,         /* smmu_reset */
    FZ_OP_CMDQ,          /* u8: bit 0 smmu_cmdq_run, else smmu_cmdq_step */
    FZ_OP_TRACE,         /* u8: tracing on (bit 0) */
    FZ_OP_STATS,         /* smmu_stats */
    FZ_OP_DRIVER,        /* u8 action (FZ_DRV_*): what a driver does between operations */
    FZ_OP_COPY,          /* u32 dst, u32 src, u16 len: guest memory copy (one template, many variants) */
    FZ_OP_FLIP,          /* u32 addr, u16 bit: flips one bit of guest memory */
    FZ_OP_PARAMS,        /* u8 which (FZ_PAR_*), u32 value: smmu_params_validate on a varied default set */
    FZ_OP_STALL_OUTCOME, /* u32 sid, u16 stag: smmu_stall_outcome (a no-op on a core without stalls) */
    FZ_OP_COUNT
};

/* fz_txn payload: u32 sid, u32 ssid, u8 flags (FZ_TXN_*), u64 addr, u16 len. Bit 15 of len is the
 * transaction's stall_capable (a platform master that can hold it), on a core with the stall model. */
#define FZ_TXN_LEN_STALL 0x8000u
enum {
    FZ_TXN_SSV = 1u << 0,
    FZ_TXN_SECURE = 1u << 1,
    FZ_TXN_WRITE = 1u << 2,
    FZ_TXN_PRIV = 1u << 3,
    FZ_TXN_EXEC = 1u << 4,
    FZ_TXN_AT_SHIFT = 5, /* 2 bits: smmu_pcie_at (3 reads as untranslated) */
    FZ_TXN_NO_WRITE = 1u << 7,
};

/* FZ_OP_PARAMS: 0..5 XOR into IDR0..5, 6 IIDR, 7 AIDR; 8..10 the TLB / walk cache / config cache geometry
 * (sets = value[15:0], ways = value[23:16], policy = value[31:24]); 11 atc_inv_queue_depth = value. */
enum {
    FZ_PAR_IIDR = 6,
    FZ_PAR_AIDR = 7,
    FZ_PAR_TLB = 8,
    FZ_PAR_WALK = 9,
    FZ_PAR_CONFIG = 10,
    FZ_PAR_DEPTH = 11
};

/* Driver actions: they read registers the input cannot know in advance, so that an input can keep the queues
 * moving after errors the way Linux does. */
enum {
    FZ_DRV_ACK_GERROR = 0, /* GERRORN = GERROR */
    FZ_DRV_DRAIN_EVTQ,     /* EVENTQ_CONS = PROD, OVACKFLG = OVFLG */
    FZ_DRV_DRAIN_PRIQ,     /* PRIQ_CONS = PROD, OVACKFLG = OVFLG */
    FZ_DRV_SKIP_CMD,       /* the command at CONS becomes a CMD_SYNC, then GERRORN = GERROR */
};

enum {
    FZ_PRI_SSV = 1u << 0,
    FZ_PRI_EXEC = 1u << 1,
    FZ_PRI_PRIV = 1u << 2,
    FZ_PRI_READ = 1u << 3,
    FZ_PRI_WRITE = 1u << 4,
    FZ_PRI_LAST = 1u << 5,
    FZ_PRI_SECURE = 1u << 6,
};

#endif
