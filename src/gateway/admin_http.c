/* The admin interface's HTTP client (see admin_http.h). */
#include "gateway/admin_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Connects to 127.0.0.1:port (reads time out after timeout_s) and sends
 * GET path with the token if any. Returns the socket, or -1. */
static int admin_http_request(uint16_t port, int timeout_s, const char *path, const char *token)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval timeout = {timeout_s, 0};
    char request[512];
    int length = snprintf(request, sizeof request,
                          "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s%s%s\r\n", path,
                          token ? "Authorization: Bearer " : "", token ? token : "",
                          token ? "\r\n" : "");
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        connect(fd, (struct sockaddr *)&address, sizeof address) != 0 || length < 0 ||
        (size_t)length >= sizeof request || write(fd, request, (size_t)length) != length) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int admin_http_get(uint16_t port, const char *path, const char *token, char *body,
                   size_t size)
{
    int fd = admin_http_request(port, 2, path, token);
    if (fd < 0)
        return -1;
    static char response[1 << 16];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof response - 1 &&
           (n = read(fd, response + got, sizeof response - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    response[got] = '\0';
    const char *start = strstr(response, "\r\n\r\n");
    if (strncmp(response, "HTTP/1.", 7) != 0 || strstr(response, " 200 ") != response + 8 ||
        start == NULL)
        return -1;
    snprintf(body, size, "%s", start + 4);
    return 0;
}

void admin_json_field(const char *json, const char *key, char *out, size_t size)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    const char *at = strstr(json, pattern);
    out[0] = '\0';
    if (at == NULL)
        return;
    at += strlen(pattern);
    while (*at == ' ' || *at == ':') /* "key": value, and "key" : value */
        at++;
    bool quoted = *at == '"';
    at += quoted;
    size_t n = 0;
    while (at[n] != '\0' && n + 1 < size &&
           (quoted ? at[n] != '"' : (at[n] != ',' && at[n] != '}')))
        n++;
    memcpy(out, at, n);
    out[n] = '\0';
}

void admin_token_read(const char *path, char *token, size_t size)
{
    token[0] = '\0';
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return;
    if (fgets(token, (int)size, file) == NULL)
        token[0] = '\0';
    fclose(file);
    token[strcspn(token, "\n")] = '\0';
}

/* Reads the answer's head (up to the blank line) into head; returns its
 * size with the first body bytes after it in head + size .. got, or -1. */
static int admin_http_head(int fd, char *head, size_t capacity, size_t *got)
{
    *got = 0;
    while (*got < capacity - 1) {
        ssize_t n = read(fd, head + *got, capacity - 1 - *got);
        if (n <= 0)
            return -1;
        *got += (size_t)n;
        head[*got] = '\0';
        char *end = strstr(head, "\r\n\r\n");
        if (end != NULL)
            return (int)(end + 4 - head);
    }
    return -1;
}

int admin_http_download(uint16_t port, const char *path, const char *token, const char *file,
                        uint64_t *stream_seq, uint64_t *bytes)
{
    int fd = admin_http_request(port, 10, path, token);
    if (fd < 0)
        return -1;
    static char head[16384];
    size_t got = 0;
    int head_size = admin_http_head(fd, head, sizeof head, &got);
    const char *seq = head_size > 0 ? strstr(head, "X-Nodown-Stream-Seq: ") : NULL;
    int out = -1;
    if (head_size > 0 && strncmp(head, "HTTP/1.", 7) == 0 && strncmp(head + 8, " 200 ", 5) == 0 &&
        seq != NULL && seq < head + head_size)
        out = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = out >= 0;
    *stream_seq = seq != NULL ? strtoull(seq + 21, NULL, 10) : 0;
    *bytes = 0;
    if (ok && got > (size_t)head_size) {
        ok = write(out, head + head_size, got - (size_t)head_size) ==
             (ssize_t)(got - (size_t)head_size);
        *bytes += got - (size_t)head_size;
    }
    static char chunk[1 << 16];
    ssize_t n;
    while (ok && (n = read(fd, chunk, sizeof chunk)) > 0) {
        ok = write(out, chunk, (size_t)n) == n;
        *bytes += (uint64_t)n;
    }
    ok = ok && fsync(out) == 0;
    if (out >= 0)
        close(out);
    close(fd);
    return ok && *stream_seq > 0 ? 0 : -1;
}
