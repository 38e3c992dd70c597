/* PL011 UART at FW_PL011_BASE, transmit only and polled. */
#ifndef FW_UART_H
#define FW_UART_H

/* Enables the UART for 8-bit transmission; the start-up code calls it before main. */
void uart_init(void);
/* Sends one byte, waiting while the transmit FIFO is full. No newline translation. */
void uart_putc(char byte);
/* Waits until every byte handed to the UART has left it (before powering off). */
void uart_flush(void);

#endif
