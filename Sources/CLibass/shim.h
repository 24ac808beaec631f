#ifndef CLIBASS_SHIM_H
#define CLIBASS_SHIM_H
// libass 0.17 for Swift: the header, plus the one thing Swift cannot write.
#include <ass/ass.h>
#include <stdarg.h>
#include <stdio.h>

// libass reports through a callback that takes a va_list, and a Swift
// @convention(c) closure cannot have a va_list parameter on Linux. This
// callback keeps the last error (levels 0 and 1: MSGL_FATAL, MSGL_ERR) in a
// buffer the caller owns and drops information and warnings (the fonts
// chosen, glyphs no font has), which would otherwise go to stderr.
typedef struct {
    char last_error[512];
    int has_error;
} clibass_messages;

static inline void clibass_message_callback(int level, const char *format, va_list arguments, void *data) {
    clibass_messages *messages = (clibass_messages *)data;
    if (level > 1 || !messages) return;
    vsnprintf(messages->last_error, sizeof messages->last_error, format, arguments);
    messages->has_error = 1;
}

/// Routes `library`'s messages to `messages` (ass_set_message_cb).
static inline void clibass_keep_errors(ASS_Library *library, clibass_messages *messages) {
    ass_set_message_cb(library, clibass_message_callback, messages);
}

#endif
