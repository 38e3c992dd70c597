/* The firmware's stdlib: only exit. */
#ifndef FW_STDLIB_H
#define FW_STDLIB_H

#include <stddef.h>

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1

/* Prints "fw: exit STATUS" on the UART, then powers off through PSCI SYSTEM_OFF with the status. */
_Noreturn void exit(int status);

#endif
