/* Waits for an interrupt that can never come: nothing is armed. The platform should detect that it can make
 * no progress and stop. */
#include <stdio.h>

#include <fw/sysreg.h>

int main(void) {
    printf("wfi_stuck: waiting for an interrupt that never comes\n");
    local_irq_disable();
    for (;;)
        wfi();
}
