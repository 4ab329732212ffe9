#ifndef LOGDIAG_MALLOCCOUNT_H
#define LOGDIAG_MALLOCCOUNT_H
// Counts heap allocations of the whole process (malloc, calloc, realloc, aligned allocations) by
// defining them in the benchmark executable, which takes precedence over glibc's. Only the
// logdiag-bench executable links this; logdiag itself and the tests never do.
#include <stdint.h>

uint64_t ld_malloc_count(void);

#endif
