/* Text leaving husk for a terminal (or for a JSON reader, who may well be
 * a terminal too) made harmless. Mount targets, interface names, process
 * names, paths quoted in error messages: a container or a hostile bundle
 * chooses them, and a raw ESC in them would set the operator's terminal
 * title or clear the screen; a newline would forge a line of output.
 *
 * What is escaped, in every mode: C0 controls (newline, ESC, ...), DEL, C1
 * controls (U+0080..U+009F, which terminals may take as CSI, OSC...),
 * the line and paragraph separators U+2028/U+2029, the bidirectional
 * controls (U+061C, U+200E/F, U+202A..E, U+2066..9) that reorder how a line
 * reads, and bytes that are not UTF-8. Everything else, UTF-8 included,
 * passes unchanged. */
#ifndef HUSK_COMMON_ESC_H
#define HUSK_COMMON_ESC_H

#include <stdbool.h>
#include <stddef.h>

enum hk_esc_mode {
	/* For a terminal: a byte as \xNN (controls, non-UTF-8), a character
	 * as \uNNNN. A backslash is left alone: it steers no terminal. */
	HK_ESC_TEXT,
	/* The inside of a JSON string: also " and \, the controls JSON
	 * requires escaped, in its notation; a byte that is not UTF-8 (which
	 * JSON cannot carry) becomes U+FFFD, as Go's encoding/json does. */
	HK_ESC_JSON,
	/* JSON text already serialised (json-c's output, whose strings may
	 * hold raw DEL, C1 and non-UTF-8 bytes): those, which can only be
	 * inside strings, as \uNNNN (\ufffd for a non-UTF-8 byte); the rest,
	 * all of JSON's syntax, unchanged. */
	HK_ESC_JSON_TEXT,
};

/* s escaped into out (size bytes, always terminated when size > 0; cut
 * only between whole escapes and whole characters). Returns the length the
 * whole result needs, without the terminator, as snprintf does. */
size_t hk_esc_into(const char *s, enum hk_esc_mode mode, char *out, size_t size);
/* The same, malloc'd (xmalloc: aborts on out of memory). */
char *hk_esc_mode(const char *s, enum hk_esc_mode mode);
/* HK_ESC_TEXT, malloc'd. */
char *hk_esc(const char *s);
/* True when s has nothing HK_ESC_TEXT would change. */
bool hk_esc_clean(const char *s);
/* s is well-formed UTF-8 (RFC 3629), as every string of a JSON file must be. */
bool hk_utf8_valid(const char *s);

#endif
