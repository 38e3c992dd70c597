/* PL011, transmit only, polled. */
#include <stdint.h>

#include <fw/mmio.h>
#include <fw/platform.h>
#include <fw/uart.h>

#define UART_DR (FW_PL011_BASE + 0x000)
#define UART_FR (FW_PL011_BASE + 0x018)
#define UART_LCR_H (FW_PL011_BASE + 0x02c)
#define UART_CR (FW_PL011_BASE + 0x030)
#define UART_IMSC (FW_PL011_BASE + 0x038)

#define FR_BUSY (1U << 3)
#define FR_TXFF (1U << 5)
#define LCR_H_FEN (1U << 4)
#define LCR_H_WLEN_8 (3U << 5)
#define CR_UARTEN (1U << 0)
#define CR_TXE (1U << 8)
#define CR_RXE (1U << 9)

void uart_init(void) {
    /* The PL011 must be disabled while its line control changes. No baud rate: both models ignore it. */
    mmio_write32_relaxed(UART_CR, 0);
    mmio_write32_relaxed(UART_IMSC, 0);
    mmio_write32_relaxed(UART_LCR_H, LCR_H_WLEN_8 | LCR_H_FEN);
    mmio_write32_relaxed(UART_CR, CR_UARTEN | CR_TXE | CR_RXE);
}

void uart_putc(char byte) {
    while (mmio_read32_relaxed(UART_FR) & FR_TXFF) {
    }
    mmio_write32_relaxed(UART_DR, (uint8_t)byte);
}

void uart_flush(void) {
    while (mmio_read32_relaxed(UART_FR) & FR_BUSY) {
    }
}
