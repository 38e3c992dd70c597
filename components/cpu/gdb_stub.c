#define _POSIX_C_SOURCE 200809L
#include "gdb_stub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Packets up to this many bytes of payload; advertised as PacketSize so GDB never sends more. */
#define PACKET_MAX 4096
/* Largest memory transfer in one m/M packet: two hex digits per byte must fit a packet. */
#define MEM_MAX (PACKET_MAX / 2 - 16)
#define POLL_MS 100

struct gdb_stub {
    int listen_fd;
    int fd; /* the debugger's connection, -1 when none */
    uint16_t port;
    bool no_ack;
    bool stop_asked; /* the debugger has asked for the stop reason (`?`) */
    bool interrupt;  /* a Ctrl-C arrived while the target ran */
    char packet[PACKET_MAX + 1];
    size_t packet_len;
};

static const char target_xml[] = "<?xml version=\"1.0\"?>"
                                 "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
                                 "<target version=\"1.0\"><architecture>aarch64</architecture>"
                                 "<feature name=\"org.gnu.gdb.aarch64.core\">"
                                 "<reg name=\"x0\" bitsize=\"64\" regnum=\"0\"/>"
                                 "<reg name=\"x1\" bitsize=\"64\"/><reg name=\"x2\" bitsize=\"64\"/>"
                                 "<reg name=\"x3\" bitsize=\"64\"/><reg name=\"x4\" bitsize=\"64\"/>"
                                 "<reg name=\"x5\" bitsize=\"64\"/><reg name=\"x6\" bitsize=\"64\"/>"
                                 "<reg name=\"x7\" bitsize=\"64\"/><reg name=\"x8\" bitsize=\"64\"/>"
                                 "<reg name=\"x9\" bitsize=\"64\"/><reg name=\"x10\" bitsize=\"64\"/>"
                                 "<reg name=\"x11\" bitsize=\"64\"/><reg name=\"x12\" bitsize=\"64\"/>"
                                 "<reg name=\"x13\" bitsize=\"64\"/><reg name=\"x14\" bitsize=\"64\"/>"
                                 "<reg name=\"x15\" bitsize=\"64\"/><reg name=\"x16\" bitsize=\"64\"/>"
                                 "<reg name=\"x17\" bitsize=\"64\"/><reg name=\"x18\" bitsize=\"64\"/>"
                                 "<reg name=\"x19\" bitsize=\"64\"/><reg name=\"x20\" bitsize=\"64\"/>"
                                 "<reg name=\"x21\" bitsize=\"64\"/><reg name=\"x22\" bitsize=\"64\"/>"
                                 "<reg name=\"x23\" bitsize=\"64\"/><reg name=\"x24\" bitsize=\"64\"/>"
                                 "<reg name=\"x25\" bitsize=\"64\"/><reg name=\"x26\" bitsize=\"64\"/>"
                                 "<reg name=\"x27\" bitsize=\"64\"/><reg name=\"x28\" bitsize=\"64\"/>"
                                 "<reg name=\"x29\" bitsize=\"64\"/><reg name=\"x30\" bitsize=\"64\"/>"
                                 "<reg name=\"sp\" bitsize=\"64\" type=\"data_ptr\"/>"
                                 "<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\"/>"
                                 "<reg name=\"cpsr\" bitsize=\"32\"/>"
                                 "</feature></target>";

static const char hex_digits[] = "0123456789abcdef";

static int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses a hex number up to a character that is not a hex digit; *end points there. false if none. */
static bool parse_hex(const char *s, uint64_t *value, const char **end) {
    uint64_t v = 0;
    const char *p = s;
    int d;
    while ((d = hex_value(*p)) >= 0 && p - s < 16) {
        v = v << 4 | (uint64_t)d;
        p++;
    }
    if (end)
        *end = p;
    *value = v;
    return p != s;
}

static bool send_all(gdb_stub *stub, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = send(stub->fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

static void disconnect(gdb_stub *stub) {
    if (stub->fd >= 0)
        close(stub->fd);
    stub->fd = -1;
    stub->no_ack = false;
    stub->stop_asked = false;
    stub->interrupt = false;
}

/* One byte from the debugger, waiting at most POLL_MS per call of ops->cancelled. -1: connection lost or
 * cancelled. */
static int read_byte(gdb_stub *stub, const gdb_target_ops *ops, void *target) {
    for (;;) {
        struct pollfd pfd = {.fd = stub->fd, .events = POLLIN};
        int r = poll(&pfd, 1, POLL_MS);
        if (r < 0 && errno == EINTR)
            r = 0;
        if (r < 0)
            return -1;
        if (r == 0) {
            if (ops && ops->cancelled && ops->cancelled(target))
                return -1;
            continue;
        }
        unsigned char c;
        ssize_t n = recv(stub->fd, &c, 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        return c;
    }
}

static bool send_packet(gdb_stub *stub, const gdb_target_ops *ops, void *target, const char *payload,
                        size_t len) {
    char *frame = malloc(len + 4);
    if (!frame)
        return false;
    unsigned sum = 0;
    frame[0] = '$';
    for (size_t i = 0; i < len; i++) {
        frame[1 + i] = payload[i];
        sum += (unsigned char)payload[i];
    }
    frame[1 + len] = '#';
    frame[2 + len] = hex_digits[(sum >> 4) & 0xF];
    frame[3 + len] = hex_digits[sum & 0xF];
    bool ok = false;
    for (int attempt = 0; attempt < 8; attempt++) {
        if (!send_all(stub, frame, len + 4))
            break;
        if (stub->no_ack) {
            ok = true;
            break;
        }
        int c;
        do
            c = read_byte(stub, ops, target);
        while (c >= 0 && c != '+' && c != '-');
        if (c == '+') {
            ok = true;
            break;
        }
        if (c < 0)
            break;
    }
    free(frame);
    return ok;
}

static bool reply(gdb_stub *stub, const gdb_target_ops *ops, void *target, const char *text) {
    return send_packet(stub, ops, target, text, strlen(text));
}

/* Reads one packet into stub->packet. 0x03 (interrupt) outside a packet returns 1; a packet 0; lost -1. */
static int read_packet(gdb_stub *stub, const gdb_target_ops *ops, void *target) {
    for (;;) {
        int c;
        do {
            c = read_byte(stub, ops, target);
            if (c == 0x03)
                return 1;
        } while (c >= 0 && c != '$');
        if (c < 0)
            return -1;
        size_t len = 0;
        unsigned sum = 0;
        bool overflow = false;
        while ((c = read_byte(stub, ops, target)) >= 0 && c != '#') {
            sum += (unsigned)c;
            if (len < PACKET_MAX)
                stub->packet[len++] = (char)c;
            else
                overflow = true;
        }
        if (c < 0)
            return -1;
        int h = read_byte(stub, ops, target), l = h >= 0 ? read_byte(stub, ops, target) : -1;
        if (l < 0)
            return -1;
        bool good = !overflow && hex_value((char)h) >= 0 && hex_value((char)l) >= 0 &&
                    (unsigned)(hex_value((char)h) << 4 | hex_value((char)l)) == (sum & 0xFF);
        if (!stub->no_ack && !send_all(stub, good ? "+" : "-", 1))
            return -1;
        if (!good && !stub->no_ack)
            continue;
        stub->packet[len] = '\0';
        stub->packet_len = len;
        return 0;
    }
}

static void put_le(char *out, uint64_t value, unsigned bytes) {
    for (unsigned i = 0; i < bytes; i++) {
        uint8_t b = (uint8_t)(value >> (8 * i));
        out[2 * i] = hex_digits[b >> 4];
        out[2 * i + 1] = hex_digits[b & 0xF];
    }
}

static bool get_le(const char *in, unsigned bytes, uint64_t *value) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        int h = hex_value(in[2 * i]), l = hex_value(in[2 * i + 1]);
        if (h < 0 || l < 0)
            return false;
        v |= (uint64_t)(h << 4 | l) << (8 * i);
    }
    *value = v;
    return true;
}

static unsigned reg_bytes(unsigned n) {
    return n == GDB_REG_CPSR ? 4 : 8;
}

static void stop_reply(gdb_stub *stub, const gdb_target_ops *ops, void *target, int signal) {
    char text[8];
    snprintf(text, sizeof text, "S%02x", signal & 0xFF);
    reply(stub, ops, target, text);
}

static void read_registers(gdb_stub *stub, const gdb_target_ops *ops, void *target) {
    char text[GDB_REG_COUNT * 16 + 1];
    size_t pos = 0;
    for (unsigned n = 0; n < GDB_REG_COUNT; n++) {
        put_le(text + pos, ops->get_reg(target, n), reg_bytes(n));
        pos += 2 * reg_bytes(n);
    }
    send_packet(stub, ops, target, text, pos);
}

static void write_registers(gdb_stub *stub, const gdb_target_ops *ops, void *target, const char *hex) {
    size_t len = strlen(hex), pos = 0;
    bool ok = true;
    for (unsigned n = 0; n < GDB_REG_COUNT && pos + 2 * reg_bytes(n) <= len; n++) {
        uint64_t v;
        if (!get_le(hex + pos, reg_bytes(n), &v) || !ops->set_reg(target, n, v))
            ok = false;
        pos += 2 * reg_bytes(n);
    }
    reply(stub, ops, target, ok ? "OK" : "E01");
}

static void read_memory(gdb_stub *stub, const gdb_target_ops *ops, void *target, const char *args) {
    uint64_t addr, len;
    const char *p;
    if (!parse_hex(args, &addr, &p) || *p != ',' || !parse_hex(p + 1, &len, NULL)) {
        reply(stub, ops, target, "E01");
        return;
    }
    if (len > MEM_MAX)
        len = MEM_MAX;
    uint8_t data[MEM_MAX];
    /* A range that is only partly readable gives what can be read, as GDB expects; none at all an error. */
    size_t got = 0;
    while (got < len) {
        size_t chunk = 4096 - (size_t)((addr + got) & 4095);
        if (chunk > len - got)
            chunk = (size_t)(len - got);
        if (!ops->read_mem(target, addr + got, data + got, chunk))
            break;
        got += chunk;
    }
    if (got == 0 && len > 0) {
        reply(stub, ops, target, "E14");
        return;
    }
    char text[2 * MEM_MAX];
    for (size_t i = 0; i < got; i++) {
        text[2 * i] = hex_digits[data[i] >> 4];
        text[2 * i + 1] = hex_digits[data[i] & 0xF];
    }
    send_packet(stub, ops, target, text, 2 * got);
}

static void write_memory(gdb_stub *stub, const gdb_target_ops *ops, void *target, const char *args) {
    uint64_t addr, len;
    const char *p;
    if (!parse_hex(args, &addr, &p) || *p != ',' || !parse_hex(p + 1, &len, &p) || *p != ':' ||
        len > MEM_MAX || strlen(p + 1) < 2 * len) {
        reply(stub, ops, target, "E01");
        return;
    }
    uint8_t data[MEM_MAX];
    for (uint64_t i = 0; i < len; i++) {
        uint64_t b;
        if (!get_le(p + 1 + 2 * i, 1, &b)) {
            reply(stub, ops, target, "E01");
            return;
        }
        data[i] = (uint8_t)b;
    }
    reply(stub, ops, target, ops->write_mem(target, addr, data, (size_t)len) ? "OK" : "E14");
}

static void breakpoint(gdb_stub *stub, const gdb_target_ops *ops, void *target, const char *args, bool add) {
    uint64_t type, addr;
    const char *p;
    if (!parse_hex(args, &type, &p) || *p != ',' || !parse_hex(p + 1, &addr, NULL)) {
        reply(stub, ops, target, "E01");
        return;
    }
    if (type > 1) {
        reply(stub, ops, target, ""); /* watchpoints: not supported, GDB falls back or says so */
        return;
    }
    /* Hardware breakpoints (type 1) behave as software ones: the ISS needs no patched code for either. */
    bool ok = add ? ops->add_breakpoint(target, addr) : ops->remove_breakpoint(target, addr);
    reply(stub, ops, target, ok ? "OK" : "E0e");
}

static void xfer_features(gdb_stub *stub, const gdb_target_ops *ops, void *target, const char *args) {
    /* args: "target.xml:OFFSET,LENGTH" */
    const char *colon = strchr(args, ':');
    uint64_t off, len;
    const char *p;
    if (!colon || strncmp(args, "target.xml", (size_t)(colon - args)) != 0 ||
        !parse_hex(colon + 1, &off, &p) || *p != ',' || !parse_hex(p + 1, &len, NULL)) {
        reply(stub, ops, target, "E00");
        return;
    }
    const size_t total = sizeof target_xml - 1;
    if (off >= total) {
        reply(stub, ops, target, "l");
        return;
    }
    if (len > PACKET_MAX - 1)
        len = PACKET_MAX - 1;
    size_t n = total - (size_t)off < len ? total - (size_t)off : (size_t)len;
    char text[PACKET_MAX];
    text[0] = off + n < total ? 'm' : 'l';
    memcpy(text + 1, target_xml + off, n);
    send_packet(stub, ops, target, text, n + 1);
}

gdb_stub *gdb_stub_listen(uint16_t port, char *err, size_t err_len) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        snprintf(err, err_len, "gdb: cannot create a socket: %s", strerror(errno));
        return NULL;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 1) < 0) {
        snprintf(err, err_len, "gdb: cannot listen on localhost:%u: %s", port, strerror(errno));
        close(fd);
        return NULL;
    }
    socklen_t alen = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &alen);
    gdb_stub *stub = calloc(1, sizeof *stub);
    if (!stub) {
        close(fd);
        snprintf(err, err_len, "gdb: out of memory");
        return NULL;
    }
    stub->listen_fd = fd;
    stub->fd = -1;
    stub->port = ntohs(addr.sin_port);
    return stub;
}

uint16_t gdb_stub_port(const gdb_stub *stub) {
    return stub->port;
}

bool gdb_stub_accept(gdb_stub *stub, const gdb_target_ops *ops, void *target) {
    if (stub->fd >= 0)
        return true;
    for (;;) {
        struct pollfd pfd = {.fd = stub->listen_fd, .events = POLLIN};
        int r = poll(&pfd, 1, POLL_MS);
        if (r < 0 && errno != EINTR)
            return false;
        if (r > 0)
            break;
        if (ops && ops->cancelled && ops->cancelled(target))
            return false;
    }
    return gdb_stub_poll_accept(stub);
}

bool gdb_stub_poll_accept(gdb_stub *stub) {
    if (stub->fd >= 0)
        return true;
    struct pollfd pfd = {.fd = stub->listen_fd, .events = POLLIN};
    if (poll(&pfd, 1, 0) <= 0)
        return false;
    int fd = accept(stub->listen_fd, NULL, NULL);
    if (fd < 0)
        return false;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    stub->fd = fd;
    stub->no_ack = false;
    stub->stop_asked = false;
    stub->interrupt = false;
    return true;
}

bool gdb_stub_attached(const gdb_stub *stub) {
    return stub && stub->fd >= 0;
}

void gdb_stub_close(gdb_stub *stub) {
    if (!stub)
        return;
    disconnect(stub);
    close(stub->listen_fd);
    free(stub);
}

gdb_resume gdb_stub_stopped(gdb_stub *stub, const gdb_target_ops *ops, void *target, int signal) {
    if (stub->fd < 0)
        return GDB_RESUME_DETACH;
    stub->interrupt = false;
    if (stub->stop_asked)
        stop_reply(stub, ops, target, signal);
    for (;;) {
        int r = read_packet(stub, ops, target);
        if (r < 0) {
            disconnect(stub);
            return ops->cancelled && ops->cancelled(target) ? GDB_RESUME_KILL : GDB_RESUME_DETACH;
        }
        if (r == 1)
            continue; /* already stopped */
        const char *pkt = stub->packet;
        const char *args = pkt + 1;
        switch (pkt[0]) {
        case '?':
            stub->stop_asked = true;
            stop_reply(stub, ops, target, signal);
            break;
        case 'g':
            read_registers(stub, ops, target);
            break;
        case 'G':
            write_registers(stub, ops, target, args);
            break;
        case 'p': {
            uint64_t n;
            if (!parse_hex(args, &n, NULL) || n >= GDB_REG_COUNT) {
                reply(stub, ops, target, "E00");
                break;
            }
            char text[17];
            put_le(text, ops->get_reg(target, (unsigned)n), reg_bytes((unsigned)n));
            send_packet(stub, ops, target, text, 2 * reg_bytes((unsigned)n));
            break;
        }
        case 'P': {
            uint64_t n, v;
            const char *p;
            if (!parse_hex(args, &n, &p) || *p != '=' || n >= GDB_REG_COUNT ||
                strlen(p + 1) < 2 * reg_bytes((unsigned)n) || !get_le(p + 1, reg_bytes((unsigned)n), &v)) {
                reply(stub, ops, target, "E00");
                break;
            }
            reply(stub, ops, target, ops->set_reg(target, (unsigned)n, v) ? "OK" : "E01");
            break;
        }
        case 'm':
            read_memory(stub, ops, target, args);
            break;
        case 'M':
            write_memory(stub, ops, target, args);
            break;
        case 'Z':
        case 'z':
            breakpoint(stub, ops, target, args, pkt[0] == 'Z');
            break;
        case 'c':
        case 's': {
            uint64_t addr;
            if (parse_hex(args, &addr, NULL))
                ops->set_reg(target, GDB_REG_PC, addr);
            return pkt[0] == 'c' ? GDB_RESUME_CONTINUE : GDB_RESUME_STEP;
        }
        case 'D':
            reply(stub, ops, target, "OK");
            disconnect(stub);
            return GDB_RESUME_DETACH;
        case 'k':
            disconnect(stub);
            return GDB_RESUME_KILL;
        case 'H':
            reply(stub, ops, target, "OK");
            break;
        case 'T':
            reply(stub, ops, target, "OK"); /* the one thread is alive */
            break;
        case 'q':
            if (strncmp(pkt, "qSupported", 10) == 0) {
                char text[96];
                snprintf(text, sizeof text, "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+",
                         PACKET_MAX);
                reply(stub, ops, target, text);
            } else if (strncmp(pkt, "qXfer:features:read:", 20) == 0) {
                xfer_features(stub, ops, target, pkt + 20);
            } else if (strcmp(pkt, "qAttached") == 0) {
                reply(stub, ops, target, "1");
            } else if (strcmp(pkt, "qC") == 0) {
                reply(stub, ops, target, "QC1");
            } else if (strcmp(pkt, "qfThreadInfo") == 0) {
                reply(stub, ops, target, "m1");
            } else if (strcmp(pkt, "qsThreadInfo") == 0) {
                reply(stub, ops, target, "l");
            } else if (strncmp(pkt, "qSymbol", 7) == 0) {
                reply(stub, ops, target, "OK");
            } else {
                reply(stub, ops, target, "");
            }
            break;
        case 'Q':
            if (strcmp(pkt, "QStartNoAckMode") == 0) {
                reply(stub, ops, target, "OK");
                stub->no_ack = true;
            } else {
                reply(stub, ops, target, "");
            }
            break;
        default:
            /* Unknown packets (vCont?, vMustReplyEmpty, X, ...) get the empty reply: GDB then uses the
             * basic ones. */
            reply(stub, ops, target, "");
            break;
        }
    }
}

bool gdb_stub_interrupt_requested(gdb_stub *stub) {
    if (!stub || stub->fd < 0)
        return false;
    if (stub->interrupt)
        return true;
    unsigned char c;
    for (;;) {
        ssize_t n = recv(stub->fd, &c, 1, MSG_DONTWAIT);
        if (n == 1) {
            if (c == 0x03) {
                stub->interrupt = true;
                return true;
            }
            continue; /* stray acknowledgements */
        }
        if (n == 0) {
            disconnect(stub); /* the debugger went away: run on */
            return false;
        }
        return false;
    }
}

void gdb_stub_exited(gdb_stub *stub, int status) {
    if (!stub || stub->fd < 0)
        return;
    char text[8];
    snprintf(text, sizeof text, "W%02x", status & 0xFF);
    reply(stub, NULL, NULL, text);
    disconnect(stub);
}
