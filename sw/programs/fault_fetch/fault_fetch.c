/* Jumps to an address below RAM where no memory is: the platform executes from RAM only and must end the run
 * with its unmapped-address status and a fetch report. */
#include <stdio.h>

#define NOWHERE 0x06000000UL

int main(void) {
    printf("fault_fetch: jumping to 0x%08lx\n", NOWHERE);
    void (*nowhere)(void) = (void (*)(void))NOWHERE;
    nowhere();
    printf("fault_fetch: returned, no fault\n");
    return 1;
}
