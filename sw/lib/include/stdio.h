/* The firmware's stdio: formatted output to the PL011 UART.
 * Conversions: %d %i %u %x %X %o %p %s %c %%; flags '-' '0' '+' ' ' '#'; width and precision (number or '*');
 * length modifiers hh h l ll z j t. No floating point. */
#ifndef FW_STDIO_H
#define FW_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#define EOF (-1)

int putchar(int c);
/* Writes the string and a newline. */
int puts(const char *s);
int printf(const char *format, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *format, va_list args) __attribute__((format(printf, 1, 0)));
/* Return the length the full output would have; the buffer always ends with a NUL when size > 0. */
int snprintf(char *buffer, size_t size, const char *format, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buffer, size_t size, const char *format, va_list args)
    __attribute__((format(printf, 3, 0)));

#endif
