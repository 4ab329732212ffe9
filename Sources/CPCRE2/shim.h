#ifndef LOGDIAG_CPCRE2_SHIM_H
#define LOGDIAG_CPCRE2_SHIM_H
// PCRE2 needs the code unit width before its header; logdiag works on UTF-8 bytes.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif
