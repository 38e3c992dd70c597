/* Error numbers of the firmware's kernel-style interfaces (io-pgtable, processes), returned negated as Linux
 * does (-ENOMEM). The values are Linux's, so logs read the same. */
#ifndef FW_ERRNO_H
#define FW_ERRNO_H

#define ENOENT 2
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define EINVAL 22
#define ENOSPC 28
#define ERANGE 34
#define ETIMEDOUT 110

#endif
