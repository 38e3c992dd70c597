/* C side of start-up and shutdown. */
#include <stdio.h>
#include <stdlib.h>

#include <fw/assert.h>
#include <fw/psci.h>
#include <fw/uart.h>

int main(void);

_Noreturn void fw_runtime_start(void);

_Noreturn void fw_runtime_start(void) {
    uart_init();
    exit(main());
}

_Noreturn void exit(int status) {
    printf("fw: exit %d\n", status);
    uart_flush();
    psci_system_off(status);
}

_Noreturn void fw_assert_failed(const char *file, int line, const char *condition) {
    printf("assert: %s:%d: %s\n", file, line, condition);
    exit(FW_EXIT_ASSERT);
}
