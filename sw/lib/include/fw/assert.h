/* FW_ASSERT(condition): when false, prints "assert: file:line: condition" and exits with FW_EXIT_ASSERT.
 * Always compiled in: firmware programs are tests. */
#ifndef FW_ASSERT_H
#define FW_ASSERT_H

#include <fw/runtime.h>

_Noreturn void fw_assert_failed(const char *file, int line, const char *condition);

#ifdef __FILE_NAME__
#define FW_ASSERT_FILE __FILE_NAME__
#else
#define FW_ASSERT_FILE __FILE__
#endif

#define FW_ASSERT(condition)                                                                                 \
    do {                                                                                                     \
        if (!(condition))                                                                                    \
            fw_assert_failed(FW_ASSERT_FILE, __LINE__, #condition);                                          \
    } while (0)

#endif
