#ifndef CSPOOLSYS_SHIM_H
#define CSPOOLSYS_SHIM_H
// Linux system calls and macros the Swift Glibc module does not import
// (glibc declares them only under _GNU_SOURCE, or they are macros or
// flexible array members). _GNU_SOURCE itself is not defined here: it
// changes struct layouts (fd_set) and clashes with other modules' view of
// the same headers, so the few prototypes are declared below instead.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

extern int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);
extern ssize_t getrandom(void *buf, size_t buflen, unsigned int flags);
extern int pipe2(int pipefd[2], int flags);
extern int syncfs(int fd);
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

// errno is a macro over a thread-local; Swift's Glibc exposes it, but a
// setter keeps tests able to reason about it.
static inline int cspoolsys_errno(void) { return errno; }

// renameat2(2) with RENAME_NOREPLACE: publish without silently overwriting.
static inline int cspoolsys_rename_noreplace(int olddirfd, const char *oldpath,
                                             int newdirfd, const char *newpath) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE);
}

// renameat2(2) with RENAME_EXCHANGE: swap two names atomically (replacing a
// published folder, which rename(2) cannot do over a non-empty directory).
static inline int cspoolsys_rename_exchange(int olddirfd, const char *oldpath,
                                            int newdirfd, const char *newpath) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_EXCHANGE);
}

// getrandom(2) is declared only with _GNU_SOURCE on glibc 2.36.
static inline ssize_t cspoolsys_getrandom(void *buf, size_t len) {
    return getrandom(buf, len, 0);
}

// The signal set macros are functions in glibc, but sigset_t handling and
// signalfd are simpler to keep in one place.
static inline int cspoolsys_signalfd_for(const int *signals, int count, sigset_t *old) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
    if (sigprocmask(SIG_BLOCK, &set, old) != 0) return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

// posix_spawn for the render child: default signal dispositions, empty mask,
// its own process group (so cancel can kill the whole group), stdin from
// /dev/null, stdout to the progress pipe, stderr inherited.
static inline int cspoolsys_spawn(pid_t *pid, const char *path, char *const argv[],
                                  char *const envp[], int stdout_fd, int stdin_fd) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    int rc;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    if (stdin_fd >= 0) posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
    else posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1);
    rc = posix_spawn(pid, path, &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

// eventfd(2) for the daemon to wake and stop its notification thread (a
// counter, not a pipe: nothing to fill, and no pipe2 in the daemon besides the render's).
static inline int cspoolsys_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

// glibc declares it only with _GNU_SOURCE (see the top of this file).
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *actions, const char *path);

// posix_spawn for a notification command (a hook, curl for an https webhook):
// like cspoolsys_spawn, but stdout and stderr both go to out_fd and the child
// starts in `dir`, so a hook's output lands in one log and its relative paths
// mean the same thing whatever the daemon's working directory.
static inline int cspoolsys_spawn_command(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                                          int stdin_fd, int out_fd, const char *dir) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    int rc;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    if (dir) posix_spawn_file_actions_addchdir_np(&fa, dir);
    rc = posix_spawn(pid, path, &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

// prctl(2) is variadic: PR_SET_PDEATHSIG so a render child dies with the
// daemon that started it, even when the daemon is killed with SIGKILL.
static inline int cspoolsys_set_parent_death_signal(int sig) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0UL, 0UL, 0UL);
}

// inotify_event has a flexible `name[]` member that Swift drops.
static inline const char *cspoolsys_inotify_name(const struct inotify_event *ev) {
    return ev->len ? ev->name : "";
}

// openat2(2) with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS:
// opens `path` (relative) beneath the directory `dirfd`, refusing `..` above
// it and absolute paths (EXDEV) and any symbolic link on the way (ELOOP).
// glibc 2.36 has no wrapper, so it is the raw system call.
static inline int cspoolsys_open_beneath(int dirfd, const char *path, int flags, mode_t mode) {
    struct open_how how = { .flags = (unsigned long long)flags, .mode = (unsigned long long)mode,
                            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
    if (!(flags & O_CREAT)) how.mode = 0;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

// O_PATH is defined only under _GNU_SOURCE.
static inline int cspoolsys_o_path(void) { return 010000000; }

// WIFEXITED & co. are macros.
static inline int cspoolsys_wifexited(int status) { return WIFEXITED(status); }
static inline int cspoolsys_wexitstatus(int status) { return WEXITSTATUS(status); }
static inline int cspoolsys_wifsignaled(int status) { return WIFSIGNALED(status); }
static inline int cspoolsys_wtermsig(int status) { return WTERMSIG(status); }

#endif
