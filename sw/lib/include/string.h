/* The firmware's string functions. The compiler may emit calls to memset/memcpy/memmove/memcmp by itself. */
#ifndef FW_STRING_H
#define FW_STRING_H

#include <stddef.h>

void *memset(void *destination, int byte, size_t size);
void *memcpy(void *restrict destination, const void *restrict source, size_t size);
void *memmove(void *destination, const void *source, size_t size);
int memcmp(const void *left, const void *right, size_t size);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max_length);
int strcmp(const char *left, const char *right);
int strncmp(const char *left, const char *right, size_t size);
char *strcpy(char *restrict destination, const char *restrict source);

#endif
