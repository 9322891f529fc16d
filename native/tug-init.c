/* tug-init: PID 1 for `tug run --init` (bind-mounted at /dev/init, run as `/dev/init -- CMD ARGS...`).
 *
 * It starts CMD as its only child, forwards every signal it receives to that child, reaps every zombie that is
 * re-parented to it, and exits with the child's status (128+N when the child died of signal N), as docker-init
 * does. It is static and tiny so that it runs inside any image. Built by scripts/setup.sh:
 *     gcc -static -Os -o .venv/libexec/tug/tug-init native/tug-init.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int is_sync_signal(int sig) {
    return sig == SIGFPE || sig == SIGILL || sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT || sig == SIGTRAP ||
           sig == SIGSYS;
}

int main(int argc, char **argv) {
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "--") == 0)
        first = 2;
    if (first >= argc) {
        fprintf(stderr, "tug-init: usage: tug-init -- COMMAND [ARG...]\n");
        return 2;
    }
    sigset_t all, old;
    sigfillset(&all);
    for (int s = 1; s < NSIG; s++)
        if (is_sync_signal(s))
            sigdelset(&all, s);
    sigprocmask(SIG_SETMASK, &all, &old);

    pid_t child = fork();
    if (child < 0) {
        perror("tug-init: fork");
        return 1;
    }
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(argv[first], argv + first);
        int err = errno;
        fprintf(stderr, "tug-init: exec %s: %s\n", argv[first], strerror(err));
        _exit(err == ENOENT ? 127 : 126);
    }

    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&all, &info);
        if (sig < 0) {
            if (errno == EINTR)
                continue;
            perror("tug-init: sigwaitinfo");
            return 1;
        }
        if (sig != SIGCHLD) {
            kill(child, sig);
            continue;
        }
        for (;;) {  /* reap everything that has exited: the child and any orphan re-parented to us */
            int status;
            pid_t pid = waitpid(-1, &status, WNOHANG);
            if (pid <= 0)
                break;
            if (pid == child) {
                if (WIFEXITED(status))
                    return WEXITSTATUS(status);
                if (WIFSIGNALED(status))
                    return 128 + WTERMSIG(status);
            }
        }
    }
}
