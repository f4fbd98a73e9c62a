/* The admin interface's HTTP client (see admin_http.h). */
#include "cli/admin_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int admin_http_get(uint16_t port, const char *path, const char *token, char *body,
                   size_t size)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval timeout = {2, 0};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char request[512];
    int length = snprintf(request, sizeof request,
                          "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s%s%s\r\n", path,
                          token ? "Authorization: Bearer " : "", token ? token : "",
                          token ? "\r\n" : "");
    static char response[1 << 16];
    size_t got = 0;
    if (write(fd, request, (size_t)length) == length) {
        ssize_t n;
        while (got < sizeof response - 1 &&
               (n = read(fd, response + got, sizeof response - 1 - got)) > 0)
            got += (size_t)n;
    }
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
