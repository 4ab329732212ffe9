#ifndef LOGDIAG_BYTESCAN_H
#define LOGDIAG_BYTESCAN_H
// glibc declares memmem and memrchr only under _GNU_SOURCE, which Swift's Glibc module
// does not set; these wrappers expose the vectorised libc versions to Swift.
#include <stddef.h>

const void *ld_memmem(const void *haystack, size_t haystack_len, const void *needle, size_t needle_len);
const void *ld_memrchr(const void *s, int c, size_t n);

#endif
