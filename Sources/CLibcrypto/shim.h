#ifndef CLIBCRYPTO_SHIM_H
#define CLIBCRYPTO_SHIM_H
// OpenSSL's libcrypto (Debian's libssl-dev), for SHA-256 and HMAC-SHA256
// only: it uses the CPU's SHA instructions where there are some (1.5 GB/s
// on the benchmark machine, against 120 MB/s for portable code), which the
// carousel manifest and content hashes of inputs need.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#endif
