/* Never ends: for testing the platform's simulated-time limit. */
#include <stdio.h>

int main(void) {
    printf("spin: looping forever\n");
    for (;;)
        __asm__ volatile("" ::: "memory");
}
