#ifndef CFONTCONFIG_SHIM_H
#define CFONTCONFIG_SHIM_H
// fontconfig for Swift. The FC_* property names are string macros, which
// Swift imports; FcFreeTypeQuery (by file name) is declared in fontconfig.h,
// so FreeType's headers are not needed.
#include <fontconfig/fontconfig.h>

#endif
