/* A GDB remote serial protocol server for one AArch64 CPU, so `gdb-multiarch` debugs the firmware as it does
 * on QEMU's `-s -S`: registers, memory, software breakpoints, single step, continue, interrupt (Ctrl-C).
 *
 * The server knows nothing of the simulator: it talks to the target through gdb_target_ops and tells the
 * caller what the debugger wants next. It listens on the loopback interface only. Plain C11 with POSIX
 * sockets; not thread-safe. */
#ifndef VP_GDB_STUB_H
#define VP_GDB_STUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* GDB's AArch64 core register numbers: x0..x30, then sp, pc (64-bit) and cpsr (32-bit). */
enum { GDB_REG_SP = 31, GDB_REG_PC = 32, GDB_REG_CPSR = 33, GDB_REG_COUNT = 34 };

typedef struct gdb_target_ops {
    uint64_t (*get_reg)(void *target, unsigned n);
    bool (*set_reg)(void *target, unsigned n, uint64_t value);
    /* Virtual addresses of the CPU's current regime. */
    bool (*read_mem)(void *target, uint64_t addr, void *dst, size_t len);
    bool (*write_mem)(void *target, uint64_t addr, const void *src, size_t len);
    bool (*add_breakpoint)(void *target, uint64_t addr);
    bool (*remove_breakpoint)(void *target, uint64_t addr);
    /* Polled while the server waits for the debugger: true gives up (the user interrupted the simulator). May
     * be NULL. */
    bool (*cancelled)(void *target);
} gdb_target_ops;

typedef struct gdb_stub gdb_stub;

/* Listens on 127.0.0.1:port (0: a free port, see gdb_stub_port). NULL with a reason in err on failure. */
gdb_stub *gdb_stub_listen(uint16_t port, char *err, size_t err_len);
uint16_t gdb_stub_port(const gdb_stub *stub);
/* Waits for the debugger to connect. false if cancelled or the socket failed. */
bool gdb_stub_accept(gdb_stub *stub, const gdb_target_ops *ops, void *target);
/* Accepts a debugger that is trying to connect, without waiting: true when one is (now) attached. */
bool gdb_stub_poll_accept(gdb_stub *stub);
void gdb_stub_close(gdb_stub *stub);

typedef enum gdb_resume {
    GDB_RESUME_CONTINUE = 0,
    GDB_RESUME_STEP,   /* one instruction, then gdb_stub_stopped again */
    GDB_RESUME_DETACH, /* the debugger left: run on without it */
    GDB_RESUME_KILL,   /* the debugger asked to end the simulation (or it was cancelled) */
} gdb_resume;

/* The target stopped with `signal` (5 SIGTRAP for a breakpoint or a step, 2 SIGINT for an interrupt). Reports
 * it (unless the debugger has not asked yet: the first stop is reported when it sends `?`) and serves
 * requests until the debugger resumes the target. A lost connection counts as a detach. */
gdb_resume gdb_stub_stopped(gdb_stub *stub, const gdb_target_ops *ops, void *target, int signal);
/* While the target runs: true once the debugger sent an interrupt (Ctrl-C). Never blocks. */
bool gdb_stub_interrupt_requested(gdb_stub *stub);
/* The program ended with `status`: tells the debugger (W packet) if one is attached. */
void gdb_stub_exited(gdb_stub *stub, int status);
bool gdb_stub_attached(const gdb_stub *stub);

#ifdef __cplusplus
}
#endif

#endif
