/* The little HTTP client the nodown commands (src/ops/) and nodes (a
 * --join, src/node/join.c) use to ask nodes' admin interfaces
 * (http_admin.h, docs/admin.md) on loopback: one GET, the whole answer
 * read, and flat JSON fields picked out of it. */
#ifndef NODOWN_GATEWAY_ADMIN_HTTP_H
#define NODOWN_GATEWAY_ADMIN_HTTP_H

#include <stddef.h>
#include <stdint.h>

/* GET path from 127.0.0.1:port, with "Authorization: Bearer token" when
 * token is not NULL, waiting at most 2 s for the answer; its body into
 * body (cut to size). Returns 0 when the answer was 200, -1 otherwise. */
int admin_http_get(uint16_t port, const char *path, const char *token, char *body,
                   size_t size);

/* The value of "key" in a JSON text (the first one, at any depth; a number
 * or a string without escapes), or "". */
void admin_json_field(const char *json, const char *key, char *out, size_t size);

/* GET path (a snapshot: /snapshot/latest) into file, synced: returns 0
 * with the X-Nodown-Stream-Seq header's sequence and the bytes written,
 * or -1 (not 200, no sequence, I/O). */
int admin_http_download(uint16_t port, const char *path, const char *token, const char *file,
                        uint64_t *stream_seq, uint64_t *bytes);

/* The first line of a file (an admin token), without its newline; "" when
 * it cannot be read. */
void admin_token_read(const char *path, char *token, size_t size);

#endif
