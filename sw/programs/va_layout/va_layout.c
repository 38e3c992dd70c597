/* Runs with the MMU on and a process-like 48-bit address layout (4 KiB granule): the image, its stack, RAM
 * and the devices are identity-mapped, and extra mappings put RAM, the UART and code at VAs that are not
 * their PAs, in TTBR0 (0x0000_ffff_8600_0000...) and in TTBR1 (0xffff_0000_1234_5000). Every access through a
 * VA is checked through the identity mapping too. The same VA then moves to another RAM page (TTBR0 switch
 * and TLB invalidation) and back. No platform configuration (no cpu.alias) is needed for any of it. */
#include <stdint.h>
#include <stdio.h>

#include <fw/mmio.h>
#include <fw/platform.h>
#include <fw/sysreg.h>

#define PAGE_SIZE 4096U
#define ENTRIES 512U

/* MAIR_EL1: index 0 Normal write-back, index 1 Device-nGnRnE. */
#define MAIR_VALUE 0x00ffULL
#define PTE_VALID (1ULL << 0)
#define PTE_TABLE (1ULL << 1) /* table (levels 0-2) or page (level 3) */
#define PTE_ATTR_NORMAL (0ULL << 2)
#define PTE_ATTR_DEVICE (1ULL << 2)
#define PTE_INNER_SHAREABLE (3ULL << 8)
#define PTE_AF (1ULL << 10)
#define PTE_PXN (1ULL << 53)
#define PTE_UXN (1ULL << 54)
#define PTE_NORMAL (PTE_AF | PTE_INNER_SHAREABLE | PTE_ATTR_NORMAL)
#define PTE_DEVICE (PTE_AF | PTE_ATTR_DEVICE | PTE_PXN | PTE_UXN)
#define PTE_ADDRESS_MASK 0x0000fffffffff000ULL

/* TCR_EL1: 48-bit VAs in both halves (T0SZ = T1SZ = 16), 4 KiB granules, write-back inner-shareable walks,
 * 40-bit PAs. */
#define TCR_VALUE                                                                                            \
    (16ULL | (1ULL << 8) | (1ULL << 10) | (3ULL << 12) | (0ULL << 14) | (16ULL << 16) | (1ULL << 24) |       \
     (1ULL << 26) | (3ULL << 28) | (2ULL << 30) | (2ULL << 32))
#define SCTLR_M (1ULL << 0)
#define SCTLR_C (1ULL << 2)
#define SCTLR_I (1ULL << 12)

#define DATA_VA 0x0000ffff86000000ULL
#define UART_VA (DATA_VA + PAGE_SIZE)
#define CODE_VA 0x0000ffff87000000ULL
#define KERNEL_VA 0xffff000012345000ULL

#define UART_DR 0x000U
#define UART_FR 0x018U
#define UART_PERIPH_ID0 0xfe0U
#define FR_TXFF (1U << 5)

typedef uint64_t table_t[ENTRIES];

/* Two TTBR0 layouts of six tables each, four for TTBR1, and room to spare. */
static table_t tables[20] __attribute__((aligned(PAGE_SIZE)));
static unsigned int tables_used;
/* RAM pages seen at the VAs: two data pages for the two layouts, one for code, one behind the TTBR1 VA. */
static uint64_t first_page[ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint64_t second_page[ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint32_t code_page[PAGE_SIZE / 4] __attribute__((aligned(PAGE_SIZE)));
static uint64_t kernel_page[ENTRIES] __attribute__((aligned(PAGE_SIZE)));

static int failures;

static uint64_t *new_table(void) {
    if (tables_used == sizeof(tables) / sizeof(tables[0])) {
        printf("va_layout: out of page tables\n");
        return NULL;
    }
    return tables[tables_used++]; /* .bss: already zero */
}

static uint64_t pa_of(const void *pointer) {
    return (uint64_t)(uintptr_t)pointer; /* the image runs identity-mapped */
}

/* A block (level 1, 1 GiB) or page (level 3) descriptor for va, creating the tables on the way. */
static void map(uint64_t *root, uint64_t va, uint64_t pa, unsigned int level, uint64_t attributes) {
    uint64_t *table = root;
    for (unsigned int l = 0; l < level; l++) {
        uint64_t *entry = &table[(va >> (39 - 9 * l)) & (ENTRIES - 1)];
        if (!(*entry & PTE_VALID)) {
            uint64_t *next = new_table();
            if (!next)
                return;
            *entry = pa_of(next) | PTE_TABLE | PTE_VALID;
        }
        table = (uint64_t *)(uintptr_t)(*entry & PTE_ADDRESS_MASK);
    }
    table[(va >> (39 - 9 * level)) & (ENTRIES - 1)] =
        pa | attributes | (level == 3 ? PTE_TABLE : 0) | PTE_VALID;
}

/* A TTBR0 layout: devices and RAM identity-mapped, DATA_VA on data_page, UART_VA on the UART, CODE_VA on the
 * code page. */
static uint64_t *make_layout(const uint64_t *data_page) {
    uint64_t *root = new_table();
    if (!root)
        return NULL;
    map(root, 0, 0, 1, PTE_DEVICE);
    map(root, FW_RAM_BASE, FW_RAM_BASE, 1, PTE_NORMAL);
    map(root, DATA_VA, pa_of(data_page), 3, PTE_NORMAL);
    map(root, UART_VA, FW_PL011_BASE, 3, PTE_DEVICE);
    map(root, CODE_VA, pa_of(code_page), 3, PTE_NORMAL);
    return root;
}

static void invalidate_tlb(void) {
    __asm__ volatile("isb\n tlbi vmalle1\n dsb nsh\n isb" ::: "memory");
}

static void switch_layout(const uint64_t *root) {
    __asm__ volatile("dsb ishst" ::: "memory"); /* the walker must see the tables written */
    write_sysreg(ttbr0_el1, pa_of(root));
    invalidate_tlb();
}

static void check(int ok, const char *what) {
    if (ok) {
        printf("va_layout: %s ok\n", what);
    } else {
        printf("va_layout: %s FAILED\n", what);
        failures++;
    }
}

static void check_ram(void) {
    volatile uint64_t *va = (volatile uint64_t *)(uintptr_t)DATA_VA;
    va[0] = 0x1122334455667788ULL;
    va[1] = ~0x1122334455667788ULL;
    first_page[2] = 0x0badcafe00c0ffeeULL;
    __asm__ volatile("dsb ish" ::: "memory");
    int ok = first_page[0] == 0x1122334455667788ULL && first_page[1] == ~0x1122334455667788ULL &&
             va[2] == 0x0badcafe00c0ffeeULL;
    check(ok, "ram at VA 0x0000ffff86000000");
}

/* A line written to the UART through its VA != PA mapping. */
static void check_uart(void) {
    uintptr_t uart = (uintptr_t)UART_VA;
    int ok =
        mmio_read32_relaxed(uart + UART_PERIPH_ID0) == mmio_read32_relaxed(FW_PL011_BASE + UART_PERIPH_ID0) &&
        mmio_read32_relaxed(uart + UART_PERIPH_ID0) == 0x11U;
    static const char line[] = "va_layout: uart at VA 0x0000ffff86001000 ok\n";
    if (!ok) {
        check(0, "uart identification through its VA");
        return;
    }
    for (const char *c = line; *c; c++) {
        while (mmio_read32_relaxed(uart + UART_FR) & FR_TXFF) {
        }
        mmio_write32_relaxed(uart + UART_DR, (uint8_t)*c);
    }
}

/* ldr x0, [x0]; add x0, x0, #5; ret: runs at CODE_VA and loads through DATA_VA. */
static void check_code(void) {
    static const uint32_t function[] = {0xf9400000U, 0x91001400U, 0xd65f03c0U};
    for (unsigned int i = 0; i < sizeof(function) / sizeof(function[0]); i++)
        code_page[i] = function[i];
    __asm__ volatile("dc cvau, %0\n dsb ish\n ic iallu\n dsb ish\n isb" : : "r"(code_page) : "memory");
    uint64_t (*at_va)(volatile uint64_t *) = (uint64_t(*)(volatile uint64_t *))(uintptr_t)CODE_VA;
    check(at_va((volatile uint64_t *)(uintptr_t)DATA_VA) == 0x1122334455667788ULL + 5,
          "code at VA 0x0000ffff87000000");
}

static void check_kernel_va(void) {
    volatile uint64_t *va = (volatile uint64_t *)(uintptr_t)KERNEL_VA;
    va[3] = 0xfeedfacecafef00dULL;
    kernel_page[4] = 0x0123456789abcdefULL;
    __asm__ volatile("dsb ish" ::: "memory");
    check(kernel_page[3] == 0xfeedfacecafef00dULL && va[4] == 0x0123456789abcdefULL,
          "ram at TTBR1 VA 0xffff000012345000");
}

/* The same VA on another page, then on the first one again. */
static void check_second_layout(const uint64_t *first_root, const uint64_t *second_root) {
    volatile uint64_t *va = (volatile uint64_t *)(uintptr_t)DATA_VA;
    second_page[0] = 0x2222222222222222ULL;
    switch_layout(second_root);
    int ok = va[0] == 0x2222222222222222ULL;
    va[1] = 0x3333333333333333ULL;
    __asm__ volatile("dsb ish" ::: "memory");
    ok = ok && second_page[1] == 0x3333333333333333ULL && first_page[1] == ~0x1122334455667788ULL;
    check(ok, "second layout at VA 0x0000ffff86000000");
    switch_layout(first_root);
    check(va[0] == 0x1122334455667788ULL && va[1] == ~0x1122334455667788ULL,
          "first layout again at VA 0x0000ffff86000000");
}

int main(void) {
    uint64_t *first_root = make_layout(first_page);
    uint64_t *second_root = make_layout(second_page);
    uint64_t *kernel_root = new_table();
    if (!first_root || !second_root || !kernel_root)
        return 1;
    map(kernel_root, KERNEL_VA, pa_of(kernel_page), 3, PTE_NORMAL);

    write_sysreg(mair_el1, MAIR_VALUE);
    write_sysreg(tcr_el1, TCR_VALUE);
    write_sysreg(ttbr0_el1, pa_of(first_root));
    write_sysreg(ttbr1_el1, pa_of(kernel_root));
    __asm__ volatile("dsb ish" ::: "memory");
    invalidate_tlb();
    uint64_t sctlr = read_sysreg(sctlr_el1);
    write_sysreg(sctlr_el1, sctlr | SCTLR_M | SCTLR_C | SCTLR_I);
    __asm__ volatile("isb" ::: "memory");
    printf("va_layout: mmu on, 48-bit VAs, 4 KiB granule\n");

    check_ram();
    check_uart();
    check_code();
    check_kernel_va();
    check_second_layout(first_root, second_root);

    write_sysreg(sctlr_el1, sctlr);
    __asm__ volatile("isb" ::: "memory");
    invalidate_tlb();
    if (failures == 0)
        printf("va_layout: ok\n");
    return failures == 0 ? 0 : 1;
}
