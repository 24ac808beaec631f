#ifndef CLIBDEFLATE_SHIM_H
#define CLIBDEFLATE_SHIM_H
// libdeflate (Debian's libdeflate-dev): the carousel's PNG files are
// compressed with it rather than zlib, about twice as fast at the same
// level for the same or smaller output (docs/benchmarks.md). Nothing here
// needs a helper; the header is imported as it is.
#include <libdeflate.h>
#endif
