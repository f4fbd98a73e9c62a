/* The lock of a data directory (see dir_lock.h). */
#include "lib/dir_lock.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The whole file, for writing: what F_SETLK takes and F_GETLK asks about. */
static struct flock dir_lock_whole(void)
{
    struct flock whole;
    memset(&whole, 0, sizeof whole);
    whole.l_type = F_WRLCK;
    whole.l_whence = SEEK_SET;
    return whole;
}

/* Names the process holding path's lock in errmsg. */
static void dir_lock_holder(int fd, const char *path, pid_t *holder, char *errmsg,
                            size_t errmsg_size)
{
    struct flock asked = dir_lock_whole();
    if (fcntl(fd, F_GETLK, &asked) == 0 && asked.l_type != F_UNLCK)
        *holder = asked.l_pid;
    char comm[64] = "";
    char comm_path[64];
    snprintf(comm_path, sizeof comm_path, "/proc/%" PRId64 "/comm", (int64_t)*holder);
    FILE *file = *holder > 0 ? fopen(comm_path, "r") : NULL;
    if (file != NULL) {
        if (fgets(comm, sizeof comm, file) == NULL)
            comm[0] = '\0';
        comm[strcspn(comm, "\n")] = '\0';
        fclose(file);
    }
    snprintf(errmsg, errmsg_size, "data directory %.*s is in use by %s%s, pid %" PRId64
             " (it holds %s); stop that process first, or give another directory",
             (int)(strlen(path) - strlen("/" DIR_LOCK_NAME)), path,
             comm[0] ? comm : "another process", strcmp(comm, "nodown") == 0 ? " serve" : "",
             (int64_t)*holder, path);
}

int dir_lock_acquire(struct dir_lock *lock, const char *dir, pid_t *holder, char *errmsg,
                     size_t errmsg_size)
{
    assert(lock != NULL && dir != NULL && holder != NULL);
    lock->fd = -1;
    *holder = 0;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, DIR_LOCK_NAME) >= (int)sizeof path) {
        snprintf(errmsg, errmsg_size, "%s: path too long", dir);
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(errmsg, errmsg_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct flock whole = dir_lock_whole();
    if (fcntl(fd, F_SETLK, &whole) != 0) {
        int error = errno;
        if (error == EACCES || error == EAGAIN)
            dir_lock_holder(fd, path, holder, errmsg, errmsg_size);
        else
            snprintf(errmsg, errmsg_size, "%s: cannot lock: %s", path, strerror(error));
        close(fd);
        return -1;
    }
    /* The pid inside is for people (`cat node.lock`); the kernel's lock
     * is what counts. */
    char text[32];
    int size = snprintf(text, sizeof text, "%" PRId64 "\n", (int64_t)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)size, 0) != size) {
        snprintf(errmsg, errmsg_size, "%s: cannot write the pid: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    lock->fd = fd;
    assert(lock->fd >= 0);
    return 0;
}

pid_t dir_lock_holder_pid(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, DIR_LOCK_NAME) >= (int)sizeof path)
        return 0;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct flock asked = dir_lock_whole();
    pid_t holder = fcntl(fd, F_GETLK, &asked) == 0 && asked.l_type != F_UNLCK ? asked.l_pid : 0;
    close(fd);
    return holder;
}

void dir_lock_release(struct dir_lock *lock)
{
    if (lock->fd >= 0)
        close(lock->fd);
    lock->fd = -1;
}
