/* Removing a test's temporary directory and everything in it, without a
 * shell: the tests that run nats-server, replicas and nodes share it. */
#ifndef NODOWN_TEST_DIR_H
#define NODOWN_TEST_DIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline void test_dir_remove(const char *path)
{
    DIR *dir = opendir(path);
    if (dir != NULL) {
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            char child[1024];
            int length = snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
            if (length < 0 || (size_t)length >= sizeof child)
                continue; /* never unlink a cut-off name */
            struct stat st;
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
                test_dir_remove(child);
            else
                unlink(child);
        }
        closedir(dir);
    }
    rmdir(path);
}

#endif
