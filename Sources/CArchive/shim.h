#ifndef LOGDIAG_CARCHIVE_SHIM_H
#define LOGDIAG_CARCHIVE_SHIM_H
// libarchive (Debian's libarchive-dev): reading only, streaming, nothing written to disk.
#include <archive.h>
#include <archive_entry.h>
#endif
