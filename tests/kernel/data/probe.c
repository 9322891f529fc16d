/* Tries one privileged operation and prints "OK" or "ERR <errno name>" (a test fixture, built static).
 * usage: probe mount|unshare|keyctl|ptrace PID|module|euid|clone3|zombies N */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

static int result(long rc) {
    if (rc < 0) { printf("ERR %s\n", strerrorname_np(errno)); return 1; }
    printf("OK\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *what = argv[1];
    if (!strcmp(what, "mount")) return result(mount("none", "/tmp", "tmpfs", 0, NULL));
    if (!strcmp(what, "unshare")) return result(unshare(CLONE_NEWNS));
    if (!strcmp(what, "unshare-user")) return result(unshare(CLONE_NEWUSER));
    if (!strcmp(what, "keyctl")) return result(syscall(SYS_add_key, "user", "tug-test", "x", 1, -2 /* session */));
    if (!strcmp(what, "ptrace") && argc > 2) return result(ptrace(PTRACE_ATTACH, atoi(argv[2]), 0, 0));
    if (!strcmp(what, "module")) return result(syscall(SYS_finit_module, 0, "", 0));
    if (!strcmp(what, "clone3")) return result(syscall(435, NULL, 0));
    if (!strcmp(what, "euid")) { printf("%d\n", (int)geteuid()); return 0; }
    if (!strcmp(what, "zombies")) {  /* leave N orphans that exit at once: PID 1 must reap them */
        int n = argc > 2 ? atoi(argv[2]) : 5;
        for (int i = 0; i < n; i++) if (fork() == 0) { if (fork() == 0) _exit(0); _exit(0); }
        sleep(1);
        return 0;
    }
    return 2;
}
