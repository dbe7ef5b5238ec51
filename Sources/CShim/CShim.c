#define _GNU_SOURCE
#include "CShim.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define TESTBED_KVM_GET_API_VERSION 0xAE00

int testbed_kvm_api_version(const char *path) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return -errno;
    int version = ioctl(fd, TESTBED_KVM_GET_API_VERSION, 0);
    int saved = errno;
    close(fd);
    if (version < 0) return -saved;
    return version;
}

int testbed_affinity_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -errno;
    return CPU_COUNT(&set);
}

int testbed_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
                  int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attr);
    if (rc != 0) { posix_spawn_file_actions_destroy(&actions); return rc; }

    if (stdin_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    if (stdout_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
    if (stderr_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
    if (cwd != NULL) posix_spawn_file_actions_addchdir_np(&actions, cwd);
    /* The child gets stdin, stdout and stderr only: no descriptor of ours
       (a caller's pipe, the database) may outlive us in a leftover process. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif

    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    rc = posix_spawn(pid, path, &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return rc;
}

int testbed_pidfd_open(pid_t pid) {
    long fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) return -errno;
    return (int)fd;
}

int testbed_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : -errno;
}

int testbed_clear_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) == 0 ? 0 : -errno;
}

int testbed_try_wait(pid_t pid, int *status) {
    pid_t rc;
    do { rc = waitpid(pid, status, WNOHANG); } while (rc < 0 && errno == EINTR);
    if (rc < 0) return -errno;
    return rc == 0 ? 0 : 1;
}

int testbed_wait(pid_t pid, int *status) {
    pid_t rc;
    do { rc = waitpid(pid, status, 0); } while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : 0;
}

int testbed_has_exited(pid_t pid) {
    siginfo_t info = { 0 };
    int rc;
    do { rc = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT); } while (rc < 0 && errno == EINTR);
    if (rc < 0) return -errno;
    return info.si_pid != 0 ? 1 : 0;
}

int testbed_poll_readable(int fd, int timeout_ms) {
    struct pollfd entry = { .fd = fd, .events = POLLIN };
    int n = poll(&entry, 1, timeout_ms);
    if (n < 0) return -errno;
    return n > 0 ? 1 : 0;
}

int testbed_unlinked_temp_file(const char *directory) {
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/testbed-probe-XXXXXX", directory);
    if (n < 0 || (size_t)n >= sizeof path) return -ENAMETOOLONG;
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) return -errno;
    unlink(path);
    return fd;
}

int testbed_exited(int status) { return WIFEXITED(status); }
int testbed_exit_status(int status) { return WEXITSTATUS(status); }
int testbed_signaled(int status) { return WIFSIGNALED(status); }
int testbed_term_signal(int status) { return WTERMSIG(status); }

int testbed_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int testbed_epoll_add(int epfd, int fd) {
    struct epoll_event event = { .events = EPOLLIN, .data = { .fd = fd } };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event) == 0 ? 0 : -errno;
}

int testbed_epoll_remove(int epfd, int fd) {
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) == 0 ? 0 : -errno;
}

int testbed_epoll_ready(int epfd, int *fds, int max) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    int count;
    do { count = epoll_wait(epfd, events, max, 0); } while (count < 0 && errno == EINTR);
    if (count < 0) return -errno;
    for (int i = 0; i < count; i++) fds[i] = events[i].data.fd;
    return count;
}

int testbed_epoll_block(int epfd, int *count) {
    struct epoll_event event;
    int n;
    do { n = epoll_wait(epfd, &event, 1, -1); } while (n < 0 && errno == EINTR);
    *count = n;
    return n < 0 ? -errno : n;
}

int testbed_write_all(int fd, const void *bytes, size_t count) {
    const char *p = bytes;
    while (count > 0) {
        ssize_t n = write(fd, p, count);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        p += n;
        count -= (size_t)n;
    }
    return 0;
}

int testbed_eventfd(void) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

void testbed_eventfd_signal(int fd) {
    uint64_t one = 1;
    while (write(fd, &one, sizeof one) < 0 && errno == EINTR) {}
}

void testbed_eventfd_clear(int fd) {
    uint64_t value;
    while (read(fd, &value, sizeof value) < 0 && errno == EINTR) {}
}

void testbed_wait_readable(int fd) {
    struct pollfd entry = { .fd = fd, .events = POLLIN };
    while (poll(&entry, 1, -1) < 0 && errno == EINTR) {}
}

int testbed_mount_id(int fd, unsigned long long *id) {
#ifdef STATX_MNT_ID
    struct statx info;
    if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &info) == 0 && (info.stx_mask & STATX_MNT_ID)) {
        *id = info.stx_mnt_id;
        return 0;
    }
#endif
    union {
        struct file_handle handle;
        unsigned char bytes[sizeof(struct file_handle) + MAX_HANDLE_SZ];
    } buffer;
    buffer.handle.handle_bytes = MAX_HANDLE_SZ;
    int mount = 0;
    if (name_to_handle_at(fd, "", &buffer.handle, &mount, AT_EMPTY_PATH) != 0) return -errno;
    *id = (unsigned long long)mount;
    return 0;
}

int testbed_rename_noreplace(int dirfd, const char *from, const char *to) {
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
    return syscall(SYS_renameat2, dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0 ? 0 : -errno;
}
